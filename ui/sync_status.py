"""Sync status in the status bar: last sync, running progress with ETA and Cancel,
errors with Retry.  A store's order history load shows beside it
(:mod:`ui.history_status`).

Listens to ``SyncProgressed`` / ``SyncFinished`` / ``SyncFailed`` and the scheduled
sync's ``JobChanged`` (through :class:`ui.events.QtEvents`).  "Sync now" and "Retry" run
``run_sync(job, store_id)`` on the long lane through :class:`ui.ops.Op`; Cancel sets that
job's cancel event.  A sync started elsewhere (the schedule) can be cancelled only if
``cancel_running`` is given.

Thread: GUI only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from app.amazon.models import SyncPhase, SyncProgress, SyncResult
from app.amazon.sync_job import NAME as SYNC_JOB
from app.clock import Clock, SystemClock
from app.errors import UserError
from app.jobs import JobChanged, JobStatus
from app.notices import SyncFailed, SyncFinished, SyncProgressed
from ui.ops import Job, Lane, Op

if TYPE_CHECKING:
    from ui.events import QtEvents

RunSync = Callable[[Job, int | None], Any]


def _ago(then: datetime, now: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return then.astimezone().strftime("%d %b %H:%M")


def eta_text(seconds: float) -> str:
    """ "about 12 min left" (shared with the order history's status)."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "< 1 min left"
    if minutes < 90:
        return f"about {minutes} min left"
    return f"about {minutes // 60} h {minutes % 60:02d} min left"


class SyncStatusWidget(QWidget):
    """Signals: ``retry_requested(object)`` (store id or None) before a retry starts."""

    retry_requested = Signal(object)

    def __init__(
        self,
        *,
        run_sync: RunSync | None = None,
        cancel_running: Callable[[], None] | None = None,
        clock: Clock | None = None,
        qt_events: QtEvents | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("syncStatus")
        self._run_sync = run_sync
        self._cancel_running = cancel_running
        self._clock = clock or SystemClock()
        self._last_success: datetime | None = None
        self._next_run: datetime | None = None
        self._failed_store: int | None = None
        self._job: Job | None = None
        self.running = False

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.label = QLabel("Orders not synced yet")
        self.label.setObjectName("syncLabel")
        self.bar = QProgressBar()
        self.bar.setObjectName("syncBar")
        self.bar.setRange(0, 0)
        self.bar.setMaximumWidth(90)
        self.bar.setMaximumHeight(14)
        self.bar.setTextVisible(False)
        self.bar.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("syncCancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.retry_button = QPushButton("Retry")
        self.retry_button.setObjectName("syncRetry")
        self.retry_button.setVisible(False)
        self.retry_button.clicked.connect(self.retry)
        self.sync_button = QPushButton("Sync now")
        self.sync_button.setObjectName("syncNow")
        self.sync_button.setVisible(run_sync is not None)
        self.sync_button.clicked.connect(lambda: self.start_sync(None))
        for w in (self.label, self.bar, self.cancel_button, self.retry_button, self.sync_button):
            layout.addWidget(w)
        for button in (self.cancel_button, self.retry_button, self.sync_button):
            button.setFlat(True)
            button.setStyleSheet("QPushButton { padding: 0 6px; text-decoration: underline; }")

        # "5 min ago" ages by itself.
        self._tick = QTimer(self)
        self._tick.setInterval(30_000)
        self._tick.timeout.connect(self._idle_text)
        self._tick.start()

        if qt_events is not None:
            qt_events.on(SyncProgressed, lambda n: self.show_progress(n.progress), owner=self)
            qt_events.on(SyncFinished, lambda n: self.show_finished(n.result), owner=self)
            qt_events.on(SyncFailed, lambda n: self.show_failed(n.store_id, n.error), owner=self)
            qt_events.on(JobChanged, lambda n: self.show_job(n.status), owner=self)

    # --- state changes (GUI thread) -------------------------------------------------

    def set_last_success(self, when: datetime | None) -> None:
        self._last_success = when
        if not self.running and self._failed_store is None:
            self._idle_text()

    def show_progress(self, progress: SyncProgress) -> None:
        if progress.phase == SyncPhase.DONE:
            return
        self.running = True
        self._failed_store = None
        parts = [f"Syncing orders: {progress.orders:,}"]
        if progress.phase == SyncPhase.BACKFILL and progress.backfilled_to is not None:
            parts.append(f"back to {progress.backfilled_to.astimezone():%d %b}")
        if progress.phase == SyncPhase.WAITING and progress.waiting_seconds:
            parts.append(f"waiting {int(progress.waiting_seconds)} s for Amazon's rate limit")
        if progress.eta_seconds:
            parts.append(eta_text(progress.eta_seconds))
        self.label.setText(", ".join(parts))
        self.label.setToolTip(
            f"{progress.pages} pages, {progress.orders} orders. Amazon allows about one page "
            "of 100 orders every three minutes, so a first sync can take hours; the app stays "
            "usable meanwhile."
        )
        self.bar.setVisible(True)
        self.cancel_button.setVisible(self._job is not None or self._cancel_running is not None)
        self.cancel_button.setEnabled(True)
        self.retry_button.setVisible(False)
        self.sync_button.setVisible(False)

    def show_finished(self, result: SyncResult) -> None:
        self.running = False
        self._failed_store = None
        if not result.cancelled:
            self._last_success = result.finished_at
        self._stop_running()
        self._idle_text()
        if result.cancelled:
            self.label.setText("Sync cancelled; it continues where it stopped next time")

    def show_failed(self, store_id: int | None, error: BaseException) -> None:
        self.running = False
        self._failed_store = store_id
        self._stop_running()
        title = error.title if isinstance(error, UserError) else "Sync failed"
        self.label.setText(f"⚠ {title}")
        self.label.setToolTip(
            error.message
            if isinstance(error, UserError)
            else "An unexpected error stopped the sync. Nothing stored was lost."
        )
        self.retry_button.setVisible(self._run_sync is not None)
        self.sync_button.setVisible(False)

    def show_job(self, status: JobStatus) -> None:
        """The scheduled sync's state: when it runs next, and the end of a round that
        published no result (no store to sync, or cancelled between stores)."""
        if status.name != SYNC_JOB:
            return
        self._next_run = status.next_run
        if not status.running and self.running and self._job is None:
            self.running = False
            self._stop_running()
        self._idle_text()

    # --- actions --------------------------------------------------------------------

    def start_sync(self, store_id: int | None) -> None:
        if self._run_sync is None or self._job is not None:
            return
        run = self._run_sync
        op: Op[Any] = Op(self, lambda job: run(job, store_id), lane=Lane.LONG)
        op.on_success(lambda _r: self._job_done()).on_failure(self._job_failed)
        op.on_cancelled(self._job_done)  # cancelled before it started
        op.run()
        self._job = op.job
        self.retry_requested.emit(store_id)
        self.label.setText("Starting sync…")
        self.retry_button.setVisible(False)
        self.sync_button.setVisible(False)
        self.bar.setVisible(True)
        self.cancel_button.setVisible(True)

    def retry(self) -> None:
        self.start_sync(self._failed_store)

    def cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.label.setText("Cancelling after the current page…")
        if self._job is not None:
            self._job.cancel.set()
        elif self._cancel_running is not None:
            self._cancel_running()

    def _job_done(self) -> None:
        self._job = None
        if self.running:  # no sync_finished came (e.g. no store to sync)
            self.running = False
        self._stop_running()
        if self._failed_store is None:
            self._idle_text()

    def _job_failed(self, exc: BaseException) -> None:
        self._job = None
        if self._failed_store is None or self.retry_button.isHidden():
            self.show_failed(self._failed_store, exc)

    def _stop_running(self) -> None:
        self.bar.setVisible(False)
        self.cancel_button.setVisible(False)
        self.sync_button.setVisible(self._run_sync is not None and self._job is None)

    def _idle_text(self) -> None:
        if self.running or self._failed_store is not None or self.retry_button.isVisible():
            return
        if self._last_success is None:
            self.label.setText("Orders not synced yet")
        else:
            self.label.setText(f"Orders synced {_ago(self._last_success, self._clock.now())}")
        next_run = self._next_run
        self.label.setToolTip(
            "" if next_run is None else f"Next sync at {next_run.astimezone():%H:%M}"
        )
