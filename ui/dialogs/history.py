"""Tools → Amazon stores → "Load order history…": a store's order history through
Amazon's order reports (issue 15).

Says in plain words what happens, takes the number of days (the ``sync.backfill_days``
setting by default), shows the last load's state, and starts a new load ("Load") or
resumes a paused or failed one ("Resume").  The load runs on the job host's long lane;
its progress shows in the status bar (``ui.sync_status.HistoryStatusWidget``) and here
while the dialog is open.

Signals: ``load_started(int)`` (the store id) once a load was handed to the job host.
Thread: GUI; the state and the setting are read through service Futures (DB thread),
``start`` returns at once.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app import settings
from app.amazon.history import HistoryState
from app.amazon.models import HistoryProgress, Store
from app.auth.models import Actor
from app.errors import OperationCancelled
from app.notices import HistoryFinished, HistoryProgressed
from ui.history_status import history_progress_text
from ui.ops import when_done

if TYPE_CHECKING:
    from ui.events import QtEvents

log = logging.getLogger("muttefik.ui")

DAYS = settings.SYNC_BACKFILL_DAYS


class HistoryServiceLike(Protocol):
    """The part of :class:`app.amazon.history.HistoryService` the dialog uses."""

    def start(self, actor: Actor, store_id: int, days: int | None = None) -> Future[Any]: ...

    def state(self, actor: Actor, store_id: int) -> Future[HistoryState | None]: ...

    def is_running(self, store_id: int) -> bool: ...


class SettingsLike(Protocol):
    def read(self, actor: Actor, setting: Any) -> Future[Any]: ...


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _day(when: datetime) -> str:
    return f"{when.astimezone():%d %b %Y}".lstrip("0")


def state_text(state: HistoryState | None, running: bool) -> str:
    """The last load in a sentence ("Last loaded 12 Nov 2026: 3,120 orders")."""
    if state is None:
        return "No order history was loaded for this store yet."
    done, total = state.ranges_done, len(state.ranges)
    where = f"{done} of {_count(total, 'report')}"
    if state.state == "running" and running:
        return f"Loading now: {where}, {_count(state.orders, 'order')} so far."
    if state.state == "done":
        return f"Last loaded {_day(state.finished_at or state.started_at)}: " + _count(
            state.orders, "order"
        )
    if state.state == "failed":
        return f"Stopped at {where}: {state.error or 'Amazon did not answer.'}"
    # cancelled, or left running by an app that closed
    return f"Paused at {where} ({_count(state.orders, 'order')} so far)."


class HistoryDialog(QDialog):
    load_started = Signal(int)

    def __init__(
        self,
        *,
        history: HistoryServiceLike,
        actor: Actor,
        store: Store,
        settings_service: SettingsLike | None = None,
        days: int | None = None,
        qt_events: QtEvents | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("historyDialog")
        self.setWindowTitle(f"Load order history: {store.name}")
        self.setMinimumWidth(480)
        self._history = history
        self._actor = actor
        self._store = store
        self._state: HistoryState | None = None
        self._heard = True  # a notice of our store came since our last start
        self.state_known = False

        layout = QVBoxLayout(self)
        intro = QLabel(
            "Müttefik Desk asks Amazon for this store's order reports (one per 30 days) and "
            "reads the orders from them: minutes, not hours. Buyers' addresses in the "
            "reports are never stored."
        )
        intro.setObjectName("historyIntro")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.days = QSpinBox()
        self.days.setObjectName("historyDays")
        self.days.setRange(DAYS.minimum or 7, DAYS.maximum or 730)
        self.days.setSuffix(" days")
        self.days.setValue(days if days is not None else DAYS.default)
        self.days.setToolTip("From 7 days up to two years (730 days).")
        self.days.setMinimumWidth(120)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        form.addRow("Load the last:", self.days)
        layout.addLayout(form)
        self.state_label = QLabel("Reading the last load…")
        self.state_label.setObjectName("historyState")
        self.state_label.setWordWrap(True)
        self.state_label.setStyleSheet("color: #555;")
        layout.addWidget(self.state_label)
        layout.addStretch(1)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.load_button = QPushButton("Load")
        self.load_button.setObjectName("historyLoad")
        self.load_button.setDefault(True)
        self.load_button.clicked.connect(self.load)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setObjectName("historyResume")
        self.resume_button.setToolTip("Go on from the last finished report.")
        self.resume_button.clicked.connect(self.resume)
        self.buttons.addButton(self.load_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.resume_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.load_button.setEnabled(False)
        self.resume_button.setVisible(False)

        if days is None and settings_service is not None:
            when_done(
                settings_service.read(actor, DAYS),
                self._set_days,
                lambda exc: log.warning("reading the history days failed: %s", type(exc).__name__),
                parent=self,
            )
        if qt_events is not None:
            qt_events.on(HistoryProgressed, lambda n: self._progressed(n.progress), owner=self)
            qt_events.on(HistoryFinished, self._finished, owner=self)
        self.reload()

    # --- reading --------------------------------------------------------------------

    def reload(self) -> None:
        when_done(
            self._history.state(self._actor, self._store.id),
            self._show_state,
            self._state_failed,
            parent=self,
        )

    def _set_days(self, value: Any) -> None:
        if isinstance(value, int):
            self.days.setValue(value)

    def _show_state(self, state: HistoryState | None) -> None:
        self._state = state
        self.state_known = True
        running = self._history.is_running(self._store.id)
        self.state_label.setText(state_text(state, running))
        resumable = state is not None and (
            state.state in ("cancelled", "failed") or (state.state == "running" and not running)
        )
        self.load_button.setEnabled(not running)
        self.resume_button.setVisible(resumable and not running)
        self.resume_button.setEnabled(resumable and not running)

    def _state_failed(self, exc: BaseException) -> None:
        self.state_known = True
        self.load_button.setEnabled(not self._history.is_running(self._store.id))
        from ui.errors import show_error

        show_error(self, exc)

    def _progressed(self, progress: HistoryProgress) -> None:
        if progress.store_id != self._store.id:
            return
        self._heard = True
        self._set_running(history_progress_text(None, progress))

    def _finished(self, notice: HistoryFinished) -> None:
        if notice.store_id != self._store.id:
            return
        self._heard = True
        self.reload()

    # --- actions --------------------------------------------------------------------

    def load(self) -> None:
        """A new load of the last N days (what an earlier load found stays stored)."""
        self._start(self.days.value())

    def resume(self) -> None:
        """The paused or failed load goes on from its last finished report."""
        self._start(None)

    def _start(self, days: int | None) -> None:
        from ui.errors import show_error

        try:
            future = self._history.start(self._actor, self._store.id, days)
        except Exception as exc:  # HistoryRunning: shown, nothing started
            show_error(self, exc)
            self.reload()
            return
        self._heard = False
        self._set_running("Loading: the status bar shows the progress. You can close this window.")
        when_done(future, lambda _state: None, self._load_failed, parent=self)
        self.load_started.emit(self._store.id)

    def _load_failed(self, exc: BaseException) -> None:
        """A load that failed before it published anything (refused, the store removed)
        is told here; one that failed later said so in the status bar."""
        if not self._heard and not isinstance(exc, OperationCancelled):
            from ui.errors import show_error

            show_error(self, exc)
        self.reload()

    def _set_running(self, text: str) -> None:
        self.state_label.setText(text)
        self.load_button.setEnabled(False)
        self.resume_button.setEnabled(False)
