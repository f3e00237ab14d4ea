"""The inbox's thread list: a :class:`~ui.models.table_engine.LazyTableModel` over the
buyer-message threads the operator may see, read through ``InboxService.read``.

Keys are thread ids (``thread_ids`` of the query, in its order: due soonest first).
Each row's cells are computed on the DB thread by :func:`build_row`: the time left on
Amazon's 24-hour clock with its colour (normal, amber under 6 h, orange under 2 h, red
when overdue), buyer, order, subject, store, state, last message; unread rows are bold.
The urgency and the unread mark are also :class:`~ui.models.roles.ItemRole` values.
The time left goes stale as time passes: the view refreshes the shown rows every
minute.  How rows load, and why the cells live in C++: :mod:`ui.models.table_engine`.

Thread: GUI only (the builders run on the DB thread and use only values made here).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import datetime
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from app.auth.models import Actor
from app.clock import Clock, SystemClock
from app.mail.clock import time_left
from app.mail.inbox_service import ThreadQuery, ThreadRow
from app.mail.models import ThreadState, Urgency
from ui.models.roles import ItemRole
from ui.models.table_engine import (
    DISPLAY,
    FOREGROUND,
    TOOLTIP,
    Built,
    LazyTableModel,
    RowReader,
    row_cells,
)

if TYPE_CHECKING:
    from app.mail.inbox_service import InboxReader

T = TypeVar("T")

BACKGROUND = int(Qt.ItemDataRole.BackgroundRole)
FONT = int(Qt.ItemDataRole.FontRole)


class Column(IntEnum):
    DUE = 0
    BUYER = 1
    ORDER = 2
    SUBJECT = 3
    STORE = 4
    STATE = 5
    LAST = 6


HEADERS: dict[Column, str] = {
    Column.DUE: "Time left",
    Column.BUYER: "Buyer",
    Column.ORDER: "Order",
    Column.SUBJECT: "Subject",
    Column.STORE: "Store",
    Column.STATE: "State",
    Column.LAST: "Last message",
}

STATE_TEXT: dict[str, str] = {
    ThreadState.NEEDS_REPLY: "Needs reply",
    ThreadState.DRAFT: "Draft saved",
    ThreadState.REPLIED: "Replied",
    ThreadState.NO_RESPONSE: "No response needed",
}

#: (text colour, background) of the "Time left" cell per urgency; OK and NONE: plain.
URGENCY_COLOURS: dict[str, tuple[str, str]] = {
    Urgency.SOON: ("#7a5800", "#fff3c4"),  # amber: under 6 h
    Urgency.URGENT: ("#8f3b00", "#ffd9b8"),  # orange: under 2 h
    Urgency.OVERDUE: ("#b3261e", "#fbdad7"),  # red: overdue
}
URGENCY_TIP: dict[str, str] = {
    Urgency.OK: "More than 6 hours left to reply within Amazon's 24 hours.",
    Urgency.SOON: "Less than 6 hours left to reply within Amazon's 24 hours.",
    Urgency.URGENT: "Less than 2 hours left to reply within Amazon's 24 hours.",
    Urgency.OVERDUE: "Amazon's 24 hours have passed: reply as soon as you can.",
}
_BRUSHES: dict[str, tuple[QBrush, QBrush]] = {
    key: (QBrush(QColor(fg)), QBrush(QColor(bg))) for key, (fg, bg) in URGENCY_COLOURS.items()
}
REMOVED_TEXT = "(removed)"
NO_ORDER_TEXT = "—"
_COLUMNS = len(Column)


class InboxReads(Protocol):
    """What the model needs of ``InboxService``: its one-job read."""

    def read(self, actor: Actor, fn: Callable[[InboxReader], T]) -> Future[T]: ...


def local_time(moment: datetime | None, fmt: str = "%d %b %H:%M") -> str:
    if moment is None:
        return ""
    return moment.astimezone().strftime(fmt)


def due_text(row: ThreadRow, now: datetime) -> str:
    """What the "Time left" column says for ``row`` at ``now``."""
    if row.due_at is None:
        return ""
    return time_left(row.due_at, now)


def build_row(row: ThreadRow, now: datetime, bold: QFont | None = None) -> Built[int]:
    """Every role of every cell of one thread row (DB thread: plain values; ``bold`` is
    a font made on the GUI thread, copied here)."""
    urgency = str(row.urgency)
    unread = bool(row.unread)
    cells = row_cells(row.id, _COLUMNS)
    texts = {
        Column.DUE: due_text(row, now),
        Column.BUYER: row.buyer_display_name or "Amazon customer",
        Column.ORDER: row.order_id or NO_ORDER_TEXT,
        Column.SUBJECT: row.subject or "",
        Column.STORE: row.store_name,
        Column.STATE: STATE_TEXT.get(str(row.state), str(row.state)),
        Column.LAST: local_time(row.last_message_at),
    }
    for column, cell in zip(Column, cells, strict=True):
        cell[DISPLAY] = texts[column]
        cell[int(ItemRole.URGENCY)] = urgency
        cell[int(ItemRole.UNREAD)] = unread
        if unread and bold is not None:
            cell[FONT] = bold
    due = cells[Column.DUE]
    if urgency in _BRUSHES:
        fg, bg = _BRUSHES[urgency]
        due[FOREGROUND] = fg
        due[BACKGROUND] = bg
    tip = URGENCY_TIP.get(urgency)
    if tip and row.due_at is not None:
        due[TOOLTIP] = f"{tip} Due {local_time(row.due_at, '%d %b %Y %H:%M')}."
    if row.order_id is None:
        cells[Column.ORDER][TOOLTIP] = "A question before an order (no order id yet)."
    if row.flagged:
        cells[Column.SUBJECT][TOOLTIP] = "A message of this thread is flagged for review."
    if row.message_count:
        cells[Column.LAST][TOOLTIP] = f"{row.message_count} messages"
    return Built(row.id, True, cells)


def build_missing(thread_id: int) -> Built[int]:
    cells = row_cells(thread_id, _COLUMNS, loaded=False)
    cells[Column.STATE][DISPLAY] = REMOVED_TEXT
    return Built(thread_id, False, cells)


class _Reader:
    """The engine's reader over an :class:`InboxReader` (DB thread)."""

    def __init__(self, inbox: InboxReader, clock: Clock, bold: QFont) -> None:
        self._inbox = inbox
        self._clock = clock
        self._bold = bold

    def keys(self, query: ThreadQuery) -> list[int]:
        return list(self._inbox.thread_ids(query))

    def rows(self, keys: Sequence[int]) -> list[Built[int]]:
        now = self._clock.now()
        found = {row.id: row for row in self._inbox.thread_rows(list(keys))}
        return [
            build_row(found[k], now, self._bold) if k in found else build_missing(k) for k in keys
        ]


class ThreadsSource:
    """The thread list's :class:`~ui.models.table_engine.RowSource`."""

    def __init__(self, service: InboxReads, actor: Actor, clock: Clock, bold: QFont) -> None:
        self._service = service
        self._actor = actor
        self._clock = clock
        self._bold = bold

    def read(self, fn: Callable[[RowReader[ThreadQuery, int]], T]) -> Future[T]:
        clock, bold = self._clock, self._bold
        return self._service.read(self._actor, lambda inbox: fn(_Reader(inbox, clock, bold)))


class ThreadsModel(LazyTableModel):
    """Threads by :class:`ThreadQuery`; keys are thread ids."""

    ROW_ROLES = (
        *LazyTableModel.ROW_ROLES,
        BACKGROUND,
        FONT,
        int(ItemRole.URGENCY),
        int(ItemRole.UNREAD),
    )
    WHAT = "thread rows"

    def __init__(
        self,
        *,
        service: InboxReads,
        actor: Actor,
        clock: Clock | None = None,
        query: ThreadQuery | None = None,
        page_size: int = 50,
        max_loaded: int = 5000,
        parent: QObject | None = None,
    ) -> None:
        bold = QFont()
        bold.setBold(True)
        super().__init__(
            source=ThreadsSource(service, actor, clock or SystemClock(), bold),
            headers=[HEADERS[c] for c in Column],
            query=query or ThreadQuery(),
            page_size=page_size,
            max_loaded=max_loaded,
            parent=parent,
        )

    @property
    def query(self) -> ThreadQuery:
        q: ThreadQuery = self._query
        return q

    def thread_id(self, row: int) -> int | None:
        key: int | None = self.key_at(row)
        return key

    def ids(self) -> list[int]:
        return self.keys()

    def urgency(self, row: int) -> Any:
        return self.data(self.index(row, Column.DUE), int(ItemRole.URGENCY))
