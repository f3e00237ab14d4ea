"""The outbound guard: no request to an AI provider carries the buyer's known PII.

:func:`guarded_client` is the only way :mod:`app.drafting` reaches the network (a unit
test reads the package's source for any other).  It is an :func:`app.net.client`
(verified TLS, plain http only to this computer) with one more request hook: the body
is read back as the provider will read it (JSON decoded: every string, escapes undone)
together with the URL, and if :func:`app.pii.contains_known` finds any of the thread's
known PII there (case, accents, whitespace and phone separators normalised) the hook
raises :class:`PIIBlocked`.  The hook runs before httpx opens a connection, so a
blocked request never leaves the process.  Redaction upstream is the first line; this
is the last one, and it does not trust the first.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from app import net
from app.errors import UserError
from app.pii import contains_known
from app.pii.models import Kind, KnownPII

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("muttefik.drafting")

_WORDS = {
    Kind.NAME: "name",
    Kind.ADDRESS: "address",
    Kind.PHONE: "phone number",
    Kind.EMAIL: "email address",
}


class PIIBlocked(UserError):
    """A draft request held some of the buyer's known PII; it was not sent.  ``kind``
    says which kind (the audit records only that)."""

    title = "Draft request stopped"

    def __init__(self, kind: Kind) -> None:
        super().__init__(
            f"The draft request was stopped because it contained the buyer's "
            f"{_WORDS[kind]}. Nothing was sent.",
            detail=f"known PII of kind {kind.value} in the request",
        )
        self.kind = kind


def _strings(value: Any) -> Iterator[str]:
    """Every string in a decoded JSON value: keys and values, depth first."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def request_text(request: httpx.Request) -> str:
    """What a request says, as a provider would read it: the decoded URL and, for a
    JSON body, its strings with escapes undone (one per line); any other body as text."""
    parts = [unquote_plus(str(request.url))]
    body = request.content  # our requests are built in memory (json=), never streamed
    if body:
        text = body.decode("utf-8", "replace")
        try:
            parts.extend(_strings(json.loads(text)))
        except ValueError:
            parts.append(text)
    return "\n".join(parts)


def check(text: str, known: KnownPII) -> None:
    """Raise :class:`PIIBlocked` if ``text`` holds any of ``known``."""
    if not known:
        return
    kind = contains_known(text, known)
    if kind is not None:
        log.info("draft request blocked before sending: it held known PII (%s)", kind.value)
        raise PIIBlocked(kind)


def guarded_client(known: KnownPII, *, base_url: str, timeout: float) -> httpx.Client:
    """An outbound client (:func:`app.net.client`) that refuses to send any request
    holding ``known`` (:class:`PIIBlocked`, raised before a connection is opened)."""

    def guard(request: httpx.Request) -> None:
        check(request_text(request), known)

    return net.client(base_url=base_url, timeout=timeout, request_hooks=[guard])
