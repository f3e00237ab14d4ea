"""Qt test fixtures: every unexpected error reported by the app fails the test."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from typing import Any

import pytest

import ui.errors
from ui import ops


@pytest.fixture(autouse=True)
def _ops_bridge(qapp: Any) -> None:
    """The GUI-thread bridge exists before any worker finishes."""
    ops.install()


@pytest.fixture(autouse=True)
def fail_on_unexpected_errors(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """An exception that would reach the 'Unexpected error' box fails the test.

    Tests that provoke one on purpose take this fixture and clear the list.
    """
    reported: list[str] = []

    def record(etype: Any, value: Any, tb: Any, *, parent: Any = None) -> None:
        reported.append("".join(traceback.format_exception(etype, value, tb)))

    monkeypatch.setattr(ui.errors, "report_exception", record)
    yield reported
    if reported:
        pytest.fail("unexpected error reported by the app:\n" + reported[0], pytrace=False)
