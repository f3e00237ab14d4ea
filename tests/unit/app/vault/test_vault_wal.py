"""The WAL reader, on real WAL files written by SQLCipher, and what check makes of them."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

import app.cli.vault as commands
from app.cli import main
from app.paths import Profile
from app.secrets import SecretStore
from app.vault import wal
from app.vault.connection import open_connection
from app.vault.keys import DB_KEY
from tests.support import MemoryKeyring, run_script

COMMITS = 12

# Commits numbered rows (one page or more each) and dies with the WAL unchecked:
# os._exit skips SQLite's close, as SIGKILL would.
_WRITE_AND_DIE = """
import os, sys
from pathlib import Path
from app.vault.connection import open_connection
conn = open_connection(Path(sys.argv[1]), bytes.fromhex(sys.argv[2]))
conn.execute("PRAGMA wal_autocheckpoint = 0")
conn.execute("CREATE TABLE IF NOT EXISTS t(n INTEGER PRIMARY KEY, b BLOB)")
conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
for n in range(1, int(sys.argv[3]) + 1):
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO t VALUES (?, randomblob(1500))", (n,))
    conn.execute("COMMIT")
os._exit(0)
"""


def _write_and_die(db: Path, key: bytes, commits: int = COMMITS) -> bytes:
    run_script(_WRITE_AND_DIE, str(db), key.hex(), str(commits))
    return wal.wal_path(db).read_bytes()


@pytest.fixture
def real_wal(tmp_path: Path) -> tuple[Path, bytes, bytes]:
    db = tmp_path / "vault.db"
    key = os.urandom(32)
    return db, key, _write_and_die(db, key)


def _frame_size(data: bytes) -> int:
    return wal.FRAME_HEADER + struct.unpack(">I", data[8:12])[0]


def _is_commit(data: bytes, frame: int) -> bool:
    start = wal.HEADER + (frame - 1) * _frame_size(data)
    return struct.unpack(">I", data[start + 4 : start + 8])[0] != 0


def _flip(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0x10]) + data[offset + 1 :]


def test_an_intact_wal_replays_every_commit(real_wal: tuple[Path, bytes, bytes]) -> None:
    _db, _key, data = real_wal
    scan = wal.scan_bytes(data)
    assert scan.first_bad_frame is None and not scan.loses_commits
    assert scan.replayed_commits == COMMITS
    assert scan.replayed_frames == scan.frames > COMMITS  # rows span more than a page
    assert scan.torn_bytes == 0


@pytest.mark.parametrize("where", ["page data", "frame header"])
def test_a_flipped_bit_in_frame_k_loses_the_commits_after_it(
    real_wal: tuple[Path, bytes, bytes], where: str
) -> None:
    _db, _key, data = real_wal
    total = wal.scan_bytes(data)
    k = total.frames // 2
    start = wal.HEADER + (k - 1) * _frame_size(data)
    offset = start + (wal.FRAME_HEADER + 100 if where == "page data" else 2)  # data or pgno
    scan = wal.scan_bytes(_flip(data, offset))
    assert scan.first_bad_frame == k
    assert scan.replayed_frames < k
    own_commit = 1 if _is_commit(data, k) else 0
    assert scan.lost_commits == total.replayed_commits - scan.replayed_commits - own_commit
    assert scan.loses_commits


def test_a_damaged_header_loses_everything(real_wal: tuple[Path, bytes, bytes]) -> None:
    _db, _key, data = real_wal
    scan = wal.scan_bytes(_flip(data, 13))  # checkpoint sequence: the header checksum fails
    assert scan.first_bad_frame == 0 and scan.replayed_commits == 0
    assert scan.lost_commits == COMMITS


def test_a_torn_last_frame_is_normal(real_wal: tuple[Path, bytes, bytes]) -> None:
    _db, _key, data = real_wal
    torn = data[: len(data) - 1000]  # the last frame cut short: its transaction never committed
    scan = wal.scan_bytes(torn)
    assert scan.torn_bytes > 0 and not scan.loses_commits
    assert scan.replayed_commits == COMMITS - 1


def test_garbage_and_older_frames_after_the_end_are_normal(
    real_wal: tuple[Path, bytes, bytes],
) -> None:
    _db, _key, data = real_wal
    size = _frame_size(data)
    last = data[len(data) - size :]
    older = last[:8] + b"\x01\x02\x03\x04\x05\x06\x07\x08" + last[16:]  # other salts
    for tail in (os.urandom(size), older, os.urandom(size // 2)):
        scan = wal.scan_bytes(data + tail)
        assert not scan.loses_commits, tail[:8]
        assert scan.replayed_commits == COMMITS


def test_an_empty_or_foreign_file_is_nothing_to_report() -> None:
    assert wal.scan_bytes(b"") == wal.WalScan()
    assert not wal.scan_bytes(os.urandom(5000)).loses_commits


@pytest.fixture
def store(
    profile: Profile, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> SecretStore:
    s = SecretStore.for_profile(profile, backend=memory_keyring, enforce_policy=False)
    monkeypatch.setattr(commands, "secret_store_for", lambda p: s)
    return s


@pytest.mark.expect_log("muttefik.db", "ERROR", "write-ahead log damaged")
def test_check_reports_commits_a_damaged_wal_would_drop_and_keeps_a_copy(
    profile: Profile, store: SecretStore, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.bootstrap import open_vault

    vault, key = open_vault(profile, store)
    vault.close()
    data = _write_and_die(profile.db_path, key)
    k = wal.scan_bytes(data).frames // 2
    flipped = _flip(data, wal.HEADER + (k - 1) * _frame_size(data) + wal.FRAME_HEADER + 100)
    wal.wal_path(profile.db_path).write_bytes(flipped)
    lost = wal.scan_bytes(flipped).lost_commits

    assert main(["--profile", str(profile.root), "check"]) == 1
    out = capsys.readouterr().out
    assert "passed both integrity checks" in out  # what SQLite kept is consistent…
    assert "Recent changes may be lost" in out and f"{lost} saved changes" in out  # …but
    assert "(muttefik audit verify)" in out
    kept = wal.kept_losses(profile.db_path)
    assert len(kept) == 1 and Path(kept[0].copy).read_bytes() == flipped
    assert os.stat(kept[0].copy).st_mode & 0o077 == 0
    # the premise: SQLite really dropped the commits after the bad frame
    conn = open_connection(profile.db_path, key, readonly=True)
    try:
        rows = conn.execute("SELECT count(*) FROM t").fetchone()[0]
    finally:
        conn.close()
    assert rows < COMMITS
    # reported again by every check until the seller deletes the copy, but not copied twice
    assert main(["--profile", str(profile.root), "check"]) == 1
    assert "Recent changes may be lost" in capsys.readouterr().out
    assert len(wal.kept_losses(profile.db_path)) == 1


@pytest.mark.expect_log("muttefik.db", "ERROR", "write-ahead log damaged")
def test_the_background_check_reports_a_loss_once(profile: Profile, store: SecretStore) -> None:
    from app.bootstrap import open_vault

    vault, key = open_vault(profile, store)
    vault.close()
    data = _write_and_die(profile.db_path, key)
    wal.wal_path(profile.db_path).write_bytes(_flip(data, wal.HEADER + wal.FRAME_HEADER + 50))
    vault, _key = open_vault(profile, store)
    try:
        first = vault.integrity_check()
        again = vault.integrity_check()
    finally:
        vault.close()
    assert first.ok and len(first.wal_losses) == 1 and first.wal_losses[0].lost_commits > 0
    assert again.wal_losses == []
    assert store.get(DB_KEY) == key.hex()
