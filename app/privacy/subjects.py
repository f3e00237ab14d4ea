"""Deletion requests and erasing one data subject (an order, or a buyer's relay alias).

A request is registered with its source and the day it arrived; it is due 30 days later
(Amazon's own requests: ``settings.AMAZON_REQUEST_HOURS``, 72 h by default).  Carrying
it out erases the subject's buyer PII at once through the purge's own
:func:`app.privacy.purge.purge_batch` (or, when the request asks for it, deletes the
messages and their threads, search rows first), deletes the order's cached labels,
records a ``privacy_runs`` row of kind ``erase`` and completes the request.  An alias is
then replaced in the request by ``alias-hash:<HMAC-SHA256>`` under a key derived from
the profile's audit key (:func:`subject_hash_key`: the keychain's in keychain mode, the
passphrase file's in passphrase mode), so the record proves what was erased without
holding it.
The audit entry carries counts and kinds only.

Thread: :meth:`SubjectService.requests` returns a future of the DB thread; every other
method blocks on the DB thread (and the export on the disk), so call it
from a worker (``ui/ops.py``) or the CLI.  Every method needs ``manage_privacy``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets as _secrets
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from app import access, settings
from app.amazon.orders_repo import from_db_time, to_db_time
from app.audit import AuditLog, define_action
from app.auth.models import Actor
from app.auth.rbac import Permission
from app.clock import Clock
from app.errors import UserError
from app.notices import Notices, ThreadsChanged
from app.privacy import export as export_files
from app.privacy import purge
from app.privacy.models import (
    DeletionRequest,
    PurgeCounts,
    RequestSource,
    RequestState,
    RunKind,
    RunState,
    Subject,
    SubjectKind,
)
from app.secrets import SecretStore
from app.vault import Vault

Conn = Any

#: Where the hash key lives when the profile has no audit key (an unreadable keychain
#: entry): a keychain entry of its own.
HASH_KEY_NAME = "privacy:subject-hash-key"
_HASH_KEY_LABEL = b"muttefik-desk privacy subject-hash v1"
HASH_PREFIX = "alias-hash:"
REQUEST_DAYS = 30  # the policy: a deletion request is honoured within 30 days
MAX_SUBJECT = 320  # an e-mail address's longest form; order ids are 19 characters
MAX_NOTE = 500

# Audit actions of this area (counts, kinds and ids only; never an alias or a name).
SUBJECT_ERASED = define_action(
    "subject_erased",
    "kind",
    "source",
    "request",
    *PurgeCounts().as_dict().keys(),
    label="Buyer data erased (deletion request)",
)
SUBJECT_EXPORTED = define_action(
    "subject_exported", "kind", "format", "files", label="Buyer data exported"
)
REQUEST_REGISTERED = define_action(
    "deletion_request_registered", "kind", "source", "due", label="Deletion request registered"
)

_ORDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]{2,39}$")
_ALIAS = re.compile(r"^[^\s@<>\"']{1,200}@[A-Za-z0-9.\-]{1,100}$")


class SubjectInvalid(UserError):
    title = "Not an order id or relay address"
    message = (
        "Give an Amazon order id (such as 111-2345678-9012345) or the buyer's relay "
        "address (the …@marketplace.amazon.com address their messages come from)."
    )


class RequestNotFound(UserError):
    title = "No such deletion request"
    message = "That deletion request does not exist. Refresh the list and choose it again."


def parse_subject(kind: SubjectKind | str, value: str) -> Subject:
    """A checked, normalised subject (aliases in lower case, as the inbox stores them).
    Raises :class:`SubjectInvalid`; its message never repeats the value."""
    kind = SubjectKind(kind)
    text = value.strip()
    if kind is SubjectKind.ORDER:
        if not _ORDER_ID.fullmatch(text):
            raise SubjectInvalid("Give the Amazon order id, such as 111-2345678-9012345.")
        return Subject(kind, text)
    text = text.lower()
    if len(text) > MAX_SUBJECT or not _ALIAS.fullmatch(text) or text.startswith(HASH_PREFIX):
        raise SubjectInvalid(
            "Give the buyer's relay address: the …@marketplace.amazon.com address "
            "their messages come from."
        )
    return Subject(kind, text)


def due_for(source: RequestSource, received_at: datetime, amazon_hours: int) -> datetime:
    """When a request is due: Amazon's within ``amazon_hours``, others within 30 days."""
    if source is RequestSource.AMAZON:
        return received_at + timedelta(hours=amazon_hours)
    return received_at + timedelta(days=REQUEST_DAYS)


def subject_hash_key(audit_key: bytes) -> bytes:
    """The key of :func:`alias_hash`, derived from the profile's audit key (HMAC with a
    label of its own: knowing one key tells nothing of the other).  Both modes have the
    audit key in memory while the vault is open, so a passphrase profile, which has no
    keychain, erases and records the same way."""
    return hmac.new(audit_key, _HASH_KEY_LABEL, hashlib.sha256).digest()


def alias_hash(key: bytes, alias: str) -> str:
    """What a completed request keeps instead of a (normalised) relay ``alias``:
    ``alias-hash:`` + HMAC-SHA256 under :func:`subject_hash_key`.
    The same alias always gives the same hash, so "was this buyer's data erased?" can
    be answered without keeping the address."""
    return HASH_PREFIX + hmac.new(key, alias.encode(), hashlib.sha256).hexdigest()


def subject_thread_ids(conn: Conn, subject: Subject, store_id: int | None = None) -> list[int]:
    """The threads that hold the subject's PII: the order's, or the alias's (DB thread)."""
    column = "order_id" if subject.kind is SubjectKind.ORDER else "alias"
    sql = f"SELECT id FROM threads WHERE {column} = ?"
    params: list[Any] = [subject.value]
    if store_id is not None:
        sql += " AND store_id = ?"
        params.append(store_id)
    return [int(r[0]) for r in conn.execute(sql + " ORDER BY id", params)]


_REQUEST_COLUMNS = (
    "id, source, subject_kind, subject, received_at, due_at, including_messages, state, "
    "store_id, completed_at, counts, note"
)


def _request_from_row(r: Sequence[Any]) -> DeletionRequest:
    received, due = from_db_time(r[4]), from_db_time(r[5])
    assert received is not None and due is not None
    counts = json.loads(r[10]) if r[10] else None
    return DeletionRequest(
        id=int(r[0]),
        source=RequestSource(r[1]),
        subject=Subject(SubjectKind(r[2]), r[3]),
        received_at=received,
        due_at=due,
        including_messages=bool(r[6]),
        state=RequestState(r[7]),
        store_id=None if r[8] is None else int(r[8]),
        completed_at=from_db_time(r[9]),
        counts=None if counts is None else PurgeCounts(**counts),
        note=r[11] or "",
    )


def load_request(conn: Conn, request_id: int) -> DeletionRequest | None:
    """DB thread."""
    r = conn.execute(
        f"SELECT {_REQUEST_COLUMNS} FROM deletion_requests WHERE id = ?", (request_id,)
    ).fetchone()
    return None if r is None else _request_from_row(r)


def load_requests(conn: Conn, *, open_only: bool = True) -> list[DeletionRequest]:
    """DB thread: open requests due soonest first, or all of them newest first."""
    if open_only:
        sql = "WHERE state = 'open' ORDER BY due_at, id"
    else:
        sql = "ORDER BY received_at DESC, id DESC"
    return [
        _request_from_row(r)
        for r in conn.execute(f"SELECT {_REQUEST_COLUMNS} FROM deletion_requests {sql}")
    ]


def _delete_threads(conn: Conn, thread_ids: Sequence[int]) -> PurgeCounts:
    """Delete the threads with their messages, attachments' metadata and search rows
    (secure-delete: no trace left in the index).  Returns what went."""
    if not thread_ids:
        return PurgeCounts()
    marks = ",".join("?" * len(thread_ids))
    rowids = [
        int(r[0])
        for r in conn.execute(f"SELECT id FROM messages WHERE thread_id IN ({marks})", thread_ids)
    ]
    attachments = 0
    for start in range(0, len(rowids), 500):
        chunk = rowids[start : start + 500]
        m = ",".join("?" * len(chunk))
        attachments += int(
            conn.execute(
                f"SELECT count(*) FROM attachments WHERE message_rowid IN ({m})", chunk
            ).fetchone()[0]
        )
        conn.execute(f"DELETE FROM messages_fts WHERE rowid IN ({m})", chunk)
        conn.execute(f"DELETE FROM attachments WHERE message_rowid IN ({m})", chunk)
        conn.execute(f"DELETE FROM messages WHERE id IN ({m})", chunk)
    drafts = int(
        conn.execute(
            f"SELECT count(*) FROM threads WHERE id IN ({marks}) AND draft IS NOT NULL",
            thread_ids,
        ).fetchone()[0]
    )
    conn.execute(f"DELETE FROM threads WHERE id IN ({marks})", thread_ids)
    return PurgeCounts(
        threads=len(thread_ids),
        drafts=drafts,
        attachments=attachments,
        messages_deleted=len(rowids),
    )


def _delete_cached_labels(conn: Conn, order_ids: Sequence[str]) -> int:
    if not order_ids:
        return 0
    marks = ",".join("?" * len(order_ids))
    cur = conn.execute(
        "DELETE FROM label_cache WHERE shipment IN "
        f"(SELECT id FROM shipments WHERE order_id IN ({marks}))",
        list(order_ids),
    )
    return max(int(cur.rowcount), 0)


class SubjectService:
    """Deletion requests, erasing a subject, and the access/portability export."""

    def __init__(
        self,
        *,
        vault: Vault,
        clock: Clock,
        notices: Notices,
        audit: AuditLog,
        secrets: SecretStore,
    ) -> None:
        self.vault = vault
        self.clock = clock
        self.notices = notices
        self.audit = audit
        self.secrets = secrets

    # --- requests ---------------------------------------------------------------------

    def register(
        self,
        actor: Actor,
        source: RequestSource,
        subject: Subject,
        received_at: datetime,
        *,
        including_messages: bool = False,
        store_id: int | None = None,
        note: str = "",
    ) -> DeletionRequest:
        """Record a deletion request (not carried out yet).  Blocks (DB thread)."""
        source = RequestSource(source)
        subject = parse_subject(subject.kind, subject.value)
        note = " ".join(note.split())[:MAX_NOTE]
        now = self.clock.now()

        def insert(conn: Conn) -> DeletionRequest:
            admin = access.current(conn, actor, Permission.MANAGE_PRIVACY)
            return self._insert(
                conn, admin, source, subject, received_at, including_messages, store_id, note, now
            )

        return self.vault.call_write(insert)

    def _insert(
        self,
        conn: Conn,
        admin: Actor,
        source: RequestSource,
        subject: Subject,
        received_at: datetime,
        including_messages: bool,
        store_id: int | None,
        note: str,
        now: datetime,
    ) -> DeletionRequest:
        hours = settings.get(conn, settings.AMAZON_REQUEST_HOURS)
        due = due_for(source, received_at, hours)
        cur = conn.execute(
            "INSERT INTO deletion_requests(source, subject_kind, subject, store_id, "
            "received_at, due_at, including_messages, note, created_by, created_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                str(source),
                str(subject.kind),
                subject.value,
                store_id,
                to_db_time(received_at),
                to_db_time(due),
                int(including_messages),
                note,
                access.audit_actor_id(admin),
                to_db_time(now),
            ),
        )
        request_id = int(cur.lastrowid)
        self.audit.append(
            conn,
            actor_id=access.audit_actor_id(admin),
            action=REQUEST_REGISTERED,
            object_type="deletion_request",
            object_id=request_id,
            details={"kind": str(subject.kind), "source": str(source), "due": to_db_time(due)},
        )
        request = load_request(conn, request_id)
        assert request is not None
        return request

    def requests(self, actor: Actor, *, open_only: bool = True) -> Future[list[DeletionRequest]]:
        def read(conn: Conn) -> list[DeletionRequest]:
            access.current(conn, actor, Permission.MANAGE_PRIVACY)
            return load_requests(conn, open_only=open_only)

        return self.vault.run(read)

    # --- carrying out -----------------------------------------------------------------

    def execute(self, actor: Actor, request_id: int) -> DeletionRequest:
        """Erase the request's subject now and complete it.  Blocks (DB thread).
        Raises :class:`RequestNotFound`; a request done already is returned as it is."""
        key = self._hash_key()
        now = self.clock.now()

        def erase(conn: Conn) -> DeletionRequest:
            admin = access.current(conn, actor, Permission.MANAGE_PRIVACY)
            return self._execute(conn, admin, request_id, key, now)

        done = self.vault.call_write(erase)
        self.vault.checkpoint().result()  # the erased pages leave the WAL
        return done

    def erase(
        self, actor: Actor, subject: Subject, *, including_messages: bool = False
    ) -> PurgeCounts:
        """Register a seller's request for ``subject`` and carry it out in one go (what
        ``muttefik erase`` runs).  Returns what was erased."""
        subject = parse_subject(subject.kind, subject.value)
        key = self._hash_key()
        now = self.clock.now()

        def erase(conn: Conn) -> PurgeCounts:
            admin = access.current(conn, actor, Permission.MANAGE_PRIVACY)
            request = self._insert(
                conn, admin, RequestSource.SELLER, subject, now, including_messages, None, "", now
            )
            done = self._execute(conn, admin, request.id, key, now)
            assert done.counts is not None
            return done.counts

        counts = self.vault.call_write(erase)
        self.vault.checkpoint().result()  # the erased pages leave the WAL
        return counts

    def _execute(
        self, conn: Conn, admin: Actor, request_id: int, key: bytes, now: datetime
    ) -> DeletionRequest:
        request = load_request(conn, request_id)
        if request is None:
            raise RequestNotFound(detail=f"deletion request {request_id}")
        if request.state is RequestState.DONE:
            return request
        subject = request.subject
        threads = subject_thread_ids(conn, subject, request.store_id)
        stores = {
            int(r[0])
            for tid in threads
            for r in conn.execute("SELECT store_id FROM threads WHERE id = ?", (tid,))
        }
        order_ids = (
            [subject.value]
            if subject.kind is SubjectKind.ORDER
            else sorted(
                {
                    str(r[0])
                    for tid in threads
                    for r in conn.execute(
                        "SELECT order_id FROM threads WHERE id = ? AND order_id IS NOT NULL",
                        (tid,),
                    )
                }
            )
        )
        if request.including_messages:
            counts = _delete_threads(conn, threads)
        else:
            counts = purge.purge_batch(conn, threads, as_of=now, dry_run=False)
        cached = _delete_cached_labels(conn, order_ids)
        counts = purge.add(counts, PurgeCounts(label_cache=cached))
        stamp = to_db_time(now)
        counts_json = json.dumps(counts.as_dict(), sort_keys=True)
        conn.execute(
            "INSERT INTO privacy_runs(kind, started_at, finished_at, as_of, dry_run, state, "
            "counts) VALUES (?, ?, ?, ?, 0, ?, ?)",
            (str(RunKind.ERASE), stamp, stamp, stamp, str(RunState.DONE), counts_json),
        )
        kept = subject.value
        if subject.kind is SubjectKind.ALIAS:
            kept = alias_hash(key, subject.value)
        # Every open request for the same subject is answered by this erasure.
        same = [
            int(r[0])
            for r in conn.execute(
                "SELECT id FROM deletion_requests WHERE state = 'open' AND subject_kind = ? "
                "AND subject = ?",
                (str(subject.kind), subject.value),
            )
        ]
        conn.executemany(
            "UPDATE deletion_requests SET state = 'done', completed_at = ?, counts = ?, "
            "subject = ? WHERE id = ?",
            [(stamp, counts_json, kept, rid) for rid in same],
        )
        self.audit.append(
            conn,
            actor_id=access.audit_actor_id(admin),
            action=SUBJECT_ERASED,
            object_type="deletion_request",
            object_id=request.id,
            details={
                "kind": str(subject.kind),
                "source": str(request.source),
                "request": request.id,
                **counts.as_dict(),
            },
        )
        if threads:
            self.notices.after_commit(
                self.vault, ThreadsChanged(store_ids=frozenset(stores), thread_ids=tuple(threads))
            )
        done = load_request(conn, request.id)
        assert done is not None
        return done

    def _hash_key(self) -> bytes:
        if self.vault.audit_key is not None:
            return subject_hash_key(self.vault.audit_key)
        stored = self.secrets.get(HASH_KEY_NAME)
        if stored is None:
            key = _secrets.token_bytes(32)
            self.secrets.set(HASH_KEY_NAME, base64.b64encode(key).decode())
            return key
        return base64.b64decode(stored)

    # --- access and portability -------------------------------------------------------

    def export(self, actor: Actor, subject: Subject) -> dict[str, Any]:
        """Everything held about ``subject`` as JSON-ready data (audited).  Blocks."""
        return self._export(actor, subject, "data", lambda data: [])[0]

    def write_export(self, actor: Actor, subject: Subject, folder: Path) -> list[Path]:
        """Write ``export.json`` and ``export.html`` (0600) into ``folder``, the seller's
        choice (audited).  Raises :class:`app.privacy.export.ExportFolderInvalid` /
        :class:`~app.privacy.export.ExportExists`.  Blocks (DB thread, disk)."""
        return self._export(actor, subject, "files", lambda d: export_files.write(d, folder))[1]

    def _export(
        self,
        actor: Actor,
        subject: Subject,
        fmt: str,
        write: Callable[[dict[str, Any]], list[Path]],
    ) -> tuple[dict[str, Any], list[Path]]:
        subject = parse_subject(subject.kind, subject.value)
        now = self.clock.now()
        hashed = None
        if subject.kind is SubjectKind.ALIAS:
            hashed = alias_hash(self._hash_key(), subject.value)

        def collect(conn: Conn) -> dict[str, Any]:
            access.current(conn, actor, Permission.MANAGE_PRIVACY)
            threads = subject_thread_ids(conn, subject)
            return export_files.collect(
                conn, self.audit, subject, thread_ids=threads, now=now, hashed=hashed
            )

        data = self.vault.call(collect)
        written = write(data)

        def record(conn: Conn) -> None:
            admin = access.current(conn, actor, Permission.MANAGE_PRIVACY)
            self.audit.append(
                conn,
                actor_id=access.audit_actor_id(admin),
                action=SUBJECT_EXPORTED,
                object_type="order" if subject.kind is SubjectKind.ORDER else None,
                object_id=subject.value if subject.kind is SubjectKind.ORDER else None,
                details={"kind": str(subject.kind), "format": fmt, "files": len(written)},
            )

        try:
            self.vault.call_write(record)
        except BaseException:
            for path in written:  # not audited: not handed out
                path.unlink(missing_ok=True)
            raise
        return data, written
