"""The order detail panel: items, amounts, dates, fulfillment, tracking, Seller Central,
and for merchant-fulfilled orders the shipping labels (``ui/views/order_shipping.py``).

Signals: ``order_loaded(str)`` (an order was shown), ``order_missing(str)`` (the order
is not stored yet).
Thread: GUI only.  The order is read through ``services.orders`` (DB thread); "Fetch it
now" asks the same service, which fetches on the job host's network lane.  An order read
from Amazon's order reports (``details_pending``: no packages, tracking or windows yet)
says so, and its details are asked of Amazon once (``open_order``, getOrder).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.amazon.models import Order
from app.amazon.orders_service import seller_central_url
from app.auth.models import Actor
from ui.models.orders_model import (
    DELIVERY_TEXT,
    NEEDS_ATTENTION_TEXT,
    STATUS_TEXT,
    local_time,
)
from ui.ops import when_done
from ui.views.order_shipping import ShippingSection

if TYPE_CHECKING:
    from app.services import Services
    from ui.events import QtEvents

log = logging.getLogger("muttefik.ui")

DETAILS_LOADING_TEXT = (
    "From Amazon's order report: packages, tracking and delivery dates are being loaded…"
)
DETAILS_UNREACHABLE_TEXT = (
    "Amazon could not be reached; packages and tracking load with the next sync."
)

_CHANNEL = {"AFN": "Fulfilled by Amazon (FBA)", "MFN": "Fulfilled by you (merchant)"}


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setStyleSheet("font-weight: 600; margin-top: 10px;")
    return label


def _window(start: Any, end: Any) -> str:
    if start is None and end is None:
        return "—"
    if start is None or end is None or local_time(start, "%d %b") == local_time(end, "%d %b"):
        return local_time(end or start, "%d %b %Y")
    return f"{local_time(start, '%d %b')} – {local_time(end, '%d %b %Y')}"


class OrderDetailPanel(QWidget):
    order_loaded = Signal(str)
    order_missing = Signal(str)

    def __init__(
        self,
        *,
        services: Services,
        actor: Actor,
        qt_events: QtEvents | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("orderDetail")
        self._orders = services.orders
        self._services = services
        self._qt_events = qt_events
        self._actor = actor
        self._order_id: str | None = None
        self._order: Order | None = None
        self._serial = 0
        # Report orders whose details were asked of Amazon (once per order), and those
        # Amazon did not give them for.
        self._details_asked: set[str] = set()
        self._details_missing: set[str] = set()

        self.stack = QStackedWidget()
        self.empty_page = self._message_page(
            "Select an order to see its items, dates and tracking."
        )
        self.loading_page = self._message_page("Loading…")
        self.missing_page, self.missing_label, self.fetch_button = self._missing_page()
        self.detail_page = self._detail_page()
        for page in (self.empty_page, self.loading_page, self.missing_page, self.detail_page):
            self.stack.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        self.setMinimumWidth(340)

    # --- public ---------------------------------------------------------------------

    @property
    def order(self) -> Order | None:
        return self._order

    @property
    def order_id(self) -> str | None:
        return self._order_id

    def clear(self) -> None:
        self._serial += 1
        self._order_id = None
        self._order = None
        self.stack.setCurrentWidget(self.empty_page)

    def show_order(self, order_id: str) -> None:
        """Load and show ``order_id`` (DB thread); keeps showing the old one meanwhile."""
        self._serial += 1
        serial = self._serial
        changed = order_id != self._order_id
        self._order_id = order_id
        if changed and self.stack.currentWidget() is not self.detail_page:
            self.stack.setCurrentWidget(self.loading_page)
        future = self._orders.get_order(self._actor, order_id)

        def loaded(order: Order | None) -> None:
            if serial != self._serial:
                return
            if order is None:
                self._show_missing(order_id)
            else:
                self._show(order)

        when_done(future, loaded, parent=self)

    def reload(self) -> None:
        if self._order_id is not None:
            self.show_order(self._order_id)

    # --- pages ----------------------------------------------------------------------

    def _message_page(self, text: str) -> QWidget:
        page = QLabel(text)
        page.setAlignment(Qt.AlignmentFlag.AlignCenter)
        page.setWordWrap(True)
        page.setStyleSheet("color: #555; padding: 24px;")
        return page

    def _missing_page(self) -> tuple[QWidget, QLabel, QPushButton]:
        page = QWidget()
        page.setObjectName("orderMissingPage")
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        label = QLabel()
        label.setWordWrap(True)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(label)
        button = QPushButton("Fetch it from Amazon now")
        button.setObjectName("fetchNowButton")
        button.clicked.connect(self._fetch)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(2)
        return page, label, button

    def _detail_page(self) -> QWidget:
        inner = QWidget()
        v = QVBoxLayout(inner)
        v.setContentsMargins(12, 8, 12, 12)

        top = QHBoxLayout()
        self.title_label = QLabel()
        self.title_label.setObjectName("orderTitle")
        self.title_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title_label.setStyleSheet("font-size: 15px; font-weight: 600;")
        top.addWidget(self.title_label)
        self.status_chip = QLabel()
        self.status_chip.setObjectName("statusChip")
        top.addWidget(self.status_chip)
        top.addStretch(1)
        v.addLayout(top)
        self.subtitle = QLabel()
        self.subtitle.setWordWrap(True)
        self.subtitle.setStyleSheet("color: #555;")
        v.addWidget(self.subtitle)
        # What Amazon sent that this app could not read (an unknown status, an item
        # without an ASIN): the order is stored anyway; the seller checks it at Amazon.
        self.attention = QLabel()
        self.attention.setObjectName("orderAttention")
        self.attention.setWordWrap(True)
        self.attention.setStyleSheet(
            "background: #fff4e5; color: #663c00; border: 1px solid #f0c36d;"
            " border-radius: 4px; padding: 4px 6px;"
        )
        self.attention.hide()
        v.addWidget(self.attention)
        # An order from Amazon's order reports: what it lacks yet, quietly.
        self.report_note = QLabel()
        self.report_note.setObjectName("reportOrderNote")
        self.report_note.setWordWrap(True)
        self.report_note.setStyleSheet("color: #555; font-style: italic;")
        self.report_note.hide()
        v.addWidget(self.report_note)
        self.seller_central = QPushButton("Open in Seller Central ↗")
        self.seller_central.setObjectName("sellerCentralButton")
        self.seller_central.setToolTip("Opens the order's page in your web browser.")
        self.seller_central.clicked.connect(self._open_seller_central)
        link_row = QHBoxLayout()
        link_row.addWidget(self.seller_central)
        link_row.addStretch(1)
        v.addLayout(link_row)

        v.addWidget(_heading("Items"))
        # The panel is narrow: the title wraps, with ASIN and SKU on a line below it.
        self.items_table = QTableWidget(0, 3)
        self.items_table.setObjectName("itemsTable")
        self.items_table.setHorizontalHeaderLabels(["Item", "Qty", "Price"])
        self.items_table.verticalHeader().setVisible(False)
        self.items_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.items_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.items_table.setWordWrap(True)
        self.items_table.setTextElideMode(Qt.TextElideMode.ElideNone)
        header = self.items_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.items_table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Wrapped titles need their rows re-measured whenever the title column's width
        # changes (first layout, splitter drag).
        header.sectionResized.connect(lambda *_: self._fit_items_height())
        v.addWidget(self.items_table)

        v.addWidget(_heading("Amounts"))
        self.amounts = QFormLayout()
        v.addLayout(self.amounts)
        v.addWidget(_heading("Dates"))
        self.dates = QFormLayout()
        v.addLayout(self.dates)
        v.addWidget(_heading("Fulfillment and tracking"))
        self.fulfillment = QFormLayout()
        v.addLayout(self.fulfillment)
        self.shipping = ShippingSection(
            services=self._services, actor=self._actor, qt_events=self._qt_events
        )
        v.addWidget(self.shipping)
        v.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(inner)
        return scroll

    # --- filling --------------------------------------------------------------------

    def _fit_items_height(self) -> None:
        table = self.items_table
        table.resizeRowsToContents()
        rows = sum(table.rowHeight(r) for r in range(table.rowCount()))
        table.setFixedHeight(table.horizontalHeader().height() + rows + 4)

    def _show_missing(self, order_id: str) -> None:
        self._order = None
        self.missing_label.setText(
            f"Order {order_id} is not stored yet.\n\nThe sync fetches older orders in the "
            "background; you can fetch this one now."
        )
        self.fetch_button.setEnabled(True)
        self.stack.setCurrentWidget(self.missing_page)
        self.order_missing.emit(order_id)

    def _show(self, order: Order) -> None:
        self._order = order
        self.title_label.setText(order.order_id)
        self.status_chip.setText(
            NEEDS_ATTENTION_TEXT
            if order.attention
            else STATUS_TEXT.get(order.status, str(order.status))
        )
        self.attention.setText(
            f"Needs attention: {order.attention} Check this order in Seller Central."
            if order.attention
            else ""
        )
        self.attention.setVisible(bool(order.attention))
        self._show_report_note(order)
        self.status_chip.setStyleSheet(
            "border: 1px solid palette(mid); border-radius: 8px; padding: 1px 8px;"
        )
        flags = [order.marketplace_name or order.marketplace_id]
        if order.is_prime:
            flags.append("Prime")
        if order.is_business:
            flags.append("Business")
        if order.is_preorder:
            flags.append("Pre-order")
        if order.service_level:
            flags.append(order.service_level)
        self.subtitle.setText(" · ".join(flags))

        self.items_table.setRowCount(len(order.items))
        for r, item in enumerate(order.items):
            price = str(item.unit_price) if item.unit_price else ""
            codes = f"ASIN {item.asin}" + (f" · SKU {item.sku}" if item.sku else "")
            cells = [f"{item.title or ''}\n{codes}", str(item.quantity), price]
            for c, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                if c == 0:
                    cell.setToolTip(text)
                    cell.setData(Qt.ItemDataRole.UserRole, item.asin)
                else:
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
                self.items_table.setItem(r, c, cell)
        self._fit_items_height()
        # Once laid out, the title column has its real width: measure again.
        QTimer.singleShot(0, self._fit_items_height)

        _fill(self.amounts, self._amount_rows(order))
        _fill(
            self.dates,
            [
                ("Purchased", local_time(order.purchase_date)),
                ("Ship by", _window(order.ship_by_earliest, order.ship_by_latest)),
                ("Deliver by", _window(order.deliver_by_earliest, order.deliver_by_latest)),
                (
                    ("Delivered", local_time(order.delivered_at, "%d %b %Y"))
                    if order.delivered_at  # else its state: "Delivery: To ship"
                    else ("Delivery", DELIVERY_TEXT.get(order.delivery_state, "—"))
                ),
                ("Last update", local_time(order.last_updated)),
            ],
        )
        tracking: list[tuple[str, str]] = [
            ("Channel", _CHANNEL.get(order.fulfillment_channel or "", "—"))
        ]
        # A package's items by SKU (what the seller packs by), else ASIN.
        names = {i.order_item_id: i.sku or i.asin for i in order.items}
        for n, pkg in enumerate(order.packages, 1):
            parts = [p for p in (pkg.carrier, pkg.tracking_number) if p]
            extra = [p for p in (pkg.shipping_service, _pkg_status(pkg.status)) if p]
            text = " ".join(parts) or "—"
            if extra:
                text += f"  ({', '.join(extra)})"
            if pkg.items:
                text += "\nContains " + ", ".join(
                    f"{i.quantity}× {names.get(i.order_item_id, i.order_item_id)}"
                    for i in pkg.items
                )
            label = "Tracking" if len(order.packages) == 1 else f"Package {n}"
            tracking.append((label, text))
        if not order.packages:
            tracking.append(
                (
                    "Tracking",
                    "Amazon handles shipping" if order.fulfillment_channel == "AFN" else "—",
                )
            )
        _fill(self.fulfillment, tracking)
        self.shipping.show_order(order)
        self.stack.setCurrentWidget(self.detail_page)
        self.order_loaded.emit(order.order_id)

    def _show_report_note(self, order: Order) -> None:
        """A report order says what it lacks and asks Amazon for it, once."""
        if not order.details_pending:
            self.report_note.hide()
            return
        missing = order.order_id in self._details_missing
        self.report_note.setText(DETAILS_UNREACHABLE_TEXT if missing else DETAILS_LOADING_TEXT)
        self.report_note.show()
        if order.order_id not in self._details_asked:
            self._ask_details(order)

    def _ask_details(self, order: Order) -> None:
        order_id = order.order_id
        self._details_asked.add(order_id)

        def fetched(full: Order | None) -> None:
            if full is None or full.details_pending:  # Amazon unreachable: the report's copy
                self._details_missing.add(order_id)
            if self._order_id != order_id:
                return
            shown = full or self._order
            if shown is not None and shown.order_id == order_id:
                self._serial += 1  # a read in flight would show the older copy
                self._show(shown)

        def failed(exc: BaseException) -> None:
            log.info("details of report order not loaded: %s", type(exc).__name__)
            fetched(None)

        when_done(
            self._orders.open_order(self._actor, order.store_id, order_id),
            fetched,
            failed,
            parent=self,
        )

    def _amount_rows(self, order: Order) -> list[tuple[str, str]]:
        rows: list[tuple[str, str]] = []
        units = sum(i.quantity for i in order.items)
        priced = [i for i in order.items if i.unit_price is not None]
        if priced:
            currency = priced[0].unit_price.currency if priced[0].unit_price else ""
            subtotal = sum(
                (i.unit_price.amount * i.quantity for i in priced if i.unit_price), start=0
            )
            rows.append((f"Items ({units})", f"{subtotal:.2f} {currency}"))
        rows.append(("Order total", str(order.total) if order.total else "—"))
        return rows

    # --- actions --------------------------------------------------------------------

    def _open_seller_central(self) -> None:
        if self._order is not None:
            QDesktopServices.openUrl(QUrl(seller_central_url(self._order)))

    def _fetch(self) -> None:
        if self._order_id is None:
            return
        order_id = self._order_id
        self.fetch_button.setEnabled(False)
        self.missing_label.setText(f"Fetching order {order_id} from Amazon…")

        def failed(exc: BaseException) -> None:
            from ui.errors import show_error

            self.fetch_button.setEnabled(True)
            self._show_missing(order_id)
            show_error(self, exc)

        when_done(
            self._orders.fetch_order(self._actor, order_id),
            lambda _order: self.show_order(order_id),
            failed,
            parent=self,
        )


def _pkg_status(status: str | None) -> str:
    if not status:
        return ""
    return status.replace("_", " ").capitalize()


def _fill(form: QFormLayout, rows: list[tuple[str, str]]) -> None:
    while form.rowCount():
        form.removeRow(0)
    for label, value in rows:
        field = QLabel(value)
        field.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        field.setWordWrap(True)
        form.addRow(f"{label}:", field)
