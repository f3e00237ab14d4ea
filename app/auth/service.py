"""Sign-in, enrollment and operator administration: the API the UI and the CLI call.

Every method blocks (disk, Argon2): call it from a worker thread (``ui/ops.py``) or the
CLI, never from the GUI thread.  Writes go through ``vault.call_write`` so each method is
one transaction, audit entry included.

Sign-in flow::

    if auth.needs_first_admin():                       # first-run wizard
        enrollment = auth.begin_first_admin(username, display_name, email, password)
        done = auth.complete_enrollment(enrollment, code)   # shows done.recovery_codes
        session = done.session
    else:                                              # sign-in dialog
        step = auth.check_password(username, password)
        if step.needs_mfa_enrollment:                  # admin reset the MFA
            done = auth.complete_enrollment(auth.begin_enrollment(step), code)
            session = done.session
        else:
            session = auth.check_second_factor(step, code_or_recovery_code)
    if session.needs_password_change:
        auth.change_password(session.actor, old, new)

New operator (admin gave them a setup code)::

    enrollment = auth.redeem_setup_code(username, setup_code, new_password)
    done = auth.complete_enrollment(enrollment, code)

Errors: :class:`~app.errors.AuthenticationFailed` (same message and time for a wrong
username or password), :class:`~app.errors.AccountLocked`,
:class:`~app.errors.PasswordRejected` (message names the rule),
:class:`~app.errors.CodeRejected`, :class:`~app.errors.PermissionDenied`,
:class:`~app.errors.LastAdmin`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.auth.models import (
    Actor,
    Enrollment,
    EnrollmentDone,
    Operator,
    PasswordStep,
    Session,
    SetupCode,
    StoreRef,
)
from app.auth.rbac import Role

if TYPE_CHECKING:
    from app.audit import AuditLog
    from app.clock import Clock
    from app.vault import Vault


class AuthService:
    """Sign-in, first admin, MFA enrollment, password changes.

    Thread: any worker thread; every method blocks.
    """

    def __init__(self, *, vault: Vault, clock: Clock, audit: AuditLog, demo: bool = False) -> None:
        raise NotImplementedError

    # --- first run --------------------------------------------------------------------

    def needs_first_admin(self) -> bool:
        """True until an active admin with MFA exists (the wizard must run)."""
        raise NotImplementedError

    def begin_first_admin(
        self, username: str, display_name: str, email: str, password: str
    ) -> Enrollment:
        """Create the first admin pending MFA (replacing an unfinished one).

        Raises :class:`PasswordRejected` (message names the rule), ``ValueError``-free
        :class:`InvalidOperatorInput` for a bad username/email, :class:`PermissionDenied`
        if an admin with MFA already exists.
        """
        raise NotImplementedError

    def complete_enrollment(self, enrollment: Enrollment, code: str) -> EnrollmentDone:
        """Verify a current code of the new key, activate MFA, sign in.

        Returns 10 recovery codes (shown once; only hashes are stored) and the session.
        Raises :class:`CodeRejected` for a wrong code (the enrollment stays valid).
        """
        raise NotImplementedError

    # --- sign-in ----------------------------------------------------------------------

    def check_password(self, username: str, password: str) -> PasswordStep:
        """First sign-in step.  Raises :class:`AuthenticationFailed` (same message and
        about the same time for an unknown user, a wrong password or a disabled account)
        or :class:`AccountLocked`.  Upgrades the hash if its parameters are outdated."""
        raise NotImplementedError

    def begin_enrollment(self, step: PasswordStep) -> Enrollment:
        """For a ``step.needs_mfa_enrollment``: a fresh TOTP key to enroll."""
        raise NotImplementedError

    def check_second_factor(self, step: PasswordStep, code: str) -> Session:
        """Second step: a 6-digit TOTP code (±1 time step, never the same step twice) or
        a recovery code (single use).  Raises :class:`CodeRejected` (counts as a failure),
        :class:`AccountLocked`, or :class:`AuthenticationFailed` if ``step`` expired."""
        raise NotImplementedError

    def redeem_setup_code(self, username: str, setup_code: str, password: str) -> Enrollment:
        """An admin-created operator's first sign-in: check the one-time setup code, set
        the chosen password (policy checked), then enroll MFA.  Wrong username or code →
        :class:`AuthenticationFailed` (counts as a failure)."""
        raise NotImplementedError

    def demo_session(self) -> Session:
        """The demo profile's auto-signed-in ``demo`` admin (created on first use).

        Raises :class:`PermissionDenied` unless this service was built for a demo profile.
        """
        raise NotImplementedError

    # --- passwords and codes ----------------------------------------------------------

    def password_problems(
        self, password: str, *, username: str, display_name: str, email: str = ""
    ) -> list[str]:
        """Every policy rule ``password`` breaks, in plain words (empty: acceptable).
        For live feedback; history and minimum age are checked on change."""
        raise NotImplementedError

    def password_rules(self) -> list[str]:
        """The policy as a list of plain-language rules, for display next to the field."""
        raise NotImplementedError

    def change_password(self, actor: Actor, old_password: str, new_password: str) -> None:
        """Change the actor's own password.  Raises :class:`AuthenticationFailed` for a
        wrong old password and :class:`PasswordRejected` naming the rule (minimum age of
        1 day unless an admin reset forced the change; not one of the last 10)."""
        raise NotImplementedError

    def recovery_codes_left(self, actor: Actor) -> int:
        raise NotImplementedError

    def regenerate_recovery_codes(self, actor: Actor, password: str) -> list[str]:
        """Replace the actor's recovery codes (password confirms); shown once."""
        raise NotImplementedError

    def sign_out(self, actor: Actor) -> None:
        """Audit the end of a session (sign-out or idle lock)."""
        raise NotImplementedError


class OperatorService:
    """Operator administration (admins only; the last active admin is protected).

    Thread: any worker thread; every method blocks.
    """

    def __init__(self, *, vault: Vault, clock: Clock, audit: AuditLog) -> None:
        raise NotImplementedError

    def list_operators(self, actor: Actor) -> list[Operator]:
        raise NotImplementedError

    def get_operator(self, actor: Actor, operator_id: int) -> Operator:
        """Admins: anyone; agents: only themselves."""
        raise NotImplementedError

    def list_stores(self, actor: Actor) -> list[StoreRef]:
        """The stores ``actor`` may see (all for admins), for the store assignment UI."""
        raise NotImplementedError

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
        raise NotImplementedError

    def new_setup_code(self, actor: Actor, operator_id: int) -> SetupCode:
        """Issue a fresh setup code for an operator who has not redeemed theirs."""
        raise NotImplementedError

    def update_operator(
        self, actor: Actor, operator_id: int, *, display_name: str, email: str
    ) -> Operator:
        raise NotImplementedError

    def disable(self, actor: Actor, operator_id: int) -> Operator:
        """Raises :class:`LastAdmin` for the last active admin."""
        raise NotImplementedError

    def enable(self, actor: Actor, operator_id: int) -> Operator:
        raise NotImplementedError

    def reset_password(self, actor: Actor, operator_id: int) -> str:
        """Set a generated temporary password (returned, show once); the operator must
        change it at the next sign-in (the minimum age does not apply then)."""
        raise NotImplementedError

    def reset_mfa(self, actor: Actor, operator_id: int) -> Operator:
        """Remove the operator's TOTP key and recovery codes; they enroll again at the
        next sign-in after their password."""
        raise NotImplementedError

    def unlock(self, actor: Actor, operator_id: int) -> Operator:
        raise NotImplementedError

    def assign_stores(
        self, actor: Actor, operator_id: int, store_ids: frozenset[int] | set[int]
    ) -> Operator:
        raise NotImplementedError

    def set_role(self, actor: Actor, operator_id: int, role: Role) -> Operator:
        """Raises :class:`LastAdmin` when demoting the last active admin."""
        raise NotImplementedError
