"""The vault: raw key, pragmas, file modes, the DB thread, locking, disk errors."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlcipher3

from app.bootstrap import open_vault
from app.errors import (
    DatabaseCorrupted,
    DatabaseInUse,
    DatabaseKeyMissing,
    DatabaseKeyWrong,
    DiskFull,
    ProfileReadOnly,
)
from app.paths import Profile
from app.secrets import SecretStore
from app.vault import KeyMode, Vault
from app.vault.connection import key_pragma, open_connection
from app.vault.keys import DB_KEY
from tests.support import MemoryKeyring, service_missing


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _store(profile: Profile, backend: MemoryKeyring) -> SecretStore:
    return SecretStore.for_profile(profile, backend=backend, enforce_policy=False)


def _add_rows(vault: Vault, count: int, size: int = 200) -> None:
    def do(conn: Any) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS t(n INTEGER PRIMARY KEY, b BLOB)")
        for _ in range(count):
            conn.execute("INSERT INTO t(b) VALUES (randomblob(?))", (size,))

    vault.call_write(do)


# --- key ----------------------------------------------------------------------------------


def test_first_open_stores_a_32_byte_key_in_the_keychain(
    profile: Profile, memory_keyring: MemoryKeyring
) -> None:
    vault, key = open_vault(profile, _store(profile, memory_keyring))
    vault.close()
    assert len(key) == 32
    assert memory_keyring.store[(profile.keychain_service, DB_KEY)] == key.hex()
    assert vault.mode is KeyMode.KEYCHAIN


def test_two_profiles_never_share_a_key(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    a, b = Profile(tmp_path / "a"), Profile(tmp_path / "b")
    va, ka = open_vault(a, _store(a, memory_keyring))
    vb, kb = open_vault(b, _store(b, memory_keyring))
    va.close()
    vb.close()
    assert a.keychain_service != b.keychain_service
    assert a.keychain_service == f"muttefik-desk:profile:{a.ident}"  # not the path
    assert ka != kb


def test_file_is_encrypted_and_does_not_open_without_the_key(
    profile: Profile, vault: Vault
) -> None:
    vault.call_write(lambda c: c.execute("INSERT INTO stores(name, created_at) VALUES ('x', 'y')"))
    vault.close()
    header = profile.db_path.read_bytes()[:16]
    assert header != b"SQLite format 3\x00"
    plain = sqlite3.connect(profile.db_path)
    with pytest.raises(sqlite3.DatabaseError, match="not a database"):
        plain.execute("SELECT count(*) FROM sqlite_master").fetchone()
    plain.close()
    nokey = sqlcipher3.connect(str(profile.db_path))
    with pytest.raises(sqlcipher3.DatabaseError, match="not a database"):
        nokey.execute("SELECT count(*) FROM sqlite_master").fetchone()
    nokey.close()


def test_raw_key_pragma_opens_and_a_wrong_key_is_database_key_wrong(
    profile: Profile, memory_keyring: MemoryKeyring
) -> None:
    vault, key = open_vault(profile, _store(profile, memory_keyring))
    vault.close()
    assert key_pragma(key) == f"PRAGMA key = \"x'{key.hex()}'\""
    conn = sqlcipher3.connect(str(profile.db_path))
    conn.execute(key_pragma(key))
    assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
    conn.close()
    wrong = bytes(b ^ 0x01 for b in key)
    with pytest.raises(DatabaseKeyWrong) as info:
        open_connection(profile.db_path, wrong)
    assert key.hex() not in str(info.value) and wrong.hex() not in str(info.value)


def test_wrong_key_in_keychain_is_database_key_wrong(
    profile: Profile, memory_keyring: MemoryKeyring
) -> None:
    vault, _key = open_vault(profile, _store(profile, memory_keyring))
    vault.close()
    before = profile.db_path.read_bytes()
    memory_keyring.store[(profile.keychain_service, DB_KEY)] = os.urandom(32).hex()
    with pytest.raises(DatabaseKeyWrong):
        open_vault(profile, _store(profile, memory_keyring))
    assert profile.db_path.read_bytes() == before


def test_missing_key_never_creates_a_fresh_database(
    profile: Profile, memory_keyring: MemoryKeyring
) -> None:
    vault, _ = open_vault(profile, _store(profile, memory_keyring))
    _add_rows(vault, 5)
    vault.close()
    before = profile.db_path.read_bytes()
    memory_keyring.store.clear()
    with pytest.raises(DatabaseKeyMissing):
        open_vault(profile, _store(profile, memory_keyring))
    assert profile.db_path.read_bytes() == before
    assert memory_keyring.store == {}  # no new key was generated for the existing file


# --- pragmas and file modes -----------------------------------------------------------------


def test_every_open_sets_wal_full_sync_foreign_keys_secure_delete(
    profile: Profile, memory_keyring: MemoryKeyring
) -> None:
    for _ in range(2):  # first run and a reopen
        vault, _ = open_vault(profile, _store(profile, memory_keyring))
        try:
            got = vault.call(
                lambda c: {
                    p: c.execute(f"PRAGMA {p}").fetchone()[0]
                    for p in ("journal_mode", "synchronous", "foreign_keys", "secure_delete")
                }
            )
        finally:
            vault.close()
        assert got == {
            "journal_mode": "wal",
            "synchronous": 2,
            "foreign_keys": 1,
            "secure_delete": 1,
        }


def test_foreign_keys_are_enforced(vault: Vault) -> None:
    def bad(conn: Any) -> None:
        conn.execute("CREATE TABLE parent(id INTEGER PRIMARY KEY)")
        conn.execute("CREATE TABLE child(p INTEGER REFERENCES parent(id))")
        conn.execute("INSERT INTO child(p) VALUES (42)")

    with pytest.raises(sqlcipher3.IntegrityError, match="FOREIGN KEY"):
        vault.call_write(bad)


def test_files_are_private(profile: Profile, vault: Vault) -> None:
    _add_rows(vault, 10)
    files = [profile.db_path, profile.db_path.with_name("vault.db-wal")]
    files.append(profile.db_path.with_name("vault.db-shm"))
    for path in files:
        assert path.exists(), path.name
        assert _mode(path) == 0o600, path.name
    assert _mode(profile.lock_path) == 0o600
    assert _mode(profile.root) == 0o700


def test_profile_dir_created_0700_even_with_a_loose_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        p = Profile(tmp_path / "deep" / "profile")
        p.ensure()
    finally:
        os.umask(old)
    assert _mode(p.root) == 0o700


def test_loose_profile_dir_is_tightened(tmp_path: Path) -> None:
    p = Profile(tmp_path / "loose")
    p.root.mkdir(mode=0o755)
    os.chmod(p.root, 0o755)
    p.ensure()
    assert _mode(p.root) == 0o700


# --- the DB thread -------------------------------------------------------------------------


def test_work_runs_on_the_single_db_thread(vault: Vault) -> None:
    seen = {vault.call(lambda c: threading.get_ident()) for _ in range(5)}
    assert seen == {vault.db_thread_id}
    assert vault.db_thread_id != threading.get_ident()


def test_connection_used_from_another_thread_raises(vault: Vault) -> None:
    conn = vault.call(lambda c: c)
    with pytest.raises(sqlcipher3.ProgrammingError, match="thread"):
        conn.execute("SELECT 1")


def test_write_rolls_back_on_error(vault: Vault) -> None:
    def failing(conn: Any) -> None:
        conn.execute("INSERT INTO stores(name, created_at) VALUES ('a', 'now')")
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        vault.call_write(failing)
    assert vault.call(lambda c: c.execute("SELECT count(*) FROM stores").fetchone()[0]) == 0
    assert vault.call(lambda c: c.in_transaction) is False


def test_closed_vault_refuses_work(profile: Profile, memory_keyring: MemoryKeyring) -> None:
    vault, _ = open_vault(profile, _store(profile, memory_keyring))
    vault.close()
    with pytest.raises(RuntimeError, match="closed"):
        vault.run(lambda c: None)


# --- one process per profile ---------------------------------------------------------------


def test_second_vault_on_the_same_profile_is_database_in_use(
    profile: Profile, memory_keyring: MemoryKeyring, vault: Vault
) -> None:
    with pytest.raises(DatabaseInUse):
        open_vault(profile, _store(profile, memory_keyring))
    # the first vault is unaffected
    assert vault.call(lambda c: c.execute("SELECT 1").fetchone()[0]) == 1


def test_profile_lock_is_released_on_close(profile: Profile, memory_keyring: MemoryKeyring) -> None:
    first, _ = open_vault(profile, _store(profile, memory_keyring))
    first.close()
    second, _ = open_vault(profile, _store(profile, memory_keyring))
    second.close()


def test_another_process_holding_the_profile_is_database_in_use(
    profile: Profile, memory_keyring: MemoryKeyring, tmp_path: Path
) -> None:
    import sys

    script = (
        "import fcntl, os, sys\n"
        "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "print('locked', flush=True)\n"
        "sys.stdin.read()\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(profile.lock_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        with pytest.raises(DatabaseInUse):
            open_vault(profile, _store(profile, memory_keyring))
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=10)


# --- disk full, read-only profile ----------------------------------------------------------


@contextlib.contextmanager
def _tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A small tmpfs at ``where`` (needs root: CI runs as root)."""
    where.mkdir(mode=0o700)
    if os.geteuid() != 0:
        service_missing("mounting a small tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        service_missing(f"cannot mount a tmpfs: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.mark.expect_log("muttefik.db", "ERROR", "closing the database failed")
def test_disk_full_is_disk_full_and_the_vault_stays_usable(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    with _tmpfs(
        tmp_path / "small", "1m"
    ) as mount:  # a fresh profile (the schema grows with each migration) plus a few rows
        p = Profile(mount / "profile")
        vault, _ = open_vault(p, _store(p, memory_keyring))
        try:
            _add_rows(vault, 1)
            committed = 1
            with pytest.raises(DiskFull) as info:
                for _ in range(1000):
                    _add_rows(vault, 1, size=2000)
                    committed += 1
            assert "space" in info.value.message
            assert vault.call(lambda c: c.in_transaction) is False
            count = vault.call(lambda c: c.execute("SELECT count(*) FROM t").fetchone()[0])
            assert count == committed
        finally:
            vault.close()


def test_read_only_profile_is_profile_read_only(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    with _tmpfs(tmp_path / "ro", "2m") as mount:
        p = Profile(mount / "profile")
        vault, _ = open_vault(p, _store(p, memory_keyring))
        vault.close()
        before = p.db_path.read_bytes()
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        with pytest.raises(ProfileReadOnly):
            open_vault(p, _store(p, memory_keyring))
        assert p.db_path.read_bytes() == before


def test_profile_in_a_read_only_place_cannot_be_created(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    with _tmpfs(tmp_path / "ro2", "1m") as mount:
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        p = Profile(mount / "new-profile")
        with pytest.raises(ProfileReadOnly):
            open_vault(p, _store(p, memory_keyring))


def test_damage_beyond_the_first_page_is_corrupted_not_wrong_key(
    profile: Profile, memory_keyring: MemoryKeyring
) -> None:
    vault, _ = open_vault(profile, _store(profile, memory_keyring))
    _add_rows(vault, 200)
    vault.close()
    data = bytearray(profile.db_path.read_bytes())
    for page_start in range(4096, len(data), 4096):  # every page but the first
        data[page_start + 100] ^= 0xFF
    profile.db_path.write_bytes(bytes(data))
    with pytest.raises(DatabaseCorrupted):
        vault, _ = open_vault(profile, _store(profile, memory_keyring))
        try:
            vault.call(lambda c: c.execute("SELECT count(*) FROM t").fetchone())
        finally:
            vault.close()
