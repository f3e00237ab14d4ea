"""The CLI and the running app on one profile, as real processes: ``muttefik sync`` while
the app has the profile open hands the sync to the app instead of failing on the lock."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.demo.demo_profile import DEMO_STORE_NAME
from tests.helpers.secret_service import SecretServiceSession
from tests.integration.children import ROOT

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
