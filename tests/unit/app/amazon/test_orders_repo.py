"""Orders repository: upserts (idempotent, newest wins), search, visibility, speed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.amazon import orders_repo
from app.amazon.models import Order, OrderItem, OrderStatus, Package, PackageItem
from app.amazon.orders_repo import OrderQuery, SortColumn
from app.auth.models import Actor
from app.auth.rbac import Role
from app.errors import PermissionDenied
from app.vault import Vault
from tests.helpers.orders import T0, make

ADMIN = Actor(id=1, username="admin", display_name="Admin", role=Role.ADMIN)
AGENT = Actor(
    id=2, username="agent", display_name="Agent", role=Role.AGENT, store_ids=frozenset({1})
)


@pytest.fixture
def stores(vault: Vault) -> Vault:
    def add(conn: object) -> None:
        for sid in (1, 2):
            conn.execute(  # type: ignore[attr-defined]
                "INSERT INTO stores(id, name, created_at) VALUES (?, ?, ?)", (sid, f"S{sid}", "x")
            )

    vault.call_write(add)
    return vault


def upsert(vault: Vault, orders: list[Order]) -> orders_repo.UpsertStats:
    return vault.call_write(lambda c: orders_repo.upsert_orders(c, orders, now=T0))


def test_upsert_is_idempotent_and_newest_wins(stores: Vault) -> None:
    first = upsert(stores, [make(1), make(2)])
    assert (first.new, first.written) == (2, 2)
    again = upsert(stores, [make(1), make(2)])
    assert again.new == 0
    newer = make(1, status=OrderStatus.CANCELLED, last_updated=T0 + timedelta(days=1))
    upsert(stores, [newer])
    older = make(1, status=OrderStatus.SHIPPED)  # arrives late (an earlier page)
    assert upsert(stores, [older]).stale == 1
    order = stores.call(lambda c: orders_repo.get_order(c, ADMIN, make(1).order_id))
    assert order is not None and order.status is OrderStatus.CANCELLED
    assert len(order.items) == 1 and order.packages[0].tracking_number == "1Z1"
    ids = stores.call(lambda c: orders_repo.search_ids(c, ADMIN, OrderQuery()))
    assert sorted(ids) == sorted({make(1).order_id, make(2).order_id})


def test_update_rewrites_changed_items_packages_and_search_text(stores: Vault) -> None:
    upsert(stores, [make(1), make(2)])
    later = T0 + timedelta(days=2)
    changed = make(
        1,
        last_updated=later,
        items=(
            OrderItem("1", "B0NEWASIN1", "SKU-NEW", "Trail lantern", 2, None),
            OrderItem("2", "B0NEWASIN2", None, "Spare battery", 1, None),
        ),
        packages=(
            Package("p1", "UPS", "1Zold", "IN_TRANSIT"),
            Package("p1", "UPS", "1Znew", "DELIVERED"),  # repeated ref: the last one wins
            Package("p2", "DHL", "JD1", "IN_TRANSIT"),
        ),
    )
    superseded = make(2, last_updated=later, status=OrderStatus.CANCELLED)
    newest = make(2, last_updated=later + timedelta(hours=1), status=OrderStatus.SHIPPED)
    stats = upsert(stores, [changed, newest, superseded])  # one batch, order 2 twice
    assert (stats.written, stats.new, stats.stale) == (2, 0, 1)
    one = stores.call(lambda c: orders_repo.get_order(c, ADMIN, make(1).order_id))
    assert one is not None
    assert [(i.asin, i.quantity) for i in one.items] == [("B0NEWASIN1", 2), ("B0NEWASIN2", 1)]
    assert [(p.package_ref, p.tracking_number) for p in one.packages] == [
        ("p1", "1Znew"),
        ("p2", "JD1"),
    ]
    two = stores.call(lambda c: orders_repo.get_order(c, ADMIN, make(2).order_id))
    assert two is not None and two.status is OrderStatus.SHIPPED
    assert len(two.items) == 1 and two.items[0].sku == "SKU-2"  # unchanged items kept

    def search(text: str) -> list[str]:
        return stores.call(lambda c: orders_repo.search_ids(c, ADMIN, OrderQuery(text=text)))

    assert search("lantern") == [make(1).order_id]
    assert search("Headlamp") == [make(2).order_id]  # order 1's old title left the index
    assert search("SKU-1") == []


def test_package_contents_are_stored_and_follow_changes(stores: Vault) -> None:
    two_items = (
        OrderItem("1", "B0ASIN0001", "SKU-A", "Lantern", 2, None),
        OrderItem("2", "B0ASIN0002", "SKU-B", "Battery", 1, None),
    )
    first = Package("p1", "UPS", "1Z1", "IN_TRANSIT", items=(PackageItem("1", 1),))
    upsert(stores, [make(1, items=two_items, packages=(first,))])

    def contents() -> list[tuple[str, tuple[PackageItem, ...]]]:
        order = stores.call(lambda c: orders_repo.get_order(c, ADMIN, make(1).order_id))
        assert order is not None
        return [(p.package_ref, p.items) for p in order.packages]

    assert contents() == [("p1", (PackageItem("1", 1),))]
    # Only the contents change (the rest of the package row is the same): rewritten.
    later = T0 + timedelta(days=1)
    fuller = Package("p1", "UPS", "1Z1", "IN_TRANSIT", items=(PackageItem("1", 2),))
    repeated = Package(
        "p2", "UPS", "1Z2", "IN_TRANSIT", items=(PackageItem("2", 1), PackageItem("1", 1))
    )
    upsert(
        stores,
        [
            make(
                1,
                last_updated=later,
                items=two_items,
                packages=(fuller, Package("p2", "UPS", "1Z2", "IN_TRANSIT"), repeated),
            )
        ],
    )
    assert contents() == [
        ("p1", (PackageItem("1", 2),)),
        ("p2", (PackageItem("2", 1), PackageItem("1", 1))),  # the last version of p2
    ]
    stores.call_write(lambda c: orders_repo.delete_store_orders(c, 1))
    left = stores.call(lambda c: c.execute("SELECT count(*) FROM package_items").fetchone())
    assert left[0] == 0


def test_filters_search_sort_and_rows(stores: Vault) -> None:
    upsert(stores, [make(n) for n in range(1, 31)] + [make(99, store_id=2)])
    q = OrderQuery(text="model 17")  # a short term matches as a substring
    hits = stores.call(lambda c: orders_repo.search_ids(c, ADMIN, q))
    assert make(17).order_id in hits and make(18).order_id not in hits
    by_sku = OrderQuery(text="SKU-2")  # substring: SKU-2, SKU-20…
    found = stores.call(lambda c: orders_repo.search_ids(c, ADMIN, by_sku))
    assert make(2).order_id in found and make(25).order_id in found
    ship = OrderQuery(needs_shipping=True, sort=SortColumn.SHIP_BY, descending=False)
    ids = stores.call(lambda c: orders_repo.search_ids(c, ADMIN, ship))
    assert ids and all(int(i.split("-")[1]) % 2 and int(i.split("-")[1]) % 3 for i in ids)
    by_total = OrderQuery(statuses=frozenset({OrderStatus.UNSHIPPED}), sort=SortColumn.TOTAL)
    unshipped = [make(n).order_id for n in range(1, 31) if n % 3]
    assert stores.call(lambda c: orders_repo.search_ids(c, ADMIN, by_total)) == sorted(
        unshipped,
        reverse=True,  # equal totals: order id, same direction
    )
    late = OrderQuery(late_to_ship=True)
    cut = T0 + timedelta(days=1, minutes=10)
    late_ids = stores.call(lambda c: orders_repo.search_ids(c, ADMIN, late, now=cut))
    assert set(late_ids) < set(ids)
    rows = stores.call(lambda c: orders_repo.fetch_rows(c, ids[:3]))
    assert [r.order_id for r in rows] == ids[:3]
    assert rows[0].items_summary.startswith("Headlamp model")
    assert orders_repo.seller_central_url(rows[0]).startswith("https://sellercentral.amazon.com/")


def test_agents_see_only_their_stores(stores: Vault) -> None:
    upsert(stores, [make(1), make(99, store_id=2)])
    ids = stores.call(lambda c: orders_repo.search_ids(c, AGENT, OrderQuery()))
    assert ids == [make(1).order_id]
    with pytest.raises(PermissionDenied):
        stores.call(lambda c: orders_repo.get_order(c, AGENT, make(99).order_id))


def _report_copy(n: int, **kw: object) -> Order:
    """Order ``n`` as an order report gives it: no packages, no windows."""
    return make(n, packages=(), ship_by_latest=None, details_pending=True, **kw)


def _stored(vault: Vault, n: int) -> Order:
    order = vault.call(lambda c: orders_repo.get_order(c, ADMIN, make(n).order_id))
    assert order is not None
    return order


def test_a_report_copy_never_replaces_the_orders_apis(stores: Vault) -> None:
    upsert(stores, [make(1)])
    later = T0 + timedelta(days=1)
    # Even a newer report copy: the API's packages and windows would be lost.
    assert upsert(stores, [_report_copy(1, last_updated=later)]).stale == 1
    kept = _stored(stores, 1)
    assert not kept.details_pending and kept.packages[0].tracking_number == "1Z1"


def test_the_orders_apis_copy_always_replaces_a_report_copy(stores: Vault) -> None:
    later = T0 + timedelta(days=1)
    assert upsert(stores, [_report_copy(1, last_updated=later)]).new == 1
    assert _stored(stores, 1).details_pending
    # The API's copy, even with an older last-updated time, has what the report lacks.
    assert upsert(stores, [make(1)]).written == 1
    filled = _stored(stores, 1)
    assert not filled.details_pending and filled.packages[0].tracking_number == "1Z1"
    assert filled.ship_by_latest is not None


def test_a_report_copy_replaces_only_an_older_report_copy(stores: Vault) -> None:
    later = T0 + timedelta(days=1)
    upsert(stores, [_report_copy(1, last_updated=later)])
    assert upsert(stores, [_report_copy(1, status=OrderStatus.CANCELLED)]).stale == 1
    assert upsert(stores, [_report_copy(1, last_updated=later)]).stale == 1  # the same
    newer = _report_copy(1, status=OrderStatus.CANCELLED, last_updated=later + timedelta(hours=1))
    assert upsert(stores, [newer]).written == 1
    assert _stored(stores, 1).status is OrderStatus.CANCELLED
