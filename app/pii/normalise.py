"""Text folding shared by the detectors and the outbound guard.

``normalise`` is what "the same text" means for PII: case folded, accents removed
(``Müller`` and ``MULLER`` are one name), a few letters that Unicode does not decompose
spelled out (``ø`` → ``o``, ``ß`` → ``ss``), runs of whitespace made one space.
Matching works on *tokens* (runs of letters and digits), so punctuation and spacing
never hide a value: ``123 Main St.`` and ``123, main st`` have the same tokens.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

_SPECIAL = str.maketrans(
    {
        "ø": "o",
        "Ø": "o",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ł": "l",
        "Ł": "l",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",
        "ß": "ss",
        "’": "'",
    }
)
# Letters and digits; "_" is a word character for re but never part of a value.
TOKEN_RE = re.compile(r"[^\W_]+")
_WS_RE = re.compile(r"\s+")
_DIGIT_RE = re.compile(r"\d")

# Street words that people abbreviate or spell out: one canonical spelling for both.
_CANON = {
    "street": "st",
    "str": "st",
    "strasse": "st",
    "road": "rd",
    "avenue": "ave",
    "av": "ave",
    "avda": "ave",
    "avenida": "ave",
    "drive": "dr",
    "lane": "ln",
    "boulevard": "blvd",
    "bd": "blvd",
    "bvd": "blvd",
    "court": "ct",
    "place": "pl",
    "square": "sq",
    "apartment": "apt",
    "appartement": "apt",
    "appt": "apt",
    "suite": "ste",
    "parkway": "pkwy",
    "highway": "hwy",
    "terrace": "ter",
    "crescent": "cres",
    "gardens": "gdns",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "calle": "c",
    "piazza": "p",
    "pza": "p",
    "plaza": "p",
    "viale": "vle",
    "number": "no",
    "nr": "no",
    "numero": "no",
}


def fold(text: str) -> str:
    """Case and accents folded, without touching whitespace (lengths may change)."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def fold_same_length(text: str) -> str | None:
    """``fold(text)`` when it keeps every offset (each character folds to one), else None
    (``æ`` → ``ae``, ``ß`` → ``ss``: the caller then folds token by token)."""
    if text.isascii():
        return text.lower()
    out = []
    seen: dict[str, str] = {}
    for c in text:
        if c.isascii():
            out.append(c.lower())
            continue
        f = seen.get(c)
        if f is None:
            f = seen[c] = fold(c)
        if len(f) != 1:
            return None
        out.append(f)
    return "".join(out)


def spellings(word: str) -> set[str]:
    """The folded spellings whose :func:`canon` is ``word`` (``st``: ``street``, ``str``…)."""
    out = {word}
    out.update(k for k, v in _CANON.items() if v == word)
    if word.endswith("st") and len(word) > 4:
        out.update({word[:-2] + "strasse", word[:-2] + "str"})
    return {w for w in out if canon(w) == word}


def lower_same_length(text: str) -> str:
    """``text.lower()`` with every offset kept (``İ`` lowers to two characters: kept)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def normalise(text: str) -> str:
    """Case, accents and whitespace folded: the form two spellings of a value share."""
    return _WS_RE.sub(" ", fold(text)).strip()


def digits(text: str) -> str:
    """The digits of ``text`` as ASCII (full-width ``０９０`` is ``090``)."""
    found = "".join(_DIGIT_RE.findall(text))
    if found.isascii():
        return found
    return "".join(str(unicodedata.digit(c, 0)) for c in found)


def canon(token: str) -> str:
    """The folded token, street words in one spelling (``Straße`` = ``Str`` = ``St``).

    Not cached: a cache would keep buyers' words in the process after their message."""
    folded = fold(token)
    if folded in _CANON:
        return _CANON[folded]
    if folded.endswith("strasse") and len(folded) > 7:
        return folded[:-7] + "st"
    if folded.endswith("str") and len(folded) > 5:
        return folded[:-3] + "st"
    return folded


def transliterations(token: str) -> set[str]:
    """Other spellings of a name token: ``Müller`` → ``muller``, ``mueller``; and back."""
    out = {canon(token)}
    lowered = token.lower()
    german = lowered.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
    out.add(fold(german))
    folded = fold(token)
    for pair, single in (("ae", "a"), ("oe", "o"), ("ue", "u")):
        if pair in folded:
            out.add(folded.replace(pair, single))
    return out


class Token(NamedTuple):
    """A run of letters or digits: where it is, as written, and its canonical form."""

    start: int
    end: int
    raw: str
    canon: str

    @property
    def capitalised(self) -> bool:
        return self.raw[:1].isupper()

    @property
    def has_digit(self) -> bool:
        return any(c.isdigit() for c in self.raw)


def tokens(text: str) -> list[Token]:
    return [Token(m.start(), m.end(), m.group(), canon(m.group())) for m in TOKEN_RE.finditer(text)]
