"""TOTP (RFC 6238) with pyotp: 6 digits, 30-second steps, ±1 step accepted.

pyotp does not prevent replay; :func:`matching_step` returns the time step a code belongs
to so the caller stores it per operator and rejects any step not newer than the last one
(in the same write transaction as the check).
"""

from __future__ import annotations

import hmac
from datetime import datetime
from enum import Enum

import pyotp

DIGITS = 6
INTERVAL = 30
WINDOW = 1  # steps either side of now
ISSUER = "Müttefik Desk"


class CodeCheck(Enum):
    OK = "ok"
    WRONG = "wrong"
    REPLAYED = "replayed"


def new_secret() -> str:
    """A fresh base32 key (160 bits, as RFC 4226 recommends)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, username: str, *, issuer: str = ISSUER) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(
        name=username, issuer_name=issuer
    )


def time_step(at: datetime) -> int:
    return int(at.timestamp()) // INTERVAL


def code_at(secret: str, at: datetime) -> str:
    """The code an authenticator shows at ``at`` (tests use it to sign in)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).at(at)


def looks_like_totp(code: str) -> bool:
    c = code.replace(" ", "")
    return len(c) == DIGITS and c.isascii() and c.isdigit()


def matching_step(secret: str, code: str, at: datetime) -> int | None:
    """The time step (now ±1) whose code is ``code``, or None."""
    code = code.replace(" ", "")
    if not looks_like_totp(code):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)
    now = time_step(at)
    found: int | None = None
    for step in range(now - WINDOW, now + WINDOW + 1):
        # Compare all candidates (constant work), keep the newest match.
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def check(secret: str, code: str, at: datetime, last_step: int | None) -> tuple[CodeCheck, int]:
    """Check ``code``; returns the verdict and the step to store on OK."""
    step = matching_step(secret, code, at)
    if step is None:
        return CodeCheck.WRONG, -1
    if last_step is not None and step <= last_step:
        return CodeCheck.REPLAYED, step
    return CodeCheck.OK, step
