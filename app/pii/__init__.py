"""PII detection and redaction: one engine for the log filter, drafting and the purge.

- :func:`redact` replaces names, addresses, phones and emails with placeholders, the
  buyer's known values in any spelling and unknown ones by detection;
- :func:`contains_known` answers the outbound guard: does this text (a request body)
  hold any of the buyer's known PII after normalisation;
- :func:`normalise` is the folding both use (case, accents, whitespace).

No state is kept between calls: what is known about a buyer is passed in every time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.pii.models import NOTHING_KNOWN, PLACEHOLDER, Found, Kind, KnownPII, Redaction
from app.pii.normalise import normalise

if TYPE_CHECKING:
    from app.pii.known import KnownMatcher

# The engine compiles its address and name patterns (~40 ms) on first use, not when the
# log filter (which needs only app.pii.detect) is set up at start-up.


def redact(
    text: str,
    known: KnownPII = NOTHING_KNOWN,
    *,
    marketplace: str | None = None,
    matcher: KnownMatcher | None = None,
) -> Redaction:
    """See :func:`app.pii.engine.redact`."""
    from app.pii import engine

    return engine.redact(text, known, marketplace=marketplace, matcher=matcher)


def known_matcher(known: KnownPII, marketplace: str | None = None) -> KnownMatcher:
    """See :func:`app.pii.engine.known_matcher`."""
    from app.pii import engine

    return engine.known_matcher(known, marketplace)


def contains_known(text: str, known: KnownPII) -> Kind | None:
    """See :func:`app.pii.engine.contains_known`."""
    from app.pii import engine

    return engine.contains_known(text, known)


def contains_known_json(body: object, known: KnownPII) -> Kind | None:
    """See :func:`app.pii.engine.contains_known_json`."""
    from app.pii import engine

    return engine.contains_known_json(body, known)


__all__ = [
    "PLACEHOLDER",
    "Found",
    "Kind",
    "KnownPII",
    "Redaction",
    "contains_known",
    "contains_known_json",
    "known_matcher",
    "normalise",
    "redact",
]
