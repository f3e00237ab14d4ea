"""What runs after sign-in (ui/runtime.py): the order history bits.  Loads a closed app
left unfinished resume off the GUI thread; the status bar shows a load's progress with
the store's name; "Try again" resumes as the signed-in operator."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

import pytest

from app.amazon.models import HistoryProgress, Region, StoreDraft
from app.notices import HistoryFinished, HistoryProgressed
from app.services import build_services
from tests.helpers.windows import admin_session, windows_go_before_the_vault  # noqa: F401
from ui.events import QtEvents
from ui.main_window import MainWindow
from ui.runtime import SessionRuntime


@pytest.fixture
def runtime(qtbot: Any, core: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    services = build_services(core)
    session = admin_session(services)
    store = services.stores.create_store(
        session.actor,
        StoreDraft(
            name="Main US",
            region=Region.NA,
            marketplace_ids=("ATVPDKIKX0DER",),
            lwa_client_id="amzn1.application-oa2-client.x",
        ),
    )
    # Not what this module tests: the schedules, the models, the Amazon client.
    monkeypatch.setattr(services.sync_job, "start", lambda **kw: None)
    monkeypatch.setattr(services.mail_job, "start", lambda: None)
    monkeypatch.setattr(services.drafting, "warm_up", lambda: None)
    monkeypatch.setattr("app.amazon.spapi.warm_up", lambda: None)
    events = QtEvents(core.notices)
    window = MainWindow(services, events, session)
    qtbot.addWidget(window)
    rt = SessionRuntime(window)
    yield rt, services, store, events
    rt.close()
    events.close()


def test_unfinished_loads_resume_off_the_gui_thread(
    qtbot: Any, runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt, services, _store, _events = runtime
    threads: list[threading.Thread] = []

    def resume_unfinished() -> list[int]:
        threads.append(threading.current_thread())
        return []

    monkeypatch.setattr(services.history, "resume_unfinished", resume_unfinished)
    rt.start()
    qtbot.waitUntil(lambda: len(threads) == 1, timeout=5000)
    assert threads[0] is not threading.main_thread()


def test_a_failed_resume_is_logged_not_shown(
    qtbot: Any, runtime: Any, monkeypatch: pytest.MonkeyPatch, expected_logs: Any
) -> None:
    rt, services, _store, _events = runtime
    expected_logs.expect("muttefik.ui", "WARNING", "order history loads not resumed: OSError")

    def resume_unfinished() -> list[int]:
        raise OSError("disk")

    monkeypatch.setattr(services.history, "resume_unfinished", resume_unfinished)
    rt.start()
    qtbot.waitUntil(
        lambda: any("not resumed" in r.getMessage() for r in expected_logs.records),
        timeout=5000,
    )


def test_status_bar_names_the_store_and_try_again_resumes_as_the_operator(
    qtbot: Any, runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt, services, store, events = runtime
    monkeypatch.setattr(services.history, "resume_unfinished", lambda: [])
    started: list[tuple[Any, int, int | None]] = []

    def start(actor: Any, store_id: int, days: int | None = None) -> Future[Any]:
        started.append((actor, store_id, days))
        return Future()

    monkeypatch.setattr(services.history, "start", start)
    rt.start()
    widget = rt.history_status
    assert widget.parent() is not None  # in the status bar
    qtbot.waitUntil(lambda: rt._store_names.get(store.id) == "Main US", timeout=5000)
    with qtbot.waitSignal(events.published, timeout=2000):
        services.core.notices.publish(
            HistoryProgressed(HistoryProgress(store.id, 1, 3, 1204, 125.0, ""))
        )
    assert widget.label.text().startswith("Loading order history of Main US: 1 of 3 reports")
    with qtbot.waitSignal(events.published, timeout=2000):
        services.core.notices.publish(HistoryFinished(store.id, "failed", 1204, "No answer."))
    assert widget.retry_button.isVisibleTo(widget)
    widget.retry_button.click()
    assert started == [(rt.actor, store.id, None)]
