# Müttefik Desk — the two set-up commands of the README, plus lint.
#
#   make demo   create .venv if needed, install, start the app on the demo profile
#   make test   create .venv if needed, install with dev extras, lint, run every test headless
#   make lint   ruff (lint + format check), mypy (strict for app/, default for ui/)
#
# The install step re-runs only when pyproject.toml is newer than the stamp file.

PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-dev
PYTEST_ARGS ?=

.PHONY: demo test lint venv clean-venv

demo: $(STAMP)
	$(VENV)/bin/muttefik --demo

test: $(STAMP)
	@$(MAKE) --no-print-directory lint
	@echo "== pytest (QT_QPA_PLATFORM=offscreen)"
	@QT_QPA_PLATFORM=offscreen $(VPY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then \
		echo "make test: pytest collected no tests; that is a failure, not a pass." >&2; \
		exit 1; \
	fi; \
	exit $$rc

lint: $(STAMP)
	@echo "== ruff check"
	$(VENV)/bin/ruff check .
	@echo "== ruff format --check"
	$(VENV)/bin/ruff format --check .
	@echo "== mypy app (strict, see pyproject)"
	$(VENV)/bin/mypy app
	@echo "== mypy ui"
	$(VENV)/bin/mypy ui

venv: $(STAMP)

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

$(STAMP): pyproject.toml | $(VPY)
	$(VPY) -m pip install -e '.[dev]'
	@# Changing PySide6's version makes pip remove PySide6/__init__.py, which the pyside6,
	@# -essentials and -addons wheels all claim; reinstalling the small meta wheel restores it.
	@$(VPY) -c 'import PySide6, sys; sys.exit(0 if PySide6.__file__ else 1)' 2>/dev/null || { \
		v=$$($(VPY) -c 'import importlib.metadata as m; print(m.version("pyside6"))'); \
		echo "== repairing PySide6 $$v (package __init__ missing after a version change)"; \
		$(VPY) -m pip install --force-reinstall --no-deps "pyside6==$$v"; }
	@touch $(STAMP)

clean-venv:
	rm -rf $(VENV)
