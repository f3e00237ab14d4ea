"""Honest integrity checks: the WAL is taken into account, a rekey left in the WAL is not
"damage", the old key is kept until the main file is verified, damage is summarised."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

import app.cli.vault as commands
from app.bootstrap import open_vault, resolve_key
from app.cli import main
from app.errors import KeyChangeUnfinished
from app.paths import Profile
from app.secrets import SecretStore
from app.vault import passphrase as pp
from app.vault.connection import can_open, open_connection
from app.vault.keys import DB_KEY, DB_KEY_PENDING
from app.vault.rotate import rotate_keychain_key
from app.vault.wal import wal_path
from tests.support import REKEY_AND_DIE, MemoryKeyring, run_script

PAGE_SIZE = 4096


def _fill(profile: Profile, store: SecretStore, rows: int = 300) -> bytes:
    vault, key = open_vault(profile, store)

    def fill(conn: Any) -> None:
        conn.execute("CREATE TABLE t(n INTEGER PRIMARY KEY, b BLOB)")
        conn.execute("CREATE INDEX t_b ON t(b)")
        for _ in range(rows):
            conn.execute("INSERT INTO t(b) VALUES (randomblob(500))")

    vault.call_write(fill)
    vault.close()
    return key


def _rows(profile: Profile, key: bytes) -> int:
    conn = open_connection(profile.db_path, key, readonly=True)
    try:
        return int(conn.execute("SELECT count(*) FROM t").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
def rekey_crashed(
    profile: Profile, store: SecretStore, memory_keyring: MemoryKeyring
) -> Iterator[tuple[bytes, bytes]]:
    """A keychain rotation killed right after PRAGMA rekey committed: (old, new) keys."""
    old = _fill(profile, store)
    new = os.urandom(32)
    store.set(DB_KEY_PENDING, new.hex())
    run_script(REKEY_AND_DIE, str(profile.db_path), old.hex(), new.hex())
    assert wal_path(profile.db_path).stat().st_size > 0
    assert not can_open(profile.db_path, old)  # page 1 in the WAL is under the new key
    yield old, new


def _cli(profile: Profile, *args: str) -> int:
    return main(["--profile", str(profile.root), *args])


def test_check_after_a_rekey_left_in_the_wal_finds_the_data_intact(
    profile: Profile,
    rekey_crashed: tuple[bytes, bytes],
    memory_keyring: MemoryKeyring,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _old, new = rekey_crashed
    assert _cli(profile, "check") == 0
    out = capsys.readouterr().out
    assert "passed both integrity checks" in out
    assert "damaged" not in out
    # the rotation was finished on the way: main file under the new key, keychain tidy
    assert memory_keyring.store[(profile.keychain_service, DB_KEY)] == new.hex()
    assert (profile.keychain_service, DB_KEY_PENDING) not in memory_keyring.store
    assert _rows(profile, new) == 300


@pytest.mark.expect_log("muttefik.db", "WARNING", "WAL could not be checkpointed")
@pytest.mark.expect_log("muttefik.db", "WARNING", "interrupted key rotation")
def test_the_old_key_stays_until_the_main_file_is_verified_under_the_new_one(
    profile: Profile, rekey_crashed: tuple[bytes, bytes], memory_keyring: MemoryKeyring
) -> None:
    old, new = rekey_crashed
    store = SecretStore(
        service=profile.keychain_service, backend=memory_keyring, enforce_policy=False
    )
    # Another reader holds the WAL, so it cannot be checkpointed into the main file yet.
    reader = open_connection(profile.db_path, new, readonly=True)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM t").fetchone()
    try:
        _mode, key = resolve_key(profile, store)
        assert key == new
        assert memory_keyring.store[(profile.keychain_service, DB_KEY)] == old.hex()
        assert memory_keyring.store[(profile.keychain_service, DB_KEY_PENDING)] == new.hex()
    finally:
        reader.close()
    vault, key = open_vault(profile, store)
    vault.close()
    assert key == new
    assert memory_keyring.store[(profile.keychain_service, DB_KEY)] == new.hex()
    assert (profile.keychain_service, DB_KEY_PENDING) not in memory_keyring.store


def test_rotation_keeps_the_old_key_when_the_main_file_cannot_be_verified(
    profile: Profile, store: SecretStore, memory_keyring: MemoryKeyring
) -> None:
    old = _fill(profile, store)
    vault, _ = open_vault(profile, store)
    reader = open_connection(profile.db_path, old, readonly=True)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM t").fetchone()  # pins the WAL: no TRUNCATE
    try:
        with pytest.raises(KeyChangeUnfinished):
            rotate_keychain_key(vault, store)
    finally:
        reader.close()
    new = bytes.fromhex(memory_keyring.store[(profile.keychain_service, DB_KEY_PENDING)])
    assert memory_keyring.store[(profile.keychain_service, DB_KEY)] == old.hex()
    vault.close()  # a clean close checkpoints: the file is now wholly under the new key
    vault, key = open_vault(profile, store)
    vault.close()
    assert key == new
    assert memory_keyring.store[(profile.keychain_service, DB_KEY)] == new.hex()
    assert (profile.keychain_service, DB_KEY_PENDING) not in memory_keyring.store


@pytest.mark.expect_log("muttefik.db", "WARNING", "no usable keychain")
@pytest.mark.expect_log("muttefik.db", "WARNING", "WAL could not be checkpointed")
@pytest.mark.expect_log("muttefik.db", "WARNING", "interrupted passphrase change")
def test_passphrase_rotation_left_in_the_wal_checks_clean_and_keeps_the_old_params(
    profile: Profile, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from keyring.backends.fail import Keyring as FailKeyring

    no_keychain = SecretStore(service=profile.keychain_service, backend=FailKeyring())
    monkeypatch.setattr(commands, "secret_store_for", lambda p: no_keychain)
    vault, old = open_vault(profile, no_keychain, passphrase=lambda new: "old passphrase 12")
    vault.call_write(lambda c: c.execute("CREATE TABLE t(n INTEGER PRIMARY KEY, b BLOB)"))
    vault.close()
    params = pp.KdfParams.new()
    pp.save(pp.pending_path(profile.kdf_path), params)
    new = params.derive("new passphrase 12")
    run_script(REKEY_AND_DIE, str(profile.db_path), old.hex(), new.hex())
    old_params = profile.kdf_path.read_bytes()

    monkeypatch.setattr(commands, "ask_passphrase", lambda new=False: "new passphrase 12")
    # A reader pins the WAL: the pending parameters must not replace the old ones yet.
    reader = open_connection(profile.db_path, new, readonly=True)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM t").fetchone()
    try:
        resolve_key(profile, no_keychain, passphrase=lambda n: "new passphrase 12")
        assert profile.kdf_path.read_bytes() == old_params
        assert pp.pending_path(profile.kdf_path).exists()
    finally:
        reader.close()
    assert _cli(profile, "check") == 0
    assert "passed both integrity checks" in capsys.readouterr().out
    assert not pp.pending_path(profile.kdf_path).exists()
    assert profile.kdf_path.read_bytes() != old_params


def test_check_summarises_damage_without_the_cascade(
    profile: Profile, store: SecretStore, capsys: pytest.CaptureFixture[str]
) -> None:
    _fill(profile, store, rows=2000)
    page = 6
    with open(profile.db_path, "r+b") as fh:
        fh.seek((page - 1) * PAGE_SIZE + 100)
        byte = fh.read(1)
        fh.seek((page - 1) * PAGE_SIZE + 100)
        fh.write(bytes([byte[0] ^ 0x01]))
    assert _cli(profile, "check") == 1
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert "1 damaged page" in first and f"first damaged page: {page}" in first
    assert "never used" not in out
    assert len(out.splitlines()) <= 8, out


def test_when_the_wal_cannot_be_settled_the_check_says_so_instead_of_crying_damage(
    profile: Profile, rekey_crashed: tuple[bytes, bytes]
) -> None:
    from app.vault.check import run_checks

    _old, new = rekey_crashed
    result = run_checks(profile, new, settle_wal=lambda: False)  # e.g. a read-only folder
    assert result.ok, result.problems[:3]
    assert result.notes and "newer copies in the change log" in result.notes[0]
    assert wal_path(profile.db_path).stat().st_size > 0  # nothing was written


def test_the_wal_is_emptied_after_a_large_write_and_when_idle(
    profile: Profile, store: SecretStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import app.vault.db as db

    vault, _key = open_vault(profile, store)
    try:
        vault.call_write(lambda c: c.execute("CREATE TABLE t(n INTEGER PRIMARY KEY, b BLOB)"))
        vault.checkpoint().result()
        monkeypatch.setattr(db, "WAL_TRUNCATE_BYTES", 64 * 1024)
        monkeypatch.setattr(db, "IDLE_CHECKPOINT_SECONDS", 3600.0)  # only the size rule
        vault.call_write(lambda c: c.execute("INSERT INTO t(b) VALUES (randomblob(200000))"))
        vault.call(lambda c: None)  # runs after the checkpoint queued behind the write
        assert wal_path(profile.db_path).stat().st_size == 0

        monkeypatch.setattr(db, "WAL_TRUNCATE_BYTES", 1 << 40)
        monkeypatch.setattr(db, "IDLE_CHECKPOINT_SECONDS", 0.05)
        queued = threading.Event()
        real_queue = db.Vault._queue_checkpoint

        def queue(self: db.Vault) -> None:
            real_queue(self)
            queued.set()

        monkeypatch.setattr(db.Vault, "_queue_checkpoint", queue)
        vault.call_write(lambda c: c.execute("INSERT INTO t(b) VALUES (randomblob(100))"))
        assert wal_path(profile.db_path).stat().st_size > 0
        assert queued.wait(timeout=10)
        vault.call(lambda c: None)
        assert wal_path(profile.db_path).stat().st_size == 0
    finally:
        vault.close()
    assert not wal_path(profile.db_path).exists() or wal_path(profile.db_path).stat().st_size == 0
