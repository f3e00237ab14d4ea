"""Unattended sync with the real keychain (a private Secret Service) and the real
``muttefik sync`` in a child process with no terminal and no input, as cron runs it: it
syncs over HTTP as the system once an admin enabled it, and is refused once revoked."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app import bootstrap
from app.amazon.models import Credentials, Region, StoreDraft
from app.amazon.spapi import clear_token_cache
from app.auth.models import Actor
from app.clock import FakeClock
from app.demo.fake_spapi import FakeSpApi
from app.paths import Profile
from app.services import Core, build_services
from app.unattended import CREDENTIAL
from tests.helpers.secret_service import SecretServiceSession
from tests.helpers.world import make_world
from tests.integration.children import ROOT

pytestmark = pytest.mark.integration


@pytest.fixture
def server() -> Any:
    clear_token_cache()
    with FakeSpApi(orders=150, seed=3, speed=None, settle_seconds=0) as srv:
        yield srv
    clear_token_cache()


def _with_services(profile: Profile, fn: Any) -> Any:
    secrets = bootstrap.secret_store_for(profile)
    vault, _ = bootstrap.open_vault(profile, secrets)
    core = Core(profile=profile, vault=vault, secrets=secrets)
    try:
        return fn(build_services(core), core)
    finally:
        core.close()


def _profile_with_store(root: Path, srv: Any) -> tuple[Profile, Actor]:
    profile = Profile(root)

    def setup(services: Any, core: Core) -> Actor:
        world = make_world(
            core.vault, FakeClock(datetime.now(UTC) - timedelta(hours=1)), secrets=core.secrets
        )
        admin: Actor = world.create_admin()[0].actor
        services.stores.create_store(
            admin,
            StoreDraft(
                name="Main",
                region=Region.NA,
                marketplace_ids=("ATVPDKIKX0DER",),
                lwa_client_id=srv.client_id,
                sp_api_endpoint=srv.base_url,
                lwa_endpoint=srv.lwa_url,
            ),
            Credentials(lwa_client_secret=srv.client_secret, refresh_token=srv.refresh_token),
        )
        return admin

    return profile, _with_services(profile, setup)


def _cron(session: SecretServiceSession, profile: Profile, *flags: str) -> tuple[int, str, str]:
    """``muttefik sync`` as cron runs it: no terminal, nothing on standard input."""
    command = ["--profile", str(profile.root), "sync", "--store", "Main", *flags]
    child = subprocess.run(
        [sys.executable, "-m", "app.cli", *command],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=dict(session.env(), PYTHONPATH=str(ROOT)),
        cwd=ROOT,
        start_new_session=True,
        timeout=120,
    )
    return child.returncode, child.stdout.decode(), child.stderr.decode()


def test_cron_syncs_as_the_system_once_enabled_and_not_after_revoking(
    use_secret_service: SecretServiceSession, tmp_path: Path, server: Any
) -> None:
    profile, admin = _profile_with_store(tmp_path / "shop", server)

    code, out, err = _cron(use_secret_service, profile, "--unattended")
    assert code == 2 and "not enabled" in err, (out, err)
    assert server.request_count("searchOrders") == 0

    _with_services(profile, lambda s, c: s.unattended.enable(admin))
    token = bootstrap.secret_store_for(profile).get(CREDENTIAL)
    assert token  # in the real keychain
    for flags in (("--unattended",), ()):  # no terminal: the flag is not needed
        code, out, err = _cron(use_secret_service, profile, *flags)
        assert code == 0, (out, err)
        assert "Done:" in out and "Traceback" not in err

    def read(services: Any, core: Core) -> tuple[Any, ...]:
        return core.vault.call(
            lambda c: (
                c.execute("SELECT count(*) FROM orders").fetchone()[0],
                c.execute(
                    "SELECT actor_id, details FROM audit_log WHERE action = 'sync_finished'"
                ).fetchall(),
                c.execute("SELECT * FROM unattended").fetchall(),
            )
        )

    stored, finished, unattended_rows = _with_services(profile, read)
    assert stored > 0
    assert [actor for actor, _ in finished] == [None, None]  # the system, not an operator
    assert all(json.loads(d)["status"] == "ok" for _, d in finished), finished
    assert token not in repr(unattended_rows)  # the database keeps a hash only

    _with_services(profile, lambda s, c: s.unattended.disable(admin))
    assert bootstrap.secret_store_for(profile).get(CREDENTIAL) is None
    requests = server.request_count("searchOrders")
    code, out, err = _cron(use_secret_service, profile, "--unattended")
    assert code == 2 and "not enabled" in err
    assert server.request_count("searchOrders") == requests
