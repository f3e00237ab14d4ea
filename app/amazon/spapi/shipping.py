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

import base64
import binascii
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from app.amazon.models import Credentials, Money, Store
from app.amazon.spapi import DEFAULT_TIMEOUT, NotFoundAtAmazon, parse_time
from app.clock import Clock
from app.errors import AmazonBadResponse, AmazonError, UserError

if TYPE_CHECKING:
    from sp_api.api import ShippingV2

log = logging.getLogger("muttefik.shipping")

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
    #: The parcel's ``packageClientReferenceId`` (documents are fetched under it).
    package_reference: str = "1"

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
    AWAITING_CUSTOMER_PICKUP = "AwaitingCustomerPickup"
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


def real_client_factory(
    timeout: float = DEFAULT_TIMEOUT, clock: Clock | None = None
) -> ShippingClientFactory:
    def build(store: Store, credentials: Credentials) -> ShippingApi:
        return SpApiShippingClient(store, credentials, timeout=timeout, clock=clock)

    return build


class DocumentsUnavailable(AmazonError):
    """getShipmentDocuments refused (a voided label, a format not offered)."""

    title = "Label not available"
    message = (
        "Amazon did not hand out this label again: it may have been voided, or the format "
        "is not offered for this shipment. Check the shipment in Seller Central."
    )


# --- Amazon's error codes ------------------------------------------------------------------
# Shipping v2 documents TOKEN_EXPIRED only; the rest are the codes Amazon's shipping APIs
# have used (Merchant Fulfillment's InsufficientFunds, InvalidShipFromAddress...), matched
# without case or underscores so "INSUFFICIENT_FUNDS" and "InsufficientFunds" agree.

_EXPIRED_CODES = frozenset({"tokenexpired", "requesttokenexpired", "rateexpired"})
_FUNDS_CODES = frozenset(
    {
        "insufficientfunds",
        "insufficientbalance",
        "paymentdeclined",
        "paymentfailed",
        "paymentmethoddeclined",
        "paymentmethodinvalid",
        "invalidpaymentmethod",
    }
)
_ADDRESS_CODES = frozenset(
    {
        "invalidaddress",
        "addressinvalid",
        "invalidshipfromaddress",
        "invalidshiptoaddress",
        "invalidreturntoaddress",
        "addressnotfound",
        "addressvalidationfailed",
        "invalidpostalcode",
        "undeliverableaddress",
    }
)


def _code_key(code: str | None) -> str:
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())


def _detail(status: int, code: str | None) -> str:
    # Codes only: Amazon's message may quote an address.
    return f"SP-API {status} {code or '-'}"


def rates_error(status: int, code: str | None) -> UserError:
    """A refused getRates: an address problem, else the order cannot be shipped so."""
    key = _code_key(code)
    if key in _ADDRESS_CODES:
        return AddressInvalid(detail=_detail(status, code))
    return ShippingUnavailable(detail=_detail(status, code))


def purchase_error(status: int, code: str | None) -> UserError:
    """A refused purchaseShipment in the seller's words (nothing was bought)."""
    key = _code_key(code)
    detail = _detail(status, code)
    if key in _EXPIRED_CODES:
        return RateExpired(detail=detail)
    if key in _FUNDS_CODES:
        return InsufficientFunds(detail=detail)
    if key in _ADDRESS_CODES:
        return AddressInvalid(detail=detail)
    return PurchaseRefused(detail=detail)


def documents_error(status: int, code: str | None) -> UserError:
    return DocumentsUnavailable(detail=_detail(status, code))


def cancel_error(status: int, code: str | None) -> UserError:
    return CannotCancel(detail=_detail(status, code))


def tracking_error(status: int, code: str | None) -> UserError:
    return ShipmentNotFound(detail=_detail(status, code))


# --- request bodies --------------------------------------------------------------------------


def _number(value: Decimal) -> int | float:
    """A JSON number (the library serialises with ``json.dumps``: no Decimal)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _money_json(money: Money) -> dict[str, Any]:
    return {"value": _number(money.amount), "unit": money.currency}


def address_json(address: Address) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": address.name,
        "addressLine1": address.address_line1,
        "city": address.city,
        "stateOrRegion": address.state_or_region,
        "postalCode": address.postal_code,
        "countryCode": address.country_code,
    }
    optional = {
        "addressLine2": address.address_line2,
        "companyName": address.company_name,
        "phoneNumber": address.phone,
        "email": address.email,
    }
    out.update({k: v for k, v in optional.items() if v})
    return out


def _insured_value(parcel: Parcel) -> Money | None:
    if parcel.declared_value is not None:
        return parcel.declared_value
    values = [i.unit_value for i in parcel.items if i.unit_value is not None]
    if not values or len({v.currency for v in values}) != 1:
        return None
    total = sum(
        (i.unit_value.amount * i.quantity for i in parcel.items if i.unit_value is not None),
        Decimal(0),
    )
    return Money(total, values[0].currency)


def package_json(parcel: Parcel) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    for item in parcel.items:
        entry: dict[str, Any] = {"quantity": item.quantity, "itemIdentifier": item.order_item_id}
        if item.unit_value is not None:
            entry["itemValue"] = _money_json(item.unit_value)
        if item.description:
            entry["description"] = item.description
        items.append(entry)
    package: dict[str, Any] = {
        "dimensions": {
            "length": _number(parcel.length),
            "width": _number(parcel.width),
            "height": _number(parcel.height),
            "unit": parcel.dimension_unit.value,
        },
        "weight": {"value": _number(parcel.weight), "unit": parcel.weight_unit.value},
        "packageClientReferenceId": parcel.reference,
        "items": items,
    }
    insured = _insured_value(parcel)
    if insured is not None:
        package["insuredValue"] = _money_json(insured)
    return package


def rates_body(request: RateRequest) -> dict[str, Any]:
    """The GetRatesRequest for an Amazon order: no ``shipTo`` (Amazon fills it in)."""
    body: dict[str, Any] = {
        "shipFrom": address_json(request.ship_from),
        "packages": [package_json(request.parcel)],
        "channelDetails": {
            "channelType": "AMAZON",
            "amazonOrderDetails": {"orderId": request.order_id},
        },
    }
    if request.ship_date is not None:
        # A date-time at Amazon; midday UTC keeps it on that calendar day worldwide-ish.
        body["shipDate"] = f"{request.ship_date.isoformat()}T12:00:00Z"
    return body


def document_spec_json(spec: DocumentSpec) -> dict[str, Any]:
    out: dict[str, Any] = {
        "format": spec.format.value,
        "size": {
            "width": _number(spec.width),
            "length": _number(spec.length),
            "unit": spec.unit.value,
        },
        "needFileJoining": False,
        "requestedDocumentTypes": [DocumentType.LABEL.value]
        + ([DocumentType.PACKSLIP.value] if spec.packing_slip else []),
    }
    if spec.dpi is not None and spec.format is not LabelFormat.PDF:
        out["dpi"] = spec.dpi
    return out


def purchase_body(quote: RateQuote, rate_id: str, spec: DocumentSpec) -> dict[str, Any]:
    return {
        "requestToken": quote.request_token,
        "rateId": rate_id,
        "requestedDocumentSpecification": document_spec_json(spec),
    }


# --- replies --------------------------------------------------------------------------------


def _payload(response: Any, operation: str) -> dict[str, Any]:
    payload = getattr(response, "payload", None)
    if not isinstance(payload, dict):
        raise AmazonBadResponse(detail=f"{operation} reply without a payload")
    return payload


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_money(value: Any) -> Money | None:
    """Amazon's ``Currency`` ({value, unit}); value may be a number or a numeric string."""
    if not isinstance(value, dict):
        return None
    amount, unit = value.get("value"), value.get("unit")
    if isinstance(amount, bool) or not isinstance(amount, int | float | str):
        return None
    if not isinstance(unit, str) or len(unit) != 3:
        return None
    try:
        number = Decimal(str(amount))
    except ArithmeticError:
        return None
    if not number.is_finite():
        return None
    return Money(number, unit.upper())


_E = TypeVar("_E", bound=StrEnum)


def _enum(cls: type[_E], value: Any) -> _E | None:
    if not isinstance(value, str):
        return None
    try:
        return cls(value)
    except ValueError:
        return None


def _window(promise: Any) -> tuple[datetime | None, datetime | None]:
    window = promise.get("deliveryWindow") if isinstance(promise, dict) else None
    if not isinstance(window, dict):
        return None, None
    return parse_time(window.get("start")), parse_time(window.get("end"))


def _formats(specs: Any) -> tuple[tuple[LabelFormat, ...], tuple[int, ...]]:
    formats: list[LabelFormat] = []
    dpis: set[int] = set()
    for spec in specs if isinstance(specs, list) else ():
        if not isinstance(spec, dict):
            continue
        fmt = _enum(LabelFormat, spec.get("format"))
        if fmt is None:
            continue  # a format Amazon may add one day
        if fmt not in formats:
            formats.append(fmt)
        for option in spec.get("printOptions") or ():
            if isinstance(option, dict):
                dpis.update(
                    d
                    for d in option.get("supportedDPIs") or ()
                    if isinstance(d, int) and not isinstance(d, bool) and d > 0
                )
    return tuple(formats), tuple(sorted(dpis))


def _protected(benefits: Any) -> bool:
    included = benefits.get("includedBenefits") if isinstance(benefits, dict) else None
    return isinstance(included, list) and "CLAIMS_PROTECTED" in included


def parse_rate(raw: Any) -> Rate | None:
    """One offered rate, or None when a required part is missing or unreadable."""
    if not isinstance(raw, dict):
        return None
    names = [_text(raw.get(k)) for k in ("rateId", "carrierId", "serviceId")]
    total = parse_money(raw.get("totalCharge"))
    if None in names or total is None:
        return None
    rate_id, carrier_id, service_id = (n or "" for n in names)
    start, end = _window(raw.get("promise"))
    formats, dpis = _formats(raw.get("supportedDocumentSpecifications"))
    return Rate(
        rate_id=rate_id,
        carrier_id=carrier_id,
        carrier_name=_text(raw.get("carrierName")) or carrier_id,
        service_id=service_id,
        service_name=_text(raw.get("serviceName")) or service_id,
        total=total,
        delivery_start=start,
        delivery_end=end,
        protected=_protected(raw.get("benefits")),
        formats=formats,
        dpis=dpis,
        requires_additional_inputs=raw.get("requiresAdditionalInputs") is True,
    )


#: Amazon's ``IneligibilityReasonCode`` values in a seller's words.
INELIGIBILITY_REASONS = {
    "NO_COVERAGE": "does not deliver to this address",
    "PICKUP_SLOT_RESTRICTION": "no pickup slot on the ship date",
    "UNSUPPORTED_VAS": "a chosen extra service is not offered",
    "VAS_COMBINATION_RESTRICTION": "the chosen extra services cannot be combined",
    "SIZE_RESTRICTIONS": "the package is too large",
    "WEIGHT_RESTRICTIONS": "the package is too heavy",
    "LATE_DELIVERY": "would arrive after the promised delivery date",
    "PROGRAM_CONSTRAINTS": "the order is not eligible for this service",
    "TERMS_AND_CONDITIONS_NOT_ACCEPTED": "the carrier's terms are not accepted in Seller Central",
    "UNKNOWN": "not offered (no reason given)",
}


def _ineligible(raw: Any) -> IneligibleRate | None:
    if not isinstance(raw, dict):
        return None
    reasons = tuple(
        INELIGIBILITY_REASONS.get(r["code"], f"not offered ({r['code'][:40]})")
        for r in raw.get("ineligibilityReasons") or ()
        if isinstance(r, dict) and isinstance(r.get("code"), str)
    )
    return IneligibleRate(
        carrier_name=_text(raw.get("carrierName")) or _text(raw.get("carrierId")) or "",
        service_name=_text(raw.get("serviceName")) or _text(raw.get("serviceId")) or "",
        reasons=reasons,
    )


def parse_quote(
    payload: dict[str, Any], order_id: str, *, reference: str = "1", received_at: datetime | None
) -> RateQuote:
    token = _text(payload.get("requestToken"))
    rates = payload.get("rates", [])
    if token is None or not isinstance(rates, list):
        raise AmazonBadResponse(detail="getRates reply without requestToken or rates")
    parsed: list[Rate] = []
    for index, raw in enumerate(rates):
        rate = parse_rate(raw)
        if rate is None:
            log.info("getRates for order %s: rate %d left out (unreadable)", order_id, index)
        else:
            parsed.append(rate)
    ineligible = payload.get("ineligibleRates")
    return RateQuote(
        order_id=order_id,
        request_token=token,
        rates=tuple(parsed),
        ineligible=tuple(
            i for i in map(_ineligible, ineligible if isinstance(ineligible, list) else ()) if i
        ),
        received_at=received_at,
        package_reference=reference,
    )


def decode_documents(
    detail: Any, operation: str, *, dpi: int | None, strict: bool
) -> tuple[LabelDocument, ...]:
    """The documents of a ``PackageDocumentDetail``.  Unknown types or formats are left
    out.  Unreadable contents: :class:`AmazonBadResponse` when ``strict``, else the
    document is left out (after a purchase, the shipment id matters more: the label can
    be fetched again)."""
    docs = detail.get("packageDocuments") if isinstance(detail, dict) else None
    if not isinstance(docs, list):
        raise AmazonBadResponse(detail=f"{operation} reply without packageDocuments")
    out: list[LabelDocument] = []
    for raw in docs:
        if not isinstance(raw, dict):
            continue
        doc_type = _enum(DocumentType, raw.get("type"))
        fmt = _enum(LabelFormat, raw.get("format"))
        if doc_type is None or fmt is None:
            continue  # RECEIPT, CUSTOM_FORM, a future format
        contents = raw.get("contents")
        try:
            if not isinstance(contents, str) or not contents:
                raise binascii.Error("no contents")
            data = base64.b64decode(contents, validate=True)
        except (binascii.Error, ValueError):
            if strict:
                raise AmazonBadResponse(
                    detail=f"{operation}: {doc_type.value} contents are not base64"
                ) from None
            log.warning("%s: a %s document was unreadable and left out", operation, doc_type)
            continue
        out.append(
            LabelDocument(
                type=doc_type,
                format=fmt,
                data=data,
                dpi=None if fmt is LabelFormat.PDF else dpi,
            )
        )
    return tuple(out)


def parse_purchase(payload: dict[str, Any], quote: RateQuote, spec: DocumentSpec) -> Purchase:
    shipment_id = _text(payload.get("shipmentId"))
    details = payload.get("packageDocumentDetails")
    if shipment_id is None:
        raise AmazonBadResponse(detail="purchaseShipment reply without shipmentId")
    detail = details[0] if isinstance(details, list) and details else None
    if not isinstance(detail, dict):
        # Bought, but nothing to print: the service fetches the documents again.
        log.warning("purchaseShipment %s: reply without package details", shipment_id)
        detail = {"packageDocuments": []}
    start, end = _window(payload.get("promise"))
    return Purchase(
        shipment_id=shipment_id,
        package_reference=_text(detail.get("packageClientReferenceId")) or quote.package_reference,
        tracking_id=_text(detail.get("trackingId")),
        documents=decode_documents(
            detail, "purchaseShipment", dpi=_effective_dpi(spec), strict=False
        ),
        delivery_start=start,
        delivery_end=end,
    )


def _effective_dpi(spec: DocumentSpec) -> int | None:
    return None if spec.format is LabelFormat.PDF else spec.dpi


def parse_tracking(payload: dict[str, Any], tracking_id: str) -> Tracking:
    summary = payload.get("summary")
    raw_status = summary.get("status") if isinstance(summary, dict) else None
    status = _enum(TrackingStatus, raw_status) or TrackingStatus.UNKNOWN
    events: list[tuple[datetime, str]] = []
    for raw in payload.get("eventHistory") or ():
        if not isinstance(raw, dict) or not isinstance(raw.get("eventCode"), str):
            continue
        at = parse_time(raw.get("eventTime"))
        if at is not None:
            events.append((at, raw["eventCode"]))
    events.sort(key=lambda e: e[0])
    delivered = [at for at, code in events if code == "Delivered"]
    return Tracking(
        tracking_id=_text(payload.get("trackingId")) or tracking_id,
        status=status,
        delivered_at=delivered[-1] if delivered else None,
        promised_delivery=parse_time(payload.get("promisedDeliveryDate")),
        last_event_at=events[-1][0] if events else None,
        events=tuple(code for _, code in events),
    )


class SpApiShippingClient:
    """``ShippingV2`` for one store.  Not thread-safe: one per call or worker thread."""

    def __init__(
        self,
        store: Store,
        credentials: Credentials,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Clock | None = None,
    ) -> None:
        from sp_api.api import ShippingV2

        from app.amazon.spapi import factory

        self._factory = factory
        self._clock = clock
        self._api: ShippingV2 = factory.build(ShippingV2, store, credentials, timeout=timeout)

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)

    def _call(
        self,
        operation: str,
        fn: Callable[[], Any],
        bad_request: Callable[[int, str | None], UserError],
    ) -> dict[str, Any]:
        response = self._factory.call(
            self._api, fn, not_found=ShipmentNotFound, bad_request=bad_request
        )
        return _payload(response, operation)

    def get_rates(self, request: RateRequest) -> RateQuote:
        body = rates_body(request)
        payload = self._call(GET_RATES, lambda: self._api.get_rates(**body), rates_error)
        return parse_quote(
            payload,
            request.order_id,
            reference=request.parcel.reference,
            received_at=self._now(),
        )

    def purchase(self, quote: RateQuote, rate_id: str, spec: DocumentSpec) -> Purchase:
        body = purchase_body(quote, rate_id, spec)
        payload = self._call(
            PURCHASE_SHIPMENT, lambda: self._api.purchase_shipment(**body), purchase_error
        )
        return parse_purchase(payload, quote, spec)

    def documents(
        self, shipment_id: str, package_reference: str, spec: DocumentSpec
    ) -> tuple[LabelDocument, ...]:
        params: dict[str, Any] = {
            "packageClientReferenceId": package_reference,
            "format": spec.format.value,
        }
        dpi = _effective_dpi(spec)
        if dpi is not None:
            params["dpi"] = dpi
        payload = self._call(
            GET_SHIPMENT_DOCUMENTS,
            lambda: self._api.get_shipment_documents(shipment_id, **params),
            documents_error,
        )
        return decode_documents(
            payload.get("packageDocumentDetail"), GET_SHIPMENT_DOCUMENTS, dpi=dpi, strict=True
        )

    def cancel(self, shipment_id: str) -> None:
        self._factory.call(
            self._api,
            lambda: self._api.cancel_shipment(shipment_id),
            not_found=ShipmentNotFound,
            bad_request=cancel_error,
        )

    def tracking(self, tracking_id: str, carrier_id: str) -> Tracking:
        payload = self._call(
            GET_TRACKING,
            lambda: self._api.get_tracking(trackingId=tracking_id, carrierId=carrier_id),
            tracking_error,
        )
        return parse_tracking(payload, tracking_id)

    def close(self) -> None:
        self._factory.close(self._api)
