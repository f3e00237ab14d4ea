"""The password policy: every rule named in plain words.

Pure functions (no DB): the service supplies the minimum length from the settings and
checks history and age, which need stored data.  Rules:

- at least ``min_length`` characters (12, a setting may raise it), at most 128; any
  Unicode, nothing truncated;
- an upper-case letter, a lower-case letter, a digit and a symbol;
- not containing the username or a part of the display name (case-insensitive);
- not common or guessable: zxcvbn score >= 3 with the operator's own words as hints;
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
        "Not a common or easy-to-guess password.",
        f"Not one of your last {HISTORY} passwords.",
        "You can change your password once a day; it must be changed every year.",
    ]


def _is_symbol(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PSZ"


def _name_parts(display_name: str) -> list[str]:
    return [p for p in re.split(r"[\W_]+", display_name.casefold()) if len(p) >= NAME_PART_MIN]


def problems(
    password: str,
    *,
    username: str,
    display_name: str,
    email: str = "",
    min_length: int = MIN_LENGTH,
) -> list[Problem]:
    """Every rule ``password`` breaks (history and age are checked by the service)."""
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
    if len(password) <= MAX_LENGTH and password:
        hints = [username, *_name_parts(display_name)]
        if email:
            hints += [email, *re.split(r"[@.+_-]+", email)]
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
