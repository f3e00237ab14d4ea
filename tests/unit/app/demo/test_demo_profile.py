"""The demo acts as its real demo operator, never as a made-up one."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator

import pytest

from app.audit import Action, AuditFilter
from app.clock import FakeClock
from app.demo.demo_profile import DEMO_STORE_NAME, start_demo
from app.notices import HistoryProgressed
from app.paths import Profile
from app.secrets import SecretStore
from app.services import Core, build_services
from app.vault import Vault


@pytest.fixture
def demo_core(
    profile: Profile, vault: Vault, secrets: SecretStore, clock: FakeClock
) -> Iterator[Core]:
    c = Core(
        profile=dataclasses.replace(profile, demo=True), vault=vault, secrets=secrets, clock=clock
    )
    yield c
    c.jobs.shutdown()


def test_the_demo_store_is_created_by_the_demo_operator(demo_core: Core) -> None:
    services = build_services(demo_core)
    loading = threading.Event()
    demo_core.notices.subscribe(HistoryProgressed, lambda n: loading.set())
    handle = start_demo(demo_core, services, orders=10, speed=None)
    try:
        # A store just connected loads its order history through the order reports.
        assert loading.wait(10)
        assert services.history.is_running(handle.store.id)
        demo = services.auth.demo_session().actor
        assert [s.name for s in services.stores.list_stores(demo).result()] == [DEMO_STORE_NAME]
        created = services.audit.read(
            demo,
            lambda r: r.entries(r.seqs(AuditFilter(action=Action.STORE_CREATED))),
        ).result()
        assert [e.actor_id for e in created] == [demo.id]
    finally:
        handle.close()


def test_the_demo_refuses_a_real_profile(core: Core) -> None:
    with pytest.raises(RuntimeError, match="demo profile"):
        start_demo(core)
