"""The retention policy: when a thread's buyer PII expires.

A thread's PII expires ``days`` (``settings.PII_RETENTION_DAYS``, at most 30) after:

- its order's delivery (``orders.delivered_at``, from Amazon or the carrier's tracking);
- without a delivery date, the end of the order's delivery window
  (``deliver_by_latest``);
- for a cancelled order, its cancellation (``last_updated``, Amazon's time of the last
  change, which for a cancelled order is the cancellation);
- for a thread without an order (a pre-sale question, or an order not synced yet), or an
  order with neither a delivery date nor a window: its last message.

The SQL below is the same rule as :func:`deadline_for_thread`: it compares the date the
deadline counts from with ``as_of - days`` so one index walk answers it.  Every function
taking ``conn`` runs on the DB thread; nothing here checks a caller (the service does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.amazon.orders_repo import from_db_time, to_db_time
from app.privacy.models import PiiAge

Conn = Any

CANCELLED = "CANCELLED"

#: The moment a thread's deadline counts from (a DB time text, comparable as text).
_BASE_SQL = """
CASE
    WHEN o.id IS NULL THEN t.last_message_at
    WHEN o.status = 'CANCELLED' THEN o.last_updated
    WHEN o.delivered_at IS NOT NULL THEN o.delivered_at
    WHEN o.deliver_by_latest IS NOT NULL THEN o.deliver_by_latest
    ELSE t.last_message_at
END
"""

_FROM_SQL = """
FROM threads t LEFT JOIN orders o ON o.order_id = t.order_id
WHERE t.pii_purged_at IS NULL
"""


@dataclass(frozen=True)
class ThreadDates:
    """What a thread's deadline depends on (no PII)."""

    last_message_at: datetime
    has_order: bool = False
    order_status: str | None = None
    delivered_at: datetime | None = None
    deliver_by_latest: datetime | None = None
    order_last_updated: datetime | None = None


def counts_from(dates: ThreadDates) -> datetime:
    """The moment the thread's retention period starts (see the module docstring)."""
    if dates.has_order:
        if dates.order_status == CANCELLED and dates.order_last_updated is not None:
            return dates.order_last_updated
        if dates.delivered_at is not None:
            return dates.delivered_at
        if dates.deliver_by_latest is not None:
            return dates.deliver_by_latest
    return dates.last_message_at


def deadline_for_thread(dates: ThreadDates, days: int) -> datetime:
    """When the thread's buyer PII must be erased."""
    return counts_from(dates) + timedelta(days=days)


def thread_dates(conn: Conn, thread_id: int) -> ThreadDates | None:
    """The dates of one thread as stored (DB thread); None if there is no such thread."""
    r = conn.execute(
        "SELECT t.last_message_at, o.id, o.status, o.delivered_at, o.deliver_by_latest, "
        "o.last_updated FROM threads t LEFT JOIN orders o ON o.order_id = t.order_id "
        "WHERE t.id = ?",
        (thread_id,),
    ).fetchone()
    if r is None:
        return None
    last = from_db_time(r[0])
    assert last is not None
    return ThreadDates(
        last_message_at=last,
        has_order=r[1] is not None,
        order_status=r[2],
        delivered_at=from_db_time(r[3]),
        deliver_by_latest=from_db_time(r[4]),
        order_last_updated=from_db_time(r[5]),
    )


def _cutoff(as_of: datetime, days: int) -> str:
    stamp = to_db_time(as_of - timedelta(days=days))
    assert stamp is not None
    return stamp


def expired_thread_ids(
    conn: Conn, as_of: datetime, days: int, limit: int, *, after_id: int = 0
) -> list[int]:
    """Threads not purged yet whose deadline is at or before ``as_of``, by id, after
    ``after_id`` (a dry run, which changes nothing, pages on with it)."""
    rows = conn.execute(
        f"SELECT t.id {_FROM_SQL} AND t.id > ? AND {_BASE_SQL} <= ? ORDER BY t.id LIMIT ?",
        (after_id, _cutoff(as_of, days), limit),
    ).fetchall()
    return [int(r[0]) for r in rows]


def pii_age(conn: Conn, now: datetime, days: int) -> PiiAge:
    """Threads still holding buyer PII by how soon it is due, and the first deadline."""
    overdue_before = _cutoff(now, days)
    week_before = _cutoff(now + timedelta(days=7), days)
    r = conn.execute(
        f"SELECT sum(b <= ?), sum(b > ? AND b <= ?), sum(b > ?), min(b) "
        f"FROM (SELECT {_BASE_SQL} AS b {_FROM_SQL})",
        (overdue_before, overdue_before, week_before, week_before),
    ).fetchone()
    oldest = from_db_time(r[3])
    return PiiAge(
        due_in_7_days=int(r[1] or 0),
        due_later=int(r[2] or 0),
        overdue=int(r[0] or 0),
        oldest_deadline=None if oldest is None else oldest + timedelta(days=days),
    )
