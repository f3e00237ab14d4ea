"""Tools → Mailboxes (admins): each store's mailbox, and the form that connects one.

:class:`MailboxesDialog` lists the stores with their mailbox (or "not connected") and
offers Connect / Edit / Disconnect.  :class:`MailboxDialog` is the form, built like the
store dialog (``ui/dialogs/store.py``): the fields are checked first on the GUI thread
(``validate_account`` is pure), a field at fault gets its message right under it and
nothing is saved; "Test connection" and "Save" then run in the background
(:class:`ui.ops.Op`) and their outcome appears inside the dialog in a seller's words.
Passwords go from the fields to the mail service (the keychain) only: never logged,
never written to a file; an empty password field when editing keeps the stored one.

Signals: ``MailboxDialog.mailbox_saved(object)`` with the saved
:class:`~app.mail.models.MailAccount`.  Thread: GUI only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIntValidator
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.amazon.models import Store
from app.auth.models import Actor
from app.errors import UserError
from app.mail.models import MailAccount, MailboxKind, MailPasswords, Security
from app.mail.service import MailPasswordMissing, MailSettingsInvalid, validate_account
from app.mail.transport import (
    InsecureConnectionRefused,
    MailAuthFailed,
    MailboxMissing,
    MailUnreachable,
)
from ui.dialogs.forms import (
    BAD_FIELD,
    BUSY_STYLE,
    ERR_STYLE,
    OK_STYLE,
    esc,
    field_error_label,
    result_label,
)
from ui.ops import Job, Lane, Op, when_done

IMAP_PORTS = {Security.TLS: 993, Security.STARTTLS: 143, Security.PLAIN: 143}
SMTP_PORTS = {Security.TLS: 465, Security.STARTTLS: 587, Security.PLAIN: 25}
SECURITY_LABELS = {
    Security.TLS: "TLS (recommended)",
    Security.STARTTLS: "STARTTLS",
    Security.PLAIN: "None (this computer only)",
}

# MailSettingsInvalid names its field in words only: the words → the field to mark.
_FIELD_WORDS = (
    ("From address", "from_address"),
    ("incoming (IMAP) server", "imap_host"),
    ("IMAP port", "imap_port"),
    ("IMAP connection", "imap_security"),
    ("mailbox user name", "imap_user"),
    ("inbox folder", "inbox_folder"),
    ("Sent folder", "sent_folder"),
    ("Maildir folder", "maildir_path"),
    ("outgoing (SMTP) server", "smtp_host"),
    ("SMTP port", "smtp_port"),
    ("SMTP connection", "smtp_security"),
    ("SMTP user name", "smtp_user"),
)


def field_of(error: UserError, kind: MailboxKind) -> str | None:
    """The form field a settings error is about (None: not one field)."""
    named: str | None = getattr(error, "field", None)
    if named:
        return named
    if isinstance(error, MailPasswordMissing):
        return "imap_password" if kind is MailboxKind.IMAP else "smtp_password"
    if isinstance(error, MailSettingsInvalid):
        for words, field in _FIELD_WORDS:
            if words in error.message:
                return field
    return None


@dataclass(frozen=True)
class _Row:
    store: Store
    account: MailAccount | None


class MailboxesDialog(QDialog):
    """The stores and their mailboxes (admins)."""

    def __init__(
        self,
        *,
        store_service: Any,
        mail_service: Any,
        actor: Actor,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mailboxesDialog")
        self.setWindowTitle("Mailboxes")
        self.setMinimumSize(620, 360)
        self._stores = store_service
        self._mail = mail_service
        self._actor = actor
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Amazon forwards buyer messages to the email address each store registered "
            "in Seller Central. Connect that mailbox so the messages arrive in the Inbox "
            "and your replies go back through Amazon. Mailbox passwords are kept in your "
            "system keychain."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        body = QHBoxLayout()
        self.list = QListWidget()
        self.list.setObjectName("mailboxesList")
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        self.list.itemDoubleClicked.connect(lambda _item: self.open_selected())
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        body.addWidget(self.list, 1)
        buttons = QVBoxLayout()
        self.connect_button = QPushButton("Connect…")
        self.connect_button.clicked.connect(self.open_selected)
        self.edit_button = QPushButton("Edit…")
        self.edit_button.clicked.connect(self.open_selected)
        self.disconnect_button = QPushButton("Disconnect…")
        self.disconnect_button.clicked.connect(self.disconnect_mailbox)
        for button in (self.connect_button, self.edit_button, self.disconnect_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        body.addLayout(buttons)
        layout.addLayout(body, 1)
        self.empty = QLabel("No store is connected yet: add one in Tools → Amazon stores.")
        self.empty.setObjectName("mailboxesEmpty")
        self.empty.setVisible(False)
        layout.addWidget(self.empty)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout.addWidget(close)
        self._update_buttons()
        self.reload()

    def reload(self) -> None:
        stores = self._stores.list_stores(self._actor)
        accounts = self._mail.accounts(self._actor)

        def got_stores(found: list[Store]) -> None:
            when_done(accounts, lambda a: self._show(found, a), parent=self)

        when_done(stores, got_stores, parent=self)

    def _show(self, stores: list[Store], accounts: list[MailAccount]) -> None:
        by_store = {a.store_id: a for a in accounts}
        keep = self.selected()
        self.list.clear()
        for store in stores:
            account = by_store.get(store.id)
            demo = "  (demo)" if store.demo else ""
            item = QListWidgetItem(f"{store.name}{demo}\n{describe(account)}")
            item.setData(Qt.ItemDataRole.UserRole, _Row(store, account))
            self.list.addItem(item)
            if keep is not None and keep.store.id == store.id:
                self.list.setCurrentItem(item)
        self.empty.setVisible(not stores)
        if stores and self.list.currentItem() is None:
            self.list.setCurrentRow(0)
        self._update_buttons()

    def selected(self) -> _Row | None:
        item = self.list.currentItem()
        row = None if item is None else item.data(Qt.ItemDataRole.UserRole)
        return row if isinstance(row, _Row) else None

    def _update_buttons(self) -> None:
        row = self.selected()
        connected = row is not None and row.account is not None
        self.connect_button.setEnabled(row is not None and not connected)
        self.edit_button.setEnabled(connected)
        self.disconnect_button.setEnabled(connected)
        (self.edit_button if connected else self.connect_button).setDefault(True)

    def open_selected(self) -> MailboxDialog | None:
        row = self.selected()
        if row is None:
            return None
        dialog = MailboxDialog(
            mail_service=self._mail,
            actor=self._actor,
            store=row.store,
            account=row.account,
            parent=self,
        )
        dialog.mailbox_saved.connect(lambda _a: self.reload())
        dialog.open()
        return dialog

    def disconnect_mailbox(self) -> None:
        row = self.selected()
        if row is None or row.account is None:
            return
        answer = QMessageBox.question(
            self,
            "Disconnect mailbox",
            f"Disconnect the mailbox of “{row.store.name}”? New buyer messages stop "
            "arriving in the Inbox and replies cannot be sent until it is connected again. "
            "Messages already in the Inbox stay; the mailbox passwords are removed from "
            "your keychain. Nothing is deleted in the mailbox itself.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        mail, actor, store_id = self._mail, self._actor, row.store.id
        Op(self, lambda _job: mail.remove_account(actor, store_id)).on_success(
            lambda _r: self.reload()
        ).run()


def describe(account: MailAccount | None) -> str:
    """One line about a mailbox for the list (no secrets)."""
    if account is None:
        return "Mailbox not connected"
    if account.kind is MailboxKind.MAILDIR:
        incoming = f"Maildir folder {account.maildir_path}"
    else:
        security = SECURITY_LABELS.get(account.imap_security or Security.TLS, "")
        incoming = f"IMAP {account.imap_user}@{account.imap_host} ({security.split(' (')[0]})"
    sending = f"sends as {account.from_address}" if account.smtp_host else "no outgoing server"
    return f"{incoming} · {sending}"


class MailboxDialog(QDialog):
    mailbox_saved = Signal(object)

    def __init__(
        self,
        *,
        mail_service: Any,
        actor: Actor,
        store: Store,
        account: MailAccount | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mailboxDialog")
        self._service = mail_service
        self._actor = actor
        self._store = store
        self._account = account
        self._busy = False
        self._attempt = 0  # a test's result is shown only if no later one (or Cancel) came
        self.test_future: Any = None
        self.last_error: UserError | None = None
        self.last_result: str | None = None
        editing = account is not None
        self.setWindowTitle(f"Mailbox of {store.name}" if editing else "Connect a mailbox")
        self.setMinimumWidth(860)
        self.field_errors: dict[str, QLabel] = {}
        self._field_widgets: dict[str, QWidget] = {}
        self._field_forms: dict[str, QFormLayout] = {}

        outer = QVBoxLayout(self)
        top = QFormLayout()
        store_label = QLabel(store.name)
        store_label.setObjectName("mailboxStore")
        top.addRow("Store:", store_label)
        self.from_address = QLineEdit(account.from_address if account else "")
        self.from_address.setObjectName("fromAddress")
        self.from_address.setPlaceholderText("orders@yourshop.com")
        top.addRow("From address:", self.from_address)
        self._add_field_error(top, "from_address", self.from_address)
        why = QLabel(
            "The address registered with Amazon in Seller Central. Amazon relays your "
            "replies to buyers only when they come from it."
        )
        why.setObjectName("fromAddressHint")
        # One line at the dialog's width; wrapped, the form gave it three lines' height.
        why.setStyleSheet("color: #555;")
        top.addRow("", why)
        outer.addLayout(top)

        groups = QHBoxLayout()
        groups.addWidget(self._build_incoming(account), 1)
        groups.addWidget(self._build_outgoing(account), 1)
        outer.addLayout(groups)

        note = QLabel(
            "Passwords are stored in your system keychain, never in Müttefik Desk's data "
            "file."
            + (" Leave a password empty to keep the stored one." if _has_passwords(account) else "")
        )
        note.setObjectName("keychainNote")
        note.setWordWrap(True)
        note.setStyleSheet("color: #555;")
        outer.addWidget(note)

        test_row = QHBoxLayout()
        self.test_button = QPushButton("Test connection")
        self.test_button.setObjectName("testConnection")
        self.test_button.setAutoDefault(False)
        self.test_button.clicked.connect(self.test_connection)
        test_row.addWidget(self.test_button)
        test_row.addStretch(1)
        outer.addLayout(test_row)
        self.result_label = result_label("testResult")
        outer.addWidget(self.result_label)
        outer.addStretch(1)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        outer.addWidget(self.buttons)

        kind = account.kind if account else MailboxKind.IMAP
        (self.maildir_choice if kind is MailboxKind.MAILDIR else self.imap_choice).setChecked(True)
        self._kind_changed()
        # A test's answer is about the values it tested: any change takes it away.
        for edit in self.findChildren(QLineEdit):
            edit.textEdited.connect(lambda _t: self._stale())
        for combo in self.findChildren(QComboBox):
            combo.activated.connect(lambda _i: self._stale())
        self.kind_group.buttonClicked.connect(lambda _b: self._stale())
        self.maildir_path.textChanged.connect(self.maildir_path.setToolTip)
        self.maildir_path.setToolTip(self.maildir_path.text())
        self.from_address.setFocus()

    # --- form -----------------------------------------------------------------------

    def _build_incoming(self, account: MailAccount | None) -> QGroupBox:
        box = QGroupBox("Incoming: where buyer messages arrive")
        layout = QVBoxLayout(box)
        choice = QHBoxLayout()
        self.imap_choice = QRadioButton("IMAP server")
        self.imap_choice.setObjectName("kindImap")
        self.maildir_choice = QRadioButton("Maildir folder on this computer")
        self.maildir_choice.setObjectName("kindMaildir")
        self.kind_group = QButtonGroup(box)
        self.kind_group.addButton(self.imap_choice)
        self.kind_group.addButton(self.maildir_choice)
        self.imap_choice.toggled.connect(lambda _on: self._kind_changed())
        choice.addWidget(self.imap_choice)
        choice.addWidget(self.maildir_choice)
        choice.addStretch(1)
        layout.addLayout(choice)
        self.incoming_stack = QStackedWidget()
        layout.addWidget(self.incoming_stack)

        imap_page = QWidget()
        form = QFormLayout(imap_page)
        form.setContentsMargins(0, 0, 0, 0)
        imap = account if account and account.kind is MailboxKind.IMAP else None
        self.imap_host = self._line("imapHost", imap.imap_host if imap else "", "imap.example.com")
        form.addRow("Server:", self.imap_host)
        self._add_field_error(form, "imap_host", self.imap_host)
        self.imap_security = self._security_combo(
            "imapSecurity", imap.imap_security if imap else None
        )
        form.addRow("Security:", self.imap_security)
        self._add_field_error(form, "imap_security", self.imap_security)
        self.imap_port = self._port("imapPort", imap.imap_port if imap else None)
        form.addRow("Port:", self.imap_port)
        self._add_field_error(form, "imap_port", self.imap_port)
        self._follow_port(self.imap_security, self.imap_port, IMAP_PORTS)
        self.imap_user = self._line(
            "imapUser", imap.imap_user if imap else "", "same as the From address"
        )
        form.addRow("User name:", self.imap_user)
        self._add_field_error(form, "imap_user", self.imap_user)
        self.imap_password = self._password(
            "imapPassword", "stored in your keychain" if imap else "", False
        )
        form.addRow("Password:", self.imap_password)
        self._add_field_error(form, "imap_password", self.imap_password)
        self.inbox_folder = self._line(
            "inboxFolder", imap.inbox_folder if imap else "INBOX", "INBOX"
        )
        form.addRow("Inbox folder:", self.inbox_folder)
        self._add_field_error(form, "inbox_folder", self.inbox_folder)
        self.sent_folder = self._line(
            "sentFolder", (imap.sent_folder or "") if imap else "", "found automatically"
        )
        form.addRow("Sent folder:", self.sent_folder)
        self._add_field_error(form, "sent_folder", self.sent_folder)
        self.incoming_stack.addWidget(imap_page)

        maildir_page = QWidget()
        mform = QFormLayout(maildir_page)
        mform.setContentsMargins(0, 0, 0, 0)
        path_row = QWidget()
        prow = QHBoxLayout(path_row)
        prow.setContentsMargins(0, 0, 0, 0)
        self.maildir_path = self._line(
            "maildirPath",
            (account.maildir_path or "") if account else "",
            "a folder with cur, new and tmp inside",
        )
        prow.addWidget(self.maildir_path, 1)
        self.browse_button = QPushButton("Choose…")
        self.browse_button.setObjectName("chooseMaildir")
        self.browse_button.setAutoDefault(False)
        self.browse_button.clicked.connect(self.choose_maildir)
        prow.addWidget(self.browse_button)
        mform.addRow("Folder:", path_row)
        self._add_field_error(mform, "maildir_path", path_row)
        self._field_widgets["maildir_path"] = self.maildir_path
        hint = QLabel(
            "For mail that another program (for example mbsync or offlineimap) keeps in a "
            "Maildir. Müttefik Desk reads it in place and changes nothing in it."
        )
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #555;")
        mform.addRow(hint)
        self.incoming_stack.addWidget(maildir_page)
        return box

    def _build_outgoing(self, account: MailAccount | None) -> QGroupBox:
        box = QGroupBox("Outgoing (SMTP): how your replies are sent")
        form = QFormLayout(box)
        self.smtp_host = self._line(
            "smtpHost", (account.smtp_host or "") if account else "", "smtp.example.com"
        )
        form.addRow("Server:", self.smtp_host)
        self._add_field_error(form, "smtp_host", self.smtp_host)
        self.smtp_security = self._security_combo(
            "smtpSecurity", account.smtp_security if account else None
        )
        form.addRow("Security:", self.smtp_security)
        self._add_field_error(form, "smtp_security", self.smtp_security)
        self.smtp_port = self._port("smtpPort", account.smtp_port if account else None)
        form.addRow("Port:", self.smtp_port)
        self._add_field_error(form, "smtp_port", self.smtp_port)
        self._follow_port(self.smtp_security, self.smtp_port, SMTP_PORTS)
        self.smtp_user = self._line(
            "smtpUser", (account.smtp_user or "") if account else "", "same as incoming"
        )
        form.addRow("User name:", self.smtp_user)
        self._add_field_error(form, "smtp_user", self.smtp_user)
        self.smtp_password = self._password(
            "smtpPassword",
            "empty: unchanged" if account and account.smtp_host else "empty: same as incoming",
            True,
        )
        form.addRow("Password:", self.smtp_password)
        self._add_field_error(form, "smtp_password", self.smtp_password)
        self.smtp_hint = QLabel()
        self.smtp_hint.setWordWrap(True)
        self.smtp_hint.setStyleSheet("color: #555;")
        form.addRow(self.smtp_hint)
        return box

    def _line(self, name: str, text: str | None, placeholder: str) -> QLineEdit:
        edit = QLineEdit(text or "")
        edit.setObjectName(name)
        edit.setPlaceholderText(placeholder)
        return edit

    def _password(self, name: str, placeholder: str, optional: bool) -> QLineEdit:
        edit = self._line(name, "", placeholder or ("optional" if optional else ""))
        edit.setEchoMode(QLineEdit.EchoMode.Password)
        return edit

    def _security_combo(self, name: str, current: Security | None) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName(name)
        for security, label in SECURITY_LABELS.items():
            combo.addItem(label, security)
        combo.setCurrentIndex(combo.findData(current or Security.TLS))
        return combo

    def _port(self, name: str, port: int | None) -> QLineEdit:
        edit = self._line(name, str(port) if port else "", "")
        edit.setValidator(QIntValidator(0, 65535, edit))
        edit.setMaximumWidth(90)
        return edit

    def _follow_port(
        self, combo: QComboBox, port: QLineEdit, defaults: dict[Security, int]
    ) -> None:
        """The port follows the security choice while it is empty or still a default."""
        if not port.text():
            port.setText(str(defaults[_security(combo)]))

        def changed(_index: int) -> None:
            if port.text() in {"", *(str(p) for p in defaults.values())}:
                port.setText(str(defaults[_security(combo)]))

        combo.currentIndexChanged.connect(changed)

    def _add_field_error(self, form: QFormLayout, field: str, widget: QWidget) -> None:
        label = field_error_label(form, field)
        self.field_errors[field] = label
        self._field_widgets[field] = widget
        self._field_forms[field] = form

    def kind(self) -> MailboxKind:
        return MailboxKind.MAILDIR if self.maildir_choice.isChecked() else MailboxKind.IMAP

    def _kind_changed(self) -> None:
        maildir = self.kind() is MailboxKind.MAILDIR
        self.incoming_stack.setCurrentIndex(1 if maildir else 0)
        self.smtp_hint.setText(
            "Optional for a Maildir: without it, replies cannot be sent from Müttefik Desk."
            if maildir
            else "Replies to buyers are sent through this server, from the From address."
        )
        self.smtp_user.setPlaceholderText(
            "same as the From address" if maildir else "same as incoming"
        )
        if not (self._account and self._account.smtp_host):
            self.smtp_password.setPlaceholderText(
                "if the server asks for one" if maildir else "empty: same as incoming"
            )

    def choose_maildir(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Choose the Maildir folder", self.maildir_path.text().strip()
        )
        if folder:
            self.maildir_path.setText(folder)

    def account(self) -> MailAccount:
        """The mailbox as the form shows it (not checked yet)."""
        from_address = self.from_address.text().strip()
        smtp_host = self.smtp_host.text().strip() or None
        outgoing = MailAccount(
            store_id=self._store.id,
            kind=self.kind(),
            from_address=from_address,
            smtp_host=smtp_host,
            smtp_port=_int(self.smtp_port.text()) if smtp_host else None,
            smtp_security=_security(self.smtp_security) if smtp_host else None,
            smtp_user=(self.smtp_user.text().strip() or None) if smtp_host else None,
        )
        if self.kind() is MailboxKind.MAILDIR:
            return replace(outgoing, maildir_path=self.maildir_path.text().strip())
        return replace(
            outgoing,
            imap_host=self.imap_host.text().strip(),
            imap_port=_int(self.imap_port.text()),
            imap_security=_security(self.imap_security),
            imap_user=self.imap_user.text().strip() or from_address,
            inbox_folder=self.inbox_folder.text().strip(),
            sent_folder=self.sent_folder.text().strip() or None,
        )

    def entered_passwords(self) -> MailPasswords | None:
        """The passwords typed in, or None if none was (keep the stored ones)."""
        imap = self.imap_password.text() if self.kind() is MailboxKind.IMAP else ""
        smtp_pw = self.smtp_password.text() if self.smtp_host.text().strip() else ""
        if not imap and not smtp_pw:
            return None
        return MailPasswords(imap=imap or None, smtp=smtp_pw or None)

    def _checked(self) -> tuple[MailAccount, MailPasswords | None] | None:
        """Check the fields here (instant) so a typo never starts background work and a
        new mailbox is never saved without its password; shows what is wrong."""
        account, passwords = self.account(), self.entered_passwords()
        try:
            clean = validate_account(account)
            if (
                self._account is None
                and clean.kind is MailboxKind.IMAP
                and (passwords is None or not passwords.imap)
            ):
                raise MailPasswordMissing("Enter the mailbox password.")
        except UserError as exc:
            self._show_error(exc)
            return None
        self._mark_fields(None)
        return clean, passwords

    # --- test connection ------------------------------------------------------------

    def test_connection(self) -> None:
        if self._busy:
            return
        checked = self._checked()
        if checked is None:
            return
        account, passwords = checked
        service, actor = self._service, self._actor
        self._attempt += 1
        attempt = self._attempt

        def work(_job: Job) -> str:
            # No password typed: the service tests with the stored ones.
            return str(service.test_account(actor, account, passwords))

        where = "the Maildir folder" if account.kind is MailboxKind.MAILDIR else account.imap_host
        self._set_busy(True, f"Testing: connecting to {where}…")
        self.test_future = (
            Op(self, work, lane=Lane.NET)
            .on_success(lambda text: self._tested(attempt, text))
            .on_failure(lambda exc: self._test_failed(attempt, exc))
            .run()
        )

    def _current(self, attempt: int) -> bool:
        return shiboken6.isValid(self) and attempt == self._attempt

    def _tested(self, attempt: int, text: str) -> None:
        if not self._current(attempt):
            return
        self._set_busy(False)
        self.last_error = None
        self.last_result = text
        self._mark_fields(None)
        self.result_label.setStyleSheet(OK_STYLE)
        self.result_label.setText(f"<b>✔ Connection works</b><br>{esc(text)}")
        self.result_label.setVisible(True)

    def _test_failed(self, attempt: int, exc: BaseException) -> None:
        if self._current(attempt):
            self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        if not shiboken6.isValid(self):
            return
        self._set_busy(False)
        if isinstance(exc, UserError):
            self._show_error(exc)
        else:
            from ui.errors import show_error

            show_error(self, exc)

    def _show_error(self, error: UserError) -> None:
        self.last_error = error
        self.last_result = None
        self._mark_fields(error)
        self.result_label.setStyleSheet(ERR_STYLE)
        self.result_label.setText(f"<b>✖ {esc(error.title)}</b><br>{esc(error.message)}")
        self.result_label.setVisible(True)

    def _mark_fields(self, error: UserError | None) -> None:
        kind = self.kind()
        field = None if error is None else field_of(error, kind)
        for name, label in self.field_errors.items():
            shown = error is not None and name == field
            label.setText(error.message if error is not None and shown else "")
            # The form gives a wrapped label the height of its narrowest layout: ask
            # for the lines it needs at the field's width, or the message is cut off.
            width = max(self._field_widgets[name].width(), 200)
            label.setMinimumHeight(label.heightForWidth(width) + 4 if shown else 0)
            self._field_forms[name].setRowVisible(label, shown)
        suspects: list[QWidget] = []
        maildir = kind is MailboxKind.MAILDIR
        if field in self._field_widgets:
            suspects = [self._field_widgets[field]]
        elif isinstance(error, MailAuthFailed):
            suspects = [self.imap_user, self.imap_password, self.smtp_user, self.smtp_password]
        elif isinstance(error, InsecureConnectionRefused):
            suspects = [self.smtp_security] if maildir else [self.imap_security]
        elif isinstance(error, MailUnreachable):  # and a certificate not trusted
            suspects = [self.imap_host, self.imap_port, self.imap_security]
        elif isinstance(error, MailboxMissing):
            suspects = [self.maildir_path] if maildir else [self.inbox_folder, self.sent_folder]
        for widget in self._field_widgets.values():
            if isinstance(widget, QLineEdit | QComboBox):
                widget.setStyleSheet(BAD_FIELD if widget in suspects else "")
        if suspects:
            suspects[0].setFocus()

    def _stale(self) -> None:
        if not self._busy and self.last_result is not None:
            self.last_result = None
            self.result_label.setVisible(False)

    def _set_busy(self, busy: bool, text: str = "") -> None:
        self._busy = busy
        self.test_button.setEnabled(not busy)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(not busy)
        if busy:
            self.result_label.setStyleSheet(BUSY_STYLE)
            self.result_label.setText(esc(text))
            self.result_label.setVisible(True)

    def reject(self) -> None:
        # A test still running is abandoned: its answer is not shown (the connection
        # ends by itself on the network pool, and a test saves nothing).
        self._attempt += 1
        self._busy = False
        super().reject()

    # --- save -----------------------------------------------------------------------

    def save(self) -> None:
        if self._busy:
            return
        checked = self._checked()
        if checked is None:
            return
        account, passwords = checked
        service, actor = self._service, self._actor

        def work(_job: Job) -> MailAccount:
            saved: MailAccount = service.save_account(actor, account, passwords)
            return saved

        self._set_busy(True, "Saving…")
        Op(self, work).on_success(self._saved).on_failure(self._failed).run()

    def _saved(self, account: MailAccount) -> None:
        if not shiboken6.isValid(self):
            return
        self._set_busy(False)
        self._account = account
        self.imap_password.clear()
        self.smtp_password.clear()
        self.mailbox_saved.emit(account)
        self.accept()


def _has_passwords(account: MailAccount | None) -> bool:
    """Whether the keychain holds a password for this mailbox (IMAP, or its SMTP)."""
    return account is not None and (account.kind is MailboxKind.IMAP or bool(account.smtp_host))


def _int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None


def _security(combo: QComboBox) -> Security:
    # Qt hands the item data back as a plain str; the service compares with ``is``.
    return Security(combo.currentData())
