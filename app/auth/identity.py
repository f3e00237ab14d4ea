"""Checks for the operator details an admin or the first-run wizard enters."""

from __future__ import annotations

import re
import unicodedata

from app.auth.store import normalise_username
from app.errors import InvalidOperatorInput

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,31}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_DISPLAY_NAME = 80
MAX_EMAIL = 254


def check_username(username: str) -> str:
    name = normalise_username(username)
    if not USERNAME.match(name):
        raise InvalidOperatorInput(
            "A username has 3 to 32 characters: letters a–z, digits, dots, dashes or "
            "underscores, starting with a letter or digit."
        )
    return name


def check_display_name(display_name: str) -> str:
    name = " ".join(display_name.split())
    if not name or len(name) > MAX_DISPLAY_NAME:
        raise InvalidOperatorInput(f"Enter a display name (up to {MAX_DISPLAY_NAME} characters).")
    if _has_control(name):
        raise InvalidOperatorInput("The display name contains characters that cannot be shown.")
    return name


def check_email(email: str) -> str:
    address = email.strip()
    if len(address) > MAX_EMAIL or _has_control(address) or not EMAIL.match(address):
        raise InvalidOperatorInput("Enter a valid email address, such as name@example.com.")
    return address


def _has_control(text: str) -> bool:
    """Control, format, surrogate or unassigned characters: nothing a person can read."""
    return any(unicodedata.category(ch).startswith("C") for ch in text)


def check_identity(username: str, display_name: str, email: str) -> tuple[str, str, str]:
    return check_username(username), check_display_name(display_name), check_email(email)
