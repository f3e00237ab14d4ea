"""Key rotation is crash-safe: a crash at any step loses neither the data nor the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.bootstrap import open_vault
from app.errors import PassphraseWrong
from app.paths import Profile
from app.secrets import SecretStore
from app.vault import KeyMode, Vault
from app.vault import passphrase as pp
from app.vault.connection import can_open
from app.vault.db import Vault as VaultClass
from app.vault.keys import DB_KEY, DB_KEY_PENDING
from app.vault.rotate import rotate_keychain_key, rotate_passphrase
from tests.support import MemoryKeyring


class Crash(Exception):
    """Stands in for the process dying at this point."""


class CrashingKeyring(MemoryKeyring):
    """Dies on the ``crash_at``-th write (set or delete) to the keychain."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.crash_at: int | None = None

    def _tick(self) -> None:
        self.writes += 1
        if self.crash_at is not None and self.writes == self.crash_at:
            raise Crash(f"crash at keychain write {self.writes}")

    def set_password(self, service: str, username: str, password: str) -> None:
        self._tick()
        super().set_password(service, username, password)

    def delete_password(self, service: str, username: str) -> None:
        self._tick()
        super().delete_password(service, username)


def _store(profile: Profile, backend: MemoryKeyring) -> SecretStore:
    return SecretStore(service=profile.keychain_service, backend=backend, enforce_policy=False)


def _seed(vault: Vault) -> None:
    vault.call_write(
        lambda c: c.execute("INSERT INTO stores(name, created_at) VALUES ('EU shop', 'now')")
    )


def _names(vault: Vault) -> list[str]:
    return [r[0] for r in vault.call(lambda c: c.execute("SELECT name FROM stores").fetchall())]


def test_rotation_changes_the_key_and_keeps_the_data(
    profile: Profile, memory_keyring: MemoryKeyring
) -> None:
    vault, old = open_vault(profile, _store(profile, memory_keyring))
    _seed(vault)
    rotate_keychain_key(vault, _store(profile, memory_keyring))
    vault.close()
    new = bytes.fromhex(memory_keyring.store[(profile.keychain_service, DB_KEY)])
    assert new != old
    assert (profile.keychain_service, DB_KEY_PENDING) not in memory_keyring.store
    assert can_open(profile.db_path, new) and not can_open(profile.db_path, old)
    vault, key = open_vault(profile, _store(profile, memory_keyring))
    assert key == new and _names(vault) == ["EU shop"]
    vault.close()


# Keychain writes during a rotation: 1 = store pending, 2 = store as current, 3 = delete
# pending.  "rekey" crashes between 1 and the PRAGMA rekey.
@pytest.mark.parametrize(
    ("crash", "expect_new_key"),
    [(1, False), ("rekey", False), (2, True), (3, True)],
)
@pytest.mark.expect_log("muttefik.secrets", "WARNING", "call (set|delete)_password failed: Crash")
def test_crash_during_keychain_rotation_is_resolved_at_next_start(
    profile: Profile,
    monkeypatch: pytest.MonkeyPatch,
    crash: int | str,
    expect_new_key: bool,
) -> None:
    keyring = CrashingKeyring()
    vault, old = open_vault(profile, _store(profile, keyring))
    _seed(vault)
    keyring.writes = 0
    if crash == "rekey":

        def dying_rekey(self: Vault, new_key: bytes) -> Any:
            raise Crash("crash before PRAGMA rekey")

        monkeypatch.setattr(VaultClass, "rekey", dying_rekey)
    else:
        assert isinstance(crash, int)
        keyring.crash_at = crash
    with pytest.raises(Exception) as info:
        rotate_keychain_key(vault, _store(profile, keyring))
    assert isinstance(info.value, Crash) or isinstance(info.value.__cause__, Crash)
    vault.close()  # the process is gone; its lock with it
    monkeypatch.undo()
    keyring.crash_at = None

    vault, key = open_vault(profile, _store(profile, keyring))
    try:
        assert _names(vault) == ["EU shop"]
    finally:
        vault.close()
    assert (key != old) is expect_new_key
    # the keychain is tidy again: the working key is current, no pending entry is left
    assert keyring.store[(profile.keychain_service, DB_KEY)] == key.hex()
    assert (profile.keychain_service, DB_KEY_PENDING) not in keyring.store


PASS_OLD = "correct horse battery staple"
PASS_NEW = "tr0ub4dor & three more words"


def _passphrase_profile(profile: Profile) -> tuple[Vault, bytes]:
    from keyring.backends.fail import Keyring as FailKeyring

    no_keychain = SecretStore(service=profile.keychain_service, backend=FailKeyring())
    vault, key = open_vault(profile, no_keychain, passphrase=lambda new: PASS_OLD)
    assert vault.mode is KeyMode.PASSPHRASE
    return vault, key


def _reopen(profile: Profile, passphrase: str) -> tuple[Vault, bytes]:
    from keyring.backends.fail import Keyring as FailKeyring

    no_keychain = SecretStore(service=profile.keychain_service, backend=FailKeyring())
    return open_vault(profile, no_keychain, passphrase=lambda new: passphrase)


@pytest.mark.parametrize("crash", ["before_rekey", "before_replace", "none"])
@pytest.mark.expect_log("muttefik.db", "WARNING", "no usable keychain")
def test_crash_during_passphrase_change_is_resolved_at_next_start(
    profile: Profile, monkeypatch: pytest.MonkeyPatch, crash: str
) -> None:
    import app.vault.rotate as rotate

    vault, _old = _passphrase_profile(profile)
    _seed(vault)
    if crash == "before_rekey":

        def dying_rekey(self: Vault, new_key: bytes) -> Any:
            raise Crash("crash before PRAGMA rekey")

        monkeypatch.setattr(VaultClass, "rekey", dying_rekey)
    elif crash == "before_replace":
        real_replace = rotate.os.replace

        def dying_replace(src: Path, dst: Path) -> None:
            if Path(dst) == profile.kdf_path:
                raise Crash("crash before the pending file replaces the old one")
            real_replace(src, dst)

        monkeypatch.setattr(rotate.os, "replace", dying_replace)
    if crash == "none":
        rotate_passphrase(vault, PASS_NEW)
    else:
        with pytest.raises(Crash):
            rotate_passphrase(vault, PASS_NEW)
    vault.close()
    monkeypatch.undo()

    works, fails = (PASS_OLD, PASS_NEW) if crash == "before_rekey" else (PASS_NEW, PASS_OLD)
    with pytest.raises(PassphraseWrong):
        _reopen(profile, fails)
    vault, _key = _reopen(profile, works)
    try:
        assert _names(vault) == ["EU shop"]
    finally:
        vault.close()
    assert profile.kdf_path.exists()
    assert not pp.pending_path(profile.kdf_path).exists()
    # and it stays resolved
    vault, _key = _reopen(profile, works)
    vault.close()
