"""Detectors for PII we were not told about: emails and phones (the log filter's too).

Each detector returns ``(start, end)`` spans into the text it was given.  Values that
drafting needs (order ids, ASINs, tracking numbers, amounts, dates, sizes) are found
first by :func:`protected_spans` and masked, so no phone or address pattern eats them.
Addresses are in :mod:`app.pii.address`, names in :mod:`app.pii.names`.  Everything here
is pure and stateless: compiled patterns only, light enough for the log filter at start-up
(phonenumbers is imported on the first bare run of digits).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from app.pii.normalise import digits, lower_same_length

Span = tuple[int, int]

# character classes for capitalised words in Latin scripts (re has no \\p{Lu})
UPPER = "A-ZÀ-ÖØ-Þ"
LOWER = "a-zß-öø-ÿ"

# --- what must survive -------------------------------------------------------------

_CURRENCY = "EUR|USD|GBP|CAD|JPY|CHF"
_AMOUNT = r"\d{1,3}(?:[ .,\u00a0\u202f]\d{3})*(?:[.,]\d{1,2})?"
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_PROTECT_PATTERNS = [
    r"\b\d{3}-\d{7}-\d{7}\b",  # Amazon order id
    r"\b[SD]\d{2}-\d{7}-\d{7}\b",
    r"\bB0[A-Z0-9]{8}\b",  # ASIN
    r"\b1Z[0-9A-Z]{16}\b",  # UPS
    r"\b[A-Z]{2}\d{9}[A-Z]{2}\b",  # UPU (Royal Mail, Deutsche Post, La Poste…)
    r"\bTBA\d{9,14}\b",  # Amazon Logistics
    r"\b(?:\d[ ]?){20,34}\b",  # long tracking numbers (USPS, DHL Paket), spaced or not
    # ISO dates and times (log lines too)
    r"\b\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?",
    r"\b\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\b",
    # 12/03/2026, 12.03.26, 3-12-2026 — not when more digit groups follow (a phone)
    r"(?<![\d.+/-])\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})(?![./-]?\d)",
    r"(?<![\d.+])(?<!\d[ ()/-])"
    + _OCTET
    + r"(?:\."
    + _OCTET
    + r"){3}(?::\d{1,5})?(?!\.?\d)(?![ ()/-]\d)",  # IPv4[:port]
    # amounts: currency before or after, thousands separated
    rf"(?:[$€£¥]|\b(?:{_CURRENCY})\b)\s?{_AMOUNT}",
    rf"\b{_AMOUNT}\s?(?:[$€£¥]|(?:{_CURRENCY}|euros?|dollars?|pounds?)\b)",
    # Japanese postcodes with their mark are addresses, not phones: see app.pii.address
]
PROTECT_RE = re.compile("|".join(f"(?:{p})" for p in _PROTECT_PATTERNS))
# labelled identifiers: SKU, EAN, invoice, tracking, order… (matched on lowercased text:
# re is five times slower with IGNORECASE)
LABELLED_RE = re.compile(
    r"\b(?:sku|ean|upc|gtin|isbn|asin|model|modell|modèle|modelo|modello|art\.?-?nr|"
    r"artikel(?:nummer)?|item|part|invoice|rechnung(?:snummer)?|facture|factura|fattura|"
    r"tracking|sendungsnummer|sendungsverfolgung|suivi|seguimiento|tracciamento|"
    r"order|bestellung|bestellnummer|commande|pedido|ordine|ref|reference|référence|"
    r"referencia|riferimento|serial|seriennummer|s/n)\b"
    r"\s*(?:no\.?|nr\.?|number|num\.?|n[°º]|#)?\s*[:#]?\s*"
    r"(?=[\w-]*\d)[a-z0-9][\w-]*(?:[ ]\d{2,6}){0,4}"
)


def protected_spans(text: str, lowered: str | None = None) -> list[Span]:
    """Values to keep: ids, tracking numbers, dates and times, IPs, amounts, labelled ids.

    ``lowered`` is ``lower_same_length(text)`` when the caller has it already."""
    if lowered is None:
        lowered = lower_same_length(text)
    spans = _near_digits(PROTECT_RE, text, before=4)
    spans += [m.span() for m in LABELLED_RE.finditer(lowered)]
    return sorted(spans)


_DIGIT_RUN_RE = re.compile(r"\d+")


def _near_digits(pattern: re.Pattern[str], text: str, before: int) -> list[Span]:
    """``pattern``'s matches when each starts at most ``before`` characters ahead of a
    digit it holds (every protected value does): a few ``match`` calls per number instead
    of trying the whole alternation at every position of the text."""
    out: list[Span] = []
    covered = 0
    for digit in _DIGIT_RUN_RE.finditer(text):
        p = digit.start()
        if p < covered:
            continue
        for q in range(max(covered, p - before), p + 1):
            hit = pattern.match(text, q)
            if hit is not None and hit.end() > p:
                out.append(hit.span())
                covered = hit.end()
                break
    return out


def mask(text: str, spans: Iterable[Span]) -> str:
    """The text with each span replaced by "_" (same length: offsets stay valid)."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = "_" * (end - start)
    return "".join(chars)


def overlaps(span: Span, spans: Iterable[Span]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in spans)


# --- emails -----------------------------------------------------------------------

_DOT = r"(?:\.|\[dot\]|\(dot\)| dot )"
_TLDS = r"com|net|org|de|fr|es|it|co\.uk|uk|jp|ca|eu|info|me|io"
# Both kinds are found from their "@" (or "at"), then the local part is read backwards:
# a regex starting with the local part would try every word of the text.
_EMAIL_DOMAIN_RE = re.compile(r"@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")
_EMAIL_LOCAL_CHARS = frozenset("._%+'-")
# one written out to slip past filters: "jane dot doe at gmail dot com" (lowercased text)
_AT_DOMAIN_RE = re.compile(
    rf"(?:[ \t]*(?:\[at\]|\(at\)|\{{at\}})[ \t]*| at )"
    rf"[\w-]+(?:[ \t]*{_DOT}[ \t]*[\w-]+)*[ \t]*{_DOT}[ \t]*(?:{_TLDS})\b"
)
_AT_LOCAL_RE = re.compile(rf"[\w.+-]+(?:[ \t]*{_DOT}[ \t]*[\w+-]+)*$")


def find_emails(text: str, lowered: str | None = None) -> list[Span]:
    spans = []
    if "@" in text:
        for m in _EMAIL_DOMAIN_RE.finditer(text):
            start = m.start()
            while start > 0 and (
                text[start - 1].isalnum() or text[start - 1] in _EMAIL_LOCAL_CHARS
            ):
                start -= 1
            if start < m.start():
                spans.append((start, m.end()))
    if lowered is None:
        lowered = lower_same_length(text)
    if " at " in lowered or "[at]" in lowered or "(at)" in lowered or "{at}" in lowered:
        for m in _AT_DOMAIN_RE.finditer(lowered):
            local = _AT_LOCAL_RE.search(lowered, max(0, m.start() - 64), m.start())
            if local is not None:
                spans.append((local.start(), m.end()))
    return sorted(spans)


# --- phones -----------------------------------------------------------------------

# A number with phone punctuation: optional + or 00 prefix, digits, spaces, dots,
# dashes, slashes and parentheses; not glued to letters.
# spaces, dots, dashes, slashes, parentheses; also their full-width and typographic forms
PHONE_SEPARATORS = (
    " \t\u00a0\u202f\u3000().\\-/\u2010-\u2015\u2212\uff08\uff09\uff0d\uff0e\uff0f\u30fc"
)
PHONE_CANDIDATE_RE = re.compile(
    # not glued to Latin letters or digits (Japanese text has no spaces around numbers)
    rf"(?<![0-9A-Za-zÀ-ÖØ-öø-ÿ_+])(?:\+|(?<![0-9])00|\(\+?)?\d[\d{PHONE_SEPARATORS}]*\d\)?"
    r"(?![0-9A-Za-zÀ-ÖØ-öø-ÿ_])"
    r"(?:\s*(?:ext\.?|x|#|Durchwahl|poste)\s*\d{1,5}\b)?"
)
_SEPARATOR_RE = re.compile(rf"[{PHONE_SEPARATORS}]")

REGIONS = {
    "UK": "GB",
    "GB": "GB",
    "US": "US",
    "CA": "CA",
    "MX": "MX",
    "BR": "BR",
    "DE": "DE",
    "FR": "FR",
    "ES": "ES",
    "IT": "IT",
    "NL": "NL",
    "BE": "BE",
    "SE": "SE",
    "PL": "PL",
    "IE": "IE",
    "TR": "TR",
    "JP": "JP",
    "AU": "AU",
    "IN": "IN",
    "SG": "SG",
    "AE": "AE",
    "SA": "SA",
    "EG": "EG",
}
_DOMAINS = {
    "com": "US",
    "co.uk": "GB",
    "ca": "CA",
    "com.mx": "MX",
    "com.br": "BR",
    "de": "DE",
    "fr": "FR",
    "es": "ES",
    "it": "IT",
    "nl": "NL",
    "com.be": "BE",
    "se": "SE",
    "pl": "PL",
    "ie": "IE",
    "com.tr": "TR",
    "co.jp": "JP",
    "com.au": "AU",
    "in": "IN",
    "sg": "SG",
    "ae": "AE",
    "sa": "SA",
    "eg": "EG",
}


def region_for(marketplace: str | None) -> str | None:
    """``"UK"``, ``"gb"``, ``"amazon.co.uk"``, ``"marketplace.amazon.de"``, ``"Amazon.fr"``
    → a phonenumbers region; None when it names none."""
    if not marketplace:
        return None
    m = marketplace.strip().lower()
    if "amazon." in m:
        return _DOMAINS.get(m.rsplit("amazon.", 1)[1])
    return REGIONS.get(m.upper())


def _is_phone(candidate: str, region: str | None) -> bool:
    number = digits(candidate)
    n = len(number)
    if n < 7 or n > 15:
        return False
    stripped = candidate.lstrip("(")
    if stripped.startswith("+") or stripped.startswith("00"):
        return n >= 8
    if _SEPARATOR_RE.search(candidate.strip("()")):
        groups = [g for g in re.split(r"[^\d]+", candidate) if g]
        # "12 345 678" could be a quantity list; phones have few, longish groups
        return len(groups) <= 6 and max(len(g) for g in groups) >= 2
    # a bare run of digits: a phone only if it looks like one where the buyer lives
    if n < 9 or n > 13:
        return False
    if number.startswith("0"):
        return True
    import phonenumbers

    try:
        parsed = phonenumbers.parse(number, region or "US")
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(parsed))


def find_phones(text: str, region: str | None = None, masked: str | None = None) -> list[Span]:
    """Phone numbers, national (the marketplace's region) or international.

    ``masked`` is the text with protected values masked (see :func:`mask`)."""
    source = masked if masked is not None else mask(text, protected_spans(text))
    out = []
    for m in PHONE_CANDIDATE_RE.finditer(source):
        raw = m.group()
        start, end = m.span()
        # trim a stray closing/opening parenthesis that is not part of the number
        if raw.endswith(")") and "(" not in raw:
            end -= 1
            raw = raw[:-1]
        if raw.startswith("(") and ")" not in raw:
            start += 1
            raw = raw[1:]
        if _is_phone(raw, region):
            out.append((start, end))
    return out
