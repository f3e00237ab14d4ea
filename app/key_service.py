"""Rotating the database key: who may, and the audit entry that says who did.

The rotation itself (:mod:`app.vault.rotate`) knows nothing of operators or the audit
log; this service checks the caller, rotates, and records the rotation.  Blocks (keychain,
Argon2, re-encrypting the whole file): call it from a worker thread or the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app import access
from app.audit import Action, AuditLog
from app.auth.models import Actor
from app.auth.rbac import Permission
from app.errors import PermissionDenied
from app.secrets import SecretStore
from app.vault import Vault
from app.vault.rotate import rotate

if TYPE_CHECKING:
    from app.auth.service import AuthService


class KeyService:
    def __init__(
        self, *, vault: Vault, secrets: SecretStore, audit: AuditLog, auth: AuthService
    ) -> None:
        self.vault = vault
        self.secrets = secrets
        self.audit = audit
        self.auth = auth

    def rotate(self, actor: Actor | None, new_passphrase: Callable[[], str]) -> None:
        """Re-encrypt the database with a new key (passphrase mode: ``new_passphrase()``
        is asked for after the check) and audit it.

        ``actor`` needs ``manage_credentials``; it may be None only while the profile
        has no administrator yet (nobody could sign in), and the entry then names no one.
        Raises :class:`PermissionDenied` otherwise.
        """
        if actor is None:
            if not self.auth.needs_first_admin():
                raise PermissionDenied("Sign in as an administrator to change the key.")
            actor_id = None
        else:
            admin = self.vault.call(
                lambda conn: access.current(conn, actor, Permission.MANAGE_CREDENTIALS)
            )
            actor_id = access.audit_actor_id(admin)
        rotate(self.vault, self.secrets, new_passphrase=new_passphrase)
        mode = self.vault.mode.value

        def record(conn: Any) -> None:
            # Not checked again: the key changed, and the entry must say so and by whom.
            self.audit.append(
                conn,
                actor_id=actor_id,
                action=Action.KEY_ROTATED,
                object_type="vault",
                details={"mode": mode},
            )

        self.vault.call_write(record)
