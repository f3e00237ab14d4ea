"""The thread list model: rows by due time from the real inbox service, the clock's
colours, bold unread rows, removed threads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont

from app.clock import FakeClock
from app.mail.inbox_service import InboxService, ThreadFilter, ThreadQuery
from app.mail.models import ThreadState, Urgency
from app.services import Core, build_services
from tests.helpers.inbox import Seeded, add_store, seed_inbox
from tests.helpers.operators import put_operator
from tests.helpers.orders import ADMIN
from ui.models.roles import ItemRole
from ui.models.threads_model import (
    REMOVED_TEXT,
    URGENCY_COLOURS,
    Column,
    ThreadsModel,
    build_missing,
    build_row,
)


@pytest.fixture
def inbox(core: Core) -> InboxService:
    audit = build_services(core).audit.audit
    return InboxService(vault=core.vault, notices=core.notices, clock=core.clock, audit=audit)


@pytest.fixture
def seeded(core: Core, clock: FakeClock) -> Seeded:
    add_store(core.vault)
    return seed_inbox(core.vault, clock.now())


def _model(qtbot: Any, inbox: InboxService, clock: FakeClock, **kw: Any) -> ThreadsModel:
    actor = put_operator(inbox.vault, ADMIN)
    model = ThreadsModel(service=inbox, actor=actor, clock=clock, **kw)
    with qtbot.waitSignal(model.search_finished, timeout=5000):
        model.set_query(kw.get("query") or ThreadQuery())
    model.want_rows(0, model.rowCount() - 1)
    qtbot.waitUntil(
        lambda: all(
            model.data(model.index(r, 0), ItemRole.LOADED) for r in range(model.rowCount())
        ),
        timeout=5000,
    )
    return model


def test_rows_by_due_with_colours(
    qtbot: Any, qtmodeltester: Any, inbox: InboxService, seeded: Seeded, clock: FakeClock
) -> None:
    model = _model(qtbot, inbox, clock)
    assert model.ids()[:5] == seeded.by_due()
    for row in range(model.rowCount()):
        urgency = model.urgency(row)
        fg = model.data(model.index(row, Column.DUE), Qt.ItemDataRole.ForegroundRole)
        bg = model.data(model.index(row, Column.DUE), Qt.ItemDataRole.BackgroundRole)
        if urgency in URGENCY_COLOURS:
            assert (fg.color().name(), bg.color().name()) == URGENCY_COLOURS[urgency]
        else:
            assert fg is None and bg is None
    assert model.urgency(model.row_of(seeded.replied)) == Urgency.NONE
    assert model.index(model.row_of(seeded.replied), Column.STATE).data() == "Replied"
    qtmodeltester.check(model, force_py=True)


def test_filter_query(qtbot: Any, inbox: InboxService, seeded: Seeded, clock: FakeClock) -> None:
    model = _model(qtbot, inbox, clock, query=ThreadQuery(filter=ThreadFilter.OVERDUE))
    assert model.ids() == [seeded.overdue]


def test_build_row_texts_and_bold() -> None:
    from app.mail.inbox_service import ThreadRow

    now = FakeClock().now()
    row = ThreadRow(
        id=7,
        store_id=1,
        store_name="Acme",
        alias="x@marketplace.amazon.com",
        buyer_display_name=None,
        order_id=None,
        subject="Question",
        state=ThreadState.NEEDS_REPLY,
        due_at=now + timedelta(minutes=90),
        last_buyer_at=now,
        last_message_at=now,
        message_count=1,
        unread=1,
        flagged=0,
        urgency=Urgency.URGENT,
    )
    bold = QFont()
    bold.setBold(True)
    built = build_row(row, now, bold)
    cells = built.cells
    assert cells[Column.BUYER][int(Qt.ItemDataRole.DisplayRole)] == "Amazon customer"
    assert cells[Column.ORDER][int(Qt.ItemDataRole.DisplayRole)] == "—"
    assert cells[Column.STATE][int(Qt.ItemDataRole.DisplayRole)] == "Needs reply"
    assert cells[Column.DUE][int(Qt.ItemDataRole.DisplayRole)].endswith("left")
    assert cells[Column.SUBJECT][int(Qt.ItemDataRole.FontRole)].bold()
    missing = build_missing(9)
    assert missing.cells[Column.STATE][int(Qt.ItemDataRole.DisplayRole)] == REMOVED_TEXT
    assert not missing.exists
