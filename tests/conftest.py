"""Fixtures shared by every test: a temp profile, an in-memory keychain, an open vault,
and the log guard (an undeclared WARNING or ERROR from the app fails the test)."""

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
from tests.helpers.logs import LogGuard, expectation, guarding, logging_restored
from tests.support import MemoryKeyring

# Fixtures that test modules in several folders share.
pytest_plugins = ["tests.helpers.cli"]
# Real mail servers for the mail tests (dovecot, aiosmtpd) and their throwaway CA.
pytest_plugins += ["tests.helpers.dovecot", "tests.helpers.smtp_server", "tests.helpers.fake_ai"]
# A real print system (CUPS with cups-pdf and raw queues) and a thermal printer's port.
pytest_plugins += ["tests.helpers.cups"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "expect_log(logger, level, pattern=''): the test logs this record on purpose "
        "(see tests/helpers/logs.py)",
    )


@pytest.fixture(autouse=True)
def expected_logs(request: pytest.FixtureRequest) -> Iterator[LogGuard]:
    """Fails the test if the app (``muttefik.*``) logged a WARNING or ERROR it did not
    declare, from any thread, during the test or its fixtures' teardown.

    Declare one with ``@pytest.mark.expect_log("muttefik.sync", "ERROR", "pattern")``
    or by taking this fixture and calling ``expected_logs.expect(logger, level,
    pattern)``; ``expected_logs.records`` holds what was logged.  The logging setup is
    put back after each test, so a CLI run's ``setup_logging`` does not leak into the
    next one.
    """
    guard = LogGuard()
    for marker in request.node.iter_markers("expect_log"):
        guard.add(expectation(*marker.args, **marker.kwargs))
    with logging_restored("", "muttefik"), guarding(guard):
        yield guard
    if guard.unexpected():
        pytest.fail(guard.report(), pytrace=False)


@pytest.fixture(autouse=True)
def _registered_secrets() -> Iterator[None]:
    """Secrets a test registers for redaction are forgotten after it: a store saved with
    the client secret "secret" once made every later "[secret]" marker "[[secret]]"."""
    from app import redact

    with redact._lock:
        before = set(redact._secrets)
    yield
    with redact._lock:
        redact._secrets.clear()
        redact._secrets.update(before)


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
