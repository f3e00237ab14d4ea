"""The ``rate_buckets`` table: each store's rate bucket as the last process left it.

DB thread only (``conn`` from ``vault.run``/``vault.write``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from app.amazon.ratelimit import USAGE_PLANS, BucketState

Conn = Any


def load_bucket(conn: Conn, store_id: int, operation: str) -> BucketState | None:
    row = conn.execute(
        "SELECT tokens, rate, advertised, saved_at FROM rate_buckets "
        "WHERE store_id = ? AND operation = ?",
        (store_id, operation),
    ).fetchone()
    if row is None:
        return None
    saved_at = datetime.fromisoformat(row[3])  # to the microsecond: 1 s is tokens in tests
    return BucketState(float(row[0]), float(row[1]), float(row[2]), saved_at)


def save_bucket(conn: Conn, store_id: int, operation: str, state: BucketState) -> None:
    conn.execute(
        "INSERT INTO rate_buckets(store_id, operation, tokens, rate, advertised, saved_at) "
        "VALUES (?,?,?,?,?,?) ON CONFLICT(store_id, operation) DO UPDATE SET "
        "tokens=excluded.tokens, rate=excluded.rate, advertised=excluded.advertised, "
        "saved_at=excluded.saved_at",
        (
            store_id,
            operation,
            state.tokens,
            state.rate,
            state.advertised,
            state.saved_at.astimezone(UTC).isoformat(),
        ),
    )


def spend_one(conn: Conn, store_id: int, operation: str, now: datetime) -> None:
    """A request outside the sync (Test connection) took one of Amazon's tokens: the
    next sync must not count on it."""
    rate, burst = USAGE_PLANS[operation]
    left = load_bucket(conn, store_id, operation)
    if left is None:
        left = BucketState(float(burst), rate, rate, now)
    tokens = max(0.0, left.tokens_at(now, burst) - 1.0)
    save_bucket(conn, store_id, operation, replace(left, tokens=tokens, saved_at=now))
