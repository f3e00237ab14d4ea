"""What the label service stores and hands out.  None of it is buyer PII: a shipment
record is ids, carrier, service, tracking, cost and who bought it; package presets and
the ship-from address are the seller's.  Label documents (the buyer's address) are
:class:`~app.amazon.spapi.shipping.LabelDocument`, in memory only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from app.amazon.models import Money, OrderStatus
from app.amazon.spapi.shipping import (
    Address,
    DimensionUnit,
    DocumentSpec,
    DocumentType,
    LabelDocument,
    LabelFormat,
    Rate,
    RateQuote,
    WeightUnit,
)
from app.errors import UserError

__all__ = [
    "Address",
    "BatchLine",
    "BatchState",
    "Bought",
    "DocumentSpec",
    "LabelDocument",
    "LabelFormat",
    "PackagePreset",
    "Rate",
    "RateQuote",
    "Shipment",
    "ShipmentState",
    "ShippableOrder",
    "ShippingDefaults",
    "service_text",
]


def service_text(carrier: str | None, service: str | None) -> str:
    """ "UPS Ground"; "USPS Ground Advantage" once, not after its carrier again."""
    carrier, service = (carrier or "").strip(), (service or "").strip()
    if carrier and service.lower().startswith(carrier.lower()):
        return service
    return f"{carrier} {service}".strip() or "—"


class ShipmentState(StrEnum):
    #: The purchase request is on its way (written before Amazon is asked).
    BUYING = "buying"
    BOUGHT = "bought"
    #: The purchase may or may not have gone through (connection cut, 5xx): never
    #: bought again without the seller's say-so.
    UNCERTAIN = "uncertain"
    VOIDED = "voided"


@dataclass(frozen=True)
class PackagePreset:
    """A package's size and weight, for one SKU or (``sku`` None) the store's default."""

    store_id: int
    name: str
    length: Decimal
    width: Decimal
    height: Decimal
    dimension_unit: DimensionUnit
    weight: Decimal
    weight_unit: WeightUnit
    sku: str | None = None
    id: int | None = None

    def describe(self) -> str:
        unit = "in" if self.dimension_unit is DimensionUnit.INCH else "cm"
        weight = {
            WeightUnit.POUND: "lb",
            WeightUnit.OUNCE: "oz",
            WeightUnit.KILOGRAM: "kg",
            WeightUnit.GRAM: "g",
        }[self.weight_unit]
        return (
            f"{_num(self.length)} × {_num(self.width)} × {_num(self.height)} {unit}, "
            f"{_num(self.weight)} {weight}"
        )


def _num(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class ShippingDefaults:
    """A store's shipping settings: where parcels leave from and how labels are made."""

    store_id: int
    ship_from: Address | None = None
    label_format: LabelFormat = LabelFormat.PDF
    dpi: int | None = None
    #: Print Amazon's packing slip with the label (our own slip is printed by the UI).
    packing_slip: bool = False
    #: Put the recipient's name on our packing slip (off by default: PII on paper).
    slip_shows_name: bool = False

    def document_spec(self) -> DocumentSpec:
        return DocumentSpec(format=self.label_format, dpi=self.dpi, packing_slip=self.packing_slip)


@dataclass(frozen=True)
class Shipment:
    """A bought (or being bought) label.  No PII."""

    id: int
    store_id: int
    order_id: str
    state: ShipmentState
    created_at: datetime
    operator_id: int | None
    operator_name: str | None = None
    shipment_id: str | None = None
    package_reference: str | None = None
    carrier_id: str | None = None
    carrier: str | None = None
    service: str | None = None
    tracking_id: str | None = None
    cost: Money | None = None
    label_format: LabelFormat = LabelFormat.PDF
    dpi: int | None = None
    preset: str | None = None
    printed: int = 0
    voided_at: datetime | None = None
    tracking_status: str | None = None
    delivered_at: datetime | None = None
    tracking_checked_at: datetime | None = None

    @property
    def service_text(self) -> str:
        return service_text(self.carrier, self.service)

    @property
    def active(self) -> bool:
        """Counts against buying again for the order (not voided)."""
        return self.state is not ShipmentState.VOIDED


@dataclass(frozen=True)
class Bought:
    """A purchase: the record and, in memory, the documents (label first)."""

    shipment: Shipment
    documents: tuple[LabelDocument, ...] = field(repr=False)

    @property
    def label(self) -> LabelDocument:
        """The label; :class:`LabelNotReceived` if Amazon's answer had none (the label
        is bought: "Print again" downloads it)."""
        for doc in self.documents:
            if doc.type is DocumentType.LABEL:
                return doc
        raise LabelNotReceived()


class LabelNotReceived(UserError):
    title = "Label not received"
    message = (
        "The label is bought, but Amazon's answer did not include it. Use “Print again” "
        "to download it; nothing will be bought again."
    )


@dataclass(frozen=True)
class ShippableOrder:
    """An order as the label dialogs need it: can a label be bought, with which package."""

    order_id: str
    store_id: int
    status: OrderStatus
    fulfillment_channel: str | None
    ship_by: datetime | None
    items: tuple[tuple[str | None, str | None, int], ...]  # (sku, title, quantity)
    preset: PackagePreset | None
    #: Why no label can be bought (plain words), or None.
    blocked: str | None = None
    #: The shipment that already exists for this order (not voided), if any.
    existing: Shipment | None = None


class BatchState(StrEnum):
    PENDING = "pending"
    RATED = "rated"
    BOUGHT = "bought"
    SKIPPED = "skipped"  # bought before (idempotent), or blocked
    FAILED = "failed"


@dataclass(frozen=True)
class BatchLine:
    order_id: str
    store_id: int
    state: BatchState = BatchState.PENDING
    preset: PackagePreset | None = None
    quote: RateQuote | None = None
    rate: Rate | None = None
    shipment: Shipment | None = None
    #: Plain-words reason for SKIPPED / FAILED.
    message: str | None = None
