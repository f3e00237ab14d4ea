"""open_vault takes the profile lock before it touches keys in the keychain."""

from __future__ import annotations

import pytest

from app import bootstrap
from app.errors import DatabaseInUse
from app.paths import Profile
from app.secrets import SecretStore
from app.vault.keys import DB_KEY_PENDING
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
