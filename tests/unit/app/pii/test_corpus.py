"""The issue's redaction targets, measured on the corpus in tests/data/pii.

``corpus.txt`` is what the engine was built against; ``heldout.txt`` was written after
it, without running the engine on it first (see the README there).  Both must meet the
targets: known PII 0 leaks; unknown emails and phones 0 leaks; unknown street addresses
>= 95 % removed; names in introductions, greetings and sign-offs >= 90 % removed;
non-PII values >= 98 % kept.
"""

from __future__ import annotations

import pytest

from app.pii import redact
from tests.helpers.pii import CORPUS_DIR, Case, Occurrence, load_corpus, removed, score

PARTS = [p.stem for p in sorted(CORPUS_DIR.glob("*.txt"))]


@pytest.mark.parametrize("part", PARTS)
def test_the_targets_hold(part: str) -> None:
    cases = load_corpus(part)
    s = score(cases, redact)
    misses = "\n".join(s.misses or [])
    assert s.known_leaks == 0, misses
    assert s.contact_leaks == 0, misses
    assert s.rate(s.addresses_removed, s.addresses) >= 0.95, misses
    assert s.rate(s.names_removed, s.names) >= 0.90, misses
    assert s.rate(s.kept, s.keep) >= 0.98, misses


def test_the_corpus_is_the_size_and_spread_the_issue_asks_for() -> None:
    cases = load_corpus("corpus")
    assert len(cases) >= 300
    assert {c.marketplace for c in cases} >= {"US", "UK", "DE", "FR", "ES", "IT", "CA", "JP"}
    kinds = [o.kind for c in cases for o in c.pii]
    assert all(kinds.count(k) >= 20 for k in ("name", "address", "phone")), kinds
    assert sum(1 for c in cases if c.known) >= 20
    assert sum(1 for c in cases if not c.pii) >= 60  # controls: nothing to remove


def test_the_scorer_sees_a_leak() -> None:
    """The measure itself must be able to fail: unredacted text leaks everything."""
    case = Case(
        "x",
        "US",
        "Jane Doe, 12 Oak Road, 206-555-0100, jd@example.com",
        load_corpus("corpus")[0].known,
        (),
        (),
    )
    for kind, value in [
        ("name", "Jane Doe"),
        ("address", "12 Oak Road"),
        ("phone", "206-555-0100"),
        ("email", "jd@example.com"),
    ]:
        assert not removed(Occurrence(kind, value, False), case.text)
        assert removed(Occurrence(kind, value, False), "[NAME], [ADDRESS], [PHONE], [EMAIL]")
    assert not removed(Occurrence("phone", "206-555-0100", False), "call 555-0100 or 206-555")
