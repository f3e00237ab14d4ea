"""The one permission rule: every service method checks its caller here, inside its own
DB transaction, before it reads or changes anything.

    def do(conn):
        actor = access.current(conn, actor, Permission.VIEW_STORE, store_id=store_id)
        ...

:func:`current` re-reads the operator the ``Actor`` names (it exists, is enabled, has
this role and these stores *now*) and checks the permission on what it read, so a stale
``Actor`` (demoted, disabled or removed since sign-in) or a forged one (a role or store
list the database does not hold) is refused.  For list reads, :func:`visible_stores`
gives the store ids the caller may see.

Background work acts as :data:`SYSTEM`, a principal no operator row can be: it has its
own narrow permissions (:data:`app.auth.rbac.SYSTEM_PERMISSIONS`), needs no sign-in,
and the audit log records its entries with no operator id and ``"system"`` as the actor.
Only the object ``SYSTEM`` itself is the system: an ``Actor`` built with the same fields
is not (checked by identity).

Thread: DB thread (called from inside ``vault.run`` / ``vault.write`` functions).
"""

from __future__ import annotations

from typing import Any

from app.auth.models import Actor
from app.auth.rbac import STORE_SCOPED, SYSTEM_PERMISSIONS, Permission, Role, require
from app.errors import PermissionDenied

Conn = Any

#: The principal of scheduled and background work (sync now; mail polling, purge later).
SYSTEM = Actor(id=-1, username="system", display_name="System", role=Role.SYSTEM)


def audit_actor_id(actor: Actor) -> int | None:
    """The ``actor_id`` an audit entry records: None for the system."""
    return None if actor is SYSTEM else actor.id


def current(
    conn: Conn,
    actor: Actor | None,
    permission: Permission | None = None,
    store_id: int | None = None,
) -> Actor:
    """The caller as stored now, checked for ``permission`` (on ``store_id`` for store
    permissions).  ``permission=None`` only checks that the caller is a signed-in,
    enabled operator (or the system).  Raises :class:`PermissionDenied`, also for no
    ``Actor`` at all (``None``: no session)."""
    if not isinstance(actor, Actor):  # no session: fail closed
        raise PermissionDenied(detail="no signed-in operator")
    if actor is SYSTEM:
        if permission is not None and permission not in SYSTEM_PERMISSIONS:
            raise PermissionDenied(detail=f"the system principal lacks {permission}")
        if permission in STORE_SCOPED and store_id is None:
            raise ValueError(f"{permission} needs a store_id")
        return SYSTEM
    if actor.role is Role.SYSTEM:
        raise PermissionDenied(detail="a copy of the system principal is not the system")
    from app.auth.store import load_actor

    fresh = load_actor(conn, actor.id)
    if fresh is None:
        raise PermissionDenied(detail=f"operator {actor.id} does not exist")
    if fresh.disabled:
        raise PermissionDenied(detail=f"operator {actor.id} is disabled")
    if permission is not None:
        require(fresh, permission, store_id)
    return fresh


def visible_stores(conn: Conn, actor: Actor | None) -> list[int]:
    """The ids of the stores the caller may see now (all for admins and the system)."""
    return current_and_stores(conn, actor)[1]


def current_and_stores(conn: Conn, actor: Actor | None) -> tuple[Actor, list[int]]:
    """:func:`current` (no permission) and :func:`visible_stores` with one re-read of the
    caller: for a reader that checks both at the start of its job."""
    fresh = current(conn, actor)
    all_ids = [int(r[0]) for r in conn.execute("SELECT id FROM stores ORDER BY id")]
    if fresh is SYSTEM or fresh.role is Role.ADMIN:
        return fresh, all_ids
    return fresh, [s for s in all_ids if s in fresh.store_ids]
