"""Matching what we know about a thread's buyer, in any spelling.

Names match token by token (so a first name alone is found, in any case, with accents
folded or German umlauts spelled out); phones match by their digits (any separators,
with or without the country code or trunk 0); an address matches as a run of its own
tokens in any order (``Apt 4, 123 Main St`` for ``123 Main Street Apt 4``) that holds a
number or three of its words; emails match case-insensitively.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

from app.pii.detect import PHONE_SEPARATORS
from app.pii.models import Kind, KnownPII
from app.pii.normalise import (
    Token,
    canon,
    digits,
    fold_same_length,
    lower_same_length,
    spellings,
    tokens,
    transliterations,
)

Span = tuple[int, int]

# words of a name that identify no one on their own
_NAME_SKIP = frozenset(
    """
    mr mrs ms miss mx dr prof herr frau m mme mlle monsieur madame sr sra srta senor
    senora sig signor signora dott ing jr sr ii iii iv van von der den de del della di
    da du dos la le ter ten zu y bin al el amazon customer buyer kunde client cliente
    the and
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
# name words that are also everyday words: matched only when written with a capital
_COMMON_WORDS = frozenset(
    """
    will may mark rose grace june april summer bill pat sue art ray don hope faith joy
    dean guy rich frank victor page king bob jack chase glen dawn sky river rob max ben
    neil penny ruby amber august autumn crystal holly ivy lily pearl violet carol sandy
    rusty gay earl major miles wade bird lane young long brown white black green wood
    hill marie sara anna lina ella emma mia noah paul
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
# filler words of an address that do not make a run on their own
_ADDRESS_FILLER = frozenset(
    """
    de la le les du des del di da el los las y e the of on am an der st rd ave apt ste
    no
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
# Han, kana, Hangul, Thai: scripts whose words are not separated by spaces
_UNSPACED_RE = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_PHONE_RUN_RE = re.compile(rf"[+＋]?[(（]?\d[\d{PHONE_SEPARATORS}]*\d")
_GAP_OK_RE = re.compile(r"[\s,.;:\-/#'’()º°ª]*")


@dataclass(frozen=True)
class KnownMatcher:
    """``KnownPII`` compiled for matching (build once per thread, use for every text)."""

    name_words: frozenset[str]
    addresses: tuple[frozenset[str], ...]
    phone_keys: tuple[str, ...]
    emails: tuple[str, ...]
    interesting: frozenset[str]  # the name words and every address's words
    unspaced: tuple[str, ...] = ()  # names in scripts written without spaces (山田太郎)
    spelled: tuple[str, ...] = ()  # folded spellings of the interesting words

    @classmethod
    def build(cls, known: KnownPII, region: str | None = None) -> KnownMatcher:
        names: set[str] = set()
        unspaced: set[str] = set()
        for name in known.names:
            if _UNSPACED_RE.search(name):
                whole = "".join(name.split())
                unspaced.update(t.raw for t in tokens(name) if len(t.raw) >= 2)
                unspaced.add(whole)
            for tok in tokens(name):
                if tok.has_digit:
                    continue
                for variant in transliterations(tok.raw):
                    if len(variant) >= 2 and variant not in _NAME_SKIP:
                        names.add(variant)
        addresses = tuple(
            frozenset(t.canon for t in tokens(address))
            for address in known.addresses
            if address.strip()
        )
        keys: set[str] = set()
        for phone in known.phones:
            keys.update(_phone_keys(phone, region))
        emails = tuple(e.strip().lower() for e in known.emails if "@" in e)
        interesting = frozenset(names).union(*addresses)
        spelled = {s for word in interesting for s in spellings(word)}
        return cls(
            frozenset(names),
            addresses,
            tuple(sorted(keys)),
            emails,
            interesting,
            tuple(sorted(unspaced, key=len, reverse=True)),
            tuple(sorted(spelled)),
        )

    # -- finding, with offsets, for redaction

    def find(self, text: str) -> list[tuple[Kind, int, int]]:
        out: list[tuple[Kind, int, int]] = []
        lowered = lower_same_length(text)
        for email in self.emails:
            start = lowered.find(email)
            while start >= 0:
                out.append((Kind.EMAIL, start, start + len(email)))
                start = lowered.find(email, start + 1)
        for start, end in self.find_phones(text):
            out.append((Kind.PHONE, start, end))
        hits = self._hits(text)
        for start, end in self.find_addresses(text, hits):
            out.append((Kind.ADDRESS, start, end))
        for tok in hits:
            if self.is_name(tok):
                out.append((Kind.NAME, tok.start, tok.end))
        for name in self.unspaced:  # inside a run of characters: no word boundaries there
            start = text.find(name)
            while start >= 0:
                out.append((Kind.NAME, start, start + len(name)))
                start = text.find(name, start + len(name))
        return out

    def _hits(self, text: str) -> list[Token]:
        """The tokens of ``text`` that are words of a name or an address, in order.

        Each spelling is looked for with ``str.find`` in the folded text (most words of a
        message are neither, and a Python loop over every token costs more); when folding
        would move offsets (``æ``, ``ß``), token by token instead."""
        folded = fold_same_length(text)
        if folded is None:
            return [t for t in tokens(text) if t.canon in self.interesting]
        found: dict[int, Token] = {}
        for spelling in self.spelled:
            start = folded.find(spelling)
            while start >= 0:
                end = start + len(spelling)
                before = folded[start - 1] if start else " "
                after = folded[end] if end < len(folded) else " "
                if not _is_word_char(before) and not _is_word_char(after):
                    raw = text[start:end]
                    word = canon(raw)
                    if word in self.interesting:
                        found[start] = Token(start, end, raw, word)
                start = folded.find(spelling, start + 1)
        return [found[k] for k in sorted(found)]

    def is_name(self, tok: Token) -> bool:
        if tok.canon in self.name_words:
            return tok.canon not in _COMMON_WORDS or tok.capitalised
        return False

    def find_phones(self, text: str) -> list[Span]:
        if not self.phone_keys:
            return []
        out = []
        for m in _PHONE_RUN_RE.finditer(text):
            run = digits(m.group())
            if len(run) < 6:
                continue
            for key in self.phone_keys:
                if key in run or (len(run) >= 7 and key.endswith(run)):
                    out.append(_phone_span(text, m, run, key))
                    break
        return out

    def find_addresses(self, text: str, hits: list[Token]) -> list[Span]:
        """Runs of an address's own words, next to each other (only spaces and
        punctuation between them: no other word)."""
        out: list[Span] = []
        for words in self.addresses:
            run: list[Token] = []
            for tok in hits:
                if tok.canon not in words:
                    continue
                if run and not _GAP_OK_RE.fullmatch(text, run[-1].end, tok.start):
                    _close_run(run, out)
                    run = []
                run.append(tok)
            _close_run(run, out)
        return out

    # -- yes/no, for the outbound guard

    def contains(self, text: str) -> Kind | None:
        lowered = text.lower()
        if any(email in lowered for email in self.emails):
            return Kind.EMAIL
        if self.find_phones(text):
            return Kind.PHONE
        hits = self._hits(text)
        if self.addresses and self.find_addresses(text, hits):
            return Kind.ADDRESS
        if any(self.is_name(tok) for tok in hits) or any(n in text for n in self.unspaced):
            return Kind.NAME
        return None


def _is_word_char(c: str) -> bool:
    return c.isalnum()


def _close_run(run: list[Token], out: list[Span]) -> None:
    """A run of an address's words is the address when it identifies a place: a number
    with a street or town word, two numbers (a postcode in two parts, a house number and
    a flat), a long number (a postcode), or three words; "Apt 4" or "Seattle WA" is not."""
    if not run:
        return
    nums = [t for t in run if t.has_digit]
    alpha = [t for t in run if not t.has_digit and len(t.canon) >= 3]
    alpha = [t for t in alpha if t.canon not in _ADDRESS_FILLER]
    if (
        any(len(t.canon) >= 5 for t in nums)
        or (nums and alpha)
        or (len(nums) >= 2 and any(len(t.canon) >= 3 for t in nums))
        or len(alpha) >= 3
    ):
        out.append((run[0].start, run[-1].end))


def _phone_keys(phone: str, region: str | None) -> set[str]:
    """The digits to look for: as written (no leading zeros) and the national number."""
    raw = digits(phone)
    keys = {raw.lstrip("0")}
    try:
        parsed = phonenumbers.parse(
            phone, None if phone.strip().startswith("+") else region or "US"
        )
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None:
        keys.add(str(parsed.national_number))
    return {k for k in keys if len(k) >= 6}


def _phone_span(text: str, m: re.Match[str], run: str, key: str) -> Span:
    """The part of a digit run that holds the known number (and its prefix)."""
    if len(run) <= len(key) + 4:
        start, end = m.span()
    else:  # several numbers in one run: take the digits of the key and what precedes
        first = run.find(key)
        count = 0
        start, end = m.start(), m.end()
        for i, ch in enumerate(m.group()):
            if ch.isdigit():
                if count == max(0, first - 3):
                    start = m.start() + i
                count += 1
                if count == first + len(key):
                    end = m.start() + i + 1
                    break
    if text[start : start + 1] == "(" and ")" not in text[start:end]:
        start += 1
    return start, end
