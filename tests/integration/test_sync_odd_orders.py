"""Odd orders and our own bugs, through the real client over HTTP to the fake SP-API.

An order the app cannot fully map is stored as "needs attention" and the sync goes on;
a ``TypeError`` of ours is a bug: reported as one, never retried as a bad reply.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from app import settings
from app.amazon import orders_repo
from app.amazon.models import Credentials, Region, StoreDraft
from app.amazon.ratelimit import RateLimits
from app.amazon.spapi import clear_token_cache
from app.amazon.spapi.orders import real_client_factory
from app.amazon.stores import StoreService
from app.amazon.sync import SyncService, load_cursor
from app.audit import Action
from app.auth.models import Actor
from app.auth.rbac import Role
from app.clock import SystemClock
from app.demo.fake_spapi import FakeSpApi
from app.demo.fake_spapi_catalog import MARKETPLACES
from app.demo.fake_spapi_faults import SEARCH_ORDERS, Fault
from app.errors import InternalError
from app.notices import Notices
from app.secrets import SecretStore
from app.vault import Vault
from tests.helpers.operators import put_operator

pytestmark = pytest.mark.integration

ADMIN = Actor(id=1, username="admin", display_name="Admin", role=Role.ADMIN)


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    clear_token_cache()
    yield
    clear_token_cache()


@pytest.fixture
def srv() -> Iterator[FakeSpApi]:
    with FakeSpApi(orders=300, seed=5, speed=None, settle_seconds=0) as server:
        yield server


def _sync_service(vault: Vault, secrets: SecretStore, srv: FakeSpApi) -> tuple[SyncService, int]:
    clock = SystemClock()
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
        limits=RateLimits(clock),
        retry_base=0.01,
    )
    now = clock.now()
    vault.call_write(lambda c: settings.put(c, settings.SYNC_BACKFILL_DAYS, 130, now=now))
    put_operator(vault, ADMIN)
    marketplaces = tuple(m.marketplace_id for m in MARKETPLACES)
    store = stores.create_store(
        ADMIN,
        StoreDraft("Fake", Region.NA, marketplaces, srv.client_id, srv.base_url, srv.lwa_url),
        Credentials(srv.client_secret, srv.refresh_token),
    )
    return sync, store.id


@pytest.mark.expect_log("muttefik.sync", "WARNING", r"order \S+ needs attention")
def test_odd_order_is_stored_as_needing_attention_and_the_sync_goes_on(
    vault: Vault, secrets: SecretStore, srv: FakeSpApi
) -> None:
    sync, store_id = _sync_service(vault, secrets, srv)
    srv.faults.set(Fault.ODD_ORDER, count=1, operation=SEARCH_ORDERS)
    result = sync.sync_store(ADMIN, store_id, threading.Event())
    assert srv.faults.fired(Fault.ODD_ORDER) == 1
    assert result.backfill_complete and not result.cancelled
    assert result.needs_attention == 1
    ids = vault.call(lambda c: orders_repo.search_ids(c, ADMIN, orders_repo.OrderQuery()))
    assert set(ids) == set(srv.order_ids())  # nothing skipped, the odd one included
    rows = vault.call(lambda c: orders_repo.fetch_rows(c, ids))
    odd = [r for r in rows if r.attention]
    assert len(odd) == 1
    assert "status" in odd[0].attention and "ASIN" in odd[0].attention
    order = vault.call(lambda c: orders_repo.get_order(c, ADMIN, odd[0].order_id))
    assert order is not None and order.attention == odd[0].attention
    assert order.items and order.items[0].asin == ""  # the item is kept, ASIN unknown
    assert vault.call(lambda c: load_cursor(c, store_id)).last_error is None
    details = vault.call(
        lambda c: c.execute(
            "SELECT details FROM audit_log WHERE action = ? ORDER BY seq DESC LIMIT 1",
            (Action.SYNC_FINISHED,),
        ).fetchone()[0]
    )
    assert json.loads(details)["needs_attention"] == 1


@pytest.mark.expect_log(
    "muttefik.sync", "WARNING", "sync of store 1 failed: Müttefik Desk hit a bug"
)
def test_our_type_error_is_a_bug_not_retried(
    vault: Vault, secrets: SecretStore, srv: FakeSpApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sp_api.api import OrdersV20260101

    real = OrdersV20260101.search_orders

    def buggy(self: Any, **kw: Any) -> Any:
        real(self, **kw)  # the request goes out and Amazon answers well
        raise TypeError("a bug of ours")

    monkeypatch.setattr(OrdersV20260101, "search_orders", buggy)
    sync, store_id = _sync_service(vault, secrets, srv)
    with pytest.raises(TypeError):
        sync.sync_store(ADMIN, store_id, threading.Event())
    assert srv.request_count(SEARCH_ORDERS) == 1  # not retried
    assert vault.call(lambda c: load_cursor(c, store_id)).last_error == InternalError.title
