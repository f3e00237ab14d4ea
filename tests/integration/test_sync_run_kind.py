"""What kind of run the audit log records for each sync: the real client over HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest

from app import settings
from app.amazon.models import Credentials, Region, StoreDraft, SyncProgress
from app.amazon.spapi import clear_token_cache
from app.amazon.spapi.orders import real_client_factory
from app.amazon.stores import StoreService
from app.amazon.sync import SyncService
from app.auth.models import Actor
from app.auth.rbac import Role
from app.clock import SystemClock
from app.demo.fake_spapi import FakeSpApi
from app.notices import Notices
from app.secrets import SecretStore
from app.vault import Vault
from tests.helpers.operators import put_operator

pytestmark = pytest.mark.integration

ADMIN = Actor(id=1, username="admin", display_name="Admin", role=Role.ADMIN)


@pytest.fixture
def srv() -> Iterator[FakeSpApi]:
    clear_token_cache()
    with FakeSpApi(orders=600, seed=3, speed=None, settle_seconds=0) as server:
        yield server
    clear_token_cache()


def _kinds(vault: Vault) -> list[tuple[str, str, str | None]]:
    rows = vault.call(
        lambda c: c.execute(
            "SELECT action, details FROM audit_log WHERE action LIKE 'sync_%' ORDER BY seq"
        ).fetchall()
    )
    return [(a, json.loads(d)["kind"], json.loads(d).get("status")) for a, d in rows]


def test_a_run_is_a_backfill_until_the_history_is_complete(
    vault: Vault, secrets: SecretStore, srv: FakeSpApi
) -> None:
    clock, notices = SystemClock(), Notices()
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
        retry_base=0.01,
    )
    now = clock.now()
    vault.call_write(lambda c: settings.put(c, settings.SYNC_BACKFILL_DAYS, 130, now=now))
    put_operator(vault, ADMIN)
    store = stores.create_store(
        ADMIN,
        StoreDraft("Fake", Region.NA, ("ATVPDKIKX0DER",), srv.client_id, srv.base_url, srv.lwa_url),
        Credentials(srv.client_secret, srv.refresh_token),
    )

    # The first run stops once its first page is stored.
    cancel = threading.Event()

    def after_first_page(p: SyncProgress) -> None:
        if p.pages >= 1:
            cancel.set()

    first = sync.sync_store(ADMIN, store.id, cancel, after_first_page)
    assert first.cancelled and not first.backfill_complete
    second = sync.sync_store(ADMIN, store.id, threading.Event())
    assert second.backfill_complete
    sync.sync_store(ADMIN, store.id, threading.Event())

    assert _kinds(vault) == [
        ("sync_started", "initial", None),
        ("sync_finished", "initial", "cancelled"),
        ("sync_started", "backfill", None),  # was "incremental": the history was not complete
        ("sync_finished", "backfill", "ok"),
        ("sync_started", "incremental", None),
        ("sync_finished", "incremental", "ok"),
    ]
