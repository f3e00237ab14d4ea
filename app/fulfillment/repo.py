"""SQL of the label service (v0012).  DB thread only; callers check permissions.

No buyer PII passes through here, except the reprint cache's ciphertext (opt-in)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from app.amazon.models import Money
from app.amazon.orders_repo import from_db_time, to_db_time
from app.amazon.spapi.shipping import Address, DimensionUnit, LabelFormat, WeightUnit
from app.fulfillment.models import PackagePreset, Shipment, ShipmentState, ShippingDefaults

Conn = Any

_SHIPMENT_COLUMNS = (
    "s.id, s.store_id, s.order_id, s.state, s.created_at, s.operator_id, o.username, "
    "s.shipment_id, s.package_reference, s.carrier_id, s.carrier, s.service, s.tracking_id, "
    "s.cost_amount, s.cost_currency, s.label_format, s.dpi, s.preset, s.printed, s.voided_at, "
    "s.tracking_status, s.delivered_at, s.tracking_checked_at"
)
_SHIPMENT_FROM = "shipments s LEFT JOIN operators o ON o.id = s.operator_id"


class AlreadyBuying(Exception):
    """Another purchase for this order is in flight (the unique index said so)."""


def _decimal(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _shipment(r: Any) -> Shipment:
    amount = _decimal(r[13])
    return Shipment(
        id=r[0],
        store_id=r[1],
        order_id=r[2],
        state=ShipmentState(r[3]),
        created_at=from_db_time(r[4]),  # type: ignore[arg-type]
        operator_id=r[5],
        operator_name=r[6],
        shipment_id=r[7],
        package_reference=r[8],
        carrier_id=r[9],
        carrier=r[10],
        service=r[11],
        tracking_id=r[12],
        cost=Money(amount, r[14] or "") if amount is not None else None,
        label_format=LabelFormat(r[15]),
        dpi=r[16],
        preset=r[17],
        printed=r[18],
        voided_at=from_db_time(r[19]),
        tracking_status=r[20],
        delivered_at=from_db_time(r[21]),
        tracking_checked_at=from_db_time(r[22]),
    )


# --- shipments ------------------------------------------------------------------------


def shipment(conn: Conn, row_id: int) -> Shipment | None:
    r = conn.execute(f"SELECT {_SHIPMENT_COLUMNS} FROM {_SHIPMENT_FROM} WHERE s.id = ?", (row_id,))
    found = r.fetchone()
    return None if found is None else _shipment(found)


def shipment_by_amazon_id(conn: Conn, shipment_id: str) -> Shipment | None:
    r = conn.execute(
        f"SELECT {_SHIPMENT_COLUMNS} FROM {_SHIPMENT_FROM} WHERE s.shipment_id = ? "
        "ORDER BY s.id DESC LIMIT 1",
        (shipment_id,),
    ).fetchone()
    return None if r is None else _shipment(r)


def shipments_for_orders(conn: Conn, order_ids: list[str]) -> list[Shipment]:
    """Every shipment of these orders, newest first."""
    if not order_ids:
        return []
    marks = ",".join("?" * len(order_ids))
    rows = conn.execute(
        f"SELECT {_SHIPMENT_COLUMNS} FROM {_SHIPMENT_FROM} WHERE s.order_id IN ({marks}) "
        "ORDER BY s.id DESC",
        order_ids,
    ).fetchall()
    return [_shipment(r) for r in rows]


def recent_shipments(conn: Conn, store_ids: frozenset[int], limit: int) -> list[Shipment]:
    if not store_ids:
        return []
    marks = ",".join("?" * len(store_ids))
    rows = conn.execute(
        f"SELECT {_SHIPMENT_COLUMNS} FROM {_SHIPMENT_FROM} WHERE s.store_id IN ({marks}) "
        "ORDER BY s.id DESC LIMIT ?",
        [*sorted(store_ids), limit],
    ).fetchall()
    return [_shipment(r) for r in rows]


def active_shipment(conn: Conn, order_id: str) -> Shipment | None:
    """The newest shipment of the order that is not voided."""
    r = conn.execute(
        f"SELECT {_SHIPMENT_COLUMNS} FROM {_SHIPMENT_FROM} "
        "WHERE s.order_id = ? AND s.state != 'voided' ORDER BY s.id DESC LIMIT 1",
        (order_id,),
    ).fetchone()
    return None if r is None else _shipment(r)


def begin_purchase(
    conn: Conn,
    *,
    store_id: int,
    order_id: str,
    operator_id: int | None,
    label_format: LabelFormat,
    dpi: int | None,
    preset: str | None,
    carrier_id: str,
    carrier: str,
    service: str,
    cost: Money,
    now: datetime,
) -> int:
    """The row written before Amazon is asked to buy (state ``buying``)."""
    import sqlite3

    try:
        cur = conn.execute(
            "INSERT INTO shipments(store_id, order_id, state, label_format, dpi, preset, "
            "operator_id, created_at, carrier_id, carrier, service, cost_amount, cost_currency) "
            "VALUES (?,?,'buying',?,?,?,?,?,?,?,?,?,?)",
            (
                store_id,
                order_id,
                str(label_format),
                dpi,
                preset,
                operator_id,
                to_db_time(now),
                carrier_id,
                carrier,
                service,
                str(cost.amount),
                cost.currency,
            ),
        )
    except sqlite3.IntegrityError as exc:
        raise AlreadyBuying(order_id) from exc
    return int(cur.lastrowid)


def finish_purchase(
    conn: Conn,
    row_id: int,
    *,
    shipment_id: str,
    package_reference: str,
    tracking_id: str | None,
    now: datetime,
) -> None:
    conn.execute(
        "UPDATE shipments SET state = 'bought', shipment_id = ?, package_reference = ?, "
        "tracking_id = ?, bought_at = ? WHERE id = ?",
        (shipment_id, package_reference, tracking_id, to_db_time(now), row_id),
    )


def purchase_uncertain(conn: Conn, row_id: int) -> None:
    conn.execute("UPDATE shipments SET state = 'uncertain' WHERE id = ?", (row_id,))


def drop_purchase(conn: Conn, row_id: int) -> None:
    """Amazon said no: nothing was bought, no record is kept."""
    conn.execute(
        "DELETE FROM shipments WHERE id = ? AND state IN ('buying', 'uncertain')", (row_id,)
    )


def mark_voided(conn: Conn, row_id: int, now: datetime) -> None:
    conn.execute(
        "UPDATE shipments SET state = 'voided', voided_at = ? WHERE id = ?",
        (to_db_time(now), row_id),
    )
    conn.execute("DELETE FROM label_cache WHERE shipment = ?", (row_id,))


def count_print(conn: Conn, row_id: int) -> None:
    conn.execute("UPDATE shipments SET printed = printed + 1 WHERE id = ?", (row_id,))


def set_tracking(
    conn: Conn, row_id: int, *, status: str, delivered_at: datetime | None, now: datetime
) -> None:
    conn.execute(
        "UPDATE shipments SET tracking_status = ?, delivered_at = COALESCE(?, delivered_at), "
        "tracking_checked_at = ? WHERE id = ?",
        (status, to_db_time(delivered_at), to_db_time(now), row_id),
    )


# --- package presets ------------------------------------------------------------------

_PRESET_COLUMNS = (
    "id, store_id, name, sku, length, width, height, dimension_unit, weight, weight_unit"
)


def _preset(r: Any) -> PackagePreset:
    return PackagePreset(
        id=r[0],
        store_id=r[1],
        name=r[2],
        sku=r[3],
        length=Decimal(r[4]),
        width=Decimal(r[5]),
        height=Decimal(r[6]),
        dimension_unit=DimensionUnit(r[7]),
        weight=Decimal(r[8]),
        weight_unit=WeightUnit(r[9]),
    )


def presets(conn: Conn, store_id: int) -> list[PackagePreset]:
    rows = conn.execute(
        f"SELECT {_PRESET_COLUMNS} FROM package_presets WHERE store_id = ? "
        "ORDER BY sku IS NOT NULL, name COLLATE NOCASE",
        (store_id,),
    ).fetchall()
    return [_preset(r) for r in rows]


def preset_for(conn: Conn, store_id: int, skus: list[str]) -> PackagePreset | None:
    """The preset of the order's only SKU, else the store's default package."""
    if len(set(skus)) == 1:
        r = conn.execute(
            f"SELECT {_PRESET_COLUMNS} FROM package_presets WHERE store_id = ? AND sku = ?",
            (store_id, skus[0]),
        ).fetchone()
        if r is not None:
            return _preset(r)
    r = conn.execute(
        f"SELECT {_PRESET_COLUMNS} FROM package_presets WHERE store_id = ? AND sku IS NULL",
        (store_id,),
    ).fetchone()
    return None if r is None else _preset(r)


def preset_by_name(conn: Conn, store_id: int, name: str) -> PackagePreset | None:
    r = conn.execute(
        f"SELECT {_PRESET_COLUMNS} FROM package_presets WHERE store_id = ? "
        "AND name = ? COLLATE NOCASE",
        (store_id, name),
    ).fetchone()
    return None if r is None else _preset(r)


def save_preset(conn: Conn, preset: PackagePreset, now: datetime) -> int:
    """Insert, or replace the preset with the same id / name / SKU slot."""
    values = (
        preset.name,
        preset.sku,
        str(preset.length),
        str(preset.width),
        str(preset.height),
        str(preset.dimension_unit),
        str(preset.weight),
        str(preset.weight_unit),
        to_db_time(now),
    )
    if preset.id is not None:
        conn.execute(
            "UPDATE package_presets SET name=?, sku=?, length=?, width=?, height=?, "
            "dimension_unit=?, weight=?, weight_unit=?, updated_at=? WHERE id = ? AND store_id = ?",
            (*values, preset.id, preset.store_id),
        )
        return preset.id
    if preset.sku is None:
        slot = conn.execute(
            "SELECT id FROM package_presets WHERE store_id = ? AND sku IS NULL",
            (preset.store_id,),
        ).fetchone()
    else:
        slot = conn.execute(
            "SELECT id FROM package_presets WHERE store_id = ? AND sku = ?",
            (preset.store_id, preset.sku),
        ).fetchone()
    if slot is not None:
        conn.execute(
            "UPDATE package_presets SET name=?, sku=?, length=?, width=?, height=?, "
            "dimension_unit=?, weight=?, weight_unit=?, updated_at=? WHERE id = ?",
            (*values, slot[0]),
        )
        return int(slot[0])
    cur = conn.execute(
        "INSERT INTO package_presets(name, sku, length, width, height, dimension_unit, weight, "
        "weight_unit, updated_at, store_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (*values, preset.store_id),
    )
    return int(cur.lastrowid)


def delete_preset(conn: Conn, store_id: int, preset_id: int) -> bool:
    cur = conn.execute(
        "DELETE FROM package_presets WHERE id = ? AND store_id = ?", (preset_id, store_id)
    )
    return bool(cur.rowcount)


# --- shipping defaults ------------------------------------------------------------------


def defaults(conn: Conn, store_id: int) -> ShippingDefaults:
    r = conn.execute(
        "SELECT ship_from, label_format, dpi, packing_slip, slip_shows_name "
        "FROM shipping_defaults WHERE store_id = ?",
        (store_id,),
    ).fetchone()
    if r is None:
        return ShippingDefaults(store_id=store_id)
    ship_from = None
    if r[0]:
        data = json.loads(r[0])
        ship_from = Address(**{k: str(v) for k, v in data.items() if k in Address.__annotations__})
    return ShippingDefaults(
        store_id=store_id,
        ship_from=ship_from,
        label_format=LabelFormat(r[1]),
        dpi=r[2],
        packing_slip=bool(r[3]),
        slip_shows_name=bool(r[4]),
    )


def save_defaults(conn: Conn, value: ShippingDefaults, now: datetime) -> None:
    ship_from = json.dumps(asdict(value.ship_from)) if value.ship_from is not None else None
    conn.execute(
        "INSERT INTO shipping_defaults(store_id, ship_from, label_format, dpi, packing_slip, "
        "slip_shows_name, updated_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT(store_id) DO UPDATE "
        "SET ship_from=excluded.ship_from, label_format=excluded.label_format, "
        "dpi=excluded.dpi, packing_slip=excluded.packing_slip, "
        "slip_shows_name=excluded.slip_shows_name, updated_at=excluded.updated_at",
        (
            value.store_id,
            ship_from,
            str(value.label_format),
            value.dpi,
            int(value.packing_slip),
            int(value.slip_shows_name),
            to_db_time(now),
        ),
    )


# --- label printers ---------------------------------------------------------------------


def printers(conn: Conn) -> list[tuple[str, str, str | None, str]]:
    """(name, kind, address, settings JSON) of the printers set up, by name."""
    rows = conn.execute(
        "SELECT name, kind, address, settings FROM label_printers ORDER BY name COLLATE NOCASE"
    ).fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def save_printer(
    conn: Conn, name: str, kind: str, address: str | None, settings: str, now: datetime
) -> None:
    conn.execute(
        "INSERT INTO label_printers(name, kind, address, settings, updated_at) "
        "VALUES (?,?,?,?,?) ON CONFLICT(name) DO UPDATE SET kind=excluded.kind, "
        "address=excluded.address, settings=excluded.settings, updated_at=excluded.updated_at",
        (name, kind, address, settings, to_db_time(now)),
    )


def remove_printer(conn: Conn, name: str) -> bool:
    conn.execute("DELETE FROM label_printer_last WHERE printer = ?", (name,))
    return bool(conn.execute("DELETE FROM label_printers WHERE name = ?", (name,)).rowcount)


def last_printers(conn: Conn) -> dict[str, str]:
    rows = conn.execute("SELECT label_format, printer FROM label_printer_last").fetchall()
    return {r[0]: r[1] for r in rows}


def set_last_printer(conn: Conn, label_format: str, printer: str) -> None:
    conn.execute(
        "INSERT INTO label_printer_last(label_format, printer) VALUES (?, ?) "
        "ON CONFLICT(label_format) DO UPDATE SET printer = excluded.printer",
        (label_format, printer),
    )


# --- the opt-in reprint cache (ciphertext only) ----------------------------------------


def cache_put(
    conn: Conn,
    row_id: int,
    entries: list[tuple[int, str, str, int | None, bytes, bytes]],
    expires_at: datetime,
    now: datetime,
) -> None:
    conn.execute("DELETE FROM label_cache WHERE shipment = ?", (row_id,))
    conn.execute(  # and any that expired meanwhile
        "DELETE FROM label_cache WHERE expires_at <= ?", (to_db_time(now),)
    )
    conn.executemany(
        "INSERT INTO label_cache(shipment, doc_index, doc_type, doc_format, dpi, nonce, "
        "ciphertext, expires_at) VALUES (?,?,?,?,?,?,?,?)",
        [(row_id, *e, to_db_time(expires_at)) for e in entries],
    )


def cache_get(
    conn: Conn, row_id: int, now: datetime
) -> list[tuple[int, str, str, int | None, bytes, bytes]]:
    rows = conn.execute(
        "SELECT doc_index, doc_type, doc_format, dpi, nonce, ciphertext FROM label_cache "
        "WHERE shipment = ? AND expires_at > ? ORDER BY doc_index",
        (row_id, to_db_time(now)),
    ).fetchall()
    return [(r[0], r[1], r[2], r[3], bytes(r[4]), bytes(r[5])) for r in rows]


def cache_purge(conn: Conn, now: datetime | None) -> int:
    """Delete expired entries (``now``), or all of them (``None``)."""
    if now is None:
        return int(conn.execute("DELETE FROM label_cache").rowcount)
    return int(
        conn.execute("DELETE FROM label_cache WHERE expires_at <= ?", (to_db_time(now),)).rowcount
    )
