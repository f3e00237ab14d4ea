"""The CLI run in-process on a temp profile: a profile with an enrolled admin, the
terminal prompts answered, ``main`` called with ``--profile``."""

from __future__ import annotations

import builtins
import getpass
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from app import bootstrap
from app.cli import main
from app.clock import FakeClock
from app.paths import Profile
from app.secrets import SecretStore
from tests.helpers.world import make_world


@pytest.fixture
def cli_profile(
    profile: Profile, secrets: SecretStore, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Profile, str]]:
    """A profile with an admin (MFA enrolled an hour ago) and the memory keychain."""
    monkeypatch.setattr(bootstrap, "secret_store_for", lambda p: secrets)
    vault, _ = bootstrap.open_vault(profile, secrets)
    try:
        clock = FakeClock(datetime.now(UTC) - timedelta(hours=1))
        world = make_world(vault, clock, secrets=secrets)
        _, secret, _ = world.create_admin()
    finally:
        vault.close()
    yield profile, secret


def answer_prompts(monkeypatch: pytest.MonkeyPatch, username: str, *secret_answers: str) -> None:
    answers = iter(secret_answers)
    monkeypatch.setattr(builtins, "input", lambda prompt="": username)
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))


def run(profile: Profile, *args: str) -> int:
    return main(["--profile", str(profile.root), *args])
