"""The job host: every piece of background work runs on one of its lanes.

One :class:`JobHost` lives as long as the open vault (``Core.jobs``, built with the
``Core``, shut down by ``Core.close``).  Work is sorted into lanes so that one kind can
never starve another:

``Lane.QUERY``  short blocking calls started by an operator: a service call that waits
                on the DB thread, Argon2 password hashing at sign-in, a file export.
``Lane.NET``    network calls (bounded: Amazon's rate limits make more pointless).
``Lane.LONG``   jobs that may run for hours: the order sync now; mail polling, AI drafting
                and the purge later.  Periodic jobs run here too.

Reads of the database do not need a lane at all: a service read returns the Future of
``vault.run`` (the DB thread), which the GUI hands to ``ui.ops.when_done``.

A :class:`PeriodicJob` is the one way to run something on a schedule: interval read
from a setting before each wait, "run now", cancel the running round, last run and
error, progress.  Each change of its state is published as a :class:`JobChanged`
notice.  The order sync is the first (``app/amazon/sync_job.py``).

At exit :meth:`JobHost.shutdown` stops the periodic jobs, cancels running long jobs
(their :class:`Job` is cancelled, and they stop between pages), then shuts the lanes
down in order: long, network, query.

Thread: any.  No Qt here.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from app import settings
from app.clock import Clock, SystemClock
from app.errors import OperationCancelled, UserError
from app.notices import Notice, Notices, SettingsChanged
from app.settings import Setting

log = logging.getLogger("muttefik.jobs")

T = TypeVar("T")


class Lane(StrEnum):
    QUERY = "query"
    NET = "net"
    LONG = "long"


#: Workers per lane.  QUERY: a few operator actions at once; NET: bounded; LONG: one
#: thread per concurrent long job (sync, mail, purge, drafting, and some room).
LANE_WORKERS: dict[Lane, int] = {Lane.QUERY: 4, Lane.NET: 4, Lane.LONG: 6}

#: Shutdown order: stop producing long work first, then what it waits on.
SHUTDOWN_ORDER = (Lane.LONG, Lane.NET, Lane.QUERY)


ProgressFn = Callable[[int, int, str], None]


class Job:
    """Handed to the work function: check ``cancelled`` between steps, report progress."""

    def __init__(self, on_progress: ProgressFn | None = None) -> None:
        self.cancel = threading.Event()
        self._on_progress = on_progress

    @property
    def cancelled(self) -> bool:
        return self.cancel.is_set()

    def check(self) -> None:
        """Raise :class:`OperationCancelled` if the job was cancelled."""
        if self.cancel.is_set():
            raise OperationCancelled()

    def progress(self, done: int, total: int = 0, text: str = "") -> None:
        """Thread: worker.  Throttling is the receiver's job."""
        if self._on_progress is not None:
            self._on_progress(done, total, text)


@dataclass(frozen=True)
class JobStatus:
    """A periodic job as the status bar shows it."""

    name: str
    running: bool = False
    interval_seconds: float = 0.0
    last_started: datetime | None = None
    last_finished: datetime | None = None
    #: The seller-facing title of the last round's error (None: it succeeded).
    last_error: str | None = None
    next_run: datetime | None = None
    progress: tuple[int, int, str] | None = None


@dataclass(frozen=True)
class JobChanged(Notice):
    """A periodic job started, progressed, finished or failed."""

    status: JobStatus


class JobHost:
    """One pool per lane; periodic jobs; ordered shutdown."""

    def __init__(
        self,
        *,
        notices: Notices | None = None,
        clock: Clock | None = None,
        workers: dict[Lane, int] | None = None,
    ) -> None:
        self.notices = notices or Notices()
        self.clock = clock or SystemClock()
        sizes = {**LANE_WORKERS, **(workers or {})}
        self._pools = {
            lane: ThreadPoolExecutor(max_workers=sizes[lane], thread_name_prefix=f"muttefik-{lane}")
            for lane in Lane
        }
        self._lock = threading.Lock()
        self._running: set[Job] = set()
        self._periodic: list[PeriodicJob] = []
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once :meth:`shutdown` ran: nothing can be submitted any more."""
        return self._closed

    def pool(self, lane: Lane) -> ThreadPoolExecutor:
        return self._pools[lane]

    def submit(self, lane: Lane, fn: Callable[[Job], T], job: Job | None = None) -> Future[T]:
        """Run ``fn(job)`` on ``lane``; the job is cancelled at shutdown if still running."""
        if self._closed:
            raise RuntimeError("the job host is shut down")
        job = job or Job()

        def tracked() -> T:
            with self._lock:
                self._running.add(job)
            try:
                job.check()
                return fn(job)
            finally:
                with self._lock:
                    self._running.discard(job)

        return self._pools[lane].submit(tracked)

    def call(self, lane: Lane, fn: Callable[[], T]) -> Future[T]:
        """Run ``fn()`` (no job) on ``lane``."""
        return self.submit(lane, lambda _job: fn())

    def add_periodic(self, job: PeriodicJob) -> PeriodicJob:
        """Start ``job``'s schedule on the long lane; stopped at :meth:`shutdown`."""
        with self._lock:
            self._periodic.append(job)
        job._start(self)
        return job

    def remove_periodic(self, job: PeriodicJob, timeout: float = 5.0) -> None:
        with self._lock:
            if job in self._periodic:
                self._periodic.remove(job)
        job.stop(timeout)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop periodic jobs, cancel long jobs, shut lanes down in order (idempotent)."""
        if self._closed:
            return
        self._closed = True
        with self._lock:
            periodic, self._periodic = list(self._periodic), []
            running = list(self._running)
        for p in periodic:
            p.stop(timeout=0)
        for job in running:
            job.cancel.set()
        for p in periodic:
            p.stop(timeout)
        for lane in SHUTDOWN_ORDER:
            self._pools[lane].shutdown(wait=lane is not Lane.QUERY, cancel_futures=True)


class PeriodicJob:
    """``work(job)`` every ``interval()`` seconds, on demand, cancellable.

    ``interval`` is called before each wait, counted from the end of the last round;
    :meth:`reschedule` (e.g. on ``SettingsChanged``) reads it again at once, so a changed
    setting applies to the wait under way.  ``work`` raises :class:`UserError` for a
    failure to show (its title becomes ``last_error``); anything else is logged as a crash
    and shown as such.
    """

    def __init__(
        self,
        name: str,
        work: Callable[[Job], Any],
        *,
        interval: Callable[[], float],
        run_at_start: bool = False,
        fallback_interval: float = 600.0,
    ) -> None:
        self.name = name
        self._work = work
        self._interval = interval
        self._fallback = fallback_interval
        self._wake = threading.Event()  # ends the wait: a run is asked for, or a reschedule
        self._asked = run_at_start  # a round is asked for (guarded by _lock)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._current: Job | None = None
        self._status = JobStatus(name=name)
        self._host: JobHost | None = None
        self._loop_done: Future[None] | None = None
        self._idle = threading.Event()  # set while no round runs
        self._idle.set()
        if run_at_start:
            self._wake.set()

    # --- control (any thread) ---------------------------------------------------------

    def run_now(self) -> None:
        """Start a round as soon as the running one (if any) ends."""
        with self._lock:
            self._asked = True
        self._wake.set()

    def reschedule(self) -> None:
        """Read the interval again now (the setting changed); the next round is due that
        long after the last one ended (at once if that time has passed)."""
        self._wake.set()

    def cancel_current(self) -> None:
        """Cancel the running round (it stops at its next check); the schedule goes on."""
        with self._lock:
            if self._current is not None:
                self._current.cancel.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.cancel_current()
        self._wake.set()
        if self._loop_done is not None and timeout > 0:
            with contextlib.suppress(Exception):
                self._loop_done.result(timeout)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no round runs (e.g. after :meth:`cancel_current`); False on timeout."""
        return self._idle.wait(timeout)

    def status(self) -> JobStatus:
        with self._lock:
            return self._status

    # --- the loop (long lane) -----------------------------------------------------------

    def _start(self, host: JobHost) -> None:
        self._host = host
        self._loop_done = host.call(Lane.LONG, self._loop)

    def _set(self, **changes: Any) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)
            status = self._status
        if self._host is not None:
            self._host.notices.publish(JobChanged(status))

    def _now(self) -> datetime:
        return self._host.clock.now() if self._host is not None else SystemClock().now()

    def _next_interval(self) -> float:
        try:
            return max(1.0, float(self._interval()))
        except Exception:
            log.exception("reading the interval of %s failed", self.name)
            return self._fallback

    def _loop(self) -> None:
        from datetime import timedelta

        last_end = time.monotonic()
        while not self._stop.is_set():
            interval = self._next_interval()
            left = max(0.0, last_end + interval - time.monotonic())
            self._set(interval_seconds=interval, next_run=self._now() + timedelta(seconds=left))
            self._wake.wait(left)
            if self._stop.is_set():
                return
            self._wake.clear()
            with self._lock:
                asked, self._asked = self._asked, False
            if not asked and time.monotonic() < last_end + interval:
                continue  # rescheduled only: wait again with the interval read anew
            self._round()
            last_end = time.monotonic()

    def _round(self) -> None:
        def report(done: int, total: int, text: str) -> None:
            self._set(progress=(done, total, text))

        job = Job(report)
        with self._lock:
            self._current = job
            self._idle.clear()
        self._set(running=True, last_started=self._now(), progress=None, next_run=None)
        error: str | None = None
        try:
            self._work(job)
        except OperationCancelled:
            pass
        except UserError as exc:
            log.info("%s failed: %s", self.name, exc.title)
            error = exc.title
        except Exception:
            log.exception("%s crashed", self.name)
            error = "Something went wrong"
        finally:
            with self._lock:
                self._current = None
        self._set(running=False, last_finished=self._now(), last_error=error, progress=None)
        self._idle.set()


class ScheduledJob:
    """A service's schedule (the order sync, the mail check, the PII purge): its round
    every ``setting`` minutes (read before each wait; a changed setting, announced by
    ``SettingsChanged``, applies to the wait under way) and at once on :meth:`run_now`,
    as a :class:`PeriodicJob` on the long lane.  A subclass gives :meth:`_round` (acting
    as ``access.SYSTEM``) and may add to :meth:`_on_start`; a round over some stores only
    (``run_now(store_id)``) reads which with :meth:`_take_stores`.

    Build with the app's services; :meth:`start` once (the CLI never does).  The control
    methods may be called from any thread."""

    def __init__(self, name: str, *, jobs: JobHost, vault: Any, setting: Setting[int]) -> None:
        self.jobs = jobs
        self._vault = vault
        self._setting = setting
        self._lock = threading.Lock()
        self._started = False
        self._all = False  # a round over every store was asked for
        self._wanted: set[int] = set()  # stores asked for one by one
        self.periodic = PeriodicJob(name, self._round, interval=self._interval)

    def start(self, *, run_now: bool = True) -> None:
        """Begin the schedule (idempotent); ``run_now``: the first round starts at once."""
        with self._lock:
            if self._started:
                return
            self._started = True
        if run_now:
            self.run_now()
        self.jobs.notices.subscribe(SettingsChanged, self._settings_changed)
        self.jobs.add_periodic(self.periodic)
        self._on_start()

    def run_now(self, store_id: int | None = None) -> None:
        """A round (over one store, or all) as soon as the running round, if any, ends."""
        with self._lock:
            if store_id is None:
                self._all = True
            else:
                self._wanted.add(store_id)
        self.periodic.run_now()

    def cancel_current(self) -> None:
        """Cancel the running round at its next check; the schedule goes on."""
        self.periodic.cancel_current()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no round runs; False on timeout."""
        return self.periodic.wait_idle(timeout)

    def status(self) -> JobStatus:
        return self.periodic.status()

    def _on_start(self) -> None:
        """More to begin with the schedule (the mail check's IDLE watchers)."""

    def _take_stores(self) -> frozenset[int] | None:
        """The stores this round was asked for, or None: all of them.  Clears the ask."""
        with self._lock:
            everything, wanted = self._all or not self._wanted, self._wanted
            self._all, self._wanted = False, set()
        return None if everything else frozenset(wanted)

    def _settings_changed(self, notice: SettingsChanged) -> None:
        if self._setting.key in notice.keys:
            self.periodic.reschedule()

    def _interval(self) -> float:
        minutes = self._vault.call(lambda conn: settings.get(conn, self._setting))
        return float(minutes) * 60.0

    def _round(self, job: Job) -> None:
        raise NotImplementedError
