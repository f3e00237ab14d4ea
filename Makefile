# Müttefik Desk — the set-up commands of the README, plus lint, the bundle and the lock.
#
#   make demo     install the desktop libraries Qt needs if missing (apt-get, see
#                 packaging/apt/desktop.txt), create .venv from the lock, start the demo
#   make test     create .venv with the dev tools from the lock, lint, run every test headless
#   make lint     ruff (lint + format check), mypy (strict for app/, default for ui/)
#   make package  build the one-folder Linux bundle into dist/muttefik (PyInstaller)
#   make lock     re-resolve requirements/*.txt from pyproject.toml (after changing a
#                 dependency, or to take newer releases)
#
# Installs come only from the lock files, with every wheel's hash checked
# (pip --require-hashes); the project itself is then installed without dependencies.
# An install step re-runs only when its lock file is newer than its stamp file.

PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
LOCK     := requirements/lock.txt
DEV_LOCK := requirements/dev-lock.txt
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
PYTEST_ARGS ?=
# The tool that writes the lock files (make lock only; installs never need it).
UV_VERSION := 0.13.9

.PHONY: demo test lint package lock venv desktop-libs clean-venv

demo: desktop-libs $(RUN_STAMP)
	$(VENV)/bin/muttefik --demo

desktop-libs:
	@packaging/apt/ensure-desktop-libs

test: $(DEV_STAMP)
	@$(MAKE) --no-print-directory lint
	@echo "== pytest (QT_QPA_PLATFORM=offscreen)"
	@QT_QPA_PLATFORM=offscreen $(VPY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then \
		echo "make test: pytest collected no tests; that is a failure, not a pass." >&2; \
		exit 1; \
	fi; \
	exit $$rc

lint: $(DEV_STAMP)
	@echo "== ruff check"
	$(VENV)/bin/ruff check .
	@echo "== ruff format --check"
	$(VENV)/bin/ruff format --check .
	@echo "== mypy app (strict, see pyproject)"
	$(VENV)/bin/mypy app
	@echo "== mypy ui"
	$(VENV)/bin/mypy ui

package: $(DEV_STAMP)
	packaging/build.sh

venv: $(DEV_STAMP)

$(VPY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null || { \
		echo "Müttefik Desk needs Python 3.11 or newer as '$(PYTHON)'." >&2; \
		echo "  Debian/Ubuntu: sudo apt install python3   (or run: make PYTHON=python3.12 ...)" >&2; \
		exit 1; }
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { \
		v=$$($(PYTHON) -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")'); \
		echo "Python's venv module is not installed (Debian/Ubuntu ship it separately)." >&2; \
		echo "  Install it with:  sudo apt install python3-venv python$$v-venv" >&2; \
		echo "  then run make again." >&2; \
		exit 1; }
	$(PYTHON) -m venv $(VENV)

# install-from-lock LOCKFILE: the locked wheels (hashes checked), then the project itself.
define install-from-lock
	$(VPY) -m pip install --require-hashes -r $(1)
	$(VPY) -m pip install --no-deps --no-build-isolation -e .
	@# Changing PySide6's version makes pip remove PySide6/__init__.py, which the pyside6,
	@# -essentials and -addons wheels all claim; reinstalling the small meta wheel restores it.
	@$(VPY) -c 'import PySide6, sys; sys.exit(0 if PySide6.__file__ else 1)' 2>/dev/null || { \
		v=$$($(VPY) -c 'import importlib.metadata as m; print(m.version("pyside6"))'); \
		echo "== repairing PySide6 $$v (package __init__ missing after a version change)"; \
		$(VPY) -c 'import re, sys; print(re.search(r"^pyside6==" + re.escape(sys.argv[2]) \
			+ r"\b.*(\n +--hash=.*)+", open(sys.argv[1]).read(), re.M)[0])' $(1) $$v \
			> $(VENV)/pyside6-repair.txt; \
		$(VPY) -m pip install --force-reinstall --no-deps --require-hashes \
			-r $(VENV)/pyside6-repair.txt; }
endef

# The dev lock is a superset of the runtime lock (same versions), so after `make test`
# `make demo` installs nothing more.
$(RUN_STAMP): $(LOCK) pyproject.toml | $(VPY)
	$(call install-from-lock,$(LOCK))
	@touch $(RUN_STAMP)

$(DEV_STAMP): $(DEV_LOCK) pyproject.toml | $(VPY)
	$(call install-from-lock,$(DEV_LOCK))
	@touch $(DEV_STAMP) $(RUN_STAMP)

# One resolution for every supported Python (--universal: markers, e.g. PySide6's cap
# below 3.12, are kept in the file); the runtime lock is constrained to the dev lock's
# versions so the two never disagree.
lock: | $(VPY)
	$(VPY) -m pip install -q "uv==$(UV_VERSION)"
	$(VENV)/bin/uv pip compile --universal --python-version 3.11 --generate-hashes \
		--quiet --upgrade --extra dev --extra package \
		pyproject.toml requirements/build.in -o $(DEV_LOCK)
	$(VENV)/bin/uv pip compile --universal --python-version 3.11 --generate-hashes \
		--quiet --upgrade -c $(DEV_LOCK) pyproject.toml requirements/build.in -o $(LOCK)
	@echo "Updated $(LOCK) and $(DEV_LOCK); run make test, then commit both."

clean-venv:
	rm -rf $(VENV)
