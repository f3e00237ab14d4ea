"""PrivacyService.purge: the run recorded and audited with counts only, batches of one
transaction each (a cancel between batches leaves whole batches, the next run finishes),
a failure recorded then raised, dry runs, permissions, the status and runs reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app import access
from app.amazon import orders_repo
from app.amazon.models import OrderStatus
from app.audit import Action, AuditLog, make_audit_log
from app.auth.models import Actor, Role
from app.clock import FakeClock
from app.errors import PermissionDenied
from app.jobs import Job
from app.notices import ThreadsChanged
from app.privacy import purge as purging
from app.privacy.models import PurgeCounts, RunKind, RunState
from app.privacy.service import PII_PURGED, PrivacyService, PurgeRunning
from app.services import Core
from app.vault import wal
from tests.helpers.operators import put_operator
from tests.helpers.orders import make
from tests.helpers.privacy import found, markers, put_buyer

ADMIN = Actor(id=1, username="ada", display_name="Ada", role=Role.ADMIN)
AGENT = Actor(id=2, username="bora", display_name="Bora", role=Role.AGENT, store_ids=frozenset({1}))
DAY = timedelta(days=1)
EXPIRED = range(1, 6)  # buyers 1-5: delivered 40 days ago
RECENT = 9  # delivered 5 days ago


@pytest.fixture
def audit(core: Core) -> AuditLog:
    return make_audit_log(
        core.vault, core.secrets, clock=core.clock, key=core.vault.audit_key, notices=core.notices
    )


@pytest.fixture
def privacy(core: Core, audit: AuditLog) -> PrivacyService:
    now = core.clock.now()
    orders = {n: make(n, status=OrderStatus.SHIPPED, delivered_at=now - 40 * DAY) for n in EXPIRED}
    orders[RECENT] = make(RECENT, status=OrderStatus.SHIPPED, delivered_at=now - 5 * DAY)

    def write(conn: Any) -> None:
        conn.execute("INSERT INTO stores(id, name, created_at) VALUES (1, 'Main', 'x')")
        orders_repo.upsert_orders(conn, orders.values(), now=now)

    core.vault.call_write(write)
    put_operator(core.vault, ADMIN)
    put_operator(core.vault, AGENT)
    for n, order in orders.items():
        put_buyer(core.vault, n, order.order_id, now - 60 * DAY)
    return PrivacyService(
        vault=core.vault,
        clock=core.clock,
        notices=core.notices,
        audit=audit,
        jobs=core.jobs,
        batch_size=2,
    )


def purged_audit(core: Core) -> list[dict[str, Any]]:
    return core.vault.call(
        lambda c: [
            json.loads(r[0])
            for r in c.execute(
                "SELECT details FROM audit_log WHERE action = ? ORDER BY seq", (PII_PURGED,)
            )
        ]
    )


def test_a_run_erases_expired_buyers_only_and_records_it(
    core: Core, privacy: PrivacyService
) -> None:
    seen: list[ThreadsChanged] = []
    core.notices.subscribe(ThreadsChanged, seen.append)
    run = privacy.purge(ADMIN)
    assert run.state is RunState.DONE and run.kind is RunKind.PURGE and not run.dry_run
    assert run.counts == PurgeCounts(threads=5, messages=10, drafts=5, attachments=5)
    for n in EXPIRED:
        assert found(core.vault, n) == [], n
    assert found(core.vault, RECENT) == list(markers(RECENT))
    assert [len(n.thread_ids) for n in seen] == [2, 2, 1]
    assert all(n.store_ids == frozenset({1}) for n in seen)
    # audited with counts only
    (details,) = purged_audit(core)
    assert details["threads"] == 5 and details["state"] == "done"
    assert set(details) <= {"run", "state", "as_of", *PurgeCounts().as_dict()}
    # the WAL was emptied into the main file
    assert wal.size(core.profile.db_path) == 0
    # nothing left for the next run
    assert privacy.purge(ADMIN).counts.threads == 0


def test_the_system_may_purge_an_agent_may_not(core: Core, privacy: PrivacyService) -> None:
    with pytest.raises(PermissionDenied):
        privacy.purge(AGENT)
    assert found(core.vault, 1) == list(markers(1))
    assert privacy.purge(access.SYSTEM).counts.threads == 5
    assert len(purged_audit(core)) == 1
    actor_id = core.vault.call(
        lambda c: c.execute(
            "SELECT actor_id FROM audit_log WHERE action = ?", (PII_PURGED,)
        ).fetchone()[0]
    )
    assert actor_id is None  # shown as "system"
    with pytest.raises(PermissionDenied):
        privacy.status(AGENT).result()


def test_dry_run_changes_nothing_and_is_not_audited(core: Core, privacy: PrivacyService) -> None:
    run = privacy.purge(ADMIN, dry_run=True)
    assert run.dry_run and run.state is RunState.DONE
    assert run.counts.threads == 5 and run.counts.messages == 10
    for n in EXPIRED:
        assert found(core.vault, n) == list(markers(n))
    assert purged_audit(core) == []
    assert privacy.runs(ADMIN).result()[0].dry_run


def test_as_of_in_the_future_erases_what_expires_by_then(
    core: Core, privacy: PrivacyService
) -> None:
    run = privacy.purge(ADMIN, as_of=core.clock.now() + 26 * DAY)
    assert run.counts.threads == 6
    assert found(core.vault, RECENT) == []


def test_cancel_between_batches_leaves_whole_batches(core: Core, privacy: PrivacyService) -> None:
    def cancel_after_first(done: int, total: int, text: str) -> None:
        job.cancel.set()

    job = Job(cancel_after_first)
    run = privacy.purge(ADMIN, job=job)
    assert run.state is RunState.CANCELLED
    assert run.counts.threads == 2  # one batch
    left = [n for n in EXPIRED if found(core.vault, n)]
    assert len(left) == 3
    assert all(found(core.vault, n) == list(markers(n)) for n in left)  # none half-purged
    (details,) = purged_audit(core)
    assert details["state"] == "cancelled" and details["threads"] == 2
    again = privacy.purge(ADMIN)
    assert again.state is RunState.DONE and again.counts.threads == 3
    assert all(found(core.vault, n) == [] for n in EXPIRED)


@pytest.mark.expect_log("muttefik.privacy", "ERROR", r"purge run \d+ failed: RuntimeError")
def test_a_failure_is_recorded_then_raised_and_the_next_run_finishes(
    core: Core, privacy: PrivacyService, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = purging.purge_batch
    calls: list[int] = []

    def second_fails(conn: Any, ids: Any, **kw: Any) -> PurgeCounts:
        calls.append(len(ids))
        if len(calls) == 2:
            real(conn, ids, **kw)
            raise RuntimeError("disk on fire")
        return real(conn, ids, **kw)

    monkeypatch.setattr(purging, "purge_batch", second_fails)
    with pytest.raises(RuntimeError):
        privacy.purge(ADMIN)
    (run,) = privacy.runs(ADMIN).result()
    assert run.state is RunState.FAILED and run.error == "RuntimeError"
    assert run.counts.threads == 2
    assert sum(not found(core.vault, n) for n in EXPIRED) == 2  # the failed batch rolled back
    monkeypatch.setattr(purging, "purge_batch", real)
    assert privacy.purge(ADMIN).counts.threads == 3


def test_a_run_left_running_by_a_killed_process_is_marked_failed(
    core: Core, privacy: PrivacyService
) -> None:
    core.vault.call_write(
        lambda c: c.execute(
            "INSERT INTO privacy_runs(kind, started_at, as_of, state) "
            "VALUES ('purge', '2026-10-01T00:00:00Z', '2026-10-01T00:00:00Z', 'running')"
        )
    )
    privacy.purge(ADMIN)
    runs = privacy.runs(ADMIN).result()
    assert [r.state for r in runs] == [RunState.DONE, RunState.FAILED]
    assert runs[1].error == "interrupted"


def test_one_run_at_a_time(core: Core, privacy: PrivacyService) -> None:
    def try_again(done: int, total: int, text: str) -> None:
        with pytest.raises(PurgeRunning):
            privacy.purge(ADMIN)
        tried.append(True)

    tried: list[bool] = []
    privacy.purge(ADMIN, job=Job(try_again))
    assert tried


def test_audit_log_retention_runs_with_the_purge(core: Core, privacy: PrivacyService) -> None:
    long_ago = AuditLog(clock=FakeClock(datetime(2024, 1, 1, tzinfo=UTC)), key=core.vault.audit_key)
    core.vault.call_write(
        lambda c: long_ago.append(c, actor_id=1, action=Action.KNOWLEDGE_SAVED, object_type="x")
    )
    run = privacy.purge(ADMIN)
    assert run.counts.audit_entries == 1
    actions = core.vault.call(
        lambda c: [r[0] for r in c.execute("SELECT action FROM audit_log ORDER BY seq")]
    )
    assert actions == ["audit_purged", PII_PURGED]


def test_status_and_runs(core: Core, privacy: PrivacyService) -> None:
    first = privacy.status(ADMIN).result()
    assert first.last_run is None and first.next_due is None
    assert first.pii_age.overdue == 5 and first.pii_age.due_in_7_days == 0
    assert first.pii_age.due_later == 1
    run = privacy.purge(ADMIN)
    last, next_due, age = privacy.status(ADMIN).result()
    assert last == run
    assert next_due == run.finished_at + timedelta(minutes=60)  # type: ignore[operator]
    assert age.overdue == 0 and age.due_later == 1
    privacy.next_scheduled = lambda: core.clock.now()
    assert privacy.status(ADMIN).result().next_due == core.clock.now()
    assert [r.id for r in privacy.runs(ADMIN, limit=5).result()] == [run.id]


def search_index(core: Core) -> tuple[int, int]:
    """(the index's secure-delete option, its number of segments)."""

    def read(c: Any) -> tuple[int, int]:
        option = c.execute("SELECT v FROM messages_fts_config WHERE k = 'secure-delete'")
        segments = c.execute("SELECT count(DISTINCT segid) FROM messages_fts_idx")
        return int(option.fetchone()[0]), int(segments.fetchone()[0])

    return core.vault.call(read)


def bulk(core: Core, audit: AuditLog, threshold: int) -> PrivacyService:
    return PrivacyService(
        vault=core.vault,
        clock=core.clock,
        notices=core.notices,
        audit=audit,
        batch_size=2,
        bulk_threshold=threshold,
    )


def test_a_bulk_run_merges_the_search_index(
    core: Core, privacy: PrivacyService, audit: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert search_index(core)[1] > 1  # one segment per stored message's commit
    switched: list[bool] = []
    real = purging.search_secure_delete

    def switch(conn: Any, on: bool) -> None:
        switched.append(on)
        real(conn, on)

    monkeypatch.setattr(purging, "search_secure_delete", switch)
    run = bulk(core, audit, threshold=5).purge(ADMIN)
    assert switched == [False, True] * 3  # off within each of the 3 batches
    assert run.counts.threads == 5
    assert search_index(core) == (1, 1)  # secure-delete back on, one segment
    assert all(found(core.vault, n) == [] for n in EXPIRED)
    assert found(core.vault, RECENT) == list(markers(RECENT))


def test_a_bulk_run_cut_short_is_merged_by_the_next_run(
    core: Core, privacy: PrivacyService, audit: AuditLog
) -> None:
    job = Job(lambda done, total, text: job.cancel.set())
    assert bulk(core, audit, threshold=5).purge(ADMIN, job=job).state is RunState.CANCELLED
    option, segments = search_index(core)
    assert option == 1 and segments > 1  # not merged: the run stopped
    bulk(core, audit, threshold=1000).purge(ADMIN)  # a small run after it
    assert search_index(core) == (1, 1)
