"""The fake SP-API serves orders shaped like Amazon's published Orders 2026-01-01 examples.

Shape: every JSON path of an order (``packages[].packageItems[].quantity``) with its
type.  The fake may leave fields out (Amazon's examples show every optional field) but
must not invent one or change a type, and it must serve every field ``parse_order``
reads, so the sync is tested against what Amazon sends.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from app.amazon.mapping import parse_order
from app.demo import FakeSpApi
from app.demo.fake_spapi_catalog import INCLUDED_DATA
from tests.helpers.fake_spapi import START, Api
from tests.helpers.sp_api_examples import example_orders, shape

# What app/amazon/mapping.py parse_order reads.
READ_BY_PARSE_ORDER = {
    "orderId",
    "createdTime",
    "lastUpdatedTime",
    "salesChannel.marketplaceId",
    "salesChannel.marketplaceName",
    "fulfillment.fulfillmentStatus",
    "fulfillment.fulfilledBy",
    "fulfillment.fulfillmentServiceLevel",
    "fulfillment.shipByWindow.earliestDateTime",
    "fulfillment.shipByWindow.latestDateTime",
    "fulfillment.deliverByWindow.earliestDateTime",
    "fulfillment.deliverByWindow.latestDateTime",
    "programs[]",
    "orderItems[].orderItemId",
    "orderItems[].quantityOrdered",
    "orderItems[].product.asin",
    "orderItems[].product.sellerSku",
    "orderItems[].product.title",
    "orderItems[].product.price.unitPrice.amount",
    "orderItems[].product.price.unitPrice.currencyCode",
    "packages[].packageReferenceId",
    "packages[].carrier",
    "packages[].trackingNumber",
    "packages[].packageStatus.status",
    "packages[].shippingService",
    "packages[].shipTime",
    "packages[].packageItems[].orderItemId",
    "packages[].packageItems[].quantity",
    "proceeds.grandTotal.amount",
    "proceeds.grandTotal.currencyCode",
}


def amazon_shape() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for _, order in example_orders():
        shape(order, out=out)
    return out


@pytest.fixture(scope="module")
def served() -> Iterator[list[dict[str, Any]]]:
    """Every order of a seeded fake, over HTTP, with every includedData group."""
    with FakeSpApi(orders=400, seed=5, speed=None) as srv:
        api = Api(srv)
        try:
            orders, _ = api.walk(createdAfter=START, includedData=",".join(sorted(INCLUDED_DATA)))
            one = api.get(
                f"/orders/2026-01-01/orders/{orders[0]['orderId']}",
                includedData=(",".join(sorted(INCLUDED_DATA))),
            )
            assert one.status_code == 200, one.text
            yield [*orders, one.json()["order"]]
        finally:
            api.http.close()


@pytest.fixture(scope="module")
def fake_shape(served: list[dict[str, Any]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for order in served:
        shape(order, out=out)
    return out


def test_the_fake_sends_no_field_amazon_does_not(fake_shape: dict[str, set[str]]) -> None:
    assert sorted(set(fake_shape) - set(amazon_shape())) == []


def test_the_fake_sends_each_field_with_amazons_type(fake_shape: dict[str, set[str]]) -> None:
    amazon = amazon_shape()
    differ = {p: (t, amazon[p]) for p, t in fake_shape.items() if p in amazon and t - amazon[p]}
    assert differ == {}


def test_the_fake_sends_every_field_the_mapping_reads(fake_shape: dict[str, set[str]]) -> None:
    amazon = amazon_shape()
    assert sorted(READ_BY_PARSE_ORDER - set(amazon)) == []  # the list names Amazon's paths
    assert sorted(READ_BY_PARSE_ORDER - set(fake_shape)) == []


def test_every_served_order_parses(served: list[dict[str, Any]]) -> None:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    parsed = [parse_order(o, store_id=1, now=now) for o in served]
    assert len({o.order_id for o in parsed}) == len(served) - 1  # getOrder repeats one
