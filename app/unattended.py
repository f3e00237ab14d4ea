"""Unattended sync: a scoped credential that lets ``muttefik sync`` run as the system
principal with no prompt, so cron (or Task Scheduler) can run it.

An admin enables it (:meth:`UnattendedService.enable`): a random credential goes into the
profile's keychain entries (``unattended-sync``) and the database keeps only its SHA-256,
who enabled it and when.  :meth:`UnattendedService.sign_in` reads the keychain entry and
returns :data:`app.access.SYSTEM` (only ``SYSTEM_PERMISSIONS``: sync and view stores,
nothing else) when it matches the stored hash and the admin who enabled it is still an
enabled admin; otherwise the attempt is refused and audited.  Disabling deletes both, so
a copy of the old credential is refused.

A passphrase-mode profile cannot run unattended (opening its database needs the
passphrase), so enabling it there is refused in plain words.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as random_secrets
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app import access
from app.audit import Action, AuditLog
from app.auth.models import Actor
from app.auth.rbac import Permission, Role
from app.clock import Clock
from app.errors import PermissionDenied, UserError
from app.secrets import SecretStore
from app.vault import Vault
from app.vault.keys import KeyMode

#: The keychain entry (in the profile's service) holding the credential.
CREDENTIAL = "unattended-sync"

PASSPHRASE_MESSAGE = (
    "This profile's data is protected by a passphrase, which an unattended sync cannot "
    "type. Unattended sync needs a profile whose key is kept in the OS keychain."
)
REFUSED_MESSAGE = (
    "The unattended sync credential of this profile is not valid (revoked, replaced or "
    "enabled by someone who is no longer an administrator). An administrator can enable "
    "it again with `muttefik unattended enable`."
)


class PassphraseProfile(UserError):
    title = "Unattended sync not possible"
    message = PASSPHRASE_MESSAGE


@dataclass(frozen=True)
class UnattendedStatus:
    enabled_by: str | None  # username; None if that operator was removed
    enabled_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class UnattendedService:
    """Thread: :meth:`status` returns a Future; the others block (worker threads, CLI)."""

    def __init__(
        self, *, vault: Vault, secrets: SecretStore, clock: Clock, audit: AuditLog
    ) -> None:
        self.vault = vault
        self.secrets = secrets
        self.clock = clock
        self.audit = audit

    def status(self, actor: Actor) -> Future[UnattendedStatus | None]:
        """Who enabled unattended sync and when; None when it is not enabled."""

        def do(conn: Any) -> UnattendedStatus | None:
            access.current(conn, actor)
            row = conn.execute(
                "SELECT o.username, u.enabled_at FROM unattended u "
                "LEFT JOIN operators o ON o.id = u.enabled_by"
            ).fetchone()
            if row is None:
                return None
            return UnattendedStatus(row[0], datetime.fromisoformat(row[1]))

        return self.vault.run(do)

    def enable(self, actor: Actor) -> UnattendedStatus:
        """Create a new credential (replacing any earlier one) and audit it.  Raises
        :class:`PermissionDenied` unless the caller is an admin now and
        :class:`PassphraseProfile` for a passphrase-mode profile."""
        token = random_secrets.token_urlsafe(32)
        now = self.clock.now()

        def write(conn: Any) -> str:
            who = access.current(conn, actor, Permission.MANAGE_CREDENTIALS)
            if self.vault.mode is KeyMode.PASSPHRASE:
                raise PassphraseProfile()
            conn.execute(
                "INSERT INTO unattended(id, token_hash, enabled_by, enabled_at) "
                "VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                "token_hash = excluded.token_hash, enabled_by = excluded.enabled_by, "
                "enabled_at = excluded.enabled_at",
                (_digest(token), who.id, now.isoformat()),
            )
            self.audit.append(
                conn,
                actor_id=access.audit_actor_id(who),
                action=Action.UNATTENDED_ENABLED,
                object_type="profile",
            )
            return who.username

        username = self.vault.call_write(write)
        # After commit: a keychain that fails leaves a hash nothing matches (refused).
        self.secrets.set(CREDENTIAL, token)
        return UnattendedStatus(username, now)

    def disable(self, actor: Actor) -> bool:
        """Revoke the credential (database and keychain); False if it was not enabled."""

        def write(conn: Any) -> bool:
            who = access.current(conn, actor, Permission.MANAGE_CREDENTIALS)
            if conn.execute("DELETE FROM unattended").rowcount == 0:
                return False
            self.audit.append(
                conn,
                actor_id=access.audit_actor_id(who),
                action=Action.UNATTENDED_DISABLED,
                object_type="profile",
            )
            return True

        was_enabled = self.vault.call_write(write)
        self.secrets.delete(CREDENTIAL)  # after commit: the hash is already gone
        return was_enabled

    def sign_in(self) -> Actor | None:
        """:data:`access.SYSTEM` when the keychain credential is the enabled one; None
        when unattended sync is not enabled (no credential anywhere).  A forged, stale
        or revoked credential raises :class:`PermissionDenied` (audited with the reason:
        ``revoked``, ``missing`` from the keychain, ``mismatch``, or ``stale``: the admin
        who enabled it no longer is one)."""
        token = self.secrets.get(CREDENTIAL)

        def write(conn: Any) -> str | None:
            row = conn.execute("SELECT token_hash, enabled_by FROM unattended").fetchone()
            if row is None and token is None:
                return "not_enabled"
            reason = None
            if row is None:
                reason = "revoked"
            elif token is None:
                reason = "missing"
            elif not hmac.compare_digest(row[0], _digest(token)):
                reason = "mismatch"
            else:
                from app.auth.store import load_actor

                admin = None if row[1] is None else load_actor(conn, int(row[1]))
                if admin is None or admin.disabled or admin.role is not Role.ADMIN:
                    reason = "stale"
            if reason is not None:
                self.audit.append(
                    conn,
                    actor_id=None,
                    action=Action.UNATTENDED_REFUSED,
                    object_type="profile",
                    details={"reason": reason},
                )
            return reason

        reason = self.vault.call_write(write)
        if reason == "not_enabled":
            return None
        if reason is not None:
            raise PermissionDenied(REFUSED_MESSAGE, detail=f"unattended sync: {reason}")
        return access.SYSTEM
