"""app.jobs: lanes keep long work off the query workers; periodic jobs; ordered shutdown."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app.errors import OperationCancelled, StoreCredentialsMissing
from app.jobs import Job, JobChanged, JobHost, JobStatus, Lane, PeriodicJob
from app.notices import Notices

WAIT = 5.0


@pytest.fixture
def host() -> Iterator[JobHost]:
    h = JobHost(workers={Lane.QUERY: 1, Lane.NET: 1, Lane.LONG: 2})
    yield h
    h.shutdown()


def _thread_name(host: JobHost, lane: Lane) -> str:
    return host.call(lane, lambda: threading.current_thread().name).result(WAIT)


def test_each_lane_runs_on_its_own_threads(host: JobHost) -> None:
    assert _thread_name(host, Lane.QUERY).startswith("muttefik-query")
    assert _thread_name(host, Lane.NET).startswith("muttefik-net")
    assert _thread_name(host, Lane.LONG).startswith("muttefik-long")


def test_long_jobs_never_take_a_query_worker(host: JobHost) -> None:
    """With every long worker busy, a query still runs at once."""
    release = threading.Event()
    started = threading.Semaphore(0)

    def long_work(job: Job) -> None:
        started.release()
        release.wait(WAIT)

    long_jobs = [host.submit(Lane.LONG, long_work) for _ in range(3)]  # one more than workers
    try:
        assert started.acquire(timeout=WAIT) and started.acquire(timeout=WAIT)
        assert host.call(Lane.QUERY, lambda: 42).result(WAIT) == 42
        assert host.call(Lane.NET, lambda: 7).result(WAIT) == 7
        assert not long_jobs[2].running() and not long_jobs[2].done()  # waits for a LONG one
    finally:
        release.set()
    for f in long_jobs:
        f.result(WAIT)


def test_shutdown_cancels_running_long_jobs_and_stops_lanes_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host = JobHost()
    order: list[Lane] = []

    def recording(lane: Lane, shutdown: Callable[..., None]) -> Callable[..., None]:
        def record(*args: Any, **kw: Any) -> None:
            order.append(lane)
            shutdown(*args, **kw)

        return record

    for lane in Lane:
        pool = host.pool(lane)
        monkeypatch.setattr(pool, "shutdown", recording(lane, pool.shutdown))
    started = threading.Event()
    saw_cancel: list[bool] = []

    def long_work(job: Job) -> None:
        started.set()
        saw_cancel.append(job.cancel.wait(WAIT))

    future = host.submit(Lane.LONG, long_work)
    assert started.wait(WAIT)
    host.shutdown()
    assert future.done()  # the long lane was waited for
    assert saw_cancel == [True]
    assert order == [Lane.LONG, Lane.NET, Lane.QUERY]
    assert host.closed
    with pytest.raises(RuntimeError):
        host.call(Lane.QUERY, lambda: None)


def test_a_job_cancelled_before_it_starts_does_not_run(host: JobHost) -> None:
    job = Job()
    job.cancel.set()
    ran: list[bool] = []
    future = host.submit(Lane.QUERY, lambda j: ran.append(True), job)
    with pytest.raises(OperationCancelled):
        future.result(WAIT)
    assert ran == []


# --- periodic jobs ------------------------------------------------------------------------


class Recorder:
    """Collects the JobChanged notices of one host; waits for a status that matches."""

    def __init__(self, notices: Notices) -> None:
        self.statuses: list[JobStatus] = []
        self._cond = threading.Condition()
        notices.subscribe(JobChanged, self._add)

    def _add(self, notice: JobChanged) -> None:
        with self._cond:
            self.statuses.append(notice.status)
            self._cond.notify_all()

    def wait_for(self, test: object, timeout: float = WAIT) -> JobStatus:
        with self._cond:
            found: list[JobStatus] = []

            def match() -> bool:
                found[:] = [s for s in self.statuses if test(s)]  # type: ignore[operator]
                return bool(found)

            assert self._cond.wait_for(match, timeout), self.statuses
            return found[-1]


def test_periodic_run_now_cancel_and_last_error(host: JobHost) -> None:
    recorder = Recorder(host.notices)
    rounds: list[int] = []
    in_round = threading.Event()

    def work(job: Job) -> None:
        rounds.append(len(rounds) + 1)
        job.progress(1, 2, "first of two")
        if len(rounds) == 1:
            in_round.set()
            job.cancel.wait(WAIT)
            job.check()
        raise StoreCredentialsMissing()

    periodic = host.add_periodic(PeriodicJob("demo", work, interval=lambda: 3600))
    assert recorder.wait_for(lambda s: s.next_run is not None).interval_seconds == 3600
    periodic.run_now()
    assert in_round.wait(WAIT)
    assert periodic.status().running
    periodic.cancel_current()
    assert periodic.wait_idle(WAIT)
    cancelled = periodic.status()
    assert not cancelled.running and cancelled.last_error is None  # a cancel is no error
    assert recorder.wait_for(lambda s: s.progress == (1, 2, "first of two"))

    periodic.run_now()  # the schedule survived the cancelled round
    failed = recorder.wait_for(lambda s: s.last_error is not None)
    assert failed.last_error == StoreCredentialsMissing.title
    assert failed.last_finished is not None and not failed.running
    assert rounds == [1, 2]


def test_periodic_interval_is_read_before_each_wait(host: JobHost) -> None:
    """A changed setting applies to the next wait, without a restart."""
    recorder = Recorder(host.notices)
    interval = [3600.0]
    ran = threading.Semaphore(0)
    periodic = host.add_periodic(
        PeriodicJob("demo", lambda job: ran.release(), interval=lambda: interval[0])
    )
    recorder.wait_for(lambda s: s.interval_seconds == 3600)
    interval[0] = 1.0  # the shortest interval allowed
    periodic.run_now()  # ends the hour-long wait; the next wait reads the new interval
    assert ran.acquire(timeout=WAIT)
    assert recorder.wait_for(lambda s: s.interval_seconds == 1.0)
    assert ran.acquire(timeout=WAIT), "the next round came after the new, short interval"


def test_reschedule_applies_a_new_interval_to_the_wait_under_way(host: JobHost) -> None:
    recorder = Recorder(host.notices)
    interval = [3600.0]
    ran = threading.Semaphore(0)
    periodic = host.add_periodic(
        PeriodicJob("demo", lambda job: ran.release(), interval=lambda: interval[0])
    )
    recorder.wait_for(lambda s: s.interval_seconds == 3600)
    periodic.reschedule()  # same interval: reads it again, runs nothing
    assert recorder.wait_for(lambda s: s is not recorder.statuses[0] and s.next_run is not None)
    assert not ran.acquire(timeout=0.2)
    interval[0] = 1.0
    periodic.reschedule()
    assert ran.acquire(timeout=WAIT), "due one second after the start, not in an hour"
    assert periodic.status().last_started is not None


@pytest.mark.expect_log("muttefik.jobs", "ERROR", "demo crashed")
def test_periodic_crash_is_logged_and_shown_as_something_went_wrong(host: JobHost) -> None:
    def work(job: Job) -> None:
        raise KeyError("bug")

    recorder = Recorder(host.notices)  # before the job starts: its round may end at once
    periodic = host.add_periodic(
        PeriodicJob("demo", work, interval=lambda: 3600, run_at_start=True)
    )
    assert recorder.wait_for(lambda s: s.last_finished is not None)
    assert periodic.status().last_error == "Something went wrong"


def test_shutdown_stops_a_periodic_round_between_steps() -> None:
    host = JobHost()
    in_round = threading.Event()
    saw_cancel: list[bool] = []

    def work(job: Job) -> None:
        in_round.set()
        saw_cancel.append(job.cancel.wait(WAIT))

    periodic = host.add_periodic(
        PeriodicJob("demo", work, interval=lambda: 3600, run_at_start=True)
    )
    assert in_round.wait(WAIT)
    host.shutdown()
    assert saw_cancel == [True]
    assert periodic.wait_idle(0)
