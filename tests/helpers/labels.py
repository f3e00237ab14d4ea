"""Orders and a scripted Shipping client for label tests (unit tests of the label
service and the label dialogs; integration tests use the fake SP-API over HTTP)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.amazon import orders_repo
from app.amazon.models import DeliveryState, Money, Order, OrderItem, OrderStatus
from app.amazon.spapi.shipping import (
    Address,
    DimensionUnit,
    DocumentSpec,
    DocumentType,
    LabelDocument,
    LabelFormat,
    Purchase,
    Rate,
    RateQuote,
    RateRequest,
    Tracking,
    TrackingStatus,
    WeightUnit,
)
from app.fulfillment.models import PackagePreset
from app.vault import Vault

SHIP_FROM = Address(
    name="Acme Kitchen",
    address_line1="1 Warehouse Way",
    city="Seattle",
    state_or_region="WA",
    postal_code="98109",
    country_code="US",
)
#: The fake recipient printed on the scripted labels (what a store-nothing scan looks for).
RECIPIENT = "Marigold Quintanilla-Voss, 77 Juniper Hollow Rd"

BOX = PackagePreset(
    store_id=1,
    name="Small box",
    length=Decimal(10),
    width=Decimal(8),
    height=Decimal(4),
    dimension_unit=DimensionUnit.INCH,
    weight=Decimal("1.5"),
    weight_unit=WeightUnit.POUND,
)


def put_order(
    vault: Vault,
    order_id: str,
    *,
    store_id: int = 1,
    sku: str = "MUG-BLUE",
    channel: str = "MFN",
    status: OrderStatus = OrderStatus.UNSHIPPED,
) -> str:
    now = datetime(2026, 11, 30, 9, tzinfo=UTC)
    order = Order(
        order_id=order_id,
        store_id=store_id,
        marketplace_id="ATVPDKIKX0DER",
        marketplace_name="Amazon.com",
        status=status,
        purchase_date=now,
        last_updated=now,
        fulfillment_channel=channel,
        items=(OrderItem("1", "B000MUG001", sku, "Blue mug", 2, Money(Decimal("12.50"), "USD")),),
        delivery_state=DeliveryState.TO_SHIP,
    )
    vault.call_write(lambda conn: orders_repo.upsert_orders(conn, [order], now=now))
    return order_id


def label_bytes(order_id: str, tracking: str) -> bytes:
    return f"%PDF-1.4 label {order_id} {tracking} SHIP TO {RECIPIENT}".encode()


@dataclass
class ScriptedShipping:
    """A ``ShippingApi`` in memory.  ``prices`` per service id; ``fail`` maps an order id
    (or "*") to an exception for ``purchase``; ``expire_once`` raises RateExpired on the
    first purchase; ``price_after_expiry`` changes the price the re-rate returns."""

    prices: dict[str, Decimal] = field(
        default_factory=lambda: {"UPS_GROUND": Decimal("7.45"), "USPS_PRIORITY": Decimal("9.10")}
    )
    fail: dict[str, BaseException] = field(default_factory=dict)
    expire_once: bool = False
    price_after_expiry: Decimal | None = None
    purchases: list[tuple[str, str]] = field(default_factory=list)  # (order id, rate id)
    rate_requests: list[RateRequest] = field(default_factory=list)
    downloads: int = 0
    cancelled: list[str] = field(default_factory=list)
    delivered: bool = False
    hold: threading.Event | None = None  # purchase waits for it (concurrency tests)
    no_label_once: bool = False  # the next purchase answer carries no document
    _tokens: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def factory(self, store: Any, credentials: Any) -> ScriptedShipping:
        return self

    def get_rates(self, request: RateRequest) -> RateQuote:
        with self._lock:
            self._tokens += 1
            token = f"tok-{self._tokens}"
            self.rate_requests.append(request)
            repriced = self.price_after_expiry is not None and self._tokens > 1
        rates = tuple(
            Rate(
                rate_id=f"{token}-{service}",
                carrier_id=service.split("_")[0],
                carrier_name=service.split("_")[0],
                service_id=service,
                service_name=service.split("_")[1].title(),
                total=Money(
                    self.price_after_expiry if repriced and self.price_after_expiry else price,
                    "USD",
                ),
                protected=service == "UPS_GROUND",
                formats=(LabelFormat.PDF, LabelFormat.PNG, LabelFormat.ZPL),
            )
            for service, price in self.prices.items()
        )
        return RateQuote(order_id=request.order_id, request_token=token, rates=rates)

    def purchase(self, quote: RateQuote, rate_id: str, spec: DocumentSpec) -> Purchase:
        from app.amazon.spapi.shipping import RateExpired

        if self.hold is not None:
            self.hold.wait(10)
        with self._lock:
            if self.expire_once:
                self.expire_once = False
                raise RateExpired()
            error = self.fail.get(quote.order_id) or self.fail.get("*")
            if error is not None:
                raise error
            self.purchases.append((quote.order_id, rate_id))
            n = len(self.purchases)
        tracking = f"1ZTEST{n:08d}"
        if self.no_label_once:
            self.no_label_once = False
            return Purchase(
                shipment_id=f"shp-{n}", package_reference="1", tracking_id=tracking, documents=()
            )
        return Purchase(
            shipment_id=f"shp-{n}",
            package_reference="1",
            tracking_id=tracking,
            documents=(
                LabelDocument(
                    DocumentType.LABEL, spec.format, label_bytes(quote.order_id, tracking)
                ),
            ),
        )

    def documents(
        self, shipment_id: str, package_reference: str, spec: DocumentSpec
    ) -> tuple[LabelDocument, ...]:
        self.downloads += 1
        n = int(shipment_id.split("-")[1])
        order_id = self.purchases[n - 1][0]
        return (
            LabelDocument(DocumentType.LABEL, spec.format, label_bytes(order_id, f"1ZTEST{n:08d}")),
        )

    def cancel(self, shipment_id: str) -> None:
        self.cancelled.append(shipment_id)

    def tracking(self, tracking_id: str, carrier_id: str) -> Tracking:
        if self.delivered:
            return Tracking(
                tracking_id,
                TrackingStatus.DELIVERED,
                delivered_at=datetime(2026, 12, 3, 15, tzinfo=UTC),
            )
        return Tracking(tracking_id, TrackingStatus.IN_TRANSIT)

    def close(self) -> None:
        pass


# --- the store-nothing scan ---------------------------------------------------------------


def every_value(conn: Any) -> str:
    """Every value of every table of an open data file, as text (DB thread)."""
    out = []
    tables = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    for (name,) in tables:
        for row in conn.execute(f'SELECT * FROM "{name}"').fetchall():
            out.extend(v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in row)
    return "\n".join(out)


def fake_label(server: Any, order_id: str) -> bytes:
    """The label the fake SP-API sold for ``order_id`` (as its documents call renders it)."""
    from app.demo.fake_labels import LABEL, render

    (sold,) = [s for s in server.shipments if s.order_id == order_id]
    return render(sold.content, LABEL, sold.format, sold.dpi)


def assert_nothing_kept(
    folders: list[Path],
    recipient: tuple[str, ...],
    *,
    label: bytes,
    data_file_text: str,
    log_text: str = "",
) -> None:
    """No recipient string and no piece of the label in any file under ``folders`` (the
    profile, the temp folder, the logs), in the data file's values (``every_value``), or
    in the log records.  The needles are long (24 bytes): the data file is encrypted, and
    a short one such as ``^XA`` turns up in random ciphertext now and then."""
    middle = len(label) // 2
    needles = [s.encode() for s in recipient] + [label[:24], label[middle : middle + 24]]
    assert all(len(n) >= 8 for n in needles)
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                for needle in needles:
                    assert needle not in data, f"{needle!r} found in {path}"
    for text in recipient:
        assert text not in data_file_text, "a recipient string is in the data file"
        assert text not in log_text, "a recipient string is in the log"
