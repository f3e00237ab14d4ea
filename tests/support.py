"""Test helpers shared by unit and integration tests (no Qt here)."""

from __future__ import annotations

import os
from typing import Any

import keyring.errors
import pytest
from keyring.backend import KeyringBackend

from app.audit import Action, AuditLog
from app.vault import Vault

REQUIRE_SERVICES = os.environ.get("MUTTEFIK_REQUIRE_SERVICES") == "1"


def service_missing(reason: str) -> None:
    """Skip locally, fail in CI (MUTTEFIK_REQUIRE_SERVICES=1), when a real service is absent."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


class MemoryKeyring(KeyringBackend):
    """In-memory keyring for unit tests (never used by the app itself)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}
        self.locked = False

    def get_password(self, service: str, username: str) -> str | None:
        if self.locked:
            raise keyring.errors.KeyringLocked("locked")
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.locked:
            raise keyring.errors.KeyringLocked("locked")
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.store:
            raise keyring.errors.PasswordDeleteError("not found")
        del self.store[(service, username)]


# The audit key for tests that build an AuditLog themselves (the app's comes from the
# keychain or the passphrase; see app/audit.py).
AUDIT_TEST_KEY = bytes(range(32))


def append_entries(vault: Vault, log: AuditLog, n: int) -> None:
    """Append ``n`` settings-changed entries through ``log`` in one write."""

    def do(conn: Any) -> None:
        for i in range(n):
            log.append(
                conn,
                actor_id=1,
                action=Action.SETTINGS_CHANGED,
                object_type="setting",
                object_id="sync.interval_minutes",
                details={"key": "sync.interval_minutes", "old": i, "new": i + 1},
            )

    vault.call_write(do)


def run_sql(vault: Vault, *statements: str) -> None:
    """Run raw SQL in one write, as an attacker holding the database key could."""

    def do(conn: Any) -> None:
        for sql in statements:
            conn.execute(sql)

    vault.call_write(do)
