"""The real ``muttefik sync`` in a child process, stopped with Ctrl-C (SIGINT) mid-sync:
the audit log records the sync's end and the seller is told where the next run goes on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app import bootstrap
from app.amazon.models import Credentials, Region, StoreDraft
from app.amazon.spapi import clear_token_cache
from app.auth import totp
from app.clock import FakeClock
from app.demo.fake_spapi import FakeSpApi
from app.paths import Profile
from app.services import Core, build_services
from tests.helpers.secret_service import SecretServiceSession
from tests.helpers.world import ADMIN_PW, make_world
from tests.integration.children import ROOT, LineReader

pytestmark = pytest.mark.integration


@pytest.fixture
def server() -> Any:
    clear_token_cache()
    # Amazon's own rate: after the first burst every page waits, so Ctrl-C lands mid-sync.
    with FakeSpApi(orders=3000, seed=5, speed=1.0, settle_seconds=0) as srv:
        yield srv
    clear_token_cache()


def _profile_with_store(root: Path, srv: Any) -> tuple[Profile, str]:
    profile = Profile(root)
    secrets = bootstrap.secret_store_for(profile)
    vault, _ = bootstrap.open_vault(profile, secrets)
    core = Core(profile=profile, vault=vault, secrets=secrets)
    try:
        world = make_world(
            vault, FakeClock(datetime.now(UTC) - timedelta(hours=1)), secrets=secrets
        )
        session, totp_secret, _ = world.create_admin()
        build_services(core).stores.create_store(
            session.actor,
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
    finally:
        core.close()
    return profile, totp_secret


def _sync_entries(profile: Profile) -> list[tuple[str, dict[str, Any]]]:
    secrets = bootstrap.secret_store_for(profile)
    vault, _ = bootstrap.open_vault(profile, secrets, create=False)
    try:
        rows = vault.call(
            lambda c: c.execute(
                "SELECT action, details FROM audit_log WHERE action LIKE 'sync_%' ORDER BY seq"
            ).fetchall()
        )
    finally:
        vault.close()
    return [(action, json.loads(details)) for action, details in rows]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_records_the_end_and_says_where_the_next_sync_goes_on(
    use_secret_service: SecretServiceSession, tmp_path: Path, server: Any, signum: int
) -> None:
    # Ctrl-C at a terminal; SIGTERM from cron's timeout, systemd or kill.
    profile, totp_secret = _profile_with_store(tmp_path / "shop", server)
    answers = f"admin\n{ADMIN_PW}\n{totp.code_at(totp_secret, datetime.now(UTC))}\n"
    command = ["--profile", str(profile.root), "sync", "--store", "Main"]
    child = subprocess.Popen(
        [sys.executable, "-m", "app.cli", *command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(use_secret_service.env(), PYTHONPATH=str(ROOT)),
        cwd=ROOT,
        start_new_session=True,  # no terminal: getpass reads the answers from stdin
    )
    reader = LineReader(child)
    try:
        assert child.stdin is not None
        child.stdin.write(answers.encode())
        child.stdin.close()
        lines = []
        while (line := reader.readline()) is not None:
            lines.append(line)
            if "pages" in line and "Syncing" not in line:  # a page is stored: mid-sync
                break
        assert line is not None, lines
        os.kill(child.pid, signum)
        lines += reader.rest()
        assert child.wait(timeout=30) == 128 + signum
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        reader.close()
    assert child.stderr is not None
    err = child.stderr.read().decode()
    child.stderr.close()
    assert child.stdout is not None
    child.stdout.close()

    out = "\n".join(lines)
    assert "stopped; the next sync continues from here" in out, (out, err)
    assert "Traceback" not in err
    entries = _sync_entries(profile)
    assert [a for a, _ in entries] == ["sync_started", "sync_finished"]
    assert entries[1][1]["status"] == "cancelled"
    assert server.request_count("searchOrders") >= 1
