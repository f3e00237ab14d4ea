"""The order history load in the status bar (ui/history_status.py): progress with an ETA
and Cancel, the outcome, "Try again", and a load refused before it began."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.amazon.history import HistoryRunning
from app.amazon.models import HistoryProgress
from app.errors import OperationCancelled, PermissionDenied
from app.notices import HistoryFinished, HistoryProgressed, Notices
from ui.events import QtEvents
from ui.history_status import HISTORY_PAUSED_TEXT, HistoryStatusWidget, history_progress_text

NAMES = {3: "Main US", 4: "Europe"}


class Loads:
    """What the widget calls: HistoryService.cancel and the runtime's resume."""

    def __init__(self) -> None:
        self.cancelled: list[int] = []
        self.resumed: list[int] = []
        self.running = True
        self.refuse: BaseException | None = None
        self.futures: list[Future[Any]] = []

    def cancel(self, store_id: int) -> bool:
        self.cancelled.append(store_id)
        return self.running

    def resume(self, store_id: int) -> Future[Any]:
        if self.refuse is not None:
            raise self.refuse
        self.resumed.append(store_id)
        future: Future[Any] = Future()
        self.futures.append(future)
        return future


@pytest.fixture
def bus() -> Any:
    notices = Notices()
    events = QtEvents(notices)
    yield notices, events
    events.close()


def _widget(qtbot: Any, events: QtEvents, loads: Loads, linger_ms: int = 60_000) -> Any:
    w = HistoryStatusWidget(
        cancel=loads.cancel,
        resume=loads.resume,
        store_name=NAMES.get,
        qt_events=events,
        linger_ms=linger_ms,
    )
    qtbot.addWidget(w)
    return w


def _publish(qtbot: Any, bus: Any, notice: Any) -> None:
    notices, events = bus
    with qtbot.waitSignal(events.published, timeout=2000):
        notices.publish(notice)


def test_progress_text_counts_reports_orders_and_time_left() -> None:
    p = HistoryProgress(3, 1, 3, 1204, 125.0, "Reading the order reports…")
    assert (
        history_progress_text("Main US", p)
        == "Loading order history of Main US: 1 of 3 reports · 1,204 orders · about 2 min left"
    )
    first = HistoryProgress(3, 0, 1, 1, None, "Asking Amazon for the order reports…")
    assert history_progress_text(None, first) == (
        "Loading order history: 0 of 1 report · 1 order · Amazon is preparing the reports…"
    )
    none_yet = HistoryProgress(3, 0, 3, 0, None, "")
    assert history_progress_text("Main US", none_yet) == (
        "Loading order history of Main US: 0 of 3 reports · Amazon is preparing the reports…"
    )
    assert history_progress_text("Main US", None).endswith("asking Amazon for the reports…")
    long_name = history_progress_text("A store with a very long name indeed", none_yet)
    assert long_name.startswith("Loading order history of A store with a very long…: 0 of 3")


def test_hidden_until_a_load_runs_then_cancel_pauses_it(qtbot: Any, bus: Any) -> None:
    loads = Loads()
    w = _widget(qtbot, bus[1], loads)
    assert w.isHidden()
    _publish(qtbot, bus, HistoryProgressed(HistoryProgress(3, 1, 3, 1204, 125.0, "")))
    assert not w.isHidden()
    assert w.label.text().startswith("Loading order history of Main US: 1 of 3 reports")
    assert w.cancel_button.isVisibleTo(w) and w.bar.isVisibleTo(w)
    assert not w.retry_button.isVisibleTo(w)
    # Keyboard: Tab reaches Cancel.
    assert w.cancel_button.focusPolicy() & Qt.FocusPolicy.TabFocus
    w.cancel_button.click()
    assert loads.cancelled == [3]
    assert "Pausing" in w.label.text() and not w.cancel_button.isEnabled()
    _publish(qtbot, bus, HistoryFinished(3, "cancelled", 1204))
    assert w.label.text() == HISTORY_PAUSED_TEXT
    assert not w.cancel_button.isVisibleTo(w) and not w.bar.isVisibleTo(w)
    assert "Main US" in w.label.toolTip() and "1,204 orders" in w.label.toolTip()


def test_done_says_how_many_then_gives_way_to_the_sync_text(qtbot: Any, bus: Any) -> None:
    w = _widget(qtbot, bus[1], Loads(), linger_ms=50)
    _publish(qtbot, bus, HistoryProgressed(HistoryProgress(4, 0, 3, 0, None, "")))
    assert w.label.text().endswith("Amazon is preparing the reports…")
    _publish(qtbot, bus, HistoryFinished(4, "done", 3120))
    assert w.label.text() == "Order history loaded: 3,120 orders"
    assert not w.isHidden()
    qtbot.waitUntil(w.isHidden, timeout=3000)


def test_two_stores_at_once_show_the_first_and_count_the_other(qtbot: Any, bus: Any) -> None:
    w = _widget(qtbot, bus[1], Loads())
    _publish(qtbot, bus, HistoryProgressed(HistoryProgress(3, 0, 3, 0, None, "")))
    _publish(qtbot, bus, HistoryProgressed(HistoryProgress(4, 1, 2, 10, 30.0, "")))
    assert "of Main US" in w.label.text() and w.label.text().endswith("(and 1 other store)")
    _publish(qtbot, bus, HistoryFinished(3, "done", 5))
    assert w.label.text().startswith("Loading order history of Europe: 1 of 2 reports")


def test_failure_shows_amazons_words_and_try_again_resumes(qtbot: Any, bus: Any) -> None:
    loads = Loads()
    w = _widget(qtbot, bus[1], loads)
    error = "Amazon could not make the order report for 01 Oct 2026 to 31 Oct 2026: Too many."
    _publish(qtbot, bus, HistoryFinished(3, "failed", 40, error))
    assert w.label.text().startswith("⚠ Order history of Main US not loaded: Amazon")
    assert w.label.toolTip() == error
    assert w.retry_button.isVisibleTo(w) and not w.cancel_button.isVisibleTo(w)
    w.retry_button.click()
    assert loads.resumed == [3]
    assert w.label.text().startswith("Loading order history of Main US")
    assert not w.retry_button.isVisibleTo(w)
    # It ran: its own notices tell the rest; the Future's outcome adds nothing.
    _publish(qtbot, bus, HistoryProgressed(HistoryProgress(3, 2, 3, 80, 60.0, "")))
    _publish(qtbot, bus, HistoryFinished(3, "done", 120))
    loads.futures[0].set_result(None)
    qtbot.waitUntil(lambda: w.label.text() == "Order history loaded: 120 orders", timeout=2000)


def test_a_load_refused_before_it_began_is_shown(qtbot: Any, bus: Any) -> None:
    """No notice comes from a load the service refused (an agent without the right):
    the Future's error ends the "Loading…" display."""
    loads = Loads()
    w = _widget(qtbot, bus[1], loads)
    _publish(qtbot, bus, HistoryFinished(3, "failed", 0, "Amazon did not answer."))
    w.retry_button.click()
    assert w.cancel_button.isVisibleTo(w)
    loads.futures[0].set_exception(PermissionDenied())
    qtbot.waitUntil(lambda: w.label.text().startswith("⚠ "), timeout=2000)
    assert w.label.text() == f"⚠ {PermissionDenied.title}"
    assert w.retry_button.isVisibleTo(w) and not w.cancel_button.isVisibleTo(w)


def test_a_load_cancelled_before_a_worker_took_it_ends_paused(qtbot: Any, bus: Any) -> None:
    loads = Loads()
    w = _widget(qtbot, bus[1], loads)
    future: Future[Any] = Future()
    w.track(4, future)
    assert "of Europe" in w.label.text()
    future.set_exception(OperationCancelled())
    qtbot.waitUntil(lambda: w.label.text() == HISTORY_PAUSED_TEXT, timeout=2000)


@pytest.mark.expect_log("muttefik.ui", "WARNING", "HistoryRunning")
def test_try_again_while_one_runs_says_so(
    qtbot: Any, bus: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[QMessageBox] = []
    monkeypatch.setattr("ui.errors._present", shown.append)
    loads = Loads()
    w = _widget(qtbot, bus[1], loads)
    _publish(qtbot, bus, HistoryFinished(3, "failed", 0, "Amazon did not answer."))
    loads.refuse = HistoryRunning()
    w.retry_button.click()
    assert [box.text() for box in shown] == [HistoryRunning.message]
    assert w.retry_button.isVisibleTo(w)
