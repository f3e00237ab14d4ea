"""The real Shipping v2 client (python-amazon-sp-api's ShippingV2 through the shared
factory) over HTTP against the fake SP-API: rates, purchase, documents, tracking,
cancel, and Amazon's refusals in the seller's words."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from app.amazon.models import Money
from app.amazon.spapi import ThrottledError, clear_token_cache
from app.amazon.spapi.shipping import (
    PURCHASE_SHIPMENT,
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
    SpApiShippingClient,
    TrackingStatus,
    WeightUnit,
)
from app.amazon.spapi.shipping import Address as ShipFrom
from app.clock import FakeClock
from app.demo import FakeSpApi, Fault
from app.demo.fake_spapi_faults import GET_RATES
from app.errors import AmazonBadResponse
from tests.helpers.fake_spapi import fake_store

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SHIP_FROM = ShipFrom("Demo Seller", "1 Demo Street", "Reno", "89502", "US", "NV")
PARCEL = Parcel(
    Decimal(10), Decimal(8), Decimal(4), DimensionUnit.INCH, Decimal("2.5"), WeightUnit.POUND,
    (ParcelItem("1", 1, unit_value=Money(Decimal("19.99"), "USD")),), reference="pkg-1",
)  # fmt: skip


@pytest.fixture(autouse=True)
def _fresh_token_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("SP_API_DEFAULT_MARKETPLACE", raising=False)
    clear_token_cache()
    yield
    clear_token_cache()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def srv(clock: FakeClock) -> Iterator[FakeSpApi]:
    with FakeSpApi(orders=300, seed=9, speed=1.0, clock=clock) as server:
        yield server


def client_for(srv: FakeSpApi, clock: FakeClock, marketplace_id: str) -> SpApiShippingClient:
    store, credentials = fake_store(srv, marketplace_id)
    return SpApiShippingClient(store, credentials, timeout=5, clock=clock)


@pytest.fixture
def client(srv: FakeSpApi, clock: FakeClock) -> Iterator[SpApiShippingClient]:
    api = client_for(srv, clock, "ATVPDKIKX0DER")
    yield api
    api.close()


def eligible(srv: FakeSpApi, country: str = "US") -> str:
    return srv.unshipped_order({"US": "ATVPDKIKX0DER", "GB": "A1F83G8C2ARO7P"}[country])


def quote_for(client: SpApiShippingClient, order_id: str) -> RateQuote:
    return client.get_rates(RateRequest(order_id, SHIP_FROM, PARCEL, date(2026, 11, 1)))


def test_rates_purchase_documents_tracking_cancel(
    srv: FakeSpApi, client: SpApiShippingClient, clock: FakeClock
) -> None:
    order_id = eligible(srv)
    quote = quote_for(client, order_id)
    assert quote.order_id == order_id and quote.received_at == NOW
    assert quote.package_reference == "pkg-1"
    assert len(quote.rates) == 4
    assert {r.total.currency for r in quote.rates} == {"USD"}
    assert [r.protected for r in quote.rates].count(False) == 1
    assert all(
        r.formats == (LabelFormat.PDF, LabelFormat.PNG, LabelFormat.ZPL) for r in quote.rates
    )
    assert quote.rates[0].dpis == (203, 300)
    assert quote.ineligible
    assert quote.ineligible[0].reasons == ("would arrive after the promised delivery date",)
    cheapest = min(quote.rates, key=lambda r: r.total.amount)

    purchase = client.purchase(
        quote, cheapest.rate_id, DocumentSpec(LabelFormat.PDF, packing_slip=True)
    )
    assert purchase.package_reference == "pkg-1" and purchase.tracking_id
    label, slip = purchase.documents
    assert (label.type, label.format, slip.type) == (
        DocumentType.LABEL,
        LabelFormat.PDF,
        DocumentType.PACKSLIP,
    )
    assert label.data.startswith(b"%PDF-1.4")
    assert purchase.tracking_id.encode() in label.data
    assert srv.recipient(order_id).name.encode() in label.data
    assert purchase.delivery_start is not None and purchase.delivery_start.tzinfo is not None
    [shipment] = srv.shipments
    assert shipment.service_id == cheapest.service_id and shipment.amount == cheapest.total.amount

    again = client.documents(purchase.shipment_id, purchase.package_reference, DocumentSpec())
    assert [d.data for d in again] == [label.data, slip.data]
    zpl = client.documents(
        purchase.shipment_id, purchase.package_reference, DocumentSpec(LabelFormat.ZPL, 300)
    )
    assert zpl[0].format is LabelFormat.ZPL and zpl[0].dpi == 300
    assert zpl[0].data.startswith(b"^XA") and b"^PW1200" in zpl[0].data

    tracking = client.tracking(purchase.tracking_id, shipment.carrier_id)
    assert tracking.status is TrackingStatus.PRE_TRANSIT
    assert tracking.events == ("ReadyForReceive",)
    assert tracking.promised_delivery is not None

    client.cancel(purchase.shipment_id)
    assert srv.shipments[0].voided
    with pytest.raises(CannotCancel):
        client.cancel(purchase.shipment_id)
    voided = client.tracking(purchase.tracking_id, shipment.carrier_id)
    assert voided.status is TrackingStatus.PICKUP_CANCELLED
    assert srv.purchase_count(order_id) == 1


def test_tracking_reaches_delivered(
    srv: FakeSpApi, client: SpApiShippingClient, clock: FakeClock
) -> None:
    quote = quote_for(client, eligible(srv))
    purchase = client.purchase(quote, quote.rates[0].rate_id, DocumentSpec(LabelFormat.PNG, 203))
    assert purchase.documents[0].dpi == 203
    clock.advance(50 * 3600)  # the client takes a new access token by itself
    assert purchase.tracking_id is not None
    tracking = client.tracking(purchase.tracking_id, srv.shipments[0].carrier_id)
    assert tracking.status is TrackingStatus.DELIVERED
    assert tracking.delivered_at == datetime(2026, 11, 3, 14, tzinfo=UTC)
    assert tracking.events[-1] == "Delivered"


def test_uk_store_sends_the_uk_shipping_business(srv: FakeSpApi, clock: FakeClock) -> None:
    api = client_for(srv, clock, "A1F83G8C2ARO7P")
    try:
        assert api._api.amzn_shipping_business.value == "AmazonShipping_UK"
        quote = quote_for(api, eligible(srv, "GB"))
        assert {r.total.currency for r in quote.rates} == {"GBP"}
        assert "Royal Mail Tracked 48" in {r.service_name for r in quote.rates}
    finally:
        api.close()


def test_expired_rates_become_rate_expired(
    srv: FakeSpApi, client: SpApiShippingClient, clock: FakeClock
) -> None:
    quote = quote_for(client, eligible(srv))
    clock.advance(601)
    with pytest.raises(RateExpired) as caught:
        client.purchase(quote, quote.rates[0].rate_id, DocumentSpec())
    assert caught.value.detail == "SP-API 400 TOKEN_EXPIRED"
    assert srv.shipments == []


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.INSUFFICIENT_FUNDS, InsufficientFunds),
        (Fault.ADDRESS_INVALID, AddressInvalid),
        (Fault.PURCHASE_FAILED, PurchaseRefused),
        (Fault.TOKEN_EXPIRED, RateExpired),
    ],
)
def test_purchase_refusals(
    srv: FakeSpApi, client: SpApiShippingClient, fault: Fault, error: type[Exception]
) -> None:
    order_id = eligible(srv)
    quote = quote_for(client, order_id)
    srv.faults.set(fault, count=1, operation=PURCHASE_SHIPMENT)
    with pytest.raises(error) as caught:
        client.purchase(quote, quote.rates[0].rate_id, DocumentSpec())
    recipient = srv.recipient(order_id)
    detail = str(caught.value.detail)  # type: ignore[attr-defined]
    assert recipient.address_line1 not in detail and recipient.city not in detail
    assert srv.purchase_count(order_id) == 0


def test_a_used_token_is_refused(srv: FakeSpApi, client: SpApiShippingClient) -> None:
    quote = quote_for(client, eligible(srv))
    client.purchase(quote, quote.rates[0].rate_id, DocumentSpec())
    with pytest.raises(PurchaseRefused):
        client.purchase(quote, quote.rates[1].rate_id, DocumentSpec())
    assert len(srv.shipments) == 1


def test_ineligible_order_gets_an_empty_quote(srv: FakeSpApi, client: SpApiShippingClient) -> None:
    fba = next(o for o in srv.order_ids() if (rec := srv.store.get(o)) and rec.afn)
    quote = quote_for(client, fba)
    assert quote.rates == () and quote.ineligible


def test_unknown_order_is_shipping_unavailable(client: SpApiShippingClient) -> None:
    with pytest.raises(ShippingUnavailable):
        quote_for(client, "111-0000000-0000000")


def test_unknown_shipment(client: SpApiShippingClient) -> None:
    with pytest.raises(ShipmentNotFound):
        client.documents("4040404040", "pkg-1", DocumentSpec())
    with pytest.raises(ShipmentNotFound):
        client.cancel("4040404040")
    with pytest.raises(ShipmentNotFound):
        client.tracking("1ZNOPE", "UPS")


def test_throttled_rates_become_throttled_error(
    srv: FakeSpApi, client: SpApiShippingClient
) -> None:
    srv.faults.set(Fault.THROTTLE, count=1, operation=GET_RATES)
    with pytest.raises(ThrottledError) as caught:
        quote_for(client, eligible(srv))
    assert caught.value.rate_limit == 80.0
    assert quote_for(client, eligible(srv)).rates  # the next call goes through


def test_unreadable_reply_is_a_bad_response(srv: FakeSpApi, client: SpApiShippingClient) -> None:
    srv.faults.set(Fault.MALFORMED_JSON, count=1, operation=GET_RATES)
    with pytest.raises(AmazonBadResponse):
        quote_for(client, eligible(srv))
