"""Lockout lengths, and the throttle for usernames without a usable account behind them.

Known accounts count failures on their ``operators`` row (app/auth/service.py).  Every
other name typed at sign-in (unknown, disabled, not set up yet) gets the same treatment
from the outside: the same messages, one Argon2 verify, a lockout after the same number
of failures, escalating the same way.  Attempts on an account that is already locked are
noted here too, so hammering it adds nothing to the audit log.

What is stored, and why: a name is kept only as an HMAC-SHA-256 under a random key that
lives in the encrypted file (``sign_in_name_key``).  People type e-mail addresses into
the username field, and audit exports leave the encrypted file: a plain hash of an
address is reversed with a list of addresses, a keyed one is not, yet the same name still
gives the same token, so an administrator sees repeated attempts at one name.

Growth is bounded twice: failures for one name in one window (``NAME_WINDOW``) become ONE
audit entry with a count, written when the window is over (at the next failure anywhere,
or when the row is evicted), and the table keeps at most ``MAX_NAMES`` names, evicting the
least recently tried, unlocked ones first.

Every function runs on the DB thread inside the caller's write transaction.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from app.audit import Action, format_time
from app.auth.store import normalise_username, parse_ts, ts

if TYPE_CHECKING:
    from app.audit import AuditLog

Conn = Any

MAX_FAILURES = 10  # consecutive failures (password or code) before a lockout
LOCKOUTS = (timedelta(minutes=15), timedelta(hours=1), timedelta(hours=24))
NAME_WINDOW = timedelta(hours=1)  # failures per name and window: one audit entry
MAX_NAMES = 1000  # rows kept in ``sign_in_names``
FLUSH_BATCH = 20  # finished windows written to the audit log per failure
TOKEN_CHARS = 16  # of the name's HMAC shown in the audit log (64 bits)


def lockout_for(count: int) -> timedelta:
    """How long the ``count``-th lockout in a row lasts (1-based)."""
    return LOCKOUTS[min(max(count, 1), len(LOCKOUTS)) - 1]


def name_key(conn: Conn, username: str) -> str:
    """The keyed hash that stands for a typed username (hex)."""
    key = bytes(conn.execute("SELECT key FROM sign_in_name_key WHERE id = 1").fetchone()[0])
    return hmac.new(key, normalise_username(username).encode(), hashlib.sha256).hexdigest()


def name_failure(
    conn: Conn, audit: AuditLog, now: datetime, username: str, *, counts: bool
) -> datetime | None:
    """Note a failed attempt at ``username`` (``counts``: towards its lockout; False for
    attempts at an account locked on its own row).  Returns the end of the name's
    lockout if it is locked now, else None."""
    key = name_key(conn, username)
    _flush_finished(conn, audit, now, skip=key)
    r = conn.execute(
        "SELECT failures, lockouts, locked_until, window_start, pending, last_at"
        " FROM sign_in_names WHERE name_key = ?",
        (key,),
    ).fetchone()
    if r is None:
        _make_room(conn, audit, now)
        r = (0, 0, None, ts(now), 0, ts(now))
        conn.execute(
            "INSERT INTO sign_in_names(name_key, window_start, last_at) VALUES (?, ?, ?)",
            (key, r[3], r[5]),
        )
    failures, lockouts, locked_text, window_text, pending, last_text = r
    window_start = parse_ts(window_text)
    assert window_start is not None
    if window_start + NAME_WINDOW <= now:
        if pending:
            _audit_window(conn, audit, key, pending, window_text, last_text)
        window_start, pending = now, 0
    pending += 1
    locked_until = parse_ts(locked_text)
    if locked_until is not None and locked_until <= now:
        locked_until = None
    if locked_until is None and counts:
        failures += 1
        if failures >= MAX_FAILURES:
            lockouts += 1
            locked_until = now + lockout_for(lockouts)
            _audit_name(
                conn,
                audit,
                key,
                Action.SIGN_IN_NAME_LOCKED,
                failures=failures,
                until=format_time(locked_until),
                level=lockouts,
            )
            failures = 0
    conn.execute(
        "UPDATE sign_in_names SET failures = ?, lockouts = ?, locked_until = ?,"
        " window_start = ?, pending = ?, last_at = ? WHERE name_key = ?",
        (
            failures,
            lockouts,
            None if locked_until is None else ts(locked_until),
            ts(window_start),
            pending,
            ts(now),
            key,
        ),
    )
    return locked_until


def _audit_window(conn: Conn, audit: AuditLog, key: str, count: int, since: str, last: str) -> None:
    since_at, last_at = parse_ts(since), parse_ts(last)
    assert since_at is not None and last_at is not None
    _audit_name(
        conn,
        audit,
        key,
        Action.SIGN_IN_FAILURES,
        count=count,
        since=format_time(since_at),
        last=format_time(last_at),
    )


def _audit_name(conn: Conn, audit: AuditLog, key: str, action: str, **details: object) -> None:
    """An entry about a sign-in name, by no one: the name only as a short token."""
    audit.append(conn, actor_id=None, action=action, details={"name": key[:TOKEN_CHARS], **details})


def _flush_finished(conn: Conn, audit: AuditLog, now: datetime, *, skip: str) -> None:
    """Write the counts of windows that are over (a few per call) to the audit log."""
    rows = conn.execute(
        "SELECT name_key, pending, window_start, last_at FROM sign_in_names"
        " WHERE pending > 0 AND window_start <= ? AND name_key != ?"
        " ORDER BY window_start LIMIT ?",
        (ts(now - NAME_WINDOW), skip, FLUSH_BATCH),
    ).fetchall()
    for key, pending, since, last in rows:
        _audit_window(conn, audit, key, pending, since, last)
        conn.execute("UPDATE sign_in_names SET pending = 0 WHERE name_key = ?", (key,))


def _make_room(conn: Conn, audit: AuditLog, now: datetime) -> None:
    """Evict rows until one more fits: unlocked ones first, least recently tried first.
    Their unwritten counts go to the audit log first."""
    excess = int(conn.execute("SELECT count(*) FROM sign_in_names").fetchone()[0]) - MAX_NAMES
    if excess < 0:
        return
    victims = conn.execute(
        "SELECT name_key, pending, window_start, last_at FROM sign_in_names"
        " ORDER BY coalesce(locked_until > ?, 0), last_at LIMIT ?",
        (ts(now), excess + 1),
    ).fetchall()
    for key, pending, since, last in victims:
        if pending:
            _audit_window(conn, audit, key, pending, since, last)
        conn.execute("DELETE FROM sign_in_names WHERE name_key = ?", (key,))
