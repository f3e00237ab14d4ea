"""The retention policy: each thread's deadline (delivered, delivery window, cancelled,
no order, not yet), the SQL that finds expired threads, and PII by age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.amazon import orders_repo
from app.amazon.models import OrderStatus
from app.privacy import retention
from app.privacy.retention import ThreadDates, deadline_for_thread
from app.vault import Vault
from tests.helpers.orders import make

NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)
DAY = timedelta(days=1)
LAST_MESSAGE = NOW - 60 * DAY


def test_delivered_counts_from_delivery() -> None:
    dates = ThreadDates(
        LAST_MESSAGE, has_order=True, delivered_at=NOW - 40 * DAY, deliver_by_latest=NOW
    )
    assert deadline_for_thread(dates, 30) == NOW - 10 * DAY


def test_without_delivery_the_window_end_counts() -> None:
    dates = ThreadDates(LAST_MESSAGE, has_order=True, deliver_by_latest=NOW - 5 * DAY)
    assert deadline_for_thread(dates, 30) == NOW + 25 * DAY


def test_cancelled_counts_from_the_cancellation() -> None:
    dates = ThreadDates(
        LAST_MESSAGE,
        has_order=True,
        order_status="CANCELLED",
        deliver_by_latest=NOW + 5 * DAY,
        order_last_updated=NOW - 31 * DAY,
    )
    assert deadline_for_thread(dates, 30) == NOW - DAY


def test_no_order_counts_from_the_last_message() -> None:
    assert deadline_for_thread(ThreadDates(LAST_MESSAGE), 7) == LAST_MESSAGE + 7 * DAY


def test_order_without_any_date_counts_from_the_last_message() -> None:
    dates = ThreadDates(LAST_MESSAGE, has_order=True, order_status="PENDING")
    assert deadline_for_thread(dates, 30) == LAST_MESSAGE + 30 * DAY


@pytest.fixture
def seeded(vault: Vault) -> dict[str, int]:
    """One thread per case; returns thread ids by case."""
    orders = {
        "delivered_old": make(1, status=OrderStatus.SHIPPED, delivered_at=NOW - 31 * DAY),
        "delivered_recent": make(2, status=OrderStatus.SHIPPED, delivered_at=NOW - 29 * DAY),
        "window_old": make(3, deliver_by_latest=NOW - 40 * DAY),
        "window_future": make(4, deliver_by_latest=NOW + 3 * DAY),
        "cancelled_old": make(
            5,
            status=OrderStatus.CANCELLED,
            last_updated=NOW - 35 * DAY,
            deliver_by_latest=NOW + 10 * DAY,
        ),
        "cancelled_recent": make(6, status=OrderStatus.CANCELLED, last_updated=NOW - 2 * DAY),
    }
    ids: dict[str, int] = {}

    def write(conn: Any) -> None:
        conn.execute("INSERT INTO stores(id, name, created_at) VALUES (1, 'Main', 'x')")
        orders_repo.upsert_orders(conn, orders.values(), now=NOW)
        cases: list[tuple[str, str | None, datetime]] = [
            *((name, o.order_id, NOW - 100 * DAY) for name, o in orders.items()),
            ("no_order_old", None, NOW - 31 * DAY),
            ("no_order_recent", None, NOW - 3 * DAY),
            ("order_not_synced", "999-0000000-0000000", NOW - 45 * DAY),
        ]
        for name, order_id, last in cases:
            stamp = orders_repo.to_db_time(last)
            ids[name] = conn.execute(
                "INSERT INTO threads(store_id, alias, order_id, last_message_at, created_at, "
                "updated_at) VALUES (1, ?, ?, ?, ?, ?)",
                (f"{name}@marketplace.amazon.com", order_id, stamp, stamp, stamp),
            ).lastrowid

    vault.call_write(write)
    return ids


EXPIRED = {"delivered_old", "window_old", "cancelled_old", "no_order_old", "order_not_synced"}


def test_expired_threads_by_the_policy(vault: Vault, seeded: dict[str, int]) -> None:
    found = vault.call(lambda c: retention.expired_thread_ids(c, NOW, 30, 100))
    assert sorted(found) == sorted(seeded[n] for n in EXPIRED)


def test_purged_threads_and_the_page_cursor(vault: Vault, seeded: dict[str, int]) -> None:
    vault.call_write(
        lambda c: c.execute(
            "UPDATE threads SET pii_purged_at = 'x' WHERE id = ?", (seeded["window_old"],)
        )
    )
    first = vault.call(lambda c: retention.expired_thread_ids(c, NOW, 30, 2))
    rest = vault.call(lambda c: retention.expired_thread_ids(c, NOW, 30, 10, after_id=first[-1]))
    assert len(first) == 2
    assert sorted(first + rest) == sorted(seeded[n] for n in EXPIRED - {"window_old"})


def test_a_shorter_setting_expires_more(vault: Vault, seeded: dict[str, int]) -> None:
    found = vault.call(lambda c: retention.expired_thread_ids(c, NOW, 2, 100))
    assert seeded["delivered_recent"] in found
    assert seeded["no_order_recent"] in found
    assert seeded["window_future"] not in found


def test_sql_and_python_agree(vault: Vault, seeded: dict[str, int]) -> None:
    for name, thread_id in seeded.items():
        dates = vault.call(lambda c, t=thread_id: retention.thread_dates(c, t))
        assert dates is not None
        expired = deadline_for_thread(dates, 30) <= NOW
        assert expired == (name in EXPIRED), name


def test_pii_age(vault: Vault, seeded: dict[str, int]) -> None:
    age = vault.call(lambda c: retention.pii_age(c, NOW, 30))
    assert age.overdue == len(EXPIRED)
    # delivered 29 days ago (due tomorrow), cancelled 2 days ago (due in 28 days),
    # no order 3 days ago (27 days), window ends in 3 days (33 days)
    assert age.due_in_7_days == 1
    assert age.due_later == 3
    assert age.oldest_deadline == NOW - 15 * DAY  # order not synced: last message 45 days
