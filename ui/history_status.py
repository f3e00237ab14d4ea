"""A store's order history load (Amazon's order reports, issue 15) in the status bar,
beside the sync status (:mod:`ui.sync_status`): progress with an ETA and Cancel while it
runs, then its outcome.

Listens to ``HistoryProgressed`` / ``HistoryFinished`` (through
:class:`ui.events.QtEvents`).  Thread: GUI only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from app.amazon.models import HistoryProgress
from app.errors import OperationCancelled, UserError
from app.notices import HistoryFinished, HistoryProgressed
from ui.ops import when_done
from ui.sync_status import eta_text

if TYPE_CHECKING:
    from ui.events import QtEvents

log = logging.getLogger("muttefik.ui")

HISTORY_PAUSED_TEXT = "Order history paused (resume from Tools → Amazon stores)"
_NAME_CHARS = 28


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def history_progress_text(store_name: str | None, progress: HistoryProgress | None) -> str:
    """The running load in a line, e.g. "Loading order history of Shop: 1 of 3 reports ·
    1,204 orders · about 2 min left"."""
    if store_name and len(store_name) > _NAME_CHARS:  # the status bar is shared
        cut = store_name[: _NAME_CHARS - 1]
        if " " in cut[_NAME_CHARS // 2 :]:  # at a word's end when there is one
            cut = cut.rsplit(" ", 1)[0]
        store_name = cut.rstrip() + "…"
    who = f"Loading order history of {store_name}" if store_name else "Loading order history"
    if progress is None:
        return f"{who}: asking Amazon for the reports…"
    parts = [f"{progress.ranges_done} of {_count(progress.ranges_total, 'report')}"]
    if progress.orders:
        parts.append(_count(progress.orders, "order"))
    # No ETA before a first report is done: Amazon's preparation time is not known.
    if progress.eta_seconds is None:
        parts.append("Amazon is preparing the reports…")
    else:
        parts.append(eta_text(progress.eta_seconds))
    return f"{who}: " + " · ".join(parts)


class HistoryStatusWidget(QWidget):
    """A store's order history load in the status bar, beside the sync status: progress
    with an ETA and Cancel while it runs, then the outcome (done and paused for a while,
    a failure with "Try again" until dealt with); hidden when there is nothing to say.

    Listens to ``HistoryProgressed`` / ``HistoryFinished``.  ``cancel(store_id)`` is
    ``HistoryService.cancel`` (in memory, instant); ``resume(store_id)`` starts the load
    again (days None: it resumes) and returns its Future, or raises (``HistoryRunning``).
    A load started here or handed to :meth:`track` is watched: a failure before it
    published anything (e.g. refused) is shown too.  Thread: GUI only.
    """

    def __init__(
        self,
        *,
        cancel: Callable[[int], bool],
        resume: Callable[[int], Future[Any]] | None = None,
        store_name: Callable[[int], str | None] | None = None,
        qt_events: QtEvents | None = None,
        linger_ms: int = 60_000,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("historyStatus")
        self._cancel = cancel
        self._resume = resume
        self._store_name = store_name or (lambda _id: None)
        self._running: dict[int, HistoryProgress | None] = {}  # oldest first
        self._cancelling: set[int] = set()
        self._heard: dict[int, bool] = {}  # watched starts: a notice came since
        self._outcome: tuple[int, str, str, str] | None = None  # store, state, text, tip

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        # Set apart from the sync's text before it in the status bar.
        line = QFrame()
        line.setFrameShape(QFrame.Shape.VLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(line)
        self.label = QLabel()
        self.label.setObjectName("historyLabel")
        # Never squeezed below its text (the status bar's permanent widgets took the
        # last characters once: "… < 1 min lef").
        self.label.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Preferred)
        self.bar = QProgressBar()
        self.bar.setObjectName("historyBar")
        self.bar.setRange(0, 0)
        self.bar.setMaximumWidth(60)
        self.bar.setMaximumHeight(14)
        self.bar.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("historyCancel")
        self.cancel_button.setAccessibleName("Cancel loading the order history")
        self.cancel_button.clicked.connect(self.cancel)
        self.retry_button = QPushButton("Try again")
        self.retry_button.setObjectName("historyRetry")
        self.retry_button.setAccessibleName("Try loading the order history again")
        self.retry_button.clicked.connect(self.retry)
        for w in (self.label, self.bar, self.cancel_button, self.retry_button):
            layout.addWidget(w)
        for button in (self.cancel_button, self.retry_button):
            button.setFlat(True)
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # Tab reaches it
            button.setStyleSheet("QPushButton { padding: 0 6px; text-decoration: underline; }")
        # "Loaded" and "paused" give way to the sync's own text after a while.
        self._linger = QTimer(self)
        self._linger.setSingleShot(True)
        self._linger.setInterval(linger_ms)
        self._linger.timeout.connect(self._drop_outcome)

        if qt_events is not None:
            qt_events.on(HistoryProgressed, lambda n: self.show_progress(n.progress), owner=self)
            qt_events.on(HistoryFinished, self.show_finished, owner=self)
        self._render()

    # --- state changes (GUI thread) -------------------------------------------------

    def show_progress(self, progress: HistoryProgress) -> None:
        store_id = progress.store_id
        self._running[store_id] = progress
        if store_id in self._heard:
            self._heard[store_id] = True
        if self._outcome is not None and self._outcome[0] == store_id:
            self._outcome = None
        self._render()

    def show_finished(self, notice: HistoryFinished) -> None:
        store_id = notice.store_id
        self._running.pop(store_id, None)
        self._cancelling.discard(store_id)
        if store_id in self._heard:
            self._heard[store_id] = True
        name = self._store_name(store_id)
        of = f" of {name}" if name else ""
        if notice.state == "done":
            text = f"Order history loaded: {_count(notice.orders, 'order')}"
            self._set_outcome(store_id, "done", text, f"The order history{of} is complete.")
        elif notice.state == "cancelled":
            tip = (
                f"The order history{of} stopped with {_count(notice.orders, 'order')} loaded; "
                "it resumes from the last finished report."
            )
            self._set_outcome(store_id, "cancelled", HISTORY_PAUSED_TEXT, tip)
        else:
            error = notice.error or "Amazon's order reports could not be read."
            self._set_outcome(store_id, "failed", f"⚠ Order history{of} not loaded: {error}", error)

    def track(self, store_id: int, future: Future[Any]) -> None:
        """Watch a load just started: it shows at once, and a failure before its first
        notice (refused, cancelled before it began) ends the display."""
        self._running.setdefault(store_id, None)
        self._heard[store_id] = False
        if self._outcome is not None and self._outcome[0] == store_id:
            self._outcome = None
        self._render()
        when_done(
            future,
            lambda _state: self._ended(store_id, None),
            lambda exc: self._ended(store_id, exc),
            parent=self,
        )

    def refresh(self) -> None:
        """Store names changed: show them."""
        self._render()

    # --- actions --------------------------------------------------------------------

    def cancel(self) -> None:
        store_id = self.shown_store()
        if store_id is None or store_id not in self._running:
            return
        if self._cancel(store_id):
            self._cancelling.add(store_id)
        else:  # it ended meanwhile; its notice is on its way
            self._running.pop(store_id, None)
        self._render()

    def retry(self) -> None:
        if self._outcome is None or self._resume is None:
            return
        store_id = self._outcome[0]
        try:
            future = self._resume(store_id)
        except Exception as exc:
            from ui.errors import show_error

            show_error(self, exc)
            return
        self.track(store_id, future)

    def shown_store(self) -> int | None:
        if self._running:
            return next(iter(self._running))
        return None if self._outcome is None else self._outcome[0]

    # --- internals ------------------------------------------------------------------

    def _ended(self, store_id: int, exc: BaseException | None) -> None:
        heard = self._heard.pop(store_id, True)
        if heard:
            return  # its HistoryFinished told the outcome (it came first)
        self._running.pop(store_id, None)
        self._cancelling.discard(store_id)
        if exc is None or isinstance(exc, OperationCancelled):
            if exc is not None:  # cancelled before a worker took it
                self._set_outcome(store_id, "cancelled", HISTORY_PAUSED_TEXT, "")
            else:
                self._render()
            return
        log.info("order history load of store %d not started: %s", store_id, type(exc).__name__)
        if isinstance(exc, UserError):
            title, words = exc.title, exc.message
        else:
            title, words = "Order history not loaded", "Müttefik Desk hit a bug; the log has it."
        self._set_outcome(store_id, "failed", f"⚠ {title}", words)

    def _set_outcome(self, store_id: int, state: str, text: str, tip: str) -> None:
        self._outcome = (store_id, state, text, tip)
        if state == "failed":
            self._linger.stop()
        else:
            self._linger.start()
        self._render()

    def _drop_outcome(self) -> None:
        if self._outcome is not None and self._outcome[1] != "failed":
            self._outcome = None
            self._render()

    def _render(self) -> None:
        if self._running:
            store_id = next(iter(self._running))
            name = self._store_name(store_id)
            if store_id in self._cancelling:
                text = "Pausing the order history after the current step…"
            else:
                text = history_progress_text(name, self._running[store_id])
            others = len(self._running) - 1
            if others:
                text += f" (and {_count(others, 'other store')})"
            self.label.setText(text)
            self.label.setToolTip(
                "Amazon prepares one order report per 30 days; the app stays usable "
                "meanwhile. Buyers' addresses in the reports are never stored."
            )
            self.bar.setVisible(True)
            self.cancel_button.setVisible(True)
            self.cancel_button.setEnabled(store_id not in self._cancelling)
            self.retry_button.setVisible(False)
            self.setVisible(True)
            return
        self.bar.setVisible(False)
        self.cancel_button.setVisible(False)
        if self._outcome is None:
            self.label.clear()
            self.label.setToolTip("")
            self.retry_button.setVisible(False)
            self.setVisible(False)
            return
        _store, state, text, tip = self._outcome
        # A long reason (Amazon's words) is cut in the bar and whole in the tooltip.
        metrics = self.label.fontMetrics()
        self.label.setText(metrics.elidedText(text, Qt.TextElideMode.ElideRight, 560))
        self.label.setToolTip(tip)
        self.retry_button.setVisible(state == "failed" and self._resume is not None)
        self.setVisible(True)
