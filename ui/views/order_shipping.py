"""The order detail's "Shipping" section: a merchant-fulfilled order's labels.

Each shipment shows carrier, service, tracking id, cost, who bought it and when, its
state, how often it was printed and the tracking status; a bought label offers "Print
again" (its documents from memory, the opt-in cache, or Amazon again: never bought
again), "Void" (after a confirm) and "Refresh tracking"; "Buy label…" appears while the
order can be shipped and has no live label.  The section reloads on
:class:`~app.notices.ShipmentsChanged` for its order.

Signals: ``shipping_loaded(str)`` (the order id, once its shipments are shown).
Thread: GUI only; reads through ``LabelService.read``, Amazon calls in ``Op`` (NET).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.amazon.models import Order
from app.auth.models import Actor
from app.fulfillment.models import Shipment, ShipmentState, ShippableOrder
from app.notices import ShipmentsChanged
from ui.models.orders_model import local_time
from ui.ops import Lane, Op, when_done

if TYPE_CHECKING:
    from app.services import Services
    from ui.events import QtEvents

TRACKING_TEXT = {
    "PreTransit": "Label created, not yet with the carrier",
    "InTransit": "In transit",
    "OutForDelivery": "Out for delivery",
    "Delivered": "Delivered",
    "DeliveryAttempted": "Delivery attempted",
    "Lost": "Lost",
    "Undeliverable": "Undeliverable",
    "Rejected": "Rejected",
    "PickupCancelled": "Pickup cancelled",
    "Unknown": "Unknown",
}
STATE_TEXT = {
    ShipmentState.BUYING: "Being bought",
    ShipmentState.BOUGHT: "Bought",
    ShipmentState.UNCERTAIN: "Not confirmed: check Seller Central before buying again",
    ShipmentState.VOIDED: "Voided",
}


def shipment_text(s: Shipment) -> str:
    """The shipment in a few lines (no PII: a shipment record holds none)."""
    head = s.service_text if (s.carrier or s.service) else "Label"
    lines = [head + (f" · {s.cost}" if s.cost else "")]
    if s.tracking_id:
        lines.append(f"Tracking {s.tracking_id}")
    who = s.operator_name or "system"
    lines.append(f"Bought by {who} on {local_time(s.created_at, '%d %b %Y %H:%M')}")
    state = STATE_TEXT.get(s.state, str(s.state))
    if s.state is ShipmentState.VOIDED and s.voided_at:
        state += f" on {local_time(s.voided_at, '%d %b %Y')}"
    if s.state is ShipmentState.BOUGHT:
        state += f" · printed {s.printed}×" if s.printed else " · not printed yet"
    lines.append(state)
    if s.delivered_at:
        lines.append(f"Delivered {local_time(s.delivered_at, '%d %b %Y')}")
    elif s.tracking_status:
        lines.append(TRACKING_TEXT.get(s.tracking_status, s.tracking_status))
    return "\n".join(lines)


class ShippingSection(QWidget):
    shipping_loaded = Signal(str)

    def __init__(
        self,
        *,
        services: Services,
        actor: Actor,
        qt_events: QtEvents | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("shippingSection")
        self._services = services
        self._labels = services.labels
        self._actor = actor
        self._order: Order | None = None
        self._serial = 0
        self.shipments: list[Shipment] = []
        self.shippable: ShippableOrder | None = None
        self.preview: QWidget | None = None
        self.question: QMessageBox | None = None
        self.buy_dialog: QWidget | None = None
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        heading = QLabel("Shipping")
        heading.setStyleSheet("font-weight: 600; margin-top: 10px;")
        v.addWidget(heading)
        self.rows = QVBoxLayout()
        v.addLayout(self.rows)
        self.note = QLabel()
        self.note.setObjectName("shippingNote")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #555;")
        v.addWidget(self.note)
        row = QHBoxLayout()
        self.buy_button = QPushButton("Buy label…")
        self.buy_button.setObjectName("buyLabelButton")
        self.buy_button.clicked.connect(self.open_buy)
        self.buy_button.setVisible(False)
        row.addWidget(self.buy_button)
        row.addStretch(1)
        v.addLayout(row)
        self.setVisible(False)
        if qt_events is not None:
            qt_events.on(ShipmentsChanged, self._changed)

    # --- loading ------------------------------------------------------------------------

    def show_order(self, order: Order) -> None:
        self._order = order
        self.setVisible(order.fulfillment_channel == "MFN")
        if order.fulfillment_channel != "MFN":
            self._serial += 1
            return
        self.reload()

    def reload(self) -> None:
        if self._order is None or self._order.fulfillment_channel != "MFN":
            return
        self._serial += 1
        serial = self._serial
        order_id = self._order.order_id

        def read(reader: Any) -> tuple[list[Shipment], list[ShippableOrder]]:
            return reader.shipments([order_id]), reader.shippable([order_id])

        def loaded(result: tuple[list[Shipment], list[ShippableOrder]]) -> None:
            if serial == self._serial:
                self._fill(*result)

        when_done(self._labels.read(self._actor, read), loaded, parent=self)

    def _changed(self, notice: ShipmentsChanged) -> None:
        if self._order is not None and self._order.order_id in notice.order_ids:
            self.reload()

    def _fill(self, shipments: list[Shipment], shippable: list[ShippableOrder]) -> None:
        while self.rows.count():
            item = self.rows.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.setParent(None)  # out of the section now, deleted soon
                widget.deleteLater()
        self.shipments = sorted(shipments, key=lambda s: s.created_at, reverse=True)
        self.shippable = shippable[0] if shippable else None
        for shipment in self.shipments:
            self.rows.addWidget(self._row(shipment))
        live = any(s.active for s in self.shipments)
        can_buy = self.shippable is not None and not self.shippable.blocked and not live
        self.buy_button.setVisible(can_buy)
        if not self.shipments:
            blocked = self.shippable.blocked if self.shippable else None
            self.note.setText(f"No label. {blocked}" if blocked else "No label bought yet.")
        else:
            self.note.setText("")
        self.note.setVisible(bool(self.note.text()))
        if self._order is not None:
            self.shipping_loaded.emit(self._order.order_id)

    def _row(self, shipment: Shipment) -> QWidget:
        frame = QFrame()
        frame.setObjectName(f"shipment-{shipment.id}")
        frame.setFrameShape(QFrame.Shape.StyledPanel)
        v = QVBoxLayout(frame)
        text = QLabel(shipment_text(shipment))
        text.setObjectName("shipmentText")
        text.setWordWrap(True)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        if shipment.state is ShipmentState.VOIDED:
            text.setStyleSheet("color: #777;")
        v.addWidget(text)
        if shipment.state is ShipmentState.BOUGHT:
            buttons = QHBoxLayout()
            for name, label, slot in (
                ("printAgain", "Print again", self.print_again),
                ("void", "Void", self.void),
                ("refreshTracking", "Refresh tracking", self.refresh_tracking),
            ):
                button = QPushButton(label)
                button.setObjectName(f"{name}-{shipment.id}")
                button.clicked.connect(lambda _c=False, s=shipment, f=slot: f(s))
                buttons.addWidget(button)
            buttons.addStretch(1)
            v.addLayout(buttons)
        return frame

    # --- actions ------------------------------------------------------------------------

    def open_buy(self) -> None:
        if self._order is None:
            return
        from ui.dialogs.label_buy import BuyLabelDialog

        dialog = BuyLabelDialog(self._services, self._actor, self._order.order_id, self.window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        # Also without change notices (a panel built without qt_events).
        dialog.label_bought.connect(lambda _bought: self.reload())
        self.buy_dialog = dialog
        dialog.open()

    def print_again(self, shipment: Shipment) -> None:
        """The label from memory, the cache or Amazon (worker), then the preview."""
        actor, labels = self._actor, self._labels
        items = (
            tuple((i.sku, i.title, i.quantity) for i in self._order.items) if self._order else ()
        )

        def got(result: tuple[Any, str]) -> None:
            from ui.dialogs.label_preview import LabelPreviewDialog

            documents, source = result
            dialog = LabelPreviewDialog(
                labels=labels,
                actor=actor,
                shipment=shipment,
                documents=documents,
                source=source,
                items=items,
                parent=self.window(),
            )
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.label_printed.connect(lambda _printer: self.reload())
            self.preview = dialog
            dialog.open()

        Op(
            self, lambda job: labels.documents(actor, shipment.id, cancel=job.cancel), lane=Lane.NET
        ).with_progress("Getting the label…").on_success(got).run()

    def void(self, shipment: Shipment) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Void this label?",
            f"Void the {shipment.carrier or ''} label {shipment.tracking_id or ''} for order "
            f"{shipment.order_id}? Amazon refunds an unused label; a voided label must not "
            "be used on a parcel.",
            parent=self,
        )
        box.setObjectName("voidQuestion")
        void = box.addButton("Void label", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Keep it", QMessageBox.ButtonRole.RejectRole)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        actor, labels = self._actor, self._labels

        def clicked(button: Any) -> None:
            self.question = None
            if button is not void:
                return
            Op(
                self,
                lambda job: labels.void(actor, shipment.id, cancel=job.cancel),
                lane=Lane.NET,
            ).with_progress("Voiding the label…", cancellable=False).on_success(
                lambda _s: self.reload()
            ).run()

        box.buttonClicked.connect(clicked)
        self.question = box
        box.open()

    def refresh_tracking(self, shipment: Shipment) -> None:
        actor, labels = self._actor, self._labels
        Op(
            self,
            lambda job: labels.refresh_tracking(actor, shipment.id, cancel=job.cancel),
            lane=Lane.NET,
        ).with_progress("Asking Amazon where the parcel is…").on_success(
            lambda _s: self.reload()
        ).run()
