"""The seeded order store behind the fake SP-API (no HTTP)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from app.demo.fake_spapi_catalog import BUYER_NAMES, INCLUDED_DATA, MARKETPLACE_BY_ID
from app.demo.seed_orders import OrderStore, SearchFilter, to_epoch

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ALL = frozenset(INCLUDED_DATA)


@pytest.fixture(scope="module")
def store() -> OrderStore:
    return OrderStore(count=1500, seed=7, now=NOW)


def render_all(store: OrderStore, included: frozenset[str]) -> list[dict[str, object]]:
    out = []
    for order_id in store.order_ids():
        rec = store.get(order_id)
        assert rec is not None
        out.append(store.render(rec, included))
    return out


def test_same_seed_gives_same_orders() -> None:
    a = OrderStore(count=200, seed=5, now=NOW)
    b = OrderStore(count=200, seed=5, now=NOW)
    c = OrderStore(count=200, seed=6, now=NOW)
    assert render_all(a, ALL) == render_all(b, ALL)
    assert a.order_ids() != c.order_ids()


def test_orders_are_unique_shaped_and_within_120_days(store: OrderStore) -> None:
    ids = store.order_ids()
    assert len(ids) == len(set(ids)) == 1500
    oldest = to_epoch(NOW - timedelta(days=120))
    for order_id in ids:
        assert re.fullmatch(r"\d{3}-\d{7}-\d{7}", order_id)
        rec = store.get(order_id)
        assert rec is not None
        assert oldest <= rec.created <= rec.updated <= to_epoch(NOW)


def test_mix_is_realistic(store: OrderStore) -> None:
    orders = render_all(store, ALL)
    statuses = {o["fulfillment"]["fulfillmentStatus"] for o in orders}  # type: ignore[index]
    assert {"UNSHIPPED", "SHIPPED", "CANCELLED", "PENDING_AVAILABILITY"} <= statuses
    by_mkt: dict[str, set[str]] = {}
    for o in orders:
        mkt = o["salesChannel"]["marketplaceId"]  # type: ignore[index]
        currencies = by_mkt.setdefault(mkt, set())
        for item in o["orderItems"]:  # type: ignore[attr-defined]
            currencies.add(item["product"]["price"]["unitPrice"]["currencyCode"])
    assert {"ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1F83G8C2ARO7P", "A1PA6795UKMFR9"} <= set(by_mkt)
    for mkt, currencies in by_mkt.items():
        assert currencies == {MARKETPLACE_BY_ID[mkt].currency}
    assert any(len(o["orderItems"]) > 1 for o in orders)  # type: ignore[arg-type]
    assert any("PRIME" in o.get("programs", []) for o in orders)  # type: ignore[operator]
    assert any("AMAZON_BUSINESS" in o.get("programs", []) for o in orders)  # type: ignore[operator]
    package_states = {
        p["packageStatus"]["status"]
        for o in orders
        for p in o.get("packages", [])  # type: ignore[attr-defined]
    }
    assert package_states == {"DELIVERED", "IN_TRANSIT"}


def test_packages_only_for_merchant_fulfilled_shipped_orders(store: OrderStore) -> None:
    for o in render_all(store, ALL):
        f = o["fulfillment"]
        if "packages" in o:
            assert f["fulfilledBy"] == "MERCHANT"  # type: ignore[index]
            assert f["fulfillmentStatus"] in ("SHIPPED", "PARTIALLY_SHIPPED")  # type: ignore[index]
            for p in o["packages"]:  # type: ignore[attr-defined]
                assert p["trackingNumber"] and p["carrier"]
                assert p["shipTime"] <= o["lastUpdatedTime"]
        elif f["fulfilledBy"] == "MERCHANT":  # type: ignore[index]
            assert f["fulfillmentStatus"] not in ("SHIPPED", "PARTIALLY_SHIPPED")  # type: ignore[index]


def test_included_data_groups_are_only_present_when_asked(store: OrderStore) -> None:
    bare = render_all(store, frozenset())
    for o in bare:
        assert set(o) <= {"orderId", "createdTime", "lastUpdatedTime", "programs",
                          "salesChannel", "orderItems"}  # fmt: skip
        for item in o["orderItems"]:  # type: ignore[attr-defined]
            assert set(item) == {"orderItemId", "quantityOrdered", "product"}
    groups = {
        "BUYER": "buyer",
        "RECIPIENT": "recipient",
        "PROCEEDS": "proceeds",
        "FULFILLMENT": "fulfillment",
        "PACKAGES": "packages",
    }
    for group, key in groups.items():
        rendered = render_all(store, frozenset({group}))
        assert any(key in o for o in rendered), group
        assert not any(k in o for o in rendered for k in groups.values() if k != key), group


def test_groups_do_not_depend_on_other_groups(store: OrderStore) -> None:
    only_packages = render_all(store, frozenset({"PACKAGES"}))
    everything = render_all(store, ALL)
    for a, b in zip(only_packages, everything, strict=True):
        assert a.get("packages") == b.get("packages")
        assert a["orderItems"][0]["product"] == b["orderItems"][0]["product"]  # type: ignore[index]


def test_buyer_data_is_obviously_fake(store: OrderStore) -> None:
    for o in render_all(store, frozenset({"BUYER", "RECIPIENT"})):
        assert o["buyer"]["buyerName"] in BUYER_NAMES  # type: ignore[index]
        address = o["recipient"]["deliveryAddress"]  # type: ignore[index]
        assert address["addressLine1"].endswith(" Demo Street")
        assert address["name"] in BUYER_NAMES


def test_update_moves_order_to_end_of_updated_index() -> None:
    s = OrderStore(count=50, seed=2, now=NOW)
    first = s.order_ids()[0]
    new = s.update(first, NOW, fulfillment_status="CANCELLED")
    assert new == NOW
    flt = SearchFilter(by_updated=True, lower=0, upper=to_epoch(NOW))
    found, more = s.search(flt, None, 100)
    assert not more and found[-1].order_id == first and found[-1].status == "CANCELLED"
    again = s.update(first, NOW)  # frozen clock: still strictly later
    assert again == NOW + timedelta(seconds=1)
    with pytest.raises(ValueError):
        s.update(first, NOW, fulfillment_status="DELIVERED")


def test_add_and_remove() -> None:
    s = OrderStore(count=10, seed=2, now=NOW)
    added = s.add(3, NOW)
    assert len(s) == 13 and set(added) <= set(s.order_ids())
    s.remove(added[0])
    assert s.get(added[0]) is None and added[0] not in s.order_ids()
