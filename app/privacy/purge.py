"""Erasing the buyer PII of threads: the purge's batch (and a deletion request's erase).

For each thread (:func:`purge_batch`, inside the caller's write transaction, so a batch
is erased whole or not at all):

- what we know of the buyer (:func:`app.mail.repo.thread_known_pii`: display name,
  names in subjects, the relay alias) is removed from every message's subject and body,
  the thread's subject and its draft by :func:`app.pii.redact`, which also detects
  names, addresses, phones and emails it was not told of; the conversation stays
  readable ("[NAME]", "[ADDRESS]" …);
- the search rows are re-written with the redacted texts and the thread's refs without
  the buyer's name (:func:`app.mail.repo.rewrite_texts`; the index deletes securely);
- the display name is cleared, the alias replaced by ``purged-<thread id>@invalid``
  (unique, so the threads' unique key holds; a new message from the buyer starts a new
  thread), attachment file names become ``attachment-<part>[.ext]`` (type and size
  stay), and ``pii_purged_at`` is set so the thread is never purged twice.

Orders, counts, times and states stay.  A dry run reads and redacts the same way and
writes nothing.  Nothing here checks a caller, logs text or names: counts only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from app.amazon.orders_repo import to_db_time
from app.fulfillment import repo as fulfillment_repo
from app.mail import repo as mail_repo
from app.pii import KnownPII, known_matcher, redact
from app.privacy.models import PurgeCounts

Conn = Any

_EXTENSION = re.compile(r"\.([A-Za-z0-9]{1,5})$")


def purged_alias(thread_id: int) -> str:
    """What replaces an erased thread's relay alias."""
    return f"purged-{thread_id}@invalid"


def attachment_name(part: int, filename: str) -> str:
    """An attachment's name once its thread is purged: the part and the extension."""
    ext = _EXTENSION.search(filename)
    return f"attachment-{part}" + (f".{ext.group(1).lower()}" if ext else "")


class _Redactor:
    """One thread's redaction: what is known of its buyer compiled once, and the same
    text (the thread's subject is its newest message's) redacted once."""

    def __init__(self, known: KnownPII, marketplace: str | None) -> None:
        self.known, self.marketplace = known, marketplace
        self._matcher = known_matcher(known, marketplace) if known else None
        self._done: dict[str, str] = {}

    def __call__(self, text: str | None) -> str | None:
        if not text:
            return text
        found = self._done.get(text)
        if found is None:
            found = redact(
                text, self.known, marketplace=self.marketplace, matcher=self._matcher
            ).text
            self._done[text] = found
        return found


def purge_thread(conn: Conn, thread_id: int, *, now: datetime, dry_run: bool) -> PurgeCounts:
    """Erase one thread's buyer PII (see the module docstring).  A thread already
    purged, or gone, counts nothing."""
    t = conn.execute(
        "SELECT subject, draft, marketplace_domain FROM threads "
        "WHERE id = ? AND pii_purged_at IS NULL",
        (thread_id,),
    ).fetchone()
    if t is None:
        return PurgeCounts()
    subject, draft, marketplace = t[0], t[1], t[2] or None
    redacted = _Redactor(mail_repo.thread_known_pii(conn, thread_id), marketplace)
    texts: list[tuple[int, str | None, str]] = []
    for rowid, m_subject, body in conn.execute(
        "SELECT id, subject, body FROM messages WHERE thread_id = ?", (thread_id,)
    ).fetchall():
        new_subject = redacted(m_subject)
        new_body = redacted(body) or ""
        if new_subject != m_subject or new_body != body:
            texts.append((int(rowid), new_subject, new_body))
    attachments = conn.execute(
        "SELECT a.message_rowid, a.part, a.filename FROM attachments a "
        "JOIN messages m ON m.id = a.message_rowid WHERE m.thread_id = ?",
        (thread_id,),
    ).fetchall()
    counts = PurgeCounts(
        threads=1,
        messages=len(texts),
        drafts=1 if draft else 0,
        attachments=len(attachments),
    )
    if dry_run:
        return counts
    conn.execute(
        "UPDATE threads SET alias = ?, buyer_display_name = NULL, subject = ?, draft = ?, "
        "pii_purged_at = ? WHERE id = ?",
        (
            purged_alias(thread_id),
            redacted(subject),
            redacted(draft),
            to_db_time(now),
            thread_id,
        ),
    )
    conn.executemany(
        "UPDATE attachments SET filename = ? WHERE message_rowid = ? AND part = ?",
        [(attachment_name(part, name), rowid, part) for rowid, part, name in attachments],
    )
    # After the thread's name is cleared: the search rows get refs without it.
    mail_repo.rewrite_texts(conn, thread_id, texts)
    return counts


def add(a: PurgeCounts, b: PurgeCounts) -> PurgeCounts:
    """The sum of two counts, kind by kind."""
    return PurgeCounts(**{k: v + getattr(b, k) for k, v in a.as_dict().items()})


def purge_batch(
    conn: Conn,
    thread_ids: Sequence[int],
    *,
    as_of: datetime,
    dry_run: bool,
    now: datetime | None = None,
) -> PurgeCounts:
    """Erase the buyer PII of ``thread_ids`` inside the caller's write transaction
    (``vault.write``: one batch, one transaction).  ``now`` (default ``as_of``) is
    recorded as each thread's ``pii_purged_at``."""
    if not dry_run and not conn.in_transaction:
        raise RuntimeError("purge_batch must run inside a write transaction")
    total = PurgeCounts()
    for thread_id in thread_ids:
        total = add(total, purge_thread(conn, thread_id, now=now or as_of, dry_run=dry_run))
    return total


def purge_label_cache(conn: Conn, *, as_of: datetime, dry_run: bool) -> int:
    """Delete the reprint cache's expired labels (encrypted, at most 24 hours old)."""
    if dry_run:
        stamp = to_db_time(as_of)
        return int(
            conn.execute(
                "SELECT count(*) FROM label_cache WHERE expires_at <= ?", (stamp,)
            ).fetchone()[0]
        )
    return fulfillment_repo.cache_purge(conn, as_of)


def search_secure_delete(conn: Conn, on: bool) -> None:
    """Turn the search index's ``secure-delete`` on or off (inside the caller's
    transaction: a rollback restores it).  Off only within a bulk batch whose run ends
    by merging the index (:func:`merge_search_index_step`)."""
    conn.execute(
        "INSERT INTO messages_fts(messages_fts, rank) VALUES ('secure-delete', ?)", (int(on),)
    )


#: Index pages one merge step writes (about 50 ms on the DB thread: the inbox's reads
#: get their turn between steps).
MERGE_PAGES = 200


def merge_search_index_step(conn: Conn, pages: int = MERGE_PAGES) -> bool:
    """Merge about ``pages`` pages of the search index (a negative ``merge``: every level
    with two segments or more takes part, as ``optimize`` would do at once).  Entries
    deleted without ``secure-delete`` leave the index as their segments are merged (the
    old pages are freed, and zeroed: the vault's ``secure_delete`` pragma).  True while
    there is more to merge (FTS5 changes fewer than two rows when nothing was left)."""
    before = conn.total_changes
    conn.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('merge', ?)", (-pages,))
    return bool(conn.total_changes - before >= 2)
