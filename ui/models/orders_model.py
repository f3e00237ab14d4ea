"""The orders table: a :class:`~ui.models.table_engine.LazyTableModel` over the orders
the seller may see, read through ``OrdersService.read``.

Keys are order ids (``search_ids`` of the query, now); each row's cells are computed on
the DB thread by :func:`build_row`: display text, tooltips, the late colour, and the
order's status and lateness as :class:`~ui.models.roles.ItemRole` values for delegates.
An order that was deleted (or whose store the seller may no longer see) after the
search found it shows as "(removed)".  How the rows load, and why the cells live in
C++: :mod:`ui.models.table_engine`.

Thread: GUI only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import replace
from datetime import datetime
from enum import IntEnum
from typing import TYPE_CHECKING, Protocol, TypeVar

from PySide6.QtCore import QObject
from PySide6.QtGui import QBrush, QColor

from app.amazon.models import DeliveryState, OrderRow, OrderStatus
from app.amazon.orders_service import OrderQuery, SortColumn
from app.auth.models import Actor
from app.clock import Clock, SystemClock
from ui.models.roles import ItemRole
from ui.models.table_engine import (
    ALIGN_RIGHT,
    ALIGNMENT,
    DISPLAY,
    FOREGROUND,
    TOOLTIP,
    Built,
    LazyTableModel,
    RowReader,
    row_cells,
)

if TYPE_CHECKING:
    from app.amazon.orders_service import OrdersReader

T = TypeVar("T")


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
# An order the sync could not fully read (OrderRow.attention says why, in the tooltip).
NEEDS_ATTENTION_TEXT = "Needs attention"
_LATE_BRUSH = QBrush(QColor("#b3261e"))
_COLUMNS = len(Column)
_CHANNEL_TEXT = {"AFN": "Fulfilled by Amazon", "MFN": "Fulfilled by you"}


class OrdersReads(Protocol):
    """What the model needs of ``OrdersService``: its one-job read."""

    def read(self, actor: Actor, fn: Callable[[OrdersReader], T]) -> Future[T]: ...


def build_row(row: OrderRow, now: datetime) -> Built[str]:
    """Every role of every cell of one order row (DB thread: plain Python values)."""
    late = _is_late(row, now)
    cells = row_cells(row.order_id, _COLUMNS)
    for column, cell in zip(Column, cells, strict=True):
        cell[int(ItemRole.STATUS)] = str(row.status)
        cell[int(ItemRole.LATE)] = late
        cell[DISPLAY] = _display(row, column, late)
        if column == Column.TOTAL:
            cell[ALIGNMENT] = ALIGN_RIGHT
        if late and column in (Column.SHIP_BY, Column.DELIVERY):
            cell[FOREGROUND] = _LATE_BRUSH
        tip = _tooltip(row, column, late)
        if tip:
            cell[TOOLTIP] = tip
    return Built(row.order_id, True, cells)


def build_missing(order_id: str) -> Built[str]:
    cells = row_cells(order_id, _COLUMNS, loaded=False)
    cells[Column.ORDER_ID][DISPLAY] = order_id
    cells[Column.STATUS][DISPLAY] = REMOVED_TEXT
    return Built(order_id, False, cells)


class _Reader:
    """The engine's reader over an :class:`OrdersReader` (DB thread)."""

    def __init__(self, orders: OrdersReader, clock: Clock) -> None:
        self._orders = orders
        self._clock = clock

    def keys(self, query: OrderQuery) -> list[str]:
        return self._orders.search_ids(query, self._clock.now())

    def rows(self, keys: Sequence[str]) -> list[Built[str]]:
        now = self._clock.now()
        found = {row.order_id: row for row in self._orders.rows(keys)}
        return [build_row(found[k], now) if k in found else build_missing(k) for k in keys]


class OrdersSource:
    """The orders table's :class:`~ui.models.table_engine.RowSource`."""

    def __init__(self, service: OrdersReads, actor: Actor, clock: Clock) -> None:
        self._service = service
        self._actor = actor
        self._clock = clock

    def read(self, fn: Callable[[RowReader[OrderQuery, str]], T]) -> Future[T]:
        clock = self._clock
        return self._service.read(self._actor, lambda orders: fn(_Reader(orders, clock)))


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
        if row.attention:
            return NEEDS_ATTENTION_TEXT
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
    if column == Column.STATUS and row.attention:
        return f"{row.attention} Check this order in Seller Central."
    if column == Column.ORDER_ID:
        return _CHANNEL_TEXT.get(row.fulfillment_channel or "")
    return None


def local_time(moment: datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
    if moment is None:
        return ""
    return moment.astimezone().strftime(fmt)


class OrdersModel(LazyTableModel):
    """Orders by :class:`OrderQuery`; keys are order ids."""

    ROW_ROLES = (*LazyTableModel.ROW_ROLES, int(ItemRole.STATUS), int(ItemRole.LATE))
    WHAT = "order rows"

    def __init__(
        self,
        *,
        service: OrdersReads,
        actor: Actor,
        clock: Clock | None = None,
        page_size: int = 50,
        max_loaded: int = 5000,
        max_in_flight: int = 1,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(
            source=OrdersSource(service, actor, clock or SystemClock()),
            headers=[HEADERS[c] for c in Column],
            query=OrderQuery(),
            right_aligned=(Column.TOTAL,),
            page_size=page_size,
            max_loaded=max_loaded,
            max_in_flight=max_in_flight,
            parent=parent,
        )

    @property
    def query(self) -> OrderQuery:
        q: OrderQuery = self._query
        return q

    def order_id(self, row: int) -> str | None:
        key: str | None = self.key_at(row)
        return key

    def ids(self) -> list[str]:
        return self.keys()

    def sorted_query(self, column: int, descending: bool) -> OrderQuery | None:
        key = SORT_KEYS[Column(column)]
        if key == self.query.sort and descending == self.query.descending:
            return None
        return replace(self.query, sort=key, descending=descending)
