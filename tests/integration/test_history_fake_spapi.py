"""The order history load (Amazon's order reports, issue 15) against the fake SP-API over
real HTTP: the real Reports client, the real report reader, an encrypted profile.

The proof of data minimisation is here too: the fake's reports carry marker values in
every address column (and ``cpf`` in Brazil); after a load none of them is in any
decrypted page of the data file or its WAL, in the log files or in the temp folder.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app import settings
from app.amazon import orders_repo
from app.amazon.history import HistoryReportFailed, HistoryService
from app.amazon.mapping import parse_order
from app.amazon.models import Credentials, HistoryProgress, Order, Region, StoreDraft
from app.amazon.orders_repo import OrderQuery
from app.amazon.ratelimit import RateLimits
from app.amazon.spapi import clear_token_cache
from app.amazon.spapi.orders import real_client_factory
from app.amazon.spapi.reports import CREATE_REPORT
from app.amazon.spapi.reports import real_client_factory as reports_factory
from app.amazon.stores import StoreService
from app.amazon.sync import SyncService
from app.audit import make_audit_log
from app.auth.models import Actor
from app.auth.rbac import Role
from app.bootstrap import open_vault
from app.clock import SystemClock
from app.demo.fake_spapi import FakeSpApi
from app.demo.fake_spapi_catalog import MARKETPLACES
from app.demo.fake_spapi_faults import Fault
from app.demo.seed_orders import to_epoch
from app.jobs import Job
from app.logsetup import setup_logging
from app.notices import HistoryFinished, HistoryProgressed, Notice, Notices
from app.paths import Profile
from app.secrets import SecretStore
from app.vault import Vault
from tests.helpers.operators import put_operator
from tests.helpers.sqlcipher_pages import Scan, find_in_files, find_markers
from tests.support import MemoryKeyring

pytestmark = pytest.mark.integration

ADMIN = Actor(id=1, username="admin", display_name="Admin", role=Role.ADMIN)
ALL_MARKETPLACES = tuple(m.marketplace_id for m in MARKETPLACES)
DAYS = 90


@dataclass
class Env:
    profile: Profile
    key: bytes
    vault: Vault
    srv: FakeSpApi
    history: HistoryService
    sync: SyncService
    store_id: int
    seen: list[Notice]
    logs: Path
    temp: Path

    def stored(self) -> dict[str, Any]:
        ids = self.vault.call(lambda c: orders_repo.search_ids(c, ADMIN, OrderQuery()))
        return {i: self.vault.call(lambda c, i=i: orders_repo.get_order(c, ADMIN, i)) for i in ids}

    def expected(self, days: int = DAYS) -> set[str]:
        """The fake's orders purchased within the load's window (it began a moment
        ago: a minute's slack either way would be an order at the very edge)."""
        since = to_epoch(datetime.now(UTC) - timedelta(days=days))
        return {
            i
            for i in self.srv.order_ids()
            if (rec := self.srv.store.get(i)) is not None and rec.created >= since + 60
        }

    def as_amazon_says(self, order_id: str) -> Order:
        """The order as the Orders API gives it (getOrder's JSON, our mapping)."""
        rec = self.srv.store.get(order_id)
        assert rec is not None
        data = self.srv.store.render(rec, frozenset({"FULFILLMENT", "PROCEEDS"}))
        return parse_order(data, store_id=self.store_id, now=datetime.now(UTC))


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    clear_token_cache()
    yield
    clear_token_cache()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", None)
    logs = tmp_path / "logs"
    setup_logging(logs, level=logging.DEBUG, stderr=False)
    profile = Profile(tmp_path / "profile")
    secrets = SecretStore(service="history-test", backend=MemoryKeyring(), enforce_policy=False)
    vault, key = open_vault(profile, secrets)
    clock = SystemClock()
    notices = Notices()
    seen: list[Notice] = []
    notices.subscribe(Notice, seen.append)
    srv = FakeSpApi(orders=400, seed=15, speed=None, report_delay=(0.05, 0.3))
    srv.start()
    try:
        factory = real_client_factory(timeout=5)
        audit = make_audit_log(vault, secrets, clock=clock, key=vault.audit_key, notices=notices)
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
        history = HistoryService(
            vault=vault,
            clock=clock,
            notices=notices,
            audit=audit,
            stores=stores,
            sync=sync,
            client_factory=reports_factory(timeout=5),
            poll_seconds=0.05,
            poll_max_seconds=0.2,
        )
        now = clock.now()
        vault.call_write(lambda c: settings.put(c, settings.SYNC_BACKFILL_DAYS, DAYS, now=now))
        put_operator(vault, ADMIN)
        store = stores.create_store(
            ADMIN,
            StoreDraft(
                "Fake", Region.NA, ALL_MARKETPLACES, srv.client_id, srv.base_url, srv.lwa_url
            ),
            Credentials(srv.client_secret, srv.refresh_token),
        )
        yield Env(profile, key, vault, srv, history, sync, store.id, seen, logs, temp)
    finally:
        srv.close()
        vault.close()


def test_a_load_stores_the_history_marked_for_details_and_the_sync_fills_them(env: Env) -> None:
    state = env.history.load(ADMIN, env.store_id)
    assert state.state == "done" and state.error is None
    assert len(state.ranges) == 3 and state.ranges_done == 3  # 90 days: 30 + 30 + 30
    stored = env.stored()
    assert set(stored) == env.expected()
    assert state.orders == len(stored)
    assert all(o.details_pending and o.packages == () for o in stored.values())
    # The report's facts are the Orders API's: dates, status, items, the channel.
    for order_id, order in list(stored.items())[:80]:
        api = env.as_amazon_says(order_id)
        assert order.purchase_date == api.purchase_date
        assert order.status is api.status, order_id
        assert order.fulfillment_channel == api.fulfillment_channel
        assert [(i.asin, i.sku, i.quantity) for i in order.items] == [
            (i.asin, i.sku, i.quantity) for i in api.items
        ]
    assert any(isinstance(n, HistoryProgressed) for n in env.seen)
    assert [n.state for n in env.seen if isinstance(n, HistoryFinished)] == ["done"]

    # The regular sync passes over them: every order gets what only the API has.
    result = env.sync.sync_store(ADMIN, env.store_id, threading.Event())
    assert result.backfill_complete
    refreshed = env.stored()
    assert not [i for i, o in refreshed.items() if o.details_pending]
    shipped_mfn = [o for o in refreshed.values() if o.fulfillment_channel == "MFN" and o.packages]
    assert shipped_mfn, "packages came from the Orders API"


def test_no_address_column_survives_anywhere(env: Env) -> None:
    placed = datetime.now(UTC) - timedelta(days=3)
    brazil = env.srv.add_localized_orders("A2Q3Y263D00KWC", 5, placed)
    env.vault.call_write(
        lambda c: c.execute(
            "UPDATE stores SET marketplace_ids = ? WHERE id = ?",
            (json.dumps([*ALL_MARKETPLACES, "A2Q3Y263D00KWC"]), env.store_id),
        )
    )
    state = env.history.load(ADMIN, env.store_id)
    assert state.state == "done"
    stored = env.stored()
    assert set(brazil) <= set(stored)
    markers = sorted({m for i in stored for m in env.srv.report_markers(i)})
    assert any(m.startswith("MKCPF") for m in markers), "Brazil's tax id markers were sent"
    assert len(markers) > 4 * len(stored) - 1
    env.vault.close()
    scan = Scan()
    found = find_markers(env.profile, env.key, markers, scan)
    assert scan.pages[env.profile.db_path] > 10
    assert {m: w for m, w in found.items() if w} == {}
    assert find_in_files([env.logs, env.temp, env.profile.root], markers) == {}
    assert (env.logs / "muttefik.log").stat().st_size > 0
    # The scan can see: an order id (not PII) is in the file.
    some = next(iter(stored))
    assert find_markers(env.profile, env.key, [some])[some]


def test_a_cancelled_load_resumes_from_the_last_finished_range(env: Env) -> None:
    stop = threading.Event()

    def progress(done: int, total: int, text: str) -> None:
        if done >= 1:
            stop.set()

    job = Job(progress)
    job.cancel = stop
    state = env.history.load(ADMIN, env.store_id, job=job)
    assert state.state == "cancelled"
    done_before = state.ranges_done
    assert 1 <= done_before < 3
    asked = env.srv.request_count(CREATE_REPORT)
    assert asked == 3  # every range was asked for at once
    resumed = env.history.load(ADMIN, env.store_id)  # days None: resume
    assert resumed.state == "done" and resumed.ranges_done == 3
    assert env.srv.request_count(CREATE_REPORT) == asked, "reports already asked are polled"
    assert set(env.stored()) == env.expected()


@pytest.mark.expect_log("muttefik.sync", "WARNING", r"order report \d+ of store 1 ended FATAL")
@pytest.mark.expect_log("muttefik.sync", "WARNING", r"history load of store 1 failed")
def test_a_fatal_report_is_asked_again_then_the_load_fails_in_amazons_words(env: Env) -> None:
    env.srv.faults.set(Fault.REPORT_FATAL, count=1)
    assert env.history.load(ADMIN, env.store_id).state == "done"
    assert env.srv.request_count(CREATE_REPORT) == 4

    env.srv.faults.set(Fault.REPORT_FATAL)  # every report now
    with pytest.raises(HistoryReportFailed) as failed:
        env.history.load(ADMIN, env.store_id, 30)
    message = failed.value.message
    assert message.startswith("Amazon could not make the order report for "), message
    assert "errorDetails" not in message and "{" not in message, message
    state = env.history.state(ADMIN, env.store_id).result()
    assert state is not None and state.state == "failed"
    assert state.error == HistoryReportFailed.title


@pytest.mark.parametrize("fault", [Fault.TRUNCATED_DOCUMENT, Fault.EXPIRED_DOCUMENT_URL])
@pytest.mark.expect_log("muttefik.sync", "WARNING", r"not read .*asking again")
def test_a_cut_download_or_an_expired_link_is_fetched_again(env: Env, fault: Fault) -> None:
    env.srv.faults.set(fault, count=1)
    state = env.history.load(ADMIN, env.store_id)
    assert state.state == "done"
    assert set(env.stored()) == env.expected()


def test_throttling_is_waited_out(env: Env) -> None:
    env.srv.faults.set(Fault.THROTTLE, count=3)
    assert env.history.load(ADMIN, env.store_id).state == "done"
    assert set(env.stored()) == env.expected()


def test_progress_has_an_eta_once_a_report_is_done(env: Env) -> None:
    env.history.load(ADMIN, env.store_id)
    progress = [n.progress for n in env.seen if isinstance(n, HistoryProgressed)]
    assert isinstance(progress[0], HistoryProgress) and progress[0].eta_seconds is None
    assert any(p.eta_seconds is not None for p in progress if p.ranges_done >= 1)
    assert progress[-1].ranges_done == progress[-1].ranges_total == 3
