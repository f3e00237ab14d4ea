"""Settings changes: admins only, validated, audited."""

from __future__ import annotations

from typing import Any

import pytest

from app import settings as S
from app.audit import Action
from app.errors import PermissionDenied
from app.services import Core, build_services


def _actor(role: str, actor_id: int = 1):  # type: ignore[no-untyped-def]
    from app.auth.models import Actor
    from app.auth.rbac import Role

    return Actor(
        id=actor_id, username="x", display_name="X", role=Role(role), store_ids=frozenset()
    )


def _admin(services: Any) -> Any:
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
    assert services.settings.read(admin, S.IDLE_LOCK_MINUTES).result(5) == 15
    assert services.settings.set(admin, S.IDLE_LOCK_MINUTES, 5) == 5
    assert services.settings.read(admin, S.IDLE_LOCK_MINUTES).result(5) == 5
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
    assert services.settings.read(admin, S.AUDIT_RETENTION_MONTHS).result(5) == 12


def test_agent_cannot_change_settings(core: Core) -> None:
    services = build_services(core)
    with pytest.raises(PermissionDenied):
        services.settings.set(_actor("agent", 99), S.IDLE_LOCK_MINUTES, 5)


def _agent_row(core: Core, op_id: int = 2, *, disabled: bool = False) -> None:
    core.vault.call_write(
        lambda c: c.execute(
            "INSERT INTO operators(id, username, display_name, email, role, disabled, "
            "created_at) VALUES (?, ?, 'A', 'a@example.com', 'agent', ?, '2026-01-01T00:00:00Z')",
            (op_id, f"agent{op_id}", disabled),
        )
    )


def test_forged_admin_cannot_change_settings(core: Core) -> None:
    """An Actor claiming admin for an agent's id is refused: the role is re-read inside
    the write's transaction, and nothing is stored or audited."""
    services = build_services(core)
    _admin(services)
    _agent_row(core)
    with pytest.raises(PermissionDenied):
        services.settings.set(_actor("admin", 2), S.IDLE_LOCK_MINUTES, 5)
    assert services.settings.read(_actor("agent", 2), S.IDLE_LOCK_MINUTES).result(5) == 15


def test_disabled_or_unknown_operators_cannot_read_or_change(core: Core) -> None:
    services = build_services(core)
    admin = _admin(services)
    core.vault.call_write(lambda c: c.execute("UPDATE operators SET disabled = 1"))
    with pytest.raises(PermissionDenied):
        services.settings.set(admin, S.IDLE_LOCK_MINUTES, 5)
    for actor in (admin, _actor("admin", 99)):
        with pytest.raises(PermissionDenied):
            services.settings.read(actor, S.IDLE_LOCK_MINUTES).result(5)
        with pytest.raises(PermissionDenied):
            services.settings.all(actor).result(5)


def test_a_change_is_announced_after_commit_only(core: Core) -> None:
    from app.notices import SettingsChanged

    services = build_services(core)
    admin = _admin(services)
    seen: list[SettingsChanged] = []
    core.notices.subscribe(SettingsChanged, seen.append)
    services.settings.set(admin, S.IDLE_LOCK_MINUTES, 5)
    assert seen == [SettingsChanged(frozenset({S.IDLE_LOCK_MINUTES.key}))]
    with pytest.raises(ValueError):
        services.settings.set(admin, S.AUDIT_RETENTION_MONTHS, 6)
    services.settings.set(admin, S.IDLE_LOCK_MINUTES, 5)  # unchanged: nothing to announce
    assert len(seen) == 1
    assert services.settings.all(admin).result(5)[S.IDLE_LOCK_MINUTES.key] == 5


def test_a_text_setting_with_spaces_is_audited_as_a_token(core: Core) -> None:
    # A provider's name such as "Demo AI (OpenAI-style)" is a valid value; the audit log
    # takes plain tokens only, and once refused the whole change.
    services = build_services(core)
    admin = _admin(services)
    assert services.settings.set(admin, S.DRAFT_PROVIDER, "Demo AI (OpenAI-style)")
    assert services.settings.read(admin, S.DRAFT_PROVIDER).result(5) == "Demo AI (OpenAI-style)"
    (details,) = core.vault.call(
        lambda c: c.execute(
            "SELECT details FROM audit_log WHERE action = ?", (Action.SETTINGS_CHANGED,)
        ).fetchone()
    )
    assert "Demo_AI_OpenAI-style_" in details
