"""The orders table: a lazy model over order ids (after Anki's browser table model).

Searching returns the ordered ids of every matching order (one SQL query on the DB
thread); rows are fetched in pages of ``page_size`` ids through the DB thread when the
view first asks for them.  Until a row has arrived, ``data()`` answers with a
placeholder and requests the row's page; when the page arrives, ``dataChanged`` is
emitted for exactly the rows that arrived, with explicit roles.  The row cache is keyed by
order id, so a refresh (new id list) keeps showing the previous rows while their fresh
copies load: no flicker, no blank table after every sync.

Signals:
    ``search_finished(int)``: a search was applied; the argument is the row count.
    ``search_failed(object)``: the search raised (the exception).
    ``rows_loaded(int, int)``: rows ``first..last`` (inclusive) got fresh data.

Thread: GUI only.  DB work goes through ``vault.run``; results come back through
:func:`ui.ops.when_done`.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from datetime import datetime
from enum import IntEnum
from typing import Any, Protocol, cast

from PySide6.QtCore import (
    QModelIndex,
    QModelRoleData,
    QModelRoleDataSpan,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor

from app.amazon import orders_repo
from app.amazon.models import DeliveryState, OrderRow, OrderStatus
from app.amazon.orders_repo import OrderQuery, SortColumn
from app.auth.models import Actor
from app.clock import Clock, SystemClock
from ui.models.base import HeaderedTableModel
from ui.models.roles import Role
from ui.ops import when_done

log = logging.getLogger("muttefik.ui")

Index = QModelIndex | QPersistentModelIndex
Conn = Any


class Column(IntEnum):
    ORDER_ID = 0
    DATE = 1
    STATUS = 2
    MARKETPLACE = 3
    ITEMS = 4
    TOTAL = 5
    SHIP_BY = 6
    DELIVERY = 7


HEADERS: dict[Column, str] = {
    Column.ORDER_ID: "Order",
    Column.DATE: "Date",
    Column.STATUS: "Status",
    Column.MARKETPLACE: "Marketplace",
    Column.ITEMS: "Items",
    Column.TOTAL: "Total",
    Column.SHIP_BY: "Ship by",
    Column.DELIVERY: "Delivery",
}

SORT_KEYS: dict[Column, SortColumn] = {
    Column.ORDER_ID: SortColumn.ORDER_ID,
    Column.DATE: SortColumn.PURCHASE_DATE,
    Column.STATUS: SortColumn.STATUS,
    Column.MARKETPLACE: SortColumn.MARKETPLACE,
    Column.ITEMS: SortColumn.ITEMS,
    Column.TOTAL: SortColumn.TOTAL,
    Column.SHIP_BY: SortColumn.SHIP_BY,
    Column.DELIVERY: SortColumn.DELIVERY,
}

STATUS_TEXT: dict[OrderStatus, str] = {
    OrderStatus.PENDING_AVAILABILITY: "Pre-order",
    OrderStatus.PENDING: "Pending",
    OrderStatus.UNSHIPPED: "Unshipped",
    OrderStatus.PARTIALLY_SHIPPED: "Partly shipped",
    OrderStatus.SHIPPED: "Shipped",
    OrderStatus.CANCELLED: "Cancelled",
    OrderStatus.UNFULFILLABLE: "Unfulfillable",
}

DELIVERY_TEXT: dict[DeliveryState, str] = {
    DeliveryState.PENDING: "Not ready",
    DeliveryState.TO_SHIP: "To ship",
    DeliveryState.IN_TRANSIT: "In transit",
    DeliveryState.DELIVERED: "Delivered",
    DeliveryState.CANCELLED: "Cancelled",
    DeliveryState.UNDELIVERABLE: "Undeliverable",
}

PLACEHOLDER = "…"
_LATE_BRUSH = QBrush(QColor("#b3261e"))
_COLUMNS = len(Column)
_ALIGNMENT_ROLE = int(Qt.ItemDataRole.TextAlignmentRole)
_ALIGN_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
_ALIGN_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_ROW_ROLES = [
    int(Qt.ItemDataRole.DisplayRole),
    int(Qt.ItemDataRole.ToolTipRole),
    int(Qt.ItemDataRole.ForegroundRole),
    int(Role.LOADED),
    int(Role.STATUS),
    int(Role.LATE),
]


class Runner(Protocol):
    """What the model needs from the vault: run ``fn(conn)`` on the DB thread."""

    def run(self, fn: Callable[[Conn], Any]) -> Future[Any]: ...


SearchFn = Callable[[Conn, Actor, OrderQuery], list[str]]
FetchFn = Callable[[Conn, Sequence[str]], list[OrderRow]]

_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_CHANNEL_TEXT = {"AFN": "Fulfilled by Amazon", "MFN": "Fulfilled by you"}


class _Rendered:
    """One order row with every role of every cell computed once.

    Built on the DB thread when the row's page loads, so that a repaint (about 1,700
    role look-ups for a screenful) costs the GUI thread only dictionary reads: a paint
    must not format dates or read the clock, least of all while a sync competes for
    the GIL.
    """

    __slots__ = ("cells", "row")

    def __init__(self, row: OrderRow, now: datetime) -> None:
        self.row = row
        late = _is_late(row, now)
        loaded = {int(Role.LOADED): True, int(Role.STATUS): str(row.status), int(Role.LATE): late}
        cells = []
        for column in Column:
            cell: dict[int, Any] = dict(loaded)
            cell[_DISPLAY] = _display(row, column, late)
            cell[_ALIGNMENT_ROLE] = _ALIGN_RIGHT if column == Column.TOTAL else _ALIGN_LEFT
            cell[int(Role.ORDER_ID)] = row.order_id
            if late and column in (Column.SHIP_BY, Column.DELIVERY):
                cell[_FOREGROUND] = _LATE_BRUSH
            tip = _tooltip(row, column, late)
            if tip:
                cell[_TOOLTIP] = tip
            cells.append(cell)
        self.cells: tuple[dict[int, Any], ...] = tuple(cells)


def _is_late(row: OrderRow, now: datetime) -> bool:
    return (
        row.delivery_state == DeliveryState.TO_SHIP
        and row.fulfillment_channel == "MFN"
        and row.ship_by is not None
        and row.ship_by < now
    )


def _display(row: OrderRow, column: Column, late: bool) -> str:
    if column == Column.ORDER_ID:
        return row.order_id
    if column == Column.DATE:
        return local_time(row.purchase_date)
    if column == Column.STATUS:
        return STATUS_TEXT.get(row.status, str(row.status))
    if column == Column.MARKETPLACE:
        return row.marketplace_name or row.marketplace_id
    if column == Column.ITEMS:
        return row.items_summary
    if column == Column.TOTAL:
        return str(row.total) if row.total is not None else ""
    if column == Column.SHIP_BY:
        return local_time(row.ship_by, "%d %b %Y") if row.ship_by else ""
    if column == Column.DELIVERY:
        text = DELIVERY_TEXT.get(row.delivery_state, str(row.delivery_state))
        return "Late to ship" if late else text
    return ""


def _tooltip(row: OrderRow, column: Column, late: bool) -> str | None:
    if column == Column.ITEMS:
        return f"{row.items_summary} ({row.item_count} units)"
    if column == Column.SHIP_BY and late:
        return "Late: the ship-by date has passed."
    if column == Column.ORDER_ID:
        return _CHANNEL_TEXT.get(row.fulfillment_channel or "")
    return None


def _search_now(clock: Clock) -> SearchFn:
    def search(conn: Conn, actor: Actor, query: OrderQuery) -> list[str]:
        return orders_repo.search_ids(conn, actor, query, now=clock.now())

    return search


class _Missing:
    """Cache marker: the id was searched but the order is gone (deleted meanwhile)."""


_MISSING = _Missing()


def local_time(moment: datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
    if moment is None:
        return ""
    return moment.astimezone().strftime(fmt)


class OrdersModel(HeaderedTableModel):
    HEADERS = tuple(HEADERS[c] for c in Column)
    RIGHT_ALIGNED = frozenset({int(Column.TOTAL)})

    search_finished = Signal(int)
    search_failed = Signal(object)
    rows_loaded = Signal(int, int)

    def __init__(
        self,
        *,
        vault: Runner,
        actor: Actor,
        clock: Clock | None = None,
        search_ids: SearchFn | None = None,
        fetch_rows: FetchFn = orders_repo.fetch_rows,
        page_size: int = 200,
        max_cached: int = 20_000,
        max_in_flight: int = 2,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._vault = vault
        self._actor = actor
        self._clock = clock or SystemClock()
        self._search_ids = search_ids or _search_now(self._clock)
        self._fetch_rows = fetch_rows
        self._page_size = page_size
        self._max_cached = max_cached
        self._max_in_flight = max_in_flight
        self._query = OrderQuery()
        self._ids: list[str] = []
        self._row_of: dict[str, int] = {}
        # id -> row (or _MISSING); insertion order = age, for eviction.
        self._cache: OrderedDict[str, _Rendered | _Missing] = OrderedDict()
        self._stale: set[str] = set()  # cached rows to reload after a refresh
        self._generation = 0  # bumps with every applied id list
        self._search_serial = 0  # latest search started; older answers are dropped
        self._wanted: list[int] = []  # pages asked for, newest last (served first)
        self._in_flight: set[int] = set()
        self._searching = False
        self._searched_once = False

    # --- public API ---------------------------------------------------------------

    @property
    def query(self) -> OrderQuery:
        return self._query

    @property
    def searching(self) -> bool:
        return self._searching

    @property
    def searched_once(self) -> bool:
        """True once a search result has been applied (the table content is real)."""
        return self._searched_once

    def set_query(self, query: OrderQuery) -> Future[list[str]]:
        """Search with ``query`` (ids on the DB thread); the table updates when done."""
        self._query = query
        return self._search()

    def refresh(self, changed: Iterable[str] | None = None) -> Future[list[str]]:
        """Re-run the current query; loaded rows stay visible until fresh copies arrive.

        ``changed``: the orders known to have changed (from ``orders_synced``); only
        those rows are reloaded.  ``None``: any may have changed, reload every row.
        """
        if changed is None:
            self._stale.update(self._cache.keys())
        else:
            self._stale.update(oid for oid in changed if oid in self._cache)
        return self._search()

    def order_id(self, row: int) -> str | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def row_of(self, order_id: str) -> int | None:
        return self._row_of.get(order_id)

    def cached_row(self, order_id: str) -> OrderRow | None:
        value = self._cache.get(order_id)
        return value.row if isinstance(value, _Rendered) else None

    def ids(self) -> list[str]:
        return list(self._ids)

    # --- searching ----------------------------------------------------------------

    def _search(self) -> Future[list[str]]:
        self._search_serial += 1
        serial = self._search_serial
        self._searching = True
        actor, query, search = self._actor, self._query, self._search_ids
        row_of: dict[str, int] = {}

        def run(conn: Conn) -> list[str]:
            ids = search(conn, actor, query)
            # Built here, not on the GUI thread (100k ids: ~10 ms of Python).
            row_of.update(zip(ids, range(len(ids)), strict=True))
            return ids

        future: Future[list[str]] = self._vault.run(run)

        def applied(ids: list[str]) -> None:
            if serial != self._search_serial:
                return  # a newer search is under way; its answer wins
            self._searching = False
            self._apply_ids(ids, row_of)

        def failed(exc: BaseException) -> None:
            if serial != self._search_serial:
                return
            self._searching = False
            log.warning("order search failed: %s", type(exc).__name__)
            self.search_failed.emit(exc)

        when_done(future, applied, failed, parent=self)
        return future

    def _apply_ids(self, ids: list[str], row_of: dict[str, int]) -> None:
        old = self._ids
        added = len(ids) - len(old)
        if old and added > 0 and ids[added:] == old:
            # Newer orders on top (a sync while sorted newest first): insert rows, so the
            # view keeps its rows, selection and scroll position instead of resetting.
            self._insert_rows(0, ids, row_of, added)
        elif old and added > 0 and ids[: len(old)] == old:
            # Orders appended at the end (the backfill, sorted newest first).
            self._insert_rows(len(old), ids, row_of, added)
        else:
            self.beginResetModel()
            self._set_ids(ids, row_of)
            self.endResetModel()
        self._searched_once = True
        self.search_finished.emit(len(ids))

    def _set_ids(self, ids: list[str], row_of: dict[str, int]) -> None:
        self._generation += 1
        self._ids = ids
        self._row_of = row_of
        self._wanted.clear()
        self._in_flight.clear()  # answers for the old id list only fill the cache

    def _insert_rows(self, first: int, ids: list[str], row_of: dict[str, int], count: int) -> None:
        self.beginInsertRows(QModelIndex(), first, first + count - 1)
        self._set_ids(ids, row_of)
        self.endInsertRows()

    # --- paging -------------------------------------------------------------------

    def _request_page(self, page: int) -> None:
        if page in self._in_flight:
            return
        if page in self._wanted:
            self._wanted.remove(page)
        self._wanted.append(page)
        self._pump()

    def _pump(self) -> None:
        # Newest request first: while the seller drags the scrollbar, the rows now on
        # screen load before the ones scrolled past.
        while self._wanted and len(self._in_flight) < self._max_in_flight:
            page = self._wanted.pop()
            self._start_fetch(page)

    def _start_fetch(self, page: int) -> None:
        start = page * self._page_size
        ids = self._ids[start : start + self._page_size]
        if not ids:
            return
        self._in_flight.add(page)
        generation = self._generation
        fetch, clock = self._fetch_rows, self._clock

        def load(conn: Conn) -> list[_Rendered]:
            now = clock.now()
            return [_Rendered(row, now) for row in fetch(conn, ids)]

        future: Future[list[_Rendered]] = self._vault.run(load)

        def arrived(rows: list[_Rendered]) -> None:
            if generation == self._generation:
                self._in_flight.discard(page)
            self._store_rows(ids, rows)
            self._pump()

        def failed(exc: BaseException) -> None:
            if generation == self._generation:
                self._in_flight.discard(page)
            # Not shown as a dialog: a table page failing to load is retried on the next
            # paint; the log keeps the cause (no PII: the exception type only).
            log.warning("loading order rows failed: %s", type(exc).__name__)

        when_done(future, arrived, failed, parent=self)

    def _store_rows(self, ids: list[str], rows: list[_Rendered]) -> None:
        got = {r.row.order_id: r for r in rows}
        changed: list[int] = []
        for oid in ids:
            value: _Rendered | _Missing = got.get(oid, _MISSING)
            self._cache[oid] = value
            self._cache.move_to_end(oid)
            self._stale.discard(oid)
            row = self._row_of.get(oid)
            if row is not None:
                changed.append(row)
        self._evict()
        for first, last in _runs(sorted(changed)):
            self.dataChanged.emit(
                self.index(first, 0), self.index(last, len(Column) - 1), _ROW_ROLES
            )
            self.rows_loaded.emit(first, last)

    def _evict(self) -> None:
        excess = len(self._cache) - self._max_cached
        while excess > 0:
            oid, _ = self._cache.popitem(last=False)
            self._stale.discard(oid)
            excess -= 1

    def _row_data(self, row: int) -> _Rendered | _Missing | None:
        """The cached row (possibly stale); requests its page if absent or stale."""
        oid = self._ids[row]
        value = self._cache.get(oid)
        if (value is None or oid in self._stale) and (not self._searching or value is None):
            self._request_page(row // self._page_size)
        return value

    # --- Qt model API -------------------------------------------------------------

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        # Overridden only to answer in one call: the default (C++) asks rowCount() and
        # columnCount() in Python for every cell the view paints.
        if parent.isValid() or not (0 <= row < len(self._ids) and 0 <= column < _COLUMNS):
            return QModelIndex()
        return self.createIndex(row, column)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    # flags(): not overridden.  The default (enabled, selectable, no children) is what
    # the table needs, and answering it in Python would cost a GIL round trip per cell
    # on every repaint.

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(Column):
            return
        key = SORT_KEYS[Column(column)]
        descending = order == Qt.SortOrder.DescendingOrder
        if key == self._query.sort and descending == self._query.descending:
            return
        self.set_query(_replace(self._query, sort=key, descending=descending))

    def multiData(self, index: Index, roleDataSpan: QModelRoleDataSpan | QModelRoleData) -> None:
        """All roles of one cell in one call.  The view's delegate asks for about seven
        roles per cell; with ``data()`` each is a call into Python that must take the GIL
        (up to 5 ms each while a sync thread runs Python), so a repaint could stall."""
        slots: Iterable[QModelRoleData] = (
            [roleDataSpan]
            if isinstance(roleDataSpan, QModelRoleData)
            else cast(Iterable[QModelRoleData], roleDataSpan)
        )
        cell = self._cell_roles(index.row(), index.column()) if index.isValid() else None
        for slot in slots:
            value = None if cell is None else cell.get(slot.role())
            if value is None:
                slot.clearData()
            else:
                slot.setData(value)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        cell = self._cell_roles(index.row(), index.column())
        return None if cell is None else cell.get(role)

    def _cell_roles(self, row: int, column: int) -> dict[int, Any] | None:
        """Every role of one cell: precomputed for loaded rows, placeholders otherwise."""
        if not 0 <= row < len(self._ids) or not 0 <= column < _COLUMNS:
            return None
        value = self._row_data(row)
        if isinstance(value, _Rendered):
            return value.cells[column]
        oid = self._ids[row]
        if column == Column.ORDER_ID:
            text = oid
        elif value is _MISSING and column == Column.STATUS:
            text = "(removed)"
        else:
            text = PLACEHOLDER if value is None else ""
        return {
            _DISPLAY: text,
            int(Role.ORDER_ID): oid,
            int(Role.LOADED): False,
            _ALIGNMENT_ROLE: _ALIGN_RIGHT if column == Column.TOTAL else _ALIGN_LEFT,
        }


def _replace(query: OrderQuery, **changes: Any) -> OrderQuery:
    from dataclasses import replace

    return replace(query, **changes)


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """Contiguous runs of sorted row numbers: [1,2,3,7,8] -> [(1,3),(7,8)]."""
    out: list[tuple[int, int]] = []
    for r in rows:
        if out and r == out[-1][1] + 1:
            out[-1] = (out[-1][0], r)
        elif not out or r != out[-1][1]:
            out.append((r, r))
    return out
