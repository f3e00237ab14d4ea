"""The Shipping API v2 (``ShippingV2``): its contract and its real client.

The label service (``app/fulfillment/service.py``) uses :class:`ShippingApi` and gets
clients from a :data:`ShippingClientFactory` (unit tests pass fakes);
:func:`real_client_factory` builds :class:`SpApiShippingClient` through
:mod:`app.amazon.spapi.factory`, imported only then.

Amazon orders are rated with ``channelDetails.channelType = "AMAZON"`` and the order id:
Amazon fills in the recipient itself, so the app never asks for the buyer's address.
The label documents Amazon returns DO carry it: :class:`LabelDocument` bytes are buyer
PII, kept in memory only (never logged, never written; see ``app/fulfillment``).

Quirks of python-amazon-sp-api 2.1.35: ``ShippingV2`` reads ``marketplace.name`` (the
factory's marketplace object has one), sends its keyword arguments as the JSON body, and
cannot send ``x-amzn-IdempotencyKey``: never buying twice is the service's job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from app.amazon.models import Credentials, Money, Store
from app.amazon.spapi import DEFAULT_TIMEOUT, NotFoundAtAmazon
from app.errors import AmazonError

GET_RATES = "getRates"
PURCHASE_SHIPMENT = "purchaseShipment"
GET_SHIPMENT_DOCUMENTS = "getShipmentDocuments"
CANCEL_SHIPMENT = "cancelShipment"
GET_TRACKING = "getTracking"


class LabelFormat(StrEnum):
    PDF = "PDF"
    PNG = "PNG"
    ZPL = "ZPL"


class DocumentType(StrEnum):
    LABEL = "LABEL"
    PACKSLIP = "PACKSLIP"


class DimensionUnit(StrEnum):
    INCH = "INCH"
    CENTIMETER = "CENTIMETER"


class WeightUnit(StrEnum):
    POUND = "POUND"
    OUNCE = "OUNCE"
    KILOGRAM = "KILOGRAM"
    GRAM = "GRAM"


@dataclass(frozen=True)
class Address:
    """The seller's ship-from (or return) address: the seller's data, not the buyer's."""

    name: str
    address_line1: str
    city: str
    postal_code: str
    country_code: str
    state_or_region: str = ""
    address_line2: str = ""
    company_name: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class ParcelItem:
    """An order item in the parcel (Amazon wants them for Amazon-channel rates)."""

    order_item_id: str
    quantity: int
    sku: str | None = None
    description: str | None = None
    unit_value: Money | None = None


@dataclass(frozen=True)
class Parcel:
    length: Decimal
    width: Decimal
    height: Decimal
    dimension_unit: DimensionUnit
    weight: Decimal
    weight_unit: WeightUnit
    items: tuple[ParcelItem, ...] = ()
    declared_value: Money | None = None
    #: ``packageClientReferenceId``: Amazon hands the documents back under it.
    reference: str = "1"


@dataclass(frozen=True)
class RateRequest:
    order_id: str
    ship_from: Address
    parcel: Parcel
    ship_date: date | None = None


@dataclass(frozen=True)
class Rate:
    rate_id: str
    carrier_id: str
    carrier_name: str
    service_id: str
    service_name: str
    total: Money
    #: Promised delivery window (Amazon's ``promise.deliveryWindow``), when given.
    delivery_start: datetime | None = None
    delivery_end: datetime | None = None
    #: Amazon's claims protection (``benefits.includedBenefits`` has "CLAIMS_PROTECTED").
    protected: bool = False
    #: Formats Amazon can make this label in (``supportedDocumentSpecifications``).
    formats: tuple[LabelFormat, ...] = ()
    #: DPIs offered for ZPL/PNG, if Amazon says.
    dpis: tuple[int, ...] = ()
    requires_additional_inputs: bool = False


@dataclass(frozen=True)
class IneligibleRate:
    carrier_name: str
    service_name: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class RateQuote:
    """One getRates answer.  ``request_token`` is valid for 10 minutes at Amazon."""

    order_id: str
    request_token: str = field(repr=False)
    rates: tuple[Rate, ...]
    ineligible: tuple[IneligibleRate, ...] = ()
    received_at: datetime | None = None

    def rate(self, rate_id: str) -> Rate | None:
        return next((r for r in self.rates if r.rate_id == rate_id), None)


@dataclass(frozen=True)
class DocumentSpec:
    """What to ask Amazon for: format, size (4x6 in by default), DPI, packing slip."""

    format: LabelFormat = LabelFormat.PDF
    dpi: int | None = None  # ZPL/PNG: 203 or 300; PDF: Amazon's default
    width: Decimal = Decimal(4)
    length: Decimal = Decimal(6)
    unit: DimensionUnit = DimensionUnit.INCH
    packing_slip: bool = False


@dataclass(frozen=True)
class LabelDocument:
    """A label (or packing slip) as Amazon made it.  ``data`` holds the buyer's address:
    memory only, never logged, never written to disk by the app."""

    type: DocumentType
    format: LabelFormat
    data: bytes = field(repr=False)
    dpi: int | None = None


@dataclass(frozen=True)
class Purchase:
    shipment_id: str
    package_reference: str
    tracking_id: str | None
    documents: tuple[LabelDocument, ...] = field(repr=False)
    delivery_start: datetime | None = None
    delivery_end: datetime | None = None


class TrackingStatus(StrEnum):
    """Amazon's ``summary.status``."""

    PRE_TRANSIT = "PreTransit"
    IN_TRANSIT = "InTransit"
    OUT_FOR_DELIVERY = "OutForDelivery"
    DELIVERED = "Delivered"
    DELIVERY_ATTEMPTED = "DeliveryAttempted"
    LOST = "Lost"
    UNDELIVERABLE = "Undeliverable"
    REJECTED = "Rejected"
    PICKUP_CANCELLED = "PickupCancelled"
    UNKNOWN = "Unknown"


@dataclass(frozen=True)
class Tracking:
    tracking_id: str
    status: TrackingStatus
    #: Time of the Delivered event, when there is one.
    delivered_at: datetime | None = None
    promised_delivery: datetime | None = None
    last_event_at: datetime | None = None
    #: Event codes only (no location: a city next to an order id is close to an address).
    events: tuple[str, ...] = ()


# --- errors (Amazon's codes in plain words; ``detail`` never holds Amazon's text) -------


class ShipmentNotFound(NotFoundAtAmazon):
    title = "Shipment not found"
    message = "Amazon does not know this shipment (it may belong to another store)."


class RateExpired(AmazonError):
    """TOKEN_EXPIRED: the rate was asked for more than 10 minutes ago."""

    title = "Rates expired"
    message = "Amazon's rates are only valid for 10 minutes. Get the rates again to buy."


class InsufficientFunds(AmazonError):
    title = "Payment declined"
    message = (
        "Amazon could not charge the label: the payment method in Seller Central was "
        "declined or has too little balance. Check it in Seller Central, then try again. "
        "Nothing was bought."
    )


class AddressInvalid(AmazonError):
    title = "Address not accepted"
    message = (
        "The carrier did not accept an address on this shipment (your ship-from address "
        "or the buyer's). Check your ship-from address under Tools → Shipping; if it is "
        "right, contact the buyer through Amazon. Nothing was bought."
    )


class PurchaseRefused(AmazonError):
    title = "Label not bought"
    message = "Amazon refused to buy this label. Nothing was bought; try another service."


class ShippingUnavailable(AmazonError):
    title = "No shipping for this order"
    message = (
        "Amazon offers no label for this order: it may be shipped already, cancelled, "
        "fulfilled by Amazon, or not eligible for Buy Shipping."
    )


class CannotCancel(AmazonError):
    title = "Label cannot be voided"
    message = (
        "Amazon did not void this label: it may be scanned by the carrier already or "
        "past the void window. Check the shipment in Seller Central."
    )


class ShippingApi(Protocol):
    """What the label service needs from a Shipping v2 client (tests may fake it).
    Every method raises :class:`~app.errors.UserError` subclasses only (classified)."""

    def get_rates(self, request: RateRequest) -> RateQuote: ...

    def purchase(self, quote: RateQuote, rate_id: str, spec: DocumentSpec) -> Purchase: ...

    def documents(
        self, shipment_id: str, package_reference: str, spec: DocumentSpec
    ) -> tuple[LabelDocument, ...]: ...

    def cancel(self, shipment_id: str) -> None: ...

    def tracking(self, tracking_id: str, carrier_id: str) -> Tracking: ...

    def close(self) -> None: ...


ShippingClientFactory = Callable[[Store, Credentials], ShippingApi]


def real_client_factory(timeout: float = DEFAULT_TIMEOUT) -> ShippingClientFactory:
    def build(store: Store, credentials: Credentials) -> ShippingApi:
        return SpApiShippingClient(store, credentials, timeout=timeout)

    return build


class SpApiShippingClient:
    """``ShippingV2`` for one store.  Not thread-safe: one per call or worker thread."""

    def __init__(
        self, store: Store, credentials: Credentials, *, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        raise NotImplementedError("helper S: build through factory.build(ShippingV2, ...)")

    def get_rates(self, request: RateRequest) -> RateQuote:
        raise NotImplementedError

    def purchase(self, quote: RateQuote, rate_id: str, spec: DocumentSpec) -> Purchase:
        raise NotImplementedError

    def documents(
        self, shipment_id: str, package_reference: str, spec: DocumentSpec
    ) -> tuple[LabelDocument, ...]:
        raise NotImplementedError

    def cancel(self, shipment_id: str) -> None:
        raise NotImplementedError

    def tracking(self, tracking_id: str, carrier_id: str) -> Tracking:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError
