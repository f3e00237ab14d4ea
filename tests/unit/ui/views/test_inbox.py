"""The Inbox tab: the thread list by due time with colours, filters with counts, search as
you type, the conversation and order panes, keyboard navigation, empty states."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QFont

from app import settings
from app.amazon import orders_repo
from app.clock import FakeClock
from app.errors import UserError
from app.mail.inbox_service import ThreadFilter
from app.mail.models import Urgency
from app.notices import MailFetchFailed, Notices, ThreadsChanged
from app.services import Core, Services, build_services
from app.vault import Vault
from tests.helpers.inbox import Seeded, add_store, put_buyer_message, seed_inbox
from tests.helpers.operators import put_operator
from tests.helpers.orders import ADMIN, make_order
from tests.helpers.windows import windows_go_before_the_vault  # noqa: F401
from ui.events import QtEvents
from ui.models.roles import ItemRole
from ui.models.threads_model import URGENCY_COLOURS, Column
from ui.views import inbox as inbox_view
from ui.views.inbox import InboxView


@pytest.fixture
def services(core: Core) -> Services:
    # Drafting on open is issue 12's (its tests); here a draft in flight at teardown
    # would outlive the vault.
    now = core.clock.now()
    core.vault.call_write(lambda c: settings.put(c, settings.DRAFT_ON_OPEN, False, now=now))
    return build_services(core)


@pytest.fixture
def seeded(vault: Vault, clock: FakeClock) -> Seeded:
    add_store(vault)
    return seed_inbox(vault, clock.now())


@pytest.fixture
def events(services: Services) -> Iterator[QtEvents]:
    """The app's notices on the GUI thread (a view's own writes announce themselves)."""
    qt_events = QtEvents(services.core.notices)
    yield qt_events
    qt_events.close()


def _view(qtbot: Any, services: Services, **kw: Any) -> InboxView:
    actor = put_operator(services.core.vault, kw.pop("actor", ADMIN))
    v = InboxView(services=services, actor=actor, **kw)
    qtbot.addWidget(v)
    v.resize(1400, 700)
    v.show()
    qtbot.waitUntil(lambda: v.model.searched_once and v.counts is not None, timeout=5000)
    return v


def _loaded(qtbot: Any, v: InboxView) -> None:
    model = v.model
    qtbot.waitUntil(
        lambda: all(
            model.data(model.index(r, 0), ItemRole.LOADED) for r in range(model.rowCount())
        ),
        timeout=5000,
    )


def test_threads_sorted_by_due_with_clock_colours_and_unread_bold(
    qtbot: Any, services: Services, seeded: Seeded
) -> None:
    v = _view(qtbot, services)
    _loaded(qtbot, v)
    ids = v.model.ids()
    assert ids[:5] == seeded.by_due()
    assert set(ids) == {*seeded.by_due(), seeded.replied}
    model = v.model
    expected = {
        seeded.overdue: Urgency.OVERDUE,
        seeded.urgent: Urgency.URGENT,
        seeded.soon: Urgency.SOON,
        seeded.ok: Urgency.OK,
    }
    for thread_id, urgency in expected.items():
        row = model.row_of(thread_id)
        assert row is not None
        assert model.urgency(row) == urgency
        brush = model.data(model.index(row, Column.DUE), Qt.ItemDataRole.ForegroundRole)
        if urgency in URGENCY_COLOURS:
            assert isinstance(brush, QBrush)
            assert brush.color().name() == URGENCY_COLOURS[urgency][0]
        else:
            assert brush is None
    overdue_row = model.row_of(seeded.overdue)
    assert model.index(overdue_row or 0, Column.DUE).data().startswith("overdue")
    # Unread buyer messages: bold; the replied thread's buyer message is unread too.
    font = model.data(model.index(0, Column.SUBJECT), Qt.ItemDataRole.FontRole)
    assert isinstance(font, QFont) and font.bold()
    presale = model.row_of(seeded.presale)
    assert model.index(presale or 0, Column.ORDER).data() == "—"
    assert model.index(presale or 0, Column.BUYER).data() == "Robin"


def test_filters_with_counts(qtbot: Any, services: Services, seeded: Seeded) -> None:
    v = _view(qtbot, services)
    texts = {kind: button.text() for kind, button in v.filter_buttons.items()}
    assert texts[ThreadFilter.NEEDS_REPLY] == "Needs reply (5)"
    assert texts[ThreadFilter.OVERDUE] == "Overdue (1)"
    assert texts[ThreadFilter.DUE_SOON] == "Due soon (2)"
    assert texts[ThreadFilter.REPLIED] == "Replied (1)"
    with qtbot.waitSignal(v.model.search_finished, timeout=3000):
        v.filter_buttons[ThreadFilter.OVERDUE].click()
    assert v.model.ids() == [seeded.overdue]
    with qtbot.waitSignal(v.model.search_finished, timeout=3000):
        v.filter_buttons[ThreadFilter.DUE_SOON].click()
    assert v.model.ids() == [seeded.urgent, seeded.soon]
    with qtbot.waitSignal(v.model.search_finished, timeout=3000):
        v.filter_buttons[ThreadFilter.REPLIED].click()
    assert v.model.ids() == [seeded.replied]
    with qtbot.waitSignal(v.model.search_finished, timeout=3000):
        v.filter_buttons[ThreadFilter.FLAGGED].click()
    assert v.model.ids() == []
    assert v.list_stack.currentWidget() is v.no_match
    with qtbot.waitSignal(v.model.search_finished, timeout=3000):
        v.no_match.button.click()
    assert v.current_filter() is ThreadFilter.ALL and v.model.rowCount() == 6


def test_store_filter_appears_with_a_second_store(
    qtbot: Any, vault: Vault, services: Services, seeded: Seeded, clock: FakeClock
) -> None:
    add_store(vault, 2, "Second Shop")
    other = put_buyer_message(
        vault,
        now=clock.now(),
        received=clock.now(),
        alias="second0buyer",
        order_id="222-0000001-0000001",
        text="Hello from the second shop",
        store_id=2,
    ).thread_id
    v = _view(qtbot, services)
    qtbot.waitUntil(lambda: v.store_combo.count() == 3, timeout=3000)
    assert v.store_combo.isVisibleTo(v)
    with qtbot.waitSignal(v.model.search_finished, timeout=3000):
        v.store_combo.setCurrentIndex(v.store_combo.findData(2))
    assert v.model.ids() == [other]


def test_search_as_you_type_is_debounced(qtbot: Any, services: Services, seeded: Seeded) -> None:
    v = _view(qtbot, services)
    with qtbot.assertNotEmitted(v.model.search_finished, wait=60):
        v.search.setText("peli")  # typing: nothing before the debounce
    with qtbot.waitSignal(v.model.search_finished, timeout=3000):
        v.search.setText("pelican")
    assert v.model.ids() == [seeded.urgent]
    with qtbot.waitSignal(v.model.search_finished, timeout=3000):
        v.search.setText("111-0000003")
    assert v.model.ids() == [seeded.soon]
    with qtbot.waitSignal(v.model.search_finished, timeout=3000):
        v.search.setText("nothing-like-this")
    assert v.list_stack.currentWidget() is v.no_match


def test_selecting_a_thread_shows_conversation_and_order(
    qtbot: Any,
    vault: Vault,
    services: Services,
    seeded: Seeded,
    clock: FakeClock,
    events: QtEvents,
) -> None:
    order = replace(make_order(1), order_id="111-0000002-0000002")
    vault.call_write(lambda conn: orders_repo.upsert_orders(conn, [order], now=clock.now()))
    v = _view(qtbot, services, qt_events=events)
    row = v.model.row_of(seeded.urgent)
    assert row is not None
    with qtbot.waitSignal(v.order_panel.order_loaded, timeout=5000) as loaded:
        v.select_row(row)
    assert loaded.args == ["111-0000002-0000002"]
    assert v.order_stack.currentWidget() is v.order_panel
    pane = v.conversation
    assert pane.thread_id == seeded.urgent
    assert [m.objectName() for m in pane.message_views] == ["buyerMessage"]
    assert "kettle arrived broken" in pane.message_views[0].body.text()
    assert pane.message_views[0].attachment_buttons[0].text().startswith("kettle.png")
    assert "less than" not in pane.clock_label.text()  # "1 h … left"
    assert pane.clock_label.text().endswith("left")
    # Opening it marks it read: the row is no longer bold after the refresh.
    qtbot.waitUntil(lambda: not v.model.data(v.model.index(row, 0), ItemRole.UNREAD), timeout=5000)

    # A thread whose order is not synced yet, and one without an order.
    with qtbot.waitSignal(v.order_panel.order_missing, timeout=5000):
        v.select_row(v.model.row_of(seeded.soon) or 0)
    assert "not stored yet" in v.order_panel.missing_label.text()
    with qtbot.waitSignal(pane.conversation_loaded, timeout=5000):
        v.select_row(v.model.row_of(seeded.presale) or 0)
    assert v.order_stack.currentWidget() is v.no_order_page


def test_replied_thread_shows_both_sides_oldest_first(
    qtbot: Any, services: Services, seeded: Seeded
) -> None:
    v = _view(qtbot, services)
    with qtbot.waitSignal(v.conversation.conversation_loaded, timeout=5000):
        v.select_row(v.model.row_of(seeded.replied) or 0)
    views = v.conversation.message_views
    assert [m.objectName() for m in views] == ["buyerMessage", "sellerMessage"]
    assert "Does it fit" in views[0].body.text() and "Yes, it fits" in views[1].body.text()
    assert v.conversation.clock_label.text() == ""


def test_keyboard_navigation(qtbot: Any, services: Services, seeded: Seeded) -> None:
    v = _view(qtbot, services)
    v.activateWindow()
    v.table.setFocus()
    qtbot.waitUntil(v.table.hasFocus, timeout=2000)
    v.select_row(0)
    qtbot.keyClick(v.table, Qt.Key.Key_J)
    assert v.selected_thread_id() == v.model.thread_id(1)
    qtbot.keyClick(v.table, Qt.Key.Key_K)
    assert v.selected_thread_id() == v.model.thread_id(0)
    qtbot.keyClick(v.table, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)
    assert v.selected_thread_id() == v.model.thread_id(1)
    qtbot.waitUntil(lambda: v.conversation.thread_id == v.model.thread_id(1), timeout=3000)
    qtbot.waitUntil(
        lambda: v.conversation.stack.currentWidget() is v.conversation.thread_page, timeout=3000
    )
    qtbot.keyClick(v.table, Qt.Key.Key_R)
    qtbot.waitUntil(v.conversation.editor.hasFocus, timeout=2000)
    qtbot.keyClick(v.conversation.editor, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(v.search.hasFocus, timeout=2000)
    qtbot.keyClick(v.search, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(v.conversation.editor.hasFocus, timeout=2000)
    qtbot.keyClick(v.conversation.editor, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    assert v.selected_thread_id() == v.model.thread_id(0)
    assert "Ctrl+Shift+N" in v.conversation.no_response_button.toolTip()
    assert "Ctrl+Return" in v.conversation.send_button.toolTip()
    assert "J / K" in v.table.toolTip()


def test_no_mailbox_state(qtbot: Any, vault: Vault, services: Services) -> None:
    add_store(vault)
    v = _view(qtbot, services)
    qtbot.waitUntil(lambda: v.list_stack.currentWidget() is v.no_mailbox, timeout=3000)
    assert "muttefik mail add" in v.no_mailbox.text.text()


def test_no_threads_state_with_a_mailbox(
    qtbot: Any, vault: Vault, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_store(vault)
    v = _view(qtbot, services)
    v._mailboxes = 1  # a mailbox is connected, nothing arrived yet
    v._update_page()
    assert v.list_stack.currentWidget() is v.no_threads


def test_fetch_error_and_refresh_on_new_mail(
    qtbot: Any,
    vault: Vault,
    services: Services,
    seeded: Seeded,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(inbox_view, "REFRESH_MIN_MS", 50)
    bus = Notices()
    events = QtEvents(bus)
    v = _view(qtbot, services, qt_events=events)
    assert not v.fetch_error.isVisibleTo(v)

    class Unreachable(UserError):
        title = "Mail server unreachable"
        message = "The mail server did not answer."

    with qtbot.waitSignal(events.published, timeout=2000):
        bus.publish(MailFetchFailed(store_id=1, error=Unreachable()))
    assert v.fetch_error.isVisibleTo(v)
    assert "Mail server unreachable" in v.fetch_error.text()

    new = put_buyer_message(
        vault,
        now=clock.now(),
        received=clock.now(),
        alias="newbuyer0000",
        order_id="111-0000009-0000009",
        text="Another question",
    ).thread_id
    with qtbot.waitSignal(v.model.search_finished, timeout=3000):
        bus.publish(ThreadsChanged(frozenset({1}), (new,), new_messages=1))
    assert new in v.model.ids()
    qtbot.waitUntil(lambda: v.filter_buttons[ThreadFilter.ALL].text() == "All (7)", timeout=3000)
    events.close()


def test_no_response_needed_from_the_keyboard(
    qtbot: Any, services: Services, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    monkeypatch.setattr(
        "ui.views.conversation.QDesktopServices.openUrl",
        lambda url: opened.append(url.toString()),
    )
    v = _view(qtbot, services)
    v.activateWindow()
    with qtbot.waitSignal(v.conversation.conversation_loaded, timeout=5000):
        v.select_row(v.model.row_of(seeded.ok) or 0)
    v.table.setFocus()
    qtbot.waitUntil(v.table.hasFocus, timeout=2000)
    with qtbot.waitSignal(v.conversation.marked_no_response, timeout=3000) as marked:
        qtbot.keyClick(
            v.table,
            Qt.Key.Key_N,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        )
    assert marked.args == [seeded.ok]
    assert len(opened) == 1 and "no-response-needed" in opened[0]


def test_check_now_and_the_mail_checks_status(
    qtbot: Any,
    services: Services,
    seeded: Seeded,
    clock: FakeClock,
    events: QtEvents,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.jobs import JobChanged, JobStatus
    from app.mail.mail_job import NAME

    asked: list[object] = []
    # The job itself is not started here (the app starts it); record that it was asked.
    monkeypatch.setattr(services.mail_job, "run_now", lambda store_id=None: asked.append(store_id))
    v = _view(qtbot, services, qt_events=events)
    assert v.fetch_status.text() == "Mail not checked yet"
    v.check_now.click()
    assert asked == [None] and v.fetch_status.text() == "Checking…"
    done = JobStatus(NAME, last_finished=clock.now(), last_error="Mail server unreachable")
    with qtbot.waitSignal(v.fetch_status_changed, timeout=3000):
        services.core.notices.publish(JobChanged(done))
    assert v.fetch_status.text() == "Mail checked just now · Mail server unreachable"
    ok = JobStatus(NAME, last_finished=clock.now())
    with qtbot.waitSignal(v.fetch_status_changed, timeout=3000):
        services.core.notices.publish(JobChanged(ok))
    assert v.fetch_status.text() == "Mail checked just now"
