"""The sign-in dialog: username + password, then the 6-digit code or a recovery code.

Follow-ups open as window-modal children (never nested event loops): a forced password
change (expired or reset by an admin), MFA re-enrollment after an admin reset, and the
setup-code wizard for a new operator.  After ``accepted``, :attr:`SignInDialog.session`
holds the signed-in :class:`Session`.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QRegularExpression, Qt, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.auth.models import Enrollment, PasswordStep, Session
from app.auth.service import AuthService
from app.errors import AccountLocked, AuthenticationFailed, UserError
from ui.dialogs.change_password import BAD_STYLE, ChangePasswordDialog
from ui.dialogs.first_run import ReenrollWizard, SetupAccountWizard
from ui.dialogs.mfa import code_validator, mono_font
from ui.ops import Op

LOCKED_STYLE = (
    "color: #7a4100; background: #fff4e0; border: 1px solid #e0a040; border-radius: 4px;"
    " padding: 6px;"
)


def _link(text: str) -> QPushButton:
    button = QPushButton(text)
    button.setAutoDefault(False)  # never the button Return presses
    button.setFlat(True)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    button.setStyleSheet("QPushButton { color: palette(link); text-decoration: underline;"
                         " border: none; padding: 0; text-align: left; }")  # fmt: skip
    return button


class SignInDialog(QDialog):
    """Signals: ``signed_in(Session)`` just before ``accepted``.  Thread: GUI.

    ``heading`` changes the title line (e.g. "Locked: sign in to continue").
    """

    signed_in = Signal(object)

    CREDENTIALS, CODE = 0, 1

    def __init__(
        self,
        *,
        auth: AuthService,
        username: str = "",
        heading: str = "Sign in to Müttefik Desk",
        cancel_text: str = "Quit",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._auth = auth
        self._step: PasswordStep | None = None
        self._password: str | None = None
        self._busy = False
        self._recovery = False
        self.session: Session | None = None
        self.child_dialog: QDialog | None = None  # the open follow-up, for tests
        self.setObjectName("signInDialog")
        self.setWindowTitle("Müttefik Desk: sign in")
        self.setMinimumWidth(420)

        self.heading = QLabel(heading)
        self.heading.setObjectName("signInHeading")
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.heading.setFont(font)

        # --- page 1: credentials
        self.username = QLineEdit(username)
        self.username.setObjectName("username")
        self.password = QLineEdit()
        self.password.setObjectName("password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.setup_link = _link("I have a setup code from my administrator")
        self.setup_link.setObjectName("setupCodeLink")
        self.setup_link.clicked.connect(self._open_setup)
        cred = QWidget()
        cred_form = QFormLayout(cred)
        cred_form.setContentsMargins(0, 0, 0, 0)
        cred_form.addRow("Username:", self.username)
        cred_form.addRow("Password:", self.password)
        cred_form.addRow("", self.setup_link)

        # --- page 2: second factor
        self.code_prompt = QLabel()
        self.code_prompt.setWordWrap(True)
        self.code = QLineEdit()
        self.code.setObjectName("code")
        self.code.setFont(mono_font())
        self._code_validator = code_validator(self.code)
        self._recovery_validator = QRegularExpressionValidator(
            QRegularExpression(r"[A-Za-z0-9 -]{0,40}"), self.code
        )
        self.recovery_link = _link("Use a recovery code instead")
        self.recovery_link.setObjectName("recoveryLink")
        self.recovery_link.clicked.connect(lambda: self._set_recovery(not self._recovery))
        code_page = QWidget()
        code_layout = QVBoxLayout(code_page)
        code_layout.setContentsMargins(0, 0, 0, 0)
        code_layout.addWidget(self.code_prompt)
        code_layout.addWidget(self.code)
        code_layout.addWidget(self.recovery_link)
        code_layout.addStretch(1)

        self.pages = QStackedWidget()
        self.pages.addWidget(cred)
        self.pages.addWidget(code_page)

        self.error_label = QLabel()
        self.error_label.setObjectName("signInError")
        self.error_label.setWordWrap(True)
        self.error_label.hide()

        self.back_button = QPushButton("Back")
        self.back_button.clicked.connect(self._back)
        self.cancel_button = QPushButton(cancel_text)
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.clicked.connect(self.reject)
        self.submit_button = QPushButton("Next")
        self.submit_button.setObjectName("submitButton")
        self.submit_button.setDefault(True)
        # While a check runs, Next is disabled and focus moves on; an auto-default button
        # that gets it would become the default and take the Return that started the check.
        for button in (self.back_button, self.cancel_button):
            button.setAutoDefault(False)
        self.submit_button.clicked.connect(self._submit)
        buttons = QHBoxLayout()
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.submit_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addSpacing(8)
        layout.addWidget(self.pages)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        layout.addLayout(buttons)

        for edit in (self.username, self.password, self.code):
            edit.textChanged.connect(self._update_buttons)
            edit.returnPressed.connect(self._submit)
        self._show_credentials()
        if username:
            self.password.setFocus()

    # --- page switching ---------------------------------------------------------------

    def _show_credentials(self) -> None:
        self._step = None
        self.pages.setCurrentIndex(self.CREDENTIALS)
        self.back_button.hide()
        self.submit_button.setText("Next")
        self.password.clear()
        (self.password if self.username.text() else self.username).setFocus()
        self._update_buttons()

    def _show_code(self) -> None:
        self.password.clear()  # kept only in memory for a forced change, then dropped
        self.pages.setCurrentIndex(self.CODE)
        self.back_button.show()
        self.submit_button.setText("Sign in")
        self._set_recovery(False)

    def _set_recovery(self, on: bool) -> None:
        self._recovery = on
        self.code.clear()
        if on:
            self.code_prompt.setText("Enter one of your recovery codes. Each works only once.")
            self.code.setValidator(self._recovery_validator)
            self.code.setPlaceholderText("recovery code")
            self.code.setMaximumWidth(16777215)
            self.recovery_link.setText("Use the code from my authenticator app")
        else:
            self.code_prompt.setText("Enter the 6-digit code your authenticator app shows.")
            self.code.setValidator(self._code_validator)
            self.code.setPlaceholderText("123 456")
            self.code.setMaximumWidth(140)
            self.recovery_link.setText("Use a recovery code instead")
        self.error_label.hide()
        self.code.setFocus()
        self._update_buttons()

    def _back(self) -> None:
        self.error_label.hide()
        self._show_credentials()

    def _update_buttons(self) -> None:
        if self.pages.currentIndex() == self.CREDENTIALS:
            ready = bool(self.username.text().strip() and self.password.text())
        else:
            text = self.code.text().replace(" ", "")
            ready = bool(text) if self._recovery else len(text) == 6
        self.submit_button.setEnabled(ready and not self._busy)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        for w in (self.username, self.password, self.code, self.back_button):
            w.setEnabled(not busy)
        self._update_buttons()

    # --- messages ---------------------------------------------------------------------

    def show_message(self, text: str, *, locked: bool = False) -> None:
        self.error_label.setText(text)
        self.error_label.setProperty("locked", locked)
        self.error_label.setStyleSheet(LOCKED_STYLE if locked else BAD_STYLE)
        self.error_label.show()

    def _failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        if not isinstance(exc, UserError):
            from ui.errors import show_error

            show_error(self, exc)
            return
        if isinstance(exc, AccountLocked):
            self.show_message(exc.message, locked=True)
            self._show_credentials()
        elif isinstance(exc, AuthenticationFailed) and self._step is not None:
            # The password step expired (or the account changed): start over.
            self.show_message(exc.message)
            self._show_credentials()
        else:
            self.show_message(exc.message)
            edit = self.code if self.pages.currentIndex() == self.CODE else self.password
            edit.selectAll()
            edit.setFocus()

    # --- steps ------------------------------------------------------------------------

    def _submit(self) -> None:
        if not self.submit_button.isEnabled():
            return
        self.error_label.hide()
        auth = self._auth
        self._set_busy(True)
        if self.pages.currentIndex() == self.CREDENTIALS:
            username, password = self.username.text().strip(), self.password.text()
            self._password = password
            Op(self, lambda job: auth.check_password(username, password)).on_success(
                self._password_ok
            ).on_failure(self._failed).run()
        else:
            step = self._step
            assert step is not None
            code = self.code.text().strip()
            if not self._recovery:
                code = code.replace(" ", "")
            Op(self, lambda job: auth.check_second_factor(step, code)).on_success(
                self._signed_in
            ).on_failure(self._failed).run()

    def _password_ok(self, step: PasswordStep) -> None:
        self._step = step
        if step.needs_mfa_enrollment:
            auth = self._auth
            Op(self, lambda job: auth.begin_enrollment(step)).on_success(self._reenroll).on_failure(
                self._failed
            ).run()
            return
        self._set_busy(False)
        self._show_code()

    def _reenroll(self, enrollment: Enrollment) -> None:
        self._set_busy(False)
        wizard = ReenrollWizard(auth=self._auth, enrollment=enrollment, parent=self)
        self._open_child(wizard, lambda: wizard.session)

    def _open_setup(self) -> None:
        wizard = SetupAccountWizard(
            auth=self._auth, username=self.username.text().strip(), parent=self
        )
        self._open_child(wizard, lambda: wizard.session)

    def _open_child(self, dialog: QDialog, session_of: object) -> None:
        self.child_dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def finished(result: int) -> None:
            self.child_dialog = None
            session = session_of() if callable(session_of) else None
            if session is not None:
                self._signed_in(session)
            else:
                self._show_credentials()

        dialog.finished.connect(finished)
        dialog.open()

    def _signed_in(self, session: Session) -> None:
        self._set_busy(False)
        if session.needs_password_change:
            self._force_change(session)
            return
        self._finish(session)

    def _force_change(self, session: Session) -> None:
        reason = (
            "An administrator reset your password. Choose a new one to continue."
            if session.must_change_password
            else "Your password is older than a year. Choose a new one to continue."
        )
        dialog = ChangePasswordDialog(
            auth=self._auth,
            actor=session.actor,
            reason=reason,
            old_password=self._password,
            parent=self,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.child_dialog = dialog

        def finished(result: int) -> None:
            self.child_dialog = None
            if result == QDialog.DialogCode.Accepted:
                self._finish(replace(session, must_change_password=False, password_expired=False))
                return
            # No new password, no session.
            auth, actor = self._auth, session.actor
            Op(self, lambda job: auth.sign_out(actor)).run()
            self.show_message("You need a new password to continue.")
            self._show_credentials()

        dialog.finished.connect(finished)
        dialog.open()

    def _finish(self, session: Session) -> None:
        self._password = None
        self.password.clear()
        self.session = session
        self.signed_in.emit(session)
        self.accept()
