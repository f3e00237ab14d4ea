"""The main window's tabs, in order.  Each area adds one line here.

A factory gets the :class:`~ui.main_window.MainWindow` (for ``services``, ``session``,
``qt_events``) and returns the tab's widget.  ``admin_only`` tabs are hidden from agents.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from ui.main_window import MainWindow


@dataclass(frozen=True)
class TabSpec:
    key: str
    title: str
    factory: Callable[[MainWindow], QWidget]
    admin_only: bool = False


def _lazy(module: str, name: str) -> Callable[[MainWindow], QWidget]:
    """Import the tab's module only when the tab is built (keeps startup light)."""

    def build(window: MainWindow) -> QWidget:
        import importlib

        factory: Callable[[MainWindow], QWidget] = getattr(importlib.import_module(module), name)
        return factory(window)

    return build


TABS: list[TabSpec] = [
    TabSpec("orders", "Orders", _lazy("ui.views.orders", "make_tab")),
    TabSpec("home", "Overview", _lazy("ui.views.home", "make_tab")),
    TabSpec("operators", "Operators", _lazy("ui.views.operators", "make_tab"), admin_only=True),
    TabSpec("audit", "Audit log", _lazy("ui.views.audit", "make_tab"), admin_only=True),
]
