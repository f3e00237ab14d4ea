"""Order history through Amazon's order reports (issue 15): :class:`HistoryService`.

``searchOrders`` gives one page every ~180 s after a burst of 20, so 10,000 orders of
history take hours.  Amazon's Reports API gives the same history as one flat file per
date range (``GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL``, by purchase date: the
ranges do not overlap, each order is in exactly one).  A load (:meth:`HistoryService.load`):

1. plans the window (``sync.backfill_days``, at most two years) as ranges of at most
   :data:`~app.amazon.spapi.reports.MAX_RANGE` (a longer one ends FATAL), newest first,
   recorded in ``history_ranges`` (v0014) so a load resumes after a restart from the last
   finished range and polls a report already requested instead of asking again;
2. asks for every range's report at once (createReport; Amazon prepares them side by
   side), then polls getReport with a growing interval until each is DONE, CANCELLED
   (Amazon's answer for a range without orders, too) or FATAL (its error document says
   why; such a range is asked for once more, then the load fails with Amazon's words);
3. downloads each document within its link's minutes of validity (an expired link or a
   cut download is asked for again), reads it row by row with the address columns
   dropped (:mod:`app.amazon.report_rows`) and stores its orders marked
   ``details_pending`` (a report never replaces what the Orders API wrote; the sync, or a
   getOrder for an order opened or written about, fills in packages and windows).

Every request goes through the store's rate buckets and the sync's retries
(:meth:`SyncService.call_amazon`).  Progress (``HistoryProgressed``) after every step,
with an ETA once a first report is done; cancel between steps; audited with counts only.

Thread: :meth:`load` blocks (a worker on the long lane, or the CLI); :meth:`start`
submits it to the job host; :meth:`state` is a Future of one DB hop.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from app import access, settings
from app.amazon import orders_repo
from app.amazon.models import HistoryProgress
from app.amazon.orders_repo import from_db_time, to_db_time
from app.amazon.report_rows import read_report
from app.amazon.spapi.reports import (
    CREATE_REPORT,
    GET_REPORT,
    GET_REPORT_DOCUMENT,
    MAX_RANGE,
    DocumentUrlExpired,
    ProcessingStatus,
    Report,
    ReportNotFound,
    ReportsApi,
    ReportsFactory,
)
from app.amazon.stores import StoreService, load_store, read_credentials
from app.amazon.sync import SyncService
from app.audit import AuditLog, define_action
from app.auth.models import Actor
from app.auth.rbac import Permission
from app.clock import Clock
from app.errors import AmazonBadResponse, AmazonError, OperationCancelled, UserError
from app.jobs import Job, JobHost, Lane
from app.notices import HistoryFinished, HistoryProgressed, Notices, OrdersChanged
from app.vault import Vault

log = logging.getLogger("muttefik.sync")

Conn = Any

#: The history is complete up to this long before the load starts (Amazon's reports
#: lag a little behind; the regular sync has the newest orders anyway).
_UNTIL_LAG = timedelta(minutes=2)
#: A FATAL report is asked for once more before the load gives up.
_ATTEMPTS = 2
#: Downloads of one document (an expired link or a cut download is fetched again).
_DOWNLOADS = 3

HISTORY_LOADED = define_action(
    "order_history_loaded",
    "state",
    "days",
    "orders",
    "ranges",
    "empty_ranges",
    label="Order history loaded from Amazon's reports",
)


class HistoryRunning(UserError):
    title = "Order history already loading"
    message = "The order history of this store is loading already. It shows in the status bar."


class HistoryReportFailed(AmazonError):
    title = "Amazon could not make the order report"
    message = (
        "Amazon could not make the order report for {range}: {reason} "
        "Try loading the order history again later."
    )

    def __init__(self, period: str, reason: str, *, detail: str | None = None) -> None:
        super().__init__(self.message.format(range=period, reason=reason), detail=detail)


@dataclass(frozen=True)
class HistoryRange:
    start: datetime
    end: datetime
    state: str  # pending | requested | done | empty
    orders: int = 0


@dataclass(frozen=True)
class HistoryState:
    """One store's history load as recorded (the status bar and the CLI show it)."""

    store_id: int
    since: datetime
    until: datetime
    state: str  # running | done | cancelled | failed
    started_at: datetime
    finished_at: datetime | None
    orders: int
    error: str | None
    ranges: tuple[HistoryRange, ...]

    @property
    def ranges_done(self) -> int:
        return sum(r.state in ("done", "empty") for r in self.ranges)


def plan_ranges(since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    """``[since, until)`` as ranges of at most :data:`MAX_RANGE`, newest first."""
    out = []
    end = until
    while end > since:
        start = max(since, end - MAX_RANGE)
        out.append((start, end))
        end = start
    return out


def _period(start: datetime, end: datetime) -> str:
    return f"{start:%d %b %Y} to {end:%d %b %Y}"


class _Load:
    """One running load's bookkeeping (a worker's)."""

    def __init__(self, store_id: int, ranges: list[dict[str, Any]], orders: int) -> None:
        self.store_id = store_id
        self.ranges = ranges  # dicts: start, end, state, report_id, attempts, orders, asked
        self.orders = orders
        self.new_orders = 0
        self.durations: list[float] = []  # seconds from request to DONE

    @property
    def done(self) -> int:
        return sum(r["state"] in ("done", "empty") for r in self.ranges)

    def open(self, state: str) -> list[dict[str, Any]]:
        return [r for r in self.ranges if r["state"] == state]


class HistoryService:
    """See the module docstring."""

    def __init__(
        self,
        *,
        vault: Vault,
        clock: Clock,
        notices: Notices,
        audit: AuditLog,
        stores: StoreService,
        sync: SyncService,
        client_factory: ReportsFactory,
        jobs: JobHost | None = None,
        poll_seconds: float = 2.0,
        poll_max_seconds: float = 60.0,
    ) -> None:
        self.vault = vault
        self.clock = clock
        self.notices = notices
        self.audit = audit
        self.stores = stores
        self.sync = sync
        self.client_factory = client_factory
        self.jobs = jobs
        self.poll_seconds = poll_seconds
        self.poll_max_seconds = poll_max_seconds
        self._guard = threading.Lock()
        self._running: dict[int, Job] = {}

    # --- starting, cancelling ----------------------------------------------------------

    def is_running(self, store_id: int) -> bool:
        with self._guard:
            return store_id in self._running

    def start(self, actor: Actor, store_id: int, days: int | None = None) -> Future[HistoryState]:
        """Load the history in the background (the long lane); progress and the end are
        published as notices.  Raises :class:`HistoryRunning`."""
        if self.jobs is None:
            raise RuntimeError("no job host")
        job = Job()
        self._claim(store_id, job)
        try:
            return self.jobs.submit(
                Lane.LONG, lambda j: self._load_claimed(actor, store_id, days, j), job
            )
        except BaseException:
            self._release(store_id)
            raise

    def cancel(self, store_id: int) -> bool:
        """Stop a running load between steps (it can be resumed).  False: none runs."""
        with self._guard:
            job = self._running.get(store_id)
        if job is None:
            return False
        job.cancel.set()
        return True

    def resume_unfinished(self) -> list[int]:
        """Start again, as the system, every load a closed or killed app left running
        (app start).  Returns the stores whose load started."""
        if self.jobs is None:
            return []
        ids = self.vault.call(
            lambda conn: [
                int(r[0])
                for r in conn.execute("SELECT store_id FROM history_loads WHERE state = 'running'")
            ]
        )
        started = []
        for store_id in ids:
            try:
                self.start(access.SYSTEM, store_id)
            except HistoryRunning:
                continue
            started.append(store_id)
        return started

    def _claim(self, store_id: int, job: Job) -> None:
        with self._guard:
            if store_id in self._running:
                raise HistoryRunning()
            self._running[store_id] = job

    def _release(self, store_id: int) -> None:
        with self._guard:
            self._running.pop(store_id, None)

    # --- reads ------------------------------------------------------------------------

    def state(self, actor: Actor, store_id: int) -> Future[HistoryState | None]:
        """The store's last history load, or None if it never had one."""

        def read(conn: Conn) -> HistoryState | None:
            access.current(conn, actor, Permission.VIEW_STORE, store_id=store_id)
            return _load_state(conn, store_id)

        return self.vault.run(read)

    # --- the load ---------------------------------------------------------------------

    def load(
        self, actor: Actor, store_id: int, days: int | None = None, *, job: Job | None = None
    ) -> HistoryState:
        """Load (or resume) the store's order history; blocks.  ``days`` None: resume an
        unfinished load, else the ``sync.backfill_days`` setting.  A cancel (``job``)
        ends it as ``cancelled`` (resumable); a failure is recorded, then raised."""
        job = job or Job()
        self._claim(store_id, job)
        return self._load_claimed(actor, store_id, days, job)

    def _load_claimed(
        self, actor: Actor, store_id: int, days: int | None, job: Job
    ) -> HistoryState:
        try:
            return self._load(actor, store_id, days, job)
        finally:
            self._release(store_id)

    def _load(self, actor: Actor, store_id: int, days: int | None, job: Job) -> HistoryState:
        now = self.clock.now()
        caller, load, store_days = self.vault.call_write(
            lambda conn: self._prepare(conn, actor, store_id, days, now)
        )
        state, error = "done", None
        failure: BaseException | None = None
        try:
            self._connect_and_run(store_id, load, job)
        except OperationCancelled:
            state = "cancelled"
        except UserError as exc:
            state, error, failure = "failed", exc.title, exc
            log.warning("history load of store %d failed: %s", store_id, exc.title)
        except Exception as exc:
            state, error, failure = "failed", "Müttefik Desk hit a bug", exc
            log.exception("history load of store %d crashed", store_id)
        result = self._finish(caller, load, state, error, store_days)
        self.notices.publish(HistoryFinished(store_id, state, load.orders, _words(failure)))
        if failure is not None:
            raise failure
        return result

    def _connect_and_run(self, store_id: int, load: _Load, job: Job) -> None:
        store = self.vault.call(lambda conn: load_store(conn, store_id))
        if store is None:
            raise HistoryReportFailed("this store", "the store no longer exists.")
        client = self.client_factory(store, read_credentials(self.stores.secrets, store_id))
        try:
            self._run(client, store.marketplace_ids, load, job)
        finally:
            client.close()

    def _prepare(
        self, conn: Conn, actor: Actor, store_id: int, days: int | None, now: datetime
    ) -> tuple[Actor, _Load, int]:
        caller = access.current(conn, actor, Permission.SYNC_ORDERS, store_id=store_id)
        if load_store(conn, store_id) is None:
            raise HistoryReportFailed("this store", "the store no longer exists.")
        row = conn.execute(
            "SELECT since, until, state, orders FROM history_loads WHERE store_id = ?",
            (store_id,),
        ).fetchone()
        started = to_db_time(now)
        if days is None and row is not None and row[2] != "done":
            # Resume: the ranges keep their states and report ids.
            conn.execute(
                "UPDATE history_loads SET state = 'running', error = NULL, finished_at = NULL "
                "WHERE store_id = ?",
                (store_id,),
            )
            since, until = from_db_time(row[0]), from_db_time(row[1])
            assert since is not None and until is not None
            total_days = max(1, round((until - since) / timedelta(days=1)))
            orders = int(row[3])
        else:
            total_days = days or settings.get(conn, settings.SYNC_BACKFILL_DAYS)
            total_days = max(1, min(int(total_days), settings.SYNC_BACKFILL_DAYS.maximum or 730))
            until = now - _UNTIL_LAG
            since = until - timedelta(days=total_days)
            conn.execute("DELETE FROM history_ranges WHERE store_id = ?", (store_id,))
            conn.execute(
                "INSERT INTO history_loads(store_id, since, until, state, started_at, orders) "
                "VALUES (?, ?, ?, 'running', ?, 0) ON CONFLICT(store_id) DO UPDATE SET "
                "since = excluded.since, until = excluded.until, state = 'running', "
                "started_at = excluded.started_at, finished_at = NULL, orders = 0, error = NULL",
                (store_id, to_db_time(since), to_db_time(until), started),
            )
            conn.executemany(
                "INSERT INTO history_ranges(store_id, range_start, range_end) VALUES (?, ?, ?)",
                [(store_id, to_db_time(a), to_db_time(b)) for a, b in plan_ranges(since, until)],
            )
            orders = 0
        ranges = [
            {
                "start": from_db_time(r[0]),
                "end": from_db_time(r[1]),
                "state": r[2],
                "report_id": r[3],
                "attempts": int(r[4]),
                "orders": int(r[5]),
                "asked": None,
            }
            for r in conn.execute(
                "SELECT range_start, range_end, state, report_id, attempts, orders "
                "FROM history_ranges WHERE store_id = ? ORDER BY range_start DESC",
                (store_id,),
            )
        ]
        return caller, _Load(store_id, ranges, orders), total_days

    def _run(
        self, client: ReportsApi, marketplaces: tuple[str, ...], load: _Load, job: Job
    ) -> None:
        cancel = job.cancel

        def call(operation: str, fn: Callable[[], Any]) -> Any:
            job.check()
            return self.sync.call_amazon(load.store_id, operation, cancel, fn)

        self._report(load, job, "Asking Amazon for the order reports…")
        for r in load.open("pending"):
            self._request(client, load, r, call, marketplaces)
        interval = self.poll_seconds
        while load.open("requested"):
            progressed = False
            for r in load.open("requested"):
                try:
                    report: Report = call(GET_REPORT, partial(client.get_report, r["report_id"]))
                except ReportNotFound:
                    # Amazon keeps reports for 90 days: a load resumed later asks again.
                    log.info("order report of store %d is gone; asking again", load.store_id)
                    self._request(client, load, r, call, marketplaces)
                    progressed = True
                    continue
                if report.status is ProcessingStatus.DONE and report.document_id:
                    self._store_document(client, load, r, report.document_id, call, job)
                    progressed = True
                elif report.status is ProcessingStatus.CANCELLED or (
                    report.status is ProcessingStatus.DONE
                ):
                    self._range_done(load, r, "empty", [])
                    progressed = True
                elif report.status is ProcessingStatus.FATAL:
                    reason = self._fatal_reason(client, report, call)
                    log.warning(
                        "order report %s of store %d ended FATAL", r["report_id"], load.store_id
                    )
                    if r["attempts"] >= _ATTEMPTS:
                        raise HistoryReportFailed(
                            _period(r["start"], r["end"]), reason, detail="report FATAL twice"
                        )
                    self._request(client, load, r, call, marketplaces)
                    progressed = True
                self._report(load, job, "Amazon is preparing the order reports…")
            if not load.open("requested"):
                break
            interval = (
                self.poll_seconds if progressed else min(interval * 1.5, self.poll_max_seconds)
            )
            if self.sync.waiter(cancel, interval):
                raise OperationCancelled()

    def _request(
        self,
        client: ReportsApi,
        load: _Load,
        r: dict[str, Any],
        call: Callable[[str, Callable[[], Any]], Any],
        marketplaces: tuple[str, ...],
    ) -> None:
        report_id, _rate = call(
            CREATE_REPORT, lambda: client.create_report(marketplaces, r["start"], r["end"])
        )
        r.update(state="requested", report_id=report_id, attempts=r["attempts"] + 1)
        r["asked"] = self.clock.monotonic()
        self.vault.call_write(
            lambda conn: conn.execute(
                "UPDATE history_ranges SET state = 'requested', report_id = ?, attempts = ? "
                "WHERE store_id = ? AND range_start = ?",
                (report_id, r["attempts"], load.store_id, to_db_time(r["start"])),
            )
        )

    def _store_document(
        self,
        client: ReportsApi,
        load: _Load,
        r: dict[str, Any],
        document_id: str,
        call: Callable[[str, Callable[[], Any]], Any],
        job: Job,
    ) -> None:
        self._report(load, job, "Reading the order reports…")
        failure: BaseException | None = None
        for _attempt in range(_DOWNLOADS):
            document = call(GET_REPORT_DOCUMENT, lambda: client.get_report_document(document_id))
            job.check()
            try:
                with client.open_document(document) as stream:
                    read = read_report(
                        stream.chunks,
                        compression=document.compression,
                        charset=stream.charset,
                        store_id=load.store_id,
                        now=self.clock.now(),
                    )
            except (DocumentUrlExpired, AmazonBadResponse) as exc:
                failure = exc
                log.warning(
                    "order report document %s of store %d not read (%s); asking again",
                    document_id,
                    load.store_id,
                    exc.title,
                )
                continue
            orders = read.orders  # details_pending: the reader marks them
            if r["asked"] is not None:
                load.durations.append(self.clock.monotonic() - r["asked"])
            self._range_done(load, r, "done", orders, skipped=read.skipped)
            return
        assert failure is not None
        raise failure

    def _range_done(
        self, load: _Load, r: dict[str, Any], state: str, orders: list[Any], skipped: int = 0
    ) -> None:
        now = self.clock.now()

        def write(conn: Conn) -> orders_repo.UpsertStats:
            stats = orders_repo.upsert_orders(conn, orders, now=now)
            conn.execute(
                "UPDATE history_ranges SET state = ?, orders = ? WHERE store_id = ? "
                "AND range_start = ?",
                (state, len(orders), load.store_id, to_db_time(r["start"])),
            )
            conn.execute(
                "UPDATE history_loads SET orders = orders + ? WHERE store_id = ?",
                (len(orders), load.store_id),
            )
            if stats.written:
                self.notices.after_commit(
                    self.vault,
                    OrdersChanged(frozenset({load.store_id}), tuple(stats.ids), stats.new),
                )
            return stats

        stats = self.vault.call_write(write)
        r.update(state=state, orders=len(orders))
        load.orders += len(orders)
        load.new_orders += stats.new
        log.info(
            "order report range of store %d: %s, %d orders (%d new, %d kept as newer), "
            "%d rows left out",
            load.store_id,
            state,
            len(orders),
            stats.new,
            stats.stale,
            skipped,
        )

    def _fatal_reason(
        self, client: ReportsApi, report: Report, call: Callable[[str, Callable[[], Any]], Any]
    ) -> str:
        """Amazon's error document, in its words (short), or a general reason."""
        general = "Amazon gave no reason."
        if not report.document_id:
            return general
        try:
            document = call(
                GET_REPORT_DOCUMENT, lambda: client.get_report_document(report.document_id or "")
            )
            with client.open_document(document) as stream:
                data = b"".join(stream.chunks)
        except (UserError, OSError) as exc:
            # The type only: a download error could name the document's link.
            log.info(
                "the error document of report %s was not read (%s)",
                report.report_id,
                type(exc).__name__,
            )
            return general
        if document.compression == "GZIP":
            import gzip

            try:
                data = gzip.decompress(data)
            except (OSError, EOFError):
                return general
        text = data.decode("utf-8", "replace")
        try:  # Amazon's error documents are JSON: {"errorDetails": "..."}
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and isinstance(parsed.get("errorDetails"), str):
            text = parsed["errorDetails"]
        text = " ".join(text.split())[:300]
        if text and text[-1] not in ".!?":
            text += "."
        return text or general

    # --- bookkeeping ------------------------------------------------------------------

    def _report(self, load: _Load, job: Job, message: str) -> None:
        progress = HistoryProgress(
            load.store_id, load.done, len(load.ranges), load.orders, self._eta(load), message
        )
        job.progress(load.done, len(load.ranges), message)
        self.notices.publish(HistoryProgressed(progress))

    def _eta(self, load: _Load) -> float | None:
        """Seconds left: the slowest open range's expected end (Amazon's preparation
        time as measured so far), plus the downloads the document bucket allows."""
        if not load.durations:
            return None
        typical = sorted(load.durations)[len(load.durations) // 2]
        now = self.clock.monotonic()
        waits = [
            max(0.0, typical - (now - r["asked"])) if r["asked"] is not None else typical
            for r in load.ranges
            if r["state"] in ("pending", "requested")
        ]
        if not waits:
            return 0.0
        documents = self.sync.limits.bucket(load.store_id, GET_REPORT_DOCUMENT).eta(len(waits))
        return max(waits) + documents

    def _finish(
        self, caller: Actor, load: _Load, state: str, error: str | None, days: int
    ) -> HistoryState:
        now = self.clock.now()

        def write(conn: Conn) -> HistoryState:
            conn.execute(
                "UPDATE history_loads SET state = ?, finished_at = ?, error = ? WHERE store_id = ?",
                (state, to_db_time(now), error, load.store_id),
            )
            self.audit.append(
                conn,
                actor_id=access.audit_actor_id(caller),
                action=HISTORY_LOADED,
                object_type="store",
                object_id=load.store_id,
                details={
                    "state": state,
                    "days": days,
                    "orders": load.orders,
                    "ranges": len(load.ranges),
                    "empty_ranges": sum(r["state"] == "empty" for r in load.ranges),
                },
            )
            found = _load_state(conn, load.store_id)
            assert found is not None
            return found

        return self.vault.call_write(write)


def _words(exc: BaseException | None) -> str | None:
    if exc is None:
        return None
    if isinstance(exc, UserError):
        return exc.message
    return "Müttefik Desk hit a bug while loading the order history. The log has the details."


def _load_state(conn: Conn, store_id: int) -> HistoryState | None:
    r = conn.execute(
        "SELECT since, until, state, started_at, finished_at, orders, error "
        "FROM history_loads WHERE store_id = ?",
        (store_id,),
    ).fetchone()
    if r is None:
        return None
    ranges = tuple(
        HistoryRange(start, end, q[2], int(q[3]))
        for q in conn.execute(
            "SELECT range_start, range_end, state, orders FROM history_ranges "
            "WHERE store_id = ? ORDER BY range_start DESC",
            (store_id,),
        )
        if (start := from_db_time(q[0])) is not None and (end := from_db_time(q[1])) is not None
    )
    since, until, started = from_db_time(r[0]), from_db_time(r[1]), from_db_time(r[3])
    assert since is not None and until is not None and started is not None
    return HistoryState(
        store_id=store_id,
        since=since,
        until=until,
        state=r[2],
        started_at=started,
        finished_at=from_db_time(r[4]),
        orders=int(r[5]),
        error=r[6],
        ranges=ranges,
    )
