"""``redact`` and ``contains_known``: the PII engine's two questions."""

from __future__ import annotations

import json
import re

from app.pii import address, detect, names
from app.pii.known import KnownMatcher
from app.pii.models import NOTHING_KNOWN, PLACEHOLDER, Found, Kind, KnownPII, Redaction
from app.pii.normalise import lower_same_length, tokens

# when spans of different kinds overlap, the longer one names the union; on a tie:
_PRIORITY = {Kind.EMAIL: 0, Kind.PHONE: 1, Kind.ADDRESS: 2, Kind.NAME: 3}
_NAME_JOIN_RE = re.compile(r"^[ \t'’-]*$")
_ADDRESS_JOIN_RE = re.compile(r"^[\s,;]*$")
_JSON_ESCAPE_RE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|([\"\\/bfnrt]))")
_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "/": "/"}


def redact(
    text: str,
    known: KnownPII = NOTHING_KNOWN,
    *,
    marketplace: str | None = None,
    matcher: KnownMatcher | None = None,
) -> Redaction:
    """The text with every name, address, phone and email replaced by its placeholder.

    ``known`` is what we know of this thread's buyer: removed in any spelling.  Unknown
    PII is detected: emails, phones (national numbers in ``marketplace``'s region),
    street addresses, names in introductions, greetings and sign-offs.  ``found`` holds
    the spans of the *input* text, sorted and non-overlapping.  ``matcher`` is ``known``
    built once (:func:`known_matcher`) for a caller redacting many texts of one thread."""
    region = detect.region_for(marketplace)
    spans: list[tuple[Kind, int, int]] = []
    if matcher is not None:
        spans += matcher.find(text)
    elif known:
        spans += KnownMatcher.build(known, region).find(text)
    lowered = lower_same_length(text)
    protected = detect.protected_spans(text, lowered)
    masked = detect.mask(text, protected)
    spans += [(Kind.EMAIL, s, e) for s, e in detect.find_emails(text, lowered)]
    masked = detect.mask(masked, [(s, e) for k, s, e in spans if k is Kind.EMAIL])
    spans += [(Kind.PHONE, s, e) for s, e in detect.find_phones(text, region, masked)]
    places = address.find_addresses(text, masked, us=region in (None, "US", "CA"))
    spans += [(Kind.ADDRESS, s, e) for s, e in places]
    people = [s for s in names.find_names(text) if not detect.overlaps(s, protected)]
    for start, _ in places:
        line = names.name_line_before(text, start)
        if line is not None:
            people.append(line)
    spans += [(Kind.NAME, s, e) for s, e in people]
    if people:
        spans += _elsewhere(text, people)
    found = _resolve(spans, text)
    return Redaction(_apply(text, found), tuple(found))


def known_matcher(known: KnownPII, marketplace: str | None = None) -> KnownMatcher:
    """``known`` compiled for :func:`redact` (building it is a tenth of a millisecond:
    a caller with many texts of one buyer builds it once)."""
    return KnownMatcher.build(known, detect.region_for(marketplace))


def contains_known(text: str, known: KnownPII) -> Kind | None:
    """Which kind of the buyer's known PII occurs in ``text``, if any (the outbound guard).

    Compares after normalisation: case, accents, whitespace and punctuation, phone
    digits in any format, an address by its street line or postcode and city.  JSON
    string escapes (``\\n``, ``\\u00fc``) are read first, so a serialised request body
    can be passed as it is."""
    if not known:
        return None
    if "\\" in text:
        text = _JSON_ESCAPE_RE.sub(_unescape, text)
    return KnownMatcher.build(known).contains(text)


def contains_known_json(body: object, known: KnownPII) -> Kind | None:
    """``contains_known`` on a request body given as Python data."""
    return contains_known(json.dumps(body, ensure_ascii=False), known)


def _unescape(m: re.Match[str]) -> str:
    if m.group(1):
        return chr(int(m.group(1), 16))
    return _ESCAPES[m.group(2)]


def _elsewhere(text: str, people: list[tuple[int, int]]) -> list[tuple[Kind, int, int]]:
    """A name found once (a signature) is removed wherever else it is written with a
    capital.  (``str.find``, not a regex: re's cache would keep the names.)"""
    words = set()
    for start, end in people:
        for tok in tokens(text[start:end]):
            if len(tok.canon) >= 3 and tok.canon not in names.NOT_NAMES_FOLDED:
                words.add(tok.raw[:1].upper() + tok.raw[1:])
    out: list[tuple[Kind, int, int]] = []
    for word in words:
        start = text.find(word)
        while start >= 0:
            end = start + len(word)
            before = text[start - 1] if start else " "
            after = text[end] if end < len(text) else " "
            if not before.isalnum() and not after.isalnum():
                out.append((Kind.NAME, start, end))
            start = text.find(word, end)
    return out


def _resolve(spans: list[tuple[Kind, int, int]], text: str) -> list[Found]:
    """Overlapping spans become one (named after the longest); neighbours of one kind
    separated by nothing but spaces (or commas, for addresses) become one."""
    ordered = sorted((s, e, k) for k, s, e in spans if e > s)
    groups: list[list[tuple[int, int, Kind]]] = []
    for s, e, k in ordered:
        if groups and s < max(g[1] for g in groups[-1]):
            groups[-1].append((s, e, k))
        else:
            groups.append([(s, e, k)])
    merged: list[Found] = []
    for group in groups:
        start = min(g[0] for g in group)
        end = max(g[1] for g in group)
        kind = min(group, key=lambda g: (-(g[1] - g[0]), _PRIORITY[g[2]]))[2]
        if merged and merged[-1].kind is kind:
            gap = text[merged[-1].end : start]
            join = _NAME_JOIN_RE if kind is Kind.NAME else _ADDRESS_JOIN_RE
            if kind in (Kind.NAME, Kind.ADDRESS) and join.match(gap):
                merged[-1] = Found(kind, merged[-1].start, end)
                continue
        merged.append(Found(kind, start, end))
    return merged


def _apply(text: str, found: list[Found]) -> str:
    out = []
    pos = 0
    for f in found:
        out.append(text[pos : f.start])
        out.append(PLACEHOLDER[f.kind])
        pos = f.end
    out.append(text[pos:])
    return "".join(out)
