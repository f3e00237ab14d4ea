"""The hash-chained, append-only audit log: who did what, when, to which object id.

Every service writes through :meth:`AuditLog.append`, inside its own write transaction
on the DB thread, so an action and its audit entry commit together or not at all.

Entry hash = SHA-256(previous hash + canonical JSON of the entry).  Details never hold
PII: each action declares the detail keys it may carry, and values must be short plain
tokens (numbers, ids, enum words, timestamps: no spaces, no ``@``).  Anything else is
refused with ``ValueError`` (a bug in the caller, never shown to the seller).

The table refuses UPDATE and DELETE (SQLite triggers).  The one exception is the
retention purge (:meth:`AuditLog.purge_expired`): it opens a gate row for the cutoff,
deletes entries older than it (never younger than 12 months by the wall clock, enforced
by the trigger too) and records the last removed entry as the chain's anchor.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TextIO

from app import settings
from app.auth.rbac import Permission, require
from app.clock import Clock
from app.errors import PermissionDenied

if TYPE_CHECKING:
    from app.auth.models import Actor
    from app.vault import Vault

Conn = Any  # sqlcipher3.Connection

GENESIS_HASH = "0" * 64
MIN_RETENTION_MONTHS = 12
_SAFE_TOKEN = re.compile(r"^[A-Za-z0-9_.:+\-]{0,80}$")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


# --- actions ------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionSpec:
    name: str
    detail_keys: frozenset[str]
    label: str


ACTIONS: dict[str, ActionSpec] = {}


def define_action(name: str, *detail_keys: str, label: str) -> str:
    """Declare an action once with the detail keys it may carry; returns its name."""
    if name in ACTIONS:
        raise RuntimeError(f"audit action {name} defined twice")
    ACTIONS[name] = ActionSpec(name, frozenset(detail_keys), label)
    return name


class Action:
    """Action names (constants).  Later areas add theirs with :func:`define_action`."""

    SIGN_IN_OK = define_action("sign_in_ok", "method", label="Signed in")
    SIGN_IN_FAILED = define_action(
        "sign_in_failed", "stage", "reason", "failures", label="Sign-in failed"
    )
    SIGNED_OUT = define_action("signed_out", "reason", label="Signed out")
    ACCOUNT_LOCKED = define_action("account_locked", "failures", "until", label="Account locked")
    ACCOUNT_UNLOCKED = define_action("account_unlocked", label="Account unlocked")
    PASSWORD_CHANGED = define_action("password_changed", "reason", label="Password changed")
    PASSWORD_RESET = define_action("password_reset", label="Password reset by admin")
    PASSWORD_REHASHED = define_action("password_rehashed", label="Password hash upgraded")
    MFA_ENROLLED = define_action("mfa_enrolled", label="Two-step sign-in set up")
    MFA_RESET = define_action("mfa_reset", label="Two-step sign-in reset")
    RECOVERY_CODE_USED = define_action(
        "recovery_code_used", "remaining", label="Recovery code used"
    )
    RECOVERY_CODES_CREATED = define_action(
        "recovery_codes_created", "count", label="Recovery codes created"
    )
    OPERATOR_CREATED = define_action(
        "operator_created", "role", "store_ids", "first_admin", label="Operator created"
    )
    OPERATOR_CHANGED = define_action("operator_changed", "fields", label="Operator changed")
    OPERATOR_DISABLED = define_action("operator_disabled", label="Operator disabled")
    OPERATOR_ENABLED = define_action("operator_enabled", label="Operator enabled")
    SETUP_CODE_ISSUED = define_action("setup_code_issued", "expires", label="Setup code issued")
    SETUP_CODE_REDEEMED = define_action("setup_code_redeemed", label="Setup code redeemed")
    ROLE_CHANGED = define_action("role_changed", "old", "new", label="Role changed")
    STORES_CHANGED = define_action(
        "stores_changed", "added", "removed", label="Store access changed"
    )
    SETTINGS_CHANGED = define_action(
        "settings_changed", "key", "old", "new", label="Setting changed"
    )
    KEY_ROTATED = define_action("key_rotated", "mode", label="Database key rotated")
    AUDIT_EXPORTED = define_action(
        "audit_exported", "format", "since", "count", label="Audit log exported"
    )
    AUDIT_PURGED = define_action(
        "audit_purged", "count", "before", "last_seq", label="Old audit entries removed"
    )
    # For later areas (sync and stores).
    SYNC_STARTED = define_action("sync_started", "kind", "since", label="Sync started")
    SYNC_FINISHED = define_action(
        "sync_finished", "kind", "status", "orders", "errors", label="Sync finished"
    )
    STORE_CREATED = define_action("store_created", "region", label="Store added")
    STORE_CHANGED = define_action("store_changed", "fields", label="Store changed")
    STORE_CREDENTIALS_CHANGED = define_action(
        "store_credentials_changed", "fields", label="Store credentials changed"
    )
    STORE_DELETED = define_action("store_deleted", label="Store removed")


def _check_token(what: str, value: object) -> None:
    if value is None or isinstance(value, bool | int | float):
        return
    if isinstance(value, str):
        if not _SAFE_TOKEN.match(value):
            raise ValueError(f"audit {what}: value is not a plain token (possible PII)")
        return
    raise ValueError(f"audit {what}: unsupported value type {type(value).__name__}")


def validate_details(action: str, details: dict[str, Any] | None) -> dict[str, Any]:
    """Refuse unknown actions, keys outside the action's allow-list and non-token values."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise ValueError(f"unknown audit action {action!r}")
    details = dict(details or {})
    unknown = set(details) - spec.detail_keys
    if unknown:
        raise ValueError(f"audit {action}: detail keys not allowed: {sorted(unknown)}")
    for key, value in details.items():
        if isinstance(value, list | tuple | frozenset | set):
            items = sorted(value) if isinstance(value, frozenset | set) else list(value)
            if len(items) > 100:
                raise ValueError(f"audit {action}.{key}: too many items")
            for item in items:
                _check_token(f"{action}.{key}", item)
            details[key] = items
        else:
            _check_token(f"{action}.{key}", value)
    return details


# --- entries ------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    actor_id: int | None
    action: str
    object_type: str | None
    object_id: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str
    # Joined from operators for display/export (operator data, not buyer PII).
    actor_username: str | None = None

    @property
    def label(self) -> str:
        spec = ACTIONS.get(self.action)
        return spec.label if spec else self.action


@dataclass(frozen=True)
class AuditFilter:
    actor_id: int | None = None
    action: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None

    def summary(self) -> str:
        if self.ok:
            return f"Audit log intact: {self.checked} entries verified."
        return f"Audit log BROKEN at entry {self.first_broken_seq}: {self.reason}."


def format_time(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return at.astimezone(UTC).strftime(_TIME_FORMAT)


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=UTC)


def canonical(
    *,
    seq: int,
    at: str,
    actor_id: int | None,
    action: str,
    object_type: str | None,
    object_id: str | None,
    details: dict[str, Any],
) -> str:
    entry = {
        "seq": seq,
        "at": at,
        "actor_id": actor_id,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "details": details,
    }
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, canonical_entry: str) -> str:
    return hashlib.sha256((prev_hash + canonical_entry).encode("utf-8")).hexdigest()


def months_before(at: datetime, months: int) -> datetime:
    total = at.year * 12 + (at.month - 1) - months
    year, month = divmod(total, 12)
    month += 1
    day = at.day
    while True:
        try:
            return at.replace(year=year, month=month, day=day)
        except ValueError:
            day -= 1


_COLUMNS = (
    "a.seq, a.at, a.actor_id, a.action, a.object_type, a.object_id, a.details, "
    "a.prev_hash, a.hash, o.username"
)


def _row_to_entry(row: tuple[Any, ...]) -> AuditEntry:
    return AuditEntry(
        seq=row[0],
        at=parse_time(row[1]),
        actor_id=row[2],
        action=row[3],
        object_type=row[4],
        object_id=row[5],
        details=json.loads(row[6]),
        prev_hash=row[7],
        hash=row[8],
        actor_username=row[9],
    )


class AuditLog:
    """The audit log's storage.  Every method takes ``conn``: it runs on the DB thread,
    inside the caller's transaction for writes."""

    def __init__(self, *, clock: Clock) -> None:
        self.clock = clock

    def append(
        self,
        conn: Conn,
        *,
        actor_id: int | None,
        action: str,
        object_type: str | None = None,
        object_id: int | str | None = None,
        details: dict[str, Any] | None = None,
    ) -> int:
        """Add one entry; returns its sequence number.  Must run inside a write
        transaction (``vault.write``), so the sequence and chain stay serial."""
        if not conn.in_transaction:
            raise RuntimeError("AuditLog.append must run inside a write transaction")
        checked = validate_details(action, details)
        _check_token("object_type", object_type)
        oid = None if object_id is None else str(object_id)
        _check_token("object_id", oid)
        last = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        if last is None:
            last = conn.execute("SELECT seq, hash FROM audit_anchor WHERE id = 1").fetchone()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
        at = format_time(self.clock.now())
        text = canonical(
            seq=seq,
            at=at,
            actor_id=actor_id,
            action=action,
            object_type=object_type,
            object_id=oid,
            details=checked,
        )
        conn.execute(
            "INSERT INTO audit_log(seq, at, actor_id, action, object_type, object_id, details,"
            " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                seq,
                at,
                actor_id,
                action,
                object_type,
                oid,
                json.dumps(checked, sort_keys=True, separators=(",", ":")),
                prev,
                chain_hash(prev, text),
            ),
        )
        return int(seq)

    def about_operator(
        self,
        conn: Conn,
        action: str,
        operator_id: int,
        *,
        actor_id: int | None,
        details: dict[str, Any] | None = None,
    ) -> int:
        """:meth:`append` for an entry whose object is an operator (sign-in, enrollment,
        password and MFA changes): the most common kind."""
        return self.append(
            conn,
            actor_id=actor_id,
            action=action,
            object_type="operator",
            object_id=operator_id,
            details=details,
        )

    def verify(self, conn: Conn, *, page: int = 2000) -> VerifyResult:
        """Walk the chain from the anchor (or genesis); report the first broken entry."""
        anchor = conn.execute("SELECT seq, hash FROM audit_anchor WHERE id = 1").fetchone()
        expected_seq, prev = (anchor[0] + 1, anchor[1]) if anchor else (1, GENESIS_HASH)
        checked = 0
        after = expected_seq - 1
        while True:
            rows = conn.execute(
                "SELECT seq, at, actor_id, action, object_type, object_id, details, prev_hash,"
                " hash FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, page),
            ).fetchall()
            if not rows:
                break
            for row in rows:
                seq = row[0]
                if seq != expected_seq:
                    return VerifyResult(
                        False, checked, expected_seq, f"entry {expected_seq} is missing"
                    )
                if row[7] != prev:
                    return VerifyResult(False, checked, seq, "previous hash does not match")
                try:
                    details = json.loads(row[6])
                except ValueError:
                    return VerifyResult(False, checked, seq, "details are not valid JSON")
                text = canonical(
                    seq=seq,
                    at=row[1],
                    actor_id=row[2],
                    action=row[3],
                    object_type=row[4],
                    object_id=row[5],
                    details=details,
                )
                if chain_hash(prev, text) != row[8]:
                    return VerifyResult(
                        False, checked, seq, "entry content does not match its hash"
                    )
                prev = row[8]
                expected_seq += 1
                checked += 1
                after = seq
        # Entries before the anchor must be gone; one left behind means tampering.
        stray = conn.execute(
            "SELECT min(seq) FROM audit_log WHERE seq < ?", (expected_seq - checked,)
        ).fetchone()[0]
        if stray is not None:
            return VerifyResult(False, checked, stray, "entry precedes the chain's anchor")
        return VerifyResult(True, checked)

    # --- queries ----------------------------------------------------------------------

    @staticmethod
    def _where(filt: AuditFilter) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if filt.actor_id is not None:
            clauses.append("a.actor_id = ?")
            params.append(filt.actor_id)
        if filt.action is not None:
            clauses.append("a.action = ?")
            params.append(filt.action)
        if filt.since is not None:
            clauses.append("a.at >= ?")
            params.append(format_time(filt.since))
        if filt.until is not None:
            clauses.append("a.at < ?")
            params.append(format_time(filt.until))
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def query(
        self, conn: Conn, filt: AuditFilter, *, offset: int = 0, limit: int = 200
    ) -> list[AuditEntry]:
        """A page of entries, newest first."""
        where, params = self._where(filt)
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM audit_log a LEFT JOIN operators o ON o.id = a.actor_id"
            f"{where} ORDER BY a.seq DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        ).fetchall()
        return [_row_to_entry(r) for r in rows]

    def count(self, conn: Conn, filt: AuditFilter) -> int:
        where, params = self._where(filt)
        return int(conn.execute(f"SELECT count(*) FROM audit_log a{where}", params).fetchone()[0])

    def iter_entries(
        self, conn: Conn, filt: AuditFilter, *, page: int = 1000
    ) -> Iterator[AuditEntry]:
        """Oldest first, in pages (for export)."""
        where, params = self._where(filt)
        where = where + (" AND " if where else " WHERE ") + "a.seq > ?"
        after = 0
        while True:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM audit_log a LEFT JOIN operators o ON o.id = a.actor_id"
                f"{where} ORDER BY a.seq LIMIT ?",
                (*params, after, page),
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield _row_to_entry(row)
            after = rows[-1][0]

    def export(
        self, conn: Conn, filt: AuditFilter, fmt: Literal["csv", "jsonl"], out: TextIO
    ) -> int:
        """Write matching entries (oldest first) to ``out``; returns how many."""
        count = 0
        fields = [
            "seq", "at", "actor_id", "actor_username", "action", "object_type", "object_id",
            "details", "prev_hash", "hash",
        ]  # fmt: skip
        writer = csv.writer(out) if fmt == "csv" else None
        if writer is not None:
            writer.writerow(fields)
        elif fmt != "jsonl":
            raise ValueError(f"unknown export format {fmt!r}")
        for e in self.iter_entries(conn, filt):
            values = [
                e.seq, format_time(e.at), e.actor_id, e.actor_username, e.action,
                e.object_type, e.object_id, e.details, e.prev_hash, e.hash,
            ]  # fmt: skip
            if writer is not None:
                values[7] = json.dumps(e.details, sort_keys=True, separators=(",", ":"))
                writer.writerow(["" if v is None else v for v in values])
            else:
                out.write(json.dumps(dict(zip(fields, values, strict=True)), sort_keys=True))
                out.write("\n")
            count += 1
        return count

    # --- retention ----------------------------------------------------------------------

    def purge_expired(self, conn: Conn, *, actor_id: int | None = None) -> int:
        """Remove entries older than the retention setting (never under 12 months).
        Runs inside a write transaction; records the purge itself.  Returns how many."""
        if not conn.in_transaction:
            raise RuntimeError("AuditLog.purge_expired must run inside a write transaction")
        months = max(settings.get(conn, settings.AUDIT_RETENTION_MONTHS), MIN_RETENTION_MONTHS)
        cutoff = format_time(months_before(self.clock.now(), months))
        last = conn.execute(
            "SELECT seq, hash FROM audit_log WHERE at < ? ORDER BY seq DESC LIMIT 1", (cutoff,)
        ).fetchone()
        if last is None:
            return 0
        conn.execute("INSERT INTO audit_purge_gate(before) VALUES (?)", (cutoff,))
        try:
            # Delete by seq (a prefix of the chain) so the anchor stays contiguous.
            cur = conn.execute("DELETE FROM audit_log WHERE seq <= ?", (last[0],))
            removed = int(cur.rowcount)
        finally:
            conn.execute("DELETE FROM audit_purge_gate")
        conn.execute(
            "INSERT INTO audit_anchor(id, seq, hash) VALUES (1, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            (last[0], last[1]),
        )
        self.append(
            conn,
            actor_id=actor_id,
            action=Action.AUDIT_PURGED,
            object_type="audit",
            details={"count": removed, "before": cutoff, "last_seq": last[0]},
        )
        return removed


def _require_current(conn: Conn, actor: Actor, permission: Permission) -> None:
    """Check ``permission`` on the actor as stored now (a stale or forged role fails)."""
    from app.auth.store import load_actor

    current = load_actor(conn, actor.id)
    if current is None:
        raise PermissionDenied(detail=f"operator {actor.id} does not exist")
    require(current, permission)


class AuditService:
    """The audit log for operators: view, export (admins), verify (anyone).

    Thread: any worker thread; every method blocks.
    """

    def __init__(self, *, vault: Vault, audit: AuditLog) -> None:
        self.vault = vault
        self.audit = audit

    def search(
        self, actor: Actor, filt: AuditFilter, *, offset: int = 0, limit: int = 200
    ) -> list[AuditEntry]:
        """A page of entries, newest first (admins only)."""

        def do(conn: Conn) -> list[AuditEntry]:
            _require_current(conn, actor, Permission.VIEW_AUDIT)
            return self.audit.query(conn, filt, offset=offset, limit=limit)

        return self.vault.call(do)

    def count(self, actor: Actor, filt: AuditFilter) -> int:

        def do(conn: Conn) -> int:
            _require_current(conn, actor, Permission.VIEW_AUDIT)
            return self.audit.count(conn, filt)

        return self.vault.call(do)

    def export(
        self, actor: Actor, filt: AuditFilter, fmt: Literal["csv", "jsonl"], out: TextIO
    ) -> int:
        """Write the matching entries to ``out`` (admins only); the export is audited.
        ``out`` is written on the DB thread: pass a file, not a widget."""

        def do(conn: Conn) -> int:
            _require_current(conn, actor, Permission.EXPORT_AUDIT)
            count = self.audit.export(conn, filt, fmt, out)
            self.audit.append(
                conn,
                actor_id=actor.id,
                action=Action.AUDIT_EXPORTED,
                object_type="audit",
                details={
                    "format": fmt,
                    "since": format_time(filt.since) if filt.since else None,
                    "count": count,
                },
            )
            return count

        return self.vault.call_write(do)

    def verify(self) -> VerifyResult:
        """Walk the whole chain (reveals nothing, so no permission needed)."""
        return self.vault.call(self.audit.verify)

    def purge_expired(self) -> int:
        """Retention job: remove entries older than the retention setting (>= 12 months)."""
        return self.vault.call_write(self.audit.purge_expired)

    def actions(self) -> list[ActionSpec]:
        """Every known action, for the audit view's filter."""
        return sorted(ACTIONS.values(), key=lambda s: s.label)
