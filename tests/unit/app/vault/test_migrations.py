"""Schema migrations: numbered, forward-only, one transaction each, from every version."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from app.errors import DatabaseTooNew
from app.paths import Profile
from app.secrets import SecretStore
from app.vault import migrations
from app.vault.connection import open_connection
from tests.support import MemoryKeyring

LATEST = migrations.latest_version()

# Rows inserted when the database is at (or past) a version; each must survive every later
# migration.  Add a sample here when you add a migration that creates a table.
SAMPLES: dict[int, list[tuple[str, str, tuple[Any, ...]]]] = {
    1: [
        (
            "settings",
            "INSERT INTO settings(key, value, updated_at) VALUES (?, ?, ?)",
            ("sync.interval_minutes", "15", "2026-01-01T00:00:00+00:00"),
        ),
        (
            "stores",
            "INSERT INTO stores(name, created_at) VALUES (?, ?)",
            ("EU shop", "2026-01-01T00:00:00+00:00"),
        ),
    ],
    2: [
        (
            "operators",
            "INSERT INTO operators(username, display_name, email, role, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            ("admin", "Admin", "admin@example.com", "admin", "2026-01-01T00:00:00+00:00"),
        ),
    ],
}


def _schema(conn: Any) -> list[tuple[str, str, str, str | None]]:
    return conn.execute(  # type: ignore[no-any-return]
        "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
    ).fetchall()


def _columns(conn: Any, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})").fetchall()]


def _rows(conn: Any, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    cols = ", ".join(columns)
    return conn.execute(f"SELECT {cols} FROM {table} ORDER BY rowid").fetchall()  # type: ignore[no-any-return]


@pytest.fixture
def key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def fresh_schema(tmp_path: Path, key: bytes) -> list[tuple[str, str, str, str | None]]:
    conn = open_connection(tmp_path / "fresh.db", key)
    try:
        assert migrations.migrate(conn) == LATEST
        return _schema(conn)
    finally:
        conn.close()


def test_migrations_are_numbered_from_one_without_gaps() -> None:
    found = migrations.discover()
    assert [m.version for m in found] == list(range(1, LATEST + 1))
    assert LATEST >= 1
    for mig in found:
        assert mig.sql.strip(), mig.name
        assert "COMMIT" not in mig.sql.upper().split(), f"{mig.name} must not end its transaction"


@pytest.mark.parametrize("start", range(LATEST))
def test_upgrade_from_every_earlier_version(
    tmp_path: Path, key: bytes, fresh_schema: list[Any], start: int
) -> None:
    path = tmp_path / f"at-v{start}.db"
    conn = open_connection(path, key)
    assert migrations.migrate(conn, target=start) == start
    assert migrations.current_version(conn) == start
    inserted: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
    for version in range(1, start + 1):
        for table, sql, params in SAMPLES.get(version, []):
            conn.execute(sql, params)
            cols = _columns(conn, table)
            inserted[table] = (cols, _rows(conn, table, cols))
    conn.close()

    conn = open_connection(path, key)
    try:
        assert migrations.migrate(conn) == LATEST
        assert migrations.current_version(conn) == LATEST
        assert _schema(conn) == fresh_schema
        for table, (cols, rows) in inserted.items():
            assert rows, table
            assert _rows(conn, table, cols) == rows, f"rows of {table} changed"
        assert conn.in_transaction is False
        assert migrations.migrate(conn) == LATEST  # a second run does nothing
        assert _schema(conn) == fresh_schema
    finally:
        conn.close()


def test_every_version_has_sample_data_for_its_new_tables(tmp_path: Path, key: bytes) -> None:
    """A migration that adds a table gets a sample row above, so the upgrade test covers it."""
    conn = open_connection(tmp_path / "samples.db", key)
    try:
        before: set[str] = set()
        sampled = {table for rows in SAMPLES.values() for table, _, _ in rows}
        for version in range(1, min(LATEST, max(SAMPLES)) + 1):
            migrations.migrate(conn, target=version)
            tables = {
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE "
                    "'CREATE VIRTUAL%' AND name NOT LIKE 'sqlite_%'"
                ).fetchall()
            }
            new = tables - before
            before = tables
            assert new & sampled or not new, f"v{version} adds {sorted(new)} without a sample"
    finally:
        conn.close()


def test_database_from_a_newer_version_is_refused(tmp_path: Path, key: bytes) -> None:
    conn = open_connection(tmp_path / "newer.db", key)
    try:
        migrations.migrate(conn)
        conn.execute(f"PRAGMA user_version = {LATEST + 1}")
        schema = _schema(conn)
        with pytest.raises(DatabaseTooNew):
            migrations.migrate(conn)
        assert migrations.current_version(conn) == LATEST + 1
        assert _schema(conn) == schema
    finally:
        conn.close()


def test_vault_open_refuses_a_newer_database(
    profile: Profile, memory_keyring: MemoryKeyring
) -> None:
    from app.bootstrap import open_vault

    store = SecretStore(
        service=profile.keychain_service, backend=memory_keyring, enforce_policy=False
    )
    vault, _ = open_vault(profile, store)
    vault.call(lambda c: c.execute(f"PRAGMA user_version = {LATEST + 3}"))
    vault.close()
    with pytest.raises(DatabaseTooNew):
        open_vault(profile, store)
    # the refused open released the profile: a second attempt is refused the same way
    with pytest.raises(DatabaseTooNew):
        open_vault(profile, store)


def test_a_failing_migration_leaves_the_version_and_schema_unchanged(
    tmp_path: Path, key: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = migrations.discover()
    broken = migrations.Migration(
        LATEST + 1,
        f"v{LATEST + 1:04d}_broken",
        "CREATE TABLE half_done(x INTEGER);\nINSERT INTO no_such_table VALUES (1);",
    )
    monkeypatch.setattr(migrations, "discover", lambda: [*real, broken])
    conn = open_connection(tmp_path / "broken.db", key)
    try:
        assert migrations.migrate(conn, target=LATEST) == LATEST
        schema = _schema(conn)
        with pytest.raises(Exception, match="no_such_table"):
            migrations.migrate(conn)
        assert migrations.current_version(conn) == LATEST
        assert _schema(conn) == schema
        assert conn.in_transaction is False
    finally:
        conn.close()


def test_sign_in_throttle_keeps_operators_and_makes_a_random_name_key(
    tmp_path: Path, key: bytes
) -> None:
    version = next(m.version for m in migrations.discover() if m.name.endswith("sign_in_throttle"))
    keys = []
    for n in range(2):
        conn = open_connection(tmp_path / f"throttle-{n}.db", key)
        try:
            migrations.migrate(conn, target=version - 1)
            _, sql, params = SAMPLES[2][0]
            conn.execute(sql, params)
            migrations.migrate(conn, target=version)
            rows = conn.execute("SELECT username, lockouts FROM operators").fetchall()
            assert rows == [("admin", 0)]
            [(name_key,)] = conn.execute("SELECT key FROM sign_in_name_key").fetchall()
            keys.append(bytes(name_key))
        finally:
            conn.close()
    assert len(keys[0]) == 32 and keys[0] != keys[1]  # one random key per profile
