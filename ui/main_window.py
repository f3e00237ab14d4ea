"""The main window: tabs, menu, status bar, demo banner and the lock screen.

Fail closed: without a signed-in operator (``session`` None) it shows no tabs and offers
no account or admin action.

Signals: ``lock_requested`` (the seller chose Lock), ``closing``.
Thread: GUI only.  It never touches the vault; tabs read through the services.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app import __version__
from app.services import Services
from ui.events import QtEvents
from ui.tabs import TABS, TabSpec


class MainWindow(QMainWindow):
    lock_requested = Signal()
    closing = Signal()

    def __init__(self, services: Services, qt_events: QtEvents, session: Any = None) -> None:
        super().__init__()
        self.services = services
        self.qt_events = qt_events
        self.session = session
        profile = services.core.profile
        self.setObjectName("mainWindow")
        self.setWindowTitle(
            "Müttefik Desk — Demo" if profile.demo else f"Müttefik Desk — {profile.name}"
        )
        self.resize(1280, 800)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("mainTabs")
        self.tabs.setDocumentMode(True)
        self._tab_widgets: dict[str, QWidget] = {}
        self._tab_specs: dict[str, TabSpec] = {}
        self._tab_holders: dict[str, QWidget] = {}
        self.tabs.currentChanged.connect(lambda _i: self._materialize_current())

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.banner = QLabel()
        self.banner.setObjectName("demoBanner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(
            "QLabel#demoBanner { background: #fff3cd; color: #664d03; padding: 6px 12px;"
            " border-bottom: 1px solid #ffe69c; }"
        )
        self.banner.setVisible(False)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)

        self.lock_page = QLabel("Müttefik Desk is locked.\nSign in to continue.")
        self.lock_page.setObjectName("lockPage")
        self.lock_page.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.lock_page.setStyleSheet("font-size: 16px; color: palette(mid);")

        self.stack = QStackedWidget()
        self.stack.addWidget(content)
        self.stack.addWidget(self.lock_page)
        self.setCentralWidget(self.stack)

        self._build_menu()
        self._build_status_bar()
        self._stores_action.setVisible(self.is_admin)
        self._mailboxes_action.setVisible(self.is_admin)
        self._drafting_action.setVisible(self.is_admin)
        self._shipping_action.setVisible(self.is_admin)
        self._password_action.setVisible(_can_change_password(session))
        if profile.demo:
            self.show_banner(
                "Demo profile: everything here is made-up demo data, and you are signed in "
                "automatically as “demo”. Your real profile is separate."
            )
        self.build_tabs()
        self.tray = self._make_tray()

    # --- tabs -----------------------------------------------------------------------

    @property
    def is_admin(self) -> bool:
        """True only for a signed-in admin (no session: False)."""
        role = getattr(getattr(self.session, "actor", None), "role", None)
        return role is not None and str(getattr(role, "value", role)) == "admin"

    def build_tabs(self, specs: list[TabSpec] | None = None) -> None:
        """(Re)build the tabs for the current session's role.

        Each tab's content is built when the tab is first shown (or asked for with
        :meth:`tab`): the window appears without waiting for views the seller may not
        open, and their first queries don't compete with the visible tab's.
        """
        current = self.current_tab_key()
        self.tabs.blockSignals(True)
        while self.tabs.count():
            widget = self.tabs.widget(0)
            self.tabs.removeTab(0)
            if widget is not None:
                widget.deleteLater()
        self._tab_widgets.clear()
        self._tab_specs = {}
        self._tab_holders = {}
        signed_in = getattr(self.session, "actor", None) is not None
        for spec in specs if specs is not None else TABS:
            if not signed_in or (spec.admin_only and not self.is_admin):
                continue
            holder = QWidget()
            holder.setProperty("tabKey", spec.key)
            holder_layout = QVBoxLayout(holder)
            holder_layout.setContentsMargins(0, 0, 0, 0)
            self._tab_specs[spec.key] = spec
            self._tab_holders[spec.key] = holder
            self.tabs.addTab(holder, spec.title)
        self.tabs.blockSignals(False)
        if current in self._tab_holders:
            self.tabs.setCurrentWidget(self._tab_holders[current])
        self._materialize_current()

    def _materialize_current(self) -> None:
        key = self.current_tab_key()
        if key is not None:
            self.tab(key)

    def tab(self, key: str) -> QWidget | None:
        """The tab's content widget, built now if it has not been shown yet."""
        widget = self._tab_widgets.get(key)
        if widget is None and key in self._tab_specs:
            widget = self._tab_specs[key].factory(self)
            widget.setProperty("tabKey", key)
            self._tab_widgets[key] = widget
            layout = self._tab_holders[key].layout()
            assert layout is not None
            layout.addWidget(widget)
        return widget

    def current_tab_key(self) -> str | None:
        widget = self.tabs.currentWidget()
        key = None if widget is None else widget.property("tabKey")
        return str(key) if key else None

    def set_session(self, session: Any) -> None:
        """A (possibly different) operator signed in: rebuild role-dependent parts."""
        self.session = session
        self._operator_label.setText(_operator_text(session))
        self._stores_action.setVisible(self.is_admin)
        self._mailboxes_action.setVisible(self.is_admin)
        self._drafting_action.setVisible(self.is_admin)
        self._shipping_action.setVisible(self.is_admin)
        self._password_action.setVisible(_can_change_password(session))
        self.build_tabs()
        self.set_locked(False)

    def show_inbox(self) -> None:
        """The tray's notice was clicked: bring the window up on the Inbox tab."""
        self.showNormal()
        self.raise_()
        self.activateWindow()
        if "inbox" in self._tab_holders:
            self.tabs.setCurrentWidget(self._tab_holders["inbox"])

    def _make_tray(self) -> Any:
        from PySide6.QtWidgets import QApplication

        from ui.tray import TrayNotifier

        tray = TrayNotifier(
            services=self.services,
            actor=lambda: getattr(self.session, "actor", None),
            qt_events=self.qt_events,
            icon=QApplication.windowIcon(),
            parent=self,
        )
        tray.inbox_requested.connect(self.show_inbox)
        self.closing.connect(tray.close)
        return tray

    # --- lock screen ----------------------------------------------------------------

    def set_locked(self, locked: bool) -> None:
        """Hide everything a passer-by could read or use; background work goes on."""
        self.stack.setCurrentIndex(1 if locked else 0)
        self._lock_action.setEnabled(not locked)
        for menu in (self.tools_menu, self.help_menu):
            menu.menuAction().setEnabled(not locked)
        self._operator_label.setText("Locked" if locked else _operator_text(self.session))

    @property
    def locked(self) -> bool:
        return self.stack.currentIndex() == 1

    # --- chrome ---------------------------------------------------------------------

    def show_banner(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.setVisible(True)

    def add_status_widget(self, widget: QWidget, *, permanent: bool = True) -> None:
        if permanent:
            self.statusBar().addPermanentWidget(widget)
        else:
            self.statusBar().addWidget(widget)

    def _build_menu(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._lock_action = QAction("&Lock", self)
        self._lock_action.setShortcut(QKeySequence("Ctrl+L"))
        self._lock_action.triggered.connect(self.lock_requested)
        file_menu.addAction(self._lock_action)
        self._password_action = QAction("Change my &password…", self)
        self._password_action.triggered.connect(self.change_password)
        file_menu.addAction(self._password_action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        self.tools_menu = bar.addMenu("&Tools")
        self._stores_action = QAction("Amazon &stores…", self)
        self._stores_action.triggered.connect(self.manage_stores)
        self.tools_menu.addAction(self._stores_action)
        self._mailboxes_action = QAction("&Mailboxes…", self)
        self._mailboxes_action.triggered.connect(self.manage_mailboxes)
        self.tools_menu.addAction(self._mailboxes_action)
        self._drafting_action = QAction("Dra&fting…", self)
        self._drafting_action.triggered.connect(self.manage_drafting)
        self.tools_menu.addAction(self._drafting_action)
        self._shipping_action = QAction("S&hipping…", self)
        self._shipping_action.triggered.connect(self.manage_shipping)
        self.tools_menu.addAction(self._shipping_action)
        check = QAction("Check &database…", self)
        check.triggered.connect(self.check_database)
        self.tools_menu.addAction(check)

        self.help_menu = bar.addMenu("&Help")
        about = QAction("&About Müttefik Desk", self)
        about.triggered.connect(self._about)
        self.help_menu.addAction(about)

    def _build_status_bar(self) -> None:
        core = self.services.core
        status = self.statusBar()
        status.setObjectName("statusBar")
        profile_label = QLabel(f"Profile: {core.profile.name}")
        profile_label.setObjectName("profileLabel")
        profile_label.setToolTip(str(core.profile.root))
        key_label = QLabel(f"Key: {core.key_mode.label}")
        key_label.setObjectName("keyModeLabel")
        key_label.setToolTip(
            "The database key is kept in your system keychain."
            if core.key_mode.value == "keychain"
            else "The database key is derived from your passphrase, asked at every start."
        )
        self._operator_label = QLabel(_operator_text(self.session))
        self._operator_label.setObjectName("operatorLabel")
        self.integrity_label = QLabel("")
        self.integrity_label.setObjectName("integrityLabel")
        status.addPermanentWidget(self.integrity_label)
        status.addPermanentWidget(self._operator_label)
        status.addPermanentWidget(profile_label)
        status.addPermanentWidget(key_label)

    def change_password(self) -> None:
        """The signed-in operator changes their own password (not in the demo)."""
        from ui.dialogs.change_password import ChangePasswordDialog

        actor = getattr(self.session, "actor", None)
        if actor is None or getattr(self.session, "demo", False):
            return
        ChangePasswordDialog(auth=self.services.auth, actor=actor, parent=self).open()

    def manage_stores(self) -> None:
        """Admins: connect, edit and remove Amazon stores."""
        from ui.dialogs.stores import StoresDialog

        actor = getattr(self.session, "actor", None)
        if actor is None or not self.is_admin:
            return
        StoresDialog(
            store_service=self.services.stores,
            actor=actor,
            history=self.services.history,
            settings_service=self.services.settings,
            qt_events=self.qt_events,
            parent=self,
        ).open()

    def manage_mailboxes(self) -> None:
        """Admins: connect, edit and disconnect each store's mailbox."""
        from ui.dialogs.mailbox import MailboxesDialog

        actor = getattr(self.session, "actor", None)
        if actor is None or not self.is_admin:
            return
        MailboxesDialog(
            store_service=self.services.stores,
            mail_service=self.services.mail,
            actor=actor,
            parent=self,
        ).open()

    def manage_drafting(self) -> None:
        """Admins: drafting providers, tone and policies, reply templates."""
        from ui.dialogs.drafting import DraftingDialog

        actor = getattr(self.session, "actor", None)
        if actor is None or not self.is_admin:
            return
        DraftingDialog(
            drafting=self.services.drafting,
            settings_service=self.services.settings,
            actor=actor,
            parent=self,
        ).open()

    def manage_shipping(self) -> None:
        """Admins: ship-from addresses, package presets, label printers, reprint cache."""
        from ui.dialogs.shipping import ShippingDialog

        actor = getattr(self.session, "actor", None)
        if actor is None or not self.is_admin:
            return
        ShippingDialog(services=self.services, actor=actor, parent=self).open()

    def check_database(self) -> None:
        """Run the full integrity check in the background (menu action)."""
        from ui.startup_checks import start_integrity_check

        start_integrity_check(self, interactive=True)

    def _about(self) -> None:
        QMessageBox.about(
            self,
            "About Müttefik Desk",
            f"<b>Müttefik Desk {__version__}</b><p>Buyer messages, orders and shipping "
            "labels for Amazon sellers, kept encrypted on this computer.</p>",
        )

    def closeEvent(self, event: QCloseEvent) -> None:
        self.closing.emit()
        super().closeEvent(event)


def _operator_text(session: Any) -> str:
    actor = getattr(session, "actor", None)
    if actor is None:
        return ""
    name = getattr(actor, "display_name", None) or getattr(actor, "username", "")
    return f"Signed in: {name}"


def _can_change_password(session: Any) -> bool:
    return getattr(session, "actor", None) is not None and not getattr(session, "demo", False)
