"""Shipping v2 mapping: our dataclasses to Amazon's request bodies, Amazon's replies (odd
ones too) to our dataclasses, Amazon's error codes to the seller's words."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sp_api.base import (
    SellingApiBadRequestException,
    SellingApiException,
    SellingApiNotFoundException,
    SellingApiRequestThrottledException,
    SellingApiServerException,
    SellingApiStateConflictException,
)

from app.amazon.models import Money
from app.amazon.spapi import ThrottledError, factory
from app.amazon.spapi import shipping as sh
from app.amazon.spapi.shipping import (
    AddressInvalid,
    CannotCancel,
    DimensionUnit,
    DocumentSpec,
    DocumentType,
    InsufficientFunds,
    LabelFormat,
    Parcel,
    ParcelItem,
    PurchaseRefused,
    RateExpired,
    RateQuote,
    RateRequest,
    ShipmentNotFound,
    ShippingUnavailable,
    TrackingStatus,
    WeightUnit,
)
from app.errors import AmazonBadResponse, AmazonServerError

SHIP_FROM = sh.Address(
    name="Demo Seller", address_line1="1 Demo Street", city="Reno", postal_code="89502",
    country_code="US", state_or_region="NV", phone="+1 555-0100",
)  # fmt: skip
ITEMS = (
    ParcelItem("111", 2, sku="A-1", description="Pan", unit_value=Money(Decimal("12.50"), "USD")),
    ParcelItem("222", 1, unit_value=Money(Decimal("5"), "USD")),
)
PARCEL = Parcel(
    Decimal("10"), Decimal("8.5"), Decimal("4"), DimensionUnit.INCH,
    Decimal("2.25"), WeightUnit.POUND, ITEMS, reference="pkg-7",
)  # fmt: skip
QUOTE = RateQuote("111-2222222-3333333", "TOKEN", (), package_reference="pkg-7")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- request bodies ------------------------------------------------------------------------


def test_rates_body_for_an_amazon_order() -> None:
    body = sh.rates_body(RateRequest("111-2222222-3333333", SHIP_FROM, PARCEL, date(2026, 11, 2)))
    assert body["channelDetails"] == {
        "channelType": "AMAZON",
        "amazonOrderDetails": {"orderId": "111-2222222-3333333"},
    }
    assert "shipTo" not in body  # Amazon fills in the buyer's address
    assert body["shipFrom"] == {
        "name": "Demo Seller",
        "addressLine1": "1 Demo Street",
        "city": "Reno",
        "stateOrRegion": "NV",
        "postalCode": "89502",
        "countryCode": "US",
        "phoneNumber": "+1 555-0100",
    }
    [package] = body["packages"]
    assert package["dimensions"] == {"length": 10, "width": 8.5, "height": 4, "unit": "INCH"}
    assert package["weight"] == {"value": 2.25, "unit": "POUND"}
    assert package["packageClientReferenceId"] == "pkg-7"
    assert package["insuredValue"] == {"value": 30, "unit": "USD"}  # 2 x 12.50 + 5
    assert package["items"] == [
        {
            "quantity": 2,
            "itemIdentifier": "111",
            "itemValue": {"value": 12.5, "unit": "USD"},
            "description": "Pan",
        },
        {"quantity": 1, "itemIdentifier": "222", "itemValue": {"value": 5, "unit": "USD"}},
    ]
    assert body["shipDate"] == "2026-11-02T12:00:00Z"
    json.dumps(body)  # the library serialises it with json.dumps: no Decimal left


def test_insured_value_prefers_the_declared_value_and_skips_mixed_currencies() -> None:
    declared = Parcel(**{**PARCEL.__dict__, "declared_value": Money(Decimal("99.99"), "EUR")})
    assert sh.package_json(declared)["insuredValue"] == {"value": 99.99, "unit": "EUR"}
    mixed = Parcel(
        **{
            **PARCEL.__dict__,
            "items": (ITEMS[0], ParcelItem("3", 1, unit_value=Money(Decimal(1), "GBP"))),
        }
    )
    assert "insuredValue" not in sh.package_json(mixed)
    assert "shipDate" not in sh.rates_body(RateRequest("1", SHIP_FROM, PARCEL))


def test_purchase_body_and_document_spec() -> None:
    body = sh.purchase_body(QUOTE, "RATE", DocumentSpec(LabelFormat.ZPL, 300, packing_slip=True))
    assert body == {
        "requestToken": "TOKEN",
        "rateId": "RATE",
        "requestedDocumentSpecification": {
            "format": "ZPL",
            "size": {"width": 4, "length": 6, "unit": "INCH"},
            "needFileJoining": False,
            "requestedDocumentTypes": ["LABEL", "PACKSLIP"],
            "dpi": 300,
        },
    }
    pdf = sh.document_spec_json(DocumentSpec(LabelFormat.PDF, 300))
    assert "dpi" not in pdf and pdf["requestedDocumentTypes"] == ["LABEL"]


# --- replies ---------------------------------------------------------------------------------


def rate(**over: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "rateId": "R1",
        "carrierId": "UPS",
        "carrierName": "UPS",
        "serviceId": "UPS_GND",
        "serviceName": "UPS Ground",
        "totalCharge": {"value": 11.91, "unit": "USD"},
        "promise": {
            "deliveryWindow": {"start": "2026-11-04T08:00:00Z", "end": "2026-11-06T20:00:00+01:00"}
        },
        "supportedDocumentSpecifications": [
            {"format": "PDF", "size": {}, "printOptions": [{"supportedDocumentDetails": []}]},
            {"format": "ZPL", "printOptions": [{"supportedDPIs": [300, 203]}]},
            {"format": "GIF", "printOptions": [{"supportedDPIs": [96]}]},
        ],
        "requiresAdditionalInputs": False,
        "benefits": {"includedBenefits": ["CLAIMS_PROTECTED"], "excludedBenefits": []},
    }
    raw.update(over)
    return raw


def test_quote_maps_rates_money_windows_formats_and_benefits() -> None:
    received = datetime(2026, 11, 1, tzinfo=UTC)
    quote = sh.parse_quote(
        {
            "requestToken": "TOKEN-0F3A",
            "rates": [rate()],
            "ineligibleRates": [
                {
                    "carrierName": "FedEx",
                    "serviceName": "2Day",
                    "ineligibilityReasons": [{"code": "LATE_DELIVERY", "message": "late"}],
                }
            ],
        },
        "111",
        reference="pkg-7",
        received_at=received,
    )
    assert (quote.request_token, quote.order_id, quote.package_reference) == (
        "TOKEN-0F3A",
        "111",
        "pkg-7",
    )
    assert quote.received_at == received
    [r] = quote.rates
    assert r.total == Money(Decimal("11.91"), "USD")
    assert r.delivery_start == datetime(2026, 11, 4, 8, tzinfo=UTC)
    assert r.delivery_end == datetime(2026, 11, 6, 20, tzinfo=timezone(timedelta(hours=1)))
    assert r.formats == (LabelFormat.PDF, LabelFormat.ZPL)  # GIF left out
    assert r.dpis == (203, 300)
    assert r.protected and not r.requires_additional_inputs
    assert quote.ineligible[0].reasons == ("would arrive after the promised delivery date",)
    assert "TOKEN-0F3A" not in repr(quote)  # the token stays out of logs


def test_odd_rates_are_left_out_not_fatal() -> None:
    quote = sh.parse_quote(
        {
            "requestToken": "T",
            "rates": [
                rate(rateId="OK", totalCharge={"value": "2.00000", "unit": "usd"}),
                rate(rateId=None),
                rate(totalCharge={"value": "lots", "unit": "USD"}),
                rate(totalCharge={"value": True, "unit": "USD"}),
                rate(totalCharge={"value": "NaN", "unit": "USD"}),
                "not a rate",
                rate(
                    rateId="BARE",
                    carrierName=None,
                    serviceName=None,
                    promise={"deliveryWindow": {"start": "soon"}},
                    supportedDocumentSpecifications="nope",
                    benefits=None,
                    requiresAdditionalInputs="yes",
                ),
            ],
        },
        "111",
        received_at=None,
    )
    assert [r.rate_id for r in quote.rates] == ["OK", "BARE"]
    ok, bare = quote.rates
    assert ok.total == Money(Decimal("2.00000"), "USD")
    assert (bare.carrier_name, bare.service_name) == ("UPS", "UPS_GND")  # ids stand in
    assert bare.delivery_start is None and bare.formats == () and not bare.protected
    assert not bare.requires_additional_inputs


def test_empty_rates_are_a_quote_not_an_error() -> None:
    quote = sh.parse_quote({"requestToken": "T", "rates": []}, "111", received_at=None)
    assert quote.rates == ()


@pytest.mark.parametrize("payload", [{}, {"requestToken": "T", "rates": "x"}, {"rates": []}])
def test_unreadable_quote_is_a_bad_reply(payload: dict[str, Any]) -> None:
    with pytest.raises(AmazonBadResponse):
        sh.parse_quote(payload, "111", received_at=None)


def purchase_payload(docs: list[dict[str, Any]], **over: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "shipmentId": "S1",
        "packageDocumentDetails": [
            {"packageClientReferenceId": "pkg-7", "trackingId": "1Z9", "packageDocuments": docs}
        ],
        "promise": {"deliveryWindow": {"start": "2026-11-04T08:00:00Z"}},
    }
    payload.update(over)
    return payload


def test_purchase_decodes_documents() -> None:
    spec = DocumentSpec(LabelFormat.PNG, 203, packing_slip=True)
    purchase = sh.parse_purchase(
        purchase_payload(
            [
                {"type": "LABEL", "format": "PNG", "contents": b64(b"\x89PNG label")},
                {"type": "PACKSLIP", "format": "PNG", "contents": b64(b"\x89PNG slip")},
                {"type": "CUSTOM_FORM", "format": "PDF", "contents": b64(b"%PDF")},
            ]
        ),
        QUOTE,
        spec,
    )
    assert (purchase.shipment_id, purchase.tracking_id, purchase.package_reference) == (
        "S1",
        "1Z9",
        "pkg-7",
    )
    assert [(d.type, d.format, d.data, d.dpi) for d in purchase.documents] == [
        (DocumentType.LABEL, LabelFormat.PNG, b"\x89PNG label", 203),
        (DocumentType.PACKSLIP, LabelFormat.PNG, b"\x89PNG slip", 203),
    ]
    assert purchase.delivery_start == datetime(2026, 11, 4, 8, tzinfo=UTC)
    assert b"label" not in repr(purchase).encode()  # label bytes stay out of logs


@pytest.mark.expect_log("muttefik.shipping", "WARNING", "unreadable and left out")
def test_purchase_keeps_the_shipment_when_a_document_is_unreadable() -> None:
    purchase = sh.parse_purchase(
        purchase_payload([{"type": "LABEL", "format": "PDF", "contents": "%%% not base64"}]),
        QUOTE,
        DocumentSpec(),
    )
    assert purchase.shipment_id == "S1" and purchase.documents == ()


@pytest.mark.expect_log("muttefik.shipping", "WARNING", "without package details")
def test_purchase_without_details_keeps_the_shipment_and_the_reference() -> None:
    purchase = sh.parse_purchase({"shipmentId": "S1"}, QUOTE, DocumentSpec())
    assert (purchase.package_reference, purchase.tracking_id, purchase.documents) == (
        "pkg-7",
        None,
        (),
    )


def test_purchase_without_a_shipment_id_is_a_bad_reply() -> None:
    with pytest.raises(AmazonBadResponse):
        sh.parse_purchase(purchase_payload([], shipmentId=None), QUOTE, DocumentSpec())


@pytest.mark.parametrize(
    "detail",
    [
        {"packageDocuments": [{"type": "LABEL", "format": "PDF", "contents": "@@@"}]},
        {"packageDocuments": [{"type": "LABEL", "format": "PDF", "contents": ""}]},
        {"packageDocuments": None},
        None,
    ],
)
def test_unreadable_documents_are_a_bad_reply(detail: Any) -> None:
    with pytest.raises(AmazonBadResponse) as caught:
        sh.decode_documents(detail, "getShipmentDocuments", dpi=None, strict=True)
    assert "@@@" not in str(caught.value.detail)


def test_tracking_maps_status_events_and_delivery() -> None:
    tracking = sh.parse_tracking(
        {
            "trackingId": "1Z9",
            "summary": {"status": "Delivered"},
            "promisedDeliveryDate": "2026-11-05T20:00:00Z",
            "eventHistory": [
                {"eventCode": "Delivered", "eventTime": "2026-11-04T15:00:00Z",
                 "location": {"city": "Seattle"}},
                {"eventCode": "ReadyForReceive", "eventTime": "2026-11-01T12:00:00Z"},
                {"eventCode": "PickupDone", "eventTime": "garbage"},
                {"eventTime": "2026-11-02T12:00:00Z"},
            ],
        },
        "1Z9",
    )  # fmt: skip
    assert tracking.status is TrackingStatus.DELIVERED
    assert tracking.events == ("ReadyForReceive", "Delivered")  # by time; no location
    assert tracking.delivered_at == datetime(2026, 11, 4, 15, tzinfo=UTC)
    assert tracking.last_event_at == tracking.delivered_at
    assert tracking.promised_delivery == datetime(2026, 11, 5, 20, tzinfo=UTC)


@pytest.mark.parametrize("status", ["Teleported", None, 7])
def test_unknown_tracking_status_is_unknown(status: Any) -> None:
    tracking = sh.parse_tracking({"summary": {"status": status}}, "1Z9")
    assert tracking.status is TrackingStatus.UNKNOWN
    assert tracking.tracking_id == "1Z9" and tracking.events == ()


def test_naive_times_are_taken_as_utc() -> None:
    assert sh.parse_time("2026-11-01T12:00:00") == datetime(2026, 11, 1, 12, tzinfo=UTC)
    assert sh.parse_time(12) is None


# --- errors ----------------------------------------------------------------------------------


def raising(exc: BaseException) -> Any:
    def fn() -> Any:
        raise exc

    return fn


def error(code: str, message: str = "at 12 Demo Street, Jane Doe") -> list[dict[str, str]]:
    return [{"code": code, "message": message}]


class _Api:
    """Enough of a library client for factory.call (no 403 here)."""


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("TOKEN_EXPIRED", RateExpired),
        ("InsufficientFunds", InsufficientFunds),
        ("INSUFFICIENT_FUNDS", InsufficientFunds),
        ("PaymentDeclined", InsufficientFunds),
        ("InvalidAddress", AddressInvalid),
        ("InvalidShipFromAddress", AddressInvalid),
        ("INVALID_ADDRESS", AddressInvalid),
        ("InvalidRequest", PurchaseRefused),
        ("PurchaseShipmentFailed", PurchaseRefused),
    ],
)
def test_purchase_refusals_in_the_sellers_words(code: str, expected: type[Exception]) -> None:
    exc = SellingApiBadRequestException(error(code))
    with pytest.raises(expected) as caught:
        factory.call(_Api(), raising(exc), bad_request=sh.purchase_error)  # type: ignore[arg-type]
    detail = str(caught.value.detail)
    assert detail == f"SP-API 400 {code}"  # codes only: Amazon's text may quote an address
    assert "Demo Street" not in detail and "Jane" not in detail


def test_422_and_409_reach_the_api_mapping() -> None:
    unprocessable = SellingApiException(error("TOKEN_EXPIRED"), headers={})  # 422: no class
    with pytest.raises(RateExpired):
        factory.call(_Api(), raising(unprocessable), bad_request=sh.purchase_error)  # type: ignore[arg-type]
    conflict = SellingApiStateConflictException(error("AlreadyCancelled"))
    with pytest.raises(CannotCancel):
        factory.call(_Api(), raising(conflict), bad_request=sh.cancel_error)  # type: ignore[arg-type]


def test_other_errors_keep_the_shared_classification() -> None:
    def call(exc: BaseException) -> None:
        factory.call(
            _Api(),  # type: ignore[arg-type]
            raising(exc),
            not_found=ShipmentNotFound,
            bad_request=sh.purchase_error,
        )

    with pytest.raises(ShipmentNotFound):
        call(SellingApiNotFoundException(error("NotFound")))
    with pytest.raises(ThrottledError) as throttled:
        call(
            SellingApiRequestThrottledException(
                error("QuotaExceeded"), headers={"x-amzn-RateLimit-Limit": "80"}
            )
        )
    assert throttled.value.rate_limit == 80.0
    with pytest.raises(AmazonServerError):
        call(SellingApiServerException(error("InternalFailure")))


def test_without_a_mapping_orders_behaviour_is_unchanged() -> None:
    with pytest.raises(AmazonBadResponse):
        factory.call(_Api(), raising(SellingApiBadRequestException(error("InvalidInput"))))  # type: ignore[arg-type]


def test_rates_cancel_and_tracking_refusals() -> None:
    assert isinstance(sh.rates_error(400, "InvalidAddress"), AddressInvalid)
    assert isinstance(sh.rates_error(400, "InvalidRequest"), ShippingUnavailable)
    assert isinstance(sh.cancel_error(400, "InvalidRequest"), CannotCancel)
    assert isinstance(sh.tracking_error(400, None), ShipmentNotFound)
    assert isinstance(sh.documents_error(400, "x"), sh.DocumentsUnavailable)


@pytest.mark.parametrize(
    ("marketplace_id", "name"),
    [("ATVPDKIKX0DER", "US"), ("A1F83G8C2ARO7P", "UK"), ("A1PA6795UKMFR9", "DE"), ("X", "")],
)
def test_marketplace_name_is_what_shipping_v2_reads(marketplace_id: str, name: str) -> None:
    assert factory.marketplace_name(marketplace_id) == name
