"""The privacy tab: the retention settings in words, last/next purge and "Purge now",
buyer data by age (overdue in red with why), open deletion requests (overdue in red,
"Carry out" asks first), new request, erase and export, and the tab is for admins only.

Deletion requests, erasing and exporting go through the real SubjectService and the
settings through the real SettingsService on the test vault; the purge status and
"Purge now" through a small fake of PrivacyService (built in parallel)."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PySide6.QtWidgets import QProgressDialog, QPushButton, QTableWidget, QTableWidgetItem
from pytestqt.qtbot import QtBot

from app import access
from app.amazon import orders_repo
from app.amazon.models import OrderStatus
from app.amazon.orders_repo import to_db_time
from app.audit import make_audit_log
from app.auth.models import Actor, Session
from app.auth.rbac import Role
from app.jobs import Job
from app.notices import AuditAppended, Notices, ThreadsChanged
from app.privacy.models import (
    PurgeCounts,
    PurgeRun,
    RequestSource,
    RunState,
    Subject,
    SubjectKind,
)
from app.privacy.service import PrivacyService, PrivacyStatus
from app.privacy.subjects import SubjectService
from app.services import Core
from app.settings import PII_RETENTION_DAYS
from app.settings_service import SettingsService
from tests.helpers.emails import relay_alias
from tests.helpers.inbox import add_store, put_buyer_message
from tests.helpers.labels import every_value, put_order
from tests.helpers.operators import put_operator
from tests.helpers.orders import make
from tests.helpers.privacy import found, markers, put_buyer
from tests.helpers.windows import admin_session, windows_go_before_the_vault  # noqa: F401
from ui.events import QtEvents
from ui.views.privacy import (
    RED,
    STOPPED,
    PrivacyView,
    counts_text,
    interval_words,
    time_left,
    when_text,
)

ORDER = "111-0000001-0000001"
ADMIN = Actor(id=1, username="admin", display_name="Admin", role=Role.ADMIN)
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)  # the FakeClock of the test core


DAY = timedelta(days=1)
EXPIRED = (1, 2)  # delivered 40 days ago: past the 30 days
RECENT = 9  # delivered 5 days ago


class HeldPurge:
    """The real service whose purge is held open until the job is cancelled."""

    def __init__(self, real: PrivacyService) -> None:
        self.real = real
        self.started = threading.Event()

    def status(self, actor: Actor) -> Future[PrivacyStatus]:
        return self.real.status(actor)

    def purge(self, actor: Actor, *, dry_run: bool = False, job: Job | None = None) -> PurgeRun:
        assert job is not None
        self.started.set()
        job.cancel.wait(10)
        return self.real.purge(actor, job=job)


@pytest.fixture
def services(core: Core) -> SimpleNamespace:
    """The real privacy, subject and settings services on the test vault."""
    add_store(core.vault)
    put_operator(core.vault, ADMIN)
    audit = make_audit_log(
        core.vault, core.secrets, clock=core.clock, key=core.vault.audit_key, notices=core.notices
    )
    return SimpleNamespace(
        core=core,
        privacy=PrivacyService(
            vault=core.vault, clock=core.clock, notices=core.notices, audit=audit, jobs=core.jobs
        ),
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


def _seed_buyers(core: Core) -> None:
    """Buyers 1 and 2 past their deadline, buyer 9 with 25 days to go."""
    orders = [make(n, status=OrderStatus.SHIPPED, delivered_at=NOW - 40 * DAY) for n in EXPIRED]
    orders.append(make(RECENT, status=OrderStatus.SHIPPED, delivered_at=NOW - 5 * DAY))
    core.vault.call_write(lambda conn: orders_repo.upsert_orders(conn, orders, now=NOW))
    for n, order in zip((*EXPIRED, RECENT), orders, strict=True):
        put_buyer(core.vault, n, order.order_id, NOW - 60 * DAY)


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
    assert counts_text(PurgeCounts()) == "nothing was due"


def test_requests_table_shows_time_left_and_overdue_in_red(qtbot: QtBot, services: Any) -> None:
    assert services.core.clock.now() == NOW
    register = services.subjects.register
    register(ADMIN, RequestSource.BUYER, Subject(SubjectKind.ORDER, ORDER), NOW - timedelta(3))
    alias = Subject(SubjectKind.ALIAS, relay_alias("x7q"))
    register(ADMIN, RequestSource.AMAZON, alias, NOW - timedelta(hours=80))
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


def test_purge_now_erases_and_shows_the_counts(qtbot: QtBot, core: Core, services: Any) -> None:
    _seed_buyers(core)
    view = _view(qtbot, services)
    assert view.last_run.text() == "No purge has run yet."
    assert view.next_run.text() == "Next purge: not scheduled"
    assert view.overdue.isVisibleTo(view)
    assert view.overdue.text().startswith("2 conversations hold buyer data past its deadline.")
    assert "#b3261e" in view.overdue.styleSheet()
    assert view.age.text().startswith("Conversations holding buyer data: 0 to be erased")
    with qtbot.waitSignal(view.purged, timeout=10_000) as blocker:
        view.purge_button.click()
    run = blocker.args[0]
    assert run.state is RunState.DONE and run.counts.threads == 2
    assert view.message.text() == f"Purge finished: {counts_text(run.counts)}."
    assert view.message.text().startswith("Purge finished: 2 conversations, 4 messages")
    qtbot.waitUntil(lambda: not view.overdue.isVisibleTo(view))
    assert view.last_run.text().startswith("Last purge: ")
    assert view.next_run.text() != "Next purge: not scheduled"  # an hour after the run
    assert view.age.text() == (
        "Conversations holding buyer data: 0 to be erased within 7 days, 1 later. The "
        f"oldest is due for erasing on {when_text(NOW + 25 * DAY)}."
    )
    assert found(core.vault, 1) == [] and found(core.vault, RECENT) == list(markers(RECENT))
    assert view.purge_button.isEnabled()


def test_purge_cancelled_from_its_progress_dialog_says_so(
    qtbot: QtBot, core: Core, services: Any
) -> None:
    _seed_buyers(core)
    services.privacy = HeldPurge(services.privacy)
    view = _view(qtbot, services)
    view.purge_button.click()
    assert not view.purge_button.isEnabled()
    progress = view.findChild(QProgressDialog)
    assert progress is not None
    qtbot.waitUntil(services.privacy.started.is_set)
    progress.canceled.emit()  # the Cancel button
    qtbot.waitUntil(view.purge_button.isEnabled)
    assert view.message.text() == STOPPED
    assert found(core.vault, 1) == list(markers(1))  # stopped before the first batch
    qtbot.waitUntil(lambda: view.last_run.text().startswith("Last purge stopped"))


def test_overdue_pii_is_red_with_the_reason_the_last_run_failed(
    qtbot: QtBot, core: Core, services: Any
) -> None:
    _seed_buyers(core)
    core.vault.call_write(
        lambda conn: conn.execute(
            "INSERT INTO privacy_runs(kind, started_at, finished_at, as_of, state, error) "
            "VALUES ('purge', ?, ?, ?, 'failed', 'Data file full')",
            (to_db_time(NOW - DAY), to_db_time(NOW - DAY), to_db_time(NOW - DAY)),
        )
    )
    events = QtEvents(core.notices)
    view = _view(qtbot, services, events)
    assert view.overdue.isVisibleTo(view)
    assert view.overdue.text() == (
        "2 conversations hold buyer data past its deadline. The last purge failed: Data file full"
    )
    assert view.last_run.text().startswith("Last purge failed (")
    assert "#b3261e" in view.last_run.styleSheet()
    # A purge from elsewhere (the scheduled job) shows up without pressing anything.
    services.privacy.purge(access.SYSTEM)
    qtbot.waitUntil(lambda: not view.overdue.isVisibleTo(view))
    assert view.last_run.text().startswith("Last purge: ")
    assert "#b3261e" not in view.last_run.styleSheet()
    events.close()


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


def test_reloads_once_for_a_burst_of_notices_and_not_while_hidden(
    qtbot: QtBot, services: Any
) -> None:
    notices = Notices()
    events = QtEvents(notices)
    view = _view(qtbot, services, events)
    with qtbot.waitSignal(view.loaded):
        notices.publish(ThreadsChanged(frozenset({1})))
        notices.publish(AuditAppended(last_seq=3))
    assert not view._refresh.isActive()  # one reload for both
    view.hide()
    notices.publish(ThreadsChanged(frozenset({1})))
    qtbot.waitUntil(lambda: view._stale)
    assert not view._refresh.isActive()  # hidden: no reload ...
    with qtbot.waitSignal(view.loaded):
        view.show()  # ... until shown again
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
