"""Settings: any signed-in operator (or the system) reads them; admins change them, every
change audited (old and new value) and announced with a :class:`SettingsChanged` notice
after it committed."""

from __future__ import annotations

import re
from concurrent.futures import Future
from typing import Any

from app import access
from app.audit import Action, AuditLog
from app.auth.models import Actor
from app.auth.rbac import Permission
from app.clock import Clock
from app.notices import Notices, SettingsChanged
from app.settings import REGISTRY, Setting, get, put
from app.vault import Vault


class SettingsService:
    """Thread: reads return Futures (any thread); :meth:`set` blocks (worker threads)."""

    def __init__(self, *, vault: Vault, clock: Clock, audit: AuditLog, notices: Notices) -> None:
        self.vault = vault
        self.clock = clock
        self.audit = audit
        self.notices = notices

    def read(self, actor: Actor, setting: Setting[Any]) -> Future[Any]:
        """The setting's value (its default if never set)."""

        def do(conn: Any) -> Any:
            access.current(conn, actor)
            return get(conn, setting)

        return self.vault.run(do)

    def all(self, actor: Actor) -> Future[dict[str, Any]]:
        """Every registered setting's value, by key."""

        def do(conn: Any) -> dict[str, Any]:
            access.current(conn, actor)
            return {key: get(conn, s) for key, s in REGISTRY.items()}

        return self.vault.run(do)

    def set(self, actor: Actor, setting: Setting[Any], value: Any) -> Any:
        """Validate, store and audit.  Raises ``ValueError`` with a message for the form,
        :class:`~app.errors.PermissionDenied` unless the caller is an admin now."""

        def write(conn: Any) -> Any:
            who = access.current(conn, actor, Permission.MANAGE_SETTINGS)
            old = get(conn, setting)
            new = put(conn, setting, value, now=self.clock.now())
            if old != new:
                self.audit.append(
                    conn,
                    actor_id=access.audit_actor_id(who),
                    action=Action.SETTINGS_CHANGED,
                    object_type="setting",
                    object_id=setting.key,
                    details={"key": setting.key, "old": _token(old), "new": _token(new)},
                )
                self.notices.after_commit(self.vault, SettingsChanged(frozenset({setting.key})))
            return new

        return self.vault.call_write(write)


_NOT_TOKEN = re.compile(r"[^A-Za-z0-9_.:+\-]+")


def _token(value: Any) -> str:
    """A setting's value as the audit log keeps it: a plain token (a text setting such
    as a provider's name "Demo AI (OpenAI-style)" becomes "Demo_AI_OpenAI-style_")."""
    return _NOT_TOKEN.sub("_", str(value))[:80]
