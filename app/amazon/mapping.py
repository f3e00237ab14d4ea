"""Orders API 2026-01-01 JSON → our non-PII :class:`~app.amazon.models.Order`.

Only the fields the app needs are read; ``buyer`` and ``recipient`` (never requested)
are ignored if present.  An order that is odd but has an id and a time (an unknown
status, an item without an ASIN) is kept with what could be read and
:attr:`~app.amazon.models.Order.attention` saying what was odd, so one odd order never
stops a sync.  Only an order without an id or any time cannot be stored:
:func:`parse_order` raises :class:`~app.errors.AmazonBadResponse`, :func:`parse_orders`
skips and counts it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from app.amazon.models import (
    DeliveryState,
    Money,
    Order,
    OrderItem,
    OrderStatus,
    Package,
    PackageItem,
)
from app.amazon.orders_repo import parse_amazon_time
from app.errors import AmazonBadResponse

JSON = dict[str, Any]

log = logging.getLogger("muttefik.sync")


def _dict(value: Any) -> JSON:
    return value if isinstance(value, dict) else {}


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_amazon_time(value)
    except ValueError:
        return None


def _money(value: Any) -> Money | None:
    data = _dict(value)
    amount, currency = data.get("amount"), data.get("currencyCode")
    if amount is None or not isinstance(currency, str):
        return None
    try:
        return Money(Decimal(str(amount)), currency)
    except InvalidOperation:
        return None


def _window(fulfillment: JSON, name: str) -> tuple[datetime | None, datetime | None]:
    window = _dict(fulfillment.get(name))
    return _time(window.get("earliestDateTime")), _time(window.get("latestDateTime"))


def _package_items(value: Any) -> tuple[PackageItem, ...]:
    """``packageItems``; an entry without an item id or a whole quantity is left out."""
    out: list[PackageItem] = []
    for raw in value if isinstance(value, list) else ():
        entry = _dict(raw)
        item_id, quantity = entry.get("orderItemId"), entry.get("quantity")
        if (
            isinstance(item_id, str)
            and isinstance(quantity, int)
            and not isinstance(quantity, bool)
        ):
            out.append(PackageItem(item_id, quantity))
    return tuple(out)


def _delivery_state(
    status: OrderStatus,
    packages: tuple[Package, ...],
    deliver_by_latest: datetime | None,
    now: datetime,
) -> DeliveryState:
    if status is OrderStatus.CANCELLED:
        return DeliveryState.CANCELLED
    if status is OrderStatus.UNFULFILLABLE:
        return DeliveryState.UNDELIVERABLE
    if status in (OrderStatus.PENDING, OrderStatus.PENDING_AVAILABILITY):
        return DeliveryState.PENDING
    states = {p.status for p in packages if p.status}
    if status is OrderStatus.SHIPPED and states and states <= {"DELIVERED"}:
        return DeliveryState.DELIVERED
    if "UNDELIVERABLE" in states:
        return DeliveryState.UNDELIVERABLE
    if status in (OrderStatus.UNSHIPPED, OrderStatus.PARTIALLY_SHIPPED):
        return DeliveryState.TO_SHIP
    # Shipped without package data (Amazon-fulfilled): past the delivery window we
    # take it as delivered, as Amazon's own order page does.
    if not states and deliver_by_latest is not None and deliver_by_latest < now:
        return DeliveryState.DELIVERED
    return DeliveryState.IN_TRANSIT


def parse_order(data: Any, *, store_id: int, now: datetime) -> Order:
    """Map one ``Order`` object.  ``now`` (sync time) decides estimated delivery."""
    if not isinstance(data, dict):
        raise AmazonBadResponse(detail="order is not an object")
    order_id = data.get("orderId")
    created = _time(data.get("createdTime"))
    updated = _time(data.get("lastUpdatedTime"))
    if not isinstance(order_id, str) or not order_id or (created or updated) is None:
        raise AmazonBadResponse(detail="order without id or times")
    odd: list[str] = []
    if created is None or updated is None:
        odd.append("Amazon sent it without its creation or update time")
        created = updated = created or updated
    assert created is not None and updated is not None
    channel = _dict(data.get("salesChannel"))
    fulfillment = _dict(data.get("fulfillment"))
    raw_status = fulfillment.get("fulfillmentStatus") or "PENDING"
    try:
        status = OrderStatus(raw_status)
    except ValueError:
        # Kept as pending (nothing to ship yet) until Amazon sends a status we know.
        odd.append(f"Amazon sent a status this app does not know ({str(raw_status)[:40]})")
        status = OrderStatus.PENDING
    fulfilled_by = fulfillment.get("fulfilledBy")
    channel_code = {"AMAZON": "AFN", "MERCHANT": "MFN"}.get(str(fulfilled_by))
    programs = {str(p) for p in data.get("programs") or () if isinstance(p, str)}
    items: list[OrderItem] = []
    for raw in data.get("orderItems") or ():
        item = _dict(raw)
        product = _dict(item.get("product"))
        asin = product.get("asin")
        if not isinstance(asin, str) or not asin:
            if "An item has no ASIN" not in odd:
                odd.append("An item has no ASIN")
            asin = ""
        quantity = item.get("quantityOrdered")
        items.append(
            OrderItem(
                order_item_id=str(item.get("orderItemId") or len(items)),
                asin=asin,
                sku=product.get("sellerSku") if isinstance(product.get("sellerSku"), str) else None,
                title=product.get("title") if isinstance(product.get("title"), str) else None,
                quantity=quantity if isinstance(quantity, int) else 0,
                unit_price=_money(_dict(product.get("price")).get("unitPrice")),
            )
        )
    packages = tuple(
        Package(
            package_ref=str(p.get("packageReferenceId") or i),
            carrier=p.get("carrier") if isinstance(p.get("carrier"), str) else None,
            tracking_number=(
                p.get("trackingNumber") if isinstance(p.get("trackingNumber"), str) else None
            ),
            status=_dict(p.get("packageStatus")).get("status"),
            shipping_service=(
                p.get("shippingService") if isinstance(p.get("shippingService"), str) else None
            ),
            ship_time=_time(p.get("shipTime")),
            items=_package_items(p.get("packageItems")),
        )
        for i, p in enumerate(_dict(x) for x in data.get("packages") or ())
    )
    ship_from, ship_to = _window(fulfillment, "shipByWindow")
    deliver_from, deliver_to = _window(fulfillment, "deliverByWindow")
    state = _delivery_state(status, packages, deliver_to, now)
    # Amazon gives no delivery timestamp here; a package seen delivered in this version
    # of the order was delivered by its lastUpdatedTime at the latest.
    delivered_at = updated if state is DeliveryState.DELIVERED and packages else None
    total = _money(_dict(data.get("proceeds")).get("grandTotal"))
    return Order(
        order_id=order_id,
        store_id=store_id,
        marketplace_id=str(channel.get("marketplaceId") or ""),
        marketplace_name=channel.get("marketplaceName"),
        status=status,
        purchase_date=created,
        last_updated=updated,
        fulfillment_channel=channel_code,
        service_level=fulfillment.get("fulfillmentServiceLevel"),
        ship_by_earliest=ship_from,
        ship_by_latest=ship_to,
        deliver_by_earliest=deliver_from,
        deliver_by_latest=deliver_to,
        delivered_at=delivered_at,
        total=total,
        is_prime="PRIME" in programs,
        is_business="AMAZON_BUSINESS" in programs,
        is_preorder="PREORDER" in programs,
        items=tuple(items),
        packages=packages,
        delivery_state=state,
        attention="; ".join(odd) + "." if odd else None,
    )


def parse_orders(data: Iterable[Any], *, store_id: int, now: datetime) -> tuple[list[Order], int]:
    """Map a page of orders; returns them and how many could not be stored at all (no
    id or no time: logged and left out, so the page and the sync go on)."""
    orders: list[Order] = []
    skipped = 0
    for position, raw in enumerate(data):
        try:
            orders.append(parse_order(raw, store_id=store_id, now=now))
        except AmazonBadResponse as exc:
            skipped += 1
            log.warning("order %d of a page left out: %s", position, exc.detail)
    return orders, skipped
