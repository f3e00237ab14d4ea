"""Roles and permissions: what each role may do.

Services do not call :func:`require` on the ``Actor`` they were given: they call
:func:`app.access.current` inside their DB transaction, which re-reads the operator and
then applies these tables to what it read (never only in the UI)::

    actor = access.current(conn, actor, Permission.VIEW_STORE, store_id=order.store_id)

``admin`` may do everything on every store; ``agent`` may only view, change and sync the
data of the stores it is a member of; the system principal (:data:`app.access.SYSTEM`)
only :data:`SYSTEM_PERMISSIONS`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from app.errors import PermissionDenied

if TYPE_CHECKING:
    from app.auth.models import Actor


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"
    #: Only :data:`app.access.SYSTEM` has it; no operator row can (the table's CHECK).
    SYSTEM = "system"


#: The roles an operator account can have (never ``SYSTEM``).
OPERATOR_ROLES = (Role.ADMIN, Role.AGENT)


class Permission(StrEnum):
    MANAGE_OPERATORS = "manage_operators"
    MANAGE_SETTINGS = "manage_settings"
    MANAGE_CREDENTIALS = "manage_credentials"
    VIEW_AUDIT = "view_audit"
    EXPORT_AUDIT = "export_audit"
    # Deletion requests, erasing a buyer's data, access/portability exports (admins).
    MANAGE_PRIVACY = "manage_privacy"
    # The PII purge (the system principal's scheduled job; admins may run it too).
    PURGE_PII = "purge_pii"
    # Background work of the system principal (store-scoped: on every store).
    SYNC_ORDERS = "sync_orders"
    FETCH_MAIL = "fetch_mail"
    # Store-scoped: need ``store_id``.
    VIEW_STORE = "view_store"
    CHANGE_STORE_DATA = "change_store_data"
    REPLY_TO_BUYERS = "reply_to_buyers"  # drafts, sending, "no response needed"
    SHIP_ORDERS = "ship_orders"  # rates, buying, printing and voiding labels, package presets


STORE_SCOPED = frozenset(
    {
        Permission.VIEW_STORE,
        Permission.CHANGE_STORE_DATA,
        Permission.SYNC_ORDERS,
        Permission.FETCH_MAIL,
        Permission.REPLY_TO_BUYERS,
        Permission.SHIP_ORDERS,
    }
)

#: What the system principal (scheduled and background work) may do, on every store.
SYSTEM_PERMISSIONS = frozenset(
    {Permission.SYNC_ORDERS, Permission.FETCH_MAIL, Permission.VIEW_STORE, Permission.PURGE_PII}
)

# What each role may do beyond store membership.  Admins have everything an operator can.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.AGENT: STORE_SCOPED,
    Role.SYSTEM: SYSTEM_PERMISSIONS,
}


def allowed(actor: Actor, permission: Permission, store_id: int | None = None) -> bool:
    """True if ``actor`` may do ``permission`` (on ``store_id`` for store permissions)."""
    if actor.disabled:
        return False
    if permission not in ROLE_PERMISSIONS[actor.role]:
        return False
    if permission in STORE_SCOPED:
        if store_id is None:
            raise ValueError(f"{permission} needs a store_id")
        return actor.role in (Role.ADMIN, Role.SYSTEM) or store_id in actor.store_ids
    return True


def require(actor: Actor, permission: Permission, store_id: int | None = None) -> None:
    """Raise :class:`PermissionDenied` unless ``actor`` may do ``permission``."""
    if not allowed(actor, permission, store_id):
        raise PermissionDenied(
            detail=f"operator {actor.id} ({actor.role}) lacks {permission}"
            + (f" on store {store_id}" if store_id is not None else "")
        )


def visible_store_ids(actor: Actor, all_store_ids: list[int]) -> list[int]:
    """The stores ``actor`` (as re-read by :func:`app.access.current`) may see, for list
    queries (``WHERE store_id IN (...)``): all for admins and the system principal."""
    if actor.disabled:
        return []
    if actor.role in (Role.ADMIN, Role.SYSTEM):
        return list(all_store_ids)
    return [s for s in all_store_ids if s in actor.store_ids]
