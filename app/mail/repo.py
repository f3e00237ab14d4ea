"""Stored buyer messages: threads with their reply clock, messages, attachment metadata,
each folder's fetch position, and the search index.

Every function takes ``conn`` and runs on the DB thread inside the caller's transaction
(``vault.write`` for the writes).  Nothing here checks a caller: the service that calls
it does (``app.access.current`` first, on the thread's store: :func:`thread_store`).
The inbox's reads (thread ids for a query, rows, a conversation, counts) are at the end;
they take the ids of the stores the caller may see.

Threading (issue 11): a thread is store + relay alias (+ order id once known).
- A buyer message with order id X joins the alias's thread for X; failing that, it links
  the alias's order-less thread to X (a pre-sale question that became an order); failing
  that, it starts a thread for X.
- A message without an order id joins the alias's newest thread (or starts one).
- The seller's reply found in Sent joins the thread of the message it answers
  (In-Reply-To/References), else as above with its To relay address as the alias.
- A Message-ID already stored for the store is not stored again (a folder read again
  after a UIDVALIDITY reset, the Sent copy of a reply sent from here).

After each change the thread's summary (counts, times, state, clock) is recomputed from
its messages (:func:`refresh_thread`), so the order messages arrive in never matters.

PII: aliases, names, subjects, texts and attachment names are stored here and never
logged (log thread ids and counts).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.amazon.orders_repo import from_db_time, to_db_time
from app.errors import UserError
from app.mail import clock
from app.mail import parse as mail_parse
from app.mail.clock import ClockEvent, EventKind
from app.mail.models import (
    AttachmentMeta,
    Direction,
    FolderState,
    ParsedEmail,
    SendState,
    ThreadState,
    Urgency,
)
from app.pii.models import KnownPII

Conn = Any

_RELAY = re.compile(r"@marketplace\.amazon\.", re.IGNORECASE)
_CHUNK = 500


class ThreadNotFound(UserError):
    title = "Conversation not found"
    message = "This conversation no longer exists. It may have been removed."


class ReplyPending(UserError):
    title = "Reply already on its way"
    message = (
        "A reply in this conversation is still being sent, or it is not known whether "
        "the mail server took it. Wait for the next mail check, which finds it in the "
        "Sent folder, before sending again, so the buyer does not get it twice."
    )


@dataclass(frozen=True)
class StoredMessage:
    thread_id: int
    message_rowid: int
    new: bool  # False: the Message-ID was already stored for the store
    order_id: str | None  # the thread's order id (after linking)


@dataclass(frozen=True)
class PendingReply:
    """A reply handed to SMTP whose outcome is not known (``SENDING``/``UNCERTAIN``)."""

    message_rowid: int
    thread_id: int
    message_id: str
    subject: str
    body: str
    in_reply_to: str | None
    send_state: SendState
    started_at: datetime


# --- storing messages -------------------------------------------------------------------


def _dedup_key(parsed: ParsedEmail, direction: Direction) -> str:
    """The Message-ID, or a hash of what identifies a message that has none."""
    if parsed.message_id:
        return parsed.message_id
    digest = hashlib.sha256()
    for part in (
        str(direction),
        parsed.from_address,
        parsed.alias,
        ",".join(parsed.to_addresses),
        parsed.received_at.isoformat(),
        parsed.subject,
        parsed.body,
    ):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return "sha256:" + digest.hexdigest()


def _alias_for(parsed: ParsedEmail, direction: Direction) -> str:
    """The buyer's relay address: From for a buyer message, the To relay address for
    the seller's reply."""
    if direction is Direction.OUT:
        for address in parsed.to_addresses:
            if _RELAY.search(address):
                return address.lower()
    return parsed.alias.lower()


def _thread_by_references(conn: Conn, store_id: int, parsed: ParsedEmail) -> int | None:
    ids = [i for i in (parsed.in_reply_to, *parsed.references) if i]
    for part in _chunks(ids):
        r = conn.execute(
            "SELECT thread_id FROM messages WHERE store_id = ? AND message_id IN "
            f"({','.join('?' * len(part))}) ORDER BY received_at DESC LIMIT 1",
            (store_id, *part),
        ).fetchone()
        if r is not None:
            return int(r[0])
    return None


def _new_thread(
    conn: Conn, store_id: int, alias: str, order_id: str | None, at: str, now: str
) -> int:
    cur = conn.execute(
        "INSERT INTO threads(store_id, alias, order_id, last_message_at, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        (store_id, alias, order_id, at, now, now),
    )
    return int(cur.lastrowid)


def _thread_for(
    conn: Conn,
    store_id: int,
    alias: str,
    parsed: ParsedEmail,
    direction: Direction,
    at: str,
    now: str,
) -> tuple[int, bool]:
    """The thread a new message joins: (thread id, whether the thread got an order id
    just now and its earlier messages' search refs must be refreshed)."""
    if direction is Direction.OUT:
        found = _thread_by_references(conn, store_id, parsed)
        if found is not None:
            return found, False
    order_id = parsed.order_id
    if order_id:
        r = conn.execute(
            "SELECT id FROM threads WHERE store_id = ? AND alias = ? AND order_id = ?",
            (store_id, alias, order_id),
        ).fetchone()
        if r is not None:
            return int(r[0]), False
        r = conn.execute(
            "SELECT id FROM threads WHERE store_id = ? AND alias = ? AND order_id IS NULL",
            (store_id, alias),
        ).fetchone()
        if r is not None:  # a pre-sale question that became an order
            conn.execute(
                "UPDATE threads SET order_id = ?, updated_at = ? WHERE id = ?",
                (order_id, now, int(r[0])),
            )
            return int(r[0]), True
        return _new_thread(conn, store_id, alias, order_id, at, now), False
    r = conn.execute(
        "SELECT id FROM threads WHERE store_id = ? AND alias = ? "
        "ORDER BY last_message_at DESC, id DESC LIMIT 1",
        (store_id, alias),
    ).fetchone()
    if r is not None:
        return int(r[0]), False
    return _new_thread(conn, store_id, alias, None, at, now), False


def store_message(
    conn: Conn,
    store_id: int,
    parsed: ParsedEmail,
    *,
    direction: Direction,
    folder: str | None,
    source_key: str | None,
    now: datetime,
) -> StoredMessage:
    """Store one parsed email in its thread (see the module docstring) with its
    attachments' metadata and search row, and recompute the thread.  A message already
    stored (same Message-ID in the store) is not stored again: ``new=False``; if it is
    the Sent copy of a reply whose outcome was unknown, that reply is marked sent."""
    stamp = to_db_time(now)
    key = _dedup_key(parsed, direction)
    old = conn.execute(
        "SELECT id, thread_id, direction, send_state FROM messages "
        "WHERE store_id = ? AND dedup_key = ?",
        (store_id, key),
    ).fetchone()
    if old is not None:
        rowid, thread_id = int(old[0]), int(old[1])
        if direction is Direction.OUT and old[3] in (SendState.SENDING, SendState.UNCERTAIN):
            finish_reply(conn, rowid, SendState.SENT, error=None, now=now)
        return StoredMessage(thread_id, rowid, False, _thread_order(conn, thread_id))

    alias = _alias_for(parsed, direction)
    at = to_db_time(parsed.received_at)
    assert at is not None and stamp is not None
    thread_id, linked = _thread_for(conn, store_id, alias, parsed, direction, at, stamp)
    cur = conn.execute(
        "INSERT INTO messages(thread_id, store_id, direction, message_id, dedup_key, "
        "in_reply_to, folder, source_key, received_at, subject, body, no_response_url, "
        "flags, send_state, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            thread_id,
            store_id,
            str(direction),
            parsed.message_id,
            key,
            parsed.in_reply_to,
            folder,
            source_key,
            at,
            parsed.subject,
            parsed.body,
            parsed.no_response_needed_url,
            json.dumps(list(parsed.flags)) if parsed.flags else None,
            str(SendState.SENT) if direction is Direction.OUT else None,
            stamp,
        ),
    )
    rowid = int(cur.lastrowid)
    parts = [a.part for a in parsed.attachments]
    unique_parts = len(set(parts)) == len(parts)
    conn.executemany(
        "INSERT INTO attachments(message_rowid, part, filename, content_type, size) "
        "VALUES (?, ?, ?, ?, ?)",
        [
            (rowid, a.part if unique_parts else i, a.filename, a.content_type, a.size)
            for i, a in enumerate(parsed.attachments)
        ],
    )
    if direction is Direction.IN:
        # The newest buyer message names the thread; a later one sent earlier does not.
        conn.execute(
            "UPDATE threads SET "
            "subject = CASE WHEN ? <> '' AND (last_buyer_at IS NULL OR ? >= last_buyer_at) "
            "  THEN ? ELSE coalesce(subject, ?) END, "
            "buyer_display_name = CASE WHEN ? IS NOT NULL AND (last_buyer_at IS NULL "
            "  OR ? >= last_buyer_at) THEN ? ELSE buyer_display_name END, "
            "marketplace_domain = CASE WHEN ? <> '' THEN ? ELSE marketplace_domain END, "
            "unread = unread + 1 WHERE id = ?",
            (
                parsed.subject,
                at,
                parsed.subject,
                parsed.subject,
                parsed.buyer_display_name,
                at,
                parsed.buyer_display_name,
                parsed.marketplace_domain,
                parsed.marketplace_domain,
                thread_id,
            ),
        )
    else:
        conn.execute(
            "UPDATE threads SET subject = coalesce(subject, ?) WHERE id = ?",
            (parsed.subject, thread_id),
        )
    refresh_thread(conn, thread_id, now=now)
    order_id = _thread_order(conn, thread_id)
    refs = thread_refs(conn, thread_id)
    conn.execute(
        "INSERT INTO messages_fts(rowid, subject, body, refs) VALUES (?, ?, ?, ?)",
        (rowid, parsed.subject, parsed.body, refs),
    )
    if linked:
        _rewrite_refs(conn, [thread_id])
    return StoredMessage(thread_id, rowid, True, order_id)


def _thread_order(conn: Conn, thread_id: int) -> str | None:
    r = conn.execute("SELECT order_id FROM threads WHERE id = ?", (thread_id,)).fetchone()
    return None if r is None else r[0]


# --- the thread's summary and clock -----------------------------------------------------


def refresh_thread(conn: Conn, thread_id: int, *, now: datetime) -> None:
    """Recompute the thread's counts, times, state and reply clock from its messages.

    The clock (:mod:`app.mail.clock`): buyer messages, sent replies (a Sent copy, or
    ``send_state`` sent) and the last "no response needed" mark.  A reply still being
    sent, failed or of unknown outcome answers nothing yet.
    """
    t = conn.execute(
        "SELECT no_response_at, draft FROM threads WHERE id = ?", (thread_id,)
    ).fetchone()
    if t is None:
        return
    no_response_at, draft = t[0], t[1]
    events: list[ClockEvent] = []
    count = flagged = 0
    last_message: str | None = None
    last_buyer: str | None = None
    for direction, received, send_state, flags in conn.execute(
        "SELECT direction, received_at, send_state, flags FROM messages WHERE thread_id = ?",
        (thread_id,),
    ):
        if send_state == SendState.FAILED:
            continue
        count += 1
        flagged += flags is not None
        last_message = max(last_message or received, received)
        moment = from_db_time(received)
        assert moment is not None
        if direction == Direction.IN:
            last_buyer = max(last_buyer or received, received)
            events.append(ClockEvent(moment, EventKind.BUYER))
        elif send_state in (None, SendState.SENT):
            events.append(ClockEvent(moment, EventKind.REPLY))
    answered = from_db_time(no_response_at)
    if answered is not None:
        events.append(ClockEvent(answered, EventKind.NO_RESPONSE))
    start = clock.clock_start(events)
    if start is not None:
        state = ThreadState.DRAFT if draft else ThreadState.NEEDS_REPLY
    else:
        answers = [e for e in events if e.kind is not EventKind.BUYER]
        last = max(answers, key=lambda e: (e.at, e.kind is EventKind.NO_RESPONSE), default=None)
        state = (
            ThreadState.NO_RESPONSE
            if last is not None and last.kind is EventKind.NO_RESPONSE
            else ThreadState.REPLIED
        )
    conn.execute(
        "UPDATE threads SET message_count = ?, flagged = ?, "
        "last_message_at = coalesce(?, last_message_at), last_buyer_at = ?, state = ?, "
        "clock_start = ?, due_at = ?, updated_at = ? WHERE id = ?",
        (
            count,
            flagged,
            last_message,
            last_buyer,
            str(state),
            to_db_time(start),
            to_db_time(clock.due_at(start)),
            to_db_time(now),
            thread_id,
        ),
    )


# --- search refs (order id, ASINs, SKUs, buyer name) ------------------------------------


def thread_refs(conn: Conn, thread_id: int) -> str:
    """The search ``refs`` of the thread's messages: its order id, the order's ASINs and
    SKUs when the order is stored, and the buyer's display name."""
    r = conn.execute(
        "SELECT order_id, buyer_display_name FROM threads WHERE id = ?", (thread_id,)
    ).fetchone()
    if r is None:
        return ""
    parts: list[str] = []
    if r[0]:
        parts.append(r[0])
        for asin, sku in conn.execute(
            "SELECT i.asin, i.sku FROM order_items i JOIN orders o ON o.id = i.order_rowid "
            "WHERE o.order_id = ? ORDER BY i.position",
            (r[0],),
        ):
            parts.append(asin)
            if sku:
                parts.append(sku)
    if r[1]:
        parts.append(r[1])
    return " ".join(dict.fromkeys(parts))


def _rewrite_refs(conn: Conn, thread_ids: Iterable[int]) -> None:
    for thread_id in thread_ids:
        refs = thread_refs(conn, thread_id)
        conn.execute(
            "UPDATE messages_fts SET refs = ? WHERE rowid IN "
            "(SELECT id FROM messages WHERE thread_id = ?) AND refs IS NOT ?",
            (refs, thread_id, refs),
        )


def refresh_refs(conn: Conn, order_ids: Sequence[str]) -> int:
    """Orders stored since their threads' messages were: put their ASINs and SKUs into
    those messages' search rows (call after a sync stored ``order_ids``).  Returns the
    number of threads touched."""
    threads: list[int] = []
    for part in _chunks(list(order_ids)):
        threads.extend(
            int(r[0])
            for r in conn.execute(
                f"SELECT id FROM threads WHERE order_id IN ({','.join('?' * len(part))})", part
            )
        )
    _rewrite_refs(conn, threads)
    return len(threads)


def rewrite_texts(conn: Conn, thread_id: int, texts: Sequence[tuple[int, str | None, str]]) -> None:
    """Replace messages' subjects and bodies (``(rowid, subject, body)``, e.g. redacted)
    and re-write the search rows of all the thread's messages with them and the thread's
    refs as stored now (so a buyer name cleared from the thread leaves the index too).
    The index deletes securely (``secure-delete``): the old text leaves no trace in it."""
    conn.executemany(
        "UPDATE messages SET subject = ?, body = ? WHERE id = ? AND thread_id = ?",
        [(subject, body, rowid, thread_id) for rowid, subject, body in texts],
    )
    refs = thread_refs(conn, thread_id)
    conn.execute(
        "UPDATE messages_fts SET subject = m.subject, body = m.body, refs = ? "
        "FROM (SELECT id, subject, body FROM messages WHERE thread_id = ?) AS m "
        "WHERE messages_fts.rowid = m.id",
        (refs, thread_id),
    )


# --- what we know of a thread's buyer (drafting, the PII purge) ------------------------


def buyer_names(display_name: str | None, subjects: Sequence[str | None]) -> list[str]:
    """The buyer's names we know: the From display name and the subjects' "from Amazon
    customer X", each whole and its first name alone."""
    found: dict[str, None] = {}
    candidates = [display_name, *(mail_parse._subject_name(s) for s in subjects if s)]
    for name in candidates:
        if not name or not name.strip():
            continue
        found[name.strip()] = None
        first = name.split()[0]
        if len(first) >= 2:
            found[first] = None
    return list(found)


def buyer_known_pii(
    display_name: str | None, alias: str | None, subjects: Sequence[str | None]
) -> KnownPII:
    """What we know of a buyer from their thread: names (display name, subjects) and the
    relay alias.  Orders hold no buyer PII (the sync never asks for it)."""
    return KnownPII(
        names=tuple(buyer_names(display_name, subjects)),
        emails=(alias,) if alias else (),
    )


def thread_known_pii(conn: Conn, thread_id: int) -> KnownPII:
    """:func:`buyer_known_pii` of a stored thread (its subject and its messages')."""
    r = conn.execute(
        "SELECT buyer_display_name, alias, subject FROM threads WHERE id = ?", (thread_id,)
    ).fetchone()
    if r is None:
        return KnownPII()
    subjects = [
        r[2],
        *(
            s
            for (s,) in conn.execute(
                "SELECT subject FROM messages WHERE thread_id = ?", (thread_id,)
            )
        ),
    ]
    return buyer_known_pii(r[0], r[1], subjects)


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


# --- folder state -----------------------------------------------------------------------


def folder_state(conn: Conn, store_id: int, folder: str) -> FolderState:
    """Where the last fetch of ``folder`` ended (a fresh state if never fetched)."""
    r = conn.execute(
        "SELECT uidvalidity, last_uid FROM mail_folders WHERE store_id = ? AND folder = ?",
        (store_id, folder),
    ).fetchone()
    keys = frozenset(
        str(k[0])
        for k in conn.execute(
            "SELECT key FROM mail_seen_keys WHERE store_id = ? AND folder = ?",
            (store_id, folder),
        )
    )
    if r is None:
        return FolderState(known_keys=keys)
    return FolderState(
        uidvalidity=None if r[0] is None else int(r[0]), last_uid=int(r[1]), known_keys=keys
    )


def save_folder_state(
    conn: Conn,
    store_id: int,
    folder: str,
    *,
    uidvalidity: int | None,
    last_uid: int,
    seen_keys: Iterable[str] = (),
    error: str | None = None,
    now: datetime,
) -> None:
    """Record where this fetch of ``folder`` ended, the Maildir keys it looked at, and
    the error that stopped it (``None``: it went through).  ``error`` is shown to the
    seller: plain words, no PII."""
    conn.execute(
        "INSERT INTO mail_folders(store_id, folder, uidvalidity, last_uid, last_fetch, "
        "last_error) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(store_id, folder) DO UPDATE SET "
        "uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid, "
        "last_fetch = excluded.last_fetch, last_error = excluded.last_error",
        (store_id, folder, uidvalidity, last_uid, to_db_time(now), error),
    )
    conn.executemany(
        "INSERT OR IGNORE INTO mail_seen_keys(store_id, folder, key) VALUES (?, ?, ?)",
        [(store_id, folder, k) for k in seen_keys],
    )


# --- replies ----------------------------------------------------------------------------


def thread_store(conn: Conn, thread_id: int) -> int:
    """The store of a thread (the service checks its caller on it).  Raises
    :class:`ThreadNotFound`."""
    r = conn.execute("SELECT store_id FROM threads WHERE id = ?", (thread_id,)).fetchone()
    if r is None:
        raise ThreadNotFound(detail=f"thread {thread_id}")
    return int(r[0])


def message_thread(conn: Conn, message_rowid: int) -> int:
    """The thread of a stored message.  Raises :class:`ThreadNotFound`."""
    r = conn.execute("SELECT thread_id FROM messages WHERE id = ?", (message_rowid,)).fetchone()
    if r is None:
        raise ThreadNotFound(detail=f"message {message_rowid}")
    return int(r[0])


def _answer_time(conn: Conn, thread_id: int, now: datetime) -> datetime:
    """When an answer given here counts: ``now``, but never before the newest buyer
    message the seller saw (a relay Date header a little ahead of our clock must not
    leave the thread waiting for an answer it got)."""
    r = conn.execute("SELECT last_buyer_at FROM threads WHERE id = ?", (thread_id,)).fetchone()
    newest = from_db_time(r[0]) if r is not None else None
    return max(now, newest) if newest is not None else now


def begin_reply(
    conn: Conn,
    thread_id: int,
    *,
    operator_id: int | None,
    message_id: str,
    subject: str,
    body: str,
    in_reply_to: str | None,
    now: datetime,
) -> int:
    """Record a reply about to be handed to SMTP (``send_state`` sending); returns its
    message rowid.  Earlier failed attempts of the thread go (their text is the draft).
    Raises :class:`ReplyPending` while another reply's outcome is not known (never send
    twice) and :class:`ThreadNotFound`."""
    store_id = thread_store(conn, thread_id)
    now = _answer_time(conn, thread_id, now)
    if pending_reply(conn, thread_id) is not None:
        raise ReplyPending(detail=f"thread {thread_id}")
    failed = [
        int(r[0])
        for r in conn.execute(
            "SELECT id FROM messages WHERE thread_id = ? AND send_state = ?",
            (thread_id, str(SendState.FAILED)),
        )
    ]
    conn.executemany("DELETE FROM messages_fts WHERE rowid = ?", [(i,) for i in failed])
    conn.executemany("DELETE FROM messages WHERE id = ?", [(i,) for i in failed])
    stamp = to_db_time(now)
    cur = conn.execute(
        "INSERT INTO messages(thread_id, store_id, direction, message_id, dedup_key, "
        "in_reply_to, received_at, subject, body, send_state, operator_id, created_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            thread_id,
            store_id,
            str(Direction.OUT),
            message_id,
            message_id,
            in_reply_to,
            stamp,
            subject,
            body,
            str(SendState.SENDING),
            operator_id,
            stamp,
        ),
    )
    rowid = int(cur.lastrowid)
    refresh_thread(conn, thread_id, now=now)
    conn.execute(
        "INSERT INTO messages_fts(rowid, subject, body, refs) VALUES (?, ?, ?, ?)",
        (rowid, subject, body, thread_refs(conn, thread_id)),
    )
    return rowid


def finish_reply(
    conn: Conn, message_rowid: int, state: SendState, *, error: str | None, now: datetime
) -> None:
    """The outcome of a send.  SENT: the reply answers the buyer's messages before it
    (state replied, clock cleared) and the draft goes.  FAILED / UNCERTAIN: the reply's
    text becomes the thread's draft again and the clock keeps running; an UNCERTAIN one
    stays pending (:func:`pending_reply`) until its Sent copy is found or it is given up
    (FAILED).  ``error``: plain words for the seller, no PII."""
    r = conn.execute(
        "SELECT thread_id, body FROM messages WHERE id = ? AND direction = ?",
        (message_rowid, str(Direction.OUT)),
    ).fetchone()
    if r is None:
        raise ThreadNotFound(detail=f"message {message_rowid}")
    thread_id, body = int(r[0]), r[1]
    stamp = to_db_time(now)
    conn.execute(
        "UPDATE messages SET send_state = ?, send_error = ? WHERE id = ?",
        (str(state), error, message_rowid),
    )
    if state is SendState.SENT:
        conn.execute(
            "UPDATE threads SET draft = NULL, draft_updated_at = ? WHERE id = ?",
            (stamp, thread_id),
        )
    elif state in (SendState.FAILED, SendState.UNCERTAIN):
        conn.execute(
            "UPDATE threads SET draft = ?, draft_updated_at = ? WHERE id = ?",
            (body or None, stamp, thread_id),
        )
    refresh_thread(conn, thread_id, now=now)


@dataclass(frozen=True)
class ReplyTarget:
    """Where a reply goes: the relay alias, the subject it answers and the threading
    headers (the newest buyer message's Message-ID; the thread's last ten)."""

    alias: str
    subject: str
    in_reply_to: str | None
    references: tuple[str, ...]


def reply_target(conn: Conn, thread_id: int) -> ReplyTarget:
    """Raises :class:`ThreadNotFound`."""
    row = conn.execute("SELECT alias, subject FROM threads WHERE id = ?", (thread_id,)).fetchone()
    if row is None:
        raise ThreadNotFound(detail=f"thread {thread_id}")
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT message_id FROM messages WHERE thread_id = ? AND message_id IS NOT NULL "
            "ORDER BY received_at, id",
            (thread_id,),
        )
    ]
    last_in = conn.execute(
        "SELECT message_id, subject FROM messages WHERE thread_id = ? AND direction = 'in' "
        "ORDER BY received_at DESC, id DESC LIMIT 1",
        (thread_id,),
    ).fetchone()
    return ReplyTarget(
        alias=row[0] or "",
        subject=(last_in[1] if last_in and last_in[1] else row[1]) or "",
        in_reply_to=last_in[0] if last_in else None,
        references=tuple(ids[-10:]),
    )


def pending_reply(conn: Conn, thread_id: int) -> PendingReply | None:
    """The thread's reply still being sent or of unknown outcome, if any."""
    r = conn.execute(
        "SELECT id, thread_id, message_id, subject, body, in_reply_to, send_state, "
        "received_at FROM messages WHERE thread_id = ? AND direction = 'out' "
        "AND send_state IN ('sending', 'uncertain') ORDER BY id DESC LIMIT 1",
        (thread_id,),
    ).fetchone()
    if r is None:
        return None
    started = from_db_time(r[7])
    assert started is not None
    return PendingReply(
        message_rowid=int(r[0]),
        thread_id=int(r[1]),
        message_id=r[2] or "",
        subject=r[3] or "",
        body=r[4] or "",
        in_reply_to=r[5],
        send_state=SendState(r[6]),
        started_at=started,
    )


# --- drafts, "no response needed", read -------------------------------------------------


def set_draft(conn: Conn, thread_id: int, text: str, now: datetime) -> None:
    """Save (or, with blank ``text``, clear) the thread's reply draft."""
    thread_store(conn, thread_id)
    conn.execute(
        "UPDATE threads SET draft = ?, draft_updated_at = ? WHERE id = ?",
        (text if text.strip() else None, to_db_time(now), thread_id),
    )
    refresh_thread(conn, thread_id, now=now)


def mark_no_response(conn: Conn, thread_id: int, now: datetime) -> str | None:
    """Mark the thread "no response needed" (stops the clock until a new buyer message);
    returns the newest buyer message's no-response link (to open, so Amazon records it
    too), or ``None`` if that message has none."""
    thread_store(conn, thread_id)
    conn.execute(
        "UPDATE threads SET no_response_at = ? WHERE id = ?",
        (to_db_time(_answer_time(conn, thread_id, now)), thread_id),
    )
    refresh_thread(conn, thread_id, now=now)
    r = conn.execute(
        "SELECT no_response_url FROM messages WHERE thread_id = ? AND direction = 'in' "
        "ORDER BY received_at DESC, id DESC LIMIT 1",
        (thread_id,),
    ).fetchone()
    return None if r is None else r[0]


def mark_read(conn: Conn, thread_id: int) -> bool:
    """Mark the thread's messages read; returns whether anything changed."""
    thread_store(conn, thread_id)
    cur = conn.execute("UPDATE threads SET unread = 0 WHERE id = ? AND unread <> 0", (thread_id,))
    return bool(cur.rowcount)


def orders_without_context(conn: Conn, store_id: int) -> list[str]:
    """Order ids of the store's threads whose order is not stored, or stored from an
    order report without its packages and windows yet (to fetch)."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT t.order_id FROM threads t WHERE t.store_id = ? "
            "AND t.order_id IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = t.order_id "
            "AND o.details_pending = 0) "
            "ORDER BY t.order_id",
            (store_id,),
        )
    ]


# --- reads (the inbox) ------------------------------------------------------------------


class ThreadFilter(StrEnum):
    ALL = "all"
    NEEDS_REPLY = "needs_reply"  # needs a reply (with or without a draft)
    DUE_SOON = "due_soon"  # under 6 h left, not overdue
    OVERDUE = "overdue"
    NO_RESPONSE = "no_response"
    REPLIED = "replied"
    FLAGGED = "flagged"  # a message flagged for review


@dataclass(frozen=True)
class ThreadQuery:
    """The inbox's thread list: stores (empty: all visible), a filter, search text.

    Sorted by the reply clock: due soonest first (overdue on top), then the threads with
    nothing due, newest message first.  ``text`` searches subjects, buyer texts, replies,
    order id, ASINs, SKUs and the buyer's name (every word must match, as a substring),
    in the threads of the newest :data:`SEARCH_CAP` matching messages; an order id typed
    whole finds its threads directly; one- or two-letter input matches the start of an
    order id or buyer name (up to :data:`SEARCH_CAP` of each).  ``limit``: at most this
    many ids (``None``: all).
    """

    store_ids: frozenset[int] = frozenset()
    filter: ThreadFilter = ThreadFilter.ALL
    text: str = ""
    limit: int | None = None


@dataclass(frozen=True)
class ThreadRow:
    id: int
    store_id: int
    store_name: str
    alias: str
    buyer_display_name: str | None
    order_id: str | None
    subject: str
    state: ThreadState
    due_at: datetime | None
    last_buyer_at: datetime | None
    last_message_at: datetime
    message_count: int
    unread: int  # buyer messages not read yet
    flagged: int  # messages flagged for review
    urgency: Urgency  # computed with the service clock when read
    marketplace_domain: str = ""
    has_draft: bool = False


@dataclass(frozen=True)
class MessageView:
    rowid: int
    direction: Direction
    received_at: datetime  # replies: when the send began
    subject: str
    body: str
    attachments: tuple[AttachmentMeta, ...] = ()
    flags: tuple[str, ...] = ()  # plain-words reasons to review it
    send_state: SendState | None = None  # replies only
    send_error: str | None = None
    no_response_url: str | None = None
    message_id: str | None = None
    folder: str | None = None  # where its attachments can be fetched again
    operator_id: int | None = None


@dataclass(frozen=True)
class Conversation:
    thread: ThreadRow
    messages: tuple[MessageView, ...]  # oldest first
    draft: str | None
    pending: PendingReply | None  # a reply whose outcome is not known: never resend


@dataclass(frozen=True)
class InboxCounts:
    needs_reply: int = 0
    due_soon: int = 0
    overdue: int = 0
    flagged: int = 0
    all: int = 0
    no_response: int = 0
    replied: int = 0
    unread: int = 0  # threads with unread buyer messages


_SEP = "\x1f"
_NEEDS = "('needs_reply', 'draft')"


def _filter_sql(kind: ThreadFilter, now: datetime) -> tuple[str, list[Any]]:
    stamp = to_db_time(now)
    soon = to_db_time(now + clock.SOON)
    if kind is ThreadFilter.NEEDS_REPLY:
        return f"t.state IN {_NEEDS}", []
    if kind is ThreadFilter.DUE_SOON:
        return "t.due_at > ? AND t.due_at <= ?", [stamp, soon]
    if kind is ThreadFilter.OVERDUE:
        return "t.due_at <= ?", [stamp]
    if kind is ThreadFilter.NO_RESPONSE:
        return "t.state = 'no_response'", []
    if kind is ThreadFilter.REPLIED:
        return "t.state = 'replied'", []
    if kind is ThreadFilter.FLAGGED:
        return "t.flagged > 0", []
    return "", []


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


#: A search shows the threads of at most this many matching messages, the newest ones
#: (a common word in 500,000 messages would otherwise sort tens of thousands of threads
#: on every key typed).
SEARCH_CAP = 1000


_ORDER_ID = re.compile(r"\d{3}-\d{7}-\d{7}")
_TOP = "\U0010ffff"  # sorts after any text that starts with the prefix


def _text_sql(conn: Conn, text: str, stores: Sequence[int]) -> tuple[str, list[Any]]:
    """Search condition on ``t`` (threads) for the search box's text."""
    terms = text.split()
    if not terms:
        return "", []
    if (
        _ORDER_ID.fullmatch(text)
        and conn.execute("SELECT 1 FROM threads WHERE order_id = ? LIMIT 1", (text,)).fetchone()
    ):
        return "t.order_id = ?", [text]  # an order id typed or pasted whole
    long = [t for t in terms if len(t) >= 3]
    short = [t for t in terms if len(t) < 3]
    params: list[Any] = []
    if not long:
        # The trigram index needs three characters: the start of an order id or buyer
        # name, by index ranges (an unselective prefix stops at the cap).
        first, *others = short
        marks = ",".join("?" * len(stores))
        sub = (
            "SELECT id FROM (SELECT id FROM threads WHERE order_id >= ? AND order_id < ? "
            f"AND store_id IN ({marks}) LIMIT ?) UNION SELECT id FROM (SELECT id FROM threads "
            "WHERE buyer_display_name >= ? AND buyer_display_name < ? "
            f"AND store_id IN ({marks}) LIMIT ?)"
        )
        for _ in range(2):
            params.extend([first, first + _TOP, *stores, SEARCH_CAP])
        condition = f"t.id IN ({sub})"
        for term in others:
            like = _escape_like(term) + "%"
            condition += (
                " AND (t.order_id LIKE ? ESCAPE '\\' OR t.buyer_display_name LIKE ? ESCAPE '\\')"
            )
            params.extend([like, like])
        return condition, params
    match = " AND ".join('"' + t.replace('"', '""') + '"' for t in long)
    sub = "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?"
    params = [match]
    for term in short:  # too short for trigrams: a substring of the matched rows
        sub += " AND (subject || ' ' || body || ' ' || refs) LIKE ? ESCAPE '\\'"
        params.append("%" + _escape_like(term) + "%")
    sub += " ORDER BY rowid DESC LIMIT ?"
    params.append(SEARCH_CAP)
    return (
        "t.id IN (SELECT m.thread_id FROM messages m INDEXED BY messages_thread_of "
        f"WHERE m.id IN ({sub}))",
        params,
    )


def thread_ids(
    conn: Conn, visible: Iterable[int], query: ThreadQuery, *, now: datetime
) -> list[int]:
    """Ids of the threads matching ``query`` in the stores ``visible`` (and
    ``query.store_ids`` if given), in the inbox's order (see :class:`ThreadQuery`)."""
    stores = set(visible)
    if query.store_ids:
        stores &= set(query.store_ids)
    if not stores:
        return []
    # "+": the store filter must not pull the planner off threads_inbox (the sort order).
    where = [f"+t.store_id IN ({','.join('?' * len(stores))})"]
    params: list[Any] = sorted(stores)
    text = _text_sql(conn, query.text.strip(), sorted(stores))
    for sql, extra in (_filter_sql(query.filter, now), text):
        if sql:
            where.append(sql)
            params.extend(extra)
    sql = (
        f"SELECT t.id FROM threads t WHERE {' AND '.join(where)} "
        "ORDER BY t.due_at IS NULL, t.due_at, t.last_message_at DESC, t.id DESC"
    )
    if query.limit is not None:
        sql += " LIMIT ?"
        params.append(int(query.limit))
    row = conn.execute(
        f"SELECT count(*), group_concat(id, '{_SEP}') FROM ({sql})", params
    ).fetchone()
    if not row[0]:
        return []
    return [int(i) for i in str(row[1]).split(_SEP)]


_ROW_COLUMNS = (
    "t.id, t.store_id, s.name, t.alias, t.buyer_display_name, t.order_id, t.subject, "
    "t.state, t.due_at, t.last_buyer_at, t.last_message_at, t.message_count, t.unread, "
    "t.flagged, t.marketplace_domain, t.draft IS NOT NULL"
)


def _thread_row(r: Sequence[Any], now: datetime) -> ThreadRow:
    due = from_db_time(r[8])
    last = from_db_time(r[10])
    assert last is not None
    return ThreadRow(
        id=int(r[0]),
        store_id=int(r[1]),
        store_name=r[2] or "",
        alias=r[3],
        buyer_display_name=r[4],
        order_id=r[5],
        subject=r[6] or "",
        state=ThreadState(r[7]),
        due_at=due,
        last_buyer_at=from_db_time(r[9]),
        last_message_at=last,
        message_count=int(r[11]),
        unread=int(r[12]),
        flagged=int(r[13]),
        urgency=clock.urgency(due, now),
        marketplace_domain=r[14] or "",
        has_draft=bool(r[15]),
    )


def thread_rows(conn: Conn, ids: Sequence[int], *, now: datetime) -> list[ThreadRow]:
    """Rows for ``ids`` in the same order; ids that no longer exist are left out.  The
    caller filters by visible store."""
    found: dict[int, ThreadRow] = {}
    for part in _chunks(list(ids)):
        for r in conn.execute(
            f"SELECT {_ROW_COLUMNS} FROM threads t JOIN stores s ON s.id = t.store_id "
            f"WHERE t.id IN ({','.join('?' * len(part))})",
            part,
        ):
            found[int(r[0])] = _thread_row(r, now)
    return [found[i] for i in ids if i in found]


def conversation(conn: Conn, thread_id: int, *, now: datetime) -> Conversation | None:
    """The thread with its messages (oldest first, attachments), draft and pending
    reply; ``None`` if it does not exist.  The caller checks the store."""
    rows = thread_rows(conn, [thread_id], now=now)
    if not rows:
        return None
    attachments: dict[int, list[AttachmentMeta]] = {}
    for a in conn.execute(
        "SELECT a.message_rowid, a.part, a.filename, a.content_type, a.size "
        "FROM attachments a JOIN messages m ON m.id = a.message_rowid "
        "WHERE m.thread_id = ? ORDER BY a.message_rowid, a.part",
        (thread_id,),
    ):
        attachments.setdefault(int(a[0]), []).append(
            AttachmentMeta(filename=a[2], content_type=a[3], size=int(a[4]), part=int(a[1]))
        )
    messages: list[MessageView] = []
    for m in conn.execute(
        "SELECT id, direction, received_at, subject, body, flags, send_state, send_error, "
        "no_response_url, message_id, folder, operator_id FROM messages "
        "WHERE thread_id = ? ORDER BY received_at, id",
        (thread_id,),
    ):
        received = from_db_time(m[2])
        assert received is not None
        messages.append(
            MessageView(
                rowid=int(m[0]),
                direction=Direction(m[1]),
                received_at=received,
                subject=m[3] or "",
                body=m[4] or "",
                attachments=tuple(attachments.get(int(m[0]), ())),
                flags=tuple(json.loads(m[5])) if m[5] else (),
                send_state=SendState(m[6]) if m[6] else None,
                send_error=m[7],
                no_response_url=m[8],
                message_id=m[9],
                folder=m[10],
                operator_id=None if m[11] is None else int(m[11]),
            )
        )
    draft = conn.execute("SELECT draft FROM threads WHERE id = ?", (thread_id,)).fetchone()
    return Conversation(
        thread=rows[0],
        messages=tuple(messages),
        draft=draft[0] if draft else None,
        pending=pending_reply(conn, thread_id),
    )


def counts(conn: Conn, visible: Iterable[int], *, now: datetime) -> InboxCounts:
    """How many threads of the ``visible`` stores are in each filter."""
    stores = sorted(set(visible))
    if not stores:
        return InboxCounts()
    stamp = to_db_time(now)
    soon = to_db_time(now + clock.SOON)
    r = conn.execute(
        f"SELECT count(*), sum(state IN {_NEEDS}), sum(due_at > ? AND due_at <= ?), "
        "sum(due_at <= ?), sum(flagged > 0), sum(state = 'no_response'), "
        "sum(state = 'replied'), sum(unread > 0) FROM threads "
        f"WHERE store_id IN ({','.join('?' * len(stores))})",
        (stamp, soon, stamp, *stores),
    ).fetchone()
    return InboxCounts(
        all=int(r[0] or 0),
        needs_reply=int(r[1] or 0),
        due_soon=int(r[2] or 0),
        overdue=int(r[3] or 0),
        flagged=int(r[4] or 0),
        no_response=int(r[5] or 0),
        replied=int(r[6] or 0),
        unread=int(r[7] or 0),
    )
