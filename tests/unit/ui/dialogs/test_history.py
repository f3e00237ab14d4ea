"""Tools → Amazon stores → "Load order history…" (ui/dialogs/history.py): the last load's
state and the days setting through the real services; Load and Resume start the load."""

from __future__ import annotations

from concurrent.futures import Future
from datetime import timedelta
from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox

from app import settings
from app.amazon.history import HistoryRunning, HistoryService, HistoryState
from app.amazon.models import HistoryProgress, Region, Store, StoreDraft
from app.amazon.orders_repo import to_db_time
from app.errors import PermissionDenied
from app.notices import HistoryFinished, HistoryProgressed
from app.services import Core, Services, build_services
from tests.helpers.operators import put_operator
from tests.helpers.orders import ADMIN, NOW
from ui.dialogs.history import HistoryDialog, state_text
from ui.events import QtEvents


class Starts:
    """The real service's reads; ``start`` recorded (a real one would call Amazon)."""

    def __init__(self, real: HistoryService) -> None:
        self.real = real
        self.calls: list[tuple[int, int | None]] = []
        self.futures: list[Future[Any]] = []
        self.refuse: BaseException | None = None
        self.running = False

    def start(self, actor: Any, store_id: int, days: int | None = None) -> Future[Any]:
        if self.refuse is not None:
            raise self.refuse
        self.calls.append((store_id, days))
        future: Future[Any] = Future()
        self.futures.append(future)
        return future

    def state(self, actor: Any, store_id: int) -> Future[HistoryState | None]:
        return self.real.state(actor, store_id)

    def is_running(self, store_id: int) -> bool:
        return self.running


@pytest.fixture
def services(core: Core) -> Services:
    put_operator(core.vault, ADMIN)
    return build_services(core)


@pytest.fixture
def store(services: Services) -> Store:
    draft = StoreDraft(
        name="Main US",
        region=Region.NA,
        marketplace_ids=("ATVPDKIKX0DER",),
        lwa_client_id="amzn1.application-oa2-client.x",
    )
    return services.stores.create_store(ADMIN, draft)


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[QMessageBox]:
    boxes: list[QMessageBox] = []
    monkeypatch.setattr("ui.errors._present", boxes.append)
    return boxes


def _seed(
    services: Services, store_id: int, state: str, ranges: list[str], orders: int, error=None
) -> None:
    start = NOW - timedelta(days=30 * len(ranges))

    def write(conn: Any) -> None:
        conn.execute(
            "INSERT INTO history_loads(store_id, since, until, state, started_at, finished_at, "
            "orders, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                store_id,
                to_db_time(start),
                to_db_time(NOW),
                state,
                to_db_time(NOW - timedelta(minutes=5)),
                None if state == "running" else to_db_time(NOW),
                orders,
                error,
            ),
        )
        for n, range_state in enumerate(ranges):
            conn.execute(
                "INSERT INTO history_ranges(store_id, range_start, range_end, state) "
                "VALUES (?, ?, ?, ?)",
                (
                    store_id,
                    to_db_time(start + timedelta(days=30 * n)),
                    to_db_time(start + timedelta(days=30 * (n + 1))),
                    range_state,
                ),
            )

    services.core.vault.call_write(write)


def _dialog(
    qtbot: Any, services: Services, store: Store, **kw: Any
) -> tuple[HistoryDialog, Starts]:
    starts = Starts(services.history)
    dialog = HistoryDialog(
        history=starts,
        actor=ADMIN,
        store=store,
        settings_service=services.settings,
        **kw,
    )
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.state_known, timeout=3000)
    return dialog, starts


def test_state_in_words() -> None:
    def state(s: str, ranges: tuple[str, ...], orders: int, error: str | None = None) -> Any:
        from app.amazon.history import HistoryRange

        return HistoryState(
            1, NOW, NOW, s, NOW, NOW, orders, error,
            tuple(HistoryRange(NOW, NOW, r) for r in ranges),
        )  # fmt: skip

    assert state_text(None, False).startswith("No order history")
    done = state("done", ("done", "empty", "done"), 3120)
    day = f"{NOW.astimezone():%d %b %Y}".lstrip("0")  # "1 Nov 2026"
    assert state_text(done, False) == f"Last loaded {day}: 3,120 orders"
    paused = state("cancelled", ("done", "pending", "requested"), 1)
    assert state_text(paused, False) == "Paused at 1 of 3 reports (1 order so far)."
    failed = state("failed", ("done", "done", "requested"), 9, "Amazon could not make it")
    assert state_text(failed, False) == "Stopped at 2 of 3 reports: Amazon could not make it"
    assert state_text(state("running", ("done",), 2), True).startswith("Loading now: 1 of 1")


def test_days_come_from_the_setting_and_load_starts_a_new_load(
    qtbot: Any, services: Services, store: Store
) -> None:
    services.settings.set(ADMIN, settings.SYNC_BACKFILL_DAYS, 120)
    dialog, starts = _dialog(qtbot, services, store)
    qtbot.waitUntil(lambda: dialog.days.value() == 120, timeout=3000)
    assert (dialog.days.minimum(), dialog.days.maximum()) == (7, 730)
    assert dialog.state_label.text().startswith("No order history")
    assert not dialog.resume_button.isVisibleTo(dialog)
    assert "addresses" in dialog.findChild(type(dialog.state_label), "historyIntro").text()
    dialog.days.setValue(400)
    with qtbot.waitSignal(dialog.load_started, timeout=2000) as started:
        dialog.load_button.click()
    assert started.args == [store.id]
    assert starts.calls == [(store.id, 400)]
    assert dialog.state_label.text().startswith("Loading")
    assert not dialog.load_button.isEnabled()


def test_a_paused_load_offers_resume(qtbot: Any, services: Services, store: Store) -> None:
    _seed(services, store.id, "cancelled", ["done", "requested", "pending"], 1204)
    events = QtEvents(services.core.notices)
    try:
        dialog, starts = _dialog(qtbot, services, store, qt_events=events)
        assert dialog.state_label.text() == "Paused at 1 of 3 reports (1,204 orders so far)."
        assert dialog.resume_button.isVisibleTo(dialog) and dialog.load_button.isEnabled()
        dialog.resume_button.click()
        assert starts.calls == [(store.id, None)]
        # Its progress shows here while the dialog is open, its end re-reads the state.
        progress = HistoryProgress(store.id, 2, 3, 1300, 60.0, "")
        with qtbot.waitSignal(events.published, timeout=2000):
            services.core.notices.publish(HistoryProgressed(progress))
        assert dialog.state_label.text().startswith("Loading order history: 2 of 3 reports")
        _seed_done = services.core.vault.call_write
        _seed_done(lambda c: c.execute("UPDATE history_loads SET state = 'done', orders = 1400"))
        with qtbot.waitSignal(events.published, timeout=2000):
            services.core.notices.publish(HistoryFinished(store.id, "done", 1400))
        qtbot.waitUntil(lambda: dialog.state_label.text().startswith("Last loaded"), timeout=3000)
        assert dialog.state_label.text().endswith(": 1,400 orders")
        assert not dialog.resume_button.isVisibleTo(dialog)
    finally:
        events.close()


def test_a_load_left_running_by_a_closed_app_can_be_resumed(
    qtbot: Any, services: Services, store: Store
) -> None:
    _seed(services, store.id, "running", ["done", "pending"], 50)
    dialog, _starts = _dialog(qtbot, services, store)
    assert dialog.state_label.text() == "Paused at 1 of 2 reports (50 orders so far)."
    assert dialog.resume_button.isVisibleTo(dialog)


def test_a_running_load_offers_neither_button(qtbot: Any, services: Services, store: Store) -> None:
    _seed(services, store.id, "running", ["done", "pending"], 50)
    starts = Starts(services.history)
    starts.running = True
    dialog = HistoryDialog(history=starts, actor=ADMIN, store=store, days=30)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.state_known, timeout=3000)
    assert dialog.days.value() == 30
    assert dialog.state_label.text().startswith("Loading now: 1 of 2 reports")
    assert not dialog.load_button.isEnabled() and not dialog.resume_button.isVisibleTo(dialog)


@pytest.mark.expect_log("muttefik.ui", "WARNING", "HistoryRunning")
def test_one_already_running_is_said_plainly(
    qtbot: Any, services: Services, store: Store, shown: list[QMessageBox]
) -> None:
    dialog, starts = _dialog(qtbot, services, store)
    starts.refuse = HistoryRunning()
    dialog.load_button.click()
    assert [b.windowTitle() for b in shown] == [HistoryRunning.title]
    assert shown[0].text() == HistoryRunning.message


@pytest.mark.expect_log("muttefik.ui", "WARNING", "PermissionDenied")
def test_a_load_refused_before_it_began_is_shown(
    qtbot: Any, services: Services, store: Store, shown: list[QMessageBox]
) -> None:
    dialog, starts = _dialog(qtbot, services, store)
    dialog.load_button.click()
    starts.futures[0].set_exception(PermissionDenied())
    qtbot.waitUntil(lambda: len(shown) == 1, timeout=3000)
    assert shown[0].windowTitle() == PermissionDenied.title


def test_a_failure_after_it_began_is_left_to_the_status_bar(
    qtbot: Any, services: Services, store: Store, shown: list[QMessageBox]
) -> None:
    events = QtEvents(services.core.notices)
    try:
        dialog, starts = _dialog(qtbot, services, store, qt_events=events)
        dialog.load_button.click()
        with qtbot.waitSignal(events.published, timeout=2000):
            services.core.notices.publish(HistoryFinished(store.id, "failed", 0, "No."))
        starts.futures[0].set_exception(PermissionDenied())
        qtbot.waitUntil(lambda: dialog.load_button.isEnabled(), timeout=3000)
        assert shown == []
    finally:
        events.close()
