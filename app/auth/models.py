"""Plain data returned by the auth and operator services (no Qt, immutable)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.auth.rbac import Role


@dataclass(frozen=True)
class Actor:
    """The operator acting in a service call (who is signed in).

    Services check permissions on it (:func:`app.auth.rbac.require`) and write its ``id``
    into the audit log.
    """

    id: int
    username: str
    display_name: str
    role: Role
    store_ids: frozenset[int] = frozenset()
    disabled: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


@dataclass(frozen=True)
class Operator:
    """An operator account as the admin list shows it."""

    id: int
    username: str
    display_name: str
    email: str
    role: Role
    store_ids: frozenset[int]
    disabled: bool
    must_change_password: bool
    mfa_enrolled: bool
    # Set while an admin-created account waits for its owner to redeem the setup code.
    setup_pending: bool
    locked_until: datetime | None
    failed_attempts: int
    created_at: datetime
    password_changed_at: datetime | None
    last_sign_in_at: datetime | None

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    def as_actor(self) -> Actor:
        return Actor(
            id=self.id,
            username=self.username,
            display_name=self.display_name,
            role=self.role,
            store_ids=self.store_ids,
            disabled=self.disabled,
        )


@dataclass(frozen=True)
class StoreRef:
    """A store as the operator admin needs it (assigning stores)."""

    id: int
    name: str


@dataclass(frozen=True)
class Enrollment:
    """A TOTP enrollment in progress: show ``provisioning_uri`` as a QR code (segno) and
    ``totp_secret`` (base32, grouped by :attr:`secret_groups`) for manual entry.

    ``token`` is opaque proof that the password (or setup code) step passed; hand the whole
    object back to :meth:`AuthService.complete_enrollment`.
    """

    operator_id: int
    username: str
    totp_secret: str
    provisioning_uri: str
    token: str = field(repr=False)

    @property
    def secret_groups(self) -> str:
        """The base32 key in groups of four for typing: ``ABCD EFGH …``."""
        s = self.totp_secret
        return " ".join(s[i : i + 4] for i in range(0, len(s), 4))


@dataclass(frozen=True)
class PasswordStep:
    """The password was right; the second factor is next.

    If ``needs_mfa_enrollment`` (an admin reset the operator's MFA), call
    :meth:`AuthService.begin_enrollment` instead of asking for a code.  Valid for a few
    minutes and only once; ``token`` is opaque.
    """

    operator_id: int
    username: str
    needs_mfa_enrollment: bool
    expires_at: datetime
    token: str = field(repr=False)


@dataclass(frozen=True)
class Session:
    """A signed-in operator.

    If ``must_change_password`` (admin reset) or ``password_expired`` (older than the
    maximum age), the UI asks for a new password (:meth:`AuthService.change_password`)
    before showing anything else.
    """

    actor: Actor
    signed_in_at: datetime
    must_change_password: bool = False
    password_expired: bool = False
    used_recovery_code: bool = False
    recovery_codes_left: int = 0
    demo: bool = False

    @property
    def needs_password_change(self) -> bool:
        return self.must_change_password or self.password_expired


@dataclass(frozen=True)
class EnrollmentDone:
    """MFA is active.  ``recovery_codes`` are shown once (only hashes are stored)."""

    recovery_codes: list[str]
    session: Session


@dataclass(frozen=True)
class SetupCode:
    """A one-time code an admin hands to a new operator (shown once, stored hashed)."""

    operator_id: int
    username: str
    code: str
    expires_at: datetime
