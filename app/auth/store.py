"""Operator rows: reading and the small writes shared by the auth and operator services.

Every function takes ``conn`` and runs on the DB thread (writes inside the caller's
transaction).  :func:`load_actor` is what :func:`app.access.current` re-reads a caller
with; services call that, not this.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.auth.models import Actor, Operator
from app.auth.rbac import Role

Conn = Any

_COLUMNS = (
    "o.id, o.username, o.display_name, o.email, o.role, o.password_hash, "
    "o.password_changed_at, o.must_change_password, o.totp_secret, o.totp_last_step, "
    "o.disabled, o.failed_attempts, o.locked_until, o.created_at, o.last_sign_in_at, o.demo, "
    "o.mfa_enrolled_at, o.lockouts, "
    "EXISTS (SELECT 1 FROM setup_codes s WHERE s.operator_id = o.id)"
)


def ts(at: datetime) -> str:
    return at.isoformat()


def parse_ts(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True)
class OperatorRow:
    """Everything stored about an operator, secrets included (never leaves app/auth)."""

    id: int
    username: str
    display_name: str
    email: str
    role: Role
    password_hash: str | None
    password_changed_at: datetime | None
    must_change_password: bool
    totp_secret: str | None
    totp_last_step: int | None
    disabled: bool
    failed_attempts: int
    locked_until: datetime | None
    created_at: datetime
    last_sign_in_at: datetime | None
    demo: bool
    mfa_enrolled_at: datetime | None  # first enrollment; an MFA reset keeps it
    lockouts: int  # in a row since the last sign-in or unlock: each one lasts longer
    setup_pending: bool
    store_ids: frozenset[int]

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    @property
    def active_admin(self) -> bool:
        """Counts for the last-admin rule: an enabled admin who can sign in."""
        return (
            self.role is Role.ADMIN
            and not self.disabled
            and (self.demo or self.password_hash is not None)
        )

    def to_operator(self) -> Operator:
        return Operator(
            id=self.id,
            username=self.username,
            display_name=self.display_name,
            email=self.email,
            role=self.role,
            store_ids=self.store_ids,
            disabled=self.disabled,
            must_change_password=self.must_change_password,
            mfa_enrolled=self.totp_secret is not None,
            setup_pending=self.setup_pending,
            locked_until=self.locked_until,
            failed_attempts=self.failed_attempts,
            created_at=self.created_at,
            password_changed_at=self.password_changed_at,
            last_sign_in_at=self.last_sign_in_at,
        )

    def to_actor(self) -> Actor:
        return self.to_operator().as_actor()


def _stores(conn: Conn, operator_id: int) -> frozenset[int]:
    rows = conn.execute(
        "SELECT store_id FROM operator_stores WHERE operator_id = ?", (operator_id,)
    ).fetchall()
    return frozenset(int(r[0]) for r in rows)


def _from_row(conn: Conn, r: tuple[Any, ...]) -> OperatorRow:
    return OperatorRow(
        id=r[0],
        username=r[1],
        display_name=r[2],
        email=r[3],
        role=Role(r[4]),
        password_hash=r[5],
        password_changed_at=parse_ts(r[6]),
        must_change_password=bool(r[7]),
        totp_secret=r[8],
        totp_last_step=r[9],
        disabled=bool(r[10]),
        failed_attempts=r[11],
        locked_until=parse_ts(r[12]),
        created_at=parse_ts(r[13]),  # type: ignore[arg-type]
        last_sign_in_at=parse_ts(r[14]),
        demo=bool(r[15]),
        mfa_enrolled_at=parse_ts(r[16]),
        lockouts=r[17],
        setup_pending=bool(r[18]),
        store_ids=_stores(conn, r[0]),
    )


def by_id(conn: Conn, operator_id: int) -> OperatorRow | None:
    r = conn.execute(
        f"SELECT {_COLUMNS} FROM operators o WHERE o.id = ?", (operator_id,)
    ).fetchone()
    return None if r is None else _from_row(conn, r)


def by_username(conn: Conn, username: str) -> OperatorRow | None:
    r = conn.execute(
        f"SELECT {_COLUMNS} FROM operators o WHERE o.username = ?", (normalise_username(username),)
    ).fetchone()
    return None if r is None else _from_row(conn, r)


def all_rows(conn: Conn) -> list[OperatorRow]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM operators o ORDER BY o.username").fetchall()
    return [_from_row(conn, r) for r in rows]


def load_actor(conn: Conn, operator_id: int) -> Actor | None:
    """The operator's current role, stores and state (None if gone)."""
    row = by_id(conn, operator_id)
    return None if row is None else row.to_actor()


def normalise_username(username: str) -> str:
    return username.strip().lower()


def count_active_admins(conn: Conn, *, excluding: int | None = None) -> int:
    return int(
        conn.execute(
            "SELECT count(*) FROM operators WHERE role = 'admin' AND disabled = 0 "
            "AND (demo = 1 OR password_hash IS NOT NULL) AND id IS NOT ?",
            (excluding,),
        ).fetchone()[0]
    )


def set_stores(conn: Conn, operator_id: int, store_ids: frozenset[int]) -> None:
    conn.execute("DELETE FROM operator_stores WHERE operator_id = ?", (operator_id,))
    conn.executemany(
        "INSERT INTO operator_stores(operator_id, store_id) VALUES (?, ?)",
        [(operator_id, s) for s in sorted(store_ids)],
    )


def record_password(
    conn: Conn, operator_id: int, password_hash: str, now: datetime, *, keep: int
) -> None:
    """Store a new password hash and remember it in the history (last ``keep``)."""
    conn.execute(
        "UPDATE operators SET password_hash = ?, password_changed_at = ? WHERE id = ?",
        (password_hash, ts(now), operator_id),
    )
    conn.execute(
        "INSERT INTO password_history(operator_id, password_hash, created_at) VALUES (?, ?, ?)",
        (operator_id, password_hash, ts(now)),
    )
    conn.execute(
        "DELETE FROM password_history WHERE operator_id = ? AND id NOT IN "
        "(SELECT id FROM password_history WHERE operator_id = ? ORDER BY id DESC LIMIT ?)",
        (operator_id, operator_id, keep),
    )


def password_history(conn: Conn, operator_id: int, limit: int) -> list[str]:
    rows = conn.execute(
        "SELECT password_hash FROM password_history WHERE operator_id = ? ORDER BY id DESC LIMIT ?",
        (operator_id, limit),
    ).fetchall()
    return [r[0] for r in rows]


def replace_recovery_codes(conn: Conn, operator_id: int, hashes: list[str]) -> None:
    conn.execute("DELETE FROM recovery_codes WHERE operator_id = ?", (operator_id,))
    conn.executemany(
        "INSERT INTO recovery_codes(operator_id, code_hash) VALUES (?, ?)",
        [(operator_id, h) for h in hashes],
    )


def unused_recovery_codes(conn: Conn, operator_id: int) -> list[tuple[int, str]]:
    return [
        (int(r[0]), str(r[1]))
        for r in conn.execute(
            "SELECT id, code_hash FROM recovery_codes WHERE operator_id = ? AND used_at IS NULL",
            (operator_id,),
        ).fetchall()
    ]
