"""Opening a SQLCipher connection with a raw key and the pragmas we rely on."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import sqlcipher3

from app.atomic import os_error_to_user_error
from app.errors import DatabaseCorrupted, DatabaseKeyWrong, DiskFull, ProfileReadOnly
from app.vault import wal

log = logging.getLogger("muttefik.db")

Connection = sqlcipher3.Connection
DatabaseError = sqlcipher3.DatabaseError

BUSY_TIMEOUT_MS = 5000
#: Page cache per connection, in KiB (filled only as pages are read).
CACHE_KIB = 64 * 1024


def key_pragma(key: bytes) -> str:
    if len(key) != 32:
        raise ValueError("database key must be 32 bytes")
    return f"PRAGMA key = \"x'{key.hex()}'\""


def create_private_file(path: Path) -> None:
    """Create an empty 0600 file so SQLite inherits the mode for -wal/-shm too."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise os_error_to_user_error(exc) from exc
    os.close(fd)


def translate_db_error(exc: Exception) -> Exception:
    """Map SQLite errors to the seller-facing ones; anything else is a bug."""
    text = str(exc).lower()
    if "file is not a database" in text:
        return DatabaseKeyWrong(detail=str(exc))
    if "database or disk is full" in text:
        return DiskFull(detail=str(exc))
    if "readonly database" in text or "unable to open database file" in text:
        return ProfileReadOnly(detail=str(exc))
    if "malformed" in text or "hmac" in text:
        return DatabaseCorrupted(detail=str(exc))
    return exc


def open_connection(path: Path, key: bytes, *, readonly: bool = False) -> Any:
    """Open ``path`` with ``key`` and verify the key with a read.

    Raises :class:`DatabaseKeyWrong` if the key does not open the file.  Must be called on
    the thread that will own the connection.
    """
    try:
        if readonly:
            conn = sqlcipher3.connect(
                f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=True
            )
        else:
            create_private_file(path)
            # A WAL left by a crash: keep a copy first if replaying it would drop commits.
            wal.preserve(path)
            conn = sqlcipher3.connect(str(path), isolation_level=None, check_same_thread=True)
    except sqlcipher3.Error as exc:
        raise translate_db_error(exc) from exc
    try:
        # SQLCipher writes HMAC failures to stderr by default; we report them ourselves.
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute(key_pragma(key))
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if not readonly:
            conn.execute("PRAGMA journal_mode = WAL").fetchone()
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            # SQLCipher decrypts every page it reads: a page cache that holds the inbox's
            # search index keeps encrypted search within 1.5x of plain SQLite
            # (bench/search.py: ratio 2.30 with the 2 MiB default, 1.07 with 64 MiB).
            conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            if conn.execute("PRAGMA secure_delete").fetchone()[0] != 1:
                raise RuntimeError("SQLCipher build refused secure_delete")
            if conn.execute("PRAGMA foreign_keys").fetchone()[0] != 1:
                raise RuntimeError("foreign_keys could not be enabled")
    except BaseException as exc:
        conn.close()
        if isinstance(exc, sqlcipher3.Error):
            raise translate_db_error(exc) from exc
        raise
    return conn


def checkpoint_truncate(conn: Any, path: Path, *, attempts: int = 3, wait_ms: int = 500) -> bool:
    """Copy every WAL frame into the main file and empty the WAL.  True if it is empty.

    ``PRAGMA wal_checkpoint(TRUNCATE)`` reports busy (instead of failing) while a reader
    still uses the WAL; each attempt waits up to ``wait_ms`` for readers to finish.
    """
    conn.execute(f"PRAGMA busy_timeout = {int(wait_ms)}")
    try:
        for _ in range(attempts):
            busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            if not busy and wal.size(path) == 0:
                return True
        return False
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def can_open(path: Path, key: bytes) -> bool:
    """Whether ``key`` opens ``path`` (a throwaway read-only connection)."""
    try:
        conn = open_connection(path, key, readonly=True)
    except DatabaseKeyWrong:
        return False
    except DatabaseCorrupted:
        # A wrong key fails on page 1 ("file is not a database"); damage further in means
        # this key decrypted page 1, so it is the right one.  Opening then reports the damage.
        return True
    conn.close()
    return True
