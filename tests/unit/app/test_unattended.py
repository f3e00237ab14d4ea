"""Unattended sync (``app/unattended.py``): an admin enables a scoped credential for the
system principal; only that credential, as stored in the keychain and hashed in the
database, signs in as the system, and nothing else does."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from app import access
from app.auth.models import Actor
from app.auth.rbac import Permission, Role
from app.errors import PermissionDenied, UserError
from app.services import Core, build_services
from app.unattended import CREDENTIAL, UnattendedService
from tests.helpers.operators import put_operator

ADMIN = Actor(id=1, username="ada", display_name="Ada", role=Role.ADMIN)
AGENT = Actor(id=2, username="bora", display_name="Bora", role=Role.AGENT)


@pytest.fixture
def service(core: Core) -> UnattendedService:
    put_operator(core.vault, ADMIN)
    put_operator(core.vault, AGENT)
    return build_services(core).unattended


def _audit(core: Core) -> list[tuple[Any, ...]]:
    return core.vault.call(
        lambda c: c.execute(
            "SELECT action, actor_id FROM audit_log WHERE action LIKE 'unattended%' ORDER BY seq"
        ).fetchall()
    )


def test_not_enabled_signs_in_no_one(service: UnattendedService) -> None:
    assert service.sign_in() is None
    assert service.status(ADMIN).result() is None


def test_enabled_credential_signs_in_as_the_system_only(
    service: UnattendedService, core: Core
) -> None:
    status = service.enable(ADMIN)
    assert status.enabled_by == "ada"
    actor = service.sign_in()
    assert actor is access.SYSTEM  # able to sync and nothing else
    assert Permission.MANAGE_SETTINGS not in {p for p in Permission if _may(core, actor, p)}
    # The database holds a hash, never the credential itself.
    token = core.secrets.get(CREDENTIAL)
    assert token
    row = core.vault.call(lambda c: c.execute("SELECT * FROM unattended").fetchall())
    assert token not in repr(row)
    assert service.status(AGENT).exception() is None  # any operator may see the state
    assert [a for a, _ in _audit(core)] == ["unattended_enabled"]


def _may(core: Core, actor: Actor, permission: Permission) -> bool:
    try:
        core.vault.call(lambda c: access.current(c, actor, permission, store_id=1))
    except PermissionDenied:
        return False
    return True


def test_forged_credential_is_refused_and_audited(service: UnattendedService, core: Core) -> None:
    service.enable(ADMIN)
    core.secrets.set(CREDENTIAL, "forged-" + "x" * 40)
    with pytest.raises(PermissionDenied, match="enable"):
        service.sign_in()
    assert [a for a, _ in _audit(core)] == ["unattended_enabled", "unattended_refused"]


def test_disable_revokes(service: UnattendedService, core: Core) -> None:
    service.enable(ADMIN)
    old = core.secrets.get(CREDENTIAL)
    assert service.disable(ADMIN) is True
    assert core.secrets.get(CREDENTIAL) is None
    assert service.sign_in() is None
    # A copy of the revoked credential put back in the keychain is refused.
    assert old is not None
    core.secrets.set(CREDENTIAL, old)
    with pytest.raises(PermissionDenied):
        service.sign_in()
    assert service.disable(ADMIN) is False  # nothing left to disable
    assert [a for a, _ in _audit(core)] == [
        "unattended_enabled",
        "unattended_disabled",
        "unattended_refused",
    ]


def test_re_enabling_replaces_the_credential(service: UnattendedService, core: Core) -> None:
    service.enable(ADMIN)
    first = core.secrets.get(CREDENTIAL)
    service.enable(ADMIN)
    assert core.secrets.get(CREDENTIAL) != first
    assert service.sign_in() is access.SYSTEM


def test_stale_when_the_enabling_admin_is_no_longer_one(
    service: UnattendedService, core: Core
) -> None:
    service.enable(ADMIN)
    put_operator(core.vault, dataclasses.replace(ADMIN, disabled=True))
    with pytest.raises(PermissionDenied, match="enable"):
        service.sign_in()


@pytest.mark.parametrize("who", [AGENT, None])
def test_only_admins_enable_or_disable(service: UnattendedService, who: Actor | None) -> None:
    with pytest.raises(PermissionDenied):
        service.enable(who)  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied):
        service.disable(who)  # type: ignore[arg-type]


def test_passphrase_profile_cannot_run_unattended(
    service: UnattendedService, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.vault.keys import KeyMode

    monkeypatch.setattr(service.vault, "mode", KeyMode.PASSPHRASE)
    with pytest.raises(UserError, match="passphrase"):
        service.enable(ADMIN)
    assert service.status(ADMIN).result() is None
