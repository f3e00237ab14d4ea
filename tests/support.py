"""Test helpers shared by unit and integration tests (no Qt here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import keyring.errors
import pytest
from keyring.backend import KeyringBackend

from app.audit import Action, AuditLog
from app.vault import Vault

ROOT = Path(__file__).resolve().parents[1]
REQUIRE_SERVICES = os.environ.get("MUTTEFIK_REQUIRE_SERVICES") == "1"


def service_missing(reason: str) -> None:
    """Skip locally, fail in CI (MUTTEFIK_REQUIRE_SERVICES=1), when a real service is absent."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


class MemoryKeyring(KeyringBackend):
    """In-memory keyring for unit tests (never used by the app itself)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # keyring's own, unannotated
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
    settle(vault)


def settle(vault: Vault) -> None:
    """Wait until the DB thread's queue and the audit anchor writer are idle."""
    from app import audit_anchor

    vault.call(lambda conn: None)
    audit_anchor.flush()


def run_sql(vault: Vault, *statements: str) -> None:
    """Run raw SQL in one write, as an attacker holding the database key could."""

    def do(conn: Any) -> None:
        for sql in statements:
            conn.execute(sql)

    vault.call_write(do)


# A process that rekeys and dies before any checkpoint (os._exit skips SQLite's cleanup
# just as SIGKILL does): the new key is committed in the WAL, the main file is unchanged.
REKEY_AND_DIE = """
import os, sys
from pathlib import Path
from app.vault.connection import key_pragma, open_connection
conn = open_connection(Path(sys.argv[1]), bytes.fromhex(sys.argv[2]))
conn.execute("PRAGMA wal_autocheckpoint = 0")
conn.execute(key_pragma(bytes.fromhex(sys.argv[3])).replace("PRAGMA key", "PRAGMA rekey", 1))
conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
os._exit(0)
"""


def run_script(script: str, *args: str) -> None:
    """Run ``script`` with ``python -c`` in the repository (on PYTHONPATH); it must succeed."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-c", script, *args], check=True, env=env, cwd=ROOT)
