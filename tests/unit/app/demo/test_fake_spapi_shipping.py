"""The fake SP-API's Shipping v2 over real HTTP: rates, purchase, documents, cancel,
tracking, token expiry on the server's clock, single-use tokens and faults."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app.clock import FakeClock
from app.demo import FakeSpApi, Fault
from app.demo.fake_spapi_faults import (
    CANCEL_SHIPMENT,
    GET_RATES,
    GET_SHIPMENT_DOCUMENTS,
    GET_TRACKING,
    PURCHASE_SHIPMENT,
)
from tests.helpers.fake_spapi import Api, document_spec, rates_body

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
RATES = "/shipping/v2/shipments/rates"
SHIPMENTS = "/shipping/v2/shipments"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def api(clock: FakeClock) -> Iterator[Api]:
    with FakeSpApi(orders=300, seed=5, speed=1.0, clock=clock) as srv:
        client = Api(srv)
        yield client
        client.http.close()


def eligible(api: Api, country: str = "US") -> str:
    for order_id in api.srv.shipping.eligible_order_ids():
        rec = api.srv.store.get(order_id)
        if rec is not None and rec.mkt.country == country:
            return order_id
    raise AssertionError(f"no eligible {country} order in the fake")


def first(api: Api, pred: Any) -> str:
    for order_id in api.srv.order_ids():
        rec = api.srv.store.get(order_id)
        if rec is not None and pred(rec):
            return order_id
    raise AssertionError("no such order")


def rates(api: Api, order_id: str, **package: Any) -> dict[str, Any]:
    reply = api.post(RATES, rates_body(order_id, **package))
    assert reply.status_code == 200, reply.text
    payload: dict[str, Any] = reply.json()["payload"]
    return payload


def buy(api: Api, quote: dict[str, Any], index: int = 0, **spec: Any) -> httpx.Response:
    body = {
        "requestToken": quote["requestToken"],
        "rateId": quote["rates"][index]["rateId"],
        "requestedDocumentSpecification": document_spec(**spec),
    }
    return api.post(SHIPMENTS, body)


def bought(api: Api, order_id: str, **spec: Any) -> dict[str, Any]:
    reply = buy(api, rates(api, order_id), **spec)
    assert reply.status_code == 200, reply.text
    payload: dict[str, Any] = reply.json()["payload"]
    return payload


def advance(api: Api, clock: FakeClock, seconds: float) -> None:
    """Move the server's clock on; access tokens live an hour, so take a fresh one."""
    clock.advance(seconds)
    api.token = api.get_token().json()["access_token"]


def error_code(reply: httpx.Response) -> str:
    code: str = reply.json()["errors"][0]["code"]
    return code


# --- getRates ---------------------------------------------------------------------------


def test_rates_for_an_unshipped_merchant_order(api: Api) -> None:
    reply = api.post(RATES, rates_body(eligible(api)))
    assert reply.status_code == 200
    assert reply.headers["x-amzn-RateLimit-Limit"] == "80"
    quote = reply.json()["payload"]
    assert quote["requestToken"]
    names = [r["serviceName"] for r in quote["rates"]]
    assert names == [
        "UPS Ground",
        "USPS Priority Mail",
        "USPS Ground Advantage",
        "Amazon Shipping Ground",
    ]
    prices = {r["totalCharge"]["value"] for r in quote["rates"]}
    assert len(prices) == 4 and all(r["totalCharge"]["unit"] == "USD" for r in quote["rates"])
    unprotected = [
        r["serviceName"]
        for r in quote["rates"]
        if "CLAIMS_PROTECTED" not in r["benefits"]["includedBenefits"]
    ]
    assert unprotected == ["USPS Ground Advantage"]
    assert len({r["rateId"] for r in quote["rates"]}) == 4
    rate = quote["rates"][0]
    assert {s["format"] for s in rate["supportedDocumentSpecifications"]} == {"PDF", "PNG", "ZPL"}
    assert rate["promise"]["deliveryWindow"]["start"] < rate["promise"]["deliveryWindow"]["end"]
    assert [i["serviceName"] for i in quote["ineligibleRates"]] == ["FedEx 2Day"]


def test_rates_follow_the_marketplace(api: Api) -> None:
    quote = rates(api, eligible(api, "DE"))
    assert {r["carrierName"] for r in quote["rates"]} >= {"DHL", "DPD"}
    assert {r["totalCharge"]["unit"] for r in quote["rates"]} == {"EUR"}


def test_prices_are_deterministic_per_order_service_and_weight(api: Api) -> None:
    order_id = eligible(api)
    a, b = rates(api, order_id), rates(api, order_id)
    heavy = rates(api, order_id, weight={"value": 20, "unit": "POUND"})
    assert a["requestToken"] != b["requestToken"]
    assert [r["totalCharge"] for r in a["rates"]] == [r["totalCharge"] for r in b["rates"]]
    assert all(
        h["totalCharge"]["value"] > r["totalCharge"]["value"]
        for h, r in zip(heavy["rates"], a["rates"], strict=True)
    )


@pytest.mark.parametrize(
    "pick",
    [
        lambda rec: rec.afn,
        lambda rec: not rec.afn and rec.status == "SHIPPED",
        lambda rec: rec.status == "CANCELLED",
    ],
    ids=["fba", "shipped", "cancelled"],
)
def test_orders_not_eligible_get_only_ineligible_rates(api: Api, pick: Any) -> None:
    quote = rates(api, first(api, pick))
    assert quote["rates"] == []
    assert {r["ineligibilityReasons"][0]["code"] for r in quote["ineligibleRates"][1:]} == {
        "PROGRAM_CONSTRAINTS"
    }


def test_unknown_order_and_bad_bodies_are_400(api: Api) -> None:
    assert error_code(api.post(RATES, rates_body("999-0000000-0000000"))) == "InvalidRequest"
    good = rates_body(eligible(api))
    for bad in (
        {**good, "channelDetails": None},
        {**good, "packages": []},
        {**good, "shipFrom": {"name": "x"}},
        rates_body(eligible(api), weight={"value": -1, "unit": "POUND"}),
        rates_body(eligible(api), dimensions={"length": 1, "unit": "FEET"}),
        [good],
    ):
        reply = api.post(RATES, bad)
        assert reply.status_code == 400, bad
        assert error_code(reply) == "InvalidRequest"
    raw = api.http.post(RATES, content=b"{not json", headers={"x-amz-access-token": api.token})
    assert raw.status_code == 400


def test_shipping_needs_an_access_token(api: Api) -> None:
    reply = api.post(RATES, rates_body(eligible(api)), token="Atza|forged")
    assert reply.status_code == 403


def test_unknown_shipping_path_is_404(api: Api) -> None:
    assert api.get("/shipping/v2/nothing").status_code == 404
    assert api.post("/shipping/v2/shipments/1/cancel", {}).status_code == 404  # wrong method


# --- purchaseShipment -------------------------------------------------------------------


def test_purchase_returns_the_label_and_records_the_shipment(api: Api) -> None:
    order_id = eligible(api)
    payload = bought(api, order_id, fmt="PDF", slip=True)
    detail = payload["packageDocumentDetails"][0]
    assert detail["packageClientReferenceId"] == "pkg-1"
    docs = {d["type"]: base64.b64decode(d["contents"]) for d in detail["packageDocuments"]}
    assert set(docs) == {"LABEL", "PACKSLIP"}
    label = docs["LABEL"]
    assert label.startswith(b"%PDF-1.4")
    assert detail["trackingId"].encode() in label
    assert order_id.encode() in label
    assert api.srv.recipient(order_id).name.encode() in label
    [shipment] = api.srv.shipments
    assert (shipment.order_id, shipment.shipment_id) == (order_id, payload["shipmentId"])
    assert not shipment.voided
    assert api.srv.purchase_count(order_id) == 1
    assert api.srv.request_count(PURCHASE_SHIPMENT) == 1


@pytest.mark.parametrize(("fmt", "dpi", "magic"), [("PNG", 300, b"\x89PNG"), ("ZPL", 203, b"^XA")])
def test_purchase_in_the_format_asked_for(api: Api, fmt: str, dpi: int, magic: bytes) -> None:
    payload = bought(api, eligible(api), fmt=fmt, dpi=dpi)
    [doc] = payload["packageDocumentDetails"][0]["packageDocuments"]
    assert doc["format"] == fmt
    assert base64.b64decode(doc["contents"]).startswith(magic)


def test_request_token_expires_after_ten_minutes(api: Api, clock: FakeClock) -> None:
    quote = rates(api, eligible(api))
    clock.advance(601)
    reply = buy(api, quote)
    assert reply.status_code == 400
    assert error_code(reply) == "TOKEN_EXPIRED"
    assert api.srv.shipments == []


def test_token_lifetime_is_divided_by_speed(clock: FakeClock) -> None:
    with FakeSpApi(orders=300, seed=5, speed=10, clock=clock) as srv:
        api = Api(srv)
        order_id = eligible(api)
        fresh, old = rates(api, order_id), rates(api, order_id)
        clock.advance(59)
        assert buy(api, fresh).status_code == 200
        clock.advance(2)
        assert error_code(buy(api, old)) == "TOKEN_EXPIRED"
        api.http.close()


def test_a_token_buys_once(api: Api) -> None:
    order_id = eligible(api)
    quote = rates(api, order_id)
    assert buy(api, quote).status_code == 200
    again = buy(api, quote, index=1)
    assert again.status_code == 400
    assert error_code(again) == "InvalidRequest"
    assert api.srv.purchase_count(order_id) == 1


def test_unknown_token_or_rate_and_bad_spec_are_refused(api: Api) -> None:
    quote = rates(api, eligible(api))
    assert buy(api, {**quote, "requestToken": "NOPE"}).status_code == 400
    assert buy(api, {**quote, "rates": [{"rateId": "NOPE"}]}).status_code == 400
    assert buy(api, quote, fmt="GIF").status_code == 400
    assert buy(api, quote, fmt="ZPL", dpi=150).status_code == 400
    assert api.post(SHIPMENTS, {"rateId": "x"}).status_code == 400
    assert buy(api, quote).status_code == 200  # none of the above used the token


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (Fault.PURCHASE_FAILED, "PurchaseShipmentFailed"),
        (Fault.INSUFFICIENT_FUNDS, "InsufficientFunds"),
        (Fault.ADDRESS_INVALID, "InvalidAddress"),
        (Fault.TOKEN_EXPIRED, "TOKEN_EXPIRED"),
    ],
)
def test_purchase_faults_buy_nothing(api: Api, fault: Fault, code: str) -> None:
    order_id = eligible(api)
    quote = rates(api, order_id)
    api.srv.faults.set(fault, count=1, operation=PURCHASE_SHIPMENT)
    reply = buy(api, quote)
    assert reply.status_code == 400
    assert error_code(reply) == code
    assert api.srv.purchase_count(order_id) == 0
    assert buy(api, quote).status_code == 200  # the fault fired once; the token is unused


def test_the_demo_s_undeliverable_addresses_fail_at_purchase(api: Api) -> None:
    order_id = eligible(api)
    api.srv.shipping.undeliverable_every = 1  # every order
    reply = buy(api, rates(api, order_id))
    assert (reply.status_code, error_code(reply)) == (400, "InvalidAddress")
    api.srv.shipping.undeliverable_every = 0
    assert buy(api, rates(api, order_id)).status_code == 200
    assert api.srv.purchase_count(order_id) == 1


def test_expire_rate_tokens(api: Api) -> None:
    quote = rates(api, eligible(api))
    api.srv.expire_rate_tokens()
    assert error_code(buy(api, quote)) == "TOKEN_EXPIRED"


# --- getShipmentDocuments --------------------------------------------------------------


def documents(api: Api, shipment_id: str, **params: Any) -> httpx.Response:
    return api.get(f"{SHIPMENTS}/{shipment_id}/documents", **params)


def label_of(reply: httpx.Response) -> bytes:
    assert reply.status_code == 200, reply.text
    docs = reply.json()["payload"]["packageDocumentDetail"]["packageDocuments"]
    return base64.b64decode(docs[0]["contents"])


def test_documents_again_are_byte_identical(api: Api) -> None:
    payload = bought(api, eligible(api), fmt="ZPL", dpi=203)
    first_label = base64.b64decode(
        payload["packageDocumentDetails"][0]["packageDocuments"][0]["contents"]
    )
    sid = payload["shipmentId"]
    again = label_of(documents(api, sid, packageClientReferenceId="pkg-1", format="ZPL", dpi=203))
    assert again == first_label
    pdf = label_of(documents(api, sid, packageClientReferenceId="pkg-1", format="PDF"))
    assert pdf.startswith(b"%PDF") and pdf == label_of(
        documents(api, sid, packageClientReferenceId="pkg-1", format="PDF")
    )
    zpl300 = label_of(documents(api, sid, packageClientReferenceId="pkg-1", format="ZPL", dpi=300))
    assert b"^PW1200" in zpl300
    assert api.srv.request_count(GET_SHIPMENT_DOCUMENTS) == 4


def test_documents_errors(api: Api) -> None:
    sid = bought(api, eligible(api))["shipmentId"]
    assert documents(api, "123", packageClientReferenceId="pkg-1").status_code == 404
    assert documents(api, sid, packageClientReferenceId="other").status_code == 400
    assert documents(api, sid).status_code == 400
    assert documents(api, sid, packageClientReferenceId="pkg-1", format="GIF").status_code == 400
    assert api.put(f"{SHIPMENTS}/{sid}/cancel").status_code == 200
    assert documents(api, sid, packageClientReferenceId="pkg-1").status_code == 400


# --- cancelShipment ---------------------------------------------------------------------


def test_cancel_once_then_refused(api: Api) -> None:
    order_id = eligible(api)
    sid = bought(api, order_id)["shipmentId"]
    reply = api.put(f"{SHIPMENTS}/{sid}/cancel")
    assert reply.status_code == 200 and reply.json() == {"payload": {}}
    assert api.srv.shipments[0].voided
    assert api.put(f"{SHIPMENTS}/{sid}/cancel").status_code == 400
    assert api.put(f"{SHIPMENTS}/404404/cancel").status_code == 404
    assert api.srv.purchase_count(order_id) == 1
    assert api.srv.request_count(CANCEL_SHIPMENT) == 3


def test_cancel_after_pickup_is_refused(api: Api, clock: FakeClock) -> None:
    sid = bought(api, eligible(api))["shipmentId"]
    advance(api, clock, 4 * 3600)
    assert api.put(f"{SHIPMENTS}/{sid}/cancel").status_code == 400
    assert not api.srv.shipments[0].voided


# --- getTracking ------------------------------------------------------------------------


def track(api: Api, tracking_id: str, carrier_id: str) -> dict[str, Any]:
    reply = api.get("/shipping/v2/tracking", trackingId=tracking_id, carrierId=carrier_id)
    assert reply.status_code == 200, reply.text
    payload: dict[str, Any] = reply.json()["payload"]
    return payload


def test_tracking_moves_on_with_the_clock(api: Api, clock: FakeClock) -> None:
    payload = bought(api, eligible(api))
    tracking_id = payload["packageDocumentDetails"][0]["trackingId"]
    carrier = api.srv.shipments[0].carrier_id
    seen = []
    for hours in (0, 4, 30, 10, 6):  # 0, 4, 34, 44, 50 hours after purchase
        advance(api, clock, hours * 3600)
        result = track(api, tracking_id, carrier)
        seen.append(result["summary"]["status"])
    assert seen == ["PreTransit", "InTransit", "InTransit", "OutForDelivery", "Delivered"]
    events = [e["eventCode"] for e in result["eventHistory"]]
    assert events[0] == "ReadyForReceive" and events[-1] == "Delivered"
    assert result["trackingId"] == tracking_id
    assert result["promisedDeliveryDate"] == "2026-11-03T14:00:00Z"
    assert api.srv.request_count(GET_TRACKING) == 5


def test_tracking_of_a_voided_label_says_pickup_cancelled(api: Api) -> None:
    payload = bought(api, eligible(api))
    sid, tracking_id = payload["shipmentId"], payload["packageDocumentDetails"][0]["trackingId"]
    api.put(f"{SHIPMENTS}/{sid}/cancel")
    result = track(api, tracking_id, api.srv.shipments[0].carrier_id)
    assert result["summary"]["status"] == "PickupCancelled"
    assert result["eventHistory"][-1]["eventCode"] == "PickupCancelled"


def test_tracking_errors(api: Api) -> None:
    payload = bought(api, eligible(api))
    tracking_id = payload["packageDocumentDetails"][0]["trackingId"]
    assert api.get("/shipping/v2/tracking", trackingId=tracking_id).status_code == 400
    assert api.get("/shipping/v2/tracking", trackingId="X", carrierId="UPS").status_code == 404
    wrong = api.get("/shipping/v2/tracking", trackingId=tracking_id, carrierId="NOPE")
    assert wrong.status_code == 404


# --- the server's usual faults and limits reach the new operations -----------------------


def test_generic_faults_and_limits_apply_to_shipping(api: Api) -> None:
    body = rates_body(eligible(api))
    api.srv.faults.set(Fault.THROTTLE, count=1, operation=GET_RATES)
    assert api.post(RATES, body).status_code == 429
    api.srv.faults.set(Fault.SERVER_ERROR, count=1, operation=GET_RATES)
    assert api.post(RATES, body).status_code == 500
    api.srv.faults.set(Fault.MALFORMED_JSON, count=1, operation=GET_RATES)
    assert api.post(RATES, body).text.startswith("<html>")
    api.srv.drain(GET_RATES)
    reply = api.post(RATES, body)
    assert reply.status_code == 429 and error_code(reply) == "QuotaExceeded"
    assert api.srv.throttled_count(GET_RATES) == 2


def test_disconnect_on_purchase(api: Api) -> None:
    quote = rates(api, eligible(api))
    api.srv.faults.set(Fault.DISCONNECT, count=1, operation=PURCHASE_SHIPMENT)
    with pytest.raises(httpx.HTTPError):
        buy(api, quote)
    # Amazon bought it; the reply was lost on the way: the seller must not buy twice.
    assert len(api.srv.shipments) == 1


def test_unshipped_order_places_orders_until_one_gets_rates(clock: FakeClock) -> None:
    with FakeSpApi(orders=5, seed=2, speed=None, clock=clock) as srv:
        order_id = srv.unshipped_order("A1F83G8C2ARO7P")
        rec = srv.store.get(order_id)
        assert rec is not None and rec.mkt.country == "GB"
        assert not rec.afn and rec.status in ("UNSHIPPED", "PARTIALLY_SHIPPED")
        assert srv.unshipped_order("A1F83G8C2ARO7P") == order_id  # the oldest one
        assert order_id in srv.shipping.eligible_order_ids("A1F83G8C2ARO7P")


def test_odd_order_fault_leaves_shipping_alone(api: Api) -> None:
    api.srv.faults.set(Fault.ODD_ORDER, count=1)
    rates(api, eligible(api))
    assert api.srv.faults.is_set(Fault.ODD_ORDER)
