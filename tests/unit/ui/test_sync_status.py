"""The status-bar sync widget: last sync, progress with ETA and Cancel, errors with Retry."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.amazon.models import SyncPhase, SyncProgress, SyncResult
from app.amazon.sync_job import NAME as SYNC_JOB
from app.clock import FakeClock
from app.errors import AmazonGrantInvalid
from app.jobs import JobChanged, JobStatus
from app.notices import Notices, SyncFinished, SyncProgressed
from ui.events import QtEvents
from ui.ops import Job
from ui.sync_status import SyncStatusWidget

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def ops_bridge(qapp: Any) -> None:
    from ui import ops

    ops.install()


def _result(cancelled: bool = False) -> SyncResult:
    return SyncResult(1, 3, 250, 200, cancelled, False, NOW - timedelta(minutes=5), NOW)


def test_progress_from_events_shows_eta(qtbot: Any) -> None:
    bus = Notices()
    events = QtEvents(bus)
    clock = FakeClock(NOW)
    w = SyncStatusWidget(clock=clock, qt_events=events, cancel_running=lambda: None)
    qtbot.addWidget(w)
    progress = SyncProgress(1, SyncPhase.BACKFILL, pages=4, orders=400, eta_seconds=3 * 3600)
    with qtbot.waitSignal(events.published, timeout=2000):
        bus.publish(SyncProgressed(progress))
    assert "400" in w.label.text() and "about 3 h 00 min left" in w.label.text()
    assert w.cancel_button.isVisibleTo(w) and w.bar.isVisibleTo(w)
    with qtbot.waitSignal(events.published, timeout=2000):
        bus.publish(SyncFinished(_result()))
    assert w.label.text() == "Orders synced just now"
    clock.advance(300)
    w._tick.timeout.emit()
    assert w.label.text() == "Orders synced 5 min ago"
    assert not w.bar.isVisibleTo(w)
    events.close()


def test_failure_offers_retry_which_runs_sync_for_that_store(qtbot: Any) -> None:
    calls: list[int | None] = []
    started = threading.Event()

    def run(job: Job, store_id: int | None) -> None:
        calls.append(store_id)
        started.set()

    w = SyncStatusWidget(run_sync=run, clock=FakeClock(NOW))
    qtbot.addWidget(w)
    w.show_failed(4, AmazonGrantInvalid())
    assert "authorisation" in w.label.text()
    assert w.retry_button.isVisibleTo(w)
    assert "Seller Central" in w.label.toolTip()
    with qtbot.waitSignal(w.retry_requested, timeout=2000) as blocker:
        w.retry_button.click()
    assert blocker.args == [4]
    assert started.wait(5)
    qtbot.waitUntil(lambda: w.sync_button.isVisibleTo(w), timeout=5000)
    assert calls == [4]
    assert not w.retry_button.isVisibleTo(w)


def test_cancel_sets_the_jobs_cancel_event(qtbot: Any) -> None:
    seen: list[bool] = []
    started = threading.Event()

    def run(job: Job, store_id: int | None) -> None:
        started.set()
        seen.append(job.cancel.wait(5))

    w = SyncStatusWidget(run_sync=run, clock=FakeClock(NOW))
    qtbot.addWidget(w)
    w.sync_button.click()
    assert w.cancel_button.isVisibleTo(w)
    assert started.wait(5)
    w.cancel_button.click()
    assert "Cancelling" in w.label.text()
    qtbot.waitUntil(lambda: w.sync_button.isVisibleTo(w), timeout=5000)
    assert seen == [True]


def test_cancel_before_the_sync_started_still_ends_the_running_display(qtbot: Any) -> None:
    """A job cancelled before a worker took it never runs; the widget must not stay at
    "Cancelling…" with Sync now hidden for good."""
    ran: list[int | None] = []
    w = SyncStatusWidget(run_sync=lambda job, store_id: ran.append(store_id))
    qtbot.addWidget(w)
    busy = threading.Event()
    from app.jobs import LANE_WORKERS
    from ui import ops

    # Every long worker busy: the sync waits in the queue while Cancel is clicked.
    lane = ops.host().pool(ops.Lane.LONG)
    blockers = [lane.submit(busy.wait, 5) for _ in range(LANE_WORKERS[ops.Lane.LONG])]
    try:
        w.sync_button.click()
        w.cancel_button.click()
    finally:
        busy.set()
    for b in blockers:
        b.result(5)
    qtbot.waitUntil(lambda: w.sync_button.isVisibleTo(w), timeout=5000)
    assert ran == []
    assert not w.cancel_button.isVisibleTo(w) and not w.bar.isVisibleTo(w)


def test_cancelled_result_says_it_continues(qtbot: Any) -> None:
    w = SyncStatusWidget(clock=FakeClock(NOW))
    qtbot.addWidget(w)
    w.show_finished(_result(cancelled=True))
    assert "continues" in w.label.text()


def test_scheduled_round_shows_next_run_and_ends_a_running_display(qtbot: Any) -> None:
    """A round that published no result (no store to sync) still ends "Syncing…"; the
    next scheduled run is in the tooltip; other periodic jobs are not the sync's."""
    bus = Notices()
    events = QtEvents(bus)
    w = SyncStatusWidget(clock=FakeClock(NOW), qt_events=events, cancel_running=lambda: None)
    qtbot.addWidget(w)
    progress = SyncProgress(1, SyncPhase.BACKFILL, pages=1, orders=100)
    with qtbot.waitSignal(events.published, timeout=2000):
        bus.publish(SyncProgressed(progress))
    assert w.running
    with qtbot.waitSignal(events.published, timeout=2000):
        bus.publish(JobChanged(JobStatus(name="Mail polling", running=False)))
    assert w.running and w.bar.isVisibleTo(w)
    next_run = NOW + timedelta(minutes=10)
    done = JobStatus(name=SYNC_JOB, running=False, last_finished=NOW, next_run=next_run)
    with qtbot.waitSignal(events.published, timeout=2000):
        bus.publish(JobChanged(done))
    assert not w.running and not w.bar.isVisibleTo(w)
    assert w.label.text() == "Orders not synced yet"
    assert w.label.toolTip() == f"Next sync at {next_run.astimezone():%H:%M}"
    events.close()
