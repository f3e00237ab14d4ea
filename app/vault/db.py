"""The vault: one SQLCipher connection owned by one DB thread.

Every read and write goes through :meth:`Vault.run` / :meth:`Vault.write`, which submit a
function to the DB thread and return a :class:`~concurrent.futures.Future`.  No other
thread ever touches the connection (SQLCipher's ``check_same_thread`` enforces it).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from app.paths import Profile
from app.vault import migrations
from app.vault.check import CheckResult, run_checks
from app.vault.connection import open_connection, translate_db_error
from app.vault.keys import KeyMode
from app.vault.lock import ProfileLock

log = logging.getLogger("muttefik.db")

T = TypeVar("T")
Conn = Any  # sqlcipher3.Connection (untyped C extension)


class Vault:
    """An open, unlocked profile database.

    Thread: construct with :meth:`open` off the GUI thread.  ``run``/``write`` may be called
    from any thread; the functions they take run on the DB thread.
    """

    def __init__(self, profile: Profile, mode: KeyMode) -> None:
        self.profile = profile
        self.mode = mode
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="muttefik-db")
        self._conn: Conn | None = None
        self._thread_id: int | None = None
        self._lock = ProfileLock(profile.lock_path)
        self._closed = False
        self._key: bytes | None = None  # kept for the read-only check connection only

    @classmethod
    def open(
        cls,
        profile: Profile,
        key: bytes,
        mode: KeyMode,
        *,
        migrate: bool = True,
        lock: ProfileLock | None = None,
    ) -> Vault:
        """Lock the profile, open and verify the database, apply migrations.  Blocks.

        ``lock``: the profile's lock, already held by the caller since before the key was
        resolved (key resolution tidies pending keys and must not race another process's
        rotation).  The vault releases it when it closes, or here if opening fails.
        """
        profile.ensure()
        vault = cls(profile, mode)
        if lock is not None:
            vault._lock = lock
        else:
            vault._lock.acquire()
        try:
            vault._executor.submit(vault._open_on_thread, key).result()
            if migrate:
                vault.run(migrations.migrate).result()
        except BaseException:
            vault.close()
            raise
        return vault

    def _open_on_thread(self, key: bytes) -> None:
        self._conn = open_connection(self.profile.db_path, key)
        self._key = key
        self._thread_id = threading.get_ident()
        # -wal/-shm inherit the db file's mode; make sure of it anyway.
        if os.name == "posix":
            for suffix in ("-wal", "-shm"):
                side = self.profile.db_path.with_name(self.profile.db_path.name + suffix)
                if side.exists():
                    os.chmod(side, 0o600)

    @property
    def db_thread_id(self) -> int | None:
        return self._thread_id

    def run(self, fn: Callable[[Conn], T]) -> Future[T]:
        """Run ``fn(conn)`` on the DB thread.  ``fn`` manages its own transaction."""
        if self._closed:
            raise RuntimeError("vault is closed")
        return self._executor.submit(self._guarded, fn)

    def write(self, fn: Callable[[Conn], T]) -> Future[T]:
        """Run ``fn(conn)`` on the DB thread inside ``BEGIN IMMEDIATE`` … ``COMMIT``."""

        def in_transaction(conn: Conn) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return self.run(in_transaction)

    def call(self, fn: Callable[[Conn], T]) -> T:
        """Blocking :meth:`run` for worker threads and the CLI (never the GUI thread)."""
        return self.run(fn).result()

    def call_write(self, fn: Callable[[Conn], T]) -> T:
        return self.write(fn).result()

    def _guarded(self, fn: Callable[[Conn], T]) -> T:
        if self._conn is None:
            raise RuntimeError("vault is not open")
        try:
            return fn(self._conn)
        except Exception as exc:
            mapped = translate_db_error(exc)
            if mapped is not exc:
                raise mapped from exc
            raise

    def rekey(self, new_key: bytes) -> Future[None]:
        """Re-encrypt every page with ``new_key`` (one transaction in SQLCipher)."""
        from app.vault.connection import key_pragma

        def do(conn: Conn) -> None:
            conn.execute(key_pragma(new_key).replace("PRAGMA key", "PRAGMA rekey", 1))
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._key = new_key

        return self.run(do)

    def integrity_check(self) -> CheckResult:
        """Full page-by-page check on a separate read-only connection.

        Blocks for as long as reading the whole file takes; call from a worker thread (not
        the DB thread, which stays free for the app meanwhile).
        """
        if self._key is None:
            raise RuntimeError("vault is not open")
        return run_checks(self.profile, self._key)

    def checkpoint(self) -> Future[None]:
        return self.run(lambda conn: conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone())

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        def shut(conn_holder: Vault) -> None:
            if conn_holder._conn is not None:
                try:
                    conn_holder._conn.execute("PRAGMA optimize")
                finally:
                    conn_holder._conn.close()
                    conn_holder._conn = None
                    conn_holder._key = None

        try:
            self._executor.submit(shut, self).result()
        except Exception:
            log.exception("closing the database failed")
        self._executor.shutdown(wait=True)
        self._lock.release()
