"""The batch label dialog through the real label service on a temp vault, with a fake
Shipping client (one order's purchase declined): rates reviewed with the total, four
labels bought and one failed with its reason, nothing bought twice, printing with a
printer that fails once and "Retry failed" printing the same in-memory label."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QMessageBox

from app.amazon import orders_repo
from app.amazon.models import Credentials, Money, OrderStatus, Store
from app.amazon.spapi.shipping import (
    DocumentSpec,
    DocumentType,
    InsufficientFunds,
    LabelDocument,
    LabelFormat,
    Purchase,
    Rate,
    RateQuote,
    RateRequest,
    Tracking,
)
from app.amazon.stores import secret_name
from app.fulfillment.models import BatchState, ShippingDefaults
from app.fulfillment.printers import (
    PrinterInfo,
    PrinterKind,
    PrinterOffline,
    PrinterState,
    PrintSettings,
)
from app.services import Core, Services, build_services
from tests.helpers.labels import BOX, SHIP_FROM
from tests.helpers.operators import put_operator
from tests.helpers.orders import ADMIN, make
from tests.helpers.windows import windows_go_before_the_vault  # noqa: F401
from ui.dialogs.label_batch import BatchLabelDialog, Column
from ui.printing import PrintTarget

DECLINED = "111-0000003-0000021"  # make(3)'s order id: its purchase is declined
ORDER_IDS = [make(n).order_id for n in range(1, 6)]
LABEL_PDF = PrinterInfo(
    name="LabelPDF",
    kind=PrinterKind.CUPS,
    state=PrinterState.IDLE,
    accepting=True,
    is_default=True,
    description="Label PDF",
    raw=False,
)


class FakeShipping:
    """A Shipping client for every store: three services per order; ``DECLINED``'s
    purchase is refused (payment declined).  Counts purchases."""

    def __init__(self) -> None:
        self.purchases: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, store: Store, credentials: Credentials) -> FakeShipping:
        return self

    def get_rates(self, request: RateRequest) -> RateQuote:
        when = datetime(2026, 11, 5, 18, tzinfo=UTC)
        oid = request.order_id
        return RateQuote(
            order_id=oid,
            request_token=f"token-{oid}",
            rates=(
                _rate(f"{oid}-ups", "UPS", "Ground", "7.45", when, protected=True),
                _rate(f"{oid}-usps", "USPS", "Priority", "6.10", when - timedelta(days=1)),
                _rate(f"{oid}-fedex", "FedEx", "2Day", "12.00", when, protected=True),
            ),
        )

    def purchase(self, quote: RateQuote, rate_id: str, spec: DocumentSpec) -> Purchase:
        with self.lock:
            self.purchases.append(quote.order_id)
        if quote.order_id == DECLINED:
            raise InsufficientFunds()
        n = len(self.purchases)
        return Purchase(
            shipment_id=f"shp-{n}",
            package_reference="1",
            tracking_id=f"1ZTRACK{n:04d}",
            documents=(
                LabelDocument(
                    DocumentType.LABEL, LabelFormat.PDF, f"%PDF label {quote.order_id}".encode()
                ),
            ),
        )

    def documents(
        self, shipment_id: str, package_reference: str, spec: DocumentSpec
    ) -> tuple[LabelDocument, ...]:
        raise AssertionError("the labels are in memory; Amazon is not asked again")

    def cancel(self, shipment_id: str) -> None:
        raise AssertionError("nothing is voided here")

    def tracking(self, tracking_id: str, carrier_id: str) -> Tracking:
        raise AssertionError("no tracking here")

    def close(self) -> None:
        pass


def _rate(
    rate_id: str,
    carrier: str,
    service: str,
    price: str,
    when: datetime,
    *,
    protected: bool = False,
) -> Rate:
    return Rate(
        rate_id=rate_id,
        carrier_id=carrier.upper(),
        carrier_name=carrier,
        service_id=f"{carrier}-{service}",
        service_name=service,
        total=Money(Decimal(price), "USD"),
        delivery_end=when,
        protected=protected,
        formats=(LabelFormat.PDF,),
    )


class FlakyPrinter:
    """Prints into a list; fails the first time it is handed ``fail_once``."""

    def __init__(self, fail_once: str | None = None) -> None:
        self.jobs: list[tuple[str, LabelDocument, str]] = []
        self.fail_once = fail_once
        self.failed: list[str] = []

    def __call__(
        self, target: PrintTarget, document: LabelDocument, settings: PrintSettings, title: str
    ) -> str:
        if self.fail_once and self.fail_once in title and not self.failed:
            self.failed.append(title)
            raise PrinterOffline()
        self.jobs.append((target.name, document, title))
        return f"{target.name}-{len(self.jobs)}"


@pytest.fixture
def fake() -> FakeShipping:
    return FakeShipping()


@pytest.fixture
def services(core: Core, fake: FakeShipping) -> Services:
    put_operator(core.vault, ADMIN)
    orders = [make(n, status=OrderStatus.UNSHIPPED, fulfillment_channel="MFN") for n in range(1, 6)]
    assert [o.order_id for o in orders] == ORDER_IDS and DECLINED in ORDER_IDS

    def write(conn: Any) -> None:
        conn.execute(
            "INSERT INTO stores(id, name, created_at) VALUES (1, 'Acme', '2026-01-01T00:00:00Z')"
        )
        orders_repo.upsert_orders(conn, orders, now=datetime(2026, 10, 2, tzinfo=UTC))

    core.vault.call_write(write)
    core.secrets.set(secret_name(1, "refresh-token"), "refresh-1")
    core.secrets.set(secret_name(1, "lwa-client-secret"), "secret-1")
    built = build_services(core)
    built.labels.client_factory = fake
    built.labels.save_defaults(
        ADMIN,
        ShippingDefaults(
            store_id=1,
            ship_from=SHIP_FROM,
        ),
    )
    built.labels.save_preset(ADMIN, BOX)
    return built


@pytest.fixture(autouse=True)
def yes_to_confirmations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)


def _dialog(
    qtbot: Any, services: Services, printer: FlakyPrinter | None = None
) -> BatchLabelDialog:
    dialog = BatchLabelDialog(
        services,
        ADMIN,
        ORDER_IDS,
        print_fn=printer or FlakyPrinter(),
        list_printers=lambda: [LABEL_PDF],
    )
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.printer_combo.count() == 1, timeout=5000)
    return dialog


def _rates(qtbot: Any, dialog: BatchLabelDialog) -> None:
    with qtbot.waitSignal(dialog.lines_changed, timeout=10000):
        dialog.rates_button.click()


def _buy(qtbot: Any, dialog: BatchLabelDialog) -> None:
    with qtbot.waitSignal(dialog.lines_changed, timeout=10000):
        dialog.buy_button.click()


def _state(dialog: BatchLabelDialog, order_id: str) -> str:
    item = dialog.table.item(ORDER_IDS.index(order_id), Column.STATE)
    assert item is not None
    return item.text()


def _color(dialog: BatchLabelDialog, order_id: str) -> str:
    item = dialog.table.item(ORDER_IDS.index(order_id), Column.STATE)
    assert item is not None
    return str(item.foreground().color().name())


def test_review_shows_the_picked_services_and_the_total(
    qtbot: Any, services: Services, fake: FakeShipping
) -> None:
    dialog = _dialog(qtbot, services)
    assert not dialog.buy_button.isVisible()
    _rates(qtbot, dialog)

    assert [li.state for li in dialog.lines] == [BatchState.RATED] * 5
    # The cheapest claims-protected service is picked, not the cheapest (USPS 6.10).
    assert {li.rate.rate_id.split("-")[-1] for li in dialog.lines if li.rate} == {"ups"}
    combo = dialog.table.cellWidget(0, Column.SERVICE)
    assert isinstance(combo, QComboBox) and combo.count() == 3
    assert combo.currentText() == "UPS Ground ✓ — 7.45 USD"
    package = dialog.table.item(0, Column.PACKAGE)
    assert package is not None and package.text() == "Small box"
    delivery = dialog.table.item(0, Column.DELIVERY)
    assert delivery is not None and delivery.text() == "by Thu 05 Nov"
    assert dialog.total_label.text() == "Total: 37.25 USD"
    assert dialog.buy_button.text() == "Buy 5 labels for 37.25 USD"

    combo.setCurrentIndex(combo.findText("FedEx 2Day ✓ — 12.00 USD"))
    assert dialog.total_label.text() == "Total: 41.80 USD"
    first = dialog.table.item(0, Column.ORDER)
    assert first is not None
    first.setCheckState(Qt.CheckState.Unchecked)  # leave it out
    assert dialog.left_out == {ORDER_IDS[0]}
    assert _state(dialog, ORDER_IDS[0]) == "Left out"
    assert dialog.buy_button.text() == "Buy 4 labels for 29.80 USD"
    assert fake.purchases == []


def test_a_batch_of_five_with_one_declined_buys_four_and_never_twice(
    qtbot: Any, services: Services, fake: FakeShipping
) -> None:
    dialog = _dialog(qtbot, services)
    _rates(qtbot, dialog)
    _buy(qtbot, dialog)

    states = {li.order_id: li.state for li in dialog.lines}
    assert sorted(states.values()) == sorted([BatchState.BOUGHT] * 4 + [BatchState.FAILED])
    assert states[DECLINED] is BatchState.FAILED
    assert _state(dialog, DECLINED).startswith("Failed: Amazon could not charge the label")
    assert _color(dialog, DECLINED) == "#c62828"
    bought = next(oid for oid in ORDER_IDS if oid != DECLINED)
    assert _state(dialog, bought).startswith("Bought, tracking 1ZTRACK")
    assert dialog.summary.text().startswith(f"4 bought; 1 failed ({DECLINED}: Amazon could not")
    assert dialog.summary.text().endswith("too little balance).")  # its first sentence
    assert dialog.total_label.text() == "Bought: 4 labels for 29.80 USD"
    assert sorted(fake.purchases) == sorted(ORDER_IDS)

    # The Buy button has nothing left to buy; asking again buys nothing.
    assert not dialog.buy_button.isEnabled()
    dialog.buy()
    assert len(fake.purchases) == 5

    # A new batch over the same orders: the four bought show as such and are not bought.
    again = _dialog(qtbot, services)
    _rates(qtbot, again)
    assert {li.order_id: li.state for li in again.lines} == {
        oid: BatchState.RATED if oid == DECLINED else BatchState.SKIPPED for oid in ORDER_IDS
    }
    assert _state(again, bought) == "Label bought already."
    assert _color(again, bought) == "#6c757d"
    assert again.buy_button.text() == "Buy 1 label for 7.45 USD"
    _buy(qtbot, again)
    assert fake.purchases.count(bought) == 1
    assert len(fake.purchases) == 6  # only the declined one was tried again
    shipments = services.labels.shipments(ADMIN, ORDER_IDS).result(timeout=5)
    assert sorted(s.order_id for s in shipments) == sorted(o for o in ORDER_IDS if o != DECLINED)


def test_printing_with_a_failing_printer_then_retry_prints_the_same_labels(
    qtbot: Any, services: Services, fake: FakeShipping
) -> None:
    flaky_order = ORDER_IDS[1]
    printer = FlakyPrinter(fail_once=flaky_order)
    dialog = _dialog(qtbot, services, printer)
    _rates(qtbot, dialog)
    _buy(qtbot, dialog)
    assert dialog.print_box.isVisible()
    assert dialog.printer_combo.currentText() == "LabelPDF (this computer)"
    assert dialog.print_button.text() == "Print 4 labels"
    assert not dialog.retry_button.isVisible()

    with qtbot.waitSignal(dialog.lines_changed, timeout=10000):
        dialog.print_button.click()
    assert printer.failed == [f"Order {flaky_order}"]
    assert [title for _n, _d, title in printer.jobs] == [
        f"Order {oid}" for oid in ORDER_IDS if oid not in (DECLINED, flaky_order)
    ]
    assert "Not printed: The printer is off" in _state(dialog, flaky_order)
    assert _color(dialog, flaky_order) == "#c62828"
    assert dialog.summary.text().startswith("3 of 4 labels printed, 1 failed")
    assert dialog.retry_button.isVisible() and dialog.retry_button.isEnabled()
    remembered = services.labels.read(ADMIN, lambda r: r.last_printers()).result(timeout=5)
    assert remembered == {"PDF": "LabelPDF"}

    with qtbot.waitSignal(dialog.lines_changed, timeout=10000):
        dialog.retry_button.click()
    name, document, title = printer.jobs[-1]
    assert (name, title) == ("LabelPDF", f"Order {flaky_order}")
    assert document.data == f"%PDF label {flaky_order}".encode()
    assert len(printer.jobs) == 4
    assert _state(dialog, flaky_order).endswith("printed")
    assert dialog.summary.text() == "4 of 4 labels printed."
    assert not dialog.retry_button.isVisible()
    assert len(fake.purchases) == 5  # printing never buys
    shipments = services.labels.shipments(ADMIN, ORDER_IDS).result(timeout=5)
    assert sorted(s.printed for s in shipments) == [1, 1, 1, 1]


def test_the_dialog_closes_only_through_cancel_while_working(
    qtbot: Any, services: Services, fake: FakeShipping
) -> None:
    gate = threading.Event()
    original = fake.get_rates

    def slow_rates(request: RateRequest) -> RateQuote:
        gate.wait(10)
        return original(request)

    fake.get_rates = slow_rates  # type: ignore[method-assign]
    dialog = _dialog(qtbot, services)
    dialog.rates_button.click()
    assert dialog.busy
    dialog.reject()
    assert dialog.isVisible()
    assert dialog.current_op is not None and dialog.current_op.job is not None
    dialog.current_op.job.cancel.set()  # the progress window's Cancel
    gate.set()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10000)
    assert dialog.summary.text().startswith("Stopped")
    assert all(li.state is BatchState.PENDING for li in dialog.lines)
    dialog.reject()
    assert not dialog.isVisible()
