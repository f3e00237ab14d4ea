"""The scheduled sync (app.amazon.sync_job) as the system principal: the real vault and
services, the real SP-API client, the fake SP-API over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from app import settings
from app.amazon import orders_repo
from app.amazon.models import Credentials, Region, Store, StoreDraft
from app.amazon.spapi import clear_token_cache
from app.audit import Action
from app.auth.models import Actor
from app.auth.rbac import Role
from app.demo.fake_spapi import FakeSpApi
from app.demo.fake_spapi_catalog import MARKETPLACES
from app.errors import AmazonGrantInvalid
from app.jobs import JobChanged, JobStatus
from app.notices import Notice, OrdersChanged, SyncFailed, SyncStarted
from app.paths import Profile
from app.secrets import SecretStore
from app.services import Core, Services, build_services
from app.vault import Vault
from tests.helpers.operators import put_operator

pytestmark = pytest.mark.integration

ADMIN = Actor(id=1, username="admin", display_name="Admin", role=Role.ADMIN)
WAIT = 30.0


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    clear_token_cache()
    yield
    clear_token_cache()


@pytest.fixture
def srv() -> Iterator[FakeSpApi]:
    with FakeSpApi(orders=300, seed=5, speed=None, settle_seconds=0) as server:
        yield server


@pytest.fixture
def services(profile: Profile, vault: Vault, secrets: SecretStore) -> Iterator[Services]:
    core = Core(profile=profile, vault=vault, secrets=secrets)  # the real clock: real HTTP
    put_operator(vault, ADMIN)
    now = core.clock.now()
    vault.call_write(lambda c: settings.put(c, settings.SYNC_BACKFILL_DAYS, 130, now=now))
    yield build_services(core)
    core.jobs.shutdown()  # the vault fixture closes the vault


def _store(services: Services, srv: FakeSpApi, name: str, *, connected: bool = True) -> Store:
    draft = StoreDraft(
        name,
        Region.NA,
        tuple(m.marketplace_id for m in MARKETPLACES),
        srv.client_id,
        srv.base_url,
        srv.lwa_url,
    )
    creds = Credentials(srv.client_secret, srv.refresh_token) if connected else None
    return services.stores.create_store(ADMIN, draft, creds)


class Recorder:
    """Every notice the services publish; waits for the sync job's round to finish."""

    def __init__(self, services: Services) -> None:
        self.seen: list[Notice] = []
        self._finished = threading.Event()
        self._status: JobStatus | None = None
        services.core.notices.subscribe(Notice, self.seen.append)
        services.core.notices.subscribe(JobChanged, self._job_changed)

    def _job_changed(self, notice: JobChanged) -> None:
        if notice.status.last_finished is not None:
            self._status = notice.status
            self._finished.set()

    def round_finished(self) -> JobStatus:
        assert self._finished.wait(WAIT)
        assert self._status is not None
        return self._status

    def started(self) -> list[int]:
        return [n.store_id for n in self.seen if isinstance(n, SyncStarted)]


def test_scheduled_round_syncs_every_connected_store_as_the_system(
    services: Services, srv: FakeSpApi
) -> None:
    connected = _store(services, srv, "Connected")
    _store(services, srv, "Not connected yet", connected=False)
    recorder = Recorder(services)

    services.sync_job.start(run_now=True)
    status = recorder.round_finished()

    assert status.last_error is None and not status.running
    vault = services.core.vault
    stored = vault.call(lambda c: orders_repo.search_ids(c, ADMIN, orders_repo.OrderQuery()))
    assert set(stored) == set(srv.order_ids())
    assert recorder.started() == [connected.id]
    changed = [n for n in recorder.seen if isinstance(n, OrdersChanged)]
    assert {i for n in changed for i in n.order_ids} == set(srv.order_ids())
    # Audited as the system: no operator id.
    actors = vault.call(
        lambda c: c.execute(
            "SELECT actor_id FROM audit_log WHERE action = ?", (Action.SYNC_FINISHED,)
        ).fetchall()
    )
    assert actors == [(None,)]


@pytest.mark.expect_log("muttefik.sync", "WARNING", "sync of store \\d+ failed")
def test_a_failed_store_is_the_rounds_last_error_and_the_round_goes_on(
    services: Services, srv: FakeSpApi
) -> None:
    first = _store(services, srv, "A revoked grant")  # stores sync in name order
    second = _store(services, srv, "B fine")
    services.stores.set_credentials(
        ADMIN, first.id, Credentials(srv.client_secret, "Atzr|not-a-grant-the-fake-knows")
    )
    recorder = Recorder(services)

    services.sync_job.start(run_now=True)
    status = recorder.round_finished()

    assert status.last_error == AmazonGrantInvalid.title
    failed = [n for n in recorder.seen if isinstance(n, SyncFailed)]
    assert [n.store_id for n in failed] == [first.id]
    assert recorder.started() == [first.id, second.id]


def test_run_now_for_one_store_syncs_only_that_store(services: Services, srv: FakeSpApi) -> None:
    _store(services, srv, "Left alone")
    wanted = _store(services, srv, "Wanted")
    recorder = Recorder(services)

    services.sync_job.start(run_now=False)
    services.sync_job.run_now(wanted.id)
    recorder.round_finished()

    assert recorder.started() == [wanted.id]
