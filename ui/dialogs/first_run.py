"""Enrollment wizards: the first admin (first run), a new operator's setup code, and
re-enrollment after an admin reset the operator's MFA.

All three end with the shared :class:`~ui.dialogs.mfa.MfaPage` and
:class:`~ui.dialogs.mfa.RecoveryCodesPage`, so none can finish without MFA.  After
``exec()`` returns Accepted, :attr:`EnrollmentWizard.session` is the signed-in session.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from app.auth.models import Enrollment, EnrollmentDone, Session
from app.auth.service import AuthService
from app.errors import UserError
from ui.dialogs.change_password import BAD_STYLE, PasswordFields
from ui.dialogs.mfa import MfaPage, RecoveryCodesPage
from ui.ops import Op


class EnrollmentWizard(QWizard):
    """Base: optional account page(s), then MFA, then recovery codes.

    Thread: GUI.  ``session`` is set once MFA verified.
    """

    def __init__(self, *, auth: AuthService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._auth = auth
        self.enrollment: Enrollment | None = None
        self.done_result: EnrollmentDone | None = None
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setMinimumSize(640, 520)
        self.mfa_page = MfaPage(auth=auth, enrollment_provider=lambda: self.enrollment)
        self.mfa_page.enrolled.connect(self._enrolled)
        self.codes_page = RecoveryCodesPage(
            codes_provider=lambda: self.done_result.recovery_codes if self.done_result else []
        )

    @property
    def session(self) -> Session | None:
        return self.done_result.session if self.done_result is not None else None

    def _add_enrollment_pages(self) -> None:
        self.addPage(self.mfa_page)
        self.addPage(self.codes_page)

    def _enrolled(self, done: EnrollmentDone) -> None:
        self.done_result = done

    def reject(self) -> None:
        # Once MFA is active the codes page must be acknowledged: they are shown once.
        if self.done_result is not None and not self.codes_page.isComplete():
            return
        super().reject()


class WelcomePage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Welcome to Müttefik Desk")
        text = QLabel(
            "<p>Before anything else, create the <b>administrator</b> account for this "
            "computer.</p>"
            "<p>Amazon's Data Protection Policy asks that everyone who sees buyer data "
            "signs in with their own account, a strong password and a second step: a "
            "6-digit code from an authenticator app on their phone.</p>"
            "<p>You will need:</p><ul>"
            "<li>a password of at least 12 characters that you don't use anywhere else;</li>"
            "<li>a phone with an authenticator app (Google Authenticator, Microsoft "
            "Authenticator, 1Password, Aegis or similar);</li>"
            "<li>a safe place for ten recovery codes.</li></ul>"
            "<p>You can add accounts for your team afterwards.</p>"
        )
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addStretch(1)


class _AccountPageBase(QWizardPage):
    """A page whose Next runs a core call returning an :class:`Enrollment`."""

    def __init__(self, wizard: EnrollmentWizard) -> None:
        super().__init__()
        self._wiz = wizard
        self._busy = False
        self._ready_for: tuple[str, ...] | None = None
        self.error_label = QLabel()
        self.error_label.setObjectName("accountError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(BAD_STYLE)
        self.error_label.hide()

    def _inputs(self) -> tuple[str, ...]:
        raise NotImplementedError

    def _call(self, inputs: tuple[str, ...]) -> Enrollment:
        """Thread: worker (``inputs`` were read on the GUI thread)."""
        raise NotImplementedError

    def validatePage(self) -> bool:
        if self._ready_for == self._inputs() and self._wiz.enrollment is not None:
            return True
        if not self._busy:
            self._busy = True
            self.error_label.hide()
            self.completeChanged.emit()
            inputs = self._inputs()
            call = self._call
            Op(self, lambda job: call(inputs)).on_success(
                lambda enrollment: self._succeeded(enrollment, inputs)
            ).on_failure(self._failed).with_progress(
                "Creating the account…", cancellable=False
            ).run()
        return False

    def _succeeded(self, enrollment: Enrollment, inputs: tuple[str, ...]) -> None:
        self._busy = False
        self._wiz.enrollment = enrollment
        self._ready_for = inputs
        self.completeChanged.emit()
        self._wiz.next()

    def _failed(self, exc: BaseException) -> None:
        self._busy = False
        self.completeChanged.emit()
        if not isinstance(exc, UserError):
            from ui.errors import show_error

            show_error(self, exc)
            return
        self.error_label.setText(exc.message)
        self.error_label.show()


class AdminAccountPage(_AccountPageBase):
    def __init__(self, wizard: EnrollmentWizard, auth: AuthService) -> None:
        super().__init__(wizard)
        self._auth = auth
        self.setTitle("Administrator account")
        self.setSubTitle("This account can manage everything, including other accounts.")
        self.username = QLineEdit()
        self.username.setObjectName("username")
        self.username.setPlaceholderText("e.g. ayse")
        self.display_name = QLineEdit()
        self.display_name.setObjectName("displayName")
        self.display_name.setPlaceholderText("e.g. Ayşe Yılmaz")
        self.email = QLineEdit()
        self.email.setObjectName("email")
        self.email.setPlaceholderText("you@example.com")
        form = QFormLayout()
        form.addRow("Username:", self.username)
        form.addRow("Your name:", self.display_name)
        form.addRow("Email:", self.email)
        self.fields = PasswordFields(
            auth=auth, context=self._context, label="Password", parent=self, form=form
        )
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        for edit in (self.username, self.display_name, self.email):
            edit.textChanged.connect(self.completeChanged)
            edit.editingFinished.connect(self.fields.recheck)
        self.fields.validity_changed.connect(self.completeChanged)

    def _context(self) -> tuple[str, str, str]:
        return (self.username.text().strip(), self.display_name.text().strip(),
                self.email.text().strip())  # fmt: skip

    def isComplete(self) -> bool:
        return (
            not self._busy
            and all(e.text().strip() for e in (self.username, self.display_name, self.email))
            and self.fields.is_valid()
        )

    def _inputs(self) -> tuple[str, ...]:
        return (*self._context(), self.fields.value())

    def _call(self, inputs: tuple[str, ...]) -> Enrollment:
        username, display_name, email, password = inputs
        return self._auth.begin_first_admin(username, display_name, email, password)


class FirstRunWizard(EnrollmentWizard):
    """Creates the first admin with MFA.  Rejected → the caller quits the app."""

    def __init__(self, *, auth: AuthService, parent: QWidget | None = None) -> None:
        super().__init__(auth=auth, parent=parent)
        self.setWindowTitle("Müttefik Desk: first start")
        self.setObjectName("firstRunWizard")
        self.welcome_page = WelcomePage()
        self.account_page = AdminAccountPage(self, auth)
        self.addPage(self.welcome_page)
        self.addPage(self.account_page)
        self._add_enrollment_pages()


class SetupCodePage(_AccountPageBase):
    """A new operator redeems the setup code from their admin and picks a password."""

    def __init__(self, wizard: EnrollmentWizard, auth: AuthService, username: str) -> None:
        super().__init__(wizard)
        self._auth = auth
        self.setTitle("Set up your account")
        self.setSubTitle(
            "Enter the one-time setup code your administrator gave you and choose your password."
        )
        self.username = QLineEdit(username)
        self.username.setObjectName("username")
        self.setup_code = QLineEdit()
        self.setup_code.setObjectName("setupCode")
        form = QFormLayout()
        form.addRow("Username:", self.username)
        form.addRow("Setup code:", self.setup_code)
        self.fields = PasswordFields(
            auth=auth, context=self._context, label="Your password", parent=self, form=form
        )
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        for edit in (self.username, self.setup_code):
            edit.textChanged.connect(self.completeChanged)
        self.username.editingFinished.connect(self.fields.recheck)
        self.fields.validity_changed.connect(self.completeChanged)

    def _context(self) -> tuple[str, str, str]:
        return (self.username.text().strip(), "", "")

    def isComplete(self) -> bool:
        return (
            not self._busy
            and bool(self.username.text().strip() and self.setup_code.text().strip())
            and self.fields.is_valid()
        )

    def _inputs(self) -> tuple[str, ...]:
        return (self.username.text().strip(), self.setup_code.text().strip(), self.fields.value())

    def _call(self, inputs: tuple[str, ...]) -> Enrollment:
        username, code, password = inputs
        return self._auth.redeem_setup_code(username, code, password)


class SetupAccountWizard(EnrollmentWizard):
    """First sign-in of an operator an admin created (one-time setup code)."""

    def __init__(
        self, *, auth: AuthService, username: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(auth=auth, parent=parent)
        self.setWindowTitle("Müttefik Desk: set up your account")
        self.setObjectName("setupAccountWizard")
        self.setup_page = SetupCodePage(self, auth, username)
        self.addPage(self.setup_page)
        self._add_enrollment_pages()


class ReenrollWizard(EnrollmentWizard):
    """An admin reset this operator's MFA: enroll a new key after the password step."""

    def __init__(
        self, *, auth: AuthService, enrollment: Enrollment, parent: QWidget | None = None
    ) -> None:
        super().__init__(auth=auth, parent=parent)
        self.setWindowTitle("Müttefik Desk: set up two-step sign-in again")
        self.setObjectName("reenrollWizard")
        self.enrollment = enrollment
        self._add_enrollment_pages()
