"""Argon2id password hashing (argon2-cffi) with parameters calibrated for this app.

Calibrated on the 2-core development machine (2026-11): verify times were
t=2, m=64 MiB, p=2 → 100–120 ms; t=3, m=64 MiB, p=2 → 140–150 ms;
t=3, m=64 MiB, p=4 → 170–200 ms; t=2, m=46 MiB, p=2 → 75 ms.  We take t=2, m=64 MiB,
p=2: inside the 50–150 ms target with head-room, and the memory cost is what hurts GPU
guessing most.  Raising these later is safe: sign-in upgrades outdated hashes
(:meth:`PasswordHashing.needs_rehash`).

A wrong username verifies against a dummy hash with the same parameters.  The dummy is
made once by a background warm-up that :class:`~app.auth.service.AuthService` starts when
it is built, so the first miss in a process costs one verify like every later one (made
lazily, the first miss also paid a hash: 113 vs 56 ms).

Passwords are NFC-normalised first, so the same visible password typed on another
system (composed vs decomposed accents) still matches.  Nothing is truncated.
"""

from __future__ import annotations

import secrets
import threading
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
        self._dummy_lock = threading.Lock()
        self._ready = threading.Event()

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

    def start_warm_up(self) -> None:
        """Make the dummy hash on a background thread (returns at once)."""
        if not self._ready.is_set():
            threading.Thread(target=self._make_dummy, name="argon2-warm-up", daemon=True).start()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """True once the dummy hash exists (waits up to ``timeout`` seconds)."""
        return self._ready.wait(timeout)

    def dummy_verify(self, password: str) -> None:
        """Spend the time of a real verify (unknown user, account without password), so
        a wrong username takes as long as a wrong password.  Waits for a warm-up still
        running rather than hashing a second dummy."""
        self.verify(self._make_dummy(), password)

    def _make_dummy(self) -> str:
        with self._dummy_lock:
            if self._dummy is None:
                self._dummy = self._ph.hash(secrets.token_urlsafe(24))
                self._ready.set()
            return self._dummy


def fast_hashing_for_tests() -> PasswordHashing:
    """Minimal-cost Argon2id for unit tests (never used by the app)."""
    return PasswordHashing(time_cost=1, memory_cost=8, parallelism=1)
