"""The audit log: hash chain, append-only triggers, retention, PII allow-list, export."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app import settings
from app.audit import Action, AuditFilter, AuditLog, Outcome, months_before, validate_details
from app.auth.rbac import Role
from app.clock import FakeClock
from app.errors import AuthenticationFailed, CodeRejected
from app.vault import Vault
from tests.helpers.world import ADMIN_PW, World, make_world
from tests.support import AUDIT_TEST_KEY, append_entries, run_sql


@pytest.fixture
def world(vault: Vault, clock: FakeClock) -> World:
    return make_world(vault, clock)


def test_chain_verifies(vault: Vault, clock: FakeClock) -> None:
    log = AuditLog(clock=clock, key=AUDIT_TEST_KEY)
    append_entries(vault, log, 5)
    result = vault.call(log.verify)
    assert result.ok and result.checked == 5
    rows = vault.call(lambda c: c.execute("SELECT prev_hash, hash FROM audit_log").fetchall())
    assert rows[0][0] == "0" * 64
    assert all(rows[i][1] == rows[i + 1][0] for i in range(4))


def test_tampered_row_is_named(vault: Vault, clock: FakeClock) -> None:
    log = AuditLog(clock=clock, key=AUDIT_TEST_KEY)
    append_entries(vault, log, 5)

    run_sql(
        vault,
        "DROP TRIGGER audit_log_no_update",
        'UPDATE audit_log SET details = \'{"key":"x"}\' WHERE seq = 3',
    )
    result = vault.call(log.verify)
    assert not result.ok and result.first_broken_seq == 3
    assert "3" in result.summary()
    assert result.problems[0].outcome is Outcome.FORGED
    assert "Audit entry 3 was changed or forged" in result.summary()
    assert result.checked == 5  # the walk goes on past the forged entry


def test_deleted_row_is_named(vault: Vault, clock: FakeClock) -> None:
    log = AuditLog(clock=clock, key=AUDIT_TEST_KEY)
    append_entries(vault, log, 5)

    run_sql(vault, "DROP TRIGGER audit_log_no_delete", "DELETE FROM audit_log WHERE seq = 2")
    result = vault.call(log.verify)
    assert not result.ok and result.first_broken_seq == 2


def test_triggers_refuse_update_and_delete(vault: Vault, clock: FakeClock) -> None:
    log = AuditLog(clock=clock, key=AUDIT_TEST_KEY)
    append_entries(vault, log, 2)
    for sql in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match=r"append-only|kept at least"):
            vault.call_write(lambda c, sql=sql: c.execute(sql))
    assert vault.call(log.verify).checked == 2


def test_retention_purge_keeps_the_chain(vault: Vault) -> None:
    old_clock = FakeClock(datetime(2020, 1, 1, tzinfo=UTC))
    log = AuditLog(clock=old_clock, key=AUDIT_TEST_KEY)
    append_entries(vault, log, 3)
    old_clock.advance(400 * 86400)
    append_entries(vault, log, 2)  # 2021-02: younger than 12 months at the purge below
    old_clock.advance(200 * 86400)
    removed = vault.call_write(log.purge_expired)
    assert removed == 3
    result = vault.call(log.verify)
    assert result.ok and result.checked == 3  # 2 kept + the purge's own entry
    entries = vault.call(lambda c: log.entries(c, log.seqs(c, AuditFilter())))
    assert entries[0].action == "audit_purged" and entries[0].details["count"] == 3


def test_retention_setting_is_never_below_twelve_months(vault: Vault) -> None:
    with pytest.raises(ValueError):
        settings.AUDIT_RETENTION_MONTHS.validate(6)
    clock = FakeClock(datetime(2020, 1, 1, tzinfo=UTC))
    log = AuditLog(clock=clock, key=AUDIT_TEST_KEY)
    append_entries(vault, log, 2)
    vault.call_write(
        lambda c: settings.put(c, settings.AUDIT_RETENTION_MONTHS, 24, now=clock.now())
    )
    clock.advance(500 * 86400)  # ~16 months: kept under a 24-month setting
    assert vault.call_write(log.purge_expired) == 0
    assert months_before(datetime(2024, 3, 31, tzinfo=UTC), 1) == datetime(2024, 2, 29, tzinfo=UTC)


def test_purge_gate_never_deletes_young_entries(vault: Vault, clock: FakeClock) -> None:
    log = AuditLog(clock=FakeClock(datetime.now(UTC) - timedelta(days=30)), key=AUDIT_TEST_KEY)
    append_entries(vault, log, 1)

    def sneaky(conn: Any) -> None:
        conn.execute("INSERT INTO audit_purge_gate(before) VALUES ('9999')")
        conn.execute("DELETE FROM audit_log")

    with pytest.raises(Exception, match="kept at least"):
        vault.call_write(sneaky)


@pytest.mark.parametrize(
    ("action", "details"),
    [
        ("sign_in_ok", {"email": "x"}),
        ("operator_created", {"display_name": "Ayse"}),
        ("no_such_action", {}),
        ("operator_changed", {"fields": ["Ayse Yilmaz"]}),
        ("sign_in_failed", {"reason": "ayse@example.com"}),
        ("sign_in_failed", {"reason": {"nested": 1}}),
    ],
)
def test_details_outside_the_allow_list_are_refused(action: str, details: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        validate_details(action, details)


def test_append_outside_a_transaction_is_a_bug(vault: Vault, clock: FakeClock) -> None:
    log = AuditLog(clock=clock, key=AUDIT_TEST_KEY)
    with pytest.raises(RuntimeError):
        vault.call(lambda c: log.append(c, actor_id=None, action=Action.SIGN_IN_OK))


def test_query_filters_and_export(world: World) -> None:
    admin, secret, _ = world.create_admin()
    world.clock.advance(86400)
    with pytest.raises(AuthenticationFailed):
        world.auth.check_password("admin", "Wrong-Password-99!")
    world.clock.advance(1)
    since = world.clock.now()
    world.sign_in("admin", ADMIN_PW, secret)
    f = AuditFilter(action="sign_in_failed")
    read = world.audit.read
    assert [e.action for e in read(admin.actor, lambda r: r.entries(r.seqs(f))).result()] == [
        "sign_in_failed"
    ]
    assert len(read(admin.actor, lambda r: r.seqs(AuditFilter(since=since))).result()) == 1
    assert (
        len(read(admin.actor, lambda r: r.seqs(AuditFilter(actor_id=admin.actor.id))).result()) == 6
    )
    assert read(admin.actor, lambda r: r.seqs(AuditFilter(), below=6, limit=2)).result() == [5, 4]
    out = io.StringIO()
    assert world.audit.export(admin.actor, AuditFilter(), "csv", out) == 6
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows[0]["action"] == "operator_created" and rows[0]["actor_username"] == "admin"
    out = io.StringIO()
    world.audit.export(admin.actor, AuditFilter(since=since), "jsonl", out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [x.get("action") for x in lines] == ["sign_in_ok", "audit_exported", None]
    # The head at the moment of export: the entry before the export's own.
    assert lines[-1] == {"record": "head", "seq": 7, "hash": world.audit_rows()[6][8]}
    # The export is audited, and the chain still verifies.
    assert world.actions()[-1] == "audit_exported"
    assert world.audit.verify().ok


MARKERS = {
    "display": "Zeynep Markerova",
    "display2": "Quilla Tracewell",
    "email": "pii.marker.7731@example.org",
    "email2": "second.marker.4402@example.net",
    "bad_username": "marker-typo-user",
    "bad_password": "Marker-Wrong-Pass-55!",
    "admin_password": "Indigo-Marker-Falls-62?",
    "agent_password": "Saffron-Marker-Tides-47%",
}


def test_no_pii_reaches_the_audit_table(world: World) -> None:
    m = MARKERS
    enrollment = world.auth.begin_first_admin(
        "admin", m["display"], m["email"], m["admin_password"]
    )
    done = world.auth.complete_enrollment(enrollment, world.code(enrollment.totp_secret))
    admin = done.session.actor
    secrets_seen = [enrollment.totp_secret, *done.recovery_codes]
    store = world.add_store("EU shop")
    setup = world.ops.add_operator(
        admin, username="bora", display_name=m["display2"], email=m["email2"],
        role=Role.AGENT, store_ids={store},
    )  # fmt: skip
    secrets_seen.append(setup.code)
    with pytest.raises(AuthenticationFailed):
        world.auth.redeem_setup_code("bora", "wrong-" + setup.code, m["agent_password"])
    e2 = world.auth.redeem_setup_code("bora", setup.code, m["agent_password"])
    world.auth.complete_enrollment(e2, world.code(e2.totp_secret))
    secrets_seen.append(e2.totp_secret)
    for username, password in (
        (m["bad_username"], m["admin_password"]),
        ("admin", m["bad_password"]),
    ):
        with pytest.raises(AuthenticationFailed):
            world.auth.check_password(username, password)
    world.clock.advance(60)
    step = world.auth.check_password("admin", m["admin_password"])
    with pytest.raises(CodeRejected):
        world.auth.check_second_factor(step, "zzzz-zzzz-zzzz-zzzz")
    world.auth.check_second_factor(step, done.recovery_codes[0])
    world.ops.update_operator(
        admin, setup.operator_id, display_name=m["display"] + " Jr", email=m["email"]
    )
    temporary = world.ops.reset_password(admin, setup.operator_id)
    secrets_seen.append(temporary)
    world.ops.reset_mfa(admin, setup.operator_id)
    world.ops.set_role(admin, setup.operator_id, Role.ADMIN)
    world.ops.assign_stores(admin, setup.operator_id, set())
    world.ops.disable(admin, setup.operator_id)
    world.ops.enable(admin, setup.operator_id)
    world.clock.advance(86400)
    world.auth.change_password(admin, m["admin_password"], "Umber-Quiet-Harbor-39&")
    world.audit.export(admin, AuditFilter(), "csv", io.StringIO())
    world.auth.sign_out(admin)

    dump = "\n".join("|".join(str(v) for v in row) for row in world.audit_rows()).casefold()
    assert len(world.audit_rows()) > 25
    for marker in [*m.values(), *secrets_seen]:
        assert marker.casefold() not in dump, marker
    for part in ("zeynep", "markerova", "quilla", "tracewell", "pii.marker", "@"):
        assert part not in dump
    assert world.audit.verify().ok
