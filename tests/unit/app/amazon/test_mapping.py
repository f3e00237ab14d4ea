"""parse_order: an odd order is kept, marked as needing attention, never raised; Amazon's
published examples all parse; packages keep which items they hold."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.amazon.mapping import parse_order, parse_orders
from app.amazon.models import OrderStatus, PackageItem
from tests.helpers.sp_api_examples import example_orders

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


# --- Amazon's published examples, and which items are in which package -----------------

EXAMPLES = example_orders()


def test_the_examples_are_all_there() -> None:
    # 4 searchOrders + 4 getOrder 200 examples, one order each.
    assert len({name for name, _ in EXAMPLES}) == 8
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize(
    "order", [o for _, o in EXAMPLES], ids=[f"{n}:{o['orderId']}" for n, o in EXAMPLES]
)
def test_every_published_example_order_parses(order: dict[str, Any]) -> None:
    parsed = parse_order(order, store_id=1, now=NOW)
    assert parsed.order_id == order["orderId"]
    assert parsed.attention is None  # Amazon's own examples are not odd orders
    assert [i.order_item_id for i in parsed.items] == [
        i["orderItemId"] for i in order.get("orderItems", ())
    ]
    assert [i.asin for i in parsed.items] == [
        i["product"]["asin"] for i in order.get("orderItems", ())
    ]
    assert [p.package_ref for p in parsed.packages] == [
        p["packageReferenceId"] for p in order.get("packages", ())
    ]
    for package, raw in zip(parsed.packages, order.get("packages", ()), strict=True):
        assert package.items == tuple(
            PackageItem(i["orderItemId"], i["quantity"]) for i in raw.get("packageItems", ())
        )


def test_some_example_has_package_items() -> None:
    # The check above would pass vacuously without one.
    assert any(p.get("packageItems") for _, o in EXAMPLES for p in o.get("packages", ()))


def _shipped(packages: list[dict[str, Any]]) -> dict[str, Any]:
    return _order(
        fulfillment={"fulfillmentStatus": "PARTIALLY_SHIPPED", "fulfilledBy": "MERCHANT"},
        orderItems=[
            {"orderItemId": "A", "quantityOrdered": 2, "product": {"asin": "B000000001"}},
            {"orderItemId": "B", "quantityOrdered": 1, "product": {"asin": "B000000002"}},
        ],
        packages=packages,
    )


def test_partial_shipment_keeps_which_items_went_in_which_package() -> None:
    order = parse_order(
        _shipped(
            [
                {"packageReferenceId": "1", "packageItems": [{"orderItemId": "A", "quantity": 1}]},
                {
                    "packageReferenceId": "2",
                    "packageItems": [
                        {"orderItemId": "A", "quantity": 1},
                        {"orderItemId": "B", "quantity": 1, "transparencyCodes": ["X"]},
                    ],
                },
                {"packageReferenceId": "3"},
            ]
        ),
        store_id=1,
        now=NOW,
    )
    assert [p.items for p in order.packages] == [
        (PackageItem("A", 1),),
        (PackageItem("A", 1), PackageItem("B", 1)),
        (),
    ]


def test_unreadable_package_items_are_left_out() -> None:
    order = parse_order(
        _shipped(
            [
                {
                    "packageReferenceId": "1",
                    "packageItems": [
                        {"quantity": 1},
                        {"orderItemId": "A", "quantity": "1"},
                        "B",
                        {"orderItemId": "B", "quantity": True},
                        {"orderItemId": "B", "quantity": 1},
                    ],
                }
            ]
        ),
        store_id=1,
        now=NOW,
    )
    assert order.packages[0].items == (PackageItem("B", 1),)
