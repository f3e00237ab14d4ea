#!/usr/bin/env bash
# Build a one-folder bundle with PyInstaller (not part of `make test`).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pip install -q "pyinstaller>=6.6"
.venv/bin/pyinstaller --noconfirm packaging/muttefik.spec
echo "Bundle: dist/muttefik/muttefik"
