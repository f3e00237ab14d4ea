"""SyncJob: which stores a round syncs, as whom; cancel stops the round, not the schedule.

The sync itself is a stand-in here; tests/integration/test_sync_job.py runs the real one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from types import SimpleNamespace
from typing import Any

import pytest

from app import access, settings
from app.amazon.sync_job import SyncJob
from app.jobs import JobChanged, JobHost
from app.notices import SettingsChanged

WAIT = 5.0


def _done(value: Any) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_result(value)
    return future


class _FakeSync:
    """Stands in for SyncService: stores 1-3 (3 has no credentials); a sync blocks
    until released or cancelled."""

    def __init__(self) -> None:
        self.started = threading.Semaphore(0)
        self.release = threading.Event()
        self.calls: list[tuple[Any, int]] = []
        self.cancelled: list[int] = []
        stores = [SimpleNamespace(id=i, name=f"Store {i}") for i in (1, 2, 3)]
        self.stores = SimpleNamespace(
            list_stores=lambda actor: _done(stores),
            has_credentials=lambda actor, store_id: store_id != 3,
        )
        self.interval_minutes = 60
        self.vault = SimpleNamespace(call=lambda fn: self.interval_minutes)

    def sync_store(self, actor: Any, store_id: int, cancel: threading.Event) -> None:
        self.calls.append((actor, store_id))
        self.started.release()
        if cancel.wait(WAIT if not self.release.is_set() else 0):
            self.cancelled.append(store_id)


@pytest.fixture
def host() -> Iterator[JobHost]:
    h = JobHost()
    yield h
    h.shutdown()


def test_a_round_syncs_every_store_with_credentials_as_the_system(host: JobHost) -> None:
    sync = _FakeSync()
    sync.release.set()
    job = SyncJob(sync=sync, jobs=host)  # type: ignore[arg-type]
    job.start(run_now=True)
    assert sync.started.acquire(timeout=WAIT) and sync.started.acquire(timeout=WAIT)
    assert job.wait_idle(WAIT)
    assert sync.calls == [(access.SYSTEM, 1), (access.SYSTEM, 2)]
    assert all(actor is access.SYSTEM for actor, _ in sync.calls)


def test_run_now_for_one_store_while_idle_syncs_only_that_store(host: JobHost) -> None:
    sync = _FakeSync()
    sync.release.set()
    job = SyncJob(sync=sync, jobs=host)  # type: ignore[arg-type]
    job.start(run_now=False)
    job.run_now(2)
    assert sync.started.acquire(timeout=WAIT)
    assert job.wait_idle(WAIT)
    assert sync.calls == [(access.SYSTEM, 2)]


def test_cancel_current_then_run_now_runs_again(host: JobHost) -> None:
    sync = _FakeSync()
    job = SyncJob(sync=sync, jobs=host)  # type: ignore[arg-type]
    job.start(run_now=True)
    assert sync.started.acquire(timeout=WAIT)
    job.cancel_current()
    assert job.wait_idle(WAIT)
    assert sync.calls == [(access.SYSTEM, 1)]  # the cancelled round stopped before store 2
    assert sync.cancelled == [1]
    job.run_now()
    assert sync.started.acquire(timeout=WAIT), "the schedule must survive a cancelled round"
    job.cancel_current()
    assert job.wait_idle(WAIT)
    assert sync.cancelled == [1, 1]


def test_a_changed_interval_setting_reschedules_the_wait(host: JobHost) -> None:
    sync = _FakeSync()
    sync.release.set()
    job = SyncJob(sync=sync, jobs=host)  # type: ignore[arg-type]
    intervals: list[float] = []
    changed = threading.Event()

    def job_changed(notice: JobChanged) -> None:
        intervals.append(notice.status.interval_seconds)
        if notice.status.interval_seconds == 300:
            changed.set()

    host.notices.subscribe(JobChanged, job_changed)
    job.start(run_now=False)
    sync.interval_minutes = 5
    host.notices.publish(SettingsChanged(frozenset({settings.IDLE_LOCK_MINUTES.key})))
    assert not changed.wait(0.2), "another setting changed: the wait goes on"
    host.notices.publish(SettingsChanged(frozenset({settings.SYNC_INTERVAL_MINUTES.key})))
    assert changed.wait(WAIT)
    assert intervals[0] == 3600 and sync.calls == []  # rescheduled, nothing synced
