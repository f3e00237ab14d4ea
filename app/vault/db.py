"""The vault: one SQLCipher connection owned by one DB thread.

Every read and write goes through :meth:`Vault.run` / :meth:`Vault.write`, which submit a
function to the DB thread and return a :class:`~concurrent.futures.Future`.  No other
thread ever touches the connection (SQLCipher's ``check_same_thread`` enforces it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from app.errors import KeyChangeUnfinished, VaultClosed
from app.paths import Profile
from app.vault import migrations, wal
from app.vault.check import CheckResult, main_file_problems, run_checks
from app.vault.connection import checkpoint_truncate, open_connection, translate_db_error
from app.vault.keys import KeyMode
from app.vault.lock import ProfileLock

log = logging.getLogger("muttefik.db")

T = TypeVar("T")
Conn = Any  # sqlcipher3.Connection (untyped C extension)

# The WAL is kept empty at rest: after a write that leaves it above this size, and after
# this many seconds without writes, it is checkpointed into the main file and truncated.
# SQLite's own checkpoints (every 1000 pages, ~4 MiB) keep it below this while writes go
# on, reusing the file; truncating it on every commit would make each commit grow it anew.
WAL_TRUNCATE_BYTES = 16 * 1024 * 1024
IDLE_CHECKPOINT_SECONDS = 2.0

# Crash tests stop a child process at each named step of a key change (None: no-op).
step_hook: Callable[[str], None] | None = None


def reached(step: str) -> None:
    if step_hook is not None:
        step_hook(step)


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
        self._last_write = 0.0  # time.monotonic() of the last commit (DB thread)
        self._idle_timer: threading.Timer | None = None  # guarded by _timer_lock
        self._timer_lock = threading.Lock()
        # Key of the audit log's MAC, separate from the database key; set by whoever opens
        # the vault (app.bootstrap.open_vault, the GUI's startup).  None: not available.
        self.audit_key: bytes | None = None
        # Callbacks of the write transaction in progress (DB thread only): see after_commit.
        self._after_commit: list[Callable[[], None]] | None = None

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
            raise VaultClosed()
        return self._executor.submit(self._guarded, fn)

    def write(self, fn: Callable[[Conn], T]) -> Future[T]:
        """Run ``fn(conn)`` on the DB thread inside ``BEGIN IMMEDIATE`` … ``COMMIT``."""

        def in_transaction(conn: Conn) -> T:
            conn.execute("BEGIN IMMEDIATE")
            pending: list[Callable[[], None]] = []
            self._after_commit = pending
            try:
                try:
                    result = fn(conn)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            finally:
                self._after_commit = None  # on rollback or a failed COMMIT, pending is dropped
            self._run_after_commit(pending)
            self._wal_housekeeping()
            return result

        return self.run(in_transaction)

    @staticmethod
    def _run_after_commit(callbacks: list[Callable[[], None]]) -> None:
        for callback in callbacks:
            try:
                callback()
            except Exception:  # committed already: nothing to undo, so log and go on
                log.exception("after-commit callback failed")

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Run ``fn()`` on the DB thread once the current :meth:`write` has committed.

        Call from inside a :meth:`write` function; ``fn`` is dropped if the transaction
        rolls back or its COMMIT fails.  Callbacks run in registration order, before the
        write's future resolves; keep them short (the DB thread waits), handing slow work
        on (see app.audit_anchor).  One that raises is logged and the others still run.
        """
        if self._after_commit is None or threading.get_ident() != self._thread_id:
            raise RuntimeError("Vault.after_commit must run inside Vault.write")
        self._after_commit.append(fn)

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
        """Re-encrypt every page with ``new_key`` and make sure the main file holds them.

        ``PRAGMA rekey`` is one transaction, committed into the WAL: until the WAL is
        checkpointed, the main file is still under the old key.  So: rekey, checkpoint until
        the WAL is empty, then verify every page of the main file under ``new_key`` on a
        fresh connection.  Raises :class:`KeyChangeUnfinished` if the last two steps cannot
        be done now; the caller must then keep the old key (the next start finishes it).
        """
        from app.vault.connection import key_pragma

        path = self.profile.db_path

        def do(conn: Conn) -> None:
            conn.execute(key_pragma(new_key).replace("PRAGMA key", "PRAGMA rekey", 1))
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            self._key = new_key
            reached("rekeyed")
            if not checkpoint_truncate(conn, path):
                raise KeyChangeUnfinished(detail="the WAL could not be checkpointed after rekey")
            reached("checkpointed")
            problems = main_file_problems(path, new_key)
            if problems:
                raise KeyChangeUnfinished(
                    detail=f"{len(problems)} pages of the main file do not verify after rekey"
                )
            reached("verified")

        return self.run(do)

    def integrity_check(self) -> CheckResult:
        """Full page-by-page check on a separate read-only connection.

        The WAL is checkpointed first, on the DB thread; a failure is confirmed by a second
        full check before it is reported (a checkpoint writing a page while the check reads
        it must not be called damage).  Kept WAL copies not yet reported are in
        ``wal_losses``.  Blocks for as long as reading the whole file takes; call from a
        worker thread (not the DB thread, which stays free for the app meanwhile).
        """
        key = self._key
        if key is None:
            raise RuntimeError("vault is not open")

        def settle_wal() -> bool:
            return self.checkpoint().result()

        result = run_checks(self.profile, key, settle_wal=settle_wal)
        if not result.ok:
            result = run_checks(self.profile, key, settle_wal=settle_wal)
        result.wal_losses = wal.take_unreported(self.profile.db_path)
        return result

    def checkpoint(self) -> Future[bool]:
        """Checkpoint the WAL into the main file and truncate it; True if it is empty."""
        return self.run(lambda conn: checkpoint_truncate(conn, self.profile.db_path))

    # WAL kept empty at rest -----------------------------------------------------------
    def _wal_housekeeping(self) -> None:
        """After a commit (DB thread): truncate a large WAL soon, or arm the idle timer.

        The checkpoint is a job of its own, queued behind the write whose future has
        resolved already, so no caller waits for it.
        """
        self._last_write = time.monotonic()
        size = wal.size(self.profile.db_path)
        if size == 0:
            return
        if size > WAL_TRUNCATE_BYTES:
            self._queue_checkpoint()
            return
        with self._timer_lock:
            if self._idle_timer is None and not self._closed:
                self._arm_idle_timer(IDLE_CHECKPOINT_SECONDS)

    def _arm_idle_timer(self, delay: float) -> None:
        timer = threading.Timer(delay, self._idle)
        timer.daemon = True
        timer.name = "muttefik-db-idle"
        self._idle_timer = timer
        timer.start()

    def _idle(self) -> None:
        with self._timer_lock:
            self._idle_timer = None
            if self._closed:
                return
            quiet_for = time.monotonic() - self._last_write
            if quiet_for < IDLE_CHECKPOINT_SECONDS:
                self._arm_idle_timer(IDLE_CHECKPOINT_SECONDS - quiet_for)
                return
        self._queue_checkpoint()

    def _queue_checkpoint(self) -> None:
        def job(conn_holder: Vault) -> None:
            if conn_holder._conn is None:
                return
            try:
                # One attempt without waiting: a reader (the background check) may hold the
                # WAL; the next write tries again.
                checkpoint_truncate(
                    conn_holder._conn, conn_holder.profile.db_path, attempts=1, wait_ms=0
                )
            except Exception:
                log.warning("background checkpoint failed", exc_info=True)

        with contextlib.suppress(RuntimeError):  # shut down meanwhile
            self._executor.submit(job, self)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._timer_lock:
            if self._idle_timer is not None:
                self._idle_timer.cancel()
                self._idle_timer = None

        def shut(conn_holder: Vault) -> None:
            if conn_holder._conn is not None:
                try:
                    conn_holder._conn.execute("PRAGMA optimize")
                    # Leave the WAL empty: everything in the main file, nothing to replay.
                    if not checkpoint_truncate(conn_holder._conn, conn_holder.profile.db_path):
                        log.warning("the WAL could not be emptied at close")
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
