"""Deterministic, PII-free orders for the orders tests, and a vault seeded with them."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from app.amazon import orders_repo
from app.amazon.models import (
    DeliveryState,
    Money,
    Order,
    OrderItem,
    OrderStatus,
    Package,
)
from app.auth.models import Actor
from app.auth.rbac import Role as AuthRole
from app.vault import Vault

ADMIN = Actor(id=1, username="admin", display_name="Admin", role=AuthRole.ADMIN)
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

TITLES = [
    "Stainless Steel Water Bottle 750 ml",
    "Organic Cotton Tote Bag",
    "USB-C Charging Cable 2 m",
    "Bamboo Cutting Board Set",
    "Ceramic Coffee Mug, Blue",
]
MARKETS = [("ATVPDKIKX0DER", "Amazon.com", "USD"), ("A1PA6795UKMFR9", "Amazon.de", "EUR")]


def make_order(i: int, *, store_id: int = 1, now: datetime = NOW, seed: int = 7) -> Order:
    """A deterministic non-PII order number ``i`` (newest first as ``i`` grows older)."""
    rnd = random.Random(seed * 1_000_003 + i)
    mkt_id, mkt_name, cur = MARKETS[i % len(MARKETS)]
    purchase = now - timedelta(minutes=37 * i + rnd.randint(0, 30))
    status = rnd.choice(
        [OrderStatus.SHIPPED] * 6
        + [OrderStatus.UNSHIPPED] * 2
        + [OrderStatus.CANCELLED, OrderStatus.PENDING]
    )
    afn = rnd.random() < 0.4
    if status == OrderStatus.CANCELLED:
        state = DeliveryState.CANCELLED
    elif status == OrderStatus.PENDING:
        state = DeliveryState.PENDING
    elif status == OrderStatus.UNSHIPPED:
        state = DeliveryState.TO_SHIP
    else:
        state = (
            DeliveryState.DELIVERED
            if purchase < now - timedelta(days=5)
            else (DeliveryState.IN_TRANSIT)
        )
    n_items = 1 + (rnd.random() < 0.25) + (rnd.random() < 0.1)
    items = tuple(
        OrderItem(
            order_item_id=f"{i:08d}{k}",
            asin=f"B0{(i * 7 + k) % 99999:05d}XYZ",
            sku=f"SKU-{(i + k) % 500:04d}",
            title=TITLES[(i + k) % len(TITLES)],
            quantity=1 + (rnd.random() < 0.2),
            unit_price=Money(Decimal(rnd.randint(499, 8999)) / 100, cur),
        )
        for k in range(n_items)
    )
    total = sum((it.unit_price.amount * it.quantity for it in items if it.unit_price), Decimal())
    packages: tuple[Package, ...] = ()
    if state in (DeliveryState.IN_TRANSIT, DeliveryState.DELIVERED) and not afn:
        packages = (
            Package(
                package_ref="1",
                carrier="UPS",
                tracking_number=f"1Z999AA1{i:010d}",
                status="DELIVERED" if state == DeliveryState.DELIVERED else "IN_TRANSIT",
                shipping_service="UPS Ground",
                ship_time=purchase + timedelta(days=1),
            ),
        )
    return Order(
        order_id=f"{111 + i % 3}-{(i * 7919) % 10_000_000:07d}-{i:07d}",
        store_id=store_id,
        marketplace_id=mkt_id,
        marketplace_name=mkt_name,
        status=status,
        purchase_date=purchase,
        last_updated=purchase + timedelta(hours=2),
        fulfillment_channel="AFN" if afn else "MFN",
        service_level="Standard",
        ship_by_earliest=purchase,
        ship_by_latest=purchase + timedelta(hours=20),
        deliver_by_earliest=purchase + timedelta(days=3),
        deliver_by_latest=purchase + timedelta(days=7),
        delivered_at=purchase + timedelta(days=4) if state == DeliveryState.DELIVERED else None,
        total=Money(total, cur),
        is_prime=rnd.random() < 0.3,
        items=items,
        packages=packages,
        delivery_state=state,
    )


def seed(vault: Vault, n: int, *, store_id: int = 1, store_name: str = "Main store") -> list[Order]:
    orders = [make_order(i, store_id=store_id) for i in range(n)]

    def write(conn: Any) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO stores(id, name, created_at) VALUES (?, ?, ?)",
            (store_id, store_name, "2026-01-01T00:00:00Z"),
        )
        orders_repo.upsert_orders(conn, orders, now=NOW)

    vault.call_write(write)
    return orders


# Plainer orders for the repository tests: one item, one package, minutes apart.
T0 = datetime(2026, 10, 1, tzinfo=UTC)


def make(n: int, store_id: int = 1, **kw: object) -> Order:
    """Order ``n`` with one item and one package, fields overridden by ``kw``."""
    base: dict[str, object] = dict(
        order_id=f"111-{n:07d}-{n * 7 % 10_000_000:07d}",
        store_id=store_id,
        marketplace_id="ATVPDKIKX0DER",
        marketplace_name="Amazon.com",
        status=OrderStatus.UNSHIPPED if n % 3 else OrderStatus.SHIPPED,
        purchase_date=T0 + timedelta(minutes=n),
        last_updated=T0 + timedelta(minutes=n, seconds=30),
        fulfillment_channel="MFN" if n % 2 else "AFN",
        ship_by_latest=T0 + timedelta(days=1, minutes=n),
        total=Money(Decimal("19.99"), "USD"),
        items=(OrderItem("1", f"B0{n:08d}", f"SKU-{n}", f"Headlamp model {n}", 1, None),),
        packages=(Package("p1", "UPS", f"1Z{n}", "IN_TRANSIT"),),
        delivery_state=DeliveryState.TO_SHIP,
    )
    base.update(kw)
    return Order(**base)  # type: ignore[arg-type]
