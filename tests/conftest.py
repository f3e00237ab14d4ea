"""Fixtures shared by every test: a temp profile, an in-memory keychain, an open vault."""

from __future__ import annotations

import os

# Headless by default, whoever runs pytest (make test sets it too).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.clock import FakeClock
from app.paths import Identity, Profile
from app.secrets import SecretStore
from app.services import Core
from app.vault import Vault
from tests.support import MemoryKeyring


@pytest.fixture(autouse=True)
def _private_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files the app keeps outside the profile (the audit anchor in passphrase mode) go
    to the test's temp folder, never the real user state dir."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


@pytest.fixture
def profile(tmp_path: Path) -> Profile:
    """A profile folder as a first run leaves it before the database exists: its id file
    is written, so ``profile.keychain_service`` names its entries from the start."""
    p = Profile(tmp_path / "profile")
    p.ensure()
    p.write_identity(Identity.new())
    return p


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def secrets(profile: Profile, memory_keyring: MemoryKeyring) -> SecretStore:
    return SecretStore.for_profile(profile, backend=memory_keyring, enforce_policy=False)


@pytest.fixture
def vault(profile: Profile, secrets: SecretStore) -> Iterator[Vault]:
    from app.bootstrap import open_vault

    v, _key = open_vault(profile, secrets)
    yield v
    v.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def core(profile: Profile, vault: Vault, secrets: SecretStore, clock: FakeClock) -> Iterator[Core]:
    c = Core(profile=profile, vault=vault, secrets=secrets, clock=clock)
    yield c
    c.jobs.shutdown()  # the vault fixture closes the vault
