"""open_vault takes the profile lock before it touches keys in the keychain."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from app import bootstrap
from app.errors import DatabaseInUse, UserError
from app.paths import Profile
from app.secrets import SecretStore
from app.vault.keys import AUDIT_KEY, DB_KEY, DB_KEY_PENDING
from app.vault.lock import ProfileLock
from tests.support import MemoryKeyring


def test_pending_key_is_left_alone_while_another_process_holds_the_profile(
    profile: Profile, secrets: SecretStore, memory_keyring: MemoryKeyring
) -> None:
    """Another process mid-rotation holds the lock and has stored a pending key: a
    second opener must fail with DatabaseInUse without adopting or dropping it."""
    vault, _ = bootstrap.open_vault(profile, secrets)
    vault.close()
    secrets.set(DB_KEY_PENDING, "ab" * 32)
    other = ProfileLock(profile.lock_path)
    other.acquire()
    try:
        with pytest.raises(DatabaseInUse):
            bootstrap.open_vault(profile, secrets)
    finally:
        other.release()
    assert memory_keyring.store[(profile.keychain_service, DB_KEY_PENDING)] == "ab" * 32
    # Once the profile is free, the stale pending key (it opens nothing) is tidied.
    vault, _ = bootstrap.open_vault(profile, secrets)
    vault.close()
    assert (profile.keychain_service, DB_KEY_PENDING) not in memory_keyring.store


# --- a missing data file never costs the key; identity independent of the path ----------


def _store_for(profile: Profile, keyring: MemoryKeyring) -> SecretStore:
    return SecretStore.for_profile(profile, backend=keyring, enforce_policy=False)


def _fill(profile: Profile, keyring: MemoryKeyring) -> bytes:
    vault, key = bootstrap.open_vault(profile, _store_for(profile, keyring))
    vault.call_write(lambda c: c.execute("INSERT INTO stores(name, created_at) VALUES ('a', 'b')"))
    vault.close()
    return key


def _stores(profile: Profile, keyring: MemoryKeyring) -> list[str]:
    vault, _ = bootstrap.open_vault(profile, _store_for(profile, keyring))
    try:
        return vault.call(lambda c: [r[0] for r in c.execute("SELECT name FROM stores")])
    finally:
        vault.close()


@pytest.mark.parametrize("how", ["deleted", "emptied"])
def test_a_missing_data_file_keeps_the_key_and_says_where(
    profile: Profile, memory_keyring: MemoryKeyring, how: str
) -> None:
    """Issue 8: a start without vault.db used to store a fresh key over db-key, so the
    file could never be opened again when it came back."""
    key = _fill(profile, memory_keyring)
    saved = profile.db_path.read_bytes()
    if how == "deleted":
        profile.db_path.unlink()
    else:
        profile.db_path.write_bytes(b"")
    keyring_before = dict(memory_keyring.store)
    from app.errors import DataFileMissing

    with pytest.raises(DataFileMissing) as info:
        bootstrap.open_vault(profile, _store_for(profile, memory_keyring))
    assert "The data file is missing" in info.value.message
    assert str(profile.db_path) in info.value.message
    assert memory_keyring.store == keyring_before
    assert key.hex() in memory_keyring.store.values()
    # the file comes back (a late mount, a restore): it opens with the same key
    profile.db_path.write_bytes(saved)
    assert _stores(profile, memory_keyring) == ["a"]


def test_moving_the_profile_folder_keeps_its_key(
    tmp_path: Path, profile: Profile, memory_keyring: MemoryKeyring
) -> None:
    _fill(profile, memory_keyring)
    moved = Profile(profile.root.rename(tmp_path / "moved"))
    assert moved.ident == Profile(moved.root).ident  # read from the folder, not its path
    assert _stores(moved, memory_keyring) == ["a"]
    # and back again
    back = Profile(moved.root.rename(profile.root))
    assert _stores(back, memory_keyring) == ["a"]


def test_identity_file_is_private_and_not_secret(
    profile: Profile, memory_keyring: MemoryKeyring
) -> None:
    key = _fill(profile, memory_keyring)
    ident = profile.id_path
    assert stat.S_IMODE(ident.stat().st_mode) == 0o600
    data = json.loads(ident.read_text())
    assert data["format"] == 1 and len(data["id"]) == 32
    assert profile.ident == data["id"]
    assert key.hex() not in ident.read_text()
    assert profile.keychain_service == f"muttefik-desk:profile:{data['id']}"


def test_path_named_entries_are_adopted_and_kept(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    """A profile from before profile.json: its entries are named by the folder's path."""
    root = tmp_path / "old"
    legacy = f"muttefik-desk:{root.resolve()}"
    old = Profile(root)
    key = _fill(old, memory_keyring)
    # turn it into a profile as the previous version left it
    ident = json.loads(old.id_path.read_text())["id"]
    service = f"muttefik-desk:profile:{ident}"
    for (svc, name), value in list(memory_keyring.store.items()):
        if svc == service:
            del memory_keyring.store[(svc, name)]
            memory_keyring.store[(legacy, name)] = value
    memory_keyring.store[(legacy, "store:1:refresh-token")] = "Atzr|token"
    old.id_path.unlink()

    moved = Profile(root.rename(tmp_path / "renamed-after-adoption"))
    # before adoption the path still names the entries: open in place first
    back = Profile(moved.root.rename(root))
    assert _stores(back, memory_keyring) == ["a"]
    new_service = back.keychain_service
    assert new_service != legacy
    assert memory_keyring.store[(new_service, DB_KEY)] == key.hex()
    assert memory_keyring.store[(legacy, DB_KEY)] == key.hex()  # never deleted
    # a name asked for later is found under the old name and copied forward
    assert _store_for(back, memory_keyring).get("store:1:refresh-token") == "Atzr|token"
    assert memory_keyring.store[(new_service, "store:1:refresh-token")] == "Atzr|token"
    # now the folder can move
    moved = Profile(root.rename(tmp_path / "renamed"))
    assert _stores(moved, memory_keyring) == ["a"]


def _new_profile_over_a_lost_file(
    profile: Profile, keyring: MemoryKeyring
) -> tuple[bytes, str, bytes, bytes]:
    """Fill the profile, lose its data file, start a new empty profile in its place.
    Returns the old key, the old id, the old file's bytes and the new profile's key."""
    key = _fill(profile, keyring)
    old_ident = profile.ident
    saved = profile.db_path.read_bytes()
    profile.db_path.unlink()
    vault, new_key = bootstrap.start_new_profile(profile, _store_for(profile, keyring))
    vault.close()
    return key, old_ident, saved, new_key


def test_starting_a_new_profile_over_a_missing_file_keeps_the_old_key(
    profile: Profile, memory_keyring: MemoryKeyring
) -> None:
    key, old_ident, saved, new_key = _new_profile_over_a_lost_file(profile, memory_keyring)
    assert new_key != key
    assert profile.ident != old_ident
    assert _stores(profile, memory_keyring) == []
    assert memory_keyring.store[(f"muttefik-desk:profile:{old_ident}", DB_KEY)] == key.hex()
    history = json.loads(profile.id_path.read_text())["history"]
    assert history[-1]["id"] == old_ident and history[-1]["retired"]
    # the old file can still be opened by its old id
    assert can_open_with(saved, key, profile)


def test_the_old_data_file_put_back_after_a_new_profile_opens_again(
    profile: Profile, memory_keyring: MemoryKeyring
) -> None:
    """The seller started a new empty profile while the disk was missing; the old file
    comes back (copied over the new one): it opens with its own key, the folder takes its
    old id back, and the stopgap profile's key is kept in turn."""
    key, old_ident, saved, stopgap_key = _new_profile_over_a_lost_file(profile, memory_keyring)
    stopgap_ident = profile.ident

    profile.db_path.write_bytes(saved)
    for side in ("-wal", "-shm"):
        profile.db_path.with_name(profile.db_path.name + side).unlink(missing_ok=True)
    assert _stores(profile, memory_keyring) == ["a"]
    assert profile.ident == old_ident
    service = f"muttefik-desk:profile:{stopgap_ident}"
    assert memory_keyring.store[(service, DB_KEY)] == stopgap_key.hex()
    assert memory_keyring.store[(f"muttefik-desk:profile:{old_ident}", DB_KEY)] == key.hex()
    history = json.loads(profile.id_path.read_text())["history"]
    assert [h["id"] for h in history] == [stopgap_ident]


def can_open_with(data: bytes, key: bytes, profile: Profile) -> bool:
    from app.vault.connection import can_open

    path = profile.root / "old-copy.db"
    path.write_bytes(data)
    return can_open(path, key)


def test_a_new_profile_is_refused_while_the_data_file_exists(
    profile: Profile, memory_keyring: MemoryKeyring
) -> None:
    _fill(profile, memory_keyring)
    with pytest.raises(UserError):
        bootstrap.start_new_profile(profile, _store_for(profile, memory_keyring))
    assert _stores(profile, memory_keyring) == ["a"]


def test_an_interrupted_first_run_resumes_without_a_second_key(
    profile: Profile, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.vault import db

    def crash(*_a: object, lock: ProfileLock, **_k: object) -> None:
        lock.release()  # as Vault.open does when it fails
        raise OSError("power cut")

    monkeypatch.setattr(db.Vault, "open", crash)
    with pytest.raises(OSError):
        bootstrap.open_vault(profile, _store_for(profile, memory_keyring))
    monkeypatch.undo()
    stored = dict(memory_keyring.store)
    vault, key = bootstrap.open_vault(profile, _store_for(profile, memory_keyring))
    vault.close()
    assert key.hex() in stored.values()  # the key stored before the crash, not a new one


def test_keychain_mode_gives_the_vault_a_separate_audit_key(
    profile: Profile, memory_keyring: MemoryKeyring
) -> None:
    vault, key = bootstrap.open_vault(profile, _store_for(profile, memory_keyring))
    vault.close()
    audit_key = vault.audit_key
    assert audit_key is not None and len(audit_key) == 32 and audit_key != key
    assert memory_keyring.store[(profile.keychain_service, AUDIT_KEY)] == audit_key.hex()
    vault, _ = bootstrap.open_vault(profile, _store_for(profile, memory_keyring))
    vault.close()
    assert vault.audit_key == audit_key  # never replaced


@pytest.mark.parametrize("content", [b"{not json", b'{"format": 9, "id": "x"}', b"[]"])
def test_a_damaged_id_file_is_a_message_and_changes_nothing(
    profile: Profile, memory_keyring: MemoryKeyring, content: bytes
) -> None:
    _fill(profile, memory_keyring)
    profile.id_path.write_bytes(content)
    keyring_before = dict(memory_keyring.store)
    with pytest.raises(UserError) as info:
        bootstrap.open_vault(profile, _store_for(profile, memory_keyring))
    assert str(profile.id_path) in info.value.message
    assert profile.id_path.read_bytes() == content
    assert memory_keyring.store == keyring_before
