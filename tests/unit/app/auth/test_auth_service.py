"""Sign-in: first admin, same answer for wrong user/password, lockout, recovery codes."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from app.audit import AuditLog
from app.auth import throttle
from app.auth.hashing import fast_hashing_for_tests
from app.auth.rbac import Role
from app.auth.service import LOCKOUT, LOCKOUTS, MAX_FAILURES, AuthService
from app.auth.store import parse_ts
from app.auth.throttle import NAME_WINDOW
from app.clock import FakeClock
from app.errors import (
    AccountLocked,
    AuthenticationFailed,
    CodeRejected,
    InvalidOperatorInput,
    PasswordRejected,
    PermissionDenied,
)
from app.vault import Vault
from tests.helpers.world import (
    ADMIN_PW,
    AGENT_PW,
    NEW_PW,
    World,
    make_world,
)
from tests.support import AUDIT_TEST_KEY


@pytest.fixture
def world(vault: Vault, clock: FakeClock) -> World:
    return make_world(vault, clock)


class CountingHasher:
    """Wraps the fast hasher, counting the Argon2 work done per call."""

    def __init__(self) -> None:
        self.inner = fast_hashing_for_tests()
        self.verifies = 0

    def hash(self, password: str) -> str:
        return self.inner.hash(password)

    def verify(self, h: str, password: str) -> bool:
        self.verifies += 1
        return self.inner.verify(h, password)

    def needs_rehash(self, h: str) -> bool:
        return self.inner.needs_rehash(h)

    def dummy_verify(self, password: str) -> None:
        self.verifies += 1
        self.inner.dummy_verify(password)


# --- first run --------------------------------------------------------------------------


def test_new_profile_needs_a_first_admin_with_mfa(world: World) -> None:
    assert world.auth.needs_first_admin()
    enrollment = world.auth.begin_first_admin("Admin", "Ayse Yilmaz", "ayse@example.com", ADMIN_PW)
    # Password set but MFA not finished: the wizard is still needed, sign-in not possible.
    assert world.auth.needs_first_admin()
    assert enrollment.username == "admin"
    assert enrollment.provisioning_uri.startswith("otpauth://totp/")
    assert len(enrollment.secret_groups.split()) == 8
    with pytest.raises(CodeRejected):
        world.auth.complete_enrollment(
            enrollment, "000000" if world.code(enrollment.totp_secret) != "000000" else "111111"
        )
    done = world.auth.complete_enrollment(enrollment, world.code(enrollment.totp_secret))
    assert not world.auth.needs_first_admin()
    assert len(set(done.recovery_codes)) == 10
    assert done.session.actor.role is Role.ADMIN
    stored = world.vault.call(
        lambda c: [r[0] for r in c.execute("SELECT code_hash FROM recovery_codes")]
    )
    assert len(stored) == 10 and not set(stored) & set(done.recovery_codes)
    assert world.actions() == [
        "operator_created",
        "mfa_enrolled",
        "recovery_codes_created",
        "sign_in_ok",
    ]


def test_second_first_admin_is_refused(world: World) -> None:
    world.create_admin()
    with pytest.raises(PermissionDenied):
        world.auth.begin_first_admin("other", "Other Person", "o@example.com", NEW_PW)


def test_abandoned_wizard_is_replaced(world: World) -> None:
    world.auth.begin_first_admin("first", "Ayse Yilmaz", "ayse@example.com", ADMIN_PW)
    session, _, _ = world.create_admin("second")
    names = [op.username for op in world.ops.list_operators(session.actor).result()]
    assert names == ["second"]


def test_first_admin_input_is_checked(world: World) -> None:
    with pytest.raises(InvalidOperatorInput, match="username"):
        world.auth.begin_first_admin("a", "Ayse", "ayse@example.com", ADMIN_PW)
    with pytest.raises(InvalidOperatorInput, match="email"):
        world.auth.begin_first_admin("ayse", "Ayse", "not-an-email", ADMIN_PW)
    with pytest.raises(PasswordRejected, match="capital"):
        world.auth.begin_first_admin("ayse", "Ayse", "ayse@example.com", "velvet-orbit-73-lantern!")


def test_enrollment_expires(world: World) -> None:
    enrollment = world.auth.begin_first_admin("admin", "Ayse Yilmaz", "a@example.com", ADMIN_PW)
    world.clock.advance(31 * 60)
    with pytest.raises(AuthenticationFailed):
        world.auth.complete_enrollment(enrollment, world.code(enrollment.totp_secret))


def test_forged_enrollment_is_refused(world: World) -> None:
    enrollment = world.auth.begin_first_admin("admin", "Ayse Yilmaz", "a@example.com", ADMIN_PW)
    forged = replace(enrollment, token="made-up")
    with pytest.raises(AuthenticationFailed):
        world.auth.complete_enrollment(forged, world.code(enrollment.totp_secret))


# --- sign-in ----------------------------------------------------------------------------


def test_wrong_user_and_wrong_password_look_the_same(vault: Vault, clock: FakeClock) -> None:
    world = make_world(vault, clock)
    world.create_admin()
    counting = CountingHasher()
    world.auth.hasher = counting  # type: ignore[assignment]
    messages = []
    for username, password in (("nobody", ADMIN_PW), ("admin", "Wrong-Password-99!")):
        before = counting.verifies
        with pytest.raises(AuthenticationFailed) as info:
            world.auth.check_password(username, password)
        messages.append(info.value.message)
        assert counting.verifies - before == 1  # one Argon2 verify either way
    assert messages[0] == messages[1] == "Wrong username or password."


def test_disabled_account_gets_the_same_message(world: World) -> None:
    admin, _, _ = world.create_admin()
    world.add_operator(admin.actor, "bora")
    agent = world.ops.list_operators(admin.actor).result()[1]
    world.ops.disable(admin.actor, agent.id)
    with pytest.raises(AuthenticationFailed, match="Wrong username or password"):
        world.auth.check_password("bora", AGENT_PW)


def test_lockout_after_ten_failures_for_fifteen_minutes(world: World) -> None:
    _, secret, _ = world.create_admin()
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(AuthenticationFailed):
            world.auth.check_password("admin", "Wrong-Password-99!")
    with pytest.raises(AccountLocked):
        world.auth.check_password("admin", "Wrong-Password-99!")
    # Locked: even the right password is refused.
    with pytest.raises(AccountLocked):
        world.auth.check_password("admin", ADMIN_PW)
    world.clock.advance(LOCKOUT.total_seconds() - 1)
    with pytest.raises(AccountLocked):
        world.auth.check_password("admin", ADMIN_PW)
    world.clock.advance(1)
    assert world.sign_in("admin", ADMIN_PW, secret).actor.username == "admin"
    actions = world.actions()
    assert actions.count("account_locked") == 1
    assert actions.count("sign_in_failed") >= MAX_FAILURES


def test_success_resets_the_failure_count(world: World) -> None:
    _, secret, _ = world.create_admin()
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(AuthenticationFailed):
            world.auth.check_password("admin", "Wrong-Password-99!")
    world.sign_in("admin", ADMIN_PW, secret)
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(AuthenticationFailed):
            world.auth.check_password("admin", "Wrong-Password-99!")
    assert world.sign_in("admin", ADMIN_PW, secret).actor.username == "admin"


def test_code_failures_count_towards_lockout(world: World) -> None:
    _, secret, _ = world.create_admin()
    world.clock.advance(60)
    step = world.auth.check_password("admin", ADMIN_PW)
    wrong = "000000" if world.code(secret) != "000000" else "111111"
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(CodeRejected):
            world.auth.check_second_factor(step, wrong)
    with pytest.raises(AccountLocked):
        world.auth.check_second_factor(step, wrong)
    # The step is gone with the lockout.
    with pytest.raises(AuthenticationFailed):
        world.auth.check_second_factor(step, world.code(secret))


def test_password_step_expires_and_is_single_use(world: World) -> None:
    _, secret, _ = world.create_admin()
    world.clock.advance(60)
    step = world.auth.check_password("admin", ADMIN_PW)
    world.clock.advance(5 * 60)
    with pytest.raises(AuthenticationFailed, match="took too long"):
        world.auth.check_second_factor(step, world.code(secret))
    step = world.auth.check_password("admin", ADMIN_PW)
    world.auth.check_second_factor(step, world.code(secret))
    world.clock.advance(30)
    with pytest.raises(AuthenticationFailed):
        world.auth.check_second_factor(step, world.code(secret))


def test_recovery_codes_are_single_use(world: World) -> None:
    _, _, codes = world.create_admin()
    world.clock.advance(60)
    step = world.auth.check_password("admin", ADMIN_PW)
    session = world.auth.check_second_factor(step, codes[0].upper().replace("-", " "))
    assert session.used_recovery_code and session.recovery_codes_left == 9
    step = world.auth.check_password("admin", ADMIN_PW)
    with pytest.raises(CodeRejected):
        world.auth.check_second_factor(step, codes[0])
    assert world.auth.check_second_factor(step, codes[1]).recovery_codes_left == 8
    assert world.actions().count("recovery_code_used") == 2
    assert world.auth.recovery_codes_left(session.actor).result() == 8


def test_regenerated_recovery_codes_replace_the_old_ones(world: World) -> None:
    session, _, codes = world.create_admin()
    fresh = world.auth.regenerate_recovery_codes(session.actor, ADMIN_PW)
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    world.clock.advance(60)
    step = world.auth.check_password("admin", ADMIN_PW)
    with pytest.raises(CodeRejected):
        world.auth.check_second_factor(step, codes[0])
    assert world.auth.check_second_factor(step, fresh[0]).used_recovery_code


def test_change_password_checks_the_old_one(world: World) -> None:
    session, secret, _ = world.create_admin()
    world.clock.advance(86400)
    with pytest.raises(AuthenticationFailed, match="current password"):
        world.auth.change_password(session.actor, "Wrong-Password-99!", NEW_PW)
    world.auth.change_password(session.actor, ADMIN_PW, NEW_PW)
    assert world.sign_in("admin", NEW_PW, secret).actor.username == "admin"
    with pytest.raises(AuthenticationFailed):
        world.auth.check_password("admin", ADMIN_PW)


def test_admin_reset_forces_a_change_that_ignores_min_age(world: World) -> None:
    admin, _, _ = world.create_admin()
    _, bora_secret = world.add_operator(admin.actor, "bora")
    bora = world.ops.list_operators(admin.actor).result()[1]
    temporary = world.ops.reset_password(admin.actor, bora.id)
    session = world.sign_in("bora", temporary, bora_secret)
    assert session.must_change_password
    world.auth.change_password(session.actor, temporary, NEW_PW)  # same day: allowed
    again = world.sign_in("bora", NEW_PW, bora_secret)
    assert not again.needs_password_change
    assert "password_changed" in world.actions()


def test_setup_code_flow_and_wrong_code(world: World) -> None:
    admin, _, _ = world.create_admin()
    setup = world.ops.add_operator(
        admin.actor,
        username="bora",
        display_name="Bora Kaya",
        email="bora@example.com",
        role=Role.AGENT,
    )
    with pytest.raises(AuthenticationFailed, match="setup code"):
        world.auth.redeem_setup_code("bora", "aaaa-bbbb-cccc-dddd", AGENT_PW)
    with pytest.raises(AuthenticationFailed, match="setup code"):
        world.auth.redeem_setup_code("nobody", setup.code, AGENT_PW)
    # A rejected password does not use the code up.
    with pytest.raises(PasswordRejected):
        world.auth.redeem_setup_code("bora", setup.code, "short")
    enrollment = world.auth.redeem_setup_code("bora", setup.code, AGENT_PW)
    # The code is single use.
    with pytest.raises(AuthenticationFailed):
        world.auth.redeem_setup_code("bora", setup.code, AGENT_PW)
    done = world.auth.complete_enrollment(enrollment, world.code(enrollment.totp_secret))
    assert done.session.actor.role is Role.AGENT


def test_setup_code_expires_after_a_week(world: World) -> None:
    admin, _, _ = world.create_admin()
    setup = world.ops.add_operator(
        admin.actor, username="bora", display_name="Bora", email="b@example.com", role=Role.AGENT
    )
    world.clock.advance(7 * 86400 + 1)
    with pytest.raises(AuthenticationFailed):
        world.auth.redeem_setup_code("bora", setup.code, AGENT_PW)
    fresh = world.ops.new_setup_code(admin.actor, setup.operator_id)
    assert world.auth.redeem_setup_code("bora", fresh.code, AGENT_PW).username == "bora"


def test_mfa_reset_means_enrolling_again_after_the_password(world: World) -> None:
    admin, _, _ = world.create_admin()
    world.add_operator(admin.actor, "bora")
    bora = world.ops.list_operators(admin.actor).result()[1]
    world.ops.reset_mfa(admin.actor, bora.id)
    step = world.auth.check_password("bora", AGENT_PW)
    assert step.needs_mfa_enrollment
    enrollment = world.auth.begin_enrollment(step)
    done = world.auth.complete_enrollment(enrollment, world.code(enrollment.totp_secret))
    assert done.session.actor.username == "bora"
    assert "mfa_reset" in world.actions()


def test_demo_session_only_in_the_demo_profile(vault: Vault, clock: FakeClock) -> None:
    real = make_world(vault, clock)
    with pytest.raises(PermissionDenied):
        real.auth.demo_session()
    demo = make_world(vault, clock, demo=True)
    assert not demo.auth.needs_first_admin()
    session = demo.auth.demo_session()
    assert session.demo and session.actor.is_admin and session.actor.username == "demo"
    assert demo.auth.demo_session().actor.id == session.actor.id
    # The demo admin has no password: it can never sign in by password.
    with pytest.raises(AuthenticationFailed):
        demo.auth.check_password("demo", "")
    # A real profile on the same data still needs a real first admin.
    assert real.auth.needs_first_admin()


def test_sign_out_is_audited(world: World) -> None:
    session, _, _ = world.create_admin()
    world.auth.sign_out(session.actor, "idle_lock")
    assert world.actions()[-1] == "signed_out"
    with pytest.raises(ValueError):
        world.auth.sign_out(session.actor, "because")


# --- sign-in that tells an attacker nothing ---------------------------------------------

WRONG = "Wrong-Password-99!"


def fail_until_locked(world: World, username: str) -> AccountLocked:
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(AuthenticationFailed):
            world.auth.check_password(username, WRONG)
    with pytest.raises(AccountLocked) as info:
        world.auth.check_password(username, WRONG)
    return info.value


def name_entries(world: World) -> list[dict[str, object]]:
    return [json.loads(str(r[6])) for r in world.audit_rows() if r[3] == "sign_in_failures"]


def test_the_dummy_hash_is_ready_before_the_first_attempt(vault: Vault, clock: FakeClock) -> None:
    hasher = fast_hashing_for_tests()
    AuthService(
        vault=vault, clock=clock, audit=AuditLog(clock=clock, key=AUDIT_TEST_KEY), hasher=hasher
    )
    assert hasher.wait_ready(10)  # built by the service's warm-up, not by a first miss
    assert hasher._dummy is not None and not hasher.needs_rehash(hasher._dummy)


def test_an_unknown_username_locks_like_a_known_one(world: World) -> None:
    world.create_admin()
    known = fail_until_locked(world, "admin")
    unknown = fail_until_locked(world, "nobody@example.com")
    assert unknown.message == known.message
    for name in ("admin", "nobody@example.com"):
        with pytest.raises(AccountLocked) as again:
            world.auth.check_password(name, ADMIN_PW)
        assert again.value.message == known.message
    world.clock.advance(LOCKOUT.total_seconds())
    with pytest.raises(AuthenticationFailed):
        world.auth.check_password("nobody@example.com", WRONG)


def test_a_disabled_account_locks_like_an_unknown_one(world: World) -> None:
    admin, _, _ = world.create_admin()
    world.add_operator(admin.actor, "bora")
    world.ops.disable(admin.actor, world.ops.list_operators(admin.actor).result()[1].id)
    assert fail_until_locked(world, "bora").message == fail_until_locked(world, "cem").message


def test_unknown_name_failures_are_one_audit_entry_per_window(world: World) -> None:
    world.create_admin()
    before = len(world.audit_rows())
    for typed in ("Ayse.Kaya@Example.com", " ayse.kaya@example.com", "AYSE.KAYA@EXAMPLE.COM"):
        with pytest.raises(AuthenticationFailed):
            world.auth.check_password(typed, WRONG)
    assert len(world.audit_rows()) == before  # counted in the table, not one entry each
    world.clock.advance(NAME_WINDOW.total_seconds())
    with pytest.raises(AuthenticationFailed):
        world.auth.check_password("someone-else", WRONG)
    [entry] = name_entries(world)
    assert entry["count"] == 3
    assert "ayse" not in json.dumps(entry).lower() and "@" not in json.dumps(entry)
    # The same name gives the same token, another name another one (keyed, not reversible).
    world.clock.advance(NAME_WINDOW.total_seconds())
    with pytest.raises(AuthenticationFailed):
        world.auth.check_password("ayse.kaya@example.com", WRONG)
    entries = name_entries(world)
    assert len(entries) == 2 and entries[0]["name"] != entries[1]["name"]
    assert len(str(entries[0]["name"])) == 16


def test_attempts_on_a_locked_account_do_not_grow_the_audit_log(world: World) -> None:
    world.create_admin()
    fail_until_locked(world, "admin")
    fail_until_locked(world, "nobody")
    size = len(world.audit_rows())
    for _ in range(30):
        for name in ("admin", "nobody"):
            with pytest.raises(AccountLocked):
                world.auth.check_password(name, WRONG)
    assert len(world.audit_rows()) == size


def test_the_name_table_is_bounded(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle, "MAX_NAMES", 5)
    for n in range(12):
        with pytest.raises(AuthenticationFailed):
            world.auth.check_password(f"guess{n}", WRONG)
    rows, pending = world.vault.call(
        lambda c: c.execute("SELECT count(*), sum(pending) FROM sign_in_names").fetchone()
    )
    assert rows == 5
    # Evicted names' failures were written to the audit log first: none is lost.
    assert sum(int(str(e["count"])) for e in name_entries(world)) + pending == 12


def test_lockout_escalates_and_a_sign_in_resets_it(world: World) -> None:
    _, secret, _ = world.create_admin()
    seen = []
    for _ in range(len(LOCKOUTS) + 1):
        fail_until_locked(world, "admin")
        until = world.vault.call(
            lambda c: c.execute("SELECT locked_until FROM operators").fetchone()[0]
        )
        seen.append(parse_ts(until) - world.clock.now())
        world.clock.advance(seen[-1].total_seconds())
    assert seen == [*LOCKOUTS, LOCKOUTS[-1]]
    assert (timedelta(minutes=15), timedelta(hours=1), timedelta(hours=24)) == LOCKOUTS
    world.sign_in("admin", ADMIN_PW, secret)
    fail_until_locked(world, "admin")
    with pytest.raises(AccountLocked):
        world.clock.advance(LOCKOUTS[0].total_seconds() - 1)
        world.auth.check_password("admin", ADMIN_PW)
    world.clock.advance(1)
    world.sign_in("admin", ADMIN_PW, secret)


def test_unknown_names_escalate_the_same_way(world: World) -> None:
    for expected in LOCKOUTS:
        fail_until_locked(world, "nobody")
        world.clock.advance(expected.total_seconds() - 1)
        with pytest.raises(AccountLocked):
            world.auth.check_password("nobody", WRONG)
        world.clock.advance(1)


def test_the_lockout_message_says_until_when(world: World) -> None:
    world.create_admin()
    error = fail_until_locked(world, "admin")
    until = world.clock.now() + LOCKOUTS[0]
    assert until.astimezone().strftime("%H:%M") in error.message
    assert error.until == until
    assert "administrator" in error.message
