"""The orders door: every read of stored orders, and fetching an order from Amazon now.

Reads return a :class:`~concurrent.futures.Future` at once (safe to call from the GUI
thread; ``ui.ops.when_done`` delivers the result there).  Each runs as ONE job on the DB
thread: it first re-reads the caller (:func:`app.access.current`), then hands an
:class:`OrdersReader` bound to the caller as stored now to the function given::

    services.orders.read(actor, lambda r: r.rows(r.search_ids(query, now)))

so a search and its first rows are one DB job, and an operator demoted or disabled
since sign-in sees what the database says now.  The reader shows only orders of the
stores the caller may see; it is valid only inside that function (it holds the
connection).

Fetching from Amazon (:meth:`OrdersService.fetch_order`, :meth:`open_order`) runs on the
job host's network lane.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import datetime
from typing import Any, TypeVar

from app import access
from app.amazon import orders_repo
from app.amazon.models import Order, OrderRow, Store
from app.amazon.orders_repo import OrderQuery, SortColumn, StoreCounts, seller_central_url
from app.amazon.stores import load_stores
from app.amazon.sync import SyncService
from app.auth.models import Actor
from app.auth.rbac import Permission
from app.errors import UserError
from app.jobs import JobHost, Lane
from app.vault import Vault

log = logging.getLogger("muttefik.sync")

# The query and result types of the door, for the UI (which never imports the repository).
__all__ = [
    "OrderQuery",
    "OrdersReader",
    "OrdersService",
    "SortColumn",
    "StoreCounts",
    "seller_central_url",
]

T = TypeVar("T")
Conn = Any


class OrdersReader:
    """The stored orders one caller may see.  DB thread, inside :meth:`OrdersService.read`.

    ``actor`` is the caller as stored now; ``visible`` the ids of the stores it may see.
    """

    def __init__(self, conn: Conn, actor: Actor) -> None:
        self._conn = conn
        self.actor, visible = access.current_and_stores(conn, actor)
        self.visible = frozenset(visible)

    def search_ids(self, query: OrderQuery, now: datetime | None = None) -> list[str]:
        """Ids of the visible orders matching ``query``, in its sort order."""
        return orders_repo.search_ids(self._conn, self.actor, query, now=now)

    def rows(self, ids: Sequence[str]) -> list[OrderRow]:
        """Summary rows for ``ids`` in the same order; ids that no longer exist, or whose
        store the caller may not see (any more), are left out."""
        return [r for r in orders_repo.fetch_rows(self._conn, ids) if r.store_id in self.visible]

    def get_order(self, order_id: str) -> Order | None:
        """The full order, or ``None`` if not stored.  Raises
        :class:`~app.errors.PermissionDenied` for an order of a store the caller may not
        see."""
        return orders_repo.get_order(self._conn, self.actor, order_id)

    def counts(self, now: datetime | None = None) -> list[StoreCounts]:
        """Order counts per visible store."""
        return orders_repo.count_orders(self._conn, self.actor, now=now)

    def stores(self) -> list[Store]:
        """The visible stores, by name."""
        return [s for s in load_stores(self._conn) if s.id in self.visible]

    def marketplaces(self) -> list[tuple[str, str]]:
        """(marketplace id, name) of the marketplaces in the visible stores' orders."""
        return orders_repo.marketplaces(self._conn, self.actor)


class OrdersService:
    """Thread: any (reads return Futures; nothing here blocks the caller)."""

    def __init__(self, *, vault: Vault, sync: SyncService, jobs: JobHost) -> None:
        self.vault = vault
        self.sync = sync
        self.jobs = jobs

    # --- reads (DB thread, one job each) -------------------------------------------------

    def read(self, actor: Actor, fn: Callable[[OrdersReader], T]) -> Future[T]:
        """Run ``fn(reader)`` on the DB thread, the reader bound to ``actor`` re-read now.
        The Future raises :class:`~app.errors.PermissionDenied` for a caller that no
        longer exists or is disabled."""
        return self.vault.run(lambda conn: fn(OrdersReader(conn, actor)))

    def search_ids(
        self, actor: Actor, query: OrderQuery, *, now: datetime | None = None
    ) -> Future[list[str]]:
        return self.read(actor, lambda r: r.search_ids(query, now))

    def get_order(self, actor: Actor, order_id: str) -> Future[Order | None]:
        return self.read(actor, lambda r: r.get_order(order_id))

    def counts(self, actor: Actor) -> Future[list[StoreCounts]]:
        return self.read(actor, lambda r: r.counts())

    def stores_and_marketplaces(
        self, actor: Actor
    ) -> Future[tuple[list[Store], list[tuple[str, str]]]]:
        """What the orders view's store filter offers: the visible stores and the
        marketplaces of their orders."""
        return self.read(actor, lambda r: (r.stores(), r.marketplaces()))

    # --- fetching from Amazon (network lane) -------------------------------------------

    def fetch_order(self, actor: Actor, order_id: str) -> Future[Order | None]:
        """An order not stored yet (the seller looked it up by its id), fetched at once
        from whichever of the caller's stores Amazon knows it in; ``None`` if none does."""
        return self.jobs.call(Lane.NET, lambda: self.sync.fetch_order(actor, order_id))

    def open_order(self, actor: Actor, store_id: int, order_id: str) -> Future[Order | None]:
        """The stored order, or (not stored yet, e.g. a buyer message refers to it) one
        fetched from Amazon at once with getOrder, ahead of the backfill.  An order
        stored from an order report (``details_pending``) is fetched too, for its
        packages and windows; if that fails, the report's copy is given."""

        def work() -> Order | None:
            def stored(conn: Conn) -> Order | None:
                access.current(conn, actor, Permission.VIEW_STORE, store_id=store_id)
                return orders_repo.get_order(conn, actor, order_id)

            found = self.vault.call(stored)
            if found is not None and not found.details_pending:
                return found
            if found is None:
                return self.sync.fetch_order_now(actor, store_id, order_id)
            try:
                return self.sync.fetch_order_now(actor, store_id, order_id) or found
            except UserError as exc:
                log.info("details of report order not fetched (%s)", exc.title)
                return found

        return self.jobs.call(Lane.NET, work)
