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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from app.demo.fake_spapi_catalog import (
    FULFILLMENT_STATUSES,
    MARKETPLACE_BY_ID,
    MARKETPLACES,
    PACKAGE_STATUSES,
    Marketplace,
)
from app.demo.fake_spapi_render import DAY, JSON, iso, render_order

HISTORY_DAYS = 120
_ID_STRIDE = 4_999_963  # odd and not a multiple of 5: idx -> last id group is a bijection


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
        return render_order(self.seed, rec, status, updated, ship_time, pkg_status, included)


__all__ = [
    "MARKETPLACES",
    "MARKETPLACE_BY_ID",
    "OrderRecord",
    "OrderStore",
    "SearchFilter",
    "iso",
    "to_epoch",
]
