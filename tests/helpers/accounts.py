"""Operators for the UI tests, made through the real AuthService and OperatorService on
the test vault (fast password hashing), so the dialogs meet the real rules: password
policy, lockout, one use per TOTP step, recovery codes, setup codes.

The only stand-in left is :class:`HeldAuth`, which holds chosen calls open on an event so
a test can look at a dialog's busy state.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from app.auth import totp
from app.auth.models import Session
from app.auth.rbac import Role
from app.auth.service import AuthService
from app.clock import FakeClock
from app.vault import Vault
from tests.helpers.world import World, make_world

PW = "Copper-Kettle-58-Sunrise!"
AGENT_PW = "Quiet-Harbour-77-lantern"


@dataclass
class Enrolled:
    """An operator who finished enrolment: the session it gave, the TOTP secret, and the
    recovery codes."""

    session: Session
    username: str
    password: str
    secret: str
    recovery_codes: list[str]

    @property
    def id(self) -> int:
        return self.session.actor.id


class Accounts:
    """Real auth and operator services over ``vault``, with helpers to put operators in
    the states the dialogs handle."""

    def __init__(self, vault: Vault, clock: FakeClock, *, demo: bool = False) -> None:
        self.world: World = make_world(vault, clock, demo=demo)
        self.clock = clock
        self.auth = self.world.auth
        self.operators = self.world.ops

    def admin(self, username: str = "admin", password: str = PW) -> Enrolled:
        """The first administrator, enrolled."""
        enrollment = self.auth.begin_first_admin(
            username, username.title(), f"{username}@example.com", password
        )
        done = self.auth.complete_enrollment(
            enrollment, totp.code_at(enrollment.totp_secret, self.clock.now())
        )
        return Enrolled(
            done.session, username, password, enrollment.totp_secret, done.recovery_codes
        )

    def agent(self, admin: Enrolled, username: str = "bora", password: str = AGENT_PW) -> Enrolled:
        """An agent added by ``admin`` who redeemed the setup code and enrolled."""
        setup = self.operators.add_operator(
            admin.session.actor,
            username=username,
            display_name=username.title(),
            email=f"{username}@example.com",
            role=Role.AGENT,
        )
        enrollment = self.auth.redeem_setup_code(username, setup.code, password)
        done = self.auth.complete_enrollment(
            enrollment, totp.code_at(enrollment.totp_secret, self.clock.now())
        )
        return Enrolled(
            done.session, username, password, enrollment.totp_secret, done.recovery_codes
        )

    def code(self, secret: str) -> str:
        """A code the service takes now: the clock moves to a fresh 30-second step first,
        since each step's code is accepted once."""
        self.clock.advance(30)
        return totp.code_at(secret, self.clock.now())

    def wrong_code(self, secret: str) -> str:
        """A six-digit code that is valid in no step the service accepts now."""
        now = self.clock.now()
        valid = {totp.code_at(secret, now + timedelta(seconds=30 * d)) for d in (-1, 0, 1)}
        return next(c for c in ("000000", "111111", "222222") if c not in valid)

    def password_works(self, username: str, password: str) -> bool:
        try:
            self.auth.check_password(username, password)
        except Exception:
            return False
        return True


class HeldAuth:
    """The real AuthService with the calls named in ``held`` waiting for :attr:`gate`:
    a dialog can be looked at while its call is still running."""

    def __init__(self, auth: AuthService, *held: str) -> None:
        self._auth = auth
        self._held = set(held)
        self.gate = threading.Event()
        self.waiting = threading.Event()  # set once a held call is waiting

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._auth, name)
        if name not in self._held or not callable(target):
            return target

        def held(*args: Any, **kw: Any) -> Any:
            self.waiting.set()
            self.gate.wait(10)
            return target(*args, **kw)

        return held
