"""The CLI and the running app on one profile, as real processes: ``muttefik sync`` (and
``muttefik purge``) while the app has the profile open hands the work to the app instead
of failing on the lock,
and the app starting while a ``muttefik sync`` holds the profile asks it to stop."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from app import bootstrap, settings
from app.amazon.models import Credentials, Region, StoreDraft
from app.amazon.spapi import clear_token_cache
from app.demo.demo_profile import DEMO_STORE_NAME
from app.demo.fake_spapi import FakeSpApi
from app.demo.fake_spapi_faults import Fault
from app.paths import Profile
from app.services import Core, build_services
from tests.helpers.secret_service import SecretServiceSession
from tests.integration.children import ROOT, LineReader

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(sys.platform == "win32", reason="the hand-off is Unix only for now"),
]

START_TIMEOUT = 90  # seconds, first start: key, migrations, demo data, fake SP-API


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_sync_while_the_app_runs_is_handed_to_the_app(
    use_secret_service: SecretServiceSession, tmp_path: Path
) -> None:
    root = tmp_path / "demo-profile"
    marker = tmp_path / "shown"
    env = dict(
        use_secret_service.env(),
        PYTHONPATH=str(ROOT),
        QT_QPA_PLATFORM="offscreen",
        XDG_STATE_HOME=str(tmp_path / "state"),
        MUTTEFIK_STARTUP_MARKER=str(marker),
    )
    log = (tmp_path / "app.log").open("w")
    app = subprocess.Popen(
        [sys.executable, "-m", "ui.main", "--demo", "--profile", str(root)],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        # Polled: another process's window, no event to await here.
        deadline = time.monotonic() + START_TIMEOUT
        while not marker.exists():
            if app.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"no window (exit {app.poll()}):\n{(tmp_path / 'app.log').read_text()}")
            time.sleep(0.1)

        done = _cli(env, "--demo", "--profile", str(root), "sync", "--store", "demo STORE")
        assert done.returncode == 0, (done.stdout, done.stderr)
        assert f"The app is running; it syncs {DEMO_STORE_NAME} now." in done.stdout
        assert "Traceback" not in done.stderr

        # A store the app does not have: the app says so, the CLI fails with its words.
        done = _cli(env, "--demo", "--profile", str(root), "sync", "--store", "Nope")
        assert done.returncode == 2, (done.stdout, done.stderr)
        assert "no store named 'Nope'" in done.stderr

        # A history load too: the app loads it (its status bar shows it), or says it is
        # loading it already (the demo store's own first load may still run): either way
        # the app answered, not the profile lock.
        done = _cli(
            env,
            "--demo",
            "--profile",
            str(root),
            "sync",
            "--store",
            "demo store",
            "--history-days",
            "30",
        )
        loads = f"The app is running; it loads the order history of {DEMO_STORE_NAME} now"
        assert (done.returncode == 0 and loads in done.stdout) or (
            done.returncode == 2 and "is loading already" in done.stderr
        ), (done.stdout, done.stderr)

        # The privacy purge too: the app's scheduled purge job runs now.
        done = _cli(env, "--demo", "--profile", str(root), "purge")
        assert done.returncode == 0, (done.stdout, done.stderr)
        assert "The app is running; it erases the buyer data past its retention now" in (
            done.stdout
        )
        # A dry run cannot be handed over (the app purges as of now): the profile lock.
        done = _cli(env, "--demo", "--profile", str(root), "purge", "--dry-run")
        assert done.returncode == 2, (done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        assert app.poll() is None  # the app is still there
    finally:
        app.terminate()
        try:
            app.wait(timeout=20)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait()
        log.close()
    app_log = (tmp_path / "app.log").read_text()
    assert "Traceback" not in app_log, app_log


@pytest.fixture
def amazon() -> Any:
    clear_token_cache()
    with FakeSpApi(orders=3000, seed=5, speed=1.0, settle_seconds=0) as srv:
        yield srv
    clear_token_cache()


def _demo_profile_with_store(root: Path, srv: Any) -> Profile:
    profile = Profile(root, demo=True)
    secrets = bootstrap.secret_store_for(profile)
    vault, _ = bootstrap.open_vault(profile, secrets)
    core = Core(profile=profile, vault=vault, secrets=secrets)
    try:
        services = build_services(core)
        # The whole seeded history: more pages than the rate limit's burst.
        now = core.clock.now()
        vault.call_write(lambda c: settings.put(c, settings.SYNC_BACKFILL_DAYS, 130, now=now))
        services.stores.create_store(
            services.auth.demo_session().actor,
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
    return profile


def test_the_app_opens_while_a_cli_sync_holds_the_profile(
    use_secret_service: SecretServiceSession, tmp_path: Path, amazon: Any
) -> None:
    profile = _demo_profile_with_store(tmp_path / "demo-profile", amazon)
    marker = tmp_path / "shown"
    env = dict(
        use_secret_service.env(),
        PYTHONPATH=str(ROOT),
        QT_QPA_PLATFORM="offscreen",
        XDG_STATE_HOME=str(tmp_path / "state"),
        MUTTEFIK_STARTUP_MARKER=str(marker),
    )
    where = ["--demo", "--profile", str(profile.root)]
    cli = subprocess.Popen(
        [sys.executable, "-m", "app.cli", *where, "sync", "--store", "Main"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    reader = LineReader(cli)
    log = (tmp_path / "app.log").open("w")
    app: subprocess.Popen[bytes] | None = None
    try:
        lines = []
        while (line := reader.readline()) is not None:
            lines.append(line)
            if "pages" in line and "Syncing" not in line:  # a page is stored: mid-sync
                break
        assert line is not None, lines
        # From now on Amazon only throttles: the sync waits and retries (it never fails
        # on throttling), so it is still running, whatever the machine's load, when the
        # app asks it to stop.
        amazon.faults.set(Fault.THROTTLE, operation="searchOrders")
        app = subprocess.Popen(
            [sys.executable, "-m", "ui.main", *where],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        lines += reader.rest()  # the command stops and exits: its stdout ends
        assert cli.wait(timeout=30) == 0, lines
        # Polled: another process's window, no event to await here.
        deadline = time.monotonic() + START_TIMEOUT
        while not marker.exists():
            if app.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"no window (exit {app.poll()}):\n{(tmp_path / 'app.log').read_text()}")
            time.sleep(0.1)
    finally:
        for child in (cli, app):
            if child is not None and child.poll() is None:
                child.terminate()
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
        reader.close()
        log.close()
    assert cli.stderr is not None and cli.stdout is not None
    err = cli.stderr.read().decode()
    cli.stderr.close()
    cli.stdout.close()
    out = "\n".join(lines)
    assert "Müttefik Desk is opening this profile, so the sync stopped; the next sync" in out
    assert "stopped; the next sync continues from here" in out, (out, err)
    assert "Traceback" not in err
    # The command recorded its end before it let go (the app's own demo sync may follow).
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
    entries = [(action, json.loads(details)) for action, details in rows]
    assert [a for a, _ in entries[:2]] == ["sync_started", "sync_finished"], entries
    assert entries[1][1]["status"] == "cancelled", entries
