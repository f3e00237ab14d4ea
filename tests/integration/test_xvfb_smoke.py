"""The demo as a seller starts it, on a real X server: Xvfb, Qt's xcb platform plugin (not
offscreen), the installed ``muttefik`` command, the demo profile's key in a real keychain.

Catches what the offscreen tests cannot: a missing system library of the xcb plugin
("no Qt platform plugin could be initialized", packaging/apt/desktop.txt), a window that
never maps, a blank first paint, a quit that hangs or crashes.  Needs Xvfb, xdotool and
ImageMagick (.ci/run installs them).  ``MUTTEFIK_SMOKE_SHOT=FILE`` keeps the screenshot;
``MUTTEFIK_SMOKE_COMMAND=PATH`` runs another build of the app (the bundle).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.secret_service import SecretServiceSession
from tests.support import service_missing

pytestmark = pytest.mark.integration

TITLE = "Müttefik Desk — Demo"
START_TIMEOUT = 90  # seconds, first start: key, migrations, demo data, fake SP-API


def _tools() -> None:
    for binary, package in (
        ("Xvfb", "xvfb"),
        ("xdotool", "xdotool"),
        ("import", "imagemagick"),
        ("convert", "imagemagick"),
    ):
        if shutil.which(binary) is None:
            service_missing(f"{binary} not installed (apt-get install {package})")


@pytest.fixture
def display() -> Iterator[str]:
    """A private Xvfb; its display number is chosen by Xvfb (-displayfd), never guessed."""
    _tools()
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()  # written once the server accepts clients
    try:
        if not number:
            service_missing(f"Xvfb did not start (exit {xvfb.poll()})")
        yield f":{number}"
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)


def _muttefik() -> str:
    """The installed gui-script, as `make demo` runs it, or ``MUTTEFIK_SMOKE_COMMAND``
    (.ci/run points it at the PyInstaller bundle)."""
    if command := os.environ.get("MUTTEFIK_SMOKE_COMMAND"):
        return command
    path = Path(sys.executable).with_name("muttefik")
    if not path.exists():
        pytest.fail(f"{path} missing: the project is not installed in this venv")
    return str(path)


def _colours(png: Path) -> int:
    done = subprocess.run(
        ["convert", str(png), "-format", "%k", "info:"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return int(done.stdout.strip())


def _xdotool(display: str, *args: str, timeout: float = 10) -> str:
    done = subprocess.run(
        ["xdotool", *args],
        env=dict(os.environ, DISPLAY=display),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"xdotool {' '.join(args)}: {done.stderr}"
    return done.stdout


def test_demo_window_opens_paints_and_quits_on_xcb(display: str, tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    keychain = SecretServiceSession(home=tmp_path / "home", unlock=True).start()
    app: subprocess.Popen[str] | None = None
    try:
        env = dict(
            keychain.env(),
            DISPLAY=display,
            QT_QPA_PLATFORM="xcb",
            XDG_STATE_HOME=str(tmp_path / "state"),  # the log file, read below
            MUTTEFIK_STARTUP_MARKER=str(tmp_path / "shown"),
        )
        log = (tmp_path / "app.log").open("w")
        app = subprocess.Popen(
            [_muttefik(), "--demo"], env=env, stdout=log, stderr=subprocess.STDOUT, text=True
        )
        # Until a window with the title is mapped, or the app has exited (Qt aborts at once
        # without its xcb libraries). Polled: two outside processes, no event to await.
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            found = subprocess.run(
                ["xdotool", "search", "--onlyvisible", "--name", TITLE],
                env=dict(os.environ, DISPLAY=display),
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout
            if found.strip():
                break
            if app.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"no window (exit code {app.poll()}):\n{(tmp_path / 'app.log').read_text()}"
                )
            time.sleep(0.2)
        window = found.split()[0]

        # Mapped is not yet painted: grab until the window shows more than a flat fill
        # (an X screen has no "painted" event to wait for).
        shot = tmp_path / "window.png"
        deadline = time.monotonic() + 30
        while True:
            subprocess.run(
                ["import", "-window", window, str(shot)],
                env=dict(os.environ, DISPLAY=display),
                timeout=30,
                check=True,
            )
            colours = _colours(shot)
            if colours > 50 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        screen = tmp_path / "screen.png"
        subprocess.run(
            ["import", "-window", "root", str(screen)],
            env=dict(os.environ, DISPLAY=display),
            timeout=30,
            check=True,
        )
        if keep := os.environ.get("MUTTEFIK_SMOKE_SHOT"):
            shutil.copyfile(screen, keep)
        assert colours > 50, f"the window looks blank ({colours} colours)"
        assert _colours(screen) > 50
        assert (tmp_path / "shown").exists()  # the app itself reported the window shown

        # Quit as a seller does (File ▸ Quit, Ctrl+Q): the app must exit by itself, cleanly.
        _xdotool(display, "windowfocus", "--sync", window)
        _xdotool(display, "key", "--clearmodifiers", "ctrl+q")
        try:
            code = app.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail("the app did not quit within 60 s of Ctrl+Q")
        output = (tmp_path / "app.log").read_text()
        assert code == 0, output
        assert "Traceback" not in output, output
        # The app's log file: nothing went wrong, and Qt complained about nothing (a
        # missing plugin, font or icon is logged as a muttefik.qt warning).
        logs = list((tmp_path / "state").rglob("muttefik.log"))
        assert logs, "the app wrote no log file"
        text = logs[0].read_text(encoding="utf-8")
        assert "Müttefik Desk stopped (0)" in text, text
        problems = re.findall(r".*\b(?:WARNING|ERROR|CRITICAL)\s+muttefik.*", text)
        assert not problems, text
    finally:
        if app is not None and app.poll() is None:
            app.kill()
            app.wait()
        keychain.stop()
