"""Permissions: the matrix of roles, and every service method called as an agent."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest

from app.access import SYSTEM
from app.audit import AuditFilter
from app.auth.models import Actor
from app.auth.rbac import STORE_SCOPED, Permission, Role, allowed, require, visible_store_ids
from app.clock import FakeClock
from app.errors import PermissionDenied
from app.vault import Vault
from tests.helpers.world import World, make_world

ADMIN = Actor(id=1, username="a", display_name="A", role=Role.ADMIN)
AGENT = Actor(id=2, username="b", display_name="B", role=Role.AGENT, store_ids=frozenset({7}))
GLOBAL = [p for p in Permission if p not in STORE_SCOPED]


@pytest.mark.parametrize("permission", GLOBAL)
def test_admin_has_every_global_permission_and_agent_none(permission: Permission) -> None:
    require(ADMIN, permission)
    with pytest.raises(PermissionDenied):
        require(AGENT, permission)


@pytest.mark.parametrize("permission", sorted(STORE_SCOPED))
def test_store_permissions_follow_membership(permission: Permission) -> None:
    require(ADMIN, permission, store_id=8)
    require(AGENT, permission, store_id=7)
    with pytest.raises(PermissionDenied):
        require(AGENT, permission, store_id=8)
    with pytest.raises(ValueError):
        allowed(AGENT, permission)


def test_disabled_operators_may_do_nothing() -> None:
    off = Actor(id=1, username="a", display_name="A", role=Role.ADMIN, disabled=True)
    assert not any(allowed(off, p, store_id=7) for p in Permission)
    assert visible_store_ids(off, [7, 8]) == []
    assert visible_store_ids(AGENT, [7, 8]) == [7]
    assert visible_store_ids(ADMIN, [7, 8]) == [7, 8]
    assert visible_store_ids(SYSTEM, [7, 8]) == [7, 8]  # as allowed() and access agree


@pytest.fixture
def world(vault: Vault, clock: FakeClock) -> World:
    return make_world(vault, clock)


def _service_calls(world: World, target: int) -> dict[str, Callable[[Actor], Any]]:
    ops, audit = world.ops, world.audit
    return {
        "list_operators": lambda a: ops.list_operators(a).result(),
        "get_operator(other)": lambda a: ops.get_operator(a, target).result(),
        "add_operator": lambda a: ops.add_operator(
            a, username="evil", display_name="E", email="e@example.com", role=Role.ADMIN
        ),
        "new_setup_code": lambda a: ops.new_setup_code(a, target),
        "update_operator": lambda a: ops.update_operator(
            a, target, display_name="X", email="x@example.com"
        ),
        "disable": lambda a: ops.disable(a, target),
        "enable": lambda a: ops.enable(a, target),
        "reset_password": lambda a: ops.reset_password(a, target),
        "reset_mfa": lambda a: ops.reset_mfa(a, target),
        "unlock": lambda a: ops.unlock(a, target),
        "assign_stores": lambda a: ops.assign_stores(a, target, set()),
        "set_role": lambda a: ops.set_role(a, target, Role.AGENT),
        "audit.read": lambda a: audit.read(a, lambda r: r.seqs(AuditFilter())).result(),
        "audit.export": lambda a: audit.export(a, AuditFilter(), "csv", io.StringIO()),
    }


def test_every_admin_service_method_denies_an_agent(world: World) -> None:
    admin, _, _ = world.create_admin()
    agent, _ = world.add_operator(admin.actor, "bora")
    world.add_operator(admin.actor, "cem", role=Role.ADMIN, email="cem@example.com")
    target = world.ops.list_operators(admin.actor).result()[2].id
    before = world.ops.list_operators(admin.actor).result()
    denied = []
    for name, call in _service_calls(world, target).items():
        with pytest.raises(PermissionDenied):
            call(agent.actor)
        denied.append(name)
    assert len(denied) == 14
    # Nothing changed.
    assert world.ops.list_operators(admin.actor).result() == before


def test_every_admin_service_method_allows_an_admin(world: World) -> None:
    admin, _, _ = world.create_admin()
    world.add_operator(admin.actor, "cem", role=Role.ADMIN, email="cem@example.com")
    target = world.ops.list_operators(admin.actor).result()[1].id
    calls = _service_calls(world, target)
    calls.pop("new_setup_code")  # cem has set up the account: a domain error, not RBAC
    for call in calls.values():
        call(admin.actor)


def test_forged_actor_with_admin_role_is_refused(world: World) -> None:
    admin, _, _ = world.create_admin()
    agent, _ = world.add_operator(admin.actor, "bora")
    forged = Actor(id=agent.actor.id, username="bora", display_name="B", role=Role.ADMIN)
    with pytest.raises(PermissionDenied):
        world.ops.list_operators(forged).result()
    with pytest.raises(PermissionDenied):
        world.audit.read(forged, lambda r: r.seqs(AuditFilter())).result()
