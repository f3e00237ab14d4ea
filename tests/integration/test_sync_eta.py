"""The backfill's time estimate, read from the progress of a real sync over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from app import settings
from app.amazon.models import Credentials, Region, StoreDraft, SyncPhase, SyncProgress
from app.amazon.ratelimit import RateLimits
from app.amazon.spapi import clear_token_cache
from app.amazon.spapi.orders import GET_ORDER, SEARCH_ORDERS, real_client_factory
from app.amazon.stores import StoreService
from app.amazon.sync import SyncService
from app.auth.models import Actor
from app.auth.rbac import Role
from app.clock import FakeClock
from app.demo.fake_spapi import FakeSpApi
from app.notices import Notices
from app.secrets import SecretStore
from app.vault import Vault
from tests.helpers.operators import put_operator

pytestmark = pytest.mark.integration

ADMIN = Actor(id=1, username="admin", display_name="Admin", role=Role.ADMIN)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def srv(clock: FakeClock) -> Iterator[FakeSpApi]:
    clear_token_cache()
    with FakeSpApi(orders=1500, seed=11, speed=1.0, clock=clock, settle_seconds=0) as server:
        yield server
    clear_token_cache()


def test_the_estimate_follows_the_time_the_backfill_really_takes(
    vault: Vault, secrets: SecretStore, srv: FakeSpApi, clock: FakeClock
) -> None:
    def wait(cancel: threading.Event, seconds: float) -> bool:
        clock.advance(seconds)  # the rate limit's waits pass at once, on the fake clock
        # (the fake server limits at Amazon's real rate on the same clock)
        return cancel.is_set()

    notices = Notices()
    factory = real_client_factory(timeout=5.0)
    stores = StoreService(
        vault=vault, secrets=secrets, clock=clock, notices=notices, client_factory=factory
    )
    sync = SyncService(
        vault=vault,
        secrets=secrets,
        clock=clock,
        notices=notices,
        client_factory=factory,
        stores=stores,
        limits=RateLimits(clock, {SEARCH_ORDERS: (1.0, 2), GET_ORDER: (1.0, 2)}),
        waiter=wait,
        page_size=20,
    )
    now = clock.now()
    vault.call_write(lambda c: settings.put(c, settings.SYNC_BACKFILL_DAYS, 120, now=now))
    put_operator(vault, ADMIN)
    store = stores.create_store(
        ADMIN,
        StoreDraft("Fake", Region.NA, ("ATVPDKIKX0DER",), srv.client_id, srv.base_url, srv.lwa_url),
        Credentials(srv.client_secret, srv.refresh_token),
    )
    reports: list[tuple[datetime, SyncProgress]] = []
    result = sync.sync_store(
        ADMIN, store.id, threading.Event(), lambda p: reports.append((clock.now(), p))
    )
    assert result.backfill_complete
    finished = clock.now()

    estimates = [
        ((finished - at).total_seconds(), p.eta_seconds)
        for at, p in reports
        if p.phase is SyncPhase.BACKFILL and p.eta_seconds is not None
    ]
    assert len(estimates) >= 30  # one estimate per page of the one backfill window
    one_page = 1 / 0.0056  # Amazon's searchOrders rate: one page every ~180 s
    for actual, eta in estimates:
        # searchOrders pages oldest first: the window's stored orders and the newest of
        # them give the density and what is left; the estimate stays near the truth.
        assert abs(eta - actual) <= 0.25 * actual + one_page, (actual, eta)
    assert estimates[-1] == (0.0, 0.0)
