"""The real python-amazon-sp-api client syncing from the fake SP-API over real HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from app import settings
from app.amazon import orders_repo
from app.amazon.models import Credentials, OrderStatus, Region, StoreDraft, SyncProgress
from app.amazon.ratelimit import RateLimits
from app.amazon.spapi import clear_token_cache
from app.amazon.spapi.orders import real_client_factory
from app.amazon.stores import StoreService
from app.amazon.sync import SyncService, load_cursor
from app.auth.models import Actor
from app.auth.rbac import Role
from app.clock import SystemClock
from app.demo.fake_spapi import FakeSpApi
from app.demo.fake_spapi_catalog import MARKETPLACES
from app.demo.fake_spapi_faults import SEARCH_ORDERS, Fault
from app.errors import (
    AmazonAuthFailed,
    AmazonGrantInvalid,
    AmazonRoleMissing,
    AmazonServerError,
    DiskFull,
)
from app.notices import Notice, Notices, OrdersChanged, SyncFailed
from app.secrets import SecretStore
from app.vault import Vault
from tests.helpers.operators import put_operator

pytestmark = pytest.mark.integration


ADMIN = Actor(id=1, username="admin", display_name="Admin", role=Role.ADMIN)
ALL_MARKETPLACES = tuple(m.marketplace_id for m in MARKETPLACES)


class Env:
    def __init__(self, vault: Vault, secrets: SecretStore, srv: FakeSpApi, timeout: float = 5.0):
        self.vault, self.srv = vault, srv
        self.clock = SystemClock()
        self.notices = Notices()
        self.seen: list[Notice] = []
        self.notices.subscribe(Notice, self.seen.append)
        factory = real_client_factory(timeout=timeout)
        self.stores = StoreService(
            vault=vault,
            secrets=secrets,
            clock=self.clock,
            notices=self.notices,
            client_factory=factory,
        )
        self.sync = SyncService(
            vault=vault,
            secrets=secrets,
            clock=self.clock,
            notices=self.notices,
            client_factory=factory,
            stores=self.stores,
            limits=RateLimits(self.clock),
            retry_base=0.01,
        )
        now = self.clock.now()
        vault.call_write(lambda c: settings.put(c, settings.SYNC_BACKFILL_DAYS, 130, now=now))
        put_operator(vault, ADMIN)
        self.store = self.stores.create_store(
            ADMIN,
            StoreDraft(
                "Fake", Region.NA, ALL_MARKETPLACES, srv.client_id, srv.base_url, srv.lwa_url
            ),
            Credentials(srv.client_secret, srv.refresh_token),
        )

    def run(self, **kw: Any) -> Any:
        return self.sync.sync_store(ADMIN, self.store.id, kw.pop("cancel", threading.Event()), **kw)

    def stored(self) -> list[str]:
        return self.vault.call(lambda c: orders_repo.search_ids(c, ADMIN, orders_repo.OrderQuery()))


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    clear_token_cache()
    yield
    clear_token_cache()


@pytest.fixture
def srv() -> Iterator[FakeSpApi]:
    with FakeSpApi(orders=600, seed=3, speed=None, settle_seconds=0) as server:
        yield server


@pytest.fixture
def env(vault: Vault, secrets: SecretStore, srv: FakeSpApi) -> Env:
    return Env(vault, secrets, srv)


def assert_complete(env: Env) -> None:
    stored = env.stored()
    assert len(stored) == len(set(stored))  # nothing duplicated
    assert set(stored) == set(env.srv.order_ids())  # nothing lost


def test_full_sync_stores_every_order_without_pii_groups(env: Env) -> None:
    result = env.run()
    assert result.backfill_complete and not result.cancelled
    assert_complete(env)
    included = set().union(*(r.included_data for r in env.srv.requests))
    assert included == {"FULFILLMENT", "PACKAGES", "PROCEEDS"}
    assert env.srv.throttled_count() == 0
    changed = [n for n in env.seen if isinstance(n, OrdersChanged)]
    assert {i for n in changed for i in n.order_ids} == set(env.srv.order_ids())


def test_throttling_waits_and_continues(vault: Vault, secrets: SecretStore) -> None:
    # Amazon's limits sped up 1000x (5.6 pages/s after a burst of 20).
    with FakeSpApi(orders=600, seed=4, speed=1000, settle_seconds=0) as server:
        env = Env(vault, secrets, server)
        server.faults.set(Fault.THROTTLE, count=3, operation=SEARCH_ORDERS)
        result = env.run()
        assert result.throttled == 3
        assert server.throttled_count() == 3  # only the forced ones: no 429 storm
        assert_complete(env)


def test_throttling_beyond_the_advertised_rate_slows_down_and_completes(
    vault: Vault, secrets: SecretStore
) -> None:
    # The header claims 10x the rate the server applies (another seat sharing the
    # quota): following it alone ends in a 429 storm and, today, a failed sync.
    with FakeSpApi(orders=600, seed=4, speed=1000, settle_seconds=0, overstate=10) as server:
        env = Env(vault, secrets, server)
        server.drain(SEARCH_ORDERS)  # every page at the real rate, none from the burst
        result = env.run()
        assert result.backfill_complete and not result.cancelled
        assert_complete(env)
        # The limiter learned the real rate: a handful of 429s, not one per token.
        assert 0 < server.throttled_count(SEARCH_ORDERS) <= 12
        assert result.throttled == server.throttled_count(SEARCH_ORDERS)


def test_a_long_run_of_429s_never_fails_the_sync(env: Env) -> None:
    # Today the 51st 429 on one request ended the sync with an error.
    env.srv.faults.set(Fault.THROTTLE, count=60, operation=SEARCH_ORDERS)
    result = env.run()
    assert result.backfill_complete and result.throttled == 60
    assert_complete(env)


def test_first_sync_sends_no_more_than_one_page_over_the_minimum(env: Env) -> None:
    # The backfill's windows each end in a part-filled page and a first sync closed
    # with an incremental call that came back empty: 600 orders took 10 requests.
    result = env.run()
    assert result.backfill_complete
    assert_complete(env)
    least = -(-len(env.srv.order_ids()) // 100)
    assert env.srv.request_count(SEARCH_ORDERS) <= least + 1
    # The next sync asks once for what changed since (nothing), and stops there.
    before = env.srv.request_count(SEARCH_ORDERS)
    env.run()
    assert env.srv.request_count(SEARCH_ORDERS) == before + 1


def test_next_process_starts_from_the_bucket_the_last_one_left(
    vault: Vault, secrets: SecretStore
) -> None:
    # A new process assumed a full bucket while Amazon's was spent by the last run: its
    # first requests came back 429.
    with FakeSpApi(orders=2100, seed=5, speed=200, settle_seconds=0) as server:
        env = Env(vault, secrets, server)
        env.run()  # the burst is spent, and then some (a page per 0.9 s)
        assert server.throttled_count() == 0
        server.add_orders(200)
        clear_token_cache()
        env.sync = SyncService(  # another process: its own limits, the same vault
            vault=vault,
            secrets=env.stores.secrets,
            clock=env.clock,
            notices=env.notices,
            client_factory=real_client_factory(),
            stores=env.stores,
            limits=RateLimits(env.clock),
            retry_base=0.01,
        )
        result = env.run()
        assert result.orders >= 200
        assert server.throttled_count() == 0
        assert_complete(env)


def test_a_sync_right_after_test_connection_counts_the_token_it_spent(
    vault: Vault, secrets: SecretStore
) -> None:
    # "Test connection" spent one of Amazon's burst tokens; the sync assumed all 20.
    with FakeSpApi(orders=2100, seed=6, speed=200, settle_seconds=0) as server:
        env = Env(vault, secrets, server)
        assert env.stores.test_connection(ADMIN, env.store).ok
        env.run()
        assert server.throttled_count() == 0
        assert_complete(env)


@pytest.mark.parametrize(
    "fault",
    [
        Fault.SERVER_ERROR,
        Fault.UNAVAILABLE,
        Fault.MALFORMED_JSON,
        Fault.TRUNCATED_JSON,
        Fault.DISCONNECT,
    ],
)
@pytest.mark.expect_log("muttefik.sync", "WARNING", "searchOrders failed .*; retrying")
def test_transient_faults_are_retried_never_skipped(env: Env, fault: Fault) -> None:
    env.srv.faults.set(fault, count=2, operation=SEARCH_ORDERS)
    result = env.run()
    assert env.srv.faults.fired(fault) == 2
    assert result.retries == 2
    assert_complete(env)


@pytest.mark.expect_log("muttefik.sync", "WARNING", "searchOrders failed .*; retrying")
def test_slow_reply_times_out_and_is_retried(
    vault: Vault, secrets: SecretStore, srv: FakeSpApi
) -> None:
    # A timeout well above a loaded machine's normal reply (0.3 s was exceeded once by a
    # plain page under a full CI run, counting a second retry), the slow reply far above it.
    env = Env(vault, secrets, srv, timeout=1.0)
    srv.faults.set(Fault.SLOW, count=1, delay=3.0, operation=SEARCH_ORDERS)
    result = env.run()
    assert result.retries == 1
    assert_complete(env)


@pytest.mark.expect_log("muttefik.sync", "WARNING", "searchOrders failed .*; retrying")
@pytest.mark.expect_log("muttefik.sync", "WARNING", "sync of store 1 failed: Amazon had a problem")
def test_persistent_server_error_fails_keeps_data_and_resumes(env: Env) -> None:
    pages: list[SyncProgress] = []
    cancel_after = threading.Event()

    def on_progress(p: SyncProgress) -> None:
        pages.append(p)
        if p.pages == 2:
            env.srv.faults.set(Fault.SERVER_ERROR, operation=SEARCH_ORDERS)
            cancel_after.set()

    with pytest.raises(AmazonServerError):
        env.run(progress=on_progress)
    kept = env.stored()
    # The two pages stored before the failure stay.
    assert len(kept) == max(p.orders for p in pages) > 0
    assert any(isinstance(n, SyncFailed) for n in env.seen)
    cursor = env.vault.call(lambda c: load_cursor(c, env.store.id))
    assert cursor.last_error == AmazonServerError.title
    assert cursor.window_kind is not None  # the unfinished walk is remembered
    env.srv.faults.clear()
    before = env.srv.request_count(SEARCH_ORDERS)
    env.run()
    assert_complete(env)
    # Resumed at the failed page: 600 orders = 6 pages + window/incremental ends.
    assert env.srv.request_count(SEARCH_ORDERS) - before < 10


@pytest.mark.expect_log("muttefik.sync", "WARNING", "sync of store 1 failed: Disk is full")
def test_failed_page_write_is_not_skipped(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # Pages are fetched while the previous one is written; a write that fails must not
    # leave the saved position past the page it did not store.
    real = orders_repo.upsert_orders
    pages: list[list[str]] = []
    written, failed_once = 0, False

    def recording(conn: Any, orders: Any, *, now: Any) -> orders_repo.UpsertStats:
        nonlocal written, failed_once
        pages.append([o.order_id for o in orders])
        if len(pages) > 1 and len(pages[-2]) == 100 and not failed_once:
            failed_once = True  # once, in the middle of a window
            raise DiskFull()
        stats = real(conn, orders, now=now)
        written += stats.written
        return stats

    monkeypatch.setattr(orders_repo, "upsert_orders", recording)
    with pytest.raises(DiskFull):
        env.run()
    assert len(env.stored()) == written > 0  # the pages written before the failure
    cursor = env.vault.call(lambda c: load_cursor(c, env.store.id))
    assert cursor.last_error == DiskFull.title and cursor.page_token  # mid-window
    failed = len(pages) - 1
    env.run()
    assert pages[failed + 1] == pages[failed]  # the restart begins with the unstored page
    assert_complete(env)


def test_cancel_stops_between_pages_and_restart_continues(env: Env) -> None:
    cancel = threading.Event()

    def on_progress(p: SyncProgress) -> None:
        if p.pages == 2:
            cancel.set()

    result = env.run(cancel=cancel, progress=on_progress)
    # Page 3 may already be fetched (read ahead while page 2 was written): it is kept.
    assert result.cancelled and result.pages in (2, 3)
    assert not result.backfill_complete
    assert len(env.stored()) == result.orders > 0
    result = env.run()
    assert not result.cancelled
    assert_complete(env)


def test_restart_continues_from_cursor_and_newest_state_wins(env: Env) -> None:
    env.run()
    oid = next(
        o
        for o in env.stored()
        if env.vault.call(lambda c, o=o: orders_repo.get_order(c, ADMIN, o)).status
        is OrderStatus.UNSHIPPED
    )
    # Two changes after the last sync (at its upper bound: Amazon times have seconds).
    bound = env.sync.sync_state(ADMIN, env.store.id).result().cursor
    env.srv.update_order(oid, fulfillment_status="SHIPPED", last_updated=bound)
    env.srv.update_order(oid, fulfillment_status="CANCELLED", last_updated=bound)
    new_ids = env.srv.add_orders(3)
    before = env.srv.request_count(SEARCH_ORDERS)
    result = env.run()
    assert env.srv.request_count(SEARCH_ORDERS) - before == 1  # only the incremental page
    assert result.new_orders == 3
    order = env.vault.call(lambda c: orders_repo.get_order(c, ADMIN, oid))
    assert order is not None and order.status is OrderStatus.CANCELLED
    assert set(new_ids) <= set(env.stored())
    assert_complete(env)


def test_expired_access_token_is_refreshed(env: Env) -> None:
    env.run()
    env.srv.expire_tokens()
    env.srv.add_orders(1)
    env.run()
    assert_complete(env)


@pytest.mark.expect_log("muttefik.sync", "WARNING", "store 1 failed: Amazon authorisation")
def test_revoked_refresh_token_is_reported(env: Env) -> None:
    env.run()
    env.srv.revoke_refresh_token()
    env.srv.expire_tokens()
    with pytest.raises(AmazonGrantInvalid):
        env.run()
    assert len(env.stored()) == len(env.srv.order_ids())
    state = env.sync.sync_state(ADMIN, env.store.id).result()
    assert state.last_error == AmazonGrantInvalid.title


@pytest.mark.expect_log("muttefik.sync", "WARNING", "store 1 failed: Missing Amazon permission")
def test_missing_role_is_reported(env: Env) -> None:
    env.srv.faults.set(Fault.MISSING_ROLE, operation=SEARCH_ORDERS)
    with pytest.raises(AmazonRoleMissing):
        env.run()
    report = env.stores.test_connection(ADMIN, env.store)
    assert not report.ok and report.title == AmazonRoleMissing.title


def test_connection_reports_in_sellers_words(env: Env) -> None:
    assert env.stores.test_connection(ADMIN, env.store).ok
    env.srv.faults.set(Fault.INVALID_CLIENT)
    clear_token_cache()
    report = env.stores.test_connection(ADMIN, env.store)
    assert not report.ok and isinstance(report.error, AmazonAuthFailed)
    assert "client" in report.message
    env.srv.faults.clear()
    env.srv.faults.set(Fault.INVALID_GRANT)
    report = env.stores.test_connection(ADMIN, env.store)
    assert isinstance(report.error, AmazonGrantInvalid)


def test_network_down_is_reported(env: Env) -> None:
    draft = StoreDraft(
        "Gone",
        Region.NA,
        ALL_MARKETPLACES,
        "x",
        "http://127.0.0.1:9",
        "http://127.0.0.1:9/auth/o2/token",
    )
    report = env.stores.test_connection(ADMIN, draft, Credentials("s", "Atzr|other"))
    assert not report.ok and report.title == "No connection"


def test_get_order_ahead_of_backfill_and_vanished_order(env: Env) -> None:
    oid = env.srv.order_ids()[-1]
    order = env.sync.fetch_order_now(ADMIN, env.store.id, oid)
    assert order is not None and order.order_id == oid
    assert env.stored() == [oid]
    env.srv.remove_order(oid)
    assert env.sync.fetch_order_now(ADMIN, env.store.id, oid) is None
    assert env.stored() == [oid]  # the stored copy is kept
    gets = [r for r in env.srv.requests if r.operation == "getOrder"]
    assert gets and all(not (r.included_data & {"BUYER", "RECIPIENT"}) for r in gets)
