"""Main window: account and admin menu actions follow the signed-in operator."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QApplication

from app.services import build_services
from tests.helpers.windows import admin_session
from ui.dialogs.change_password import ChangePasswordDialog
from ui.events import QtEvents
from ui.main_window import MainWindow


def test_operator_can_open_change_password_and_lock_hides_name(qtbot: Any, core: Any) -> None:
    services = build_services(core)
    session = admin_session(services)
    events = QtEvents(core.notices)
    window = MainWindow(services, events, session)
    qtbot.addWidget(window)
    assert window._password_action.isVisible()
    assert window._stores_action.isVisible()
    assert window._mailboxes_action.isVisible()
    assert window._drafting_action.isVisible()
    assert window._shipping_action.isVisible()
    window._password_action.trigger()
    dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, ChangePasswordDialog)]
    assert len(dialogs) == 1
    dialogs[0].reject()
    window.set_locked(True)
    assert window._operator_label.text() == "Locked"
    assert not window.tools_menu.menuAction().isEnabled()
    window.set_locked(False)
    assert "Boss Person" in window._operator_label.text()
    events.close()


def test_demo_session_has_no_password_change(qtbot: Any, core: Any) -> None:
    from dataclasses import replace

    services = build_services(core)
    session = replace(admin_session(services), demo=True)
    events = QtEvents(core.notices)
    window = MainWindow(services, events, session)
    qtbot.addWidget(window)
    assert not window._password_action.isVisible()
    events.close()


def test_no_session_means_no_tabs_and_no_admin_actions(qtbot: Any, core: Any) -> None:
    """Fail closed: a window without a signed-in operator shows nothing and offers no
    admin action (it used to treat a missing session as an admin)."""
    services = build_services(core)
    events = QtEvents(core.notices)
    window = MainWindow(services, events, None)
    qtbot.addWidget(window)
    assert not window.is_admin
    assert window.tabs.count() == 0
    assert not window._stores_action.isVisible()
    assert not window._mailboxes_action.isVisible()
    assert not window._drafting_action.isVisible()
    assert not window._shipping_action.isVisible()
    assert not window._password_action.isVisible()
    window.manage_stores()
    assert window.tab("operators") is None and window.tab("orders") is None
    events.close()


def test_tools_amazon_stores_offers_to_load_order_history(qtbot: Any, core: Any) -> None:
    from ui.dialogs.stores import StoresDialog

    services = build_services(core)
    events = QtEvents(core.notices)
    window = MainWindow(services, events, admin_session(services))
    qtbot.addWidget(window)
    window._stores_action.trigger()
    dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, StoresDialog)]
    assert len(dialogs) == 1
    assert not dialogs[0].history_button.isHidden()  # the window passed services.history
    dialogs[0].reject()
    events.close()
