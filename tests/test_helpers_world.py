"""The test world itself (tests/helpers/world.py) signs in a working admin."""

from __future__ import annotations

import pytest

from app.auth.rbac import Role
from app.clock import FakeClock
from app.vault import Vault
from tests.helpers.world import ADMIN_PW, World, make_world


@pytest.fixture
def world(vault: Vault, clock: FakeClock) -> World:
    return make_world(vault, clock)


def test_world_creates_a_working_admin(world: World) -> None:
    session, secret, codes = world.create_admin()
    assert session.actor.role is Role.ADMIN
    assert len(codes) == 10
    assert world.sign_in("admin", ADMIN_PW, secret).actor.id == session.actor.id
