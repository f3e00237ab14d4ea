"""PurgeJob: runs the purge as the system at start and on "run now", cancel stops the
running round between batches, failures show as the job's last error, and the service's
status learns when the next run is due.  The last test runs the real purge."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from app import access
from app.amazon import orders_repo
from app.amazon.models import OrderStatus
from app.audit import make_audit_log
from app.auth.models import Actor, Role
from app.jobs import Job, JobChanged, JobHost
from app.privacy.models import RunState
from app.privacy.purge_job import NAME, PurgeFailed, PurgeJob
from app.privacy.service import PrivacyService, PurgeRunning
from app.services import Core
from tests.helpers.operators import put_operator
from tests.helpers.orders import make
from tests.helpers.privacy import found, put_buyer

WAIT = 5.0
ADMIN = Actor(id=1, username="ada", display_name="Ada", role=Role.ADMIN)


class _FakePrivacy:
    """Stands in for PrivacyService: records calls; a call blocks until released or
    cancelled, or raises ``error``."""

    def __init__(self) -> None:
        self.started = threading.Semaphore(0)
        self.release = threading.Event()
        self.calls: list[Any] = []
        self.cancelled = 0
        self.error: BaseException | None = None
        self.vault = SimpleNamespace(call=lambda fn: 60)
        self.next_scheduled: Any = None

    def purge(self, actor: Any, *, job: Job) -> None:
        self.calls.append(actor)
        self.started.release()
        if self.error is not None:
            raise self.error
        if job.cancel.wait(0 if self.release.is_set() else WAIT):
            self.cancelled += 1


def round_finished(host: JobHost, *, rescheduled: bool = False) -> threading.Event:
    """Set once a round of the purge job has finished (its JobChanged notice), and with
    ``rescheduled`` once the next run is scheduled after it."""
    done = threading.Event()

    def changed(notice: JobChanged) -> None:
        status = notice.status
        finished = status.name == NAME and status.last_finished is not None
        if finished and (not rescheduled or (status.next_run is not None and not status.running)):
            done.set()

    host.notices.subscribe(JobChanged, changed)
    return done


@pytest.fixture
def host() -> Iterator[JobHost]:
    h = JobHost()
    yield h
    h.shutdown()


def test_runs_at_start_as_the_system(host: JobHost) -> None:
    privacy = _FakePrivacy()
    privacy.release.set()
    job = PurgeJob(privacy=privacy, jobs=host)  # type: ignore[arg-type]
    job.start()
    assert privacy.started.acquire(timeout=WAIT)
    assert job.wait_idle(WAIT)
    assert privacy.calls == [access.SYSTEM] and privacy.calls[0] is access.SYSTEM
    job.run_now()
    assert privacy.started.acquire(timeout=WAIT)
    assert job.wait_idle(WAIT)
    assert len(privacy.calls) == 2
    assert job.status().last_error is None


def test_cancel_stops_the_round_not_the_schedule(host: JobHost) -> None:
    privacy = _FakePrivacy()
    job = PurgeJob(privacy=privacy, jobs=host)  # type: ignore[arg-type]
    job.start()
    assert privacy.started.acquire(timeout=WAIT)
    job.cancel_current()
    assert job.wait_idle(WAIT)
    assert privacy.cancelled == 1
    privacy.release.set()
    job.run_now()
    assert privacy.started.acquire(timeout=WAIT)


def test_a_crash_shows_as_purge_failed(host: JobHost) -> None:
    privacy = _FakePrivacy()
    privacy.error = RuntimeError("boom")
    job = PurgeJob(privacy=privacy, jobs=host)  # type: ignore[arg-type]
    finished = round_finished(host)
    job.start()
    assert finished.wait(WAIT)
    assert job.status().last_error == PurgeFailed.title


def test_a_purge_already_running_is_no_error(host: JobHost) -> None:
    privacy = _FakePrivacy()
    privacy.error = PurgeRunning()
    job = PurgeJob(privacy=privacy, jobs=host)  # type: ignore[arg-type]
    job.start()
    assert privacy.started.acquire(timeout=WAIT)
    assert job.wait_idle(WAIT)
    assert job.status().last_error is None


def test_the_real_purge_on_the_schedule(core: Core) -> None:
    now = core.clock.now()
    old = make(1, status=OrderStatus.SHIPPED, delivered_at=now - timedelta(days=40))

    def write(conn: Any) -> None:
        conn.execute("INSERT INTO stores(id, name, created_at) VALUES (1, 'Main', 'x')")
        orders_repo.upsert_orders(conn, [old], now=now)

    core.vault.call_write(write)
    put_operator(core.vault, ADMIN)
    put_buyer(core.vault, 1, old.order_id, now - timedelta(days=60))
    audit = make_audit_log(core.vault, core.secrets, clock=core.clock, key=core.vault.audit_key)
    privacy = PrivacyService(vault=core.vault, clock=core.clock, notices=core.notices, audit=audit)
    assert privacy.next_scheduled() is None
    job = PurgeJob(privacy=privacy, jobs=core.jobs)
    finished = round_finished(core.jobs, rescheduled=True)
    job.start()
    assert finished.wait(WAIT)
    assert job.status().last_error is None
    assert found(core.vault, 1) == []
    (run,) = privacy.runs(ADMIN).result()
    assert run.state is RunState.DONE and run.counts.threads == 1
    audited_as = core.vault.call(
        lambda c: c.execute("SELECT actor_id FROM audit_log WHERE action = 'pii_purged'").fetchall()
    )
    assert audited_as == [(None,)]  # the system
    assert privacy.status(ADMIN).result().next_due == job.status().next_run
    assert job.status().next_run is not None
