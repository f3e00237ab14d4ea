"""HistoryService's logic with a scripted Reports client (no HTTP): ranges, resuming,
Amazon's answers.  Over real HTTP: tests/integration/test_history_fake_spapi.py."""

from __future__ import annotations

import gzip
import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.amazon.history import HistoryReportFailed, HistoryService, plan_ranges
from app.amazon.models import Credentials, Region, StoreDraft
from app.amazon.ratelimit import RateLimits
from app.amazon.spapi.reports import (
    MAX_RANGE,
    DocumentStream,
    ProcessingStatus,
    Report,
    ReportDocument,
    ReportNotFound,
)
from app.amazon.stores import StoreService
from app.amazon.sync import SyncService
from app.audit import make_audit_log
from app.auth.models import Actor
from app.auth.rbac import Role
from app.clock import FakeClock
from app.jobs import Job
from app.notices import Notices
from app.secrets import SecretStore
from app.vault import Vault
from tests.helpers.operators import put_operator

ADMIN = Actor(id=1, username="admin", display_name="Admin", role=Role.ADMIN)
HEADER = (
    "amazon-order-id\tpurchase-date\tlast-updated-date\torder-status\tsales-channel\tasin\tquantity"
)


def _row(n: int, when: datetime) -> str:
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return f"111-{n:07d}-0000001\t{stamp}\t{stamp}\tShipped\tAmazon.com\tB0000000{n:02d}\t1"


class Scripted:
    """A Reports client answering from a script: per report, the statuses getReport
    gives in turn; documents by id."""

    def __init__(self) -> None:
        self.created: list[tuple[datetime, datetime]] = []
        self.statuses: dict[str, list[ProcessingStatus]] = {}
        self.gone: set[str] = set()
        self.documents: dict[str, bytes] = {}
        self.next_status: list[ProcessingStatus] = []

    def create_report(self, marketplace_ids: Any, start: datetime, end: datetime) -> Any:
        self.created.append((start, end))
        report_id = f"r{len(self.created)}"
        self.statuses[report_id] = list(self.next_status) or [ProcessingStatus.CANCELLED]
        return report_id, None

    def get_report(self, report_id: str) -> Report:
        if report_id in self.gone:
            raise ReportNotFound()
        script = self.statuses[report_id]
        status = script.pop(0) if len(script) > 1 else script[0]
        document = (
            f"d-{report_id}" if status in (ProcessingStatus.DONE, ProcessingStatus.FATAL) else None
        )
        return Report(report_id, status, document, None, None, None)

    def get_report_document(self, document_id: str) -> ReportDocument:
        return ReportDocument(document_id, "http://127.0.0.1/x", "GZIP", None)

    @contextmanager
    def open_document(self, document: ReportDocument) -> Iterator[DocumentStream]:
        body = self.documents.get(document.document_id, b"")
        yield DocumentStream("UTF-8", iter([gzip.compress(body)]))

    def close(self) -> None:
        pass


@pytest.fixture
def world(vault: Vault, secrets: SecretStore) -> Iterator[tuple[HistoryService, Scripted, int]]:
    clock = FakeClock(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    notices = Notices()
    put_operator(vault, ADMIN)
    stores = StoreService(vault=vault, secrets=secrets, clock=clock, notices=notices)
    store = stores.create_store(
        ADMIN,
        StoreDraft("Main", Region.NA, ("ATVPDKIKX0DER",), "amzn1.application-oa2-client.x"),
        Credentials("secret", "Atzr|token"),
    )
    sync = SyncService(
        vault=vault,
        secrets=secrets,
        clock=clock,
        notices=notices,
        stores=stores,
        limits=RateLimits(clock),
        waiter=lambda cancel, seconds: cancel.is_set(),  # no real waiting
    )
    client = Scripted()
    history = HistoryService(
        vault=vault,
        clock=clock,
        notices=notices,
        audit=make_audit_log(vault, secrets, clock=clock, key=vault.audit_key),
        stores=stores,
        sync=sync,
        client_factory=lambda s, c: client,
    )
    yield history, client, store.id


def test_ranges_cover_the_window_newest_first_none_longer_than_amazon_allows() -> None:
    until = datetime(2026, 11, 30, tzinfo=UTC)
    ranges = plan_ranges(until - timedelta(days=730), until)
    assert ranges[0][1] == until and ranges[-1][0] == until - timedelta(days=730)
    assert all(end - start <= MAX_RANGE for start, end in ranges)
    assert all(a[0] == b[1] for a, b in itertools.pairwise(ranges))
    assert len(ranges) == 25


def test_done_reports_are_stored_and_empty_ranges_count_as_done(
    world: tuple[HistoryService, Scripted, int],
) -> None:
    history, client, store_id = world
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    client.next_status = [
        ProcessingStatus.IN_QUEUE,
        ProcessingStatus.IN_PROGRESS,
        ProcessingStatus.DONE,
    ]
    client.documents["d-r1"] = "\n".join([HEADER, _row(1, now - timedelta(days=2))]).encode()
    state = history.load(ADMIN, store_id, 45)
    assert state.state == "done" and state.orders == 1
    assert [r.state for r in state.ranges] == ["done", "done"]  # r2's document is empty
    assert len(client.created) == 2


def test_a_resumed_load_asks_again_for_a_report_amazon_no_longer_has(
    world: tuple[HistoryService, Scripted, int],
) -> None:
    history, client, store_id = world
    client.next_status = [ProcessingStatus.IN_PROGRESS]  # never finishes
    stop = threading.Event()
    job = Job(lambda done, total, text: stop.set() if "preparing" in text else None)
    job.cancel = stop
    assert history.load(ADMIN, store_id, 20, job=job).state == "cancelled"
    assert len(client.created) == 1
    client.gone.add("r1")  # past Amazon's 90 days
    client.next_status = [ProcessingStatus.CANCELLED]
    state = history.load(ADMIN, store_id)  # resume
    assert state.state == "done"
    assert len(client.created) == 2


@pytest.mark.expect_log("muttefik.sync", "WARNING", r"order report r\d of store 1 ended FATAL")
@pytest.mark.expect_log("muttefik.sync", "WARNING", r"history load of store 1 failed")
def test_a_fatal_report_is_asked_once_more_then_its_reason_is_said(
    world: tuple[HistoryService, Scripted, int],
) -> None:
    history, client, store_id = world
    client.next_status = [ProcessingStatus.FATAL]
    client.documents["d-r1"] = json.dumps(
        {"errorDetails": "Too many requests for this range"}
    ).encode()
    client.documents["d-r2"] = client.documents["d-r1"]
    with pytest.raises(HistoryReportFailed) as failed:
        history.load(ADMIN, store_id, 10)
    assert len(client.created) == 2
    assert failed.value.message.endswith(
        ": Too many requests for this range. Try loading the order history again later."
    )
