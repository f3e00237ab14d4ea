"""The audit tab over the real audit log in a real vault: rows by seq through the DB
thread (entries appended while open go on top), filters by operator/action/date, export
to CSV and JSONL (itself audited)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QDate
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.audit import Action, AuditEntry, AuditFilter, AuditLog, Outcome
from app.audit_service import AuditService
from app.auth.hashing import fast_hashing_for_tests
from app.auth.models import Actor
from app.auth.operators import OperatorService
from app.auth.rbac import Role
from app.clock import FakeClock
from app.errors import PermissionDenied
from app.notices import Notices
from app.vault import Vault
from tests.support import AUDIT_TEST_KEY
from ui import ops
from ui.events import QtEvents
from ui.models.audit_model import AuditModel, Column, operator_text
from ui.models.roles import ItemRole
from ui.views.audit import AuditView

ADMIN = Actor(id=1, username="admin", display_name="Admin", role=Role.ADMIN)
BORA = Actor(id=2, username="bora", display_name="Bora", role=Role.AGENT)


@pytest.fixture(autouse=True)
def _bridge(qapp: object) -> Iterator[None]:
    ops.install()
    yield


@pytest.fixture
def service(vault: Vault, clock: FakeClock) -> AuditService:
    """23 entries: 20 sign-ins by admin over 20 days, then 3 failures by bora today."""
    log = AuditLog(clock=clock, key=AUDIT_TEST_KEY)
    clock.advance(-20 * 86400)

    def seed(conn: Any) -> None:
        for actor in (ADMIN, BORA):
            conn.execute(
                "INSERT INTO operators(id, username, display_name, email, role, created_at)"
                " VALUES (?, ?, ?, ?, ?, '2026-01-01')",
                (actor.id, actor.username, actor.display_name,
                 f"{actor.username}@example.com", actor.role.value),
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
def view(qtbot: QtBot, service: AuditService, vault: Vault, clock: FakeClock) -> AuditView:
    operators = OperatorService(
        vault=vault, clock=clock, audit=service.audit, hasher=fast_hashing_for_tests()
    )
    v = AuditView(
        service=service,
        operators=operators,
        actor=ADMIN,
        page_size=5,
    )
    qtbot.addWidget(v)
    v.resize(1000, 400)
    v.show()
    qtbot.waitUntil(lambda: v.model.rowCount() == 23)
    qtbot.waitUntil(lambda: v.operator.count() == 3)
    return v


def _loaded(model: AuditModel, row: int) -> bool:
    return model.data(model.index(row, 0), ItemRole.LOADED) is True


def test_model_loads_shown_entries_by_seq_and_modeltester(
    qtbot: QtBot, qtmodeltester: ModelTester, service: AuditService
) -> None:
    model = AuditModel(service=service, actor=ADMIN, page_size=5)
    with qtbot.waitSignal(model.search_finished) as blocker:
        model.set_filter(AuditFilter())
    assert blocker.args == [23]
    assert [model.seq_at(r) for r in (0, 12, 22)] == [23, 11, 1]  # newest first
    index = model.index(12, Column.ACTION)
    assert not _loaded(model, 12) and model.data(index) is None
    qtbot.waitUntil(lambda: _loaded(model, 5))  # the search's row, then a page below
    loaded: list[tuple[int, int]] = []
    model.rows_loaded.connect(lambda first, last: loaded.append((first, last)))
    model.want_rows(12, 13)
    qtbot.waitUntil(lambda: _loaded(model, 12))
    assert loaded[0] == (12, 13)  # the shown rows first, by seq
    assert model.data(index) == "Signed in" and model.data(index, ItemRole.KEY) == 11
    qtmodeltester.check(model)  # type: ignore[no-untyped-call]
    model.want_rows(0, 22)
    qtbot.waitUntil(lambda: all(_loaded(model, r) for r in range(model.rowCount())))
    assert model.data(model.index(0, Column.OPERATOR)) == "bora"
    assert model.data(model.index(0, Column.ACTION)) == "Sign-in failed"
    assert model.data(model.index(0, Column.OBJECT)) == "operator 2"
    assert "reason=wrong" in model.data(model.index(0, Column.DETAILS))
    qtmodeltester.check(model)  # type: ignore[no-untyped-call]


def test_entries_appended_while_open_go_on_top(
    qtbot: QtBot, service: AuditService, vault: Vault
) -> None:
    """Paging by seq: new entries are inserted above, the rows shown keep their entries
    (an OFFSET page read after the append would have shifted by the new entries)."""
    model = AuditModel(service=service, actor=ADMIN, page_size=5)
    with qtbot.waitSignal(model.search_finished):
        model.set_filter(AuditFilter())
    model.want_rows(10, 14)
    qtbot.waitUntil(lambda: all(_loaded(model, r) for r in range(10, 15)))
    before = [model.data(model.index(r, Column.SEQ)) for r in range(10, 15)]
    inserted: list[tuple[int, int]] = []
    loaded: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    model.rows_loaded.connect(lambda first, last: loaded.append((first, last)))

    def two_more(conn: Any) -> None:  # one by the system (no operator), one by admin
        service.audit.append(conn, actor_id=None, action=Action.SIGN_IN_OK)
        service.audit.append(conn, actor_id=1, action=Action.SIGN_IN_OK)

    vault.call_write(two_more)
    with (
        qtbot.assertNotEmitted(model.modelReset, wait=0),
        qtbot.waitSignal(model.search_finished) as blocker,
    ):
        model.append_arrived()
    assert blocker.args == [25] and inserted == [(0, 1)]
    assert [model.seq_at(r) for r in (0, 1, 2)] == [25, 24, 23]
    # The entries shown before moved down with their rows; none was read again.
    assert [model.data(model.index(r, Column.SEQ)) for r in range(12, 17)] == before
    assert not any(first <= r <= last for first, last in loaded for r in range(12, 17))
    model.want_rows(0, 1)
    qtbot.waitUntil(lambda: _loaded(model, 0) and _loaded(model, 1))
    assert model.data(model.index(0, Column.OPERATOR)) == "admin"
    assert model.data(model.index(1, Column.OPERATOR)) == "system"


def test_filters(qtbot: QtBot, view: AuditView) -> None:
    bora = view.operator.findData(BORA.id)
    with qtbot.waitSignal(view.model.search_finished) as blocker:
        view.operator.setCurrentIndex(bora)
    assert blocker.args == [3]
    assert view.status.text() == "3 entries"

    with qtbot.waitSignal(view.model.search_finished) as blocker:
        view.operator.setCurrentIndex(0)
    assert blocker.args == [23]
    ok = view.action.findData(Action.SIGN_IN_OK)
    with qtbot.waitSignal(view.model.search_finished) as blocker:
        view.action.setCurrentIndex(ok)
    assert blocker.args == [20]

    # The fake clock ends at 2026-11-01; entries are one a day before that.
    with qtbot.waitSignal(view.model.search_finished):
        view.date_from.setDate(QDate(2026, 10, 25))
    with qtbot.waitSignal(view.model.search_finished) as blocker:
        view.use_from.setChecked(True)
    since = view.current_filter().since
    assert since is not None
    assert 5 <= blocker.args[0] <= 9  # about a week, whatever the local time zone
    with qtbot.waitSignal(view.model.search_finished) as blocker:
        view.date_to.setDate(QDate(2026, 10, 20))
        view.use_to.setChecked(True)
    assert blocker.args == [0]
    until = view.current_filter().until
    assert until is not None and until.astimezone().date() == date(2026, 10, 21)


def test_the_view_adds_entries_announced_after_commit(
    qtbot: QtBot, service: AuditService, vault: Vault, clock: FakeClock
) -> None:
    notices = Notices()
    events = QtEvents(notices)
    operators = OperatorService(
        vault=vault, clock=clock, audit=service.audit, hasher=fast_hashing_for_tests()
    )
    v = AuditView(service=service, operators=operators, actor=ADMIN, qt_events=events)
    qtbot.addWidget(v)
    v.show()
    qtbot.waitUntil(lambda: v.model.rowCount() == 23)
    log = AuditLog(
        clock=clock, key=AUDIT_TEST_KEY, after_commit=vault.after_commit, notices=notices
    )
    with qtbot.waitSignal(v.model.search_finished, timeout=5000) as blocker:
        vault.call_write(lambda conn: log.append(conn, actor_id=None, action=Action.SIGN_IN_OK))
    assert blocker.args == [24] and v.model.seq_at(0) == 24
    assert v.status.text() == "24 entries"
    events.close()


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export(qtbot: QtBot, view: AuditView, tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"audit.{fmt}"
    view.choose_path = lambda parent: (str(target), fmt)  # type: ignore[assignment,return-value]
    bora = view.operator.findData(BORA.id)
    with qtbot.waitSignal(view.model.search_finished):
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
    with qtbot.waitSignal(view.model.search_finished) as count:
        view.operator.setCurrentIndex(view.operator.findData(ADMIN.id))
    assert count.args == [21]


@pytest.mark.expect_log("muttefik.ui", "WARNING", "search failed: PermissionDenied")
def test_agents_are_refused_by_the_service(qtbot: QtBot, service: AuditService) -> None:
    model = AuditModel(service=service, actor=BORA)
    with qtbot.waitSignal(model.search_failed) as blocker:
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


@pytest.mark.parametrize(
    ("actor_id", "username", "action", "shown"),
    [
        (1, "admin", Action.SIGN_IN_OK, "admin"),
        (7, None, Action.SIGN_IN_OK, "#7"),  # an operator row that no longer exists
        (None, None, Action.AUDIT_PROTECTION_RESTORED, "system"),  # the app itself
        (None, None, Action.SIGN_IN_FAILURES, "—"),  # an unknown name: no one
    ],
)
def test_who_acted(actor_id: int | None, username: str | None, action: str, shown: str) -> None:
    entry = AuditEntry(1, datetime.now(UTC), actor_id, action, None, None, {}, "", "", username)
    assert operator_text(entry) == shown
