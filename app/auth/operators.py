"""Operator administration: admins add, disable, reset, unlock and assign operators.

Every method re-reads the acting operator with :func:`app.access.current` and checks
``Permission.MANAGE_OPERATORS`` inside its own transaction, so a stale session (demoted
or disabled meanwhile) or a forged ``Actor`` cannot act.  The last active admin cannot
be disabled or demoted.
"""

from __future__ import annotations

import secrets
from concurrent.futures import Future
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from app import access
from app.audit import Action, format_time
from app.auth import identity, password_policy, recovery, store
from app.auth.hashing import PasswordHashing
from app.auth.models import Actor, Operator, SetupCode, StoreRef
from app.auth.rbac import Permission, Role
from app.auth.store import OperatorRow, ts
from app.errors import InvalidOperatorInput, LastAdmin
from app.notices import Notices, OperatorsChanged

if TYPE_CHECKING:
    from app.audit import AuditLog
    from app.clock import Clock
    from app.vault import Vault

Conn = Any

SETUP_CODE_TTL = timedelta(days=7)
GONE = "That operator no longer exists."


def temporary_password() -> str:
    """``Kq7m-Xw3p-Rt9z-Hb4n``: upper, lower, digit and symbol, about 67 bits."""
    upper = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    lower = "abcdefghjkmnpqrstuvwxyz"
    digits = "23456789"
    groups = [
        secrets.choice(upper)
        + secrets.choice(lower)
        + secrets.choice(digits)
        + secrets.choice(lower)
        for _ in range(4)
    ]
    return "-".join(groups)


class OperatorService:
    """Operator administration (admins only; the last active admin is protected).

    Thread: the reads (``list_operators``, ``get_operator``, ``list_stores``) return
    futures of the DB thread; the changes block: call them from a worker thread.
    """

    def __init__(
        self,
        *,
        vault: Vault,
        clock: Clock,
        audit: AuditLog,
        hasher: PasswordHashing | None = None,
        notices: Notices | None = None,
    ) -> None:
        self.vault = vault
        self.clock = clock
        self.audit = audit
        self.hasher = hasher or PasswordHashing()
        self.notices = notices

    def _admin(self, conn: Conn, actor: Actor) -> Actor:
        return access.current(conn, actor, Permission.MANAGE_OPERATORS)

    def _target(self, conn: Conn, operator_id: int) -> OperatorRow:
        row = store.by_id(conn, operator_id)
        if row is None:
            raise InvalidOperatorInput(GONE)
        return row

    def _log(self, conn: Conn, actor: Actor, action: str, target: int, **details: Any) -> None:
        self.audit.about_operator(conn, action, target, actor_id=actor.id, details=details)
        if self.notices is not None:  # every change of an operator is logged here
            self.notices.after_commit(self.vault, OperatorsChanged(frozenset({target})))

    def _check_stores(self, conn: Conn, store_ids: frozenset[int]) -> None:
        if not store_ids:
            return
        marks = ",".join("?" * len(store_ids))
        found = conn.execute(
            f"SELECT count(*) FROM stores WHERE id IN ({marks})", tuple(store_ids)
        ).fetchone()[0]
        if found != len(store_ids):
            raise InvalidOperatorInput("One of the chosen stores no longer exists.")

    def _operator(self, conn: Conn, operator_id: int) -> Operator:
        return self._target(conn, operator_id).to_operator()

    # --- reading --------------------------------------------------------------------

    def list_operators(self, actor: Actor) -> Future[list[Operator]]:
        def do(conn: Conn) -> list[Operator]:
            self._admin(conn, actor)
            return [r.to_operator() for r in store.all_rows(conn)]

        return self.vault.run(do)

    def get_operator(self, actor: Actor, operator_id: int) -> Future[Operator]:
        """Admins: anyone; agents: only themselves."""

        def do(conn: Conn) -> Operator:
            if access.current(conn, actor).id != operator_id:
                access.current(conn, actor, Permission.MANAGE_OPERATORS)
            return self._operator(conn, operator_id)

        return self.vault.run(do)

    def list_stores(self, actor: Actor) -> Future[list[StoreRef]]:
        """The stores ``actor`` may see (all for admins), for the store assignment UI."""

        def do(conn: Conn) -> list[StoreRef]:
            visible = set(access.visible_stores(conn, actor))
            rows = conn.execute("SELECT id, name FROM stores ORDER BY name").fetchall()
            return [StoreRef(int(r[0]), str(r[1])) for r in rows if int(r[0]) in visible]

        return self.vault.run(do)

    # --- creating ---------------------------------------------------------------------

    def add_operator(
        self,
        actor: Actor,
        *,
        username: str,
        display_name: str,
        email: str,
        role: Role,
        store_ids: frozenset[int] | set[int] = frozenset(),
    ) -> SetupCode:
        """Create an operator who sets their own password and MFA with the returned
        one-time setup code (valid 7 days).  Raises :class:`InvalidOperatorInput`."""
        role = Role(role)
        username, display_name, email = identity.check_identity(username, display_name, email)
        stores = frozenset(store_ids)
        code = recovery.generate_one()
        code_hash = recovery.hash_code(code)
        now = self.clock.now()
        expires = now + SETUP_CODE_TTL

        def do(conn: Conn) -> int:
            admin = self._admin(conn, actor)
            if store.by_username(conn, username) is not None:
                raise InvalidOperatorInput("That username is taken. Choose another.")
            self._check_stores(conn, stores)
            cur = conn.execute(
                "INSERT INTO operators(username, display_name, email, role, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (username, display_name, email, role.value, ts(now)),
            )
            op_id = int(cur.lastrowid)
            store.set_stores(conn, op_id, stores)
            conn.execute(
                "INSERT INTO setup_codes(operator_id, code_hash, expires_at) VALUES (?, ?, ?)",
                (op_id, code_hash, ts(expires)),
            )
            self._log(
                conn, admin, Action.OPERATOR_CREATED, op_id, role=role.value, store_ids=stores
            )
            self._log(conn, admin, Action.SETUP_CODE_ISSUED, op_id, expires=format_time(expires))
            return op_id

        op_id = self.vault.call_write(do)
        return SetupCode(operator_id=op_id, username=username, code=code, expires_at=expires)

    def new_setup_code(self, actor: Actor, operator_id: int) -> SetupCode:
        """Issue a fresh setup code for an operator who has not redeemed theirs."""
        code = recovery.generate_one()
        code_hash = recovery.hash_code(code)
        now = self.clock.now()
        expires = now + SETUP_CODE_TTL

        def do(conn: Conn) -> str:
            admin = self._admin(conn, actor)
            row = self._target(conn, operator_id)
            if row.password_hash is not None:
                raise InvalidOperatorInput(
                    "This operator has already set up their account. Reset their password "
                    "or two-step sign-in instead."
                )
            conn.execute(
                "INSERT INTO setup_codes(operator_id, code_hash, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT(operator_id) DO UPDATE SET code_hash = excluded.code_hash, "
                "expires_at = excluded.expires_at",
                (operator_id, code_hash, ts(expires)),
            )
            self._log(
                conn, admin, Action.SETUP_CODE_ISSUED, operator_id, expires=format_time(expires)
            )
            return row.username

        username = self.vault.call_write(do)
        return SetupCode(operator_id=operator_id, username=username, code=code, expires_at=expires)

    # --- changing ---------------------------------------------------------------------

    def update_operator(
        self, actor: Actor, operator_id: int, *, display_name: str, email: str
    ) -> Operator:
        display_name = identity.check_display_name(display_name)
        email = identity.check_email(email)

        def do(conn: Conn) -> Operator:
            admin = self._admin(conn, actor)
            row = self._target(conn, operator_id)
            fields = [
                name
                for name, old, new in (
                    ("display_name", row.display_name, display_name),
                    ("email", row.email, email),
                )
                if old != new
            ]
            if fields:
                conn.execute(
                    "UPDATE operators SET display_name = ?, email = ? WHERE id = ?",
                    (display_name, email, operator_id),
                )
                self._log(conn, admin, Action.OPERATOR_CHANGED, operator_id, fields=fields)
            return self._operator(conn, operator_id)

        return self.vault.call_write(do)

    def disable(self, actor: Actor, operator_id: int) -> Operator:
        """Raises :class:`LastAdmin` for the last active admin."""

        def do(conn: Conn) -> Operator:
            admin = self._admin(conn, actor)
            row = self._target(conn, operator_id)
            if row.disabled:
                return row.to_operator()
            if row.active_admin and store.count_active_admins(conn, excluding=operator_id) == 0:
                raise LastAdmin()
            conn.execute("UPDATE operators SET disabled = 1 WHERE id = ?", (operator_id,))
            self._log(conn, admin, Action.OPERATOR_DISABLED, operator_id)
            return self._operator(conn, operator_id)

        return self.vault.call_write(do)

    def enable(self, actor: Actor, operator_id: int) -> Operator:
        def do(conn: Conn) -> Operator:
            admin = self._admin(conn, actor)
            row = self._target(conn, operator_id)
            if row.disabled:
                conn.execute("UPDATE operators SET disabled = 0 WHERE id = ?", (operator_id,))
                self._log(conn, admin, Action.OPERATOR_ENABLED, operator_id)
            return self._operator(conn, operator_id)

        return self.vault.call_write(do)

    def reset_password(self, actor: Actor, operator_id: int) -> str:
        """Set a generated temporary password (returned, show once); the operator must
        change it at the next sign-in (the minimum age does not apply then)."""
        temporary = temporary_password()
        new_hash = self.hasher.hash(temporary)
        now = self.clock.now()

        def do(conn: Conn) -> None:
            admin = self._admin(conn, actor)
            row = self._target(conn, operator_id)
            if row.password_hash is None:
                raise InvalidOperatorInput(
                    "This operator has not set up their account yet. Give them a new setup "
                    "code instead."
                )
            if row.demo:
                raise InvalidOperatorInput("The demo administrator has no password.")
            store.record_password(conn, operator_id, new_hash, now, keep=password_policy.HISTORY)
            conn.execute(
                "UPDATE operators SET must_change_password = 1 WHERE id = ?", (operator_id,)
            )
            self._log(conn, admin, Action.PASSWORD_RESET, operator_id)

        self.vault.call_write(do)
        return temporary

    def reset_mfa(self, actor: Actor, operator_id: int) -> Operator:
        """Remove the operator's TOTP key and recovery codes; they enroll again at the
        next sign-in after their password."""

        def do(conn: Conn) -> Operator:
            admin = self._admin(conn, actor)
            row = self._target(conn, operator_id)
            if row.totp_secret is not None:
                conn.execute(
                    "UPDATE operators SET totp_secret = NULL, totp_last_step = NULL WHERE id = ?",
                    (operator_id,),
                )
                store.replace_recovery_codes(conn, operator_id, [])
                self._log(conn, admin, Action.MFA_RESET, operator_id)
            return self._operator(conn, operator_id)

        return self.vault.call_write(do)

    def unlock(self, actor: Actor, operator_id: int) -> Operator:
        def do(conn: Conn) -> Operator:
            admin = self._admin(conn, actor)
            row = self._target(conn, operator_id)
            if row.locked_until is not None or row.failed_attempts or row.lockouts:
                conn.execute(
                    "UPDATE operators SET failed_attempts = 0, locked_until = NULL, lockouts = 0"
                    " WHERE id = ?",
                    (operator_id,),
                )
                self._log(conn, admin, Action.ACCOUNT_UNLOCKED, operator_id)
            return self._operator(conn, operator_id)

        return self.vault.call_write(do)

    def assign_stores(
        self, actor: Actor, operator_id: int, store_ids: frozenset[int] | set[int]
    ) -> Operator:
        wanted = frozenset(store_ids)

        def do(conn: Conn) -> Operator:
            admin = self._admin(conn, actor)
            row = self._target(conn, operator_id)
            self._check_stores(conn, wanted)
            added, removed = wanted - row.store_ids, row.store_ids - wanted
            if added or removed:
                store.set_stores(conn, operator_id, wanted)
                self._log(
                    conn, admin, Action.STORES_CHANGED, operator_id, added=added, removed=removed
                )
            return self._operator(conn, operator_id)

        return self.vault.call_write(do)

    def set_role(self, actor: Actor, operator_id: int, role: Role) -> Operator:
        """Raises :class:`LastAdmin` when demoting the last active admin."""
        role = Role(role)

        def do(conn: Conn) -> Operator:
            admin = self._admin(conn, actor)
            row = self._target(conn, operator_id)
            if row.role is role:
                return row.to_operator()
            if row.active_admin and store.count_active_admins(conn, excluding=operator_id) == 0:
                raise LastAdmin()
            conn.execute("UPDATE operators SET role = ? WHERE id = ?", (role.value, operator_id))
            self._log(
                conn, admin, Action.ROLE_CHANGED, operator_id, old=row.role.value, new=role.value
            )
            return self._operator(conn, operator_id)

        return self.vault.call_write(do)
