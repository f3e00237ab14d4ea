"""Settings changes: admins only, validated, audited; key rotation audited."""

from __future__ import annotations

import pytest

from app import settings as S
from app.audit import Action
from app.errors import PermissionDenied
from app.services import Core, build_services
from app.vault import keys
from app.vault.rotate import rotate


def _actor(role: str, actor_id: int = 1):  # type: ignore[no-untyped-def]
    from app.auth.models import Actor
    from app.auth.rbac import Role

    return Actor(
        id=actor_id, username="x", display_name="X", role=Role(role), store_ids=frozenset()
    )


def _admin(services):  # type: ignore[no-untyped-def]
    enrollment = services.auth.begin_first_admin(
        "boss", "Boss Person", "boss@example.com", "Tr0ub4dor&3-horse-Battery"
    )
    import pyotp

    code = pyotp.TOTP(enrollment.totp_secret).at(services.core.clock.now())
    done = services.auth.complete_enrollment(enrollment, code)
    return done.session.actor


def test_admin_changes_setting_and_it_is_audited(core: Core) -> None:
    services = build_services(core)
    admin = _admin(services)
    assert services.settings.get(S.IDLE_LOCK_MINUTES) == 15
    assert services.settings.set(admin, S.IDLE_LOCK_MINUTES, 5) == 5
    assert services.settings.get(S.IDLE_LOCK_MINUTES) == 5
    entries = core.vault.call(
        lambda c: c.execute(
            "SELECT action, object_id FROM audit_log WHERE action = ?", (Action.SETTINGS_CHANGED,)
        ).fetchall()
    )
    assert entries == [(Action.SETTINGS_CHANGED, S.IDLE_LOCK_MINUTES.key)]


def test_out_of_range_rejected_and_nothing_stored(core: Core) -> None:
    services = build_services(core)
    admin = _admin(services)
    with pytest.raises(ValueError, match="at least 12"):
        services.settings.set(admin, S.AUDIT_RETENTION_MONTHS, 6)
    assert services.settings.get(S.AUDIT_RETENTION_MONTHS) == 12


def test_agent_cannot_change_settings(core: Core) -> None:
    services = build_services(core)
    with pytest.raises(PermissionDenied):
        services.settings.set(_actor("agent", 99), S.IDLE_LOCK_MINUTES, 5)


def test_rotation_changes_key_keeps_data_and_is_audited(core: Core) -> None:
    services = build_services(core)
    admin = _admin(services)
    old = core.secrets.get(keys.DB_KEY)
    rotate(
        core.vault,
        core.secrets,
        actor_id=admin.id,
        audit=services.audit,
        new_passphrase=lambda: "unused",
    )
    new = core.secrets.get(keys.DB_KEY)
    assert new and new != old
    assert core.secrets.get(keys.DB_KEY_PENDING) is None
    assert keys.plan(core.profile, core.secrets).key == bytes.fromhex(new)
    rows = core.vault.call(
        lambda c: c.execute(
            "SELECT actor_id FROM audit_log WHERE action = ?", (Action.KEY_ROTATED,)
        ).fetchall()
    )
    assert rows == [(admin.id,)]
    assert services.audit.verify().ok
