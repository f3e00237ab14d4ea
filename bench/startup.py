"""Startup benchmark: process start → main window shown, vs a bare PySide6 window.

    .venv/bin/python bench/startup.py [--runs N]

Both are started the same way (``python -c …`` in a fresh process, offscreen) and report
the wall time at which their window was shown through a marker file (the app does that
when ``MUTTEFIK_STARTUP_MARKER`` is set, see ui/main.py).  The app opens a temp demo
profile whose key lives in a private gnome-keyring (Secret Service) started here, so
nothing of the user's own profile or keychain is touched.  One warm-up run creates the
profile (key, migrations) and the compiled modules; the measured runs reopen it, as a
seller's daily start does.
Target: ratio <= 4.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

APP = """
import sys
from ui.main import main
sys.exit(main(["--profile", sys.argv[1], "--demo"]))
"""

BARE = """
import os, sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv[:1])
window = QMainWindow()
window.setWindowTitle("bare")
window.resize(1280, 800)
window.show()
with open(os.environ["MUTTEFIK_STARTUP_MARKER"], "w") as fh:
    fh.write(f"{time.time():.6f}\\n")
QTimer.singleShot(0, window.close)
sys.exit(app.exec())
"""


def run_once(code: str, args: list[str], env: dict[str, str], marker: Path) -> float:
    marker.unlink(missing_ok=True)
    env = dict(env, MUTTEFIK_STARTUP_MARKER=str(marker), MUTTEFIK_QUIT_AFTER_START="1")
    start = time.time()
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
    )
    if not marker.exists():
        raise SystemExit(
            f"no window was shown (exit {done.returncode}):\n{done.stderr[-2000:]}\n"
            "Is MUTTEFIK_STARTUP_MARKER still written by ui/main.py?"
        )
    return float(marker.read_text()) - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="measured runs of each (default 9)")
    opts = parser.parse_args()

    from tests.integration.conftest import SecretServiceSession

    with tempfile.TemporaryDirectory(prefix="muttefik-bench-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        keychain = SecretServiceSession(home=home, unlock=True).start()
        try:
            env = dict(keychain.env(), QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
            # A seller's install has compiled modules (pip and the bundle write them); with
            # PYTHONDONTWRITEBYTECODE set (as on some build machines) every run would
            # compile the app's sources again and time that instead.
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            profile = str(Path(tmp) / "demo-profile")
            marker = Path(tmp) / "shown"
            first = run_once(APP, [profile], env, marker)
            run_once(BARE, [], env, marker)
            app_times: list[float] = []
            bare_times: list[float] = []
            for _ in range(opts.runs):  # interleaved, so drift hits both alike
                app_times.append(run_once(APP, [profile], env, marker))
                bare_times.append(run_once(BARE, [], env, marker))
        finally:
            keychain.stop()

    app_median = statistics.median(app_times)
    bare_median = statistics.median(bare_times)
    ratio = app_median / bare_median
    print(f"runs each: {opts.runs} (offscreen, demo profile, Secret Service keychain)")
    print(f"first run (creates key + database): {first:.3f} s")
    print(
        f"Müttefik Desk to main window, median: {app_median:.3f} s "
        f"(min {min(app_times):.3f}, max {max(app_times):.3f})"
    )
    print(
        f"bare PySide6 window, median:          {bare_median:.3f} s "
        f"(min {min(bare_times):.3f}, max {max(bare_times):.3f})"
    )
    print(f"ratio: {ratio:.2f} (target <= 4) {'OK' if ratio <= 4 else 'OVER TARGET'}")
    return 0 if ratio <= 4 else 1


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.exit(main())
