"""Amazon's Shipping API v2 (Buy Shipping) for the fake SP-API: rates, purchase,
documents, cancel and tracking, with Amazon's paths, payload shapes and error bodies
(``models/shipping-api-model/shippingV2.json``).

:class:`FakeShipping` holds the state (rate quotes, shipments) and answers one request
at a time; :class:`~app.demo.fake_spapi.FakeSpApi` routes ``/shipping/v2/...`` here
after its access-token, fault and rate-limit checks, like every other operation.

Behaviour:

* ``getRates``: a known merchant-fulfilled order that is unshipped (or partly shipped)
  gets four services of the marketplace's carriers (one without claims protection) and
  one ineligible service; an order fulfilled by Amazon, shipped, cancelled or pending
  gets no rates, only ineligible ones; an unknown order is a 400 ``InvalidRequest``.
  Prices are deterministic per order, service and weight.
* ``purchaseShipment`` (which, as at Amazon, confirms the order as shipped): a request
  token lives 10 minutes (divided by the server's
  ``speed``) on the server's clock, then 400 ``TOKEN_EXPIRED``; it is single-use (a
  second purchase with it is a 400).  Faults: ``purchase_failed``,
  ``insufficient_funds``, ``address_invalid``, ``token_expired`` (each a 400 with its
  code; nothing is bought).  Documents (LABEL, PACKSLIP if asked) come from
  :mod:`app.demo.fake_labels` in the format and dpi asked for.
* ``getShipmentDocuments``: the same bytes again for the same format and dpi.
* ``cancelShipment``: voids; a second cancel, or one after the carrier's pickup, is a
  400; an unknown shipment a 404.
* ``getTracking``: status moves on with the server's clock (durations divided by
  ``speed``): PreTransit, InTransit (pickup after 4 h), OutForDelivery, Delivered
  (after 50 h); a voided shipment shows PickupCancelled.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from app.clock import Clock
from app.demo.fake_labels import (
    DPIS,
    FORMATS,
    LABEL,
    PACKSLIP,
    FakeRecipient,
    LabelContent,
    PackedItem,
    render,
)
from app.demo.fake_spapi_catalog import MARKETPLACE_BY_ID, Marketplace, tracking_number
from app.demo.fake_spapi_faults import (
    CANCEL_SHIPMENT,
    GET_RATES,
    GET_SHIPMENT_DOCUMENTS,
    GET_TRACKING,
    PURCHASE_SHIPMENT,
    Fault,
    Faults,
)
from app.demo.seed_orders import OrderStore

JSON = dict[str, Any]
Params = Mapping[str, list[str]]

SHIPPING_PATH = "/shipping/v2"
RATE_TOKEN_SECONDS = 600.0
PICKUP_AFTER = 4 * 3600.0
_EVENTS = (  # (seconds after purchase, eventCode, summary status)
    (0.0, "ReadyForReceive", "PreTransit"),
    (PICKUP_AFTER, "PickupDone", "InTransit"),
    (12 * 3600.0, "ArrivedAtCarrierFacility", "InTransit"),
    (13 * 3600.0, "Departed", "InTransit"),
    (44 * 3600.0, "OutForDelivery", "OutForDelivery"),
    (50 * 3600.0, "Delivered", "Delivered"),
)
_ELIGIBLE = frozenset({"UNSHIPPED", "PARTIALLY_SHIPPED"})
_GRAMS = {"GRAM": 1.0, "KILOGRAM": 1000.0, "OUNCE": 28.3495, "POUND": 453.592}


@dataclass(frozen=True)
class Service:
    carrier_id: str
    carrier_name: str
    service_id: str
    service_name: str
    base_cents: int  # in USD; the marketplace's fx applies
    cents_per_kg: int
    protected: bool
    days: tuple[int, int]  # transit days (min, max)
    tracking_format: str


_US = (
    Service("UPS", "UPS", "UPS_PTP_GND", "UPS Ground", 899, 180, True, (3, 5), "ups"),
    Service("USPS", "USPS", "USPS_PTP_PRI", "USPS Priority Mail", 949, 150, True, (2, 3), "usps"),
    Service("USPS", "USPS", "USPS_PTP_GA", "USPS Ground Advantage", 599, 120, False, (3, 6),
            "usps"),
    Service("AMZN_US", "Amazon Shipping", "SWA_US_GROUND", "Amazon Shipping Ground", 699, 110,
            True, (2, 4), "amazon"),
)  # fmt: skip
_CA = (
    Service("CANADA_POST", "Canada Post", "CP_EXP", "Expedited Parcel", 1099, 200, True, (2, 4),
            "canadapost"),
    Service("PUROLATOR", "Purolator", "PUR_GND", "Purolator Ground", 1199, 180, True, (3, 5),
            "fedex"),
    Service("CANADA_POST", "Canada Post", "CP_REG", "Regular Parcel", 899, 150, False, (4, 7),
            "canadapost"),
    Service("AMZN_CA", "Amazon Shipping", "SWA_CA_STD", "Amazon Shipping Standard", 949, 150,
            True, (2, 4), "amazon"),
)  # fmt: skip
_UK = (
    Service("ROYAL_MAIL", "Royal Mail", "RM_TRACKED_48", "Royal Mail Tracked 48", 449, 120, True,
            (2, 3), "royalmail"),
    Service("ROYAL_MAIL", "Royal Mail", "RM_TRACKED_24", "Royal Mail Tracked 24", 599, 140, True,
            (1, 2), "royalmail"),
    Service("EVRI", "Evri", "EVRI_STD", "Evri Standard", 349, 100, False, (2, 4), "dpd"),
    Service("AMZN_UK", "Amazon Shipping", "SWA_UK_ONE_DAY", "Amazon Shipping One Day", 499, 110,
            True, (1, 1), "amazon"),
)  # fmt: skip
_EU = (
    Service("DHL", "DHL", "DHL_PAKET", "DHL Paket", 549, 120, True, (1, 3), "dhl"),
    Service("DPD", "DPD", "DPD_CLASSIC", "DPD Classic", 599, 130, True, (1, 3), "dpd"),
    Service("HERMES", "Hermes", "HERMES_PAKET", "Hermes Paket", 449, 100, False, (2, 4), "dpd"),
    Service("AMZN_EU", "Amazon Shipping", "SWA_EU_STD", "Amazon Shipping Standard", 499, 110,
            True, (1, 3), "amazon"),
)  # fmt: skip
_SERVICES = {"US": _US, "CA": _CA, "GB": _UK}
_INELIGIBLE = ("FEDEX", "FedEx", "FEDEX_PTP_2DAY", "FedEx 2Day", "LATE_DELIVERY")


def services_for(country: str) -> tuple[Service, ...]:
    return _SERVICES.get(country, _EU)


@dataclass
class _Quote:
    order_id: str
    created: datetime
    weight_text: str
    reference: str  # the package's packageClientReferenceId
    rates: dict[str, tuple[Service, Decimal]]  # rateId -> service, price
    used: bool = False
    #: The seller's address as the rate request gave it (printed as FROM on the label).
    ship_from: tuple[str, ...] = ()


@dataclass
class FakeShipment:
    """A label bought from the fake (what a test reads to assert "bought once")."""

    shipment_id: str
    order_id: str
    tracking_id: str
    carrier_id: str
    service_id: str
    service_name: str
    amount: Decimal
    currency: str
    package_reference: str
    format: str
    dpi: int | None
    packing_slip: bool
    purchased_at: datetime
    weight_text: str = ""
    voided_at: datetime | None = None
    content: LabelContent | None = field(default=None, repr=False)

    @property
    def voided(self) -> bool:
        return self.voided_at is not None


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str, details: str = "") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def route(method: str, path: str) -> tuple[str, str | None] | None:
    """(operation, shipment id) for a Shipping v2 request, None for another path."""
    if not path.startswith(SHIPPING_PATH + "/"):
        return None
    parts = path[len(SHIPPING_PATH) + 1 :].split("/")
    if method == "POST" and parts == ["shipments", "rates"]:
        return GET_RATES, None
    if method == "POST" and parts == ["shipments"]:
        return PURCHASE_SHIPMENT, None
    if method == "GET" and parts == ["tracking"]:
        return GET_TRACKING, None
    if len(parts) == 3 and parts[0] == "shipments" and parts[1]:
        if method == "GET" and parts[2] == "documents":
            return GET_SHIPMENT_DOCUMENTS, parts[1]
        if method == "PUT" and parts[2] == "cancel":
            return CANCEL_SHIPMENT, parts[1]
    return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _errors(code: str, message: str, details: str = "") -> JSON:
    error = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"errors": [error]}


def _number(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() else float(value)


class FakeShipping:
    """Shipping v2 state of one fake seller.  Thread-safe."""

    def __init__(
        self,
        store: OrderStore,
        clock: Clock,
        faults: Faults,
        speed: Callable[[], float | None],
    ) -> None:
        self._store = store
        self._clock = clock
        self._faults = faults
        self._speed = speed
        self._lock = threading.Lock()
        self._quotes: dict[str, _Quote] = {}
        self._shipments: dict[str, FakeShipment] = {}
        # Tracking numbers: new ones each run, as Amazon's never repeat (a restarted demo
        # printed the same number on another order's label).
        self._rng = random.Random(secrets.randbits(64))
        #: 0: every address is deliverable.  N: about one order in N has an address the
        #: carrier rejects at purchase (the demo, so a batch shows a failure as life does).
        self.undeliverable_every = 0

    # --- test controls ------------------------------------------------------------------

    def _undeliverable(self, order_id: str) -> bool:
        if self.undeliverable_every <= 0:
            return False
        digest = hashlib.sha256(f"undeliverable|{order_id}".encode()).digest()
        return int.from_bytes(digest[:4], "big") % self.undeliverable_every == 0

    @property
    def shipments(self) -> list[FakeShipment]:
        with self._lock:
            return list(self._shipments.values())

    def purchase_count(self, order_id: str) -> int:
        with self._lock:
            return sum(1 for s in self._shipments.values() if s.order_id == order_id)

    def recipient(self, order_id: str) -> FakeRecipient:
        """The fake buyer's name and address on this order's labels."""
        rec = self._store.get(order_id)
        if rec is None:
            raise KeyError(order_id)
        address = self._store.render(rec, frozenset({"RECIPIENT"}))["recipient"]["deliveryAddress"]
        return FakeRecipient(
            name=address["name"],
            address_line1=address["addressLine1"],
            city=address["city"],
            state_or_region=address.get("stateOrRegion", ""),
            postal_code=address["postalCode"],
            country_code=address["countryCode"],
        )

    def expire_rate_tokens(self) -> None:
        """Every request token handed out so far is now expired."""
        with self._lock:
            for quote in self._quotes.values():
                quote.created = datetime(2000, 1, 1, tzinfo=UTC)

    def eligible_order_ids(self, marketplace_id: str | None = None) -> list[str]:
        """Orders that get rates (merchant-fulfilled, not yet shipped), oldest first;
        only those of ``marketplace_id`` when given."""
        out = []
        for order_id in self._store.order_ids():
            rec = self._store.get(order_id)
            if rec is None or rec.afn or rec.status not in _ELIGIBLE:
                continue
            if marketplace_id is None or rec.mkt.marketplace_id == marketplace_id:
                out.append(order_id)
        return out

    def unshipped_order(self, marketplace_id: str = "ATVPDKIKX0DER") -> str:
        """An order of ``marketplace_id`` that gets rates: the oldest there is, else new
        orders are placed (now) until one is.  Deterministic for the server's seed."""
        for _ in range(100):
            found = self.eligible_order_ids(marketplace_id)
            if found:
                return found[0]
            self._store.add(25, self._clock.now())
        raise LookupError(f"no unshipped merchant order in {marketplace_id}")

    # --- requests (server threads) ------------------------------------------------------

    def serve(
        self, op: str, shipment_id: str | None, params: Params, body: bytes
    ) -> tuple[int, JSON]:
        try:
            if op == GET_RATES:
                return 200, {"payload": self._rates(self._body(body))}
            if op == PURCHASE_SHIPMENT:
                return 200, {"payload": self._purchase(self._body(body))}
            if op == GET_SHIPMENT_DOCUMENTS:
                return 200, {"payload": self._documents(shipment_id or "", params)}
            if op == CANCEL_SHIPMENT:
                self._cancel(shipment_id or "")
                return 200, {"payload": {}}
            if op == GET_TRACKING:
                return 200, {"payload": self._tracking(params)}
        except _Refused as exc:
            return exc.status, _errors(exc.code, exc.message, exc.details)
        return 404, _errors("NotFound", "The requested resource is invalid or doesn't exist")

    @staticmethod
    def _body(body: bytes) -> JSON:
        try:
            payload = json.loads(body or b"null")
        except (ValueError, UnicodeDecodeError):
            raise _Refused(400, "InvalidRequest", "Request body is not valid JSON") from None
        if not isinstance(payload, dict):
            raise _Refused(400, "InvalidRequest", "Request body must be a JSON object")
        return payload

    def _now(self) -> datetime:
        return self._clock.now()

    def _scale(self, seconds: float) -> float:
        speed = self._speed()
        return seconds / speed if speed else seconds

    # getRates ---------------------------------------------------------------------------

    def _rates(self, body: JSON) -> JSON:
        channel = body.get("channelDetails")
        if not isinstance(channel, dict) or channel.get("channelType") not in (
            "AMAZON",
            "EXTERNAL",
        ):
            raise _Refused(
                400,
                "InvalidRequest",
                "Request is missing or has invalid parameters",
                "ChannelDetails object cannot be null",
            )
        if channel["channelType"] != "AMAZON":
            raise _Refused(400, "InvalidRequest", "Only Amazon orders are supported here")
        order_id = (channel.get("amazonOrderDetails") or {}).get("orderId")
        _check_address(body.get("shipFrom"), "shipFrom")
        packages = body.get("packages")
        if not isinstance(packages, list) or len(packages) != 1:
            raise _Refused(400, "InvalidRequest", "Exactly one package is supported")
        grams, weight_text = _check_package(packages[0])
        reference = str(packages[0]["packageClientReferenceId"])
        if not isinstance(order_id, str) or not order_id:
            raise _Refused(
                400,
                "InvalidRequest",
                "Request is missing or has invalid parameters",
                "AmazonOrderDetails.orderId is required",
            )
        rec = self._store.get(order_id)
        if rec is None:
            raise _Refused(400, "InvalidRequest", "The order was not found", order_id)
        mkt = rec.mkt
        services = services_for(mkt.country)
        eligible = not rec.afn and rec.status in _ELIGIBLE
        now = self._now()
        token = secrets.token_hex(15).upper()
        sender = body.get("shipFrom") or {}
        place = " ".join(
            str(sender.get(k, "")) for k in ("city", "stateOrRegion", "postalCode", "countryCode")
        )
        quote = _Quote(
            order_id,
            now,
            weight_text,
            reference,
            {},
            ship_from=(str(sender.get("name", "")), str(sender.get("addressLine1", "")), place),
        )
        rates: list[JSON] = []
        ineligible: list[JSON] = [_ineligible(*_INELIGIBLE[:4], _INELIGIBLE[4])]
        for service in services:
            if not eligible:
                ineligible.append(
                    _ineligible(
                        service.carrier_id,
                        service.carrier_name,
                        service.service_id,
                        service.service_name,
                        "PROGRAM_CONSTRAINTS",
                    )
                )
                continue
            price = _price(order_id, service, grams, mkt)
            rate_id = secrets.token_hex(15).upper()
            quote.rates[rate_id] = (service, price)
            rates.append(self._rate(rate_id, service, price, mkt, now))
        with self._lock:
            self._quotes[token] = quote
        return {"requestToken": token, "rates": rates, "ineligibleRates": ineligible}

    def _rate(
        self, rate_id: str, service: Service, price: Decimal, mkt: Marketplace, now: datetime
    ) -> JSON:
        start = now + timedelta(days=service.days[0])
        end = now + timedelta(days=service.days[1])
        if service.protected:
            benefits: JSON = {"includedBenefits": ["CLAIMS_PROTECTED"], "excludedBenefits": []}
        else:
            benefits = {
                "includedBenefits": [],
                "excludedBenefits": [
                    {"benefit": "CLAIMS_PROTECTED", "reasonCodes": ["LATE_DELIVERY_RISK"]}
                ],
            }
        return {
            "rateId": rate_id,
            "carrierId": service.carrier_id,
            "carrierName": service.carrier_name,
            "serviceId": service.service_id,
            "serviceName": service.service_name,
            "totalCharge": {"value": _number(price), "unit": mkt.currency},
            "promise": {
                "deliveryWindow": {"start": _iso(start), "end": _iso(end)},
                "pickupWindow": {"start": _iso(now), "end": _iso(now + timedelta(hours=8))},
            },
            "supportedDocumentSpecifications": [_supported(fmt) for fmt in FORMATS],
            "requiresAdditionalInputs": False,
            "paymentType": "PAY_THROUGH_AMAZON",
            "benefits": benefits,
        }

    # purchaseShipment -------------------------------------------------------------------

    def _purchase(self, body: JSON) -> JSON:
        token, rate_id = body.get("requestToken"), body.get("rateId")
        spec = body.get("requestedDocumentSpecification")
        if not isinstance(token, str) or not isinstance(rate_id, str) or not isinstance(spec, dict):
            raise _Refused(
                400,
                "InvalidRequest",
                "Request is missing or has invalid parameters",
                "requestToken, rateId and requestedDocumentSpecification are required",
            )
        fmt, dpi, types = _check_spec(spec)
        now = self._now()
        with self._lock:
            quote = self._quotes.get(token)
            if quote is None:
                raise _Refused(400, "InvalidRequest", "The request token is invalid")
            age = (now - quote.created).total_seconds()
            if age > self._scale(RATE_TOKEN_SECONDS) or self._take(Fault.TOKEN_EXPIRED):
                raise _Refused(
                    400,
                    "TOKEN_EXPIRED",
                    "The request token has expired. Get rates again to purchase.",
                )
            if quote.used:
                raise _Refused(
                    400,
                    "InvalidRequest",
                    "The request token was already used to purchase a shipment",
                )
            if rate_id not in quote.rates:
                raise _Refused(400, "InvalidRequest", "The rate id is not valid for this token")
            rec = self._store.get(quote.order_id)
            if rec is None:
                raise _Refused(400, "InvalidRequest", "The order was not found")
            recipient = self.recipient(quote.order_id)
            if self._take(Fault.INSUFFICIENT_FUNDS):
                raise _Refused(400, "InsufficientFunds", "The payment method on file was declined.")
            if self._take(Fault.ADDRESS_INVALID) or self._undeliverable(quote.order_id):
                # Amazon's text may quote the address: clients must not log it.
                raise _Refused(
                    400,
                    "InvalidAddress",
                    f"The carrier could not validate the address {recipient.address_line1}, "
                    f"{recipient.city}.",
                )
            if self._take(Fault.PURCHASE_FAILED):
                raise _Refused(
                    400,
                    "PurchaseShipmentFailed",
                    "The carrier did not accept the shipment. Try another service.",
                )
            service, price = quote.rates[rate_id]
            quote.used = True
            # Unique across runs (Amazon's are): a restarted demo must not repeat one.
            shipment_id = f"{10**13 + secrets.randbelow(9 * 10**13)}"
            tracking = _tracking_number(service, self._rng, rec.mkt.country)
            package = self._store.render(rec, frozenset())
            items = tuple(
                PackedItem(
                    it["product"].get("sellerSku", ""),
                    it["product"].get("title", ""),
                    int(it["quantityOrdered"]),
                )
                for it in package.get("orderItems", [])
            )
            warehouse = rec.mkt.warehouse
            content = LabelContent(
                order_id=quote.order_id,
                tracking_id=tracking,
                carrier_name=service.carrier_name,
                service_name=service.service_name,
                recipient=recipient,
                ship_from=quote.ship_from
                or (
                    warehouse["name"],
                    warehouse["addressLine1"],
                    f"{warehouse['city']} {warehouse['postalCode']} {warehouse['countryCode']}",
                ),
                items=items,
                weight=quote.weight_text,
            )
            shipment = FakeShipment(
                shipment_id=shipment_id,
                order_id=quote.order_id,
                tracking_id=tracking,
                carrier_id=service.carrier_id,
                service_id=service.service_id,
                service_name=service.service_name,
                amount=price,
                currency=rec.mkt.currency,
                package_reference=quote.reference,
                format=fmt,
                dpi=dpi,
                packing_slip=PACKSLIP in types,
                purchased_at=now,
                weight_text=quote.weight_text,
                content=content,
            )
            self._shipments[shipment_id] = shipment
        # Buy Shipping confirms the shipment: the order shows shipped from now on.
        self._store.update(quote.order_id, now, fulfillment_status="SHIPPED")
        start = now + timedelta(days=service.days[0])
        end = now + timedelta(days=service.days[1])
        return {
            "shipmentId": shipment_id,
            "packageDocumentDetails": [self._detail(shipment, fmt, dpi)],
            "promise": {
                "deliveryWindow": {"start": _iso(start), "end": _iso(end)},
                "pickupWindow": {"start": _iso(now), "end": _iso(now + timedelta(hours=8))},
            },
            "benefits": {
                "includedBenefits": ["CLAIMS_PROTECTED"] if service.protected else [],
                "excludedBenefits": [],
            },
        }

    def _take(self, fault: Fault) -> bool:
        return self._faults.take(fault, PURCHASE_SHIPMENT) is not None

    def _detail(self, shipment: FakeShipment, fmt: str, dpi: int | None) -> JSON:
        assert shipment.content is not None
        docs = [LABEL] + ([PACKSLIP] if shipment.packing_slip else [])
        return {
            "packageClientReferenceId": shipment.package_reference,
            "trackingId": shipment.tracking_id,
            "packageDocuments": [
                {
                    "type": doc,
                    "format": fmt,
                    "contents": base64.b64encode(render(shipment.content, doc, fmt, dpi)).decode(),
                }
                for doc in docs
            ],
        }

    # getShipmentDocuments ---------------------------------------------------------------

    def _documents(self, shipment_id: str, params: Params) -> JSON:
        shipment = self._shipment(shipment_id)
        reference = _param(params, "packageClientReferenceId")
        if reference is None:
            raise _Refused(400, "InvalidRequest", "packageClientReferenceId is required")
        if reference != shipment.package_reference:
            raise _Refused(400, "InvalidRequest", "No package with this packageClientReferenceId")
        if shipment.voided:
            raise _Refused(400, "InvalidRequest", "The shipment was cancelled")
        fmt = _param(params, "format") or shipment.format
        if fmt not in FORMATS:
            raise _Refused(400, "InvalidRequest", f"Unsupported format {fmt}")
        raw_dpi = _param(params, "dpi")
        dpi = shipment.dpi
        if raw_dpi is not None:
            if not raw_dpi.isdigit() or int(raw_dpi) not in DPIS:
                raise _Refused(400, "InvalidRequest", "Unsupported dpi")
            dpi = int(raw_dpi)
        if fmt == "PDF":
            dpi = None
        elif dpi is None:
            dpi = 203
        return {
            "shipmentId": shipment.shipment_id,
            "packageDocumentDetail": self._detail(shipment, fmt, dpi),
        }

    def _shipment(self, shipment_id: str) -> FakeShipment:
        with self._lock:
            shipment = self._shipments.get(shipment_id)
        if shipment is None:
            raise _Refused(404, "NotFound", "The requested resource is invalid or doesn't exist")
        return shipment

    # cancelShipment ---------------------------------------------------------------------

    def _cancel(self, shipment_id: str) -> None:
        shipment = self._shipment(shipment_id)
        now = self._now()
        with self._lock:
            if shipment.voided:
                raise _Refused(400, "InvalidRequest", "The shipment is already cancelled")
            age = (now - shipment.purchased_at).total_seconds()
            if age >= self._scale(PICKUP_AFTER):
                raise _Refused(
                    400,
                    "InvalidRequest",
                    "The shipment was picked up by the carrier and cannot be cancelled",
                )
            shipment.voided_at = now

    # getTracking ------------------------------------------------------------------------

    def _tracking(self, params: Params) -> JSON:
        tracking_id, carrier_id = _param(params, "trackingId"), _param(params, "carrierId")
        if not tracking_id or not carrier_id:
            raise _Refused(400, "InvalidRequest", "trackingId and carrierId are required")
        with self._lock:
            shipment = next(
                (s for s in self._shipments.values() if s.tracking_id == tracking_id), None
            )
        if shipment is None or shipment.carrier_id != carrier_id:
            raise _Refused(404, "NotFound", "The requested resource is invalid or doesn't exist")
        now = self._now()
        mkt = MARKETPLACE_BY_ID.get(self._marketplace_of(shipment.order_id))
        location = (
            {"city": mkt.warehouse["city"], "countryCode": mkt.warehouse["countryCode"]}
            if mkt
            else {}
        )
        events: list[JSON] = []
        status = "PreTransit"
        for offset, code, summary in _EVENTS:
            at = shipment.purchased_at + timedelta(seconds=self._scale(offset))
            if at > now or (shipment.voided_at is not None and at > shipment.voided_at):
                break
            event: JSON = {"eventCode": code, "eventTime": _iso(at)}
            if location and code != "Delivered":
                event["location"] = location
            events.append(event)
            status = summary
        if shipment.voided_at is not None:
            events.append({"eventCode": "PickupCancelled", "eventTime": _iso(shipment.voided_at)})
            status = "PickupCancelled"
        promised = shipment.purchased_at + timedelta(seconds=self._scale(_EVENTS[-1][0]))
        return {
            "trackingId": shipment.tracking_id,
            "alternateLegTrackingId": "",
            "eventHistory": events,
            "promisedDeliveryDate": _iso(promised),
            "summary": {"status": status},
        }

    def _marketplace_of(self, order_id: str) -> str:
        rec = self._store.get(order_id)
        return rec.mkt.marketplace_id if rec else ""


# --- request checks --------------------------------------------------------------------------


def _param(params: Params, name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


def _check_address(address: Any, name: str) -> None:
    required = ("name", "addressLine1", "city", "postalCode", "countryCode")
    if not isinstance(address, dict) or any(
        not isinstance(address.get(k), str) or not address[k] for k in required
    ):
        raise _Refused(
            400,
            "InvalidRequest",
            "Request is missing or has invalid parameters",
            f"{name} needs name, addressLine1, city, postalCode and countryCode",
        )


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _check_package(package: Any) -> tuple[float, str]:
    """The package's weight in grams and as printed; 400 for a malformed package."""
    bad = _Refused(
        400,
        "InvalidRequest",
        "Request is missing or has invalid parameters",
        "packages[0] needs dimensions, weight, items and packageClientReferenceId",
    )
    if not isinstance(package, dict):
        raise bad
    dims, weight = package.get("dimensions"), package.get("weight")
    if not isinstance(dims, dict) or dims.get("unit") not in ("INCH", "CENTIMETER"):
        raise bad
    if not all(_positive(dims.get(k)) for k in ("length", "width", "height")):
        raise bad
    if not isinstance(weight, dict) or weight.get("unit") not in _GRAMS:
        raise bad
    if not _positive(weight.get("value")):
        raise bad
    if not isinstance(package.get("packageClientReferenceId"), str):
        raise bad
    items = package.get("items")
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and isinstance(i.get("quantity"), int) and i["quantity"] > 0
        for i in items
    ):
        raise bad
    insured = package.get("insuredValue")
    if insured is not None and (
        not isinstance(insured, dict)
        or not isinstance(insured.get("value"), int | float)
        or not isinstance(insured.get("unit"), str)
    ):
        raise bad
    value = float(weight["value"])
    return value * _GRAMS[weight["unit"]], f"{value:g} {weight['unit']}"


def _check_spec(spec: JSON) -> tuple[str, int | None, list[str]]:
    fmt = spec.get("format")
    size = spec.get("size")
    types = spec.get("requestedDocumentTypes")
    if fmt not in FORMATS:
        raise _Refused(400, "InvalidRequest", "Unsupported document format")
    if not isinstance(size, dict) or size.get("unit") not in ("INCH", "CENTIMETER"):
        raise _Refused(400, "InvalidRequest", "requestedDocumentSpecification.size is required")
    if not isinstance(spec.get("needFileJoining"), bool):
        raise _Refused(400, "InvalidRequest", "needFileJoining is required")
    if not isinstance(types, list) or LABEL not in types or not set(types) <= {LABEL, PACKSLIP}:
        raise _Refused(400, "InvalidRequest", "requestedDocumentTypes must include LABEL")
    dpi = spec.get("dpi")
    if fmt == "PDF":
        dpi = None
    elif dpi is None:
        dpi = 203
    elif dpi not in DPIS:
        raise _Refused(400, "InvalidRequest", "Unsupported dpi")
    return str(fmt), dpi, [str(t) for t in types]


def _supported(fmt: str) -> JSON:
    option: JSON = {
        "supportedPageLayouts": ["DEFAULT"],
        "supportedFileJoiningOptions": [False],
        "supportedDocumentDetails": [
            {"name": LABEL, "isMandatory": True},
            {"name": PACKSLIP, "isMandatory": False},
        ],
    }
    if fmt != "PDF":
        option["supportedDPIs"] = list(DPIS)
    return {
        "format": fmt,
        "size": {"width": 4, "length": 6, "unit": "INCH"},
        "printOptions": [option],
    }


def _ineligible(carrier_id: str, carrier: str, service_id: str, service: str, code: str) -> JSON:
    messages = {
        "LATE_DELIVERY": "The shipment is ineligible because delivery is too late.",
        "PROGRAM_CONSTRAINTS": "The order is not eligible for Buy Shipping.",
    }
    return {
        "carrierId": carrier_id,
        "carrierName": carrier,
        "serviceId": service_id,
        "serviceName": service,
        "ineligibilityReasons": [{"code": code, "message": messages[code]}],
    }


def _price(order_id: str, service: Service, grams: float, mkt: Marketplace) -> Decimal:
    digest = hashlib.sha256(f"{order_id}|{service.service_id}|{grams:.0f}".encode()).digest()
    jitter = int.from_bytes(digest[:4], "big") % 150
    cents = service.base_cents + int(service.cents_per_kg * grams / 1000) + jitter
    return (Decimal(int(cents * mkt.fx)) / 100).quantize(Decimal("0.01"))


def _tracking_number(service: Service, rng: random.Random, country: str) -> str:
    if service.tracking_format == "amazon":
        return f"TBA{rng.randrange(10**12):012d}"
    return tracking_number(service.tracking_format, rng, country)
