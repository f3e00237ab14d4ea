"""Stored orders: the read API of the orders view and the idempotent writes of the sync.

Every function takes ``conn`` and runs on the DB thread (through ``vault.run``/``write``).
Reads take the acting operator and only return orders of stores it may see.  Searching
returns order ids; rows are fetched in pages with :func:`fetch_rows` (lazy table model).

Dates are stored as ``YYYY-MM-DDTHH:MM:SSZ`` text (sorts like time).  An FTS5 trigram
index over order id, ASINs, SKUs and titles makes as-you-type search fast.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from app.amazon.models import (
    DeliveryState,
    Money,
    Order,
    OrderItem,
    OrderRow,
    OrderStatus,
    Package,
    PackageItem,
)
from app.auth.models import Actor
from app.auth.rbac import Permission, require, visible_store_ids

Conn = Any

# Seller Central's order page per marketplace (the link in the detail panel).
SELLER_CENTRAL_HOSTS: dict[str, str] = {
    "ATVPDKIKX0DER": "sellercentral.amazon.com",
    "A2EUQ1WTGCTBG2": "sellercentral.amazon.ca",
    "A1AM78C64UM0Y8": "sellercentral.amazon.com.mx",
    "A2Q3Y263D00KWC": "sellercentral.amazon.com.br",
    "A1F83G8C2ARO7P": "sellercentral.amazon.co.uk",
    "A1PA6795UKMFR9": "sellercentral.amazon.de",
    "A13V1IB3VIYZZH": "sellercentral.amazon.fr",
    "APJ6JRA9NG5V4": "sellercentral.amazon.it",
    "A1RKKUPIHCS9HS": "sellercentral.amazon.es",
    "A1805IZSGTT6HS": "sellercentral.amazon.nl",
    "A2NODRKZP88ZB9": "sellercentral.amazon.se",
    "A1C3SOZRARQ6R3": "sellercentral.amazon.pl",
    "AMEN7PMS3EDWL": "sellercentral.amazon.com.be",
    "A33AVAJ2PDY3EV": "sellercentral.amazon.com.tr",
    "A21TJRUUN4KGV": "sellercentral.amazon.in",
    "A1VC38T7YXB528": "sellercentral.amazon.co.jp",
    "A39IBJ37TRP1C6": "sellercentral.amazon.com.au",
    "A19VAU5U5O7RUS": "sellercentral.amazon.sg",
    "A2VIGQ35RCS4UG": "sellercentral.amazon.ae",
    "A17E79C6D8DWNP": "sellercentral.amazon.sa",
}


class SortColumn(StrEnum):
    PURCHASE_DATE = "purchase_date"
    ORDER_ID = "order_id"
    STATUS = "status"
    MARKETPLACE = "marketplace"
    ITEMS = "items"
    TOTAL = "total"
    SHIP_BY = "ship_by"
    DELIVERY = "delivery"
    LAST_UPDATED = "last_updated"


_SORT_SQL: dict[SortColumn, str] = {
    SortColumn.PURCHASE_DATE: "o.purchase_date",
    SortColumn.ORDER_ID: "o.order_id",
    SortColumn.STATUS: "o.status",
    SortColumn.MARKETPLACE: "o.marketplace_name",
    SortColumn.ITEMS: "o.items_summary",
    SortColumn.TOTAL: "o.total_value",
    SortColumn.SHIP_BY: "o.ship_by_latest",
    SortColumn.DELIVERY: "o.delivery_state",
    SortColumn.LAST_UPDATED: "o.last_updated",
}


@dataclass(frozen=True)
class OrderQuery:
    """Filters and sort of the orders view.  Empty sets / ``None`` mean "any".

    ``text`` matches order id, ASIN, SKU or item title (substring, case-insensitive).
    ``needs_shipping``: merchant-fulfilled orders still to ship.  ``late_to_ship``: of
    those, the ones whose ship-by window has ended.  Dates filter the purchase date
    (``date_from`` inclusive, ``date_to`` exclusive).
    """

    statuses: frozenset[OrderStatus] = frozenset()
    store_ids: frozenset[int] = frozenset()
    marketplace_ids: frozenset[str] = frozenset()
    date_from: datetime | None = None
    date_to: datetime | None = None
    needs_shipping: bool = False
    late_to_ship: bool = False
    text: str = ""
    sort: SortColumn = SortColumn.PURCHASE_DATE
    descending: bool = True
    limit: int | None = None


@dataclass(frozen=True)
class StoreCounts:
    """Per-store totals for the status bar / filters."""

    store_id: int
    orders: int
    needs_shipping: int
    late_to_ship: int


# --- time and money helpers -------------------------------------------------------------


def to_db_time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    elif moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # An f-string: about three times faster than strftime (ten dates per stored order).
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"
    )


def from_db_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return parse_amazon_time(text)


def parse_amazon_time(text: str) -> datetime:
    """Amazon's ISO 8601 (``2024-12-25T09:15:00Z``, fractions and offsets tolerated)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _money(amount: str | None, currency: str | None) -> Money | None:
    if amount is None or not currency:
        return None
    try:
        return Money(Decimal(amount), currency)
    except InvalidOperation:
        return None


# --- visibility -------------------------------------------------------------------------


def _visible_stores(conn: Conn, actor: Actor) -> list[int] | None:
    """Store ids ``actor`` may see; ``None`` means all (admin, no filter needed)."""
    if actor.is_admin and not actor.disabled:
        return None
    all_ids = [int(r[0]) for r in conn.execute("SELECT id FROM stores")]
    return visible_store_ids(actor, all_ids)


# --- reads (orders view) ----------------------------------------------------------------


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _fts_query(text: str) -> str:
    """A trigram FTS5 MATCH expression: every whitespace-separated term, ANDed."""
    terms = [t for t in text.split() if len(t) >= 3]
    return " AND ".join('"' + t.replace('"', '""') + '"' for t in terms)


def search_ids(
    conn: Conn, actor: Actor, query: OrderQuery, *, now: datetime | None = None
) -> list[str]:
    """Order ids matching ``query`` in its sort order, limited to the actor's stores.

    Runs on the DB thread.  Fast enough for as-you-type use (100k orders: a few tens of
    ms).  ``now`` decides "late to ship" (default: the current time).
    """
    where: list[str] = []
    params: list[Any] = []
    visible = _visible_stores(conn, actor)
    stores = set(query.store_ids) if query.store_ids else None
    if visible is not None:
        stores = set(visible) if stores is None else stores & set(visible)
    if stores is not None:
        if not stores:
            return []
        where.append(f"o.store_id IN ({','.join('?' * len(stores))})")
        params.extend(sorted(stores))
    if query.statuses:
        # Sorted by total: "+" keeps the planner off orders_status_purchase (then a sort
        # of every match) and on orders_total, which covers status in total order.
        column = "+o.status" if query.sort is SortColumn.TOTAL else "o.status"
        where.append(f"{column} IN ({','.join('?' * len(query.statuses))})")
        params.extend(sorted(str(s) for s in query.statuses))
    if query.marketplace_ids:
        where.append(f"o.marketplace_id IN ({','.join('?' * len(query.marketplace_ids))})")
        params.extend(sorted(query.marketplace_ids))
    if query.date_from is not None:
        where.append("o.purchase_date >= ?")
        params.append(to_db_time(query.date_from))
    if query.date_to is not None:
        where.append("o.purchase_date < ?")
        params.append(to_db_time(query.date_to))
    if query.needs_shipping or query.late_to_ship:
        where.append("o.needs_shipping = 1")
    if query.late_to_ship:
        where.append("o.ship_by_latest IS NOT NULL AND o.ship_by_latest < ?")
        params.append(to_db_time(now or datetime.now(UTC)))
    text = query.text.strip()
    if text:
        if any(len(t) >= 3 for t in text.split()):
            sub = "SELECT rowid FROM orders_fts WHERE orders_fts MATCH ?"
            params.append(_fts_query(text))
            # Trigrams ignore terms under three characters: match those as substrings.
            for short in (t for t in text.split() if len(t) < 3):
                sub += (
                    " AND (order_id || ' ' || skus || ' ' || asins || ' ' || titles)"
                    " LIKE ? ESCAPE '\\'"
                )
                params.append("%" + _escape_like(short) + "%")
            where.append(f"o.id IN ({sub})")
        else:
            # Trigrams need three characters; shorter input matches id/SKU/ASIN prefixes.
            where.append(
                "(o.order_id LIKE ? ESCAPE '\\' OR o.id IN (SELECT i.order_rowid FROM "
                "order_items i WHERE i.sku LIKE ? ESCAPE '\\' OR i.asin LIKE ? ESCAPE '\\'))"
            )
            like = _escape_like(text) + "%"
            params.extend([like, like, like])
    sql = "SELECT o.order_id FROM orders o"
    if where:
        sql += " WHERE " + " AND ".join(where)
    direction = "DESC" if query.descending else "ASC"
    column = _SORT_SQL[query.sort]
    # Same direction on both keys so the (column, order_id) indexes serve the sort.
    sql += f" ORDER BY {column} {direction}, o.order_id {direction}"
    if query.limit is not None:
        sql += " LIMIT ?"
        params.append(int(query.limit))
    # One joined string split in C instead of a Python tuple per row: half the time for
    # 100k ids.  group_concat keeps the subquery's order (an ORDER BY in a subquery of an
    # aggregate is never flattened away); the count guards against a separator in an id.
    row = conn.execute(
        f"SELECT count(*), group_concat(order_id, '{_SEP}') FROM ({sql})", params
    ).fetchone()
    if not row[0]:
        return []
    ids: list[str] = row[1].split(_SEP)
    if len(ids) != row[0]:
        return [r[0] for r in conn.execute(sql, params)]
    return ids


_SEP = "\x1f"  # ASCII unit separator: never part of an Amazon order id


_ROW_COLUMNS = (
    "order_id, store_id, purchase_date, status, marketplace_id, marketplace_name, "
    "items_summary, item_count, total_amount, currency, ship_by_latest, delivery_state, "
    "fulfillment_channel, is_prime, attention"
)


def _row(r: Sequence[Any]) -> OrderRow:
    purchase = from_db_time(r[2])
    assert purchase is not None
    return OrderRow(
        order_id=r[0],
        store_id=int(r[1]),
        purchase_date=purchase,
        status=OrderStatus(r[3]),
        marketplace_id=r[4],
        marketplace_name=r[5],
        items_summary=r[6] or "",
        item_count=int(r[7] or 0),
        total=_money(r[8], r[9]),
        ship_by=from_db_time(r[10]),
        delivery_state=DeliveryState(r[11]),
        fulfillment_channel=r[12],
        is_prime=bool(r[13]),
        attention=r[14],
    )


def fetch_rows(conn: Conn, ids: Sequence[str]) -> list[OrderRow]:
    """Summary rows for ``ids`` (ids from :func:`search_ids`), in the same order.

    Runs on the DB thread.  Ids that no longer exist are left out.  Visibility was
    checked by :func:`search_ids`, which produced the ids.
    """
    found: dict[str, OrderRow] = {}
    chunk = 500
    for start in range(0, len(ids), chunk):
        part = list(ids[start : start + chunk])
        sql = f"SELECT {_ROW_COLUMNS} FROM orders WHERE order_id IN ({','.join('?' * len(part))})"
        for r in conn.execute(sql, part):
            found[r[0]] = _row(r)
    return [found[i] for i in ids if i in found]


def get_order(conn: Conn, actor: Actor, order_id: str) -> Order | None:
    """The full stored order (items, packages), or ``None`` if not stored.

    Runs on the DB thread.  Raises :class:`~app.errors.PermissionDenied` if the order
    belongs to a store ``actor`` may not see.
    """
    r = conn.execute(
        "SELECT id, order_id, store_id, marketplace_id, marketplace_name, status, "
        "purchase_date, last_updated, fulfillment_channel, service_level, ship_by_earliest, "
        "ship_by_latest, deliver_by_earliest, deliver_by_latest, delivered_at, total_amount, "
        "currency, is_prime, is_business, is_preorder, delivery_state, attention, "
        "details_pending FROM orders WHERE order_id = ?",
        (order_id,),
    ).fetchone()
    if r is None:
        return None
    require(actor, Permission.VIEW_STORE, store_id=int(r[2]))
    items = tuple(
        OrderItem(
            order_item_id=i[0],
            asin=i[1],
            sku=i[2],
            title=i[3],
            quantity=int(i[4]),
            unit_price=_money(i[5], i[6]),
        )
        for i in conn.execute(
            "SELECT order_item_id, asin, sku, title, quantity, unit_price, currency "
            "FROM order_items WHERE order_rowid = ? ORDER BY position",
            (r[0],),
        )
    )
    contents: dict[str, list[PackageItem]] = {}
    for c in conn.execute(
        "SELECT package_ref, order_item_id, quantity FROM package_items "
        "WHERE order_rowid = ? ORDER BY package_ref, position",
        (r[0],),
    ):
        contents.setdefault(c[0], []).append(PackageItem(c[1], int(c[2])))
    packages = tuple(
        Package(
            package_ref=p[0],
            carrier=p[1],
            tracking_number=p[2],
            status=p[3],
            shipping_service=p[4],
            ship_time=from_db_time(p[5]),
            items=tuple(contents.get(p[0], ())),
        )
        for p in conn.execute(
            "SELECT package_ref, carrier, tracking_number, status, shipping_service, ship_time "
            "FROM packages WHERE order_rowid = ? ORDER BY package_ref",
            (r[0],),
        )
    )
    purchase = from_db_time(r[6])
    updated = from_db_time(r[7])
    assert purchase is not None and updated is not None
    return Order(
        order_id=r[1],
        store_id=int(r[2]),
        marketplace_id=r[3],
        marketplace_name=r[4],
        status=OrderStatus(r[5]),
        purchase_date=purchase,
        last_updated=updated,
        fulfillment_channel=r[8],
        service_level=r[9],
        ship_by_earliest=from_db_time(r[10]),
        ship_by_latest=from_db_time(r[11]),
        deliver_by_earliest=from_db_time(r[12]),
        deliver_by_latest=from_db_time(r[13]),
        delivered_at=from_db_time(r[14]),
        total=_money(r[15], r[16]),
        is_prime=bool(r[17]),
        is_business=bool(r[18]),
        is_preorder=bool(r[19]),
        items=items,
        packages=packages,
        delivery_state=DeliveryState(r[20]),
        attention=r[21],
        details_pending=bool(r[22]),
    )


def count_orders(conn: Conn, actor: Actor, *, now: datetime | None = None) -> list[StoreCounts]:
    """Order counts per visible store (all, needs shipping, late).  DB thread."""
    visible = _visible_stores(conn, actor)
    cutoff = to_db_time(now or datetime.now(UTC))
    rows = conn.execute(
        "SELECT store_id, count(*), sum(needs_shipping), "
        "sum(needs_shipping AND ship_by_latest IS NOT NULL AND ship_by_latest < ?) "
        "FROM orders GROUP BY store_id",
        (cutoff,),
    ).fetchall()
    return [
        StoreCounts(int(r[0]), int(r[1]), int(r[2] or 0), int(r[3] or 0))
        for r in rows
        if visible is None or int(r[0]) in visible
    ]


def marketplaces(conn: Conn, actor: Actor) -> list[tuple[str, str]]:
    """(marketplace id, name) pairs present in the visible stores' orders (filter menu)."""
    visible = _visible_stores(conn, actor)
    rows = conn.execute(
        "SELECT marketplace_id, max(marketplace_name), group_concat(DISTINCT store_id) "
        "FROM orders GROUP BY marketplace_id ORDER BY 2"
    ).fetchall()
    out: list[tuple[str, str]] = []
    for r in rows:
        stores = {int(s) for s in str(r[2]).split(",")}
        if visible is None or stores & set(visible):
            out.append((r[0], r[1] or r[0]))
    return out


def seller_central_url(order: Order | OrderRow) -> str:
    """Link to the order's page in Seller Central (opens in the browser)."""
    host = SELLER_CENTRAL_HOSTS.get(order.marketplace_id, "sellercentral.amazon.com")
    return f"https://{host}/orders-v3/order/{order.order_id}"


# --- writes (sync) ----------------------------------------------------------------------


@dataclass
class UpsertStats:
    written: int = 0  # inserted or changed
    new: int = 0
    stale: int = 0  # skipped: the stored copy is newer
    ids: list[str] = field(default_factory=list)


def _items_summary(items: Sequence[OrderItem]) -> str:
    if not items:
        return ""
    first = items[0]
    label = first.title or first.sku or first.asin
    if len(label) > 60:
        label = label[:57] + "…"
    text = f"{first.quantity}× {label}" if first.quantity != 1 else label
    if len(items) > 1:
        text += f" + {len(items) - 1} more"
    return text


def _search_text(order: Order) -> tuple[str, str, str]:
    skus = " ".join(i.sku for i in order.items if i.sku)
    asins = " ".join(i.asin for i in order.items if i.asin)
    titles = " ".join(i.title for i in order.items if i.title)
    return skus, asins, titles


_ORDER_INSERT = (
    "INSERT INTO orders(id, order_id, store_id, marketplace_id, marketplace_name, status, "
    "purchase_date, last_updated, fulfillment_channel, service_level, ship_by_earliest, "
    "ship_by_latest, deliver_by_earliest, deliver_by_latest, delivered_at, total_amount, "
    "currency, total_value, is_prime, is_business, is_preorder, needs_shipping, "
    "delivery_state, items_summary, item_count, synced_at, attention, details_pending) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
_ORDER_UPDATE = (
    "UPDATE orders SET store_id=?, marketplace_id=?, marketplace_name=?, status=?, "
    "purchase_date=?, last_updated=?, fulfillment_channel=?, service_level=?, "
    "ship_by_earliest=?, ship_by_latest=?, deliver_by_earliest=?, deliver_by_latest=?, "
    "delivered_at=COALESCE(delivered_at, ?), total_amount=?, currency=?, total_value=?, "
    "is_prime=?, is_business=?, is_preorder=?, needs_shipping=?, delivery_state=?, "
    "items_summary=?, item_count=?, synced_at=?, attention=?, details_pending=? WHERE id=?"
)
_ITEM_COLUMNS = (
    "order_rowid, position, order_item_id, asin, sku, title, quantity, unit_price, currency"
)
_PACKAGE_COLUMNS = (
    "order_rowid, package_ref, carrier, tracking_number, status, shipping_service, ship_time"
)
_PACKAGE_ITEM_COLUMNS = "order_rowid, package_ref, position, order_item_id, quantity"
_CHUNK = 500  # ids per IN (...) list


def _order_values(order: Order, updated: str | None, synced: str | None) -> tuple[Any, ...]:
    total = order.total
    return (
        order.store_id,
        order.marketplace_id,
        order.marketplace_name,
        str(order.status),
        to_db_time(order.purchase_date),
        updated,
        order.fulfillment_channel,
        order.service_level,
        to_db_time(order.ship_by_earliest),
        to_db_time(order.ship_by_latest),
        to_db_time(order.deliver_by_earliest),
        to_db_time(order.deliver_by_latest),
        to_db_time(order.delivered_at),
        str(total.amount) if total else None,
        total.currency if total else None,
        float(total.amount) if total else None,
        int(order.is_prime),
        int(order.is_business),
        int(order.is_preorder),
        int(order.needs_shipping),
        str(order.delivery_state),
        _items_summary(order.items),
        sum(i.quantity for i in order.items),
        synced,
        order.attention,
        int(order.details_pending),
    )


def _item_rows(rowid: int, order: Order) -> list[tuple[Any, ...]]:
    return [
        (
            rowid,
            pos,
            i.order_item_id,
            i.asin,
            i.sku,
            i.title,
            i.quantity,
            str(i.unit_price.amount) if i.unit_price else None,
            i.unit_price.currency if i.unit_price else None,
        )
        for pos, i in enumerate(order.items)
    ]


def _package_rows(rowid: int, order: Order) -> list[tuple[Any, ...]]:
    # One row per package reference; a repeated reference keeps its last version.
    rows = {
        p.package_ref: (
            rowid,
            p.package_ref,
            p.carrier,
            p.tracking_number,
            p.status,
            p.shipping_service,
            to_db_time(p.ship_time),
        )
        for p in order.packages
    }
    return sorted(rows.values(), key=lambda r: r[1])


def _package_item_rows(rowid: int, order: Order) -> list[tuple[Any, ...]]:
    # Items of the package version :func:`_package_rows` keeps (the last one).
    packages = {p.package_ref: p for p in order.packages}
    return [
        (rowid, ref, pos, item.order_item_id, item.quantity)
        for ref in sorted(packages)
        for pos, item in enumerate(packages[ref].items)
    ]


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _rows_by_order(conn: Conn, sql: str, rowids: Sequence[int]) -> dict[int, list[tuple[Any, ...]]]:
    """``sql`` (with ``{marks}`` for the IN list) grouped by its first column."""
    out: dict[int, list[tuple[Any, ...]]] = {}
    for part in _chunks(rowids):
        for r in conn.execute(sql.format(marks=",".join("?" * len(part))), part):
            out.setdefault(r[0], []).append(tuple(r))
    return out


def _is_stale(order: Order, updated: str, stored: str | None, stored_pending: bool) -> bool:
    """Whether the stored copy (last updated ``stored``) wins over ``order``."""
    if order.details_pending:
        # A report copy: only over an older report copy.
        return not stored_pending or (stored is not None and stored >= updated)
    if stored_pending:
        return False  # the Orders API's copy has what the report lacks
    return stored is not None and stored > updated


def upsert_orders(conn: Conn, orders: Iterable[Order], *, now: datetime) -> UpsertStats:
    """Insert or update ``orders``; the newest ``last_updated`` wins.  Idempotent.

    Runs on the DB thread inside the caller's transaction (``vault.write``).  An order
    whose stored copy is newer than the incoming one is left alone (pages can arrive out
    of order: backfill windows, getOrder ahead of the backfill).  Copies from an order
    report (``details_pending``) rank below the Orders API's: a report copy never
    replaces one the Orders API wrote (its packages and windows would be lost; a newer
    change reaches the sync anyway), and the Orders API's copy always replaces a report
    copy (see :func:`_is_stale`).

    Written in bulk (one statement per table and kind of change); items, packages and
    search text of an updated order are rewritten only where they changed.  The search
    index goes last: FTS5 flushes its pending terms into a new segment at every statement
    savepoint (foreign-key checks open one per row), so interleaving index writes with
    the other tables' would write one tiny index segment per order.
    """
    stats = UpsertStats()
    synced = to_db_time(now)
    # Within one batch, an order listed twice keeps its newest version.
    latest: dict[str, tuple[Order, str]] = {}
    for order in orders:
        updated = to_db_time(order.last_updated) or ""
        seen = latest.get(order.order_id)
        if seen is not None:
            stats.stale += 1
            if seen[1] > updated:
                continue
        latest[order.order_id] = (order, updated)
    if not latest:
        return stats

    existing: dict[str, tuple[int, str | None, bool]] = {}
    for part in _chunks(list(latest)):
        sql = (
            "SELECT order_id, id, last_updated, details_pending FROM orders "
            f"WHERE order_id IN ({','.join('?' * len(part))})"
        )
        for r in conn.execute(sql, part):
            existing[r[0]] = (int(r[1]), r[2], bool(r[3]))
    next_id = int(conn.execute("SELECT coalesce(max(id), 0) FROM orders").fetchone()[0]) + 1

    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    written: list[tuple[int, Order, bool]] = []  # (rowid, order, is new)
    for order_id, (order, updated) in latest.items():
        old = existing.get(order_id)
        if old is not None and _is_stale(order, updated, old[1], old[2]):
            stats.stale += 1
            continue
        values = _order_values(order, updated, synced)
        if old is None:
            rowid, next_id = next_id, next_id + 1
            inserts.append((rowid, order_id, *values))
        else:
            rowid = old[0]
            updates.append((*values, rowid))
        written.append((rowid, order, old is None))
        stats.written += 1
        stats.new += old is None
        stats.ids.append(order_id)

    changed = [rowid for rowid, _, new in written if not new]
    old_items = _rows_by_order(
        conn,
        f"SELECT {_ITEM_COLUMNS} FROM order_items WHERE order_rowid IN ({{marks}}) "
        "ORDER BY order_rowid, position",
        changed,
    )
    old_packages = _rows_by_order(
        conn,
        f"SELECT {_PACKAGE_COLUMNS} FROM packages WHERE order_rowid IN ({{marks}}) "
        "ORDER BY order_rowid, package_ref",
        changed,
    )
    old_package_items = _rows_by_order(
        conn,
        f"SELECT {_PACKAGE_ITEM_COLUMNS} FROM package_items WHERE order_rowid IN ({{marks}}) "
        "ORDER BY order_rowid, package_ref, position",
        changed,
    )
    old_text = _rows_by_order(
        conn,
        "SELECT rowid, order_id, skus, asins, titles FROM orders_fts WHERE rowid IN ({marks})",
        changed,
    )
    item_deletes: list[tuple[int]] = []
    item_inserts: list[tuple[Any, ...]] = []
    package_deletes: list[tuple[int]] = []
    package_inserts: list[tuple[Any, ...]] = []
    package_item_inserts: list[tuple[Any, ...]] = []
    text_deletes: list[tuple[int]] = []
    text_inserts: list[tuple[Any, ...]] = []
    for rowid, order, new in written:
        items = _item_rows(rowid, order)
        if items != old_items.get(rowid, []):
            if not new:
                item_deletes.append((rowid,))
            item_inserts.extend(items)
        packages = _package_rows(rowid, order)
        contents = _package_item_rows(rowid, order)
        if packages != old_packages.get(rowid, []) or contents != old_package_items.get(rowid, []):
            if not new:
                package_deletes.append((rowid,))  # its package_items go with it (cascade)
            package_inserts.extend(packages)
            package_item_inserts.extend(contents)
        text = (rowid, order.order_id, *_search_text(order))
        was = old_text.get(rowid)
        if was is None or was[0] != text:
            if was is not None:
                text_deletes.append((rowid,))
            text_inserts.append(text)

    conn.executemany(_ORDER_INSERT, inserts)
    conn.executemany(_ORDER_UPDATE, updates)
    conn.executemany("DELETE FROM order_items WHERE order_rowid = ?", item_deletes)
    conn.executemany("DELETE FROM packages WHERE order_rowid = ?", package_deletes)
    conn.executemany(
        f"INSERT INTO order_items({_ITEM_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", item_inserts
    )
    conn.executemany(
        f"INSERT INTO packages({_PACKAGE_COLUMNS}) VALUES (?,?,?,?,?,?,?)", package_inserts
    )
    conn.executemany(
        f"INSERT INTO package_items({_PACKAGE_ITEM_COLUMNS}) VALUES (?,?,?,?,?)",
        package_item_inserts,
    )
    conn.executemany("DELETE FROM orders_fts WHERE rowid = ?", text_deletes)
    conn.executemany(
        "INSERT INTO orders_fts(rowid, order_id, skus, asins, titles) VALUES (?,?,?,?,?)",
        text_inserts,
    )
    return stats


def delete_store_orders(conn: Conn, store_id: int) -> int:
    """Remove every order of a store (store deleted).  DB thread, caller's transaction."""
    conn.execute(
        "DELETE FROM orders_fts WHERE rowid IN (SELECT id FROM orders WHERE store_id = ?)",
        (store_id,),
    )
    conn.execute(
        "DELETE FROM order_items WHERE order_rowid IN (SELECT id FROM orders WHERE store_id=?)",
        (store_id,),
    )
    conn.execute(
        "DELETE FROM packages WHERE order_rowid IN (SELECT id FROM orders WHERE store_id = ?)",
        (store_id,),
    )
    return int(conn.execute("DELETE FROM orders WHERE store_id = ?", (store_id,)).rowcount)
