"""The main window's tabs, in order.  Each area adds a factory and one line here.

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


# Each factory imports its view when the tab is built, not when this module loads (keeps
# startup light), and imports it by name in the code, not from a string, so PyInstaller
# finds the module and bundles it.


def _inbox(window: MainWindow) -> QWidget:
    from ui.views import inbox

    return inbox.make_tab(window)


def _orders(window: MainWindow) -> QWidget:
    from ui.views import orders

    return orders.make_tab(window)


def _home(window: MainWindow) -> QWidget:
    from ui.views import home

    return home.make_tab(window)


def _operators(window: MainWindow) -> QWidget:
    from ui.views import operators

    return operators.make_tab(window)


def _audit(window: MainWindow) -> QWidget:
    from ui.views import audit

    return audit.make_tab(window)


def _privacy(window: MainWindow) -> QWidget:
    from ui.views import privacy

    return privacy.make_tab(window)


# The inbox first: answering buyers within Amazon's 24 hours is the daily loop.
TABS: list[TabSpec] = [
    TabSpec("inbox", "Inbox", _inbox),
    TabSpec("orders", "Orders", _orders),
    TabSpec("home", "Overview", _home),
    TabSpec("operators", "Operators", _operators, admin_only=True),
    TabSpec("audit", "Audit log", _audit, admin_only=True),
    TabSpec("privacy", "Privacy", _privacy, admin_only=True),
]
