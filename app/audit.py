"""The sealed, append-only audit log: who did what, when, to which object id.

Every service writes through :meth:`AuditLog.append`, inside its own write transaction
on the DB thread, so an action and its audit entry commit together or not at all.

Entry MAC = HMAC-SHA-256(audit key, previous MAC + canonical JSON of the entry).  The
audit key is not the database key, so whoever can open the file still cannot rewrite the
chain.  Entries made before the key existed (``seq < audit_head.keyed_from``) keep their
plain SHA-256 chain; the first sealed entry (``audit_keyed``) continues from the last one
and records whether that older chain verified, so a damaged past is never laundered.

Two heads guard the end of the chain.  ``audit_head`` (in the file) is updated in the same
transaction as each append, so deleted last rows show as missing; the anchor
(:mod:`app.audit_anchor`, outside the file) is written after each commit, so an older copy
of the whole file shows as older.  :func:`prepare_on_open` runs at every open: it
recreates missing triggers and records any mismatch with the anchor as an entry, and
later entries continue numbering after the highest head known, so what went missing
stays a visible gap.

Details never hold PII: each action declares the detail keys it may carry, and values
must be short plain tokens (numbers, ids, enum words, timestamps: no spaces, no ``@``).
Anything else is refused with ``ValueError`` (a bug in the caller, never shown to the
seller).

The table refuses UPDATE and DELETE (SQLite triggers).  The one exception is the
retention purge (:meth:`AuditLog.purge_expired`): it opens a gate row for the cutoff,
deletes entries older than it (never younger than 12 months by the wall clock, enforced
by the trigger too) and records the last removed entry as the chain's anchor, and its
sealed ``audit_purged`` entry names that same entry, so a purge cannot be faked.
"""

from __future__ import annotations

import csv
import enum
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TextIO

from app import settings
from app.audit_anchor import AnchorInvalid, AnchorStore, Head, anchor_for, record_later
from app.clock import Clock, SystemClock
from app.errors import UserError
from app.notices import AuditAppended, Notices
from app.vault.keys import KeyMode
from app.vault.migrations import v0002_auth_audit, v0004_audit_keyed

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from app.secrets import SecretStore
    from app.vault import Vault

log = logging.getLogger("muttefik.audit")

Conn = Any  # sqlcipher3.Connection

GENESIS_HASH = "0" * 64
HEAD_RECORD = "audit_head"  # the CSV export's last row: the log's head
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
    ACCOUNT_LOCKED = define_action(
        "account_locked", "failures", "until", "level", label="Account locked"
    )
    # Failures at a username with no usable account (or a locked one), one entry per name
    # and window; "name" is a keyed hash, never the name (app/auth/throttle.py).
    SIGN_IN_FAILURES = define_action(
        "sign_in_failures", "name", "count", "since", "last", label="Failed sign-ins"
    )
    SIGN_IN_NAME_LOCKED = define_action(
        "sign_in_name_locked", "name", "failures", "until", "level", label="Username locked"
    )
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
    UNATTENDED_ENABLED = define_action("unattended_enabled", label="Unattended sync enabled")
    UNATTENDED_DISABLED = define_action("unattended_disabled", label="Unattended sync disabled")
    UNATTENDED_REFUSED = define_action(
        "unattended_refused", "reason", label="Unattended sync refused"
    )
    AUDIT_EXPORTED = define_action(
        "audit_exported", "format", "since", "count", label="Audit log exported"
    )
    AUDIT_PURGED = define_action(
        "audit_purged",
        "count",
        "before",
        "last_seq",
        "last_hash",
        label="Old audit entries removed",
    )
    AUDIT_KEYED = define_action(
        "audit_keyed",
        "legacy_seq",
        "legacy_status",
        "broken_seq",
        label="Audit log sealed with its own key",
    )
    AUDIT_PROTECTION_RESTORED = define_action(
        "audit_protection_restored", "triggers", label="Audit log protection restored"
    )
    AUDIT_ANOMALY = define_action(
        "audit_anomaly", "kind", "file_seq", "anchor_seq", label="Audit log found damaged"
    )
    # For later areas (sync and stores).
    SYNC_STARTED = define_action("sync_started", "kind", "since", label="Sync started")
    SYNC_FINISHED = define_action(
        "sync_finished",
        "kind",
        "status",
        "orders",
        "errors",
        "needs_attention",
        label="Sync finished",
    )
    STORE_CREATED = define_action("store_created", "region", label="Store added")
    STORE_CHANGED = define_action("store_changed", "fields", label="Store changed")
    STORE_CREDENTIALS_CHANGED = define_action(
        "store_credentials_changed", "fields", label="Store credentials changed"
    )
    STORE_DELETED = define_action("store_deleted", "reason", label="Store removed")
    # Buyer messages (app/mail): counts, kinds and ids only; never text, alias or names.
    MAILBOX_CONNECTED = define_action("mailbox_connected", "kind", label="Mailbox connected")
    MAILBOX_CHANGED = define_action("mailbox_changed", "fields", label="Mailbox changed")
    MAILBOX_REMOVED = define_action("mailbox_removed", label="Mailbox removed")
    MAIL_FETCHED = define_action(
        "mail_fetched", "seen", "imported", "skipped", "flagged", label="Mail fetched"
    )
    MAIL_FETCH_FAILED = define_action("mail_fetch_failed", "error", label="Mail fetch failed")
    REPLY_SENT = define_action("reply_sent", "chars", "warnings", label="Reply sent")
    REPLY_NOT_SENT = define_action("reply_not_sent", "error", "state", label="Reply not sent")
    THREAD_NO_RESPONSE = define_action("thread_no_response", label='Marked "no response needed"')
    ATTACHMENT_SAVED = define_action("attachment_saved", "part", label="Attachment saved")
    # Drafting (app/drafting): kinds, counts and ids only; never text or a prompt.
    DRAFT_CREATED = define_action(
        "draft_created", "provider_kind", "intent", "language", "chars", label="Draft written"
    )
    DRAFT_BLOCKED = define_action(
        "draft_blocked", "kind", "provider_kind", label="Draft request stopped (buyer data)"
    )
    PROVIDER_SAVED = define_action("provider_saved", "kind", label="Drafting provider saved")
    PROVIDER_REMOVED = define_action("provider_removed", label="Drafting provider removed")
    TEMPLATE_SAVED = define_action("template_saved", "intent", label="Reply template saved")
    TEMPLATE_REMOVED = define_action("template_removed", label="Reply template removed")
    KNOWLEDGE_SAVED = define_action("knowledge_saved", label="Tone and policies saved")
    # Shipping labels (issue 13): ids, carrier, service, cost and format; never an address.
    LABEL_BOUGHT = define_action(
        "label_bought", "carrier", "service", "cost", "format", label="Shipping label bought"
    )
    LABEL_NOT_BOUGHT = define_action(
        "label_not_bought", "error", "state", label="Shipping label not bought"
    )
    LABEL_PRINTED = define_action("label_printed", "printer", "format", label="Label printed")
    LABEL_REPRINTED = define_action(
        "label_reprinted", "printer", "format", "source", label="Label reprinted"
    )
    LABEL_VOIDED = define_action("label_voided", label="Shipping label voided")
    # The buyer's name asked of Amazon for a packing slip (the name is not recorded).
    RECIPIENT_NAME_READ = define_action(
        "recipient_name_read", "purpose", label="Buyer's name fetched from Amazon"
    )
    LABEL_FORGOTTEN = define_action(
        "label_forgotten", label="Unconfirmed label purchase marked as not bought"
    )
    SHIPPING_SETTINGS_CHANGED = define_action(
        "shipping_settings_changed", "what", label="Shipping settings changed"
    )


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


class Outcome(enum.StrEnum):
    """What ``audit verify`` can find, each with its own message for the seller."""

    FORGED = "forged"  # an entry's seal does not match: edited or made without the key
    GAP = "gap"  # entries missing from the middle
    TRUNCATED = "truncated"  # the last entries deleted (the file's own head is further)
    ROLLED_BACK = "rolled_back"  # the whole file older than the anchor outside it
    ANCHOR_MISMATCH = "anchor_mismatch"  # same entry number, different seal: file replaced
    ANCHOR_MISSING = "anchor_missing"
    ANCHOR_INVALID = "anchor_invalid"  # the anchor was edited or belongs elsewhere
    PURGE_UNRECORDED = "purge_unrecorded"  # a prefix removed without a sealed purge entry
    TRIGGERS_MISSING = "triggers_missing"
    RECORDED = "recorded"  # an earlier open found and recorded one of the above
    EXPORT_MISMATCH = "export_mismatch"  # verify --against: differs from a kept export
    NO_KEY = "no_key"


@dataclass(frozen=True)
class Problem:
    outcome: Outcome
    message: str
    seq: int | None = None


@dataclass(frozen=True)
class VerifyResult:
    """``checked`` entries walked; ``problems`` in chain order, the worst first."""

    checked: int
    problems: tuple[Problem, ...] = ()
    head_seq: int = 0  # the last entry in the file
    anchored: bool = False  # the head was compared with the record outside the file
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_broken_seq(self) -> int | None:
        return next((p.seq for p in self.problems if p.seq is not None), None)

    @property
    def outcomes(self) -> list[Outcome]:
        return [p.outcome for p in self.problems]

    def summary(self) -> str:
        if self.ok:
            text = f"Audit log intact: {self.checked} entries verified"
            if self.anchored:
                text += f", up to entry {self.head_seq} as recorded outside the data file"
            return "\n".join([text + ".", *self.notes])
        lines = ["The audit log is NOT intact:"]
        lines += [f"- {p.message}" for p in self.problems[:20]]
        if len(self.problems) > 20:
            lines.append(f"- … and {len(self.problems) - 20} more problems.")
        return "\n".join([*lines, *self.notes])


class AuditKeyMissing(UserError):
    """No audit key: entries would go unsealed, so nothing is written (fail closed)."""

    message = (
        "The audit log's key is not available, so no change can be recorded. "
        "Restart Müttefik Desk; if this keeps happening, check the keychain."
    )


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
    """The plain SHA-256 link of entries made before the audit key existed."""
    return hashlib.sha256((prev_hash + canonical_entry).encode("utf-8")).hexdigest()


def chain_mac(key: bytes, prev_hash: str, canonical_entry: str) -> str:
    """The sealed link: HMAC-SHA-256 under the audit key."""
    data = (prev_hash + canonical_entry).encode("utf-8")
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def _triggers_in(sql: str) -> dict[str, str]:
    """Each ``CREATE TRIGGER`` statement of a migration by name, as SQLite stores it."""
    found = re.finditer(r"^(CREATE TRIGGER (\w+)\b.*?^END)", sql, re.MULTILINE | re.DOTALL)
    return {m.group(2): m.group(1) for m in found}


# The append-only triggers, recreated at every open if missing: the migrations' own
# text, so what is recreated is exactly what a fresh profile got.
TRIGGERS: dict[str, str] = _triggers_in(v0002_auth_audit.SQL) | _triggers_in(v0004_audit_keyed.SQL)


def missing_triggers(conn: Conn) -> list[str]:
    """Names of the append-only triggers absent from the file, or present under their
    name with other text (a look-alike that lets changes through).  Works read-only."""
    present = {
        row[0]: row[1]
        for row in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
    }
    return sorted(name for name, sql in TRIGGERS.items() if present.get(name) != sql)


def _protection_missing(missing: list[str]) -> str:
    """What verify and ``muttefik check`` say about missing triggers (no full stop)."""
    return (
        f"The audit log's protection against changes is missing ({', '.join(missing)}): "
        "someone changed the data file with its key. It is put back when Müttefik Desk "
        "next opens this profile"
    )


def restore_triggers(conn: Conn) -> list[str]:
    """Recreate missing triggers (inside the caller's write transaction); their names."""
    missing = missing_triggers(conn)
    for name in missing:
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        conn.execute(TRIGGERS[name])
    return missing


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


def _entries(first: int, last: int) -> str:
    """The subject of a sentence about entries first..last: "Audit entries 3–5 are"."""
    return f"Audit entry {first} is" if first == last else f"Audit entries {first}–{last} are"


def _gap(first: int, last: int) -> Problem:
    return Problem(Outcome.GAP, f"{_entries(first, last)} missing from the data file.", first)


def _forged(seq: int, why: str) -> Problem:
    return Problem(
        Outcome.FORGED,
        f"Audit entry {seq} was changed or forged: {why}. Someone edited the data file.",
        seq,
    )


def _runs(seqs: list[int]) -> list[tuple[int, int]]:
    """Sorted sequence numbers as (first, last) runs of consecutive numbers."""
    runs: list[tuple[int, int]] = []
    for seq in seqs:
        if runs and runs[-1][1] == seq - 1:
            runs[-1] = (runs[-1][0], seq)
        else:
            runs.append((seq, seq))
    return runs


def _json_or_none(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


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


_ANOMALY_TEXT = {
    "truncated": "the last entries ({a}–{b}) had been deleted from the data file",
    "rolled_back": (
        "the data file was older than the record kept outside it (it ended at entry {a}, "
        "entry {b} had been recorded): an older copy of the files was put back, or the "
        "newest changes were lost in a crash"
    ),
    "replaced": (
        "entry {b} did not match the record kept outside the data file: the file was "
        "replaced or rewritten"
    ),
    "anchor_missing": "the record kept outside the data file was missing",
    "anchor_invalid": "the record kept outside the data file had been altered",
}


@dataclass
class _Walk:
    """The state of one walk along the chain (see :meth:`AuditLog._walk`)."""

    checked: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    problems: list[Problem] = field(default_factory=list)
    purge_record: dict[str, Any] | None = None  # details of the latest audit_purged


class AuditLog:
    """The audit log's storage.  Every method takes ``conn``: it runs on the DB thread,
    inside the caller's transaction for writes.

    ``key``: the audit key; without it nothing is appended (:class:`AuditKeyMissing`)
    and nothing verified.  ``anchor`` and ``after_commit`` (``Vault.after_commit``):
    where the head is recorded outside the file after each committed append.
    ``notices``: where :class:`~app.notices.AuditAppended` is published after each commit.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        key: bytes | None = None,
        anchor: AnchorStore | None = None,
        after_commit: Callable[[Callable[[], None]], None] | None = None,
        notices: Notices | None = None,
    ) -> None:
        self.clock = clock
        self.key = key
        self.anchor = anchor
        self._after_commit = after_commit
        self.notices = notices
        self._latest: Head | None = None  # the newest appended head (DB thread)
        self._last_seq = 0  # the newest appended seq, announced once per commit (DB thread)

    # --- writing ------------------------------------------------------------------------

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
        key = self._require_key()
        self._seal_legacy(conn, key)
        return self._insert(conn, key, actor_id, action, object_type, oid, checked)

    def _require_key(self) -> bytes:
        if self.key is None:
            raise AuditKeyMissing(detail="AuditLog has no audit key")
        return self.key

    def _insert(
        self,
        conn: Conn,
        key: bytes,
        actor_id: int | None,
        action: str,
        object_type: str | None,
        oid: str | None,
        details: dict[str, Any],
        *,
        after: Head | None = None,
    ) -> int:
        # Continue after the highest head known (the last row, the file's head row, the
        # purge anchor, or ``after``): entries that went missing stay a visible gap.
        known = [
            conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone(),
            conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone(),
            conn.execute("SELECT seq, hash FROM audit_anchor WHERE id = 1").fetchone(),
            None if after is None else (after.seq, after.mac),
        ]
        last = max((k for k in known if k is not None), key=lambda k: int(k[0]), default=None)
        seq, prev = (int(last[0]) + 1, str(last[1])) if last else (1, GENESIS_HASH)
        at = format_time(self.clock.now())
        text = canonical(
            seq=seq,
            at=at,
            actor_id=actor_id,
            action=action,
            object_type=object_type,
            object_id=oid,
            details=details,
        )
        mac = chain_mac(key, prev, text)
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
                json.dumps(details, sort_keys=True, separators=(",", ":")),
                prev,
                mac,
            ),
        )
        # keyed_from is set once, by the first sealed entry; the trigger keeps it fixed.
        conn.execute(
            "INSERT INTO audit_head(id, seq, hash, keyed_from) VALUES (1, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, "
            "keyed_from = coalesce(audit_head.keyed_from, excluded.keyed_from)",
            (seq, mac, seq),
        )
        self._anchor_after_commit(Head(seq, mac))
        self._announce_after_commit(seq)
        return seq

    def _announce_after_commit(self, seq: int) -> None:
        notices = self.notices
        if notices is None or self._after_commit is None:
            return
        self._last_seq = seq

        def announce() -> None:
            if self._last_seq == seq:  # once per transaction, with its last entry
                notices.publish(AuditAppended(last_seq=seq))

        self._after_commit(announce)

    def _anchor_after_commit(self, head: Head) -> None:
        if self.anchor is None or self._after_commit is None:
            return
        self._latest = head
        anchor = self.anchor

        def save() -> None:
            if self._latest is not head:
                return  # a later entry of the same transaction saves the newer head
            record_later(anchor, head)  # off the DB thread: D-Bus is slow

        self._after_commit(save)

    def _seal_legacy(self, conn: Conn, key: bytes) -> None:
        """Start the sealed chain after a profile's plain SHA-256 entries, unless it
        started already (or the profile never had any: no head row).

        The older chain is verified first and the result is sealed into the first keyed
        entry: a chain that was already broken stays reported as broken, forever.
        """
        head = conn.execute("SELECT keyed_from FROM audit_head WHERE id = 1").fetchone()
        if head is None or head[0] is not None:
            return
        walk = self._walk(conn, key=None)
        first = walk.problems[0] if walk.problems else None
        details: dict[str, Any] = {
            "legacy_seq": walk.last_seq,
            "legacy_status": "intact" if first is None else "broken",
        }
        if first is not None and first.seq is not None:
            details["broken_seq"] = first.seq
        self._insert(conn, key, None, Action.AUDIT_KEYED, "audit", None, details)

    def record_open(self, conn: Conn, *, restored: list[str]) -> list[str]:
        """At open, inside a write transaction: record restored triggers and any mismatch
        with the anchor, as sealed entries.  Returns the anomaly kinds recorded."""
        key = self._require_key()
        finding, after = self._compare_at_open(conn)  # before this open adds entries
        if restored:
            self.append(
                conn,
                actor_id=None,
                action=Action.AUDIT_PROTECTION_RESTORED,
                object_type="audit",
                details={"triggers": restored},
            )
        if finding is None:
            self._seal_legacy(conn, key)
            return []
        kind, file_at, anchor_at = finding
        details = {"kind": kind, "file_seq": file_at, "anchor_seq": anchor_at}
        checked = validate_details(Action.AUDIT_ANOMALY, details)
        self._insert(conn, key, None, Action.AUDIT_ANOMALY, "audit", None, checked, after=after)
        return [kind]

    def _compare_at_open(self, conn: Conn) -> tuple[tuple[str, int, int] | None, Head | None]:
        """The file's end against its head row and the anchor: (kind, file seq, anchor
        seq) of a mismatch, and the head to continue after (a rollback's anchor)."""
        if self.anchor is None:
            return None, None
        try:
            anchor: Head | None = self.anchor.load()
            invalid = False
        except AnchorInvalid:
            anchor, invalid = None, True
        except Exception as exc:  # keychain locked or gone: verify reports it later
            log.warning("could not read the audit head outside the file: %s", exc)
            return None, None
        row = conn.execute("SELECT seq, hash, keyed_from FROM audit_head WHERE id = 1").fetchone()
        last = conn.execute("SELECT seq FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        file_seq = int(last[0]) if last else 0
        head_seq = int(row[0]) if row else 0
        if invalid:
            return ("anchor_invalid", head_seq, 0), None
        if head_seq > file_seq:
            return ("truncated", file_seq + 1, head_seq), None
        if anchor is None:
            if row is not None and row[2] is not None:
                return ("anchor_missing", head_seq, 0), None
            return None, None
        if anchor.seq > head_seq:
            return ("rolled_back", head_seq, anchor.seq), anchor
        found = conn.execute("SELECT hash FROM audit_log WHERE seq = ?", (anchor.seq,)).fetchone()
        if found is not None and found[0] != anchor.mac:
            return ("replaced", head_seq, anchor.seq), None
        if row is not None and anchor.seq < head_seq:
            self._anchor_after_commit(Head(head_seq, str(row[1])))  # catch up
        return None, None

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

    # --- verifying ----------------------------------------------------------------------

    def _walk(self, conn: Conn, *, key: bytes | None, page: int = 2000) -> _Walk:
        """Walk the chain from the purge anchor (or genesis), past any break, collecting
        problems.  ``key=None``: the plain SHA-256 part only (before ``keyed_from``)."""
        anchor = conn.execute("SELECT seq, hash FROM audit_anchor WHERE id = 1").fetchone()
        head = conn.execute("SELECT keyed_from FROM audit_head WHERE id = 1").fetchone()
        # No head row at all: a profile made with the key, where every entry is sealed.
        # A row with keyed_from NULL: plain SHA-256 entries only, not sealed yet.
        keyed_from = 1 if head is None else head[0]
        w = _Walk()
        expected, w.last_hash = (anchor[0] + 1, anchor[1]) if anchor else (1, GENESIS_HASH)
        w.last_seq = expected - 1
        after = expected - 1
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
                sealed = keyed_from is not None and seq >= keyed_from
                if sealed and key is None:
                    return w
                if seq != expected:
                    w.problems.append(_gap(expected, seq - 1))
                elif row[7] != w.last_hash:
                    w.problems.append(_forged(seq, "it does not follow the entry before it"))
                details = _json_or_none(row[6])
                text = canonical(
                    seq=seq,
                    at=row[1],
                    actor_id=row[2],
                    action=row[3],
                    object_type=row[4],
                    object_id=row[5],
                    details=details if details is not None else {},
                )
                assert key is not None or not sealed
                want = chain_mac(key, row[7], text) if key and sealed else chain_hash(row[7], text)
                if details is None or not hmac.compare_digest(want, row[8]):
                    w.problems.append(_forged(seq, "its content does not match its seal"))
                elif seq == keyed_from and seq > 1 and row[3] != Action.AUDIT_KEYED:
                    w.problems.append(_forged(seq, "the sealed part of the log starts here"))
                else:
                    self._note(w, seq, row[1], row[3], details)
                w.last_hash, w.last_seq = row[8], seq
                expected = seq + 1
                w.checked += 1
                after = seq
        # Entries before the anchor must be gone; one left behind means tampering.
        start = anchor[0] + 1 if anchor else 1
        stray = conn.execute("SELECT min(seq) FROM audit_log WHERE seq < ?", (start,)).fetchone()
        if stray[0] is not None:
            w.problems.append(_forged(stray[0], "it comes before the log's purge point"))
        return w

    @staticmethod
    def _note(w: _Walk, seq: int, at: str, action: str, details: dict[str, Any]) -> None:
        """Findings recorded in sealed entries, reported by every later verify."""
        day = at[:10]
        if action == Action.AUDIT_PURGED:
            w.purge_record = details
        elif action == Action.AUDIT_KEYED and details.get("legacy_status") != "intact":
            w.problems.append(
                Problem(
                    Outcome.RECORDED,
                    f"Entry {seq} ({day}) records that the audit log was already damaged "
                    f"at entry {details.get('broken_seq')} when it was sealed with its key.",
                    details.get("broken_seq") or seq,
                )
            )
        elif action == Action.AUDIT_PROTECTION_RESTORED:
            names = ", ".join(str(n) for n in details.get("triggers", []))
            w.problems.append(
                Problem(
                    Outcome.RECORDED,
                    f"Entry {seq} ({day}) records that the audit log's protection against "
                    f"changes had been removed ({names}) and was restored.",
                    seq,
                )
            )
        elif action == Action.AUDIT_ANOMALY:
            kind = str(details.get("kind"))
            text = _ANOMALY_TEXT.get(kind, kind).format(
                a=details.get("file_seq"), b=details.get("anchor_seq")
            )
            w.problems.append(
                Problem(Outcome.RECORDED, f"Entry {seq} ({day}) records that {text}.", seq)
            )

    def verify(self, conn: Conn, *, page: int = 2000) -> VerifyResult:
        """Walk the chain, then compare its end with the file's head row and the anchor
        outside the file.  Reads the anchor (keychain: blocks): DB thread."""
        if self.key is None:
            return VerifyResult(
                0,
                (
                    Problem(
                        Outcome.NO_KEY,
                        "The audit log's key is not available, so the log cannot be checked.",
                    ),
                ),
            )
        w = self._walk(conn, key=self.key, page=page)
        problems = list(w.problems)
        notes: list[str] = []
        problems += self._check_purge(conn, w)
        row = conn.execute("SELECT seq, hash, keyed_from FROM audit_head WHERE id = 1").fetchone()
        if row is not None and row[0] > w.last_seq:
            problems.append(
                Problem(
                    Outcome.TRUNCATED,
                    f"The last audit entries ({w.last_seq + 1}–{row[0]}) were deleted from "
                    "the data file.",
                    w.last_seq + 1,
                )
            )
        anchored = False
        if self.anchor is not None:
            found, anchored = self._check_anchor(
                conn, w, truncated=bool(row and row[0] > w.last_seq)
            )
            problems += [p for p in found if isinstance(p, Problem)]
            notes += [p for p in found if isinstance(p, str)]
        missing = missing_triggers(conn)
        if missing:
            problems.append(Problem(Outcome.TRIGGERS_MISSING, _protection_missing(missing) + "."))
        return VerifyResult(w.checked, tuple(problems), w.last_seq, anchored, tuple(notes))

    def _check_purge(self, conn: Conn, w: _Walk) -> list[Problem]:
        anchor = conn.execute("SELECT seq, hash FROM audit_anchor WHERE id = 1").fetchone()
        if anchor is None:
            return []
        record = w.purge_record or {}
        if record.get("last_seq") == anchor[0] and record.get("last_hash", anchor[1]) == anchor[1]:
            return []
        return [
            Problem(
                Outcome.PURGE_UNRECORDED,
                f"Audit entries up to {anchor[0]} were removed from the data file without a "
                "recorded retention purge.",
                anchor[0],
            )
        ]

    def _check_anchor(
        self, conn: Conn, w: _Walk, *, truncated: bool
    ) -> tuple[list[Problem | str], bool]:
        assert self.anchor is not None
        where = self.anchor.where
        try:
            head = self.anchor.load()
        except AnchorInvalid:
            return [
                Problem(
                    Outcome.ANCHOR_INVALID,
                    f"The record of the audit log kept in {where} was altered or belongs to "
                    "another profile, so it cannot vouch for the data file.",
                )
            ], False
        if head is None:
            row = conn.execute("SELECT keyed_from FROM audit_head WHERE id = 1").fetchone()
            if row is None or row[0] is None:
                return [], False  # nothing sealed yet, so nothing was ever recorded
            return [
                Problem(
                    Outcome.ANCHOR_MISSING,
                    f"The record of the audit log kept in {where} is missing, so deleted "
                    "last entries or an older copy of the data file cannot be detected. "
                    "It is written again with the next entry.",
                )
            ], False
        if head.seq > w.last_seq:
            if truncated:
                return [], True  # already reported as deleted last entries
            return [
                Problem(
                    Outcome.ROLLED_BACK,
                    f"The data file is older than the record kept in {where}: its audit log "
                    f"ends at entry {w.last_seq}, but entry {head.seq} was recorded. An older "
                    f"copy of the files was put back (entries {w.last_seq + 1}–{head.seq} "
                    "are missing).",
                    w.last_seq + 1,
                )
            ], True
        found = conn.execute("SELECT hash FROM audit_log WHERE seq = ?", (head.seq,)).fetchone()
        if found is not None and found[0] != head.mac:
            return [
                Problem(
                    Outcome.ANCHOR_MISMATCH,
                    f"Audit entry {head.seq} does not match the record kept in {where}: the "
                    "data file was replaced or rewritten.",
                    head.seq,
                )
            ], True
        if head.seq < w.last_seq:
            return [
                f"(The record kept in {where} is {w.last_seq - head.seq} entries behind; "
                "it catches up with the next entry.)"
            ], True
        return [], True

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

    def seqs(
        self, conn: Conn, filt: AuditFilter, *, below: int | None = None, limit: int | None = None
    ) -> list[int]:
        """The sequence numbers of matching entries, newest first: all of them, or the
        ``limit`` next ones below ``below`` (keyset paging; entries appended meanwhile
        do not shift what comes next, as an OFFSET would)."""
        where, params = self._where(filt)
        if below is not None:
            where = where + (" AND " if where else " WHERE ") + "a.seq < ?"
            params.append(below)
        sql = f"SELECT a.seq FROM audit_log a{where} ORDER BY a.seq DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [int(r[0]) for r in conn.execute(sql, params)]

    def entries(self, conn: Conn, seqs: Iterable[int]) -> list[AuditEntry]:
        """The entries with these sequence numbers (those that exist), newest first."""
        wanted = list(seqs)
        found: list[AuditEntry] = []
        for start in range(0, len(wanted), 500):  # SQLite's bound-variable limit
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM audit_log a LEFT JOIN operators o ON o.id = a.actor_id"
                f" WHERE a.seq IN ({marks})",
                chunk,
            ).fetchall()
            found.extend(_row_to_entry(r) for r in rows)
        found.sort(key=lambda e: e.seq, reverse=True)
        return found

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
        """Write matching entries (oldest first) to ``out``, then the log's head at this
        moment, for ``audit verify --against``; returns how many entries.

        JSONL: a last line ``{"record": "head", "seq": …, "hash": …}``.  CSV: a last row
        with action ``audit_head`` and only ``seq`` and ``hash`` filled in.
        """
        head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
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
        if head is not None:
            if writer is not None:
                row = {"seq": head[0], "action": HEAD_RECORD, "hash": head[1]}
                writer.writerow([row.get(f, "") for f in fields])
            else:
                record = {"record": "head", "seq": head[0], "hash": head[1]}
                out.write(json.dumps(record, sort_keys=True) + "\n")
        return count

    def verify_against(self, conn: Conn, lines: Iterable[str]) -> VerifyResult:
        """Prove nothing up to an export's head changed: the whole chain verifies, the
        entry at the export's head still carries the same MAC, and every exported entry
        is still there unchanged (unless a retention purge removed it)."""
        exported, head = read_export(lines)
        result = self.verify(conn)
        problems = list(result.problems)
        notes = list(result.notes)
        purge = conn.execute("SELECT seq FROM audit_anchor WHERE id = 1").fetchone()
        purged_to = int(purge[0]) if purge else 0
        if head is None:
            problems.append(
                Problem(
                    Outcome.EXPORT_MISMATCH,
                    "The export has no head record (it was made by an older version), so "
                    "only the entries it lists are compared.",
                )
            )
        else:
            exported.setdefault(head.seq, head.mac)
        gone: list[int] = []
        for seq, mac in sorted(exported.items()):
            row = conn.execute("SELECT hash FROM audit_log WHERE seq = ?", (seq,)).fetchone()
            if row is None:
                if seq > purged_to:
                    gone.append(seq)
            elif row[0] != mac:
                problems.append(
                    Problem(
                        Outcome.EXPORT_MISMATCH,
                        f"Audit entry {seq} differs from the export: it was changed since.",
                        seq,
                    )
                )
        for first, last in _runs(gone):
            problems.append(
                Problem(
                    Outcome.EXPORT_MISMATCH,
                    f"{_entries(first, last)} in the export but no longer in the data file.",
                    first,
                )
            )
        if head is not None and head.seq <= purged_to:
            notes.append(
                f"(Entries up to {purged_to} were removed by the retention purge since the "
                "export; the rest was compared.)"
            )
        if head is not None and not any(_before(p, head.seq) for p in problems):
            # Findings after the export's head (a rollback, a truncation) do not touch
            # what the export proves; the seller is told both.
            notes.insert(0, f"Nothing up to entry {head.seq} (the export's head) changed.")
        return VerifyResult(
            result.checked, tuple(problems), result.head_seq, result.anchored, tuple(notes)
        )

    # --- retention ----------------------------------------------------------------------

    def purge_expired(self, conn: Conn, *, actor_id: int | None = None) -> int:
        """Remove entries older than the retention setting (never under 12 months).
        Runs inside a write transaction; records the purge itself.  Returns how many."""
        if not conn.in_transaction:
            raise RuntimeError("AuditLog.purge_expired must run inside a write transaction")
        months = max(settings.get(conn, settings.AUDIT_RETENTION_MONTHS), MIN_RETENTION_MONTHS)
        cutoff = format_time(months_before(self.clock.now(), months))
        self._require_key()
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
            # Sealed: verify accepts the in-file anchor only if it matches this entry.
            details={"count": removed, "before": cutoff, "last_seq": last[0], "last_hash": last[1]},
        )
        return removed


def _before(problem: Problem, seq: int) -> bool:
    """Whether ``problem`` casts doubt on entries up to ``seq``."""
    if problem.outcome in (Outcome.EXPORT_MISMATCH, Outcome.NO_KEY, Outcome.PURGE_UNRECORDED):
        return True
    if problem.outcome in (Outcome.FORGED, Outcome.GAP):
        return problem.seq is None or problem.seq <= seq
    return False


def read_export(lines: Iterable[str]) -> tuple[dict[int, str], Head | None]:
    """Entries (seq → hash) and the head of an export, CSV or JSONL.  Raises
    :class:`ExportUnreadable` for anything else."""
    it = iter(lines)
    first = next(it, "")
    entries: dict[int, str] = {}
    head: Head | None = None
    try:
        if first.lstrip().startswith("{"):
            for line in (first, *it):
                if not line.strip():
                    continue
                data = json.loads(line)
                if data.get("record") == "head":
                    head = Head(int(data["seq"]), str(data["hash"]))
                else:
                    entries[int(data["seq"])] = str(data["hash"])
        else:
            for data in csv.DictReader([first, *it]):
                if data["action"] == HEAD_RECORD:
                    head = Head(int(data["seq"]), str(data["hash"]))
                else:
                    entries[int(data["seq"])] = str(data["hash"])
    except (ValueError, KeyError, TypeError, AttributeError, csv.Error) as exc:
        raise ExportUnreadable() from exc
    if head is None and not entries:
        raise ExportUnreadable()
    return entries, head


class ExportUnreadable(UserError):
    message = (
        "That file is not an audit export from Müttefik Desk (CSV or JSON Lines). "
        "Choose the file that 'audit export' wrote."
    )


def make_audit_log(
    vault: Vault,
    secrets: SecretStore,
    *,
    clock: Clock,
    key: bytes | None,
    notices: Notices | None = None,
) -> AuditLog:
    """The profile's audit log with its key and its anchor outside the file."""
    anchor = None
    if key is not None:
        keychain = vault.mode is KeyMode.KEYCHAIN
        anchor = anchor_for(vault.profile, secrets, keychain=keychain, key=key)
    return AuditLog(
        clock=clock, key=key, anchor=anchor, after_commit=vault.after_commit, notices=notices
    )


@dataclass(frozen=True)
class OpenReport:
    """What :func:`prepare_on_open` found and recorded: triggers it had to restore, and
    the kinds of mismatch with the anchor (``truncated``, ``rolled_back`` …)."""

    restored: tuple[str, ...] = ()
    findings: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.restored or self.findings)


def prepare_on_open(
    vault: Vault,
    secrets: SecretStore,
    *,
    key: bytes | None = None,
    clock: Clock | None = None,
) -> OpenReport:
    """Run at every open, after migrations: recreate missing append-only triggers and
    record (as sealed entries) that they were missing, and any mismatch between the file
    and the anchor outside it (deleted last entries, an older copy, a replaced file).
    The report is true when this open found something (the GUI then tells the seller).

    ``key`` defaults to ``vault.audit_key``.  Thread: worker (blocks on the DB thread,
    which also reads the keychain).
    """
    key = key if key is not None else vault.audit_key
    audit = make_audit_log(vault, secrets, clock=clock or SystemClock(), key=key)

    def do(conn: Conn) -> OpenReport:
        restored = restore_triggers(conn)
        if restored:
            log.warning("audit log triggers were missing and were restored: %s", restored)
        if audit.key is None:
            log.warning("no audit key: the open could not be checked against the anchor")
            return OpenReport(tuple(restored))
        kinds = audit.record_open(conn, restored=restored)
        if kinds:
            log.warning("audit log mismatch found at open: %s", kinds)
        return OpenReport(tuple(restored), tuple(kinds))

    return vault.call_write(do)


def protection_report(db_path: Path, key: bytes) -> str | None:
    """For ``muttefik check``: a message if the append-only triggers are missing, read
    on a read-only connection (``None`` when present or the schema is unreadable, which
    the page checks report)."""
    from app.vault.connection import open_connection

    try:
        conn = open_connection(db_path, key, readonly=True)
    except Exception:
        return None
    try:
        missing = missing_triggers(conn)
    finally:
        conn.close()
    if not missing:
        return None
    return _protection_missing(missing) + "; run 'muttefik audit verify'."
