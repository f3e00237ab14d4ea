"""Key rotation through the service: an admin (re-read in the database) or nobody while
the profile has no administrator yet; the service, not the rotation, writes the entry."""

from __future__ import annotations

import pytest

from app.audit import Action
from app.auth.models import Actor
from app.auth.rbac import Role
from app.clock import FakeClock
from app.errors import PermissionDenied
from app.services import Core, Services, build_services
from app.vault import keys
from tests.helpers.world import make_world


@pytest.fixture
def services(core: Core) -> Services:
    return build_services(core)


def _admin(core: Core, clock: FakeClock) -> Actor:
    session, _secret, _codes = make_world(core.vault, clock, secrets=core.secrets).create_admin()
    return session.actor


def _rotations(core: Core) -> list[tuple[int | None]]:
    return core.vault.call(
        lambda c: c.execute(
            "SELECT actor_id FROM audit_log WHERE action = ?", (Action.KEY_ROTATED,)
        ).fetchall()
    )


def _add_agent(core: Core, op_id: int = 2) -> None:
    core.vault.call_write(
        lambda c: c.execute(
            "INSERT INTO operators(id, username, display_name, email, role, created_at) "
            "VALUES (?, 'agent', 'A', 'a@example.com', 'agent', '2026-01-01T00:00:00Z')",
            (op_id,),
        )
    )


def test_an_admin_rotates_the_key_keeping_the_data_and_it_is_audited(
    core: Core, services: Services, clock: FakeClock
) -> None:
    admin = _admin(core, clock)
    old = core.secrets.get(keys.DB_KEY)
    services.keys.rotate(admin, new_passphrase=lambda: pytest.fail("keychain mode"))
    new = core.secrets.get(keys.DB_KEY)
    assert new and new != old
    assert core.secrets.get(keys.DB_KEY_PENDING) is None
    assert keys.plan(core.profile, core.secrets).key == bytes.fromhex(new)
    assert _rotations(core) == [(admin.id,)]
    assert services.audit.verify().ok


@pytest.mark.parametrize("role", [Role.AGENT, Role.ADMIN])
def test_an_agent_or_a_forged_admin_cannot_rotate(
    core: Core, services: Services, clock: FakeClock, role: Role
) -> None:
    """The role is re-read in the database: an Actor claiming admin for the agent's id
    is refused like the agent, and nothing is rotated or recorded."""
    _admin(core, clock)
    _add_agent(core)
    old = core.secrets.get(keys.DB_KEY)
    claimed = Actor(id=2, username="agent", display_name="A", role=role)
    with pytest.raises(PermissionDenied):
        services.keys.rotate(claimed, new_passphrase=lambda: "unused")
    assert core.secrets.get(keys.DB_KEY) == old
    assert _rotations(core) == []


def test_before_the_first_admin_the_key_rotates_without_anyone(
    core: Core, services: Services, clock: FakeClock
) -> None:
    old = core.secrets.get(keys.DB_KEY)
    services.keys.rotate(None, new_passphrase=lambda: "unused")
    assert core.secrets.get(keys.DB_KEY) != old
    assert _rotations(core) == [(None,)]

    _admin(core, clock)  # from now on, someone must sign in
    with pytest.raises(PermissionDenied):
        services.keys.rotate(None, new_passphrase=lambda: "unused")
    assert len(_rotations(core)) == 1
