"""Seeded, realistic demo orders in the shape of the Orders API v2026-01-01.

Each order is kept as a compact :class:`OrderRecord` (ids, times, status, flags); the
full JSON (items, prices, packages, fake buyer) is rendered on demand from a per-order
random stream, so 100k orders generate in well under a second and a given
``(seed, now)`` always yields the same orders.  Buyer and recipient data is obviously
fake (a small list of placeholder names, "Demo Street" addresses, fictional phone
ranges).  All methods are thread-safe.
"""

from __future__ import annotations

import bisect
import random
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.demo.fake_spapi_catalog import (
    BUYER_NAMES,
    CANCEL_REASONS,
    CATALOG,
    FULFILLMENT_STATUSES,
    MARKETPLACE_BY_ID,
    MARKETPLACES,
    PACKAGE_STATUSES,
    Marketplace,
    tracking_number,
)

JSON = dict[str, Any]

DAY = 86_400
HISTORY_DAYS = 120
_ID_STRIDE = 4_999_963  # odd and not a multiple of 5: idx -> last id group is a bijection


def iso(epoch: int) -> str:
    """Amazon's timestamp format: ``2026-01-31T12:00:00Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def to_epoch(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


class OrderRecord:
    """The mutable core of one order; everything else derives from ``idx``."""

    __slots__ = (
        "afn",
        "business",
        "created",
        "idx",
        "mkt",
        "n_items",
        "order_id",
        "pkg_status",
        "preorder",
        "prime",
        "ship_time",
        "status",
        "updated",
    )

    def __init__(self, idx: int, order_id: str, mkt: Marketplace, created: int) -> None:
        self.idx = idx
        self.order_id = order_id
        self.mkt = mkt
        self.created = created
        self.updated = created
        self.status = "UNSHIPPED"
        self.afn = False
        self.prime = False
        self.business = False
        self.preorder = False
        self.n_items = 1
        self.ship_time: int | None = None
        self.pkg_status: str | None = None


@dataclass(frozen=True)
class SearchFilter:
    by_updated: bool  # sort/filter on lastUpdatedTime (else createdTime)
    lower: int  # inclusive, epoch seconds
    upper: int  # inclusive
    marketplace_ids: frozenset[str] | None = None
    statuses: frozenset[str] | None = None
    fulfilled_by: frozenset[str] | None = None  # AMAZON / MERCHANT


def _cum_weights(items: Iterable[int]) -> list[float]:
    total = 0.0
    out: list[float] = []
    for weight in items:
        total += weight
        out.append(total)
    return [w / total for w in out]


_MKT_CUM = _cum_weights(m.weight for m in MARKETPLACES)
_ITEMS_CUM = _cum_weights((72, 20, 6, 2))


class OrderStore:
    """All orders of one fake seller, indexed for Amazon-style searches."""

    def __init__(self, *, count: int, seed: int, now: datetime) -> None:
        self.seed = seed
        self._lock = threading.Lock()
        self._orders: dict[str, OrderRecord] = {}
        self._by_created: list[tuple[int, str]] = []
        self._by_updated: list[tuple[int, str]] = []
        self._next_idx = 0
        now_epoch = to_epoch(now)
        rng = random.Random(seed)
        for _ in range(count):
            age = int((rng.random() ** 1.15) * HISTORY_DAYS * DAY)
            self._insert(self._make(rng, now_epoch - age, now_epoch))
        self._by_created.sort()
        self._by_updated.sort()

    # --- generation ------------------------------------------------------------

    def _make(self, rng: random.Random, created: int, now: int) -> OrderRecord:
        idx = self._next_idx
        self._next_idx += 1
        mkt = MARKETPLACES[bisect.bisect_left(_MKT_CUM, rng.random())]
        prefix = mkt.prefixes[int(rng.random() * len(mkt.prefixes))]
        last = (idx * _ID_STRIDE + self.seed * 7919) % 10_000_000
        order_id = f"{prefix}-{int(rng.random() * 10_000_000):07d}-{last:07d}"
        rec = OrderRecord(idx, order_id, mkt, created)
        rec.afn = rng.random() < 0.4
        rec.prime = rng.random() < (0.6 if rec.afn else 0.1)
        rec.business = rng.random() < 0.07
        rec.n_items = bisect.bisect_left(_ITEMS_CUM, rng.random()) + 1
        roll = rng.random()
        handling = int((0.3 if rec.afn else 0.5 + 2.0 * rng.random()) * DAY)
        transit = int((1.0 if rec.prime else 2.0 + 4.0 * rng.random()) * DAY)
        age = now - created
        if roll < 0.035:
            rec.status = "CANCELLED"
            rec.updated = min(now, created + 600 + int(rng.random() * DAY))
        elif roll < 0.040:
            rec.status, rec.preorder = "PENDING_AVAILABILITY", True
        elif roll < 0.043 and rec.afn:
            rec.status = "UNFULFILLABLE"
            rec.updated = min(now, created + 3600)
        elif age < 1800 and roll < 0.3:
            rec.status = "PENDING"
        elif age < handling:
            rec.status = "UNSHIPPED"
            rec.updated = min(now, created + 120)
        else:
            partial = not rec.afn and rec.n_items > 1 and age < handling + DAY and roll < 0.5
            rec.status = "PARTIALLY_SHIPPED" if partial else "SHIPPED"
            rec.ship_time = created + handling
            delivered_at = rec.ship_time + transit
            if delivered_at <= now and not partial:
                rec.pkg_status, rec.updated = "DELIVERED", delivered_at
            else:
                rec.pkg_status, rec.updated = "IN_TRANSIT", rec.ship_time
        return rec

    def _insert(self, rec: OrderRecord) -> None:
        self._orders[rec.order_id] = rec
        self._by_created.append((rec.created, rec.order_id))
        self._by_updated.append((rec.updated, rec.order_id))

    # --- queries --------------------------------------------------------------------

    def __len__(self) -> int:
        with self._lock:
            return len(self._orders)

    def order_ids(self) -> list[str]:
        """All current order ids, oldest first."""
        with self._lock:
            return [oid for _, oid in self._by_created]

    def get(self, order_id: str) -> OrderRecord | None:
        with self._lock:
            return self._orders.get(order_id)

    def search(
        self, flt: SearchFilter, after: tuple[int, str] | None, limit: int
    ) -> tuple[list[OrderRecord], bool]:
        """Orders matching ``flt`` in ascending (time, orderId) order, starting after
        the key ``after``; returns up to ``limit`` records and whether more match."""
        found: list[OrderRecord] = []
        with self._lock:
            keys = self._by_updated if flt.by_updated else self._by_created
            start = (
                bisect.bisect_left(keys, (flt.lower, ""))
                if after is None
                else bisect.bisect_right(keys, after)
            )
            for pos in range(start, len(keys)):
                stamp, order_id = keys[pos]
                if stamp < flt.lower:
                    continue  # only when ``after`` precedes the window
                if stamp > flt.upper:
                    break
                rec = self._orders[order_id]
                if flt.marketplace_ids is not None and rec.mkt.marketplace_id not in (
                    flt.marketplace_ids
                ):
                    continue
                if flt.statuses is not None and rec.status not in flt.statuses:
                    continue
                if flt.fulfilled_by is not None and (
                    ("AMAZON" if rec.afn else "MERCHANT") not in flt.fulfilled_by
                ):
                    continue
                if len(found) == limit:
                    return found, True
                found.append(rec)
        return found, False

    # --- mutations -------------------------------------------------------------------

    def add(self, count: int, now: datetime) -> list[str]:
        """Add ``count`` orders placed at ``now`` (status PENDING or UNSHIPPED)."""
        now_epoch = to_epoch(now)
        added: list[str] = []
        with self._lock:
            rng = random.Random(self.seed * 1_000_003 + self._next_idx + 17)
            for _ in range(count):
                rec = self._make(rng, now_epoch, now_epoch)
                bisect.insort(self._by_created, (rec.created, rec.order_id))
                bisect.insort(self._by_updated, (rec.updated, rec.order_id))
                self._orders[rec.order_id] = rec
                added.append(rec.order_id)
        return added

    def remove(self, order_id: str) -> None:
        with self._lock:
            rec = self._orders.pop(order_id)
            self._by_created.remove((rec.created, order_id))
            self._by_updated.remove((rec.updated, order_id))

    def update(
        self,
        order_id: str,
        now: datetime,
        *,
        fulfillment_status: str | None = None,
        package_status: str | None = None,
        last_updated: datetime | None = None,
    ) -> datetime:
        """Change an order and move its lastUpdatedTime forward (at least 1 s, so a
        frozen clock still produces a visible update).  Returns the new time."""
        if fulfillment_status is not None and fulfillment_status not in FULFILLMENT_STATUSES:
            raise ValueError(f"unknown fulfillment status {fulfillment_status!r}")
        if package_status is not None and package_status not in PACKAGE_STATUSES:
            raise ValueError(f"unknown package status {package_status!r}")
        with self._lock:
            rec = self._orders[order_id]
            new = to_epoch(last_updated) if last_updated else max(to_epoch(now), rec.updated + 1)
            if new < rec.created:
                raise ValueError("lastUpdatedTime cannot precede createdTime")
            self._by_updated.remove((rec.updated, order_id))
            if fulfillment_status is not None:
                rec.status = fulfillment_status
                if fulfillment_status in ("SHIPPED", "PARTIALLY_SHIPPED") and not rec.ship_time:
                    rec.ship_time = new
                    rec.pkg_status = rec.pkg_status or "IN_TRANSIT"
            if package_status is not None:
                if rec.ship_time is None:
                    rec.ship_time = new
                rec.pkg_status = package_status
            rec.updated = new
            bisect.insort(self._by_updated, (rec.updated, order_id))
            return datetime.fromtimestamp(new, UTC)

    # --- rendering -------------------------------------------------------------------

    def render(self, rec: OrderRecord, included: frozenset[str]) -> JSON:
        """The Order object for ``rec`` with the ``includedData`` groups asked for.

        Every random draw happens whatever ``included`` is, so a group's content does
        not depend on which other groups were requested.
        """
        with self._lock:  # a concurrent update must not be half-visible
            status, updated = rec.status, rec.updated
            ship_time, pkg_status = rec.ship_time, rec.pkg_status
        return _render(self.seed, rec, status, updated, ship_time, pkg_status, included)


def _money(cents: int, currency: str) -> JSON:
    return {"amount": f"{cents // 100}.{cents % 100:02d}", "currencyCode": currency}


def _end_of_day(epoch: int) -> int:
    return epoch - epoch % DAY + DAY - 1


def _render(
    seed: int,
    rec: OrderRecord,
    status: str,
    updated: int,
    ship_time: int | None,
    pkg_status: str | None,
    included: frozenset[str],
) -> JSON:
    rng = random.Random(seed * 1_000_003 + rec.idx)
    mkt = rec.mkt
    cur = mkt.currency
    shipped_count = 1 if status == "PARTIALLY_SHIPPED" else rec.n_items
    is_shipped = status in ("SHIPPED", "PARTIALLY_SHIPPED")
    cancelled = status == "CANCELLED"

    items: list[JSON] = []
    item_total = tax_total = 0
    for pos, product_idx in enumerate(rng.sample(range(len(CATALOG)), rec.n_items)):
        product = CATALOG[product_idx]
        qty = 1 if rng.random() < 0.82 else rng.randint(2, 3)
        unit = int(product.price_usd * mkt.fx) * 100 + 99
        tax = round(unit * qty * mkt.sales_tax)
        item_id = f"{rng.randrange(10**13, 10**14)}"
        promo = rng.random() < 0.1
        requested_by_buyer = rng.random() < 0.6
        item: JSON = {
            "orderItemId": item_id,
            "quantityOrdered": qty,
            "product": {
                "asin": product.asin,
                "title": product.title,
                "sellerSku": f"{product.sku}-{mkt.country}",
                "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
                "price": {"unitPrice": _money(unit, cur)},
            },
        }
        if "PROCEEDS" in included and not cancelled:
            breakdowns: list[JSON] = [{"type": "ITEM", "subtotal": _money(unit * qty, cur)}]
            if tax:
                breakdowns.append(
                    {
                        "type": "TAX",
                        "subtotal": _money(tax, cur),
                        "detailedBreakdowns": [{"subtype": "ITEM", "value": _money(tax, cur)}],
                    }
                )
            item["proceeds"] = {
                "proceedsTotal": _money(unit * qty + tax, cur),
                "breakdowns": breakdowns,
            }
        if "PROMOTION" in included and promo:
            item["promotion"] = {"breakdowns": [{"promotionId": f"DEMO-PROMO-{product.sku}"}]}
        if "CANCELLATION" in included and cancelled:
            reason = CANCEL_REASONS[product_idx % len(CANCEL_REASONS)]
            cancellation: JSON = {
                "cancellationExecution": {
                    "cancelledBy": "BUYER" if requested_by_buyer else "MERCHANT",
                    "cancelReason": reason,
                }
            }
            if requested_by_buyer:
                cancellation["cancellationRequest"] = {"requester": "BUYER", "cancelReason": reason}
            item["cancellation"] = cancellation
        if "FULFILLMENT" in included:
            done = qty if is_shipped and pos < shipped_count else 0
            item["fulfillment"] = {
                "quantityFulfilled": done,
                "quantityUnfulfilled": 0 if cancelled else qty - done,
            }
        if "TAX" in included:
            item["tax"] = {
                "taxCollections": [
                    {"model": "MARKETPLACE_FACILITATOR", "responsibleParty": mkt.tax_party}
                ]
            }
        items.append(item)
        item_total += unit * qty
        tax_total += tax

    handling_days = 1 if rec.afn or rec.prime else 2 + int(rng.random() * 2)
    transit_min = 1 if rec.prime else 2 + int(rng.random() * 2)
    transit_max = transit_min + (1 if rec.prime else 3)
    level = "NEXT_DAY" if rec.prime and rng.random() < 0.3 else None
    level = level or ("SECOND_DAY" if rec.prime else ("EXPEDITED" if rng.random() < 0.1 else None))
    level = level or "STANDARD"
    shipping_fee = 0 if rec.prime or rec.afn else int(mkt.fx * 4) * 100 + 99
    carrier, service, fmt = mkt.carriers[int(rng.random() * len(mkt.carriers))]
    tracking = tracking_number(fmt, rng, mkt.country)
    buyer_name = BUYER_NAMES[int(rng.random() * len(BUYER_NAMES))]
    city, region, postal = mkt.cities[int(rng.random() * len(mkt.cities))]
    house = rng.randint(1, 999)
    alias = f"{rng.getrandbits(56):014x}"
    phone_tail = rng.randint(0, 99)
    package_ref = f"{rng.randrange(10**8, 10**9)}"

    order: JSON = {"orderId": rec.order_id, "createdTime": iso(rec.created)}
    order["lastUpdatedTime"] = iso(updated)
    programs = [
        name
        for name, on in (
            ("PRIME", rec.prime),
            ("AMAZON_BUSINESS", rec.business),
            ("PREORDER", rec.preorder),
        )
        if on
    ]
    if programs:
        order["programs"] = programs
    order["salesChannel"] = {
        "channelName": "AMAZON",
        "marketplaceId": mkt.marketplace_id,
        "marketplaceName": mkt.name,
    }
    if "BUYER" in included:
        buyer: JSON = {"buyerName": buyer_name}
        if not rec.afn and status in ("UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED"):
            buyer["buyerEmail"] = f"{alias}@{mkt.email_domain}"
        if rec.business:
            buyer["buyerCompanyName"] = "Demo Trading Ltd"
            buyer["buyerPurchaseOrderNumber"] = f"PO-DEMO-{rec.idx:06d}"
        order["buyer"] = buyer
    if "RECIPIENT" in included:
        address: JSON = {"name": buyer_name}
        if rec.business:
            address["companyName"] = "Demo Trading Ltd"
        address.update(
            addressLine1=f"{house} Demo Street",
            city=city,
            stateOrRegion=region,
            postalCode=postal,
            countryCode=mkt.country,
        )
        if not rec.afn:
            address["phone"] = f"{mkt.fake_phone}{phone_tail:02d}"
        address["addressType"] = "COMMERCIAL" if rec.business else "RESIDENTIAL"
        order["recipient"] = {"deliveryAddress": address}
    if "PROCEEDS" in included and status not in ("CANCELLED", "PENDING"):
        breakdowns = [{"type": "ITEM", "subtotal": _money(item_total, cur)}]
        if shipping_fee:
            breakdowns.append({"type": "SHIPPING", "subtotal": _money(shipping_fee, cur)})
        if tax_total:
            breakdowns.append({"type": "TAX", "subtotal": _money(tax_total, cur)})
        order["proceeds"] = {
            "grandTotal": _money(item_total + shipping_fee + tax_total, cur),
            "breakdowns": breakdowns,
        }
    if "FULFILLMENT" in included:
        ship_by = _end_of_day(rec.created + handling_days * DAY)
        fulfillment: JSON = {
            "fulfillmentStatus": status,
            "fulfilledBy": "AMAZON" if rec.afn else "MERCHANT",
            "fulfillmentServiceLevel": level,
        }
        if status != "PENDING_AVAILABILITY":
            fulfillment["shipByWindow"] = {
                "earliestDateTime": iso(rec.created),
                "latestDateTime": iso(ship_by),
            }
            fulfillment["deliverByWindow"] = {
                "earliestDateTime": iso(ship_by + 1 + (transit_min - 1) * DAY),
                "latestDateTime": iso(ship_by + transit_max * DAY),
            }
        order["fulfillment"] = fulfillment
    order["orderItems"] = items
    if "PACKAGES" in included and not rec.afn and ship_time is not None:
        order["packages"] = [
            {
                "packageReferenceId": package_ref,
                "createdTime": iso(ship_time - 3600),
                "packageStatus": {
                    "status": pkg_status or "IN_TRANSIT",
                    "detailedStatus": "DELIVERED" if pkg_status == "DELIVERED" else "PICKED_UP",
                },
                "carrier": carrier,
                "shipTime": iso(ship_time),
                "shippingService": service,
                "trackingNumber": tracking,
                "shipFromAddress": mkt.warehouse,
                "packageItems": [
                    {"orderItemId": it["orderItemId"], "quantity": it["quantityOrdered"]}
                    for it in items[:shipped_count]
                ],
            }
        ]
    return order


__all__ = [
    "MARKETPLACES",
    "MARKETPLACE_BY_ID",
    "OrderRecord",
    "OrderStore",
    "SearchFilter",
    "iso",
    "to_epoch",
]
