"""app/ never imports Qt: import every app module in a fresh interpreter and look."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import importlib, json, pkgutil, sys
import app
names = []
for info in pkgutil.walk_packages(app.__path__, "app."):
    importlib.import_module(info.name)
    names.append(info.name)
qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "PyQt5", "PyQt6"))
print(json.dumps({"modules": names, "qt": qt}))
"""


def test_no_app_module_imports_qt() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "app.vault.db" in result["modules"] and "app.cli" in result["modules"]
    assert result["qt"] == [], f"app/ pulled in Qt: {result['qt']}"
