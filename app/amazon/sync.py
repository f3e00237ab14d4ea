"""Order sync: searchOrders pages into the vault, within Amazon's rate limits.

One run of :meth:`SyncService.sync_store` does, in order:

1. finish a page walk that an earlier run left half-done (saved pagination token);
2. the incremental walk: orders updated since the cursor (``lastUpdatedAfter``); the
   cursor then moves to the upper bound Amazon applied to that walk;
3. the backfill: back to the ``sync.backfill_days`` setting in one window (searchOrders
   pages oldest first; each extra window would end in a part-filled page, a request
   wasted).  A first sync's cursor is its window's bound; the next sync catches up
   from there (no trailing call that would almost always come back empty).  An order
   a buyer writes about, or the seller opens, is fetched at once (``fetch_order_now``)
   whatever the backfill's progress.

Every page is stored in one transaction together with the position of the next page,
so a crash or cancel loses nothing and repeats nothing; a failed page is retried (5xx,
network, unreadable reply: exponential back-off; 429: wait for the bucket, never
fatal), never skipped.  Upserts are idempotent and the newest ``lastUpdatedTime``
wins.  The searchOrders rate bucket is saved when a run ends (``rate_buckets``) and
each run, in this process or another, starts from it.

Permissions: ``sync_orders`` on the store (agents on their own stores, admins and the
system principal :data:`app.access.SYSTEM` on every store), checked with
:func:`app.access.current` on the DB thread before the run starts; the system's audit
entries carry no operator id.

Thread: the reads (``sync_state``, ``last_success``) return futures of the DB thread;
``sync_store``, ``fetch_order`` and ``fetch_order_now`` block: run them on a worker
(network or long lane).

Notices (``core.notices``): ``OrdersChanged`` after each stored page commits (DB
thread); ``SyncStarted``, ``SyncProgressed``, ``SyncFinished`` and ``SyncFailed`` on
the sync's thread.
"""

from __future__ import annotations

import logging
import math
import random
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from app import access, settings
from app.amazon import bucket_repo, orders_repo
from app.amazon.mapping import parse_order, parse_orders
from app.amazon.models import Order, Store, SyncPhase, SyncProgress, SyncResult, SyncState
from app.amazon.ratelimit import Backoff, BucketState, RateLimits, Waiter, event_wait
from app.amazon.spapi import InvalidPageToken, ThrottledError
from app.amazon.spapi.orders import (
    GET_ORDER,
    SEARCH_ORDERS,
    SYNC_INCLUDED_DATA,
    ClientFactory,
    OrderNotFound,
    OrdersApi,
    Page,
    real_client_factory,
)
from app.amazon.stores import StoreService, load_store, read_credentials
from app.audit import Action, AuditLog, make_audit_log
from app.auth.models import Actor
from app.auth.rbac import Permission
from app.clock import Clock
from app.errors import (
    AmazonBadResponse,
    AmazonServerError,
    InternalError,
    NetworkDown,
    OperationCancelled,
    StoreSettingsInvalid,
    SyncAlreadyRunning,
    UserError,
)
from app.notices import (
    Notices,
    OrdersChanged,
    SyncFailed,
    SyncFinished,
    SyncProgressed,
    SyncStarted,
)
from app.secrets import SecretStore
from app.vault import Vault

log = logging.getLogger("muttefik.sync")
Conn = Any
API = "orders-2026-01-01"
ProgressFn = Callable[[SyncProgress], None]


def _rate_of(result: Any) -> float | None:
    """The ``x-amzn-RateLimit-Limit`` an answer carries: ``Page.rate_limit``-like, or
    the second item of a ``(value, rate)`` pair."""
    if isinstance(result, tuple):
        rate = result[1] if len(result) > 1 else None
    else:
        rate = getattr(result, "rate_limit", None)
    return float(rate) if isinstance(rate, int | float) and not isinstance(rate, bool) else None


@dataclass
class Cursor:
    """The ``sync_cursors`` row of one store (times as Amazon-format text)."""

    cursor: str | None = None
    backfilled_to: str | None = None
    window_kind: str | None = None  # "incremental" / "backfill" while a walk is open
    window_start: str | None = None
    window_end: str | None = None
    page_token: str | None = None
    last_success: str | None = None
    last_error: str | None = None


def load_cursor(conn: Conn, store_id: int) -> Cursor:
    r = conn.execute(
        "SELECT cursor, backfilled_to, window_kind, window_start, window_end, page_token, "
        "last_success, last_error FROM sync_cursors WHERE store_id = ? AND api = ?",
        (store_id, API),
    ).fetchone()
    return Cursor() if r is None else Cursor(*r)


def save_cursor(conn: Conn, store_id: int, c: Cursor, now: datetime) -> None:
    conn.execute(
        "INSERT INTO sync_cursors(store_id, api, cursor, backfilled_to, window_kind, "
        "window_start, window_end, page_token, last_success, last_error, updated_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(store_id, api) DO UPDATE SET "
        "cursor=excluded.cursor, backfilled_to=excluded.backfilled_to, "
        "window_kind=excluded.window_kind, window_start=excluded.window_start, "
        "window_end=excluded.window_end, page_token=excluded.page_token, "
        "last_success=excluded.last_success, last_error=excluded.last_error, "
        "updated_at=excluded.updated_at",
        (
            store_id,
            API,
            c.cursor,
            c.backfilled_to,
            c.window_kind,
            c.window_start,
            c.window_end,
            c.page_token,
            c.last_success,
            c.last_error,
            orders_repo.to_db_time(now),
        ),
    )


def _t(text: str | None) -> datetime | None:
    return orders_repo.from_db_time(text)


def _run_kind(c: Cursor, target: datetime) -> str:
    """What the audit log calls a run: "initial" before any page is stored,
    "backfill" until the history reaches ``target`` (a resumed first window too),
    "incremental" after."""
    done = _t(c.backfilled_to)
    if done is None and not c.cursor and c.window_kind is None:
        return "initial"
    return "incremental" if done is not None and done <= target else "backfill"


@dataclass
class _Run:
    store_id: int
    cancel: threading.Event
    progress: ProgressFn | None
    client: OrdersApi
    cursor: Cursor
    target: datetime
    started: datetime
    pages: int = 0
    orders: int = 0
    new: int = 0
    throttled: int = 0
    retries: int = 0
    attention: int = 0  # odd orders stored as needing attention, or left out
    # For the estimate: (window_start, pages) it was read for, the open window's stored
    # orders and the newest purchase time among them.
    eta_basis: tuple[tuple[str | None, int], int, datetime | None] | None = None
    phase: SyncPhase = SyncPhase.STARTING
    seen: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _PendingPage:
    """A fetched page whose write is under way on the DB thread."""

    write: Future[orders_repo.UpsertStats]
    after: Cursor  # the position saved with it
    fetched: int  # orders on the page


class SyncService:
    """Syncs orders of one store at a time per store.  See the module docstring."""

    def __init__(
        self,
        *,
        vault: Vault,
        secrets: SecretStore,
        clock: Clock,
        notices: Notices,
        client_factory: ClientFactory | None = None,
        stores: StoreService | None = None,
        audit: AuditLog | None = None,
        limits: RateLimits | None = None,
        waiter: Waiter = event_wait,
        retry_base: float = 2.0,
        retry_attempts: int = 5,
        page_size: int = 100,
        rng: random.Random | None = None,
    ) -> None:
        self.vault = vault
        self.clock = clock
        self.notices = notices
        self.client_factory = client_factory or real_client_factory()
        self.audit = audit or make_audit_log(vault, secrets, clock=clock, key=vault.audit_key)
        self.stores = stores or StoreService(
            vault=vault, secrets=secrets, clock=clock, notices=notices, audit=self.audit
        )
        self.limits = limits or RateLimits(clock)
        self.waiter = waiter
        self.retry_base = retry_base
        self.retry_attempts = retry_attempts
        self.page_size = page_size
        self._rng = rng or random.Random()
        self._locks: dict[int, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _lock_for(self, store_id: int) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(store_id, threading.Lock())

    def is_running(self, store_id: int) -> bool:
        return self._lock_for(store_id).locked()

    # --- public API ------------------------------------------------------------------

    def sync_state(self, actor: Actor, store_id: int) -> Future[SyncState]:
        """Where the store's sync stands (status bar)."""

        def read(conn: Conn) -> SyncState:
            access.current(conn, actor, Permission.VIEW_STORE, store_id)
            c = load_cursor(conn, store_id)
            days = settings.get(conn, settings.SYNC_BACKFILL_DAYS)
            return SyncState(
                store_id=store_id,
                cursor=_t(c.cursor),
                backfilled_to=_t(c.backfilled_to),
                backfill_target=self.clock.now() - timedelta(days=days),
                last_success=_t(c.last_success),
                last_error=c.last_error,
                running=self.is_running(store_id),
            )

        return self.vault.run(read)

    def last_success(self, actor: Actor) -> Future[datetime | None]:
        """When the latest successful sync of a store the caller may see ended (status
        bar); ``None`` if none has."""

        def read(conn: Conn) -> datetime | None:
            visible = access.visible_stores(conn, actor)
            times = [_t(load_cursor(conn, s).last_success) for s in visible]
            known = [t for t in times if t is not None]
            return max(known) if known else None

        return self.vault.run(read)

    def sync_store(
        self,
        actor: Actor,
        store_id: int,
        cancel: threading.Event,
        progress: ProgressFn | None = None,
    ) -> SyncResult:
        """Run one sync of ``store_id`` (see module docstring).  Network pool thread.

        Returns the result (``cancelled=True`` if ``cancel`` was set: it stops between
        pages or while waiting).  Raises the seller-facing error when a page still fails
        after retries; what was stored stays, and the next run continues there.
        """
        self.vault.call(lambda conn: access.current(conn, actor, Permission.SYNC_ORDERS, store_id))
        lock = self._lock_for(store_id)
        if not lock.acquire(blocking=False):
            raise SyncAlreadyRunning()
        try:
            self.notices.publish(SyncStarted(store_id))
            return self._sync_locked(actor, store_id, cancel, progress)
        finally:
            lock.release()

    def fetch_order(self, actor: Actor, order_id: str) -> Order | None:
        """Fetch an order not stored yet (the seller looked it up) from whichever of the
        actor's stores Amazon knows it in.  ``None`` if none does.  Network pool thread.

        Raises the last store's error if no store found it and one of them failed, so
        a network problem is not reported as "no such order".
        """
        failure: UserError | None = None
        for store in self.stores.list_stores(actor).result():
            if not self.stores.has_credentials(actor, store.id):
                continue
            try:
                order = self.fetch_order_now(actor, store.id, order_id)
            except UserError as exc:
                failure = exc
                continue
            if order is not None:
                return order
        if failure is not None:
            raise failure
        return None

    def fetch_order_now(
        self, actor: Actor, store_id: int, order_id: str, *, retry: bool = True
    ) -> Order | None:
        """Fetch one order with getOrder (its own rate bucket: ahead of the backfill),
        store it and return it; ``None`` if Amazon does not know it (a stored copy is
        kept).  ``retry=False``: one attempt (the mail check fetches the orders buyers
        write about and tries again next round).  Network pool thread."""
        store = self.vault.call(lambda conn: self._store(conn, actor, store_id))
        client = self.client_factory(store, read_credentials(self.stores.secrets, store_id))
        cancel = threading.Event()
        try:
            data = self._with_retries(
                store_id,
                GET_ORDER,
                cancel,
                None,
                lambda: client.get_order(order_id, SYNC_INCLUDED_DATA),
                retry=retry,
            )
        except OrderNotFound:
            return None
        finally:
            client.close()
        order = parse_order(data[0], store_id=store_id, now=self.clock.now())
        now = self.clock.now()
        stats = self.vault.call_write(
            lambda conn: orders_repo.upsert_orders(conn, [order], now=now)
        )
        if stats.written:  # committed: call_write returned
            changed = OrdersChanged(frozenset({store_id}), tuple(stats.ids), stats.new)
            self.notices.publish(changed)
        return self.vault.call(lambda conn: orders_repo.get_order(conn, actor, order_id))

    # --- one run -----------------------------------------------------------------------

    @staticmethod
    def _store(conn: Conn, actor: Actor, store_id: int) -> Store:
        """DB thread: the store, once the caller is checked for ``sync_orders`` on it."""
        access.current(conn, actor, Permission.SYNC_ORDERS, store_id)
        store = load_store(conn, store_id)
        if store is None:
            raise StoreSettingsInvalid("This store no longer exists.")
        return store

    def _sync_locked(
        self, actor: Actor, store_id: int, cancel: threading.Event, progress: ProgressFn | None
    ) -> SyncResult:
        def prepare(conn: Conn) -> tuple[Store, int, Cursor, BucketState | None]:
            store = self._store(conn, actor, store_id)
            days = settings.get(conn, settings.SYNC_BACKFILL_DAYS)
            left = bucket_repo.load_bucket(conn, store_id, SEARCH_ORDERS)
            return store, days, load_cursor(conn, store_id), left

        store, days, cursor, left = self.vault.call(prepare)
        if left is not None:  # Amazon's bucket is the seller's, not this process's
            self.limits.restore(store_id, SEARCH_ORDERS, left)
        creds = read_credentials(self.stores.secrets, store_id)
        started = self.clock.now()
        kind = _run_kind(cursor, started - timedelta(days=days))
        self._audit(actor, Action.SYNC_STARTED, store_id, {"kind": kind, "since": cursor.cursor})
        run = _Run(
            store_id=store_id,
            cancel=cancel,
            progress=progress,
            client=self.client_factory(store, creds),
            cursor=cursor,
            target=started - timedelta(days=days),
            started=started,
        )
        log.info("sync of store %d started (%s)", store_id, kind)
        try:
            self._walks(run)
        except OperationCancelled:
            return self._finish(actor, run, kind, cancelled=True)
        except UserError as exc:
            self._fail(actor, run, kind, exc)
            raise
        except Exception as exc:  # a bug: still record that the sync failed, as a bug
            self._fail(actor, run, kind, InternalError(detail=type(exc).__name__))
            raise
        finally:
            run.client.close()
            self._save_bucket(store_id)
        return self._finish(actor, run, kind, cancelled=False)

    def _save_bucket(self, store_id: int) -> None:
        """Leave the rate bucket for the next process (the CLI after the app...)."""
        state = self.limits.bucket(store_id, SEARCH_ORDERS).state()
        try:
            self.vault.call_write(
                lambda conn: bucket_repo.save_bucket(conn, store_id, SEARCH_ORDERS, state)
            )
        except Exception as exc:  # the next process starts with a full bucket: a 429
            log.info("rate bucket of store %d not saved (%s)", store_id, type(exc).__name__)

    def _walks(self, run: _Run) -> None:
        c = run.cursor
        if c.window_kind == "incremental":
            self._walk_incremental(run)
        elif c.window_kind == "backfill":
            self._walk_backfill(run)
        if c.cursor:
            self._walk_incremental(run)
        # A first sync asks for no changes after its backfill (almost always an empty
        # call that spends a token): its cursor is the first window's bound, so the
        # next sync fetches what changed meanwhile.
        while not self._backfill_done(run):
            self._next_backfill_window(run)
            self._walk_backfill(run)

    def _backfill_done(self, run: _Run) -> bool:
        done = _t(run.cursor.backfilled_to)
        return done is not None and done <= run.target

    def _next_backfill_window(self, run: _Run) -> None:
        c = run.cursor
        done = _t(c.backfilled_to)
        # One window down to the target: every window ends in a part-filled page.
        c.window_start = orders_repo.to_db_time(run.target)
        c.window_end = None if done is None else c.backfilled_to
        c.window_kind, c.page_token = "backfill", None

    def _walk_incremental(self, run: _Run) -> None:
        c = run.cursor
        if c.window_kind != "incremental":
            c.window_kind, c.window_start, c.window_end, c.page_token = (
                "incremental",
                c.cursor,
                None,
                None,
            )
        run.phase = SyncPhase.INCREMENTAL
        self._walk(run, {"lastUpdatedAfter": c.window_start})
        # Done: orders updated up to the bound Amazon applied are in.
        c.cursor = c.window_end or c.cursor
        c.window_kind = c.window_start = c.window_end = c.page_token = None
        self._save(run)

    def _walk_backfill(self, run: _Run) -> None:
        c = run.cursor
        run.phase = SyncPhase.BACKFILL
        params: dict[str, Any] = {"createdAfter": c.window_start}
        first_window = c.backfilled_to is None
        if not first_window:
            # The first window asks for no bound (Amazon applies one and says which);
            # a resumed walk sends the same query, or its page token is refused.
            params["createdBefore"] = c.window_end
        self._walk(run, params)
        if first_window and c.cursor is None:
            # The incremental sync starts where this first window's bound ended.
            c.cursor = c.window_end
        c.backfilled_to = c.window_start
        c.window_kind = c.window_start = c.window_end = c.page_token = None
        self._save(run)

    def _walk(self, run: _Run, base: dict[str, Any]) -> None:
        """Fetch the pages of one window and store each with the position after it.

        While page N is written (DB thread), page N+1 is already fetched and parsed if
        the rate bucket has a token for it at once, so network and disk overlap during a
        burst or an unthrottled server.  Page N's write is waited for (and reported)
        before page N+1's is submitted, before any wait for the rate limit, and before
        this returns or raises; ``run.cursor`` only ever moves to a committed position,
        so a failure never saves a position past a page that was not stored.
        """
        c = run.cursor
        token, window_end = c.page_token, c.window_end
        bucket = self.limits.bucket(run.store_id, SEARCH_ORDERS)
        pending: _PendingPage | None = None
        try:
            while True:
                if run.cancel.is_set():
                    raise OperationCancelled()
                if pending is not None and bucket.eta(1) > 0:
                    # The next page has to wait: report this one now, not after the wait.
                    done, pending = pending, None
                    self._stored(run, done)
                params = dict(base)
                params["maxResultsPerPage"] = self.page_size
                params["includedData"] = list(SYNC_INCLUDED_DATA)
                if token:
                    params["paginationToken"] = token
                try:
                    page: Page = self._with_retries(
                        run.store_id,
                        SEARCH_ORDERS,
                        run.cancel,
                        run,
                        lambda params=params: run.client.search_orders(params),  # type: ignore[misc]
                    )
                except InvalidPageToken:
                    if not token:
                        raise
                    log.info("pagination token refused; restarting the window")
                    token = None
                    continue
                now = self.clock.now()
                # An odd order is stored as needing attention; the page goes on.
                orders, left_out = parse_orders(page.orders, store_id=run.store_id, now=now)
                run.attention += left_out
                for odd in orders:
                    if odd.attention:
                        run.attention += 1
                        log.warning("order %s needs attention: %s", odd.order_id, odd.attention)
                if window_end is None and page.upper_bound:
                    window_end = page.upper_bound
                token = page.next_token
                after = replace(c, window_end=window_end, page_token=token)

                def store_page(
                    conn: Conn,
                    orders: list[Order] = orders,
                    after: Cursor = after,
                    now: datetime = now,
                ) -> orders_repo.UpsertStats:
                    stats = orders_repo.upsert_orders(conn, orders, now=now)
                    save_cursor(conn, run.store_id, after, now)
                    if stats.ids:
                        ids = tuple(stats.ids)
                        changed = OrdersChanged(frozenset({run.store_id}), ids, stats.new)
                        self.notices.after_commit(self.vault, changed)
                    return stats

                if pending is not None:
                    done, pending = pending, None
                    self._stored(run, done)
                pending = _PendingPage(self.vault.write(store_page), after, len(orders))
                if not token:
                    return
        finally:
            if pending is not None:
                self._stored(run, pending)

    def _stored(self, run: _Run, page: _PendingPage) -> None:
        """Wait for ``page``'s write (raises its error), then move the cursor and report."""
        stats = page.write.result()
        run.cursor.window_end, run.cursor.page_token = page.after.window_end, page.after.page_token
        run.pages += 1
        run.orders += stats.written
        run.new += stats.new
        self._report(run)

    def call_amazon(
        self,
        store_id: int,
        operation: str,
        cancel: threading.Event,
        call: Callable[[], Any],
        *,
        retry: bool = True,
    ) -> Any:
        """One SP-API request of another service (the order history load) through the
        store's rate bucket for ``operation`` (shared with the sync) and the sync's
        retries.  ``call``'s answer carries ``rate_limit`` (or is ``(value, rate)``)."""
        return self._with_retries(store_id, operation, cancel, None, call, retry=retry)

    def _with_retries(
        self,
        store_id: int,
        operation: str,
        cancel: threading.Event,
        run: _Run | None,
        call: Callable[[], Any],
        *,
        retry: bool = True,
    ) -> Any:
        """One request through the rate bucket, retried until it succeeds or a
        non-transient error (credentials, role, TLS) or the retry budget ends.  A 429
        is never fatal: it is waited out, and repeated ones slow the bucket down.
        ``retry=False``: a server or network error is raised at once (a caller that
        tries again later anyway)."""
        bucket = self.limits.bucket(store_id, operation)
        backoff = Backoff(base=self.retry_base, attempts=self.retry_attempts, rng=self._rng)
        while True:
            wait = bucket.eta(1)
            if run is not None and wait > 1.0:
                self._report(run, waiting=wait)
            bucket.acquire(cancel, waiter=self.waiter)
            try:
                result = call()
            except ThrottledError as exc:
                bucket.throttled()
                if exc.rate_limit:
                    bucket.set_rate(exc.rate_limit)
                if run is not None:
                    run.throttled += 1
                # Never fatal: the bucket slows down until Amazon's real rate is met.
                jitter = self._rng.random() * 0.25 / bucket.rate
                if self.waiter(cancel, jitter):
                    raise OperationCancelled() from exc
                continue
            except InvalidPageToken:
                raise
            except (AmazonServerError, NetworkDown, AmazonBadResponse) as exc:
                if not retry:
                    raise
                delay = backoff.next_delay()
                log.warning("%s failed (%s: %s); retrying", operation, exc.title, exc.detail)
                if delay is None:
                    raise
                if run is not None:
                    run.retries += 1
                if self.waiter(cancel, delay):
                    raise OperationCancelled() from exc
                continue
            rate = _rate_of(result)
            if rate:
                bucket.set_rate(rate)
            bucket.succeeded()
            return result

    # --- bookkeeping -------------------------------------------------------------------

    def _save(self, run: _Run) -> None:
        now = self.clock.now()
        self.vault.call_write(lambda conn: save_cursor(conn, run.store_id, run.cursor, now))

    def _eta(self, run: _Run) -> float | None:
        """Seconds the rest of the backfill window should take at the bucket's rate.

        searchOrders pages a window oldest first, so the window's stored orders and the
        newest purchase time among them say how far through it the walk is and at what
        density; the orders expected in the span still ahead, in pages, at the bucket's
        rate.  ``None`` outside a backfill window or before its first page is in."""
        c = run.cursor
        if c.window_kind != "backfill" or c.window_start is None:
            return None
        stored, newest = self._eta_basis(run)
        start = _t(c.window_start)
        if not stored or newest is None or start is None or newest <= start:
            return None
        end = _t(c.window_end) or _t(c.cursor) or run.started
        density = stored / (newest - start).total_seconds()
        left = density * max(0.0, (end - newest).total_seconds())
        pages = math.ceil(left / self.page_size) if c.page_token else 0
        return self.limits.bucket(run.store_id, SEARCH_ORDERS).eta(pages)

    def _eta_basis(self, run: _Run) -> tuple[int, datetime | None]:
        """The open window's stored orders and the newest purchase time among them, read
        once per page (one DB hop), from what is stored: a resumed window counts too."""
        c = run.cursor
        key = (c.window_start, run.pages)
        if run.eta_basis is None or run.eta_basis[0] != key:
            top = _t(c.window_end) or _t(c.cursor) or run.started

            def count(conn: Conn) -> tuple[int, str | None]:
                n, newest = conn.execute(
                    "SELECT count(*), max(purchase_date) FROM orders WHERE store_id = ? "
                    "AND purchase_date >= ? AND purchase_date < ?",
                    (run.store_id, c.window_start, orders_repo.to_db_time(top)),
                ).fetchone()
                return int(n), newest

            n, newest = self.vault.call(count)
            run.eta_basis = (key, n, _t(newest))
        return run.eta_basis[1], run.eta_basis[2]

    def _report(self, run: _Run, *, waiting: float = 0.0) -> None:
        c = run.cursor
        progress = SyncProgress(
            store_id=run.store_id,
            phase=SyncPhase.WAITING if waiting else run.phase,
            pages=run.pages,
            orders=run.orders,
            window_start=_t(c.window_start),
            window_end=_t(c.window_end),
            backfilled_to=_t(c.backfilled_to),
            eta_seconds=self._eta(run),
            waiting_seconds=waiting,
        )
        if run.progress is not None:
            run.progress(progress)
        self.notices.publish(SyncProgressed(progress))

    def _audit(self, actor: Actor, action: str, store_id: int, details: dict[str, Any]) -> None:
        def write(conn: Conn) -> None:
            self.audit.append(
                conn,
                actor_id=access.audit_actor_id(actor),
                action=action,
                object_type="store",
                object_id=store_id,
                details=details,
            )

        self.vault.call_write(write)

    def _finish(self, actor: Actor, run: _Run, kind: str, *, cancelled: bool) -> SyncResult:
        now = self.clock.now()
        if not cancelled:
            run.cursor.last_success = orders_repo.to_db_time(now)
            run.cursor.last_error = None
        self._save(run)
        status = "cancelled" if cancelled else "ok"
        self._audit(
            actor,
            Action.SYNC_FINISHED,
            run.store_id,
            {
                "kind": kind,
                "status": status,
                "orders": run.orders,
                "errors": run.retries,
                "needs_attention": run.attention,
            },
        )
        result = SyncResult(
            store_id=run.store_id,
            pages=run.pages,
            orders=run.orders,
            new_orders=run.new,
            cancelled=cancelled,
            backfill_complete=self._backfill_done(run),
            started_at=run.started,
            finished_at=now,
            throttled=run.throttled,
            retries=run.retries,
            needs_attention=run.attention,
        )
        run.phase = SyncPhase.DONE
        self._report(run)
        log.info(
            "sync of store %d %s: %d pages, %d orders", run.store_id, status, run.pages, run.orders
        )
        self.notices.publish(SyncFinished(result))
        return result

    def _fail(self, actor: Actor, run: _Run, kind: str, error: UserError) -> None:
        detail = f" ({error.detail})" if error.detail else ""
        log.warning("sync of store %d failed: %s%s", run.store_id, error.title, detail)
        run.cursor.last_error = error.title
        try:
            self._save(run)
            self._audit(
                actor,
                Action.SYNC_FINISHED,
                run.store_id,
                {"kind": kind, "status": "failed", "orders": run.orders, "errors": run.retries + 1},
            )
        except Exception:
            log.exception("recording the failed sync failed")
        self.notices.publish(SyncFailed(run.store_id, error))
