"""One process per profile: an advisory lock on ``vault.lock``."""

from __future__ import annotations

import os
from pathlib import Path

from app.atomic import os_error_to_user_error
from app.errors import DatabaseInUse


class ProfileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise os_error_to_user_error(exc) from exc
        try:
            _lock(fd)
        except OSError as exc:
            os.close(fd)
            raise DatabaseInUse(detail=str(self.path)) from exc
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock
            self._fd = None


if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]

else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
