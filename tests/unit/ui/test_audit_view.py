"""The audit tab over the real audit log in a real vault: lazy pages through the DB
thread, filters by operator/action/date, export to CSV and JSONL (itself audited)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QDate
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.audit import Action, AuditFilter, AuditLog, AuditService, Outcome
from app.auth.rbac import Role
from app.clock import FakeClock
from app.errors import PermissionDenied
from app.vault import Vault
from tests.support import AUDIT_TEST_KEY
from tests.unit.ui.auth_fakes import FakeAuth, FakeOperators
from ui import ops
from ui.models.audit_model import AUDIT_LOADED_ROLE, AUDIT_SEQ_ROLE, AuditModel, Column
from ui.views.audit import AuditView

PW = "Admin-password-2026!"


@pytest.fixture(autouse=True)
def _bridge(qapp: object) -> Iterator[None]:
    ops.install()
    yield


@pytest.fixture
def auth() -> FakeAuth:
    fake = FakeAuth()
    fake.add("admin", PW)
    fake.add("bora", PW, role=Role.AGENT)
    return fake


@pytest.fixture
def service(vault: Vault, clock: FakeClock, auth: FakeAuth) -> AuditService:
    """23 entries: 20 sign-ins by admin over 20 days, then 3 failures by bora today."""
    log = AuditLog(clock=clock, key=AUDIT_TEST_KEY)
    clock.advance(-20 * 86400)

    def seed(conn: Any) -> None:
        for account in auth.accounts.values():
            conn.execute(
                "INSERT INTO operators(id, username, display_name, email, role, created_at)"
                " VALUES (?, ?, ?, ?, ?, '2026-01-01')",
                (account.id, account.username, account.display_name, account.email,
                 account.role.value),
            )  # fmt: skip
        for _ in range(20):
            clock.advance(86400)
            log.append(conn, actor_id=1, action=Action.SIGN_IN_OK, details={"method": "totp"})
        for i in range(3):
            log.append(
                conn,
                actor_id=2,
                action=Action.SIGN_IN_FAILED,
                object_type="operator",
                object_id=2,
                details={"stage": "password", "reason": "wrong", "failures": i + 1},
            )

    vault.call_write(seed)
    return AuditService(vault=vault, audit=log)


@pytest.fixture
def view(qtbot: QtBot, service: AuditService, auth: FakeAuth) -> AuditView:
    v = AuditView(
        service=service,
        operators=FakeOperators(auth),
        actor=auth.accounts["admin"].actor(),
        page_size=5,
    )
    qtbot.addWidget(v)
    v.resize(1000, 400)
    v.show()
    qtbot.waitUntil(lambda: v.model.rowCount() == 23)
    qtbot.waitUntil(lambda: v.operator.count() == 3)
    return v


def test_model_lazy_pages_and_modeltester(
    qtbot: QtBot, qtmodeltester: ModelTester, service: AuditService, auth: FakeAuth
) -> None:
    model = AuditModel(service=service, actor=auth.accounts["admin"].actor(), page_size=5)
    with qtbot.waitSignal(model.count_loaded) as blocker:
        model.set_filter(AuditFilter())
    assert blocker.args == [23]
    index = model.index(12, Column.ACTION)
    assert model.data(index, AUDIT_LOADED_ROLE) is False
    assert model.data(index) == "…"  # placeholder while its page loads
    with qtbot.waitSignal(model.page_loaded) as page:
        pass
    assert page.args == [2]  # only the page of row 12 was fetched
    assert model.data(index, AUDIT_LOADED_ROLE) is True
    assert model.data(model.index(0, Column.SEQ), AUDIT_LOADED_ROLE) is False
    assert model.data(index, AUDIT_SEQ_ROLE) == 23 - 12  # newest first
    qtmodeltester.check(model)  # type: ignore[no-untyped-call]
    qtbot.waitUntil(lambda: all(model.data(model.index(r, 0), AUDIT_LOADED_ROLE)
                                for r in range(model.rowCount())))  # fmt: skip
    assert model.data(model.index(0, Column.OPERATOR)) == "bora"
    assert model.data(model.index(0, Column.ACTION)) == "Sign-in failed"
    assert model.data(model.index(0, Column.OBJECT)) == "operator 2"
    assert "reason=wrong" in model.data(model.index(0, Column.DETAILS))
    qtmodeltester.check(model)  # type: ignore[no-untyped-call]


def test_filters(qtbot: QtBot, view: AuditView, auth: FakeAuth) -> None:
    bora = view.operator.findData(auth.accounts["bora"].id)
    with qtbot.waitSignal(view.model.count_loaded) as blocker:
        view.operator.setCurrentIndex(bora)
    assert blocker.args == [3]
    assert view.status.text() == "3 entries"

    with qtbot.waitSignal(view.model.count_loaded) as blocker:
        view.operator.setCurrentIndex(0)
    assert blocker.args == [23]
    ok = view.action.findData(Action.SIGN_IN_OK)
    with qtbot.waitSignal(view.model.count_loaded) as blocker:
        view.action.setCurrentIndex(ok)
    assert blocker.args == [20]

    # The fake clock ends at 2026-11-01; entries are one a day before that.
    with qtbot.waitSignal(view.model.count_loaded):
        view.date_from.setDate(QDate(2026, 10, 25))
    with qtbot.waitSignal(view.model.count_loaded) as blocker:
        view.use_from.setChecked(True)
    since = view.current_filter().since
    assert since is not None
    assert 5 <= blocker.args[0] <= 9  # about a week, whatever the local time zone
    with qtbot.waitSignal(view.model.count_loaded) as blocker:
        view.date_to.setDate(QDate(2026, 10, 20))
        view.use_to.setChecked(True)
    assert blocker.args == [0]
    until = view.current_filter().until
    assert until is not None and until.astimezone().date() == date(2026, 10, 21)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export(qtbot: QtBot, view: AuditView, auth: FakeAuth, tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"audit.{fmt}"
    view.choose_path = lambda parent: (str(target), fmt)  # type: ignore[assignment,return-value]
    bora = view.operator.findData(auth.accounts["bora"].id)
    with qtbot.waitSignal(view.model.count_loaded):
        view.operator.setCurrentIndex(bora)
    with qtbot.waitSignal(view.exported, timeout=5000) as blocker:
        view.export_button.click()
    assert blocker.args == [3, str(target)]
    text = target.read_text(encoding="utf-8")
    if fmt == "csv":
        rows = list(csv.DictReader(text.splitlines()))
    else:
        rows = [json.loads(line) for line in text.splitlines()]
    *rows, head = rows  # the export ends with the log's head (audit verify --against)
    assert head["seq"] in (23, "23") and head.get("record", head.get("action")) in (
        "head",
        "audit_head",
    )
    assert [r["actor_username"] for r in rows] == ["bora"] * 3
    assert (target.stat().st_mode & 0o777) == 0o600
    # The export is itself in the log (by the admin).
    with qtbot.waitSignal(view.model.count_loaded) as count:
        view.operator.setCurrentIndex(view.operator.findData(auth.accounts["admin"].id))
    assert count.args == [21]


def test_agents_are_refused_by_the_service(
    qtbot: QtBot, service: AuditService, auth: FakeAuth
) -> None:
    model = AuditModel(service=service, actor=auth.accounts["bora"].actor())
    with qtbot.waitSignal(model.load_failed) as blocker:
        model.set_filter(AuditFilter())
    assert isinstance(blocker.args[0], PermissionDenied)
    assert model.rowCount() == 0


def test_verify_shows_what_it_found(qtbot: QtBot, view: AuditView, vault: Vault) -> None:
    with qtbot.waitSignal(view.verified, timeout=5000) as blocker:
        view.verify_button.click()
    assert blocker.args[0].ok
    assert view.status.text() == "Audit log intact: 23 entries verified."

    def tamper(conn: Any) -> None:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("UPDATE audit_log SET actor_id = 2 WHERE seq = 7")
        conn.execute("DROP TRIGGER audit_log_no_delete")
        conn.execute("DELETE FROM audit_log WHERE seq >= 22")

    vault.call_write(tamper)
    with qtbot.waitSignal(view.verified, timeout=5000) as blocker:
        view.verify_button.click()
    result = blocker.args[0]
    assert result.outcomes == [Outcome.FORGED, Outcome.TRUNCATED, Outcome.TRIGGERS_MISSING]
    text = view.status.text()
    assert text.startswith("The audit log is NOT intact:")
    assert "Audit entry 7 was changed or forged" in text
    assert "The last audit entries (22–23) were deleted from the data file." in text
    assert view.verify_button.isEnabled()
