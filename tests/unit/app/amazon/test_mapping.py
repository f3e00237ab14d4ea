"""parse_order: an odd order is kept, marked as needing attention, never raised."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.amazon.mapping import parse_order, parse_orders
from app.amazon.models import OrderStatus

NOW = datetime(2026, 5, 1, tzinfo=UTC)


def _order(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "orderId": "111-0000000-0000001",
        "createdTime": "2026-04-01T10:00:00Z",
        "lastUpdatedTime": "2026-04-02T10:00:00Z",
        "salesChannel": {"marketplaceId": "ATVPDKIKX0DER", "marketplaceName": "Amazon.com"},
        "fulfillment": {"fulfillmentStatus": "UNSHIPPED", "fulfilledBy": "MERCHANT"},
        "orderItems": [
            {"orderItemId": "1", "quantityOrdered": 2, "product": {"asin": "B000000001"}}
        ],
    }
    data.update(over)
    return data


def test_a_well_formed_order_needs_no_attention() -> None:
    order = parse_order(_order(), store_id=1, now=NOW)
    assert order.attention is None
    assert order.status is OrderStatus.UNSHIPPED


def test_unknown_status_is_kept_as_needing_attention() -> None:
    order = parse_order(_order(fulfillment={"fulfillmentStatus": "ON_HOLD"}), store_id=1, now=NOW)
    assert order.attention is not None and "ON_HOLD" in order.attention
    assert order.order_id == "111-0000000-0000001" and order.items[0].asin == "B000000001"


def test_item_without_asin_is_kept_as_needing_attention() -> None:
    items = [{"orderItemId": "1", "quantityOrdered": 1, "product": {"sellerSku": "SKU-1"}}]
    order = parse_order(_order(orderItems=items), store_id=1, now=NOW)
    assert order.attention is not None and "ASIN" in order.attention
    assert order.items[0].asin == "" and order.items[0].sku == "SKU-1"


def test_order_with_only_one_time_uses_it_for_both() -> None:
    order = parse_order(_order(lastUpdatedTime=None), store_id=1, now=NOW)
    assert order.last_updated == order.purchase_date
    assert order.attention is not None


@pytest.mark.parametrize(
    "bad",
    [
        "text",
        {"createdTime": "2026-04-01T10:00:00Z"},
        _order(createdTime=None, lastUpdatedTime=None),
    ],
)
@pytest.mark.expect_log("muttefik.sync", "WARNING", "order 1 of a page left out")
def test_orders_that_cannot_be_stored_are_skipped_and_counted(bad: Any) -> None:
    orders, skipped = parse_orders([_order(), bad], store_id=1, now=NOW)
    assert [o.order_id for o in orders] == ["111-0000000-0000001"]
    assert skipped == 1
