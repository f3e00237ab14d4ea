"""Main-window helpers shared by the UI tests (real services on the test vault)."""

from __future__ import annotations

from typing import Any

import pyotp

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
