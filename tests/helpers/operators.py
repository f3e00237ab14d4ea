"""Operator rows for tests of services that check their caller (``app.access.current``).

A test that acts as ``Actor(id=1, role=ADMIN)`` needs that operator in the vault now:
:func:`put_operator` writes the row (and its store memberships) the ``Actor`` describes,
without passwords or MFA, and returns the ``Actor``.
"""

from __future__ import annotations

from typing import Any

from app.auth.models import Actor
from app.vault import Vault

CREATED = "2026-01-01T00:00:00+00:00"


def put_operator(vault: Vault, actor: Actor) -> Actor:
    """Insert or overwrite the operator ``actor`` names (id, username, role, disabled,
    stores: the stores must exist).  Returns ``actor``."""

    def write(conn: Any) -> None:
        conn.execute(
            "INSERT INTO operators(id, username, display_name, email, role, disabled, "
            "created_at) VALUES (?, ?, ?, '', ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
            "username = excluded.username, role = excluded.role, disabled = excluded.disabled",
            (
                actor.id,
                actor.username,
                actor.display_name,
                str(actor.role),
                int(actor.disabled),
                CREATED,
            ),
        )
        conn.execute("DELETE FROM operator_stores WHERE operator_id = ?", (actor.id,))
        conn.executemany(
            "INSERT INTO operator_stores(operator_id, store_id) VALUES (?, ?)",
            [(actor.id, s) for s in sorted(actor.store_ids)],
        )

    vault.call_write(write)
    return actor
