"""The privacy tab: the retention settings in words, last/next purge and "Purge now",
buyer data by age (overdue in red with why), open deletion requests (overdue in red,
"Carry out" asks first), new request, erase and export, and the tab is for admins only.

The privacy and subject services are small fakes passed to the view (their real
implementations, app/privacy/service.py and subjects.py, are built in parallel); the
window test uses the real services."""

from __future__ import annotations

from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PySide6.QtWidgets import QPushButton, QTableWidget, QTableWidgetItem
from pytestqt.qtbot import QtBot

from app.auth.models import Actor, Session
from app.auth.rbac import Role
from app.clock import FakeClock
from app.jobs import Job
from app.notices import Notices, ThreadsChanged
from app.privacy.models import (
    DeletionRequest,
    PiiAge,
    PurgeCounts,
    PurgeRun,
    RequestSource,
    RequestState,
    RunKind,
    RunState,
    Subject,
    SubjectKind,
)
from app.settings import AMAZON_REQUEST_HOURS, PII_RETENTION_DAYS, PURGE_INTERVAL_MINUTES
from tests.helpers.operators import put_operator
from tests.helpers.windows import admin_session, windows_go_before_the_vault  # noqa: F401
from ui.events import QtEvents
from ui.views.privacy import RED, PrivacyView, interval_words, time_left

ADMIN = Actor(id=1, username="admin", display_name="Admin", role=Role.ADMIN)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _done(value: Any) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_result(value)
    return future


class FakePrivacy:
    def __init__(self) -> None:
        self.last: PurgeRun | None = None
        self.next_due: datetime | None = NOW + timedelta(minutes=40)
        self.age = PiiAge(due_in_7_days=4, due_later=10, oldest_deadline=NOW + timedelta(days=2))
        self.status_reads = 0
        self.purges: list[tuple[Actor, Job | None]] = []

    def status(self, actor: Actor) -> Future[tuple[PurgeRun | None, datetime | None, PiiAge]]:
        self.status_reads += 1
        return _done((self.last, self.next_due, self.age))

    def purge(self, actor: Actor, *, dry_run: bool = False, job: Job | None = None) -> PurgeRun:
        self.purges.append((actor, job))
        self.last = PurgeRun(
            id=7,
            kind=RunKind.PURGE,
            started_at=NOW,
            as_of=NOW,
            state=RunState.DONE,
            finished_at=NOW,
            counts=PurgeCounts(threads=3, messages=12),
        )
        return self.last


class FakeSubjects:
    def __init__(self) -> None:
        self.open: list[DeletionRequest] = []
        self.calls: list[tuple[Any, ...]] = []

    def requests(self, actor: Actor, *, open_only: bool = False) -> Future[list[DeletionRequest]]:
        return _done(list(self.open))

    def register(self, actor: Actor, **values: Any) -> None:
        self.calls.append(("register", values))

    def execute(self, actor: Actor, request_id: int) -> PurgeCounts:
        self.calls.append(("execute", request_id))
        self.open = [r for r in self.open if r.id != request_id]
        return PurgeCounts(threads=1, messages=2)

    def erase(self, actor: Actor, subject: Subject, *, including_messages: bool = False) -> Any:
        self.calls.append(("erase", subject, including_messages))
        return PurgeCounts(threads=1, messages_deleted=5)

    def write_export(self, actor: Actor, subject: Subject, folder: Path) -> list[Path]:
        self.calls.append(("export", subject, folder))
        return [folder / "buyer.json", folder / "buyer.html"]


class FakeSettings:
    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def all(self, actor: Actor) -> Future[dict[str, Any]]:
        return _done(dict(self.values))


def _request(rid: int, kind: SubjectKind, value: str, received: datetime, **kw: Any) -> Any:
    source = kw.pop("source", RequestSource.BUYER)
    due = received + (timedelta(hours=72) if source == RequestSource.AMAZON else timedelta(30))
    return DeletionRequest(
        id=rid,
        source=source,
        subject=Subject(kind, value),
        received_at=received,
        due_at=due,
        including_messages=kw.pop("including_messages", False),
        state=RequestState.OPEN,
    )


@pytest.fixture
def fakes() -> SimpleNamespace:
    settings = FakeSettings(
        {PII_RETENTION_DAYS.key: 14, PURGE_INTERVAL_MINUTES.key: 60, AMAZON_REQUEST_HOURS.key: 72}
    )
    return SimpleNamespace(
        privacy=FakePrivacy(),
        subjects=FakeSubjects(),
        settings=settings,
        core=SimpleNamespace(clock=FakeClock(NOW)),
    )


def _cell(table: QTableWidget, row: int, column: int) -> QTableWidgetItem:
    item = table.item(row, column)
    assert item is not None
    return item


def _view(qtbot: QtBot, services: Any, qt_events: QtEvents | None = None) -> PrivacyView:
    view = PrivacyView(services, ADMIN, qt_events)
    qtbot.addWidget(view)
    view.resize(900, 700)
    with qtbot.waitSignal(view.loaded):
        view.show()
    return view


def test_summary_says_the_retention_settings_in_words(qtbot: QtBot, fakes: Any) -> None:
    view = _view(qtbot, fakes)
    text = view.summary.text()
    assert "erased <b>14 days after delivery</b>" in text
    assert "a cancelled order: 14 days after it was cancelled" in text
    assert "then every hour" in text
    assert "from Amazon within 72 hours" in text
    assert interval_words(90) == "every 90 minutes" and interval_words(1440) == "once a day"


def test_requests_table_shows_time_left_and_overdue_in_red(qtbot: QtBot, fakes: Any) -> None:
    fakes.subjects.open = [
        _request(1, SubjectKind.ORDER, "111-0000001-0000001", NOW - timedelta(days=3)),
        _request(
            2,
            SubjectKind.ALIAS,
            "x7q@marketplace.amazon.com",
            NOW - timedelta(hours=80),
            source=RequestSource.AMAZON,
        ),
    ]
    fakes.privacy.age = PiiAge(due_in_7_days=4, due_later=9, overdue=1, oldest_deadline=NOW)
    view = _view(qtbot, fakes)
    table = view.table
    assert table.rowCount() == 2
    # Sorted by due date: Amazon's (due 8 hours ago) first.
    assert _cell(table, 0, 0).text() == "Amazon"
    assert _cell(table, 0, 1).text() == "x7q@marketplace.amazon.com"
    assert _cell(table, 0, 4).text() == "overdue by 8 hours"
    assert _cell(table, 0, 4).foreground().color() == RED
    assert _cell(table, 1, 1).text() == "order 111-0000001-0000001"
    assert _cell(table, 1, 4).text() == "27 days left"
    assert _cell(table, 1, 4).foreground().color() != RED
    assert view.no_requests.text() == "2 open requests, 1 overdue"
    assert time_left(NOW + timedelta(minutes=5), NOW) == ("5 minutes left", False)
    view.grab().save("/tmp/c14.png")  # to look at


def test_purge_now_calls_the_service_and_shows_the_counts(qtbot: QtBot, fakes: Any) -> None:
    view = _view(qtbot, fakes)
    assert view.last_run.text() == "No purge has run yet."
    assert "Next purge:" in view.next_run.text()
    with qtbot.waitSignal(view.purged):
        view.purge_button.click()
    actor, job = fakes.privacy.purges[0]
    assert actor == ADMIN and isinstance(job, Job)
    assert view.message.text() == "Purge finished: 3 conversations, 12 messages."
    qtbot.waitUntil(lambda: view.last_run.text().startswith("Last purge:"))
    assert view.last_run.text().endswith("3 conversations, 12 messages.")
    assert view.purge_button.isEnabled()


def test_overdue_pii_is_red_with_the_reason_the_last_run_failed(qtbot: QtBot, fakes: Any) -> None:
    fakes.privacy.last = PurgeRun(
        id=3,
        kind=RunKind.PURGE,
        started_at=NOW - timedelta(hours=1),
        as_of=NOW - timedelta(hours=1),
        state=RunState.FAILED,
        error="The data file is full.",
    )
    fakes.privacy.age = PiiAge(due_in_7_days=1, overdue=2, oldest_deadline=NOW - timedelta(1))
    view = _view(qtbot, fakes)
    assert view.overdue.isVisibleTo(view)
    assert view.overdue.text() == (
        "2 conversations hold buyer data past its deadline. "
        "The last purge failed: The data file is full."
    )
    assert "#b3261e" in view.overdue.styleSheet()
    assert view.last_run.text().startswith("Last purge failed (")
    fakes.privacy.age = PiiAge(due_later=3)
    fakes.privacy.last = None
    with qtbot.waitSignal(view.loaded):
        view.reload()
    assert not view.overdue.isVisibleTo(view)


def test_carry_out_asks_first_then_executes(qtbot: QtBot, fakes: Any) -> None:
    fakes.subjects.open = [
        _request(4, SubjectKind.ORDER, "111-0000004-0000004", NOW, including_messages=True)
    ]
    view = _view(qtbot, fakes)
    asked: list[str] = []
    answer = [False]

    def confirm(title: str, text: str) -> bool:
        asked.append(text)
        return answer[0]

    view.confirm = confirm
    button = view.table.cellWidget(0, 5)
    assert isinstance(button, QPushButton)
    button.click()
    assert "order 111-0000004-0000004 and the messages themselves" in asked[0]
    assert fakes.subjects.calls == []  # cancelled: nothing carried out
    answer[0] = True
    with qtbot.waitSignal(view.changed) as blocker:
        button.click()
    assert fakes.subjects.calls == [("execute", 4)]
    assert blocker.args == ["Erased: 1 conversation, 2 messages."]
    qtbot.waitUntil(lambda: view.table.rowCount() == 0)


def test_new_request_dialog_registers_it(qtbot: QtBot, fakes: Any) -> None:
    view = _view(qtbot, fakes)
    view.new_request_button.click()
    dialog: Any = view.open_dialog
    assert dialog is not None and dialog.objectName() == "newRequestDialog"
    dialog.source.setCurrentIndex(dialog.source.findData(RequestSource.AMAZON))
    dialog.subject_form.kind.setCurrentIndex(1)
    dialog.subject_form.value.setText("  x7q@marketplace.amazon.com ")
    dialog.including_messages.setChecked(True)
    with qtbot.waitSignal(view.changed):
        dialog.accept()
    (call,) = fakes.subjects.calls
    assert call[0] == "register"
    values = call[1]
    assert values["source"] == RequestSource.AMAZON
    assert values["subject"] == Subject(SubjectKind.ALIAS, "x7q@marketplace.amazon.com")
    assert values["subject"].value == "x7q@marketplace.amazon.com"
    assert values["including_messages"] is True
    assert values["received_at"].tzinfo is not None


def test_erase_names_the_consequences_and_export_writes_to_the_chosen_folder(
    qtbot: QtBot, fakes: Any, tmp_path: Path
) -> None:
    view = _view(qtbot, fakes)
    asked: list[str] = []

    def confirm(title: str, text: str) -> bool:
        asked.append(text)
        return True

    view.confirm = confirm
    view.erase_button.click()
    dialog: Any = view.open_dialog
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    assert not ok.isEnabled()  # nothing to erase yet
    dialog.subject_form.value.setText("111-0000009-0000009")
    dialog.including_messages.setChecked(True)
    with qtbot.waitSignal(view.changed):
        ok.click()
    assert "The messages themselves are deleted too." in asked[0]
    assert "cannot be undone" in asked[0]
    assert fakes.subjects.calls == [
        ("erase", Subject(SubjectKind.ORDER, "111-0000009-0000009"), True)
    ]

    view.choose_folder = lambda parent: tmp_path
    view.export_button.click()
    dialog = view.open_dialog
    dialog.subject_form.value.setText("111-0000009-0000009")
    with qtbot.waitSignal(view.changed) as blocker:
        dialog.accept()
    assert fakes.subjects.calls[-1] == (
        "export",
        Subject(SubjectKind.ORDER, "111-0000009-0000009"),
        tmp_path,
    )
    assert blocker.args == [f"The buyer's data was written to {tmp_path}."]


def test_reloads_on_threads_changed(qtbot: QtBot, fakes: Any) -> None:
    notices = Notices()
    events = QtEvents(notices)
    view = _view(qtbot, fakes, events)
    before = fakes.privacy.status_reads
    with qtbot.waitSignal(view.loaded):
        notices.publish(ThreadsChanged(frozenset({1})))
        notices.publish(ThreadsChanged(frozenset({1})))
    assert fakes.privacy.status_reads == before + 1  # a burst is one reload
    events.close()


def test_agents_do_not_get_the_tab(qtbot: QtBot, core: Any) -> None:
    from app.services import build_services
    from ui.main_window import MainWindow
    from ui.tabs import TABS

    assert {s.key: s for s in TABS}["privacy"].admin_only
    services = build_services(core)
    events = QtEvents(core.notices)
    admin = MainWindow(services, events, admin_session(services))
    qtbot.addWidget(admin)
    titles = [admin.tabs.tabText(i) for i in range(admin.tabs.count())]
    assert "Privacy" in titles
    agent = put_operator(
        core.vault, Actor(id=50, username="ayla", display_name="Ayla", role=Role.AGENT)
    )
    window = MainWindow(services, events, Session(actor=agent, signed_in_at=NOW))
    qtbot.addWidget(window)
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert "Privacy" not in titles and "Inbox" in titles
    assert window.tab("privacy") is None
    events.close()
