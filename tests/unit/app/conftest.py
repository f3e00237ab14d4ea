"""Fixtures shared by the app's unit tests."""

from __future__ import annotations

import pytest

import app.bootstrap
import app.cli.vault as commands
from app.paths import Profile
from app.secrets import SecretStore
from tests.support import MemoryKeyring


@pytest.fixture
def store(
    profile: Profile, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> SecretStore:
    """The memory keychain under the profile's service name, also the one the vault
    commands and the CLI's services get from ``secret_store_for``."""
    s = SecretStore(service=profile.keychain_service, backend=memory_keyring, enforce_policy=False)
    monkeypatch.setattr(commands, "secret_store_for", lambda p: s)
    monkeypatch.setattr(app.bootstrap, "secret_store_for", lambda p: s)  # CLI services
    return s
