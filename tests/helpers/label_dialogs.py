"""The label dialogs' world: the real LabelService on the test vault with a scripted
Shipping client (``client_factory``), a store with credentials and a ship-from address,
an unshipped merchant-fulfilled order, and 4x6 in label documents made in memory.

:class:`ScriptedShipping` answers like Amazon's Shipping v2 as the service sees it
(the ``ShippingApi`` protocol); a test queues an exception for the next purchase
(``purchase_errors``) and counts purchases, so "nothing is bought twice" is checked
where it happens.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QSizeF
from PySide6.QtGui import QFont, QPageLayout, QPageSize, QPainter, QPdfWriter

from app.amazon import orders_repo
from app.amazon.models import Money, OrderItem, OrderStatus
from app.amazon.spapi.shipping import (
    Address,
    DimensionUnit,
    DocumentSpec,
    DocumentType,
    IneligibleRate,
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
from app.amazon.stores import secret_name
from app.auth.models import Actor
from app.fulfillment.models import PackagePreset, ShippingDefaults
from app.services import Core, Services, build_services
from tests.helpers.inbox import add_store
from tests.helpers.operators import put_operator
from tests.helpers.orders import ADMIN, NOW, make

ORDER = make(
    1,
    status=OrderStatus.UNSHIPPED,
    fulfillment_channel="MFN",
    items=(OrderItem("1", "B0LANTERN1", "LANTERN-2", "Trail lantern", 2, None),),
)
FBA_ORDER = make(3, status=OrderStatus.UNSHIPPED, fulfillment_channel="AFN")
TRACKING = "1ZTEST0000000001"
SHIP_FROM = Address("Acme Kitchen", "1 Seller Way", "Springfield", "62701", "US", "IL")
DELIVERY = datetime(2026, 11, 5, 18, 0, tzinfo=UTC)


def label_pdf(*lines: str) -> bytes:
    """A one-page 4x6 in PDF with ``lines`` as text, painted into memory by Qt."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QSizeF(4, 6), QPageSize.Unit.Inch, "4x6"),
            QPageLayout.Orientation.Portrait,
            QMarginsF(0, 0, 0, 0),
        )
    )
    writer.setResolution(300)
    painter = QPainter(writer)
    painter.setFont(QFont("Sans", 12))
    for n, line in enumerate(lines):
        painter.drawText(60, 120 + n * 90, line)
    painter.end()
    buffer.close()
    return bytes(data.data())


def rate(rate_id: str, carrier: str, service: str, price: str, *, protected: bool = False) -> Rate:
    return Rate(
        rate_id=rate_id,
        carrier_id=carrier.upper(),
        carrier_name=carrier,
        service_id=f"{carrier}-{service}".upper().replace(" ", "_"),
        service_name=service,
        total=Money(Decimal(price), "USD"),
        delivery_start=DELIVERY - timedelta(days=1),
        delivery_end=DELIVERY,
        protected=protected,
        formats=(LabelFormat.PDF, LabelFormat.PNG, LabelFormat.ZPL),
    )


RATES = (
    rate("r-ups", "UPS", "Ground", "9.10", protected=True),
    rate("r-usps", "USPS", "Ground Advantage", "7.45", protected=True),
    rate("r-fedex", "FedEx", "2Day", "21.30"),
)


@dataclass
class ScriptedShipping:
    """A Shipping v2 client for the label service (one shared by every call)."""

    rates: tuple[Rate, ...] = RATES
    ineligible: tuple[IneligibleRate, ...] = (
        IneligibleRate("DHL", "Express", ("The package is too heavy for this service.",)),
    )
    #: Raised by the next purchases, in order (then purchases succeed).
    purchase_errors: list[BaseException] = field(default_factory=list)
    purchases: int = 0
    rate_calls: int = 0
    document_calls: int = 0
    label: bytes = b""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, _store: Any, _credentials: Any) -> ScriptedShipping:
        return self

    def get_rates(self, request: RateRequest) -> RateQuote:
        with self.lock:
            self.rate_calls += 1
            n = self.rate_calls
        return RateQuote(
            order_id=request.order_id,
            request_token=f"token-{n}",
            rates=self.rates,
            ineligible=self.ineligible,
        )

    def _documents(self, spec: DocumentSpec) -> tuple[LabelDocument, ...]:
        data = self.label or label_pdf(f"Order {ORDER.order_id}", f"Tracking {TRACKING}")
        return (LabelDocument(DocumentType.LABEL, spec.format, data, spec.dpi),)

    def purchase(self, quote: RateQuote, rate_id: str, spec: DocumentSpec) -> Purchase:
        with self.lock:
            if self.purchase_errors:
                raise self.purchase_errors.pop(0)
            self.purchases += 1
            n = self.purchases
        return Purchase(
            shipment_id=f"ship-{n}",
            package_reference="1",
            tracking_id=TRACKING if n == 1 else f"{TRACKING[:-1]}{n}",
            documents=self._documents(spec),
        )

    def documents(
        self, shipment_id: str, package_reference: str, spec: DocumentSpec
    ) -> tuple[LabelDocument, ...]:
        with self.lock:
            self.document_calls += 1
        return self._documents(spec)

    def cancel(self, shipment_id: str) -> None:
        pass

    def tracking(self, tracking_id: str, carrier_id: str) -> Tracking:
        return Tracking(tracking_id, TrackingStatus.DELIVERED, delivered_at=DELIVERY)

    def close(self) -> None:
        pass


def label_world(core: Core, actor: Actor = ADMIN) -> tuple[Services, ScriptedShipping]:
    """Services on ``core`` whose label service buys through a :class:`ScriptedShipping`;
    store 1 with credentials, a ship-from address and a package preset for LANTERN-2;
    :data:`ORDER` (MFN, unshipped) and :data:`FBA_ORDER` stored."""
    add_store(core.vault, 1, "Acme Kitchen")
    put_operator(core.vault, ADMIN)
    if actor != ADMIN:
        put_operator(core.vault, actor)
    core.secrets.set(secret_name(1, "refresh-token"), "Atzr|test-token")
    core.secrets.set(secret_name(1, "lwa-client-secret"), "test-secret")
    core.vault.call_write(lambda conn: orders_repo.upsert_orders(conn, [ORDER, FBA_ORDER], now=NOW))
    services = build_services(core)
    client = ScriptedShipping()
    services.labels.client_factory = client
    services.labels.retry_base = 0.0
    services.labels.save_defaults(ADMIN, ShippingDefaults(store_id=1, ship_from=SHIP_FROM))
    services.labels.save_preset(
        ADMIN,
        PackagePreset(
            store_id=1,
            name="Lantern box",
            length=Decimal(10),
            width=Decimal(6),
            height=Decimal(4),
            dimension_unit=DimensionUnit.INCH,
            weight=Decimal("1.5"),
            weight_unit=WeightUnit.POUND,
            sku="LANTERN-2",
        ),
    )
    return services, client
