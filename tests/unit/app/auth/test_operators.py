"""Operator administration: add, disable, reset, unlock, stores, roles, last admin."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.auth.rbac import Role
from app.clock import FakeClock
from app.errors import (
    AccountLocked,
    AuthenticationFailed,
    InvalidOperatorInput,
    LastAdmin,
    PermissionDenied,
)
from app.vault import Vault
from tests.helpers.world import ADMIN_PW, AGENT_PW, World, make_world


@pytest.fixture
def world(vault: Vault, clock: FakeClock) -> World:
    return make_world(vault, clock)


def test_add_and_list(world: World) -> None:
    admin, _, _ = world.create_admin()
    store = world.add_store("EU shop")
    setup = world.ops.add_operator(
        admin.actor,
        username="Bora",
        display_name="Bora Kaya",
        email="bora@example.com",
        role=Role.AGENT,
        store_ids={store},
    )
    assert setup.username == "bora" and len(setup.code) == 19
    bora = world.ops.get_operator(admin.actor, setup.operator_id).result()
    assert bora.setup_pending and not bora.mfa_enrolled and bora.store_ids == {store}
    operators = world.ops.list_operators(admin.actor).result()
    assert [op.username for op in operators] == ["admin", "bora"]
    with pytest.raises(InvalidOperatorInput, match="taken"):
        world.ops.add_operator(
            admin.actor, username="bora", display_name="B", email="b@example.com", role=Role.AGENT
        )
    with pytest.raises(InvalidOperatorInput, match="store"):
        world.ops.add_operator(
            admin.actor,
            username="cem",
            display_name="C",
            email="c@example.com",
            role=Role.AGENT,
            store_ids={999},
        )


def test_last_admin_cannot_be_disabled_or_demoted(world: World) -> None:
    admin, _, _ = world.create_admin()
    with pytest.raises(LastAdmin):
        world.ops.disable(admin.actor, admin.actor.id)
    with pytest.raises(LastAdmin):
        world.ops.set_role(admin.actor, admin.actor.id, Role.AGENT)
    # A pending admin (no password yet) does not count as a second admin.
    world.ops.add_operator(
        admin.actor, username="cem", display_name="Cem", email="c@example.com", role=Role.ADMIN
    )
    with pytest.raises(LastAdmin):
        world.ops.disable(admin.actor, admin.actor.id)
    # With a second active admin, the first can be demoted.
    world.add_operator(admin.actor, "deniz", role=Role.ADMIN)
    world.ops.set_role(admin.actor, admin.actor.id, Role.AGENT)
    # The demoted admin's old session cannot act any more (roles are re-read).
    with pytest.raises(PermissionDenied):
        world.ops.list_operators(admin.actor).result()


def test_disable_and_enable(world: World) -> None:
    admin, _, _ = world.create_admin()
    _, secret = world.add_operator(admin.actor, "bora")
    bora_id = world.ops.list_operators(admin.actor).result()[1].id
    assert world.ops.disable(admin.actor, bora_id).disabled
    with pytest.raises(AuthenticationFailed):
        world.auth.check_password("bora", AGENT_PW)
    assert not world.ops.enable(admin.actor, bora_id).disabled
    assert world.sign_in("bora", AGENT_PW, secret).actor.id == bora_id
    assert {"operator_disabled", "operator_enabled"} <= set(world.actions())


def test_unlock_lets_a_locked_operator_in_early(world: World) -> None:
    admin, _, _ = world.create_admin()
    _, secret = world.add_operator(admin.actor, "bora")
    bora_id = world.ops.list_operators(admin.actor).result()[1].id
    for _ in range(10):
        with pytest.raises((AuthenticationFailed, AccountLocked)):
            world.auth.check_password("bora", "Wrong-Password-99!")
    assert world.ops.get_operator(admin.actor, bora_id).result().is_locked(world.clock.now())
    world.ops.unlock(admin.actor, bora_id)
    assert world.sign_in("bora", AGENT_PW, secret).actor.id == bora_id
    assert "account_unlocked" in world.actions()


def test_assign_stores_and_role(world: World) -> None:
    admin, _, _ = world.create_admin()
    a, b = world.add_store("EU shop"), world.add_store("US shop")
    world.add_operator(admin.actor, "bora", stores=frozenset({a}))
    bora_id = world.ops.list_operators(admin.actor).result()[1].id
    assert world.ops.assign_stores(admin.actor, bora_id, {b}).store_ids == {b}
    assert world.ops.set_role(admin.actor, bora_id, Role.ADMIN).role is Role.ADMIN
    rows = [r for r in world.audit_rows() if r[3] in ("stores_changed", "role_changed")]
    assert '"added":[' in str(rows[0][6]) and '"new":"admin"' in str(rows[1][6])


def test_update_operator_details(world: World) -> None:
    admin, _, _ = world.create_admin()
    world.add_operator(admin.actor, "bora")
    bora_id = world.ops.list_operators(admin.actor).result()[1].id
    updated = world.ops.update_operator(
        admin.actor, bora_id, display_name="Bora K.", email="bk@example.com"
    )
    assert updated.display_name == "Bora K." and updated.email == "bk@example.com"


def test_agent_sees_only_itself_and_its_stores(world: World) -> None:
    admin, _, _ = world.create_admin()
    a = world.add_store("EU shop")
    world.add_store("US shop")
    bora, _ = world.add_operator(admin.actor, "bora", stores=frozenset({a}))
    assert world.ops.get_operator(bora.actor, bora.actor.id).result().username == "bora"
    with pytest.raises(PermissionDenied):
        world.ops.get_operator(bora.actor, admin.actor.id).result()
    assert [s.id for s in world.ops.list_stores(bora.actor).result()] == [a]
    assert len(world.ops.list_stores(admin.actor).result()) == 2


def test_reset_password_needs_a_set_up_account(world: World) -> None:
    admin, _, _ = world.create_admin()
    setup = world.ops.add_operator(
        admin.actor, username="bora", display_name="Bora", email="b@example.com", role=Role.AGENT
    )
    with pytest.raises(InvalidOperatorInput, match="setup code"):
        world.ops.reset_password(admin.actor, setup.operator_id)
    world.auth.redeem_setup_code("bora", setup.code, AGENT_PW)
    with pytest.raises(InvalidOperatorInput, match="already set up"):
        world.ops.new_setup_code(admin.actor, setup.operator_id)
    temporary = world.ops.reset_password(admin.actor, setup.operator_id)
    assert world.auth.check_password("bora", temporary).operator_id == setup.operator_id
    with pytest.raises(AuthenticationFailed):
        world.auth.check_password("admin", ADMIN_PW + "x")


def test_unlock_resets_the_lockout_escalation(world: World) -> None:
    admin, _, _ = world.create_admin()
    world.add_operator(admin.actor, "bora")
    bora_id = world.ops.list_operators(admin.actor).result()[1].id

    def lock() -> timedelta:
        for _ in range(10):
            with pytest.raises((AuthenticationFailed, AccountLocked)):
                world.auth.check_password("bora", "Wrong-Password-99!")
        until = world.ops.get_operator(admin.actor, bora_id).result().locked_until
        assert until is not None
        return until - world.clock.now()

    assert lock() == timedelta(minutes=15)
    world.clock.advance(15 * 60)
    assert lock() == timedelta(hours=1)  # the second lockout in a row lasts longer
    world.ops.unlock(admin.actor, bora_id)
    assert lock() == timedelta(minutes=15)
