"""The vault against a real OS keychain: gnome-keyring's Secret Service on a private bus."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from keyring.backends import SecretService

from app.bootstrap import open_vault
from app.errors import DatabaseKeyMissing, DataFileMissing, KeychainLocked
from app.paths import Profile
from app.secrets import SecretStore, check_backend
from app.vault import KeyMode
from app.vault.keys import AUDIT_KEY, DB_KEY, DB_KEY_PENDING
from app.vault.rotate import rotate_keychain_key
from tests.helpers.secret_service import SecretServiceSession
from tests.support import MemoryKeyring

pytestmark = pytest.mark.integration


def _store(profile: Profile) -> SecretStore:
    """What the app does, with the backend named explicitly (policy enforced)."""
    return SecretStore.for_profile(profile, backend=SecretService.Keyring())


def _keychain_value(profile: Profile, name: str) -> str | None:
    value: str | None = SecretService.Keyring().get_password(profile.keychain_service, name)
    return value


def test_policy_accepts_the_real_secret_service(use_secret_service: SecretServiceSession) -> None:
    backend = SecretService.Keyring()
    assert backend.priority > 0  # viable: the service is on the bus
    check_backend(backend)
    assert "SecretService" in SecretStore(service="x", backend=backend).describe()
    # keyring's own choice, in a clean process as the app makes it, passes the policy too
    # (not in this process: test fakes subclass KeyringBackend and join keyring's chainer)
    script = (
        "from app.secrets import SecretStore, _leaves\n"
        "import keyring\n"
        "store = SecretStore(service='muttefik-desk:/policy-probe')\n"
        "store.probe()\n"
        "print(sorted(type(b).__module__ for b in _leaves(keyring.get_keyring())))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        env=use_secret_service.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "keyring.backends.SecretService" in done.stdout


def test_first_run_stores_the_key_and_a_restart_reopens(
    use_secret_service: SecretServiceSession, tmp_path: Path
) -> None:
    profile = Profile(tmp_path / "shop")
    vault, key = open_vault(profile, _store(profile))
    try:
        assert vault.mode is KeyMode.KEYCHAIN
        vault.call_write(
            lambda c: c.execute("INSERT INTO stores(name, created_at) VALUES ('EU', 'now')")
        )
    finally:
        vault.close()
    assert _keychain_value(profile, DB_KEY) == key.hex()

    # a restart: new store, new backend object, new D-Bus connection
    vault, key2 = open_vault(profile, _store(profile))
    try:
        assert key2 == key
        names = vault.call(lambda c: c.execute("SELECT name FROM stores").fetchall())
        assert names == [("EU",)]
    finally:
        vault.close()


def test_two_profiles_get_two_keychain_entries(
    use_secret_service: SecretServiceSession, tmp_path: Path
) -> None:
    a, b = Profile(tmp_path / "a"), Profile(tmp_path / "b")
    va, ka = open_vault(a, _store(a))
    vb, kb = open_vault(b, _store(b))
    va.close()
    vb.close()
    assert ka != kb
    assert _keychain_value(a, DB_KEY) == ka.hex()
    assert _keychain_value(b, DB_KEY) == kb.hex()


def test_deleting_the_key_makes_the_database_unopenable(
    use_secret_service: SecretServiceSession, tmp_path: Path
) -> None:
    profile = Profile(tmp_path / "shop")
    vault, _ = open_vault(profile, _store(profile))
    vault.close()
    before = profile.db_path.read_bytes()
    SecretService.Keyring().delete_password(profile.keychain_service, DB_KEY)
    with pytest.raises(DatabaseKeyMissing):
        open_vault(profile, _store(profile))
    assert profile.db_path.read_bytes() == before
    assert _keychain_value(profile, DB_KEY) is None  # no fresh key was made for the old file


def test_key_rotation_through_the_real_keychain(
    use_secret_service: SecretServiceSession, tmp_path: Path
) -> None:
    profile = Profile(tmp_path / "shop")
    vault, old = open_vault(profile, _store(profile))
    try:
        rotate_keychain_key(vault, _store(profile))
    finally:
        vault.close()
    new_hex = _keychain_value(profile, DB_KEY)
    assert new_hex is not None and new_hex != old.hex()
    assert _keychain_value(profile, DB_KEY_PENDING) is None
    vault, key = open_vault(profile, _store(profile))
    vault.close()
    assert key.hex() == new_hex


def test_locked_keyring_gives_keychain_locked(
    locked_secret_service: SecretServiceSession, tmp_path: Path
) -> None:
    # a new profile: nothing is created while the keychain is locked
    fresh = Profile(tmp_path / "fresh")
    with pytest.raises(KeychainLocked) as info:
        open_vault(fresh, _store(fresh))
    assert "Unlock" in info.value.message
    assert not fresh.db_path.exists()

    # an existing profile (made with another keychain): the file is left alone
    existing = Profile(tmp_path / "existing")
    memory = SecretStore.for_profile(existing, backend=MemoryKeyring(), enforce_policy=False)
    vault, _ = open_vault(existing, memory)
    vault.close()
    before = existing.db_path.read_bytes()
    with pytest.raises(KeychainLocked):
        open_vault(existing, _store(existing))
    assert existing.db_path.read_bytes() == before


def _names(profile: Profile) -> list[str]:
    vault, _ = open_vault(profile, _store(profile))
    try:
        return [r[0] for r in vault.call(lambda c: c.execute("SELECT name FROM stores").fetchall())]
    finally:
        vault.close()


def _new_shop(profile: Profile) -> tuple[bytes, bytes | None]:
    """Make ``profile`` in the keychain with one store, EU, and close it; its two keys."""
    vault, key = open_vault(profile, _store(profile))
    vault.call_write(lambda c: c.execute("INSERT INTO stores(name, created_at) VALUES ('EU', 'x')"))
    vault.close()
    return key, vault.audit_key


def test_a_moved_profile_folder_opens_with_its_key(
    use_secret_service: SecretServiceSession, tmp_path: Path
) -> None:
    profile = Profile(tmp_path / "shop")
    key, audit_key = _new_shop(profile)
    moved = Profile(profile.root.rename(tmp_path / "renamed"))
    assert _names(moved) == ["EU"]
    assert _keychain_value(moved, DB_KEY) == key.hex()  # the same entry, named by the id
    assert audit_key is not None and _keychain_value(moved, AUDIT_KEY) == audit_key.hex()


def test_a_missing_data_file_keeps_the_real_keychain_entry(
    use_secret_service: SecretServiceSession, tmp_path: Path
) -> None:
    profile = Profile(tmp_path / "shop")
    key, _ = _new_shop(profile)
    saved = profile.db_path.read_bytes()
    profile.db_path.unlink()
    with pytest.raises(DataFileMissing) as info:
        open_vault(profile, _store(profile))
    assert str(profile.db_path) in info.value.message
    assert _keychain_value(profile, DB_KEY) == key.hex()
    profile.db_path.write_bytes(saved)  # the file comes back
    assert _names(profile) == ["EU"]


def test_path_named_entries_of_an_older_version_are_adopted(
    use_secret_service: SecretServiceSession, tmp_path: Path
) -> None:
    """A profile made before profile.json: its key is under the folder's path."""
    profile = Profile(tmp_path / "old-shop")
    key, _ = _new_shop(profile)
    backend = SecretService.Keyring()
    backend.set_password(profile.legacy_service, DB_KEY, key.hex())
    backend.delete_password(profile.keychain_service, DB_KEY)
    profile.id_path.unlink()
    assert _names(profile) == ["EU"]  # adopted: copied under the new id
    assert _keychain_value(profile, DB_KEY) == key.hex()
    assert backend.get_password(profile.legacy_service, DB_KEY) == key.hex()  # kept
    assert _names(Profile(profile.root.rename(tmp_path / "moved"))) == ["EU"]
