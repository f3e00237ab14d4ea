"""Which items are in which package: synced by the real client from the fake SP-API."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from app import settings
from app.amazon import orders_repo
from app.amazon.models import Credentials, Order, PackageItem, Region, StoreDraft
from app.amazon.ratelimit import RateLimits
from app.amazon.spapi import clear_token_cache
from app.amazon.spapi.orders import real_client_factory
from app.amazon.stores import StoreService
from app.amazon.sync import SyncService
from app.auth.models import Actor
from app.auth.rbac import Role
from app.clock import SystemClock
from app.demo.fake_spapi import FakeSpApi
from app.demo.fake_spapi_catalog import INCLUDED_DATA, MARKETPLACES
from app.notices import Notices
from app.secrets import SecretStore
from app.vault import Vault
from tests.helpers.operators import put_operator

pytestmark = pytest.mark.integration

ADMIN = Actor(id=1, username="admin", display_name="Admin", role=Role.ADMIN)


class Env:
    def __init__(self, vault: Vault, secrets: SecretStore, srv: FakeSpApi) -> None:
        self.vault, self.srv = vault, srv
        clock, notices = SystemClock(), Notices()
        factory = real_client_factory(timeout=5.0)
        stores = StoreService(
            vault=vault, secrets=secrets, clock=clock, notices=notices, client_factory=factory
        )
        self.sync = SyncService(
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
        self.store = stores.create_store(
            ADMIN,
            StoreDraft(
                "Fake",
                Region.NA,
                tuple(m.marketplace_id for m in MARKETPLACES),
                srv.client_id,
                srv.base_url,
                srv.lwa_url,
            ),
            Credentials(srv.client_secret, srv.refresh_token),
        )

    def run(self) -> None:
        self.sync.sync_store(ADMIN, self.store.id, threading.Event())

    def stored(self, order_id: str) -> Order:
        order = self.vault.call(lambda c: orders_repo.get_order(c, ADMIN, order_id))
        assert order is not None
        return order

    def served(self, order_id: str) -> dict[str, Any]:
        rec = self.srv.store.get(order_id)
        assert rec is not None
        return self.srv.store.render(rec, frozenset(INCLUDED_DATA))


def served_contents(order: dict[str, Any]) -> dict[str, tuple[PackageItem, ...]]:
    return {
        p["packageReferenceId"]: tuple(
            PackageItem(i["orderItemId"], i["quantity"]) for i in p.get("packageItems", ())
        )
        for p in order.get("packages", ())
    }


def stored_contents(order: Order) -> dict[str, tuple[PackageItem, ...]]:
    return {p.package_ref: p.items for p in order.packages}


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    clear_token_cache()
    yield
    clear_token_cache()


@pytest.fixture
def env(vault: Vault, secrets: SecretStore) -> Iterator[Env]:
    with FakeSpApi(orders=300, seed=11, speed=None, settle_seconds=0) as srv:
        yield Env(vault, secrets, srv)


def test_synced_packages_keep_their_items(env: Env) -> None:
    env.run()
    served = {i: env.served(i) for i in env.srv.order_ids()}
    with_items = [i for i, o in served.items() if any(served_contents(o).values())]
    assert len(with_items) > 10
    for order_id in with_items:
        assert stored_contents(env.stored(order_id)) == served_contents(served[order_id])


def test_a_partial_shipment_completed_rewrites_the_package_items(env: Env) -> None:
    partial = next(
        i
        for i in env.srv.order_ids()
        if (o := env.served(i))["fulfillment"]["fulfillmentStatus"] == "PARTIALLY_SHIPPED"
        and len(o["orderItems"]) > 1
        and o.get("packages")
    )
    env.run()
    before = stored_contents(env.stored(partial))
    assert [len(items) for items in before.values()] == [1]
    env.srv.update_order(partial, fulfillment_status="SHIPPED")
    env.run()
    after = stored_contents(env.stored(partial))
    assert after == served_contents(env.served(partial))
    assert [len(items) for items in after.values()] == [len(env.served(partial)["orderItems"])]
