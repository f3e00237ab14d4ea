"""The orders view's entry point: the repository's reads as Futures, plus "open order".

Every method returns a :class:`~concurrent.futures.Future` at once (safe to call from
the GUI thread); the work runs on the DB thread or the network pool.  ``ui/ops.py``
delivers results back on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor, Future
from datetime import datetime

from app.amazon import orders_repo
from app.amazon.models import Order, OrderRow
from app.amazon.orders_repo import OrderQuery, StoreCounts
from app.amazon.sync import SyncService
from app.auth.models import Actor
from app.vault import Vault


class OrdersService:
    def __init__(self, *, vault: Vault, sync: SyncService, net: Executor) -> None:
        self.vault = vault
        self.sync = sync
        self.net = net

    def search_ids(
        self, actor: Actor, query: OrderQuery, *, now: datetime | None = None
    ) -> Future[list[str]]:
        return self.vault.run(lambda conn: orders_repo.search_ids(conn, actor, query, now=now))

    def fetch_rows(self, ids: Sequence[str]) -> Future[list[OrderRow]]:
        wanted = list(ids)
        return self.vault.run(lambda conn: orders_repo.fetch_rows(conn, wanted))

    def get_order(self, actor: Actor, order_id: str) -> Future[Order | None]:
        return self.vault.run(lambda conn: orders_repo.get_order(conn, actor, order_id))

    def counts(self, actor: Actor) -> Future[list[StoreCounts]]:
        return self.vault.run(lambda conn: orders_repo.count_orders(conn, actor))

    def open_order(self, actor: Actor, store_id: int, order_id: str) -> Future[Order | None]:
        """The stored order, or (not stored yet, e.g. a buyer message refers to it) one
        fetched from Amazon at once with getOrder, ahead of the backfill."""

        def work() -> Order | None:
            found = self.vault.call(lambda conn: orders_repo.get_order(conn, actor, order_id))
            if found is not None:
                return found
            return self.sync.fetch_order_now(actor, store_id, order_id)

        return self.net.submit(work)
