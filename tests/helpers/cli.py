"""The CLI run in-process on a temp profile: a profile with an enrolled admin, the
terminal prompts answered, ``main`` called with ``--profile``."""

from __future__ import annotations

import builtins
import getpass
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

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


def add_store(
    profile: Profile, secrets: SecretStore, server: Any = None, *, client_secret: str | None = None
) -> None:
    """Store "Main" (NA, ATVPDKIKX0DER) in ``profile`` as its first operator (the admin
    ``cli_profile`` made).  With ``server`` (a FakeSpApi) it points there with the server's
    credentials (``client_secret`` overrides the secret); without, made-up ones."""
    from app.amazon.models import Credentials, Region, StoreDraft
    from app.auth.store import load_actor
    from app.services import Core, build_services

    if server is None:
        draft = StoreDraft("Main", Region.NA, ("ATVPDKIKX0DER",), "amzn1.application-oa2-client.x")
        credentials = Credentials(lwa_client_secret="secret", refresh_token="Atzr|token")
    else:
        draft = StoreDraft(
            "Main", Region.NA, ("ATVPDKIKX0DER",), server.client_id, server.base_url, server.lwa_url
        )
        credentials = Credentials(
            lwa_client_secret=client_secret or server.client_secret,
            refresh_token=server.refresh_token,
        )
    vault, _ = bootstrap.open_vault(profile, secrets)
    core = Core(profile=profile, vault=vault, secrets=secrets)
    try:
        admin = vault.call(lambda conn: load_actor(conn, 1))
        assert admin is not None, "cli_profile's admin is operator 1"
        build_services(core).stores.create_store(admin, draft, credentials)
    finally:
        core.close()
