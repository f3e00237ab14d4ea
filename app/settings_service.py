"""Changing settings: admins only, every change audited (old and new value)."""

from __future__ import annotations

from typing import Any

from app.audit import Action, AuditLog
from app.auth.models import Actor
from app.auth.rbac import Permission, require
from app.clock import Clock
from app.settings import REGISTRY, Setting, get, put
from app.vault import Vault


class SettingsService:
    """Thread: worker threads (every method blocks on the DB thread)."""

    def __init__(self, *, vault: Vault, clock: Clock, audit: AuditLog) -> None:
        self.vault = vault
        self.clock = clock
        self.audit = audit

    def get(self, setting: Setting[Any]) -> Any:
        return self.vault.call(lambda conn: get(conn, setting))

    def all(self) -> dict[str, Any]:
        return self.vault.call(lambda conn: {k: get(conn, s) for k, s in REGISTRY.items()})

    def set(self, actor: Actor, setting: Setting[Any], value: Any) -> Any:
        """Validate, store and audit.  Raises ``ValueError`` with a message for the form."""
        require(actor, Permission.MANAGE_SETTINGS)

        def write(conn: Any) -> Any:
            old = get(conn, setting)
            new = put(conn, setting, value, now=self.clock.now())
            if old != new:
                self.audit.append(
                    conn,
                    actor_id=actor.id,
                    action=Action.SETTINGS_CHANGED,
                    object_type="setting",
                    object_id=setting.key,
                    details={"key": setting.key, "old": str(old), "new": str(new)},
                )
            return new

        return self.vault.call_write(write)
