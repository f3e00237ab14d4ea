"""``muttefik check`` and ``muttefik rekey`` run in-process through ``app.cli.main``."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import app.cli.vault as commands
from app import __version__
from app.bootstrap import open_vault
from app.cli import main
from app.errors import DatabaseKeyMissing, DatabaseKeyWrong
from app.paths import Profile
from app.secrets import SecretStore
from app.vault.connection import can_open
from app.vault.keys import DB_KEY
from tests.support import MemoryKeyring

PAGE_SIZE = 4096  # SQLCipher 4 default


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger("muttefik")
    saved = (list(root.handlers), root.level, root.propagate)
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.handlers[:], root.level, root.propagate = saved[0], saved[1], saved[2]


@pytest.fixture
def filled(profile: Profile, store: SecretStore) -> bytes:
    """A closed profile with enough rows to span a few dozen pages; returns its key."""
    vault, key = open_vault(profile, store)

    def fill(conn: Any) -> None:
        conn.execute("CREATE TABLE t(n INTEGER PRIMARY KEY, b BLOB)")
        for _ in range(300):
            conn.execute("INSERT INTO t(b) VALUES (randomblob(500))")

    vault.call_write(fill)
    vault.close()
    assert not profile.db_path.with_name("vault.db-wal").exists()  # all pages in the file
    return key


def _cli(profile: Profile, *args: str) -> int:
    return main(["--profile", str(profile.root), *args])


def test_check_passes_on_a_healthy_database(
    profile: Profile, filled: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(profile, "check") == 0
    out = capsys.readouterr().out
    assert "passed both integrity checks" in out


@pytest.mark.parametrize("page", [3, 20, 30])
def test_check_detects_a_flipped_byte_and_names_the_page(
    profile: Profile, filled: bytes, capsys: pytest.CaptureFixture[str], page: int
) -> None:
    pages = profile.db_path.stat().st_size // PAGE_SIZE
    assert pages > page
    offset = (page - 1) * PAGE_SIZE + 1000
    with open(profile.db_path, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0x40]))
    assert _cli(profile, "check") == 1
    out = capsys.readouterr().out
    assert f"first damaged page: {page}" in out
    assert f"page {page}" in out
    assert filled.hex() not in out


def test_check_with_the_key_missing_explains_and_changes_nothing(
    profile: Profile,
    filled: bytes,
    memory_keyring: MemoryKeyring,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = profile.db_path.read_bytes()
    memory_keyring.store.clear()
    assert _cli(profile, "check") == 2
    err = capsys.readouterr().err
    assert DatabaseKeyMissing.title in err
    assert "Traceback" not in err
    assert profile.db_path.read_bytes() == before


def test_check_with_a_wrong_key_explains(
    profile: Profile,
    filled: bytes,
    memory_keyring: MemoryKeyring,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wrong = os.urandom(32).hex()
    memory_keyring.store[(profile.keychain_service, DB_KEY)] = wrong
    assert _cli(profile, "check") == 2
    err = capsys.readouterr().err
    assert DatabaseKeyWrong.title in err
    assert wrong not in err and filled.hex() not in err


def test_rekey_re_encrypts_with_a_new_key(
    profile: Profile,
    filled: bytes,
    memory_keyring: MemoryKeyring,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _cli(profile, "rekey") == 0
    assert "re-encrypted" in capsys.readouterr().out
    new = bytes.fromhex(memory_keyring.store[(profile.keychain_service, DB_KEY)])
    assert new != filled
    assert can_open(profile.db_path, new) and not can_open(profile.db_path, filled)
    assert _cli(profile, "check") == 0
    vault, _ = open_vault(
        profile,
        SecretStore(service=profile.keychain_service, backend=memory_keyring, enforce_policy=False),
    )
    try:
        assert vault.call(lambda c: c.execute("SELECT count(*) FROM t").fetchone()[0]) == 300
    finally:
        vault.close()


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert __version__ in capsys.readouterr().out
    assert main([]) == 2
    out = capsys.readouterr().out
    assert "check" in out and "rekey" in out


def test_check_on_a_profile_without_data_creates_nothing(
    profile: Profile,
    store: SecretStore,
    memory_keyring: MemoryKeyring,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _cli(profile, "check") == 2
    assert "no data file" in capsys.readouterr().err
    assert not profile.db_path.exists()
    assert memory_keyring.store == {}


# --- read-only commands never create a profile; --profile validation ----------------------


@pytest.fixture
def any_store(memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> MemoryKeyring:
    """Every profile's secrets in the one in-memory keyring."""
    import app.bootstrap

    def for_profile(p: Profile) -> SecretStore:
        return SecretStore.for_profile(p, backend=memory_keyring, enforce_policy=False)

    monkeypatch.setattr(commands, "secret_store_for", for_profile)
    monkeypatch.setattr(app.bootstrap, "secret_store_for", for_profile)
    return memory_keyring


READ_ONLY = [
    ["check"],
    ["audit", "verify"],
    ["audit", "export", "--since", "2026-01-01"],
    ["stores", "list"],
    ["users", "list"],
    ["rekey"],
    ["sync", "--store", "x"],
]


@pytest.mark.parametrize("command", READ_ONLY, ids=lambda c: " ".join(c[:2]))
@pytest.mark.parametrize("folder", ["absent", "empty"])
def test_commands_on_a_folder_that_is_not_a_profile_create_nothing(
    tmp_path: Path,
    any_store: MemoryKeyring,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
    folder: str,
) -> None:
    """Issue 8: ``audit verify`` (and every other command) created a profile and a key."""
    root = tmp_path / "nothing-here"
    if folder == "empty":
        root.mkdir(mode=0o755)
    code = main(["--profile", str(root), *command])
    err = capsys.readouterr().err
    assert code != 0
    assert "not a Müttefik Desk profile" in err or "no data file" in err, err
    assert "Traceback" not in err
    assert any_store.store == {}
    if folder == "absent":
        assert not root.exists()
    else:
        assert list(root.iterdir()) == []
        assert stat.S_IMODE(root.stat().st_mode) == 0o755


@pytest.mark.parametrize("command", [["check"], ["audit", "verify"], ["stores", "list"]])
def test_commands_on_a_profile_whose_data_file_is_missing_keep_the_key(
    profile: Profile,
    filled: bytes,
    memory_keyring: MemoryKeyring,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    profile.db_path.unlink()
    before = dict(memory_keyring.store)
    assert _cli(profile, *command) == 2
    err = capsys.readouterr().err
    assert "The data file is missing" in err and str(profile.db_path) in err
    assert "muttefik" in err and "profile new" in err  # says how to start afresh
    assert memory_keyring.store == before
    assert not profile.db_path.exists()


def test_a_non_empty_folder_that_is_not_a_profile_is_refused_untouched(
    tmp_path: Path, any_store: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "Documents"
    root.mkdir(mode=0o755)
    (root / "taxes.pdf").write_bytes(b"%PDF")
    assert main(["--profile", str(root), "profile", "new"]) != 0
    err = capsys.readouterr().err
    assert "not a Müttefik Desk profile" in err and str(root) in err
    assert sorted(p.name for p in root.iterdir()) == ["taxes.pdf"]
    assert stat.S_IMODE(root.stat().st_mode) == 0o755
    assert any_store.store == {}


@pytest.mark.parametrize("kind", ["file", "under_a_file", "empty"])
def test_bad_profile_argument_gives_a_message_and_exit_2(
    tmp_path: Path,
    any_store: MemoryKeyring,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    monkeypatch.chdir(tmp_path)  # '' must not mean the current folder
    if kind in ("file", "under_a_file"):
        target = tmp_path / "notes.txt"
        target.write_text("x")
        value = str(target) if kind == "file" else str(target / "profile")
    else:
        value = ""
    with pytest.raises(SystemExit) as info:
        main(["--profile", value, "check"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--profile" in err and "Traceback" not in err
    assert ("empty" in err) if kind == "empty" else ("is a file" in err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ([] if kind == "empty" else ["notes.txt"])


def test_profile_new_creates_a_profile_and_refuses_to_replace_data(
    tmp_path: Path, any_store: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "fresh"
    assert main(["--profile", str(root), "profile", "new"]) == 0
    assert (root / "vault.db").stat().st_size > 0
    assert "profile new" not in capsys.readouterr().err
    keys_before = dict(any_store.store)
    assert main(["--profile", str(root), "profile", "new"]) == 2
    assert "already" in capsys.readouterr().err
    assert any_store.store == keys_before
    assert main(["--profile", str(root), "check"]) == 0
