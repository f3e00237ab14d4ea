"""Change notices: what a service call changed, published after its commit.

After Anki's ``OpChanges``.  A mutating service method publishes one typed notice per
kind of change, *after* its transaction committed (a rolled-back change announces
nothing), through :meth:`Notices.after_commit` from inside its ``vault.write``
function::

    def write(conn):
        ...
        self.notices.after_commit(self.vault, OrdersChanged(store_ids=frozenset({store_id})))

Progress of running jobs (a sync's pages) is published with :meth:`Notices.publish`
directly: it describes no committed change.

Subscribers name the notice class they want (``subscribe(OrdersChanged, fn)``) and get
the notice object; ``ui/events.py`` re-emits every notice on the GUI thread, so a view
refreshes from the notices it cares about without any list of names to keep up to date.
Handlers run on the publishing thread (often the DB thread): keep them short and never
block in them.

Thread: any.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from app.amazon.models import HistoryProgress, SyncProgress, SyncResult
    from app.errors import UserError
    from app.vault import Vault

log = logging.getLogger("muttefik.notices")


@dataclass(frozen=True)
class Notice:
    """Base class: every notice is a frozen dataclass naming what changed."""


# --- committed changes ------------------------------------------------------------------


@dataclass(frozen=True)
class OrdersChanged(Notice):
    """Orders of these stores were added or changed (``order_ids``: which, if known)."""

    store_ids: frozenset[int]
    order_ids: tuple[str, ...] = ()
    new: int = 0


@dataclass(frozen=True)
class StoresChanged(Notice):
    """A store was added, edited, removed, or its credentials changed."""

    store_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class OperatorsChanged(Notice):
    """Operator accounts changed (added, edited, role, stores, enabled, lock, MFA)."""

    operator_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class SettingsChanged(Notice):
    keys: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AuditAppended(Notice):
    """New audit entries up to ``last_seq`` were committed."""

    last_seq: int = 0


@dataclass(frozen=True)
class ThreadsChanged(Notice):
    """Buyer-message threads were added or changed (new mail, a reply, a state)."""

    store_ids: frozenset[int]
    thread_ids: tuple[int, ...] = ()
    new_messages: int = 0  # new buyer messages (a tray notification names the count)


@dataclass(frozen=True)
class ShipmentsChanged(Notice):
    """Labels were bought, voided, printed or their tracking refreshed (``order_ids``),
    or package presets, shipping defaults or label printers changed (no order ids)."""

    store_ids: frozenset[int] = frozenset()
    order_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class MailAccountsChanged(Notice):
    store_ids: frozenset[int] = frozenset()


# --- job progress (not committed changes) ---------------------------------------------


@dataclass(frozen=True)
class SyncStarted(Notice):
    store_id: int


@dataclass(frozen=True)
class SyncProgressed(Notice):
    progress: SyncProgress


@dataclass(frozen=True)
class SyncFinished(Notice):
    result: SyncResult


@dataclass(frozen=True)
class SyncFailed(Notice):
    store_id: int
    error: UserError


@dataclass(frozen=True)
class HistoryProgressed(Notice):
    """A store's order history load (Amazon's order reports) moved on."""

    progress: HistoryProgress


@dataclass(frozen=True)
class HistoryFinished(Notice):
    """A history load ended: ``state`` done, cancelled or failed (``error``: the
    seller's words)."""

    store_id: int
    state: str
    orders: int
    error: str | None = None


@dataclass(frozen=True)
class MailFetchFailed(Notice):
    """A store's mailbox could not be read (the inbox shows it; the job retries)."""

    store_id: int
    error: UserError


N = TypeVar("N", bound=Notice)
Handler = Callable[[Any], None]


class Notices:
    """The typed publish/subscribe hub every service publishes its notices to."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handlers: list[tuple[type[Notice], Handler]] = []

    def subscribe(self, kind: type[N], handler: Callable[[N], None]) -> Callable[[], None]:
        """Call ``handler(notice)`` for every published notice of class ``kind`` (or a
        subclass; ``Notice`` itself means all).  Returns the unsubscribe function."""
        entry: tuple[type[Notice], Handler] = (kind, handler)
        with self._lock:
            self._handlers.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._handlers:
                    self._handlers.remove(entry)

        return unsubscribe

    def publish(self, notice: Notice) -> None:
        with self._lock:
            handlers = [h for kind, h in self._handlers if isinstance(notice, kind)]
        for handler in handlers:
            try:
                handler(notice)
            except Exception:  # a bad subscriber must not break the publisher
                log.exception("handler for %s failed", type(notice).__name__)

    def after_commit(self, vault: Vault, notice: Notice) -> None:
        """Publish ``notice`` once the current ``vault.write`` commits (DB thread only)."""
        vault.after_commit(lambda: self.publish(notice))
