"""Buy one shipping label: the order, its package, Amazon's rates, Buy.

The order, its package presets and the store's defaults are read in one hop
(``LabelService.read``).  "Get rates" and "Buy" talk to Amazon on the network lane
(:class:`ui.ops.Op`); getting rates can be cancelled, buying cannot (once asked, Amazon
may have bought).  The Buy button names the price ("Buy for 7.45 USD"): it is the one
confirmation.  What the service refuses is answered in the dialog: a changed price asks
"Buy at the new price?", a label bought already offers Reprint / Buy another label, a
purchase whose outcome is unknown explains and offers "It was not bought" (after a
confirm), and Amazon's errors appear inline in plain words.  A bought label opens the
preview (``ui/dialogs/label_preview.py``) with its documents from memory.

Signals: ``label_bought(object)`` with the :class:`~app.fulfillment.models.Bought`.
Thread: GUI only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.amazon.spapi.shipping import DocumentSpec, LabelFormat
from app.auth.models import Actor
from app.errors import UserError
from app.fulfillment.models import (
    Bought,
    PackagePreset,
    Rate,
    RateQuote,
    ShippableOrder,
    ShippingDefaults,
)
from app.fulfillment.service import AlreadyBought, PriceChanged, PurchaseUncertain
from ui.dialogs.forms import BUSY_STYLE, ERR_STYLE, OK_STYLE, esc, result_label
from ui.dialogs.package_box import CUSTOM, PackageBox
from ui.models.orders_model import local_time
from ui.ops import Lane, Op, when_done

#: The format choices: (text, format, dpi).
FORMATS = (
    ("PDF", LabelFormat.PDF, None),
    ("PNG", LabelFormat.PNG, None),
    ("ZPL 203 dpi", LabelFormat.ZPL, 203),
    ("ZPL 300 dpi", LabelFormat.ZPL, 300),
)
GREY = QBrush(QColor("#888"))


@dataclass(frozen=True)
class _Loaded:
    order: ShippableOrder
    presets: list[PackagePreset]
    defaults: ShippingDefaults


def _delivery(rate: Rate) -> str:
    start, end = rate.delivery_start, rate.delivery_end
    if start is None and end is None:
        return "—"
    if start is None or end is None or local_time(start, "%d %b") == local_time(end, "%d %b"):
        return local_time(end or start, "%a %d %b")
    return f"{local_time(start, '%a %d %b')} – {local_time(end, '%a %d %b')}"


def _services(window_or_services: Any) -> Any:
    return getattr(window_or_services, "services", window_or_services)


class BuyLabelDialog(QDialog):
    label_bought = Signal(object)

    def __init__(
        self,
        window_or_services: Any,
        actor: Actor,
        order_id: str,
        parent: QWidget | None = None,
        *,
        open_preview: Callable[[Bought, ShippableOrder], Any] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("buyLabelDialog")
        self.setWindowTitle(f"Buy a label for order {order_id}")
        self._labels = _services(window_or_services).labels
        self._actor = actor
        self.order_id = order_id
        self._open_preview = open_preview or self._preview
        self.loaded: _Loaded | None = None
        self.quote: RateQuote | None = None
        self.busy = False
        self.preview: QDialog | None = None
        self.question: QMessageBox | None = None

        layout = QVBoxLayout(self)
        self.summary = QLabel("Loading the order…")
        self.summary.setObjectName("orderSummary")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.items = QTableWidget(0, 3)
        self.items.setObjectName("itemsTable")
        self.items.setHorizontalHeaderLabels(["SKU", "Item", "Qty"])
        self.items.verticalHeader().setVisible(False)
        self.items.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.items.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.items.setMaximumHeight(110)
        layout.addWidget(self.items)
        self.blocked = QLabel()
        self.blocked.setObjectName("blockedNote")
        self.blocked.setWordWrap(True)
        self.blocked.setStyleSheet(ERR_STYLE)
        self.blocked.setVisible(False)
        layout.addWidget(self.blocked)

        self.form = QWidget()
        body = QVBoxLayout(self.form)
        body.setContentsMargins(0, 0, 0, 0)
        self.package_box = PackageBox()
        # The box's fields, as the dialog's (tests and the flow read them here).
        self.preset = self.package_box.preset
        self.length_spin = self.package_box.length_spin
        self.weight_spin = self.package_box.weight_spin
        self.remember = self.package_box.remember
        body.addWidget(self.package_box)
        row = QHBoxLayout()
        row.addWidget(QLabel("Ship date:"))
        self.ship_date = QDateEdit(QDate.currentDate())
        self.ship_date.setObjectName("shipDate")
        self.ship_date.setCalendarPopup(True)
        self.ship_date.setDisplayFormat("ddd d MMM yyyy")
        self.ship_date.setMinimumDate(QDate.currentDate())
        row.addWidget(self.ship_date)
        row.addSpacing(16)
        row.addWidget(QLabel("Label format:"))
        self.format = QComboBox()
        self.format.setObjectName("formatCombo")
        for text, _fmt, _dpi in FORMATS:
            self.format.addItem(text)
        row.addWidget(self.format)
        row.addStretch(1)
        self.rates_button = QPushButton("Get rates")
        self.rates_button.setObjectName("getRatesButton")
        self.rates_button.clicked.connect(self.get_rates)
        row.addWidget(self.rates_button)
        body.addLayout(row)

        self.rates = QTableWidget(0, 5)
        self.rates.setObjectName("ratesTable")
        self.rates.setHorizontalHeaderLabels(
            ["Carrier", "Service", "Price", "Delivery", "Protected"]
        )
        self.rates.verticalHeader().setVisible(False)
        self.rates.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.rates.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.rates.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.rates.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.rates.itemSelectionChanged.connect(self._rate_chosen)
        self.rates.itemDoubleClicked.connect(lambda _item: self.buy())
        body.addWidget(self.rates, 1)
        layout.addWidget(self.form, 1)
        self.form.setEnabled(False)

        self.answer = result_label("buyAnswer")
        layout.addWidget(self.answer)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = QPushButton("Close")
        self.cancel_button.clicked.connect(self.reject)
        self.cancel_button.setAutoDefault(False)
        buttons.addWidget(self.cancel_button)
        self.buy_button = QPushButton("Buy")
        self.buy_button.setObjectName("buyButton")
        self.buy_button.setEnabled(False)
        self.buy_button.setDefault(True)
        self.buy_button.clicked.connect(self.buy)
        buttons.addWidget(self.buy_button)
        layout.addLayout(buttons)
        self.resize(720, 600)
        self._load()

    # --- loading ------------------------------------------------------------------------

    def _load(self) -> None:
        order_id = self.order_id

        def read(reader: Any) -> _Loaded | None:
            found = reader.shippable([order_id])
            if not found:
                return None
            order = found[0]
            return _Loaded(order, reader.presets(order.store_id), reader.defaults(order.store_id))

        when_done(self._labels.read(self._actor, read), self._show, self._load_failed, parent=self)

    def _load_failed(self, exc: BaseException) -> None:
        self.summary.setText("The order could not be read.")
        self._error(exc)

    def _show(self, loaded: _Loaded | None) -> None:
        if loaded is None:
            self.summary.setText(
                f"Order {esc(self.order_id)} is not in Müttefik Desk (or not in your stores)."
            )
            return
        self.loaded = loaded
        order = loaded.order
        ship_by = local_time(order.ship_by, "%a %d %b %Y") if order.ship_by else "—"
        self.summary.setText(f"<b>Order {esc(order.order_id)}</b> · ship by {esc(ship_by)}")
        self.items.setRowCount(len(order.items))
        for r, (sku, title, qty) in enumerate(order.items):
            for c, text in enumerate((sku or "—", title or "", str(qty))):
                self.items.setItem(r, c, QTableWidgetItem(text))
        self.items.resizeColumnToContents(0)
        if order.blocked:
            self.blocked.setText(f"No label can be bought for this order: {esc(order.blocked)}")
            self.blocked.setVisible(True)
            self.rates_button.setVisible(False)
            self.buy_button.setVisible(False)
            return
        if order.existing is not None:
            s = order.existing
            self._say(
                BUSY_STYLE,
                "A label was bought for this order already"
                + esc(f" ({' '.join(p for p in (s.carrier, s.tracking_id) if p)})")
                + ". Buying offers a reprint or a second label.",
            )
        self.form.setEnabled(True)
        self.package_box.show_presets(loaded.presets, order.preset)
        skus = {sku for sku, _title, _qty in order.items if sku}
        if len(skus) == 1:
            self.remember.setText(f"Remember for SKU {next(iter(skus))}")
            self.remember.setVisible(True)
        d = loaded.defaults
        want = (d.label_format, (d.dpi or 203) if d.label_format is LabelFormat.ZPL else None)
        for i, (_text, fmt, dpi) in enumerate(FORMATS):
            if (fmt, dpi) == want:
                self.format.setCurrentIndex(i)
        self.rates_button.setFocus()

    def package(self) -> PackagePreset:
        """The package as the form shows it (a preset's name when it was not changed)."""
        assert self.loaded is not None
        return self.package_box.package(self.loaded.order.store_id)

    def spec(self) -> DocumentSpec:
        _text, fmt, dpi = FORMATS[max(self.format.currentIndex(), 0)]
        slip = self.loaded is not None and self.loaded.defaults.packing_slip
        return DocumentSpec(format=fmt, dpi=dpi, packing_slip=slip)

    # --- rates --------------------------------------------------------------------------

    def get_rates(self) -> None:
        if self.loaded is None or self.busy:
            return
        package = self.package()
        remember = self.remember.isVisible() and self.remember.isChecked()
        sku = next((s for s, _t, _q in self.loaded.order.items if s), None)
        ship_date = self.ship_date.date().toPython()
        assert isinstance(ship_date, date)
        actor, labels, order_id = self._actor, self._labels, self.order_id

        def work(job: Any) -> RateQuote:
            if remember and sku:
                existing = next((p for p in self.loaded.presets if p.sku == sku), None)  # type: ignore[union-attr]
                labels.save_preset(
                    actor,
                    PackagePreset(
                        store_id=package.store_id,
                        name=existing.name if existing else sku,
                        length=package.length,
                        width=package.width,
                        height=package.height,
                        dimension_unit=package.dimension_unit,
                        weight=package.weight,
                        weight_unit=package.weight_unit,
                        sku=sku,
                        id=existing.id if existing else None,
                    ),
                )
            quote: RateQuote = labels.get_rates(
                actor, order_id, package, ship_date=ship_date, cancel=job.cancel
            )
            return quote

        self._set_busy(True)
        self._say(BUSY_STYLE, "Asking Amazon for rates…")
        Op(self, work, lane=Lane.NET).with_progress("Asking Amazon for rates…").on_success(
            self.show_rates
        ).on_failure(self._error).on_cancelled(self._rates_cancelled).run()

    def _rates_cancelled(self) -> None:
        self._set_busy(False)
        self._say(BUSY_STYLE, "Stopped. Get the rates again when you are ready.")

    def show_rates(self, quote: RateQuote) -> None:
        self._set_busy(False)
        self.quote = quote
        rates = sorted(quote.rates, key=lambda r: (r.total.amount, r.carrier_name, r.service_name))
        self.rates.setRowCount(0)
        self.rates.setRowCount(len(rates) + len(quote.ineligible))
        for r, rate in enumerate(rates):
            cells = (
                rate.carrier_name,
                rate.service_name,
                str(rate.total),
                _delivery(rate),
                "✓" if rate.protected else "",
            )
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, rate.rate_id)
                if c in (2, 4):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if c == 4 and rate.protected:
                    item.setToolTip("Amazon's claims protection covers this label.")
                self.rates.setItem(r, c, item)
        for n, bad in enumerate(quote.ineligible, len(rates)):
            reason = "; ".join(bad.reasons) or "Not offered for this order."
            for c, text in enumerate((bad.carrier_name, bad.service_name, "—", reason, "")):
                item = QTableWidgetItem(text)
                item.setFlags(Qt.ItemFlag.NoItemFlags)
                item.setForeground(GREY)
                item.setToolTip(reason)
                self.rates.setItem(n, c, item)
        self.rates.resizeColumnToContents(0)
        self.rates.resizeColumnToContents(2)
        self.rates.resizeColumnToContents(3)
        if rates:
            self.rates.selectRow(0)
            self._say(OK_STYLE, f"{len(rates)} services. Rates are valid for 10 minutes.")
            self.rates.setFocus()
        else:
            self._say(ERR_STYLE, "Amazon offers no service for this order and package.")
        self._rate_chosen()

    def chosen_rate(self) -> Rate | None:
        if self.quote is None:
            return None
        rows = self.rates.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.rates.item(rows[0].row(), 0)
        rate_id = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return self.quote.rate(rate_id) if rate_id else None

    def _rate_chosen(self) -> None:
        rate = self.chosen_rate()
        self.buy_button.setText(f"Buy for {rate.total}" if rate else "Buy")
        self.buy_button.setEnabled(rate is not None and not self.busy)

    # --- buying -------------------------------------------------------------------------

    def buy(
        self, *, quote: RateQuote | None = None, rate_id: str | None = None, another: bool = False
    ) -> None:
        """Buy the chosen rate (or ``rate_id`` of ``quote``: the new price agreed)."""
        if self.busy:
            return
        if quote is None or rate_id is None:
            rate = self.chosen_rate()
            if rate is None or self.quote is None:
                return
            quote, rate_id = self.quote, rate.rate_id
        spec = self.spec()
        preset = self.package().name
        actor, labels, order_id = self._actor, self._labels, self.order_id
        chosen_quote, chosen_id = quote, rate_id

        def work(_job: Any) -> Bought:
            bought: Bought = labels.buy(
                actor,
                order_id,
                chosen_quote,
                chosen_id,
                spec=spec,
                preset=None if preset == CUSTOM else preset,
                another=another,
            )
            return bought

        self._set_busy(True)
        self._say(BUSY_STYLE, "Buying the label…")
        # Not cancellable: once Amazon is asked, the label may be bought.
        Op(self, work, lane=Lane.NET).with_progress(
            "Buying the label…", cancellable=False
        ).on_success(self._bought).on_failure(self._error).run()

    def _bought(self, bought: Bought) -> None:
        self._set_busy(False)
        s = bought.shipment
        self._say(OK_STYLE, esc(f"Label bought: {s.carrier or ''} {s.tracking_id or ''}"))
        self.label_bought.emit(bought)
        assert self.loaded is not None
        self.preview = self._open_preview(bought, self.loaded.order)
        self.accept()

    def _preview(self, bought: Bought, order: ShippableOrder) -> QDialog:
        from ui.dialogs.label_preview import LabelPreviewDialog

        dialog = LabelPreviewDialog(
            labels=self._labels,
            actor=self._actor,
            shipment=bought.shipment,
            documents=bought.documents,
            items=order.items,
            parent=self.parentWidget(),
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _reprint(self, row_id: int) -> None:
        actor, labels = self._actor, self._labels
        self._set_busy(True)
        self._say(BUSY_STYLE, "Getting the label…")

        def got(result: tuple[Any, str]) -> None:
            documents, _source = result
            self._set_busy(False)
            assert self.loaded is not None and self.loaded.order.existing is not None
            shipment = self.loaded.order.existing
            self._bought(Bought(shipment=shipment, documents=documents))

        Op(
            self, lambda job: labels.documents(actor, row_id, cancel=job.cancel), lane=Lane.NET
        ).with_progress("Getting the label…").on_success(got).on_failure(self._error).on_cancelled(
            lambda: self._set_busy(False)
        ).run()

    # --- answers ------------------------------------------------------------------------

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.rates_button.setEnabled(not busy)
        self.buy_button.setEnabled(not busy and self.chosen_rate() is not None)

    def _say(self, style: str, html: str) -> None:
        self.answer.setStyleSheet(style)
        self.answer.setText(html)
        self.answer.setVisible(True)

    def _ask(
        self,
        title: str,
        text: str,
        choices: list[tuple[str, QMessageBox.ButtonRole]],
        answered: Callable[[str], None],
    ) -> QMessageBox:
        """A question box shown without a nested event loop; ``answered(choice text)``."""
        box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=self)
        box.setObjectName("labelQuestion")
        buttons = {box.addButton(label, role): label for label, role in choices}
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def clicked(button: Any) -> None:
            answered(buttons.get(button, ""))

        box.buttonClicked.connect(clicked)
        self.question = box
        box.open()
        return box

    def _error(self, exc: BaseException) -> None:
        self._set_busy(False)
        if isinstance(exc, PriceChanged):
            self.show_rates(exc.quote)
            new = exc.quote.rate(exc.rate_id)
            assert new is not None
            self._say(ERR_STYLE, esc(exc.message))
            self._ask(
                exc.title,
                exc.message,
                [
                    (f"Buy for {new.total}", QMessageBox.ButtonRole.AcceptRole),
                    ("Cancel", QMessageBox.ButtonRole.RejectRole),
                ],
                lambda choice: self._buy_new_price(choice, exc),
            )
            return
        if isinstance(exc, AlreadyBought):
            self._say(ERR_STYLE, esc(exc.message))
            row_id = exc.shipment.id
            if self.loaded is not None:
                self.loaded = _Loaded(
                    _with_existing(self.loaded.order, exc.shipment),
                    self.loaded.presets,
                    self.loaded.defaults,
                )

            def answered(choice: str) -> None:
                if choice == "Reprint":
                    self._reprint(row_id)
                elif choice == "Buy another label":
                    rate = self.chosen_rate()
                    if rate is not None and self.quote is not None:
                        self.buy(quote=self.quote, rate_id=rate.rate_id, another=True)

            self._ask(
                exc.title,
                exc.message,
                [
                    ("Reprint", QMessageBox.ButtonRole.AcceptRole),
                    ("Buy another label", QMessageBox.ButtonRole.ActionRole),
                    ("Cancel", QMessageBox.ButtonRole.RejectRole),
                ],
                answered,
            )
            return
        if isinstance(exc, PurchaseUncertain):
            self._say(ERR_STYLE, f"<b>{esc(exc.title)}</b><br>{esc(exc.message)}")
            shipment = exc.shipment
            if shipment is None:
                return
            self._ask(
                exc.title,
                exc.message,
                [
                    ("It was not bought", QMessageBox.ButtonRole.DestructiveRole),
                    ("Close", QMessageBox.ButtonRole.RejectRole),
                ],
                lambda choice: self._not_bought_asked(choice, shipment.id),
            )
            return
        if isinstance(exc, UserError):
            self._say(ERR_STYLE, f"<b>{esc(exc.title)}</b><br>{esc(exc.message)}")
            return
        from ui.errors import show_error

        show_error(self, exc)

    def _buy_new_price(self, choice: str, exc: PriceChanged) -> None:
        if choice.startswith("Buy"):
            self.buy(quote=exc.quote, rate_id=exc.rate_id)

    def _not_bought_asked(self, choice: str, row_id: int) -> None:
        if choice == "It was not bought":
            self._confirm_not_bought(row_id)

    def _confirm_not_bought(self, row_id: int) -> None:
        def answered(choice: str) -> None:
            if choice != "Yes, it was not bought":
                return
            Op(self, lambda _job: self._labels.forget_uncertain(self._actor, row_id)).on_success(
                lambda _none: self._say(
                    OK_STYLE, "Noted. You can buy the label now: choose a service and Buy."
                )
            ).on_failure(self._error).run()

        self._ask(
            "Was the label bought?",
            "Only confirm if Seller Central shows no label for this order. If a label was "
            "bought after all, buying now pays for a second one.",
            [
                ("Yes, it was not bought", QMessageBox.ButtonRole.AcceptRole),
                ("Cancel", QMessageBox.ButtonRole.RejectRole),
            ],
            answered,
        )


def _with_existing(order: ShippableOrder, shipment: Any) -> ShippableOrder:
    from dataclasses import replace

    return replace(order, existing=shipment)
