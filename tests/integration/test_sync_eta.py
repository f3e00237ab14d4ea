"""The backfill's time estimate, read from the progress of a real sync over HTTP."""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict
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
    with FakeSpApi(orders=1500, seed=11, speed=None, clock=clock, settle_seconds=0) as server:
        yield server
    clear_token_cache()


def test_the_estimate_shrinks_as_a_window_is_fetched(
    vault: Vault, secrets: SecretStore, srv: FakeSpApi, clock: FakeClock
) -> None:
    def wait(cancel: threading.Event, seconds: float) -> bool:
        clock.advance(seconds)  # the rate limit's waits pass at once, on the fake clock
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
    reports: list[SyncProgress] = []
    result = sync.sync_store(ADMIN, store.id, threading.Event(), reports.append)
    assert result.backfill_complete

    by_window: dict[datetime | None, list[float]] = defaultdict(list)
    for p in reports:
        if p.phase is SyncPhase.BACKFILL and p.eta_seconds is not None:
            by_window[p.window_start].append(p.eta_seconds)
    long_windows = [etas for etas in by_window.values() if len(etas) >= 4]
    assert long_windows  # windows of several pages, each with an estimate
    for etas in long_windows:
        # Each page fetched is one fewer to fetch: the estimate never grows inside a
        # window (it grew with every page: the window's orders counted as density of
        # the history already covered, and its whole span as still to do).
        assert all(b <= a + 1e-6 for a, b in itertools.pairwise(etas)), etas
