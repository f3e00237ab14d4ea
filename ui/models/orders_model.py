"""The orders table: order ids from a search, the shown rows' cells held in C++.

Searching returns the ordered ids of every matching order (one SQL query on the DB
thread).  The model is a ``QStandardItemModel`` with one empty row per id.  The rows
the view shows are filled in: the DB thread reads those orders and computes every role
of every cell as plain Python values; the GUI thread hands each cell to
``setItemData``, which makes the item in C++.

Why: a repaint of a screenful asks for about 250 cells.  With a Python ``data()`` each
is a call into Python that must take the GIL, and while a sync thread runs Python each
can wait for it (up to ``sys.getswitchinterval()``): repaints stalled for 100 ms and
more.  Items made in Python are no better: PySide keeps their wrappers alive, asks them
for Python overrides under the GIL on first paint, and the garbage collector walks them
all.  Cells made by ``setItemData`` are plain C++, so a repaint runs no Python.
Measured in ``bench/sync_gui.py``.

The view reports the rows it shows through :meth:`OrdersModel.want_rows`; those rows are
read at once, then a page below and a page above them, at most ``max_in_flight`` of
these reads ahead at a time (dropped on arrival if the view has moved far meanwhile).
Up to ``max_loaded`` rows stay filled (the least recently loaded, away from the shown
rows, are emptied again).  A refresh that only adds orders on top or at the end
inserts rows, so the view keeps its scroll position and selection; rows known to have
changed reload when shown, keeping their old contents until then.  Any other new id
list resets the model, with the shown rows read in the same DB job, so that the table
never flashes empty.

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
from dataclasses import dataclass, replace
from datetime import datetime
from enum import IntEnum
from typing import Any, Protocol

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QStandardItemModel

from app.amazon import orders_repo
from app.amazon.models import DeliveryState, OrderRow, OrderStatus
from app.amazon.orders_repo import OrderQuery, SortColumn
from app.auth.models import Actor
from app.clock import Clock, SystemClock
from ui.models.roles import Role
from ui.ops import when_done

log = logging.getLogger("muttefik.ui")

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

REMOVED_TEXT = "(removed)"
_LATE_BRUSH = QBrush(QColor("#b3261e"))
_COLUMNS = len(Column)
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
_ALIGN_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_READ_ONLY = int((Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled).value)
_FLAGS_ROLE = int(Qt.ItemDataRole.UserRole) - 1  # where QStandardItem keeps its flags
_ROW_ROLES = [_DISPLAY, _TOOLTIP, _FOREGROUND, int(Role.LOADED), int(Role.STATUS), int(Role.LATE)]
_CHANNEL_TEXT = {"AFN": "Fulfilled by Amazon", "MFN": "Fulfilled by you"}


class Runner(Protocol):
    """What the model needs from the vault: run ``fn(conn)`` on the DB thread."""

    def run(self, fn: Callable[[Conn], Any]) -> Future[Any]: ...


SearchFn = Callable[[Conn, Actor, OrderQuery], list[str]]
FetchFn = Callable[[Conn, Sequence[str]], list[OrderRow]]


Cell = dict[int, Any]  # role -> value, as QStandardItemModel.setItemData takes it


@dataclass(slots=True)
class _Built:
    """One row's cells, built on the DB thread; ``exists`` is false for an order that
    was deleted after the search found it."""

    order_id: str
    exists: bool
    cells: list[Cell]


def _shared(order_id: str, loaded: bool) -> Cell:
    """The roles every cell of a row has, including QStandardItem's flags role (the
    model stores an item's flags among its data; setItemData replaces them all)."""
    return {_FLAGS_ROLE: _READ_ONLY, int(Role.ORDER_ID): order_id, int(Role.LOADED): loaded}


def _build(row: OrderRow, now: datetime) -> _Built:
    """Every role of every cell of one order row (DB thread: plain Python values)."""
    late = _is_late(row, now)
    shared = _shared(row.order_id, True)
    shared[int(Role.STATUS)] = str(row.status)
    shared[int(Role.LATE)] = late
    cells = []
    for column in Column:
        cell = dict(shared)
        cell[_DISPLAY] = _display(row, column, late)
        if column == Column.TOTAL:
            cell[_ALIGNMENT] = _ALIGN_RIGHT
        if late and column in (Column.SHIP_BY, Column.DELIVERY):
            cell[_FOREGROUND] = _LATE_BRUSH
        tip = _tooltip(row, column, late)
        if tip:
            cell[_TOOLTIP] = tip
        cells.append(cell)
    return _Built(row.order_id, True, cells)


def _build_missing(order_id: str) -> _Built:
    cells = [_shared(order_id, False) for _ in Column]
    cells[Column.ORDER_ID][_DISPLAY] = order_id
    cells[Column.STATUS][_DISPLAY] = REMOVED_TEXT
    return _Built(order_id, False, cells)


def _build_page(fetch: FetchFn, conn: Conn, ids: Sequence[str], now: datetime) -> list[_Built]:
    rows = {row.order_id: row for row in fetch(conn, ids)}
    return [_build(rows[oid], now) if oid in rows else _build_missing(oid) for oid in ids]


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


def local_time(moment: datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
    if moment is None:
        return ""
    return moment.astimezone().strftime(fmt)


@dataclass(slots=True)
class _Answer:
    """A search's result: the ids, their rows, and the shown rows' cells read with them."""

    ids: list[str]
    row_of: dict[str, int]
    built: list[_Built]
    shape: tuple[str, int]  # _shape(ids before, ids)


def _shape(old: list[str], new: list[str]) -> tuple[str, int]:
    """How ``new`` differs from ``old``: ``same``, ``top`` or ``end`` (that many ids added
    there, the rest unchanged), or ``reset`` (anything else)."""
    added = len(new) - len(old)
    if new == old:
        return "same", 0
    if old and added > 0 and new[added:] == old:
        return "top", added
    if old and added > 0 and new[: len(old)] == old:
        return "end", added
    return "reset", added


class OrdersModel(QStandardItemModel):
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
        page_size: int = 50,
        max_loaded: int = 5000,
        max_in_flight: int = 1,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(0, _COLUMNS, parent)
        self.setHorizontalHeaderLabels([HEADERS[c] for c in Column])
        self.setHeaderData(Column.TOTAL, Qt.Orientation.Horizontal, _ALIGN_RIGHT, _ALIGNMENT)
        self._vault = vault
        self._actor = actor
        self._clock = clock or SystemClock()
        self._search_ids = search_ids or _search_now(self._clock)
        self._fetch_rows = fetch_rows
        self._page_size = page_size
        self._max_loaded = max(max_loaded, 4 * page_size)
        self._max_in_flight = max_in_flight
        self._query = OrderQuery()
        self._ids: list[str] = []
        self._row_of: dict[str, int] = {}
        # Rows whose cells are placed, least recently loaded first: id -> whether the
        # order exists (false: deleted after the search found it).
        self._loaded: OrderedDict[str, bool] = OrderedDict()
        # Placed rows known to have changed: id -> the refresh tick that marked them.
        self._stale: dict[str, int] = {}
        self._tick = 0
        self._shown = (0, 0)  # first and last row the view shows
        self._search_serial = 0  # latest search started; older answers are dropped
        self._wanted: list[tuple[int, int]] = []  # row ranges to load, most wanted last
        self._in_flight: set[str] = set()  # ids being read
        self._requests = 0  # reads under way
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

    def set_query(self, query: OrderQuery) -> Future[_Answer]:
        """Search with ``query`` (ids on the DB thread); the table updates when done."""
        self._query = query
        return self._search()

    def refresh(self, changed: Iterable[str] | None = None) -> Future[_Answer]:
        """Re-run the current query; loaded rows keep their contents until fresh copies
        arrive.

        ``changed``: the orders known to have changed (from ``orders_synced``); only
        those rows reload.  ``None``: any may have changed, every row reloads.
        """
        self._tick += 1
        marked = self._loaded.keys() if changed is None else changed
        for oid in marked:
            if oid in self._loaded:
                self._stale[oid] = self._tick
        return self._search()

    def want_rows(self, first: int, last: int) -> None:
        """The view shows rows ``first..last``: load what they lack (and one page either
        side), the shown rows first."""
        self._shown = (max(0, first), max(0, first, last))
        self._request_shown()

    def order_id(self, row: int) -> str | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def row_of(self, order_id: str) -> int | None:
        return self._row_of.get(order_id)

    def ids(self) -> list[str]:
        return list(self._ids)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorting is a new query (SQL orders the ids); the items are never moved."""
        if not 0 <= column < _COLUMNS:
            return
        key = SORT_KEYS[Column(column)]
        descending = order == Qt.SortOrder.DescendingOrder
        if key == self._query.sort and descending == self._query.descending:
            return
        self.set_query(replace(self._query, sort=key, descending=descending))

    # --- searching ----------------------------------------------------------------

    def _search(self) -> Future[_Answer]:
        self._search_serial += 1
        serial = self._search_serial
        self._searching = True
        actor, query, search = self._actor, self._query, self._search_ids
        fetch, clock = self._fetch_rows, self._clock
        old = self._ids  # replaced, never changed in place: safe to read on the DB thread
        fresh = frozenset(oid for oid in self._loaded if oid not in self._stale)
        first, last = self._shown

        def run(conn: Conn) -> _Answer:
            ids = search(conn, actor, query)
            # Built here, not on the GUI thread (100k ids: ~10 ms of Python).
            row_of = dict(zip(ids, range(len(ids)), strict=True))
            # The shown rows' cells, read now so that the table never shows them empty:
            # after a reset every row is empty, otherwise only new and changed ones.
            shape = _shape(old, ids)
            keep = frozenset() if shape[0] == "reset" else fresh
            wanted = [oid for oid in ids[first : last + 1] if oid not in keep]
            built = _build_page(fetch, conn, wanted, clock.now()) if wanted else []
            return _Answer(ids, row_of, built, shape)

        future: Future[_Answer] = self._vault.run(run)

        def applied(answer: _Answer) -> None:
            if serial != self._search_serial:
                return  # a newer search is under way; its answer wins
            self._searching = False
            self._apply(answer, loaded_at=self._tick)

        def failed(exc: BaseException) -> None:
            if serial != self._search_serial:
                return
            self._searching = False
            log.warning("order search failed: %s", type(exc).__name__)
            self.search_failed.emit(exc)

        when_done(future, applied, failed, parent=self)
        return future

    def _apply(self, answer: _Answer, *, loaded_at: int) -> None:
        ids = answer.ids
        # Compared on the DB thread against the ids of when the search started: they
        # are still the current ones, as only the latest search's answer is applied.
        kind, added = answer.shape
        if kind == "reset":
            self.beginResetModel()
            # Emptying and re-growing the rows emits per-row signals that a reset makes
            # redundant; the view hears the reset, and finds the shown rows filled.
            self.blockSignals(True)
            try:
                self.setRowCount(0)
                self.setRowCount(len(ids))
                self._set_ids(answer)
                self._loaded.clear()
                self._stale.clear()
                rows = self._put(answer.built, loaded_at)
            finally:
                self.blockSignals(False)
            self.endResetModel()
            self._announce(rows)
        else:
            self._set_ids(answer)
            if kind != "same":
                # New orders on top (a sync, newest first) or at the end (the backfill):
                # the view keeps its rows, selection and scroll position.
                self.insertRows(0 if kind == "top" else len(ids) - added, added)
            self._place(answer.built, loaded_at)
        self._searched_once = True
        self.search_finished.emit(len(ids))
        self._request_shown()

    def _set_ids(self, answer: _Answer) -> None:
        self._ids = answer.ids
        self._row_of = answer.row_of
        self._wanted.clear()

    # --- loading rows -------------------------------------------------------------

    def _needs(self, oid: str) -> bool:
        """Whether a row must (re)load: never loaded, or changed since (a search under
        way will reload it anyway), and not being read already."""
        if oid in self._in_flight:
            return False
        return oid not in self._loaded or (oid in self._stale and not self._searching)

    def _request_shown(self) -> None:
        count = len(self._ids)
        if not count:
            self._wanted.clear()
            return
        page = self._page_size
        last = min(self._shown[1], count - 1)
        first = min(self._shown[0], last)
        # Served from the end: the shown rows first (a small read, so they appear soon),
        # then a page below them, then a page above.  What an earlier call wanted but is
        # no longer near the view (a fast scroll) is dropped.
        self._wanted = [
            (max(0, first - page), first),
            (last + 1, min(count, last + 1 + page)),
            (first, last + 1),
        ]
        self._pump()

    def _pump(self) -> None:
        # The DB thread serves in order, so a read-ahead already queued delays the rows
        # the seller is looking at: the shown rows go at once, reads ahead one at a time.
        while self._wanted:
            first, end = self._wanted[-1]
            shown = len(self._wanted) == 3
            if not shown and self._requests >= self._max_in_flight:
                return
            self._wanted.pop()
            ids = [oid for oid in self._ids[first:end] if self._needs(oid)]
            if ids:
                self._start_fetch(ids, ahead=not shown)

    def _near_view(self, row: int) -> bool:
        first, last = self._shown
        return first - 2 * self._page_size <= row <= last + 2 * self._page_size

    def _start_fetch(self, ids: list[str], *, ahead: bool = False) -> None:
        """Read ``ids`` on the DB thread and place them; ``ahead``: rows read before they
        are shown, which are dropped on arrival if the view has moved far meanwhile."""
        self._in_flight.update(ids)
        self._requests += 1
        tick, fetch, clock = self._tick, self._fetch_rows, self._clock
        future: Future[list[_Built]] = self._vault.run(
            lambda conn: _build_page(fetch, conn, ids, clock.now())
        )

        def settled() -> None:
            self._in_flight.difference_update(ids)
            self._requests -= 1

        def arrived(built: list[_Built]) -> None:
            settled()
            if ahead:
                row_of = self._row_of
                built = [b for b in built if self._near_view(row_of.get(b.order_id, -1))]
            self._place(built, tick)
            self._pump()

        def failed(exc: BaseException) -> None:
            settled()
            # Not a dialog: the rows stay empty and load again when next shown; the log
            # keeps the cause (no PII: the exception type only).
            log.warning("loading order rows failed: %s", type(exc).__name__)

        when_done(future, arrived, failed, parent=self)

    def _place(self, built: list[_Built], loaded_at: int) -> None:
        """Put arrived rows' cells into the model and announce them."""
        self.blockSignals(True)
        try:
            rows = self._put(built, loaded_at)
        finally:
            self.blockSignals(False)
        self._announce(rows)
        self._evict()

    def _put(self, built: list[_Built], loaded_at: int) -> list[int]:
        """Set the cells of arrived rows (by order id: rows may have moved since); the
        rows set.  Signals must be blocked: one dataChanged per run of rows follows,
        instead of one per cell.

        ``setItemData`` makes the items in C++: no Python object per cell stays alive
        (an item made in Python keeps its wrapper, which the garbage collector then
        walks: 40k of them took 40 ms a collection), and painting asks no Python.

        ``loaded_at``: the refresh tick when the rows were requested; a row marked stale
        by a later refresh stays stale (it may have been read before the change).
        """
        rows: list[int] = []
        for b in built:
            row = self._row_of.get(b.order_id)
            if row is None:
                continue  # no longer in the list
            for column, cell in enumerate(b.cells):
                self.setItemData(self.index(row, column), cell)
            self._loaded[b.order_id] = b.exists
            self._loaded.move_to_end(b.order_id)
            if self._stale.get(b.order_id, loaded_at) <= loaded_at:
                self._stale.pop(b.order_id, None)
            rows.append(row)
        return rows

    def _announce(self, rows: list[int]) -> None:
        for first, last in _runs(sorted(rows)):
            self.dataChanged.emit(self.index(first, 0), self.index(last, _COLUMNS - 1), _ROW_ROLES)
            self.rows_loaded.emit(first, last)

    def _evict(self) -> None:
        """Empty the least recently loaded rows beyond ``max_loaded``, except near the
        shown rows, so that scrolling through 100k orders does not keep them all."""
        excess = len(self._loaded) - self._max_loaded
        if excess <= 0:
            return
        near = range(self._shown[0] - self._page_size, self._shown[1] + self._page_size + 1)
        victims: list[str] = []
        for oid in self._loaded:
            if len(victims) >= excess:
                break
            row = self._row_of.get(oid)
            if row is None or row not in near:
                victims.append(oid)
        rows: list[int] = []
        self.blockSignals(True)
        try:
            for oid in victims:
                del self._loaded[oid]
                self._stale.pop(oid, None)
                row = self._row_of.get(oid)
                if row is not None:
                    for column in range(_COLUMNS):
                        self.takeItem(row, column)  # the item is deleted with its wrapper
                    rows.append(row)
        finally:
            self.blockSignals(False)
        for first, last in _runs(sorted(rows)):
            self.dataChanged.emit(self.index(first, 0), self.index(last, _COLUMNS - 1), _ROW_ROLES)


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """Contiguous runs of sorted row numbers: [1,2,3,7,8] -> [(1,3),(7,8)]."""
    out: list[tuple[int, int]] = []
    for r in rows:
        if out and r == out[-1][1] + 1:
            out[-1] = (out[-1][0], r)
        elif not out or r != out[-1][1]:
            out.append((r, r))
    return out
