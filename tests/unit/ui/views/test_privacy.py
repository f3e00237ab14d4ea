"""The privacy tab: the retention settings in words, last/next purge and "Purge now",
buyer data by age (overdue in red with why), open deletion requests (overdue in red,
"Carry out" asks first), new request, erase and export, and the tab is for admins only.

Deletion requests, erasing and exporting go through the real SubjectService and the
settings through the real SettingsService on the test vault; the purge status and
"Purge now" through a small fake of PrivacyService (built in parallel)."""

from __future__ import annotations

from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PySide6.QtWidgets import QProgressDialog, QPushButton, QTableWidget, QTableWidgetItem
from pytestqt.qtbot import QtBot

from app.audit import make_audit_log
from app.auth.models import Actor, Session
from app.auth.rbac import Role
from app.jobs import Job
from app.notices import Notices, ThreadsChanged
from app.privacy.models import (
    PiiAge,
    PurgeCounts,
    PurgeRun,
    RequestSource,
    RunKind,
    RunState,
    Subject,
    SubjectKind,
)
from app.privacy.subjects import SubjectService
from app.services import Core
from app.settings import PII_RETENTION_DAYS
from app.settings_service import SettingsService
from tests.helpers.emails import relay_alias
from tests.helpers.inbox import add_store, put_buyer_message
from tests.helpers.labels import every_value, put_order
from tests.helpers.operators import put_operator
from tests.helpers.windows import admin_session, windows_go_before_the_vault  # noqa: F401
from ui.events import QtEvents
from ui.views.privacy import RED, STOPPED, PrivacyView, interval_words, time_left

ORDER = "111-0000001-0000001"
ADMIN = Actor(id=1, username="admin", display_name="Admin", role=Role.ADMIN)
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)  # the FakeClock of the test core


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
        self.wait_for_cancel = False

    def status(self, actor: Actor) -> Future[tuple[PurgeRun | None, datetime | None, PiiAge]]:
        self.status_reads += 1
        return _done((self.last, self.next_due, self.age))

    def purge(self, actor: Actor, *, dry_run: bool = False, job: Job | None = None) -> PurgeRun:
        self.purges.append((actor, job))
        if self.wait_for_cancel and job is not None:
            job.cancel.wait(10)
            job.check()  # raises OperationCancelled, as the service does between batches
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


def _services(core: Core, privacy: FakePrivacy) -> SimpleNamespace:
    """The real subject and settings services on the test vault, the privacy fake."""
    add_store(core.vault)
    put_operator(core.vault, ADMIN)
    audit = make_audit_log(
        core.vault, core.secrets, clock=core.clock, key=core.vault.audit_key, notices=core.notices
    )
    return SimpleNamespace(
        core=core,
        privacy=privacy,
        subjects=SubjectService(
            vault=core.vault,
            clock=core.clock,
            notices=core.notices,
            audit=audit,
            secrets=core.secrets,
        ),
        settings=SettingsService(
            vault=core.vault, clock=core.clock, audit=audit, notices=core.notices
        ),
    )


@pytest.fixture
def services(core: Core) -> SimpleNamespace:
    return _services(core, FakePrivacy())


def _buyer(core: Core, local: str, order_id: str, name: str) -> None:
    put_order(core.vault, order_id)
    put_buyer_message(
        core.vault,
        now=NOW,
        received=NOW - timedelta(hours=3),
        alias=local,
        order_id=order_id,
        text=f"Hello, {name} here. Where is my parcel?",
        buyer=name,
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


def test_summary_says_the_retention_settings_in_words(qtbot: QtBot, services: Any) -> None:
    services.settings.set(ADMIN, PII_RETENTION_DAYS, 14)
    view = _view(qtbot, services)
    text = view.summary.text()
    assert "erased <b>14 days after delivery</b>" in text
    assert "a cancelled order: 14 days after it was cancelled" in text
    assert "then every hour" in text
    assert "from Amazon within 72 hours" in text
    assert interval_words(90) == "every 90 minutes" and interval_words(1440) == "once a day"


def test_requests_table_shows_time_left_and_overdue_in_red(qtbot: QtBot, services: Any) -> None:
    assert services.core.clock.now() == NOW
    register = services.subjects.register
    register(ADMIN, RequestSource.BUYER, Subject(SubjectKind.ORDER, ORDER), NOW - timedelta(3))
    alias = Subject(SubjectKind.ALIAS, relay_alias("x7q"))
    register(ADMIN, RequestSource.AMAZON, alias, NOW - timedelta(hours=80))
    services.privacy.age = PiiAge(due_in_7_days=4, due_later=9, overdue=1, oldest_deadline=NOW)
    view = _view(qtbot, services)
    table = view.table
    assert table.rowCount() == 2
    # By due date: Amazon's (72 hours, due 8 hours ago) first.
    assert _cell(table, 0, 0).text() == "Amazon"
    assert _cell(table, 0, 1).text() == "x7q@marketplace.amazon.com"  # open: the alias
    assert _cell(table, 0, 4).text() == "overdue by 8 hours"
    assert _cell(table, 0, 4).foreground().color() == RED
    assert _cell(table, 1, 1).text() == f"order {ORDER}"
    assert _cell(table, 1, 4).text() == "27 days left"
    assert _cell(table, 1, 4).foreground().color() != RED
    assert view.no_requests.text() == "2 open requests, 1 overdue"
    assert time_left(NOW + timedelta(minutes=5), NOW) == ("5 minutes left", False)
    view.grab().save("/tmp/c14.png")  # to look at


def test_purge_now_calls_the_service_and_shows_the_counts(qtbot: QtBot, services: Any) -> None:
    view = _view(qtbot, services)
    assert view.last_run.text() == "No purge has run yet."
    assert "Next purge:" in view.next_run.text()
    with qtbot.waitSignal(view.purged):
        view.purge_button.click()
    actor, job = services.privacy.purges[0]
    assert actor == ADMIN and isinstance(job, Job)
    assert view.message.text() == "Purge finished: 3 conversations, 12 messages."
    qtbot.waitUntil(lambda: view.last_run.text().startswith("Last purge:"))
    assert view.last_run.text().endswith("3 conversations, 12 messages.")
    assert view.purge_button.isEnabled()


def test_purge_cancelled_from_its_progress_dialog_says_so(qtbot: QtBot, services: Any) -> None:
    services.privacy.wait_for_cancel = True
    view = _view(qtbot, services)
    view.purge_button.click()
    assert not view.purge_button.isEnabled()
    progress = view.findChild(QProgressDialog)
    assert progress is not None
    qtbot.waitUntil(lambda: len(services.privacy.purges) == 1)
    progress.canceled.emit()  # the Cancel button
    qtbot.waitUntil(view.purge_button.isEnabled)
    assert view.message.text() == STOPPED
    assert services.privacy.last is None


def test_overdue_pii_is_red_with_the_reason_the_last_run_failed(
    qtbot: QtBot, services: Any
) -> None:
    privacy = services.privacy
    privacy.last = PurgeRun(
        id=3,
        kind=RunKind.PURGE,
        started_at=NOW - timedelta(hours=1),
        as_of=NOW - timedelta(hours=1),
        state=RunState.FAILED,
        error="The data file is full.",
    )
    privacy.age = PiiAge(due_in_7_days=1, overdue=2, oldest_deadline=NOW - timedelta(1))
    view = _view(qtbot, services)
    assert view.overdue.isVisibleTo(view)
    assert view.overdue.text() == (
        "2 conversations hold buyer data past its deadline. "
        "The last purge failed: The data file is full."
    )
    assert "#b3261e" in view.overdue.styleSheet()
    assert view.last_run.text().startswith("Last purge failed (")
    privacy.age = PiiAge(due_later=3)
    privacy.last = None
    with qtbot.waitSignal(view.loaded):
        view.reload()
    assert not view.overdue.isVisibleTo(view)


def test_carry_out_asks_first_then_executes(qtbot: QtBot, core: Core, services: Any) -> None:
    _buyer(core, "x7q", ORDER, "Zephyrinequx")
    services.subjects.register(
        ADMIN, RequestSource.BUYER, Subject(SubjectKind.ORDER, ORDER), NOW, including_messages=True
    )
    view = _view(qtbot, services)
    asked: list[str] = []
    answer = [False]

    def confirm(title: str, text: str) -> bool:
        asked.append(text)
        return answer[0]

    view.confirm = confirm
    button = view.table.cellWidget(0, 5)
    assert isinstance(button, QPushButton)
    button.click()
    assert f"order {ORDER} and the messages themselves" in asked[0]
    assert len(services.subjects.requests(ADMIN).result()) == 1  # cancelled: still open
    answer[0] = True
    with qtbot.waitSignal(view.changed) as blocker:
        button.click()
    assert services.subjects.requests(ADMIN).result() == []
    assert blocker.args[0].startswith("Erased: 1 conversation")
    assert "message" in blocker.args[0] and "deleted" in blocker.args[0]
    qtbot.waitUntil(lambda: view.table.rowCount() == 0)
    assert view.no_requests.text() == "No open deletion requests."


def test_new_request_dialog_registers_it(qtbot: QtBot, services: Any) -> None:
    view = _view(qtbot, services)
    view.new_request_button.click()
    dialog: Any = view.open_dialog
    assert dialog is not None and dialog.objectName() == "newRequestDialog"
    dialog.source.setCurrentIndex(dialog.source.findData(RequestSource.AMAZON))
    dialog.subject_form.kind.setCurrentIndex(1)
    dialog.subject_form.value.setText("  x7q@marketplace.amazon.com ")
    dialog.including_messages.setChecked(True)
    with qtbot.waitSignal(view.changed):
        dialog.accept()
    (request,) = services.subjects.requests(ADMIN).result()
    assert request.source == RequestSource.AMAZON
    assert request.subject == Subject(SubjectKind.ALIAS, "x7q@marketplace.amazon.com")
    assert request.subject.value == "x7q@marketplace.amazon.com"
    assert request.including_messages
    assert request.received_at.date() == NOW.date()
    qtbot.waitUntil(lambda: view.table.rowCount() == 1)
    assert _cell(view.table, 0, 0).text() == "Amazon"


def test_erase_names_the_consequences_and_export_writes_to_the_chosen_folder(
    qtbot: QtBot, core: Core, services: Any, tmp_path: Path
) -> None:
    _buyer(core, "x7q", ORDER, "Zephyrinequx")
    view = _view(qtbot, services)
    folder = tmp_path / "answer"
    folder.mkdir()
    view.choose_folder = lambda parent: folder
    view.export_button.click()
    dialog: Any = view.open_dialog
    dialog.subject_form.value.setText(ORDER)
    with qtbot.waitSignal(view.changed) as blocker:
        dialog.accept()
    assert blocker.args == [f"The buyer's data was written to {folder}."]
    assert "Zephyrinequx" in "".join(p.read_text() for p in folder.iterdir())

    asked: list[str] = []

    def confirm(title: str, text: str) -> bool:
        asked.append(text)
        return True

    view.confirm = confirm
    view.erase_button.click()
    dialog = view.open_dialog
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    assert not ok.isEnabled()  # nothing to erase yet
    dialog.subject_form.kind.setCurrentIndex(1)
    dialog.subject_form.value.setText(relay_alias("x7q"))
    with qtbot.waitSignal(view.changed) as blocker:
        ok.click()
    assert "The messages stay, with the buyer's details blanked out." in asked[0]
    assert "cannot be undone" in asked[0]
    assert blocker.args[0].startswith("Erased: 1 conversation")
    assert "Zephyrinequx" not in core.vault.call(every_value)


def test_reloads_on_threads_changed(qtbot: QtBot, services: Any) -> None:
    notices = Notices()
    events = QtEvents(notices)
    view = _view(qtbot, services, events)
    before = services.privacy.status_reads
    with qtbot.waitSignal(view.loaded):
        notices.publish(ThreadsChanged(frozenset({1})))
        notices.publish(ThreadsChanged(frozenset({1})))
    assert services.privacy.status_reads == before + 1  # a burst is one reload
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
