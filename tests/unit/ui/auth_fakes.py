"""In-memory stand-ins for AuthService and OperatorService, for the UI tests.

They follow the real services' contracts (same methods, same errors, real TOTP via
pyotp) without Argon2 or the vault, so the dialogs can be driven quickly.  A
``threading.Event`` gate lets a test hold a call open to look at a busy state.
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pyotp

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
from app.auth.service import AuthService, OperatorService
from app.errors import (
    AccountLocked,
    AuthenticationFailed,
    CodeRejected,
    InvalidOperatorInput,
    LastAdmin,
    PasswordRejected,
    PermissionDenied,
)

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ISSUER = "Müttefik Desk"


T = TypeVar("T")


def _done(value: T) -> Future[T]:
    """A finished future: the services' reads return futures."""
    future: Future[T] = Future()
    future.set_result(value)
    return future


@dataclass
class Account:
    id: int
    username: str
    display_name: str
    email: str
    role: Role = Role.AGENT
    password: str | None = None
    secret: str | None = None
    recovery: list[str] = field(default_factory=list)
    setup_code: str | None = None
    disabled: bool = False
    locked: bool = False
    failures: int = 0
    must_change: bool = False
    expired: bool = False
    store_ids: frozenset[int] = frozenset()
    last_sign_in: datetime | None = None

    def actor(self) -> Actor:
        return Actor(self.id, self.username, self.display_name, self.role, self.store_ids)

    def operator(self) -> Operator:
        return Operator(
            id=self.id,
            username=self.username,
            display_name=self.display_name,
            email=self.email,
            role=self.role,
            store_ids=self.store_ids,
            disabled=self.disabled,
            must_change_password=self.must_change,
            mfa_enrolled=self.secret is not None,
            setup_pending=self.setup_code is not None,
            locked_until=NOW + timedelta(minutes=10) if self.locked else None,
            failed_attempts=self.failures,
            created_at=NOW - timedelta(days=30),
            password_changed_at=None,
            last_sign_in_at=self.last_sign_in,
        )


class FakeAuth(AuthService):
    """The AuthService contract in memory."""

    def __init__(self, *, demo: bool = False) -> None:
        self.accounts: dict[str, Account] = {}
        self._ids = itertools.count(1)
        self.demo = demo
        self.signed_out: list[int] = []
        self.gate: threading.Event | None = None  # set → calls proceed
        self.calls: list[str] = []

    def _wait(self, name: str) -> None:
        self.calls.append(name)
        if self.gate is not None:
            self.gate.wait(10)

    def add(
        self, username: str, password: str, *, role: Role = Role.ADMIN, **kw: object
    ) -> Account:
        secret = pyotp.random_base32()
        account = Account(
            next(self._ids), username, username.title(), f"{username}@example.com", role,
            password, secret, [f"code-{username}-{i}" for i in range(10)], **kw,  # type: ignore[arg-type]
        )  # fmt: skip
        self.accounts[username] = account
        return account

    def _by_id(self, operator_id: int) -> Account:
        return next(a for a in self.accounts.values() if a.id == operator_id)

    def _fake_session(self, account: Account, **kw: object) -> Session:
        return Session(
            actor=account.actor(),
            signed_in_at=NOW,
            must_change_password=account.must_change,
            password_expired=account.expired,
            recovery_codes_left=len(account.recovery),
            **kw,  # type: ignore[arg-type]
        )

    # --- first run
    def needs_first_admin(self) -> bool:
        self._wait("needs_first_admin")
        return not any(a.role is Role.ADMIN and a.secret for a in self.accounts.values())

    def _enrollment(self, account: Account) -> Enrollment:
        secret = pyotp.random_base32()
        uri = pyotp.TOTP(secret).provisioning_uri(name=account.username, issuer_name=ISSUER)
        return Enrollment(account.id, account.username, secret, uri, token=f"enroll-{secret}")

    def begin_first_admin(
        self, username: str, display_name: str, email: str, password: str
    ) -> Enrollment:
        self._wait("begin_first_admin")
        if "@" not in email:
            raise InvalidOperatorInput("Enter an email address such as name@example.com.")
        problems = self.password_problems(password, username=username, display_name=display_name)
        if problems:
            raise PasswordRejected(problems[0])
        account = Account(next(self._ids), username, display_name, email, Role.ADMIN, password)
        self.accounts[username] = account
        return self._enrollment(account)

    def complete_enrollment(self, enrollment: Enrollment, code: str) -> EnrollmentDone:
        self._wait("complete_enrollment")
        if not pyotp.TOTP(enrollment.totp_secret).verify(code, valid_window=1):
            raise CodeRejected()
        account = self._by_id(enrollment.operator_id)
        account.secret = enrollment.totp_secret
        account.setup_code = None
        account.recovery = [f"rc{i:02d}-abcd-efgh-jkmn" for i in range(10)]
        return EnrollmentDone(list(account.recovery), self._fake_session(account))

    # --- sign-in
    def check_password(self, username: str, password: str) -> PasswordStep:
        self._wait("check_password")
        account = self.accounts.get(username)
        if account is not None and account.locked:
            raise AccountLocked()
        if account is None or account.disabled or account.password != password:
            if account is not None:
                account.failures += 1
            raise AuthenticationFailed()
        return PasswordStep(
            account.id, username, account.secret is None, NOW + timedelta(minutes=5), "step"
        )

    def begin_enrollment(self, step: PasswordStep) -> Enrollment:
        self._wait("begin_enrollment")
        return self._enrollment(self._by_id(step.operator_id))

    def check_second_factor(self, step: PasswordStep, code: str) -> Session:
        self._wait("check_second_factor")
        account = self._by_id(step.operator_id)
        if code in account.recovery:
            account.recovery.remove(code)
            return self._fake_session(account, used_recovery_code=True)
        assert account.secret is not None
        if not pyotp.TOTP(account.secret).verify(code, valid_window=1):
            account.failures += 1
            raise CodeRejected()
        account.failures = 0
        return self._fake_session(account)

    def redeem_setup_code(self, username: str, setup_code: str, password: str) -> Enrollment:
        self._wait("redeem_setup_code")
        account = self.accounts.get(username)
        if account is None or account.setup_code is None or account.setup_code != setup_code:
            raise AuthenticationFailed()
        problems = self.password_problems(password, username=username, display_name="")
        if problems:
            raise PasswordRejected(problems[0])
        account.password = password
        return self._enrollment(account)

    def demo_session(self) -> Session:
        self._wait("demo_session")
        if not self.demo:
            raise PermissionDenied()
        account = self.accounts.get("demo") or self.add("demo", "Demo-password-1!")
        return self._fake_session(account, demo=True)

    # --- passwords
    def password_problems(
        self, password: str, *, username: str, display_name: str, email: str = ""
    ) -> list[str]:
        self.calls.append("password_problems")
        problems = []
        if len(password) < 12:
            problems.append("Use at least 12 characters.")
        if not any(c.isupper() for c in password):
            problems.append("Add an upper-case letter.")
        if not any(c.islower() for c in password):
            problems.append("Add a lower-case letter.")
        if not any(c.isdigit() for c in password):
            problems.append("Add a digit.")
        if all(c.isalnum() for c in password):
            problems.append("Add a symbol such as ! or #.")
        if username and username.lower() in password.lower():
            problems.append("Don't use your username in the password.")
        return problems

    def password_rules(self) -> list[str]:
        return ["At least 12 characters."]

    def change_password(self, actor: Actor, old_password: str, new_password: str) -> None:
        self._wait("change_password")
        account = self._by_id(actor.id)
        if account.password != old_password:
            raise AuthenticationFailed("Your current password is not right.")
        if new_password == old_password:
            raise PasswordRejected("Choose a password you have not used before.")
        account.password = new_password
        account.must_change = account.expired = False

    def recovery_codes_left(self, actor: Actor) -> Future[int]:
        return _done(len(self._by_id(actor.id).recovery))

    def sign_out(self, actor: Actor, reason: str = "sign_out") -> None:
        assert reason in ("sign_out", "idle_lock")
        self.calls.append(f"sign_out:{reason}")
        self.signed_out.append(actor.id)


class FakeOperators(OperatorService):
    """The OperatorService contract in memory, over a :class:`FakeAuth`'s accounts."""

    def __init__(self, auth: FakeAuth) -> None:
        self.auth = auth
        self.stores = [StoreRef(1, "EU main"), StoreRef(2, "US outlet")]

    def _require_admin(self, actor: Actor) -> None:
        if actor.role is not Role.ADMIN:
            raise PermissionDenied()

    def _account(self, operator_id: int) -> Account:
        return self.auth._by_id(operator_id)

    def _active_admins(self) -> list[Account]:
        return [a for a in self.auth.accounts.values() if a.role is Role.ADMIN and not a.disabled]

    def list_operators(self, actor: Actor) -> Future[list[Operator]]:
        self._require_admin(actor)
        return _done([a.operator() for a in self.auth.accounts.values()])

    def list_stores(self, actor: Actor) -> Future[list[StoreRef]]:
        self._require_admin(actor)
        return _done(list(self.stores))

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
        self._require_admin(actor)
        if username in self.auth.accounts:
            raise InvalidOperatorInput("That username is taken.")
        account = Account(
            next(self.auth._ids), username, display_name, email, role,
            store_ids=frozenset(store_ids), setup_code="SETUP-CODE-0001",
        )  # fmt: skip
        self.auth.accounts[username] = account
        return SetupCode(account.id, username, "SETUP-CODE-0001", NOW + timedelta(days=7))

    def new_setup_code(self, actor: Actor, operator_id: int) -> SetupCode:
        self._require_admin(actor)
        account = self._account(operator_id)
        account.setup_code = "SETUP-CODE-0002"
        return SetupCode(account.id, account.username, "SETUP-CODE-0002", NOW + timedelta(days=7))

    def disable(self, actor: Actor, operator_id: int) -> Operator:
        self._require_admin(actor)
        account = self._account(operator_id)
        if account.role is Role.ADMIN and len(self._active_admins()) <= 1:
            raise LastAdmin()
        account.disabled = True
        return account.operator()

    def enable(self, actor: Actor, operator_id: int) -> Operator:
        self._require_admin(actor)
        account = self._account(operator_id)
        account.disabled = False
        return account.operator()

    def reset_password(self, actor: Actor, operator_id: int) -> str:
        self._require_admin(actor)
        account = self._account(operator_id)
        account.password = "Temp-Pass-2026!x"
        account.must_change = True
        return account.password

    def reset_mfa(self, actor: Actor, operator_id: int) -> Operator:
        self._require_admin(actor)
        account = self._account(operator_id)
        account.secret = None
        account.recovery = []
        return account.operator()

    def unlock(self, actor: Actor, operator_id: int) -> Operator:
        self._require_admin(actor)
        account = self._account(operator_id)
        account.locked = False
        account.failures = 0
        return account.operator()

    def assign_stores(
        self, actor: Actor, operator_id: int, store_ids: frozenset[int] | set[int]
    ) -> Operator:
        self._require_admin(actor)
        account = self._account(operator_id)
        account.store_ids = frozenset(store_ids)
        return account.operator()

    def set_role(self, actor: Actor, operator_id: int, role: Role) -> Operator:
        self._require_admin(actor)
        account = self._account(operator_id)
        if (
            account.role is Role.ADMIN
            and role is not Role.ADMIN
            and len(self._active_admins()) <= 1
        ):
            raise LastAdmin()
        account.role = role
        return account.operator()


def totp_now(secret: str) -> str:
    return pyotp.TOTP(secret.replace(" ", "")).now()


def actor_replace(actor: Actor, **kw: object) -> Actor:
    return replace(actor, **kw)  # type: ignore[arg-type]
