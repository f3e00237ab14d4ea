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
username or password), :class:`~app.errors.AccountLocked` (says until when; an unknown
username locks the same way, see app/auth/throttle.py),
:class:`~app.errors.PasswordRejected` (message names the rule),
:class:`~app.errors.CodeRejected`, :class:`~app.errors.PermissionDenied`,
:class:`~app.errors.LastAdmin`.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from app import access, settings
from app.audit import Action, format_time
from app.auth import identity, password_policy, recovery, store, throttle, totp
from app.auth.hashing import PasswordHashing
from app.auth.models import (
    Actor,
    Enrollment,
    EnrollmentDone,
    PasswordStep,
    Session,
)
from app.auth.operators import OperatorService
from app.auth.rbac import Role
from app.auth.store import OperatorRow, ts
from app.auth.throttle import LOCKOUTS, MAX_FAILURES, lockout_for
from app.errors import (
    AccountLocked,
    AuthenticationFailed,
    CodeRejected,
    PasswordRejected,
    PermissionDenied,
)
from app.notices import Notices, OperatorsChanged

if TYPE_CHECKING:
    from app.audit import AuditLog
    from app.clock import Clock
    from app.vault import Vault

__all__ = ["LOCKOUT", "LOCKOUTS", "MAX_FAILURES", "AuthService", "OperatorService"]

Conn = Any
T = TypeVar("T")

LOCKOUT = LOCKOUTS[0]  # the first lockout; later ones in a row last longer
STEP_TTL = timedelta(minutes=5)
ENROLL_TTL = timedelta(minutes=30)
MAX_INPUT = 1024  # longer input is refused without hashing it (after the same delay)
DEMO_USERNAME = "demo"

SESSION_EXPIRED = "Sign-in took too long. Start again with your username and password."


@dataclass
class _Pending:
    operator_id: int
    expires_at: datetime
    secret: str = ""


@dataclass
class _Outcome:
    kind: str  # "ok", "wrong", "locked"
    row: OperatorRow | None = None
    used_recovery: bool = False
    left: int = 0
    until: datetime | None = None  # end of the lockout


def locked_error(until: datetime | None, now: datetime) -> AccountLocked:
    """:class:`AccountLocked` telling the seller until when (local time, rounded up to
    the minute; the date too when it is not today)."""
    if until is None:
        return AccountLocked()
    local = until.astimezone()
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
    when = f"{local:%H:%M}"
    if local.date() != now.astimezone().date():
        when = f"{local.day} {local:%b} at {when}"
    return AccountLocked(
        f"This account is locked after too many failed sign-ins, until {when}. Try again "
        "then, or ask an administrator to unlock it.",
        until=until,
    )


def record_failure(
    conn: Conn, audit: AuditLog, now: datetime, operator_id: int, stage: str, reason: str
) -> datetime | None:
    """Count a failed attempt (in the caller's transaction); lock at the 10th, for longer
    each lockout in a row (:data:`LOCKOUTS`).  Returns the lockout's end if the account
    is now locked, else None."""
    conn.execute(
        "UPDATE operators SET failed_attempts = failed_attempts + 1 WHERE id = ?", (operator_id,)
    )
    failures, lockouts = map(
        int,
        conn.execute(
            "SELECT failed_attempts, lockouts FROM operators WHERE id = ?", (operator_id,)
        ).fetchone(),
    )
    audit.append(
        conn,
        actor_id=operator_id,
        action=Action.SIGN_IN_FAILED,
        object_type="operator",
        object_id=operator_id,
        details={"stage": stage, "reason": reason, "failures": failures},
    )
    if failures < MAX_FAILURES:
        return None
    level = 1 + lockouts
    until = now + lockout_for(level)
    conn.execute(
        "UPDATE operators SET failed_attempts = 0, locked_until = ?, lockouts = ? WHERE id = ?",
        (ts(until), level, operator_id),
    )
    audit.append(
        conn,
        actor_id=operator_id,
        action=Action.ACCOUNT_LOCKED,
        object_type="operator",
        object_id=operator_id,
        details={"failures": failures, "until": format_time(until), "level": level},
    )
    return until


class AuthService:
    """Sign-in, first admin, MFA enrollment, password changes.

    Thread: any worker thread; every method blocks.  Password hashing runs on the calling
    thread, never on the DB thread, so sign-in does not stall other database work.
    """

    def __init__(
        self,
        *,
        vault: Vault,
        clock: Clock,
        audit: AuditLog,
        demo: bool = False,
        hasher: PasswordHashing | None = None,
        notices: Notices | None = None,
    ) -> None:
        self.vault = vault
        self.clock = clock
        self.audit = audit
        self.demo = demo
        self.notices = notices
        self.hasher = hasher or PasswordHashing()
        if not demo and isinstance(self.hasher, PasswordHashing):
            # The dummy hash for unknown usernames, made before the first attempt so
            # that attempt costs one verify like the rest (not a hash and a verify).
            self.hasher.start_warm_up()
        self._lock = threading.Lock()
        self._steps: dict[str, _Pending] = {}
        self._enrollments: dict[str, _Pending] = {}

    def _write(self, fn: Callable[[Conn], T]) -> T:
        """``vault.call_write(fn)``; every write here changes an operator row (attempts,
        lockout, password, MFA, sign-in time), so it announces ``OperatorsChanged``."""

        def write(conn: Conn) -> T:
            result = fn(conn)
            if self.notices is not None:
                self.notices.after_commit(self.vault, OperatorsChanged())
            return result

        return self.vault.call_write(write)

    # --- first run --------------------------------------------------------------------

    def needs_first_admin(self) -> bool:
        """True until an admin has completed MFA enrollment (the wizard must run).
        Always False for the demo profile (its admin signs in automatically)."""
        if self.demo:
            return False
        return self.vault.call(_no_enrolled_operator)

    def begin_first_admin(
        self, username: str, display_name: str, email: str, password: str
    ) -> Enrollment:
        """Create the first admin pending MFA (replacing an unfinished one).

        Raises :class:`PasswordRejected` (message names the rule),
        :class:`InvalidOperatorInput` for a bad username/display name/email,
        :class:`PermissionDenied` if an enrolled operator already exists.
        """
        if self.demo:
            raise PermissionDenied("The demo profile already has its administrator.")
        username, display_name, email = identity.check_identity(username, display_name, email)
        self._check_policy(password, username=username, display_name=display_name, email=email)
        password_hash = self.hasher.hash(password)
        now = self.clock.now()

        def do(conn: Conn) -> OperatorRow:
            if not _no_enrolled_operator(conn):
                raise PermissionDenied("An administrator already exists. Sign in instead.")
            # An earlier wizard run that never finished MFA leaves a pending admin behind.
            conn.execute("DELETE FROM operators WHERE mfa_enrolled_at IS NULL AND demo = 0")
            cur = conn.execute(
                "INSERT INTO operators(username, display_name, email, role, created_at)"
                " VALUES (?, ?, ?, 'admin', ?)",
                (username, display_name, email, ts(now)),
            )
            op_id = int(cur.lastrowid)
            store.record_password(conn, op_id, password_hash, now, keep=password_policy.HISTORY)
            self.audit.about_operator(
                conn,
                Action.OPERATOR_CREATED,
                op_id,
                actor_id=op_id,
                details={"role": "admin", "first_admin": True},
            )
            row = store.by_id(conn, op_id)
            assert row is not None
            return row

        return self._new_enrollment(self._write(do))

    def complete_enrollment(self, enrollment: Enrollment, code: str) -> EnrollmentDone:
        """Verify a current code of the new key, activate MFA, sign in.

        Returns 10 recovery codes (shown once; only hashes are stored) and the session.
        Raises :class:`CodeRejected` for a wrong code (the enrollment stays valid) and
        :class:`AuthenticationFailed` if the enrollment expired.
        """
        now = self.clock.now()
        pending = self._pending(self._enrollments, enrollment.token, now)
        if pending is None or pending.operator_id != enrollment.operator_id:
            raise AuthenticationFailed(SESSION_EXPIRED)
        step = totp.matching_step(pending.secret, code, now)
        if step is None:
            raise CodeRejected(
                "That code does not match. Enter the 6-digit code your authenticator app "
                "shows now for Müttefik Desk."
            )
        codes = recovery.generate()
        hashes = [recovery.hash_code(c) for c in codes]
        op_id = pending.operator_id

        def do(conn: Conn) -> OperatorRow:
            row = store.by_id(conn, op_id)
            if row is None or row.disabled or row.password_hash is None or row.totp_secret:
                raise AuthenticationFailed(SESSION_EXPIRED)
            conn.execute(
                "UPDATE operators SET totp_secret = ?, totp_last_step = ?, failed_attempts = 0,"
                " locked_until = NULL, lockouts = 0, last_sign_in_at = ?,"
                " mfa_enrolled_at = coalesce(mfa_enrolled_at, ?) WHERE id = ?",
                (pending.secret, step, ts(now), ts(now), op_id),
            )
            store.replace_recovery_codes(conn, op_id, hashes)
            for action, details in (
                (Action.MFA_ENROLLED, {}),
                (Action.RECOVERY_CODES_CREATED, {"count": len(hashes)}),
                (Action.SIGN_IN_OK, {"method": "enrollment"}),
            ):
                self.audit.about_operator(conn, action, op_id, actor_id=op_id, details=details)
            fresh = store.by_id(conn, op_id)
            assert fresh is not None
            return fresh

        row = self._write(do)
        with self._lock:
            self._enrollments.pop(enrollment.token, None)
        return EnrollmentDone(
            recovery_codes=codes, session=self._session(row, now, left=len(codes))
        )

    # --- sign-in ----------------------------------------------------------------------

    def check_password(self, username: str, password: str) -> PasswordStep:
        """First sign-in step.  Raises :class:`AuthenticationFailed` (same message and
        about the same time for an unknown user, a wrong password or a disabled account)
        or :class:`AccountLocked` (after the same number of failures, for the same time,
        for an account or a name with no account behind it).  Upgrades the hash if its
        parameters are outdated."""
        now = self.clock.now()
        name = username[:MAX_INPUT]
        row = self.vault.call(lambda conn: store.by_username(conn, name))
        if (
            row is None
            or row.password_hash is None
            or row.demo
            or row.disabled
            or len(password) > MAX_INPUT
        ):
            self.hasher.dummy_verify(password[:MAX_INPUT])
            self._name_failed(name, now)
        if row.is_locked(now):
            self.hasher.dummy_verify(password)
            self._write(
                lambda conn: throttle.name_failure(conn, self.audit, now, name, counts=False)
            )
            raise locked_error(row.locked_until, now)
        if not self.hasher.verify(row.password_hash, password):
            self._failed(row.id, now, "password", "wrong_password", AuthenticationFailed())
        if self.hasher.needs_rehash(row.password_hash):
            self._upgrade_hash(row, password)
        token = secrets.token_urlsafe(24)
        expires = now + STEP_TTL
        self._remember(self._steps, token, _Pending(row.id, expires), now)
        return PasswordStep(
            operator_id=row.id,
            username=row.username,
            needs_mfa_enrollment=row.totp_secret is None,
            expires_at=expires,
            token=token,
        )

    def begin_enrollment(self, step: PasswordStep) -> Enrollment:
        """For a ``step.needs_mfa_enrollment``: a fresh TOTP key to enroll."""
        now = self.clock.now()
        pending = self._pending(self._steps, step.token, now)
        if pending is None or pending.operator_id != step.operator_id:
            raise AuthenticationFailed(SESSION_EXPIRED)
        row = self.vault.call(lambda conn: store.by_id(conn, pending.operator_id))
        if row is None or row.disabled or row.totp_secret is not None:
            raise AuthenticationFailed(SESSION_EXPIRED)
        with self._lock:
            self._steps.pop(step.token, None)
        return self._new_enrollment(row)

    def check_second_factor(self, step: PasswordStep, code: str) -> Session:
        """Second step: a 6-digit TOTP code (±1 time step, never the same step twice) or
        a recovery code (single use).  Raises :class:`CodeRejected` (counts as a failure),
        :class:`AccountLocked`, or :class:`AuthenticationFailed` if ``step`` expired."""
        now = self.clock.now()
        pending = self._pending(self._steps, step.token, now)
        if pending is None or pending.operator_id != step.operator_id:
            raise AuthenticationFailed(SESSION_EXPIRED)
        code = code.strip()[:64]
        op_id = pending.operator_id

        def do(conn: Conn) -> _Outcome:
            row = store.by_id(conn, op_id)
            if row is None or row.disabled or row.totp_secret is None:
                return _Outcome("gone")
            if row.is_locked(now):
                return _Outcome("locked", until=row.locked_until)
            reason = "wrong_code"
            if totp.looks_like_totp(code):
                verdict, step_no = totp.check(row.totp_secret, code, now, row.totp_last_step)
                if verdict is totp.CodeCheck.OK:
                    conn.execute(
                        "UPDATE operators SET totp_last_step = ? WHERE id = ?", (step_no, op_id)
                    )
                    return self._signed_in(conn, row, now, "totp")
                if verdict is totp.CodeCheck.REPLAYED:
                    reason = "replayed_code"
            elif recovery.looks_like_code(code):
                reason = "wrong_recovery_code"
                for code_id, code_hash in store.unused_recovery_codes(conn, op_id):
                    if recovery.matches(code, code_hash):
                        conn.execute(
                            "UPDATE recovery_codes SET used_at = ? WHERE id = ?",
                            (ts(now), code_id),
                        )
                        left = len(store.unused_recovery_codes(conn, op_id))
                        self.audit.about_operator(
                            conn,
                            Action.RECOVERY_CODE_USED,
                            op_id,
                            actor_id=op_id,
                            details={"remaining": left},
                        )
                        return self._signed_in(conn, row, now, "recovery_code")
            until = record_failure(conn, self.audit, now, op_id, "code", reason)
            return _Outcome("wrong" if until is None else "locked", until=until)

        outcome = self._write(do)
        if outcome.kind == "ok":
            with self._lock:
                self._steps.pop(step.token, None)
            assert outcome.row is not None
            return self._session(
                outcome.row, now, left=outcome.left, used_recovery=outcome.used_recovery
            )
        if outcome.kind == "wrong":
            raise CodeRejected()
        with self._lock:
            self._steps.pop(step.token, None)
        if outcome.kind == "locked":
            raise locked_error(outcome.until, now)
        raise AuthenticationFailed(SESSION_EXPIRED)

    def redeem_setup_code(self, username: str, setup_code: str, password: str) -> Enrollment:
        """An admin-created operator's first sign-in: check the one-time setup code, set
        the chosen password (policy checked), then enroll MFA.  Wrong username or code →
        :class:`AuthenticationFailed` (counts as a failure); a rejected password does not
        use up the code."""
        now = self.clock.now()
        wrong = "Wrong username or setup code."
        name = username[:MAX_INPUT]
        row = self.vault.call(lambda conn: store.by_username(conn, name))
        if row is None or row.disabled or not row.setup_pending or row.demo:
            self._name_failed(name, now, AuthenticationFailed(wrong))
        if row.is_locked(now):
            raise locked_error(row.locked_until, now)
        op_id = row.id

        def code_ok(conn: Conn) -> bool:
            r = conn.execute(
                "SELECT code_hash, expires_at FROM setup_codes WHERE operator_id = ?", (op_id,)
            ).fetchone()
            return (
                r is not None
                and store.parse_ts(r[1]) > now  # type: ignore[operator]
                and recovery.matches(setup_code, r[0])
            )

        if not self.vault.call(code_ok):
            self._failed(op_id, now, "setup_code", "wrong_setup_code", AuthenticationFailed(wrong))
        self._check_policy(
            password, username=row.username, display_name=row.display_name, email=row.email
        )
        password_hash = self.hasher.hash(password)

        def do(conn: Conn) -> OperatorRow:
            if not code_ok(conn):  # redeemed or replaced meanwhile
                raise AuthenticationFailed(wrong)
            conn.execute("DELETE FROM setup_codes WHERE operator_id = ?", (op_id,))
            store.record_password(conn, op_id, password_hash, now, keep=password_policy.HISTORY)
            conn.execute(
                "UPDATE operators SET failed_attempts = 0, must_change_password = 0 WHERE id = ?",
                (op_id,),
            )
            for action, details in (
                (Action.SETUP_CODE_REDEEMED, {}),
                (Action.PASSWORD_CHANGED, {"reason": "setup"}),
            ):
                self.audit.about_operator(conn, action, op_id, actor_id=op_id, details=details)
            fresh = store.by_id(conn, op_id)
            assert fresh is not None
            return fresh

        return self._new_enrollment(self._write(do))

    def demo_session(self) -> Session:
        """The demo profile's auto-signed-in ``demo`` admin (created on first use).

        Raises :class:`PermissionDenied` unless this service was built for a demo profile.
        """
        if not self.demo:
            raise PermissionDenied("Only the demo profile signs in automatically.")
        now = self.clock.now()

        def do(conn: Conn) -> OperatorRow:
            row = store.by_username(conn, DEMO_USERNAME)
            if row is None:
                cur = conn.execute(
                    "INSERT INTO operators(username, display_name, email, role, created_at,"
                    " demo, mfa_enrolled_at) VALUES (?, 'Demo Admin', 'demo@example.invalid',"
                    " 'admin', ?, 1, ?)",
                    (DEMO_USERNAME, ts(now), ts(now)),
                )
                op_id = int(cur.lastrowid)
                self.audit.about_operator(
                    conn, Action.OPERATOR_CREATED, op_id, actor_id=op_id, details={"role": "admin"}
                )
                row = store.by_id(conn, op_id)
                assert row is not None
            if not row.demo or row.disabled:
                raise PermissionDenied("The demo administrator is not available.")
            conn.execute("UPDATE operators SET last_sign_in_at = ? WHERE id = ?", (ts(now), row.id))
            self.audit.about_operator(
                conn, Action.SIGN_IN_OK, row.id, actor_id=row.id, details={"method": "demo"}
            )
            return row

        row = self._write(do)
        return Session(actor=row.to_actor(), signed_in_at=now, demo=True)

    # --- passwords and codes ----------------------------------------------------------

    def password_problems(
        self, password: str, *, username: str, display_name: str, email: str = ""
    ) -> list[str]:
        """Every policy rule ``password`` breaks, in plain words (empty: acceptable).
        For live feedback; history and minimum age are checked on change."""
        found = password_policy.problems(
            password,
            username=username,
            display_name=display_name,
            email=email,
            **self._policy_context(),
        )
        return [p.message for p in found]

    def password_rules(self) -> list[str]:
        """The policy as a list of plain-language rules, for display next to the field."""
        return password_policy.rules(
            self.vault.call(lambda conn: settings.get(conn, settings.PASSWORD_MIN_LENGTH))
        )

    def change_password(self, actor: Actor, old_password: str, new_password: str) -> None:
        """Change the actor's own password.  Raises :class:`AuthenticationFailed` for a
        wrong old password (counts towards the lockout) and :class:`PasswordRejected`
        naming the rule (minimum age of 1 day unless an admin reset forced the change;
        not one of the last 10)."""
        now = self.clock.now()
        row = self.vault.call(lambda conn: self._own_row(conn, actor))
        if row.demo:
            raise PermissionDenied()
        if row.is_locked(now):
            raise locked_error(row.locked_until, now)
        if row.password_hash is None or not self.hasher.verify(row.password_hash, old_password):
            wrong = AuthenticationFailed("Your current password is not right.")
            self._failed(row.id, now, "password_change", "wrong_password", wrong)
        expired = self._expired(row, now)
        if (
            not row.must_change_password
            and not expired
            and row.password_changed_at is not None
            and now - row.password_changed_at < password_policy.MIN_AGE
        ):
            raise PasswordRejected(password_policy.message([password_policy.TOO_SOON]))
        self._check_policy(
            new_password, username=row.username, display_name=row.display_name, email=row.email
        )
        history = self.vault.call(
            lambda conn: store.password_history(conn, row.id, password_policy.HISTORY)
        )
        if any(self.hasher.verify(h, new_password) for h in history):
            raise PasswordRejected(password_policy.message([password_policy.REUSED]))
        new_hash = self.hasher.hash(new_password)
        reason = "forced" if row.must_change_password else "expired" if expired else "self"

        def do(conn: Conn) -> None:
            self._own_row(conn, actor)  # still allowed after the slow hashing
            store.record_password(conn, row.id, new_hash, now, keep=password_policy.HISTORY)
            conn.execute("UPDATE operators SET must_change_password = 0 WHERE id = ?", (row.id,))
            self.audit.about_operator(
                conn, Action.PASSWORD_CHANGED, row.id, actor_id=row.id, details={"reason": reason}
            )

        self._write(do)

    def recovery_codes_left(self, actor: Actor) -> Future[int]:
        def read(conn: Conn) -> int:
            return len(store.unused_recovery_codes(conn, self._own_row(conn, actor).id))

        return self.vault.run(read)

    def regenerate_recovery_codes(self, actor: Actor, password: str) -> list[str]:
        """Replace the actor's recovery codes (password confirms); shown once."""
        now = self.clock.now()
        row = self.vault.call(lambda conn: self._own_row(conn, actor))
        if row.totp_secret is None:
            raise PermissionDenied()
        if row.password_hash is None or not self.hasher.verify(row.password_hash, password):
            wrong = AuthenticationFailed("Your password is not right.")
            self._failed(row.id, now, "recovery_codes", "wrong_password", wrong)
        codes = recovery.generate()
        hashes = [recovery.hash_code(c) for c in codes]

        def do(conn: Conn) -> None:
            self._own_row(conn, actor)
            store.replace_recovery_codes(conn, row.id, hashes)
            self.audit.about_operator(
                conn,
                Action.RECOVERY_CODES_CREATED,
                row.id,
                actor_id=row.id,
                details={"count": len(codes)},
            )

        self._write(do)
        return codes

    def sign_out(self, actor: Actor, reason: str = "sign_out") -> None:
        """Audit the end of a session; ``reason`` is ``sign_out`` or ``idle_lock``.

        The one method an operator disabled or changed since sign-in may still call: the
        session ends either way, and the log should say so.  An operator that does not
        exist (and the system principal, which has no session) is refused."""
        if reason not in ("sign_out", "idle_lock"):
            raise ValueError(f"unknown sign-out reason {reason!r}")

        def do(conn: Conn) -> None:
            if not isinstance(actor, Actor) or actor.role is Role.SYSTEM:
                raise PermissionDenied(detail="no operator session to end")
            own = store.by_id(conn, actor.id)
            if own is None:
                raise PermissionDenied(detail=f"operator {actor.id} does not exist")
            self.audit.about_operator(
                conn, Action.SIGNED_OUT, own.id, actor_id=own.id, details={"reason": reason}
            )

        self._write(do)

    # --- helpers ----------------------------------------------------------------------

    @staticmethod
    def _own_row(conn: Conn, actor: Actor) -> OperatorRow:
        """DB thread: the caller's own row, once :func:`app.access.current` accepts them
        (an operator that exists and is enabled; never the system principal)."""
        own = access.current(conn, actor)
        row = store.by_id(conn, own.id)
        if row is None:  # the system principal has no row
            raise PermissionDenied(detail="the system principal has no account")
        return row

    def _policy_context(self) -> dict[str, Any]:
        """The stored inputs of the policy: minimum length and the store names."""

        def read(conn: Conn) -> dict[str, Any]:
            names = [str(r[0]) for r in conn.execute("SELECT name FROM stores").fetchall()]
            return {
                "min_length": settings.get(conn, settings.PASSWORD_MIN_LENGTH),
                "store_names": names,
            }

        return self.vault.call(read)

    def _failed(
        self, op_id: int, now: datetime, step: str, reason: str, error: Exception
    ) -> NoReturn:
        """Record a failed check towards the lockout, then raise: :class:`AccountLocked`
        if this failure locked the account, ``error`` otherwise."""
        until = self._write(lambda conn: record_failure(conn, self.audit, now, op_id, step, reason))
        raise error if until is None else locked_error(until, now)

    def _name_failed(self, name: str, now: datetime, error: Exception | None = None) -> NoReturn:
        """Note a failure at a name with no usable account (throttled like an account,
        audited per window), then raise :class:`AccountLocked` if the name is locked,
        ``error`` (default: wrong username or password) otherwise."""
        until = self._write(
            lambda conn: throttle.name_failure(conn, self.audit, now, name, counts=True)
        )
        if until is not None:
            raise locked_error(until, now)
        raise error or AuthenticationFailed()

    def _check_policy(self, password: str, *, username: str, display_name: str, email: str) -> None:
        found = password_policy.problems(
            password,
            username=username,
            display_name=display_name,
            email=email,
            **self._policy_context(),
        )
        if found:
            raise PasswordRejected(password_policy.message(found))

    def _upgrade_hash(self, row: OperatorRow, password: str) -> None:
        new_hash = self.hasher.hash(password)
        old_hash = row.password_hash

        def do(conn: Conn) -> None:
            cur = conn.execute(
                "UPDATE operators SET password_hash = ? WHERE id = ? AND password_hash = ?",
                (new_hash, row.id, old_hash),
            )
            if cur.rowcount:
                conn.execute(
                    "UPDATE password_history SET password_hash = ? "
                    "WHERE operator_id = ? AND password_hash = ?",
                    (new_hash, row.id, old_hash),
                )
                self.audit.about_operator(conn, Action.PASSWORD_REHASHED, row.id, actor_id=row.id)

        self._write(do)

    def _signed_in(self, conn: Conn, row: OperatorRow, now: datetime, method: str) -> _Outcome:
        conn.execute(
            "UPDATE operators SET failed_attempts = 0, locked_until = NULL, lockouts = 0,"
            " last_sign_in_at = ? WHERE id = ?",
            (ts(now), row.id),
        )
        self.audit.about_operator(
            conn, Action.SIGN_IN_OK, row.id, actor_id=row.id, details={"method": method}
        )
        fresh = store.by_id(conn, row.id)
        left = len(store.unused_recovery_codes(conn, row.id))
        return _Outcome("ok", fresh, used_recovery=method == "recovery_code", left=left)

    @staticmethod
    def _expired(row: OperatorRow, now: datetime) -> bool:
        changed = row.password_changed_at
        return changed is not None and now - changed >= password_policy.MAX_AGE

    def _session(
        self, row: OperatorRow, now: datetime, *, left: int, used_recovery: bool = False
    ) -> Session:
        return Session(
            actor=row.to_actor(),
            signed_in_at=now,
            must_change_password=row.must_change_password,
            password_expired=self._expired(row, now),
            used_recovery_code=used_recovery,
            recovery_codes_left=left,
        )

    def _new_enrollment(self, row: OperatorRow) -> Enrollment:
        now = self.clock.now()
        secret = totp.new_secret()
        token = secrets.token_urlsafe(24)
        self._remember(self._enrollments, token, _Pending(row.id, now + ENROLL_TTL, secret), now)
        return Enrollment(
            operator_id=row.id,
            username=row.username,
            totp_secret=secret,
            provisioning_uri=totp.provisioning_uri(secret, row.username),
            token=token,
        )

    def _remember(
        self, table: dict[str, _Pending], token: str, pending: _Pending, now: datetime
    ) -> None:
        with self._lock:
            for key in [k for k, p in table.items() if p.expires_at <= now]:
                del table[key]
            table[token] = pending

    def _pending(self, table: dict[str, _Pending], token: str, now: datetime) -> _Pending | None:
        with self._lock:
            pending = table.get(token)
            if pending is None:
                return None
            if pending.expires_at <= now:
                del table[token]
                return None
            return pending


def _no_enrolled_operator(conn: Conn) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM operators WHERE mfa_enrolled_at IS NOT NULL AND demo = 0 LIMIT 1"
        ).fetchone()
        is None
    )
