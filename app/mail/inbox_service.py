"""The inbox door: reading threads and conversations, drafts, "no response needed", read.

Reads return a :class:`~concurrent.futures.Future` at once (safe on the GUI thread;
``ui.ops.when_done`` delivers the result there).  Each runs as ONE job on the DB thread:
it first re-reads the caller (:func:`app.access.current_and_stores`), then hands an
:class:`InboxReader` bound to the caller as stored now and limited to the stores it may
see to the function given::

    services.inbox.read(actor, lambda r: r.thread_rows(r.thread_ids(query)))

Writes block (run them on a worker, ``ui.ops.Op``, or in the CLI): each checks the
caller for ``reply_to_buyers`` on the thread's store inside its transaction and
publishes :class:`~app.notices.ThreadsChanged` after commit.

Sending replies and fetching mail are the mail service's (``app/mail/service.py``); it
records sends with :func:`app.mail.repo.begin_reply` / ``finish_reply``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import datetime
from typing import Any, TypeVar

from app import access
from app.amazon.models import Store
from app.amazon.stores import load_stores
from app.audit import Action, AuditLog
from app.auth.models import Actor
from app.auth.rbac import Permission
from app.clock import Clock
from app.mail import repo
from app.mail.clock import time_left
from app.mail.repo import (
    Conversation,
    InboxCounts,
    MessageView,
    PendingReply,
    ReplyPending,
    ThreadFilter,
    ThreadNotFound,
    ThreadQuery,
    ThreadRow,
)
from app.notices import Notices, ThreadsChanged
from app.vault import Vault

# The query and result types of the door, for the UI (which never imports the repository).
__all__ = [
    "Conversation",
    "InboxCounts",
    "InboxReader",
    "InboxService",
    "MessageView",
    "PendingReply",
    "ReplyPending",
    "ThreadFilter",
    "ThreadNotFound",
    "ThreadQuery",
    "ThreadRow",
    "time_left",
]

T = TypeVar("T")
Conn = Any


class InboxReader:
    """The threads one caller may see.  DB thread, inside :meth:`InboxService.read`.

    ``actor`` is the caller as stored now, ``visible`` the ids of the stores it may see,
    ``now`` the service clock's time when the read began (urgency, due-soon filters).
    """

    def __init__(self, conn: Conn, actor: Actor, now: datetime) -> None:
        self._conn = conn
        self.actor, visible = access.current_and_stores(conn, actor)
        self.visible = frozenset(visible)
        self.now = now

    def thread_ids(self, query: ThreadQuery) -> list[int]:
        """Ids of the visible threads matching ``query``, due soonest first."""
        return repo.thread_ids(self._conn, self.visible, query, now=self.now)

    def thread_rows(self, ids: Sequence[int]) -> list[ThreadRow]:
        """Rows for ``ids`` in the same order; gone or not visible ones are left out."""
        return [
            r for r in repo.thread_rows(self._conn, ids, now=self.now) if r.store_id in self.visible
        ]

    def conversation(self, thread_id: int) -> Conversation | None:
        """The thread with its messages, draft and pending reply; ``None`` if it does not
        exist or its store is not visible to the caller."""
        found = repo.conversation(self._conn, thread_id, now=self.now)
        if found is None or found.thread.store_id not in self.visible:
            return None
        return found

    def counts(self) -> InboxCounts:
        """Threads per filter over the visible stores."""
        return repo.counts(self._conn, self.visible, now=self.now)

    def stores(self) -> list[Store]:
        """The visible stores, by name."""
        return [s for s in load_stores(self._conn) if s.id in self.visible]


class InboxService:
    """Thread: any for reads (Futures); writes block on the DB thread (worker or CLI)."""

    def __init__(self, *, vault: Vault, notices: Notices, clock: Clock, audit: AuditLog) -> None:
        self.vault = vault
        self.notices = notices
        self.clock = clock
        self.audit = audit

    # --- reads (DB thread, one job each) -------------------------------------------------

    def read(self, actor: Actor, fn: Callable[[InboxReader], T]) -> Future[T]:
        """Run ``fn(reader)`` on the DB thread, the reader bound to ``actor`` re-read now.
        The Future raises :class:`~app.errors.PermissionDenied` for a caller that no
        longer exists or is disabled."""
        now = self.clock.now()
        return self.vault.run(lambda conn: fn(InboxReader(conn, actor, now)))

    def counts(self, actor: Actor) -> Future[InboxCounts]:
        return self.read(actor, lambda r: r.counts())

    # --- writes (block) ------------------------------------------------------------------

    def _write(
        self,
        actor: Actor,
        thread_id: int,
        change: Callable[[Conn, Actor], T],
        *,
        changed: Callable[[T], bool] = lambda _result: True,
    ) -> T:
        """Run ``change(conn, caller)`` after checking ``reply_to_buyers`` on the thread's
        store; announce the thread after commit if ``changed(result)``.  Raises
        :class:`ThreadNotFound` and :class:`~app.errors.PermissionDenied`."""

        def write(conn: Conn) -> T:
            store_id = repo.thread_store(conn, thread_id)
            caller = access.current(conn, actor, Permission.REPLY_TO_BUYERS, store_id=store_id)
            result = change(conn, caller)
            if changed(result):
                self.notices.after_commit(
                    self.vault, ThreadsChanged(frozenset({store_id}), (thread_id,))
                )
            return result

        return self.vault.call_write(write)

    def save_draft(self, actor: Actor, thread_id: int, text: str) -> None:
        """Keep ``text`` as the thread's reply draft (blank: remove the draft)."""
        now = self.clock.now()
        self._write(
            actor, thread_id, lambda conn, _caller: repo.set_draft(conn, thread_id, text, now)
        )

    def mark_no_response(self, actor: Actor, thread_id: int) -> str | None:
        """Mark the thread "no response needed" (stops its clock until a new buyer
        message; audited).  Returns Amazon's link for the newest buyer message, to open
        in the browser so Amazon records it too, or ``None`` if it has none."""
        now = self.clock.now()

        def change(conn: Conn, caller: Actor) -> str | None:
            url = repo.mark_no_response(conn, thread_id, now)
            self.audit.append(
                conn,
                actor_id=access.audit_actor_id(caller),
                action=Action.THREAD_NO_RESPONSE,
                object_type="thread",
                object_id=thread_id,
            )
            return url

        return self._write(actor, thread_id, change)

    def mark_read(self, actor: Actor, thread_id: int) -> None:
        """Mark the thread's buyer messages read."""

        self._write(
            actor,
            thread_id,
            lambda conn, _caller: repo.mark_read(conn, thread_id),
            changed=lambda was_unread: was_unread,
        )
