"""``PrivacyService``: the PII purge run (the scheduled job's, "Purge now", ``muttefik
purge``), its records and the state of the buyer PII still held.

A run (:meth:`PrivacyService.purge`):

1. checks the caller (``purge_pii``: the system and admins) and records the run in
   ``privacy_runs`` as ``running`` (a run left ``running`` by a killed process is marked
   failed first: the next run finishes its work);
2. deletes the reprint cache's expired labels;
3. erases expired threads in batches (:data:`BATCH_SIZE`), each batch one write
   transaction on the DB thread (so a cancel or a crash never leaves half a batch, and
   the inbox's reads get the DB thread between batches), publishing ``ThreadsChanged``
   after each commit; the job's cancel event is checked between batches;
   a run of :data:`BULK_THRESHOLD` threads or more re-writes the search index without
   ``secure-delete`` inside each batch and merges the index at the end, in short steps
   (``merge``, as ``optimize`` would at once); a run after one that did not end merges
   it too;
4. runs the audit log's retention (``AuditLog.purge_expired``) in its own write;
5. records the end (done / cancelled / failed, counts, error) and audits the run with
   counts only (``pii_purged``); then checkpoints the WAL (``TRUNCATE``) so the erased
   text leaves the WAL file too.

A dry run reads the same threads and redacts the same way, writes nothing but its run
record, and is not audited.  Nothing here logs buyer text, names or aliases.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from app import access, settings
from app.amazon.orders_repo import from_db_time, to_db_time
from app.audit import MIN_RETENTION_MONTHS, AuditLog, define_action, format_time, months_before
from app.auth.models import Actor
from app.auth.rbac import Permission
from app.clock import Clock
from app.errors import OperationCancelled, UserError
from app.jobs import Job, JobHost
from app.notices import Notices, ThreadsChanged
from app.privacy import purge as purging
from app.privacy import retention
from app.privacy.models import PiiAge, PurgeCounts, PurgeRun, RunKind, RunState
from app.vault import Vault

log = logging.getLogger("muttefik.privacy")

Conn = Any

#: Threads per batch (one write transaction each; about 80 ms on the DB thread, so the
#: inbox's reads get their turn between batches: bench/purge.py).
BATCH_SIZE = 50
#: From this many expired threads a run is a bulk run: its batches re-write the search
#: index without ``secure-delete`` (which costs milliseconds per message, growing with
#: the index: measured in bench/purge.py) and the run ends by merging the index in short
#: steps, which drops every deleted entry.
BULK_THRESHOLD = 1000

#: The audit entry of a purge run: its state and counts per kind, never text or ids of
#: buyers.
PII_PURGED = define_action(
    "pii_purged",
    "run",
    "state",
    "as_of",
    *PurgeCounts().as_dict(),
    label="Buyer data erased (retention)",
)


class PurgeRunning(UserError):
    title = "Purge already running"
    message = (
        "The privacy purge is already running. It erases the same data; wait for it to finish."
    )


class PrivacyStatus(NamedTuple):
    """What the privacy view shows of the purge: the last run (None: never ran), when
    the next one is due (None: not scheduled in this process), and the PII held."""

    last_run: PurgeRun | None
    next_due: datetime | None
    pii_age: PiiAge


class _Tally:
    """A run's counts so far (a worker's, one run)."""

    def __init__(self) -> None:
        self.counts = PurgeCounts()

    def add(self, more: PurgeCounts) -> None:
        self.counts = purging.add(self.counts, more)


_RUN_COLUMNS = "id, kind, started_at, as_of, state, dry_run, finished_at, counts, error"


def _run(r: Sequence[Any]) -> PurgeRun:
    started, as_of = from_db_time(r[2]), from_db_time(r[3])
    assert started is not None and as_of is not None
    try:
        counts = PurgeCounts(**{k: int(v) for k, v in json.loads(r[7] or "{}").items()})
    except (TypeError, ValueError):
        counts = PurgeCounts()
    return PurgeRun(
        id=int(r[0]),
        kind=RunKind(r[1]),
        started_at=started,
        as_of=as_of,
        state=RunState(r[4]),
        dry_run=bool(r[5]),
        finished_at=from_db_time(r[6]),
        counts=counts,
        error=r[8],
    )


def load_run(conn: Conn, run_id: int) -> PurgeRun | None:
    r = conn.execute(f"SELECT {_RUN_COLUMNS} FROM privacy_runs WHERE id = ?", (run_id,)).fetchone()
    return None if r is None else _run(r)


class PrivacyService:
    """The purge and its records.  See the module docstring."""

    def __init__(
        self,
        *,
        vault: Vault,
        clock: Clock,
        notices: Notices,
        audit: AuditLog,
        jobs: JobHost | None = None,
        batch_size: int = BATCH_SIZE,
        bulk_threshold: int = BULK_THRESHOLD,
    ) -> None:
        self.vault = vault
        self.clock = clock
        self.notices = notices
        self.audit = audit
        self.jobs = jobs
        self.batch_size = batch_size
        self.bulk_threshold = bulk_threshold
        self._running = threading.Lock()
        #: When the scheduled purge runs next (set by ``PurgeJob``); None: not scheduled.
        self.next_scheduled: Callable[[], datetime | None] = lambda: None

    # --- the run --------------------------------------------------------------------

    def purge(
        self,
        actor: Actor,
        *,
        as_of: datetime | None = None,
        dry_run: bool = False,
        job: Job | None = None,
    ) -> PurgeRun:
        """Apply the retention policy as of ``as_of`` (default now).  Blocks (a worker or
        the CLI).  Returns the recorded run: done, or cancelled (``job`` cancelled
        between batches); a failure is recorded, then raised."""
        if not self._running.acquire(blocking=False):
            raise PurgeRunning()
        try:
            return self._purge(actor, as_of, dry_run, job or Job())
        finally:
            self._running.release()

    def _purge(self, actor: Actor, as_of: datetime | None, dry_run: bool, job: Job) -> PurgeRun:
        started = self.clock.now()
        moment = as_of or started

        def begin(conn: Conn) -> tuple[Actor, int, int, bool]:
            caller = access.current(conn, actor, Permission.PURGE_PII)
            # The last real run did not end (killed, cancelled, failed): if it was a
            # bulk run, deleted search entries wait for the index merge; this run does it.
            last = conn.execute(
                "SELECT state FROM privacy_runs WHERE kind = 'purge' AND dry_run = 0 "
                "ORDER BY id DESC LIMIT 1"
            ).fetchone()
            heal = last is not None and last[0] != RunState.DONE
            conn.execute(
                "UPDATE privacy_runs SET state = 'failed', finished_at = ?, "
                "error = 'interrupted' WHERE state = 'running'",
                (to_db_time(started),),
            )
            days = settings.get(conn, settings.PII_RETENTION_DAYS)
            run_id = conn.execute(
                "INSERT INTO privacy_runs(kind, started_at, as_of, dry_run, state) "
                "VALUES ('purge', ?, ?, ?, 'running')",
                (to_db_time(started), to_db_time(moment), int(dry_run)),
            ).lastrowid
            return caller, days, int(run_id), heal

        caller, days, run_id, heal = self.vault.call_write(begin)
        tally = _Tally()
        state, error = RunState.DONE, None
        failure: BaseException | None = None
        try:
            self._erase(actor, run_id, moment, days, dry_run, job, tally, heal=heal)
        except OperationCancelled:
            state = RunState.CANCELLED
        except Exception as exc:
            state, failure = RunState.FAILED, exc
            error = exc.title if isinstance(exc, UserError) else type(exc).__name__
            log.error("purge run %d failed: %s", run_id, error, exc_info=exc)
        counts = tally.counts
        run = self._finish(caller, run_id, state, counts, error, moment, dry_run)
        log.info(
            "purge run %d %s%s: %s",
            run_id,
            state,
            " (dry run)" if dry_run else "",
            " ".join(f"{k}={v}" for k, v in counts.as_dict().items() if v),
        )
        if failure is not None:
            raise failure
        return run

    def _erase(
        self,
        actor: Actor,
        run_id: int,
        as_of: datetime,
        days: int,
        dry_run: bool,
        job: Job,
        tally: _Tally,
        *,
        heal: bool = False,
    ) -> None:
        """The run's steps; ``tally`` holds what committed so far (a cancel or a
        failure keeps it)."""
        job.check()
        if dry_run:
            cache = self.vault.call(
                lambda conn: purging.purge_label_cache(conn, as_of=as_of, dry_run=True)
            )
        else:
            cache = self.vault.call_write(
                lambda conn: purging.purge_label_cache(conn, as_of=as_of, dry_run=False)
            )
        tally.add(PurgeCounts(label_cache=cache))
        total = self.vault.call(lambda conn: retention.pii_age(conn, as_of, days).overdue)
        bulk = not dry_run and total >= self.bulk_threshold
        cursor = 0
        while True:
            job.check()
            done = self._batch(actor, run_id, as_of, days, dry_run, cursor, tally.counts, bulk=bulk)
            if done is None:
                break
            cursor, tally.counts = done
            job.progress(tally.counts.threads, total, "")
        job.check()
        if not dry_run and (bulk or heal):
            # The merge in steps of one short transaction each, so the inbox's reads get
            # the DB thread between them; a cancel here leaves the run unfinished and the
            # next run merges again (``heal``).
            while self.vault.call_write(purging.merge_search_index_step):
                job.check()
        if dry_run:
            removed = self.vault.call(self._audit_expired_count)
        else:
            removed = self.vault.call_write(self._audit_retention(actor))
        tally.add(PurgeCounts(audit_entries=removed))

    def _batch(
        self,
        actor: Actor,
        run_id: int,
        as_of: datetime,
        days: int,
        dry_run: bool,
        cursor: int,
        before: PurgeCounts,
        *,
        bulk: bool = False,
    ) -> tuple[int, PurgeCounts] | None:
        """One batch in one transaction: (the last thread id, the run's counts so far),
        or None when no expired thread is left."""

        def work(conn: Conn) -> tuple[int, PurgeCounts] | None:
            access.current(conn, actor, Permission.PURGE_PII)
            ids = retention.expired_thread_ids(conn, as_of, days, self.batch_size, after_id=cursor)
            if not ids:
                return None
            if bulk:
                purging.search_secure_delete(conn, False)
            batch = purging.purge_batch(
                conn, ids, as_of=as_of, dry_run=dry_run, now=self.clock.now()
            )
            if bulk:
                purging.search_secure_delete(conn, True)
            counts = purging.add(before, batch)
            if not dry_run:
                conn.execute(
                    "UPDATE privacy_runs SET counts = ? WHERE id = ?",
                    (json.dumps(counts.as_dict()), run_id),
                )
                stores = frozenset(
                    int(r[0])
                    for r in conn.execute(
                        f"SELECT DISTINCT store_id FROM threads WHERE id IN "
                        f"({','.join('?' * len(ids))})",
                        ids,
                    )
                )
                self.notices.after_commit(
                    self.vault, ThreadsChanged(store_ids=stores, thread_ids=tuple(ids))
                )
            return ids[-1], counts

        return self.vault.call(work) if dry_run else self.vault.call_write(work)

    def _audit_retention(self, actor: Actor) -> Callable[[Conn], int]:
        def write(conn: Conn) -> int:
            caller = access.current(conn, actor, Permission.PURGE_PII)
            return self.audit.purge_expired(conn, actor_id=access.audit_actor_id(caller))

        return write

    def _audit_expired_count(self, conn: Conn) -> int:
        """How many audit entries the audit log's retention would remove now."""
        months = max(settings.get(conn, settings.AUDIT_RETENTION_MONTHS), MIN_RETENTION_MONTHS)
        cutoff = format_time(months_before(self.clock.now(), months))
        return int(
            conn.execute("SELECT count(*) FROM audit_log WHERE at < ?", (cutoff,)).fetchone()[0]
        )

    def _finish(
        self,
        caller: Actor,
        run_id: int,
        state: RunState,
        counts: PurgeCounts,
        error: str | None,
        as_of: datetime,
        dry_run: bool,
    ) -> PurgeRun:
        def write(conn: Conn) -> PurgeRun:
            conn.execute(
                "UPDATE privacy_runs SET state = ?, finished_at = ?, counts = ?, error = ? "
                "WHERE id = ?",
                (
                    str(state),
                    to_db_time(self.clock.now()),
                    json.dumps(counts.as_dict()),
                    error,
                    run_id,
                ),
            )
            if not dry_run:
                self.audit.append(
                    conn,
                    actor_id=access.audit_actor_id(caller),
                    action=PII_PURGED,
                    object_type="privacy_run",
                    object_id=run_id,
                    details={
                        "run": run_id,
                        "state": str(state),
                        "as_of": to_db_time(as_of),
                        **counts.as_dict(),
                    },
                )
            run = load_run(conn, run_id)
            assert run is not None
            return run

        run = self.vault.call_write(write)
        if not dry_run:
            # The erased text leaves the WAL file too (secure_delete zeroes the pages).
            self.vault.checkpoint().result()
        return run

    # --- reads ----------------------------------------------------------------------

    def status(self, actor: Actor) -> Future[PrivacyStatus]:
        """The last purge run, when the next is due, and the buyer PII held by age."""
        now = self.clock.now()

        def read(conn: Conn) -> PrivacyStatus:
            access.current(conn, actor, Permission.MANAGE_PRIVACY)
            days = settings.get(conn, settings.PII_RETENTION_DAYS)
            r = conn.execute(
                f"SELECT {_RUN_COLUMNS} FROM privacy_runs WHERE kind = 'purge' AND dry_run = 0 "
                "ORDER BY started_at DESC, id DESC LIMIT 1"
            ).fetchone()
            last = None if r is None else _run(r)
            next_due = self.next_scheduled()
            if next_due is None and last is not None and last.finished_at is not None:
                minutes = settings.get(conn, settings.PURGE_INTERVAL_MINUTES)
                next_due = last.finished_at + timedelta(minutes=minutes)
            return PrivacyStatus(last, next_due, retention.pii_age(conn, now, days))

        return self.vault.run(read)

    def runs(self, actor: Actor, limit: int = 50) -> Future[list[PurgeRun]]:
        """The newest purge and erase runs, newest first."""

        def read(conn: Conn) -> list[PurgeRun]:
            access.current(conn, actor, Permission.MANAGE_PRIVACY)
            rows = conn.execute(
                f"SELECT {_RUN_COLUMNS} FROM privacy_runs ORDER BY started_at DESC, id DESC "
                "LIMIT ?",
                (limit,),
            ).fetchall()
            return [_run(r) for r in rows]

        return self.vault.run(read)


__all__ = ["BATCH_SIZE", "PII_PURGED", "PrivacyService", "PrivacyStatus", "PurgeRunning"]
