"""Fixtures for integration tests: a private Secret Service for the whole run
(tests/helpers/secret_service.py), selected per test, and a locked one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.secret_service import SecretServiceSession


@pytest.fixture(scope="session")
def secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecretServiceSession]:
    """An unlocked Secret Service for the whole run.  Tests select it with
    ``use_secret_service``, so the rest of the suite never sees this bus."""
    session = SecretServiceSession(home=tmp_path_factory.mktemp("keyring-home"), unlock=True)
    session.start()
    try:
        yield session
    finally:
        session.stop()


@pytest.fixture
def use_secret_service(
    secret_service: SecretServiceSession, monkeypatch: pytest.MonkeyPatch
) -> SecretServiceSession:
    """The session Secret Service, as this test's session bus (restored afterwards)."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service.address)
    return secret_service


@pytest.fixture
def locked_secret_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SecretServiceSession]:
    """A Secret Service whose login keyring exists but is locked (daemon without --unlock).

    The keyring is created in a first, unlocked run: without ``--unlock`` a keyring that
    does not exist yet cannot be created (that needs a prompt, and there is no display).
    """
    home = tmp_path / "locked-home"
    home.mkdir()
    first = SecretServiceSession(home=home, unlock=True).start()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", first.address)
    try:
        from keyring.backends import SecretService

        SecretService.Keyring().set_password("integration", "created", "yes")
    finally:
        first.stop()
    locked = SecretServiceSession(home=home, unlock=False).start()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", locked.address)
    try:
        yield locked
    finally:
        locked.stop()
