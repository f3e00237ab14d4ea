"""The password policy: every rule named in plain words.

Pure functions (no DB): the service supplies the minimum length from the settings and
checks history and age, which need stored data.  Rules:

- at least ``min_length`` characters (12, a setting may raise it), at most 128; any
  Unicode, nothing truncated;
- an upper-case letter, a lower-case letter, a digit and a symbol;
- not containing the username or a part of the display name (case-insensitive);
- not containing the app's name or a store's name (accents, case and 1337-speak folded);
- not built only from predictable pieces (fewer than 4 other letters around them): a
  season or month (English or Turkish) with a year, or keyboard walks (QWERTY, QWERTZ,
  AZERTY, Turkish Q and F rows and QWERTY columns such as ``1qaz2wsx``), or "desk";
- not common or guessable: zxcvbn score >= 3 with the operator's own words and the store
  names as hints (zxcvbn alone scores ``Summer2026!!`` as safe: hence the rules above);
- not one of the last 10 passwords; changed at most once a day (unless an admin reset
  forces a change); older than 365 days forces a change at sign-in.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_SCORE = 3
HISTORY = 10
MIN_AGE = timedelta(days=1)
MAX_AGE = timedelta(days=365)
NAME_PART_MIN = 3  # shorter name parts ("Li", "de") would forbid too much
STORE_PART_MIN = 4  # store names hold short generic words ("EU", "TR", "shop" is kept)
OTHER_LETTERS_MIN = 4  # letters outside predictable pieces that make a pattern a password
WALK_MIN = 4  # keyboard neighbours in a row that count as a walk

APP_WORDS = ("muttefik", "mutefik")  # accents folded: "Müttefik" matches
SEASONS_MONTHS = (
    # English seasons, months and their short forms.
    "spring", "summer", "autumn", "fall", "winter",
    "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    # Turkish (accents folded: "ağustos" → "agustos", "kış" → "kis").
    "ilkbahar", "sonbahar", "bahar", "yaz", "guz", "kis",
    "ocak", "subat", "mart", "nisan", "mayis", "haziran", "temmuz", "agustos", "eylul",
    "ekim", "kasim", "aralik",
)  # fmt: skip
KEYBOARD_LINES = (
    "`1234567890-=",
    "qwertyuiop[]\\", "asdfghjkl;'", "zxcvbnm,./",  # QWERTY
    "qwertzuiopü+", "asdfghjklöä#", "<yxcvbnm,.-",  # QWERTZ
    "azertyuiop^$", "qsdfghjklmù*", "<wxcvbn,;:!",  # AZERTY
    "qwertyuıopğü,", "asdfghjklşi,", "<zxcvbnmöç.",  # Turkish Q
    "fgğıodrnhpqw", "uieaütkmlyşx", "<jövcçzsb.,",  # Turkish F
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.0p;/",  # QWERTY columns, top to bottom
    "zaq1xsw2cde3vfr4bgt5nhy6mju7,ki8.lo9/;p0",  # QWERTY columns, bottom to top
)  # fmt: skip
_WALK_LINES = (*KEYBOARD_LINES, *(line[::-1] for line in KEYBOARD_LINES))  # either way
_LEET = str.maketrans("0134578@$", "oieastbas")


@dataclass(frozen=True)
class Problem:
    rule: str
    message: str


def rules(min_length: int = MIN_LENGTH) -> list[str]:
    """The policy in plain words, for display next to a new-password field."""
    return [
        f"At least {min_length} characters (at most {MAX_LENGTH}).",
        "At least one capital letter, one small letter, one digit and one symbol.",
        "Not your username or any part of your name.",
        "Not the app's name or the name of one of your stores.",
        "Not just a season or month with a year (like Summer2026!), or keys next to "
        "each other on the keyboard (like qwerty or 1qaz2wsx).",
        "Not a common or easy-to-guess password.",
        f"Not one of your last {HISTORY} passwords.",
        "You can change your password once a day; it must be changed every year.",
    ]


def _is_symbol(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PSZ"


def _name_parts(display_name: str) -> list[str]:
    return [p for p in re.split(r"[\W_]+", display_name.casefold()) if len(p) >= NAME_PART_MIN]


def _lower(ch: str) -> str:
    """One character, lower case, still one character (Turkish "İ" → "i")."""
    low = ch.lower()
    return low[0] if low else ch


def _plain(ch: str) -> str:
    """One character folded for word matching: lower case, accents off, 1337 → letters."""
    base = unicodedata.normalize("NFD", _lower(ch))[0]
    return {"ı": "i", "ß": "s", "ø": "o", "æ": "a"}.get(base, base).translate(_LEET)


def _mark(text: str, words: tuple[str, ...] | list[str], marked: list[bool]) -> bool:
    """Mark every occurrence of ``words`` in ``text``; True if one was found."""
    found = False
    for word in words:
        for m in re.finditer(re.escape(word), text):
            marked[m.start() : m.end()] = [True] * len(word)
            found = True
    return found


def _mark_walks(text: str, marked: list[bool]) -> bool:
    """Mark keyboard walks (``WALK_MIN`` or more neighbours on one line, either way)."""
    found = False
    i = 0
    while i <= len(text) - WALK_MIN:
        end = i + WALK_MIN
        if any(text[i:end] in line for line in _WALK_LINES):
            while end < len(text) and any(text[i : end + 1] in line for line in _WALK_LINES):
                end += 1
            marked[i:end] = [True] * (end - i)
            found = True
            i = end
        else:
            i += 1
    return found


def _pattern_problems(password: str, store_names: list[str]) -> list[Problem]:
    plain = "".join(_plain(ch) for ch in password)
    lower = "".join(_lower(ch) for ch in password)
    found: list[Problem] = []
    stores: list[str] = []
    for name in store_names:
        folded = "".join(_plain(ch) for ch in name)
        whole = re.sub(r"[\W_]+", "", folded)
        parts = [p for p in re.split(r"[\W_]+", folded) if len(p) >= STORE_PART_MIN]
        stores += [whole] * (len(whole) >= NAME_PART_MIN) + parts
    if any(word in plain for word in APP_WORDS):
        found.append(Problem("app_name", "Do not use the name Müttefik Desk in the password."))
    if any(store in plain for store in stores):
        found.append(Problem("store_name", "Do not use the name of a store in the password."))
    # The rest only when the password is nothing but predictable pieces.
    marked = [False] * len(password)
    season = _mark(plain, SEASONS_MONTHS, marked)
    desk = _mark(plain, ("desk",), marked)
    walk = _mark_walks(lower, marked)
    others = sum(1 for ch, m in zip(password, marked, strict=True) if ch.isalpha() and not m)
    if others >= OTHER_LETTERS_MIN:
        return found
    if season and any(ch.isdigit() for ch in password):
        found.append(
            Problem(
                "season_year",
                "Do not build it from a season or month and a year (like Summer2026!).",
            )
        )
    if walk:
        found.append(
            Problem("keyboard", "Do not use keys next to each other on the keyboard (qwerty).")
        )
    if desk and not any(p.rule == "app_name" for p in found):
        found.append(Problem("app_name", "Do not use the name Müttefik Desk in the password."))
    return found


def problems(
    password: str,
    *,
    username: str,
    display_name: str,
    email: str = "",
    store_names: list[str] | None = None,
    min_length: int = MIN_LENGTH,
) -> list[Problem]:
    """Every rule ``password`` breaks (history and age are checked by the service).
    ``store_names`` are the profile's stores (refused in the password, hints to zxcvbn)."""
    password = unicodedata.normalize("NFC", password)
    found: list[Problem] = []
    min_length = max(min_length, MIN_LENGTH)
    if len(password) < min_length:
        found.append(Problem("min_length", f"Too short: use at least {min_length} characters."))
    if len(password) > MAX_LENGTH:
        found.append(Problem("max_length", f"Too long: use at most {MAX_LENGTH} characters."))
    if not any(ch.isupper() for ch in password):
        found.append(Problem("upper", "Add a capital letter (A–Z)."))
    if not any(ch.islower() for ch in password):
        found.append(Problem("lower", "Add a small letter (a–z)."))
    if not any(ch.isdigit() for ch in password):
        found.append(Problem("digit", "Add a digit (0–9)."))
    if not any(_is_symbol(ch) for ch in password):
        found.append(Problem("symbol", "Add a symbol, such as ! ? # % or a space."))
    folded = password.casefold()
    user = username.strip().casefold()
    if user and user in folded:
        found.append(Problem("username", "Do not use your username in the password."))
    parts = [p for p in _name_parts(display_name) if p in folded]
    if parts:
        found.append(Problem("name", "Do not use your name in the password."))
    if len(password) <= MAX_LENGTH:
        found += _pattern_problems(password, store_names or [])
    if len(password) <= MAX_LENGTH and password:
        hints = [username, *_name_parts(display_name), "muttefik", "müttefik", "desk"]
        if email:
            hints += [email, *re.split(r"[@.+_-]+", email)]
        hints += store_names or []
        hints = [h for h in hints if h]
        from zxcvbn import zxcvbn  # 70 ms of dictionaries: only when a password is set

        score = zxcvbn(password, user_inputs=hints, max_length=MAX_LENGTH)["score"]
        if score < MIN_SCORE:
            found.append(
                Problem(
                    "guessable",
                    "Too easy to guess (a common password, a pattern or words about you). "
                    "Try a few unrelated words with symbols between them.",
                )
            )
    return found


def message(found: list[Problem]) -> str:
    """One seller-facing text naming every broken rule."""
    return "Choose another password:\n" + "\n".join(f"• {p.message}" for p in found)


REUSED = Problem(
    "history", f"You used this password recently: choose one not among your last {HISTORY}."
)
TOO_SOON = Problem(
    "min_age",
    "You changed your password less than a day ago. Try again tomorrow, or ask an "
    "administrator to reset it.",
)
