"""A world of real services on a test vault (fast password hashing), for the auth,
operator and audit tests: ``make_world`` and the passwords its operators use."""

from __future__ import annotations

from dataclasses import dataclass

from app.audit import AuditLog, make_audit_log
from app.audit_service import AuditService
from app.auth import totp
from app.auth.hashing import fast_hashing_for_tests
from app.auth.models import Actor, Session
from app.auth.rbac import Role
from app.auth.service import AuthService, OperatorService
from app.clock import FakeClock
from app.notices import Notices
from app.secrets import SecretStore
from app.vault import Vault
from tests.support import AUDIT_TEST_KEY

ADMIN_PW = "Velvet-Orbit-73-Lantern!"
AGENT_PW = "Quartz-Meadow-91-Falcon?"
NEW_PW = "Copper+Harbor+58+Willow"


@dataclass
class World:
    vault: Vault
    clock: FakeClock
    log: AuditLog
    auth: AuthService
    ops: OperatorService
    audit: AuditService
    notices: Notices

    def code(self, secret: str) -> str:
        return totp.code_at(secret, self.clock.now())

    def create_admin(
        self,
        username: str = "admin",
        display_name: str = "Ayse Yilmaz",
        email: str = "ayse@example.com",
        password: str = ADMIN_PW,
    ) -> tuple[Session, str, list[str]]:
        enrollment = self.auth.begin_first_admin(username, display_name, email, password)
        done = self.auth.complete_enrollment(enrollment, self.code(enrollment.totp_secret))
        return done.session, enrollment.totp_secret, done.recovery_codes

    def sign_in(self, username: str, password: str, secret: str) -> Session:
        self.clock.advance(30)  # a fresh time step: the last one was used
        step = self.auth.check_password(username, password)
        return self.auth.check_second_factor(step, self.code(secret))

    def add_operator(
        self,
        admin: Actor,
        username: str,
        *,
        role: Role = Role.AGENT,
        stores: frozenset[int] = frozenset(),
        display_name: str = "Bora Kaya",
        email: str = "bora@example.com",
        password: str = AGENT_PW,
    ) -> tuple[Session, str]:
        setup = self.ops.add_operator(
            admin,
            username=username,
            display_name=display_name,
            email=email,
            role=role,
            store_ids=stores,
        )
        enrollment = self.auth.redeem_setup_code(username, setup.code, password)
        done = self.auth.complete_enrollment(enrollment, self.code(enrollment.totp_secret))
        return done.session, enrollment.totp_secret

    def add_store(self, name: str) -> int:
        def do(conn: object) -> int:
            cur = conn.execute(  # type: ignore[attr-defined]
                "INSERT INTO stores(name, created_at) VALUES (?, ?)", (name, "2026-01-01")
            )
            return int(cur.lastrowid)

        return self.vault.call_write(do)

    def audit_rows(self) -> list[tuple[object, ...]]:
        return self.vault.call(
            lambda conn: conn.execute("SELECT * FROM audit_log ORDER BY seq").fetchall()
        )

    def actions(self) -> list[str]:
        return [str(r[3]) for r in self.audit_rows()]


def make_world(
    vault: Vault, clock: FakeClock, *, demo: bool = False, secrets: SecretStore | None = None
) -> World:
    """``secrets``: also record the audit head in the keychain, as the app does."""
    key = vault.audit_key or AUDIT_TEST_KEY
    if secrets is not None:
        log = make_audit_log(vault, secrets, clock=clock, key=key)
    else:
        log = AuditLog(clock=clock, key=key, after_commit=vault.after_commit)
    notices = Notices()
    return World(
        vault=vault,
        clock=clock,
        log=log,
        auth=AuthService(
            vault=vault,
            clock=clock,
            audit=log,
            demo=demo,
            hasher=fast_hashing_for_tests(),
            notices=notices,
        ),
        ops=OperatorService(
            vault=vault, clock=clock, audit=log, hasher=fast_hashing_for_tests(), notices=notices
        ),
        audit=AuditService(vault=vault, audit=log),
        notices=notices,
    )
