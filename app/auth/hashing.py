"""Argon2id password hashing (argon2-cffi) with parameters calibrated for this app.

Calibrated on the 2-core development machine (2026-11): verify times were
t=2, m=64 MiB, p=2 → 100–120 ms; t=3, m=64 MiB, p=2 → 140–150 ms;
t=3, m=64 MiB, p=4 → 170–200 ms; t=2, m=46 MiB, p=2 → 75 ms.  We take t=2, m=64 MiB,
p=2: inside the 50–150 ms target with head-room, and the memory cost is what hurts GPU
guessing most.  Raising these later is safe: sign-in upgrades outdated hashes
(:meth:`PasswordHashing.needs_rehash`).

Passwords are NFC-normalised first, so the same visible password typed on another
system (composed vs decomposed accents) still matches.  Nothing is truncated.
"""

from __future__ import annotations

import secrets
import unicodedata

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

TIME_COST = 2
MEMORY_COST_KIB = 64 * 1024
PARALLELISM = 2


def normalise(password: str) -> str:
    return unicodedata.normalize("NFC", password)


class PasswordHashing:
    """Hash and verify passwords.  Thread: any (CPU-bound, ~0.1 s; never the GUI thread)."""

    def __init__(
        self,
        *,
        time_cost: int = TIME_COST,
        memory_cost: int = MEMORY_COST_KIB,
        parallelism: int = PARALLELISM,
    ) -> None:
        self._ph = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            type=Type.ID,
        )
        self._dummy: str | None = None

    def hash(self, password: str) -> str:
        return self._ph.hash(normalise(password))

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._ph.verify(password_hash, normalise(password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._ph.check_needs_rehash(password_hash)
        except (InvalidHashError, ValueError):
            return True

    def dummy_verify(self, password: str) -> None:
        """Spend the time of a real verify (unknown user, account without password), so
        a wrong username takes as long as a wrong password."""
        if self._dummy is None:
            self._dummy = self._ph.hash(secrets.token_urlsafe(24))
        self.verify(self._dummy, password)


def fast_hashing_for_tests() -> PasswordHashing:
    """Minimal-cost Argon2id for unit tests (never used by the app)."""
    return PasswordHashing(time_cost=1, memory_cost=8, parallelism=1)
