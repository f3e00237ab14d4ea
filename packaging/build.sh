#!/usr/bin/env bash
# Build the one-folder Linux bundle dist/muttefik with PyInstaller. Run through
# `make package`, which first installs PyInstaller into .venv from requirements/dev-lock.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/pyinstaller ] || {
    echo "PyInstaller is not installed in .venv: run make package" >&2
    exit 1
}
start=$(date +%s)
.venv/bin/pyinstaller --noconfirm --log-level WARN \
    --workpath build/pyinstaller --distpath dist packaging/muttefik.spec
echo "Bundle: dist/muttefik/muttefik (built in $(($(date +%s) - start)) s)"
