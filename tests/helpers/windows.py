"""Main-window helpers shared by the UI tests (real services on the test vault)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication

from app.services import build_services
from ui.events import QtEvents
from ui.main_window import MainWindow


def admin_session(services: Any) -> Any:
    """Enrol the first admin and return the signed-in session."""
    enrollment = services.auth.begin_first_admin(
        "boss", "Boss Person", "boss@example.com", "Tr0ub4dor&3-horse-Battery"
    )
    code = pyotp.TOTP(enrollment.totp_secret).at(services.core.clock.now())
    return services.auth.complete_enrollment(enrollment, code).session


def shown_admin_window(qtbot: Any, core: Any) -> tuple[MainWindow, QtEvents]:
    """The main window of a freshly signed-in admin, shown; close the events when done."""
    services = build_services(core)
    events = QtEvents(core.notices)
    window = MainWindow(services, events, admin_session(services))
    qtbot.addWidget(window)
    window.show()
    return window, events


@pytest.fixture(autouse=True)
def windows_go_before_the_vault(vault: Any, qtbot: Any) -> Iterator[None]:
    """Import into a test module of views that read or write in the background: its
    windows are deleted while the vault is still open, so a read landing after the
    test (a reload) or a debounced draft save is dropped, as for a closed window in the
    app, instead of reaching a closed vault or the next test."""
    yield
    for widget in QApplication.topLevelWidgets():
        widget.close()
        widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
