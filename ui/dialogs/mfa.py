"""TOTP enrollment pages shared by the first-run wizard and setup-code enrollment.

:class:`MfaPage` shows the QR code (rendered by segno to PNG bytes in memory, never a
file) and the base32 key in groups of four, and verifies a current code through
:meth:`AuthService.complete_enrollment` before the wizard may continue.
:class:`RecoveryCodesPage` shows the ten recovery codes once and refuses to finish until
the operator confirms they stored them.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import segno
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import (
    QFont,
    QFontDatabase,
    QGuiApplication,
    QPageLayout,
    QPixmap,
    QRegularExpressionValidator,
    QTextDocument,
)
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWizard,
    QWizardPage,
)

from app.auth.models import Enrollment, EnrollmentDone
from app.auth.service import AuthService
from app.errors import UserError
from ui.ops import Op

ISSUER = "Müttefik Desk"


def qr_png(data: str, *, scale: int = 5) -> bytes:
    """The QR code of ``data`` as PNG bytes (in memory only: the key is a secret)."""
    buf = io.BytesIO()
    segno.make(data, error="m").save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()


def qr_pixmap(data: str, *, scale: int = 5) -> QPixmap:
    pixmap = QPixmap()
    if not pixmap.loadFromData(qr_png(data, scale=scale), "PNG"):
        raise RuntimeError("could not render the QR code")
    return pixmap


def mono_font() -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSizeF(font.pointSizeF() * 1.15)
    return font


def code_validator(parent: QLineEdit) -> QRegularExpressionValidator:
    """Six digits (spaces allowed while typing)."""
    from PySide6.QtCore import QRegularExpression

    return QRegularExpressionValidator(QRegularExpression(r"[0-9 ]{0,7}"), parent)


class MfaPage(QWizardPage):
    """QR code + manual key + "enter the current code".

    ``enrollment_provider`` returns the :class:`Enrollment` prepared by the previous page
    (begin_first_admin / redeem_setup_code / begin_enrollment).  After the code verifies,
    :attr:`done` holds the :class:`EnrollmentDone` (recovery codes + session).

    Signals: ``enrolled(EnrollmentDone)`` once the code verified.  Thread: GUI.
    """

    enrolled = Signal(object)

    def __init__(
        self,
        *,
        auth: AuthService,
        enrollment_provider: Callable[[], Enrollment | None],
    ) -> None:
        super().__init__()
        self._auth = auth
        self._enrollment_provider = enrollment_provider
        self._enrollment: Enrollment | None = None
        self.done: EnrollmentDone | None = None
        self._busy = False
        self.setTitle("Set up two-step sign-in")
        self.setSubTitle(
            "Scan the code with an authenticator app (Google Authenticator, Microsoft "
            "Authenticator, 1Password, Aegis…), then type the 6-digit code it shows."
        )
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, "Verify")

        self.qr_label = QLabel()
        self.qr_label.setObjectName("mfaQr")
        self.qr_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.qr_label.setMinimumSize(200, 200)
        self.qr_label.setStyleSheet("background: white;")

        self.key_label = QLabel()
        self.key_label.setObjectName("mfaKey")
        self.key_label.setFont(mono_font())
        self.key_label.setWordWrap(True)
        self.key_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copy_button = QPushButton("Copy key")
        self.copy_button.setObjectName("mfaCopyKey")
        self.copy_button.clicked.connect(self._copy_key)
        self.account_label = QLabel()
        self.account_label.setWordWrap(True)

        self.code_edit = QLineEdit()
        self.code_edit.setObjectName("mfaCode")
        self.code_edit.setPlaceholderText("123 456")
        self.code_edit.setValidator(code_validator(self.code_edit))
        self.code_edit.setFont(mono_font())
        self.code_edit.setMaximumWidth(140)
        self.code_edit.textChanged.connect(self._code_changed)
        self.error_label = QLabel()
        self.error_label.setObjectName("mfaError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b3261e;")
        self.error_label.hide()

        manual = QVBoxLayout()
        manual.addWidget(QLabel("<b>Can't scan?</b> Enter this key in the app instead:"))
        manual.addWidget(self.key_label)
        row = QHBoxLayout()
        row.addWidget(self.copy_button)
        row.addStretch(1)
        manual.addLayout(row)
        manual.addWidget(self.account_label)
        manual.addStretch(1)

        top = QHBoxLayout()
        top.addWidget(self.qr_label)
        top.addSpacing(16)
        top.addLayout(manual, 1)

        code_row = QGridLayout()
        code_row.addWidget(QLabel("Code from the app:"), 0, 0)
        code_row.addWidget(self.code_edit, 0, 1)
        code_row.setColumnStretch(2, 1)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addSpacing(12)
        layout.addLayout(code_row)
        layout.addWidget(self.error_label)
        layout.addStretch(1)

    # --- QWizardPage ------------------------------------------------------------------

    def initializePage(self) -> None:
        enrollment = self._enrollment_provider()
        if enrollment is not None and enrollment is not self._enrollment:
            self.set_enrollment(enrollment)

    def isComplete(self) -> bool:
        return not self._busy and len(self.code()) == 6 and self._enrollment is not None

    def validatePage(self) -> bool:
        if self.done is not None:
            return True
        self._verify()
        return False

    # --- API --------------------------------------------------------------------------

    def set_enrollment(self, enrollment: Enrollment) -> None:
        self._enrollment = enrollment
        self.done = None
        self.qr_label.setPixmap(qr_pixmap(enrollment.provisioning_uri))
        self.key_label.setText(enrollment.secret_groups)
        self.account_label.setText(
            f"Account: <b>{_html(enrollment.username)}</b><br>Issuer: {ISSUER}<br>"
            "Type: time-based, 6 digits, 30 seconds"
        )
        self.code_edit.clear()
        self.error_label.hide()
        self.completeChanged.emit()

    def code(self) -> str:
        return self.code_edit.text().replace(" ", "")

    # --- internals --------------------------------------------------------------------

    def _code_changed(self) -> None:
        self.error_label.hide()
        self.completeChanged.emit()

    def _copy_key(self) -> None:
        if self._enrollment is not None:
            QGuiApplication.clipboard().setText(self._enrollment.totp_secret)
            self.copy_button.setText("Copied")

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.code_edit.setEnabled(not busy)
        self.completeChanged.emit()

    def _verify(self) -> None:
        enrollment = self._enrollment
        if enrollment is None or self._busy:
            return
        code = self.code()
        self._set_busy(True)
        auth = self._auth
        Op(self, lambda job: auth.complete_enrollment(enrollment, code)).on_success(
            self._verified
        ).on_failure(self._failed).run()

    def _verified(self, done: EnrollmentDone) -> None:
        self.done = done
        self._set_busy(False)
        self.enrolled.emit(done)
        wizard = self.wizard()
        if wizard is not None:
            wizard.next()

    def _failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        if not isinstance(exc, UserError):
            from ui.errors import show_error

            show_error(self, exc)
            return
        self.error_label.setText(exc.message)
        self.error_label.show()
        self.code_edit.selectAll()
        self.code_edit.setFocus()


class RecoveryCodesPage(QWizardPage):
    """The ten recovery codes, shown once, with copy/print/save and a required checkbox."""

    def __init__(self, *, codes_provider: Callable[[], list[str]]) -> None:
        super().__init__()
        self._codes_provider = codes_provider
        self._codes: list[str] = []
        self.setTitle("Save your recovery codes")
        self.setSubTitle(
            "If you lose your phone, each of these codes lets you sign in once instead of "
            "a 6-digit code. They are shown only now: store them somewhere safe, away "
            "from this computer."
        )
        self.codes_view = QPlainTextEdit()
        self.codes_view.setObjectName("recoveryCodes")
        self.codes_view.setReadOnly(True)
        self.codes_view.setFont(mono_font())
        # Ten codes in two columns: five lines, no empty box below them.
        lines = self.codes_view.fontMetrics().lineSpacing()
        self.codes_view.setFixedHeight(lines * 6 + 16)
        self.copy_button = QPushButton("Copy")
        self.copy_button.clicked.connect(self._copy)
        self.print_button = QPushButton("Print…")
        self.print_button.clicked.connect(self._print)
        self.save_button = QPushButton("Save as…")
        self.save_button.clicked.connect(self._save)
        self.stored_check = QCheckBox("I have stored these codes")
        self.stored_check.setObjectName("recoveryStored")
        self.stored_check.toggled.connect(self.completeChanged)

        buttons = QHBoxLayout()
        for b in (self.copy_button, self.print_button, self.save_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.codes_view)
        layout.addLayout(buttons)
        layout.addSpacing(8)
        layout.addWidget(self.stored_check)
        layout.addStretch(1)

    def initializePage(self) -> None:
        self._codes = list(self._codes_provider())
        # Two columns read better than one long list.
        half = (len(self._codes) + 1) // 2
        width = max((len(c) for c in self._codes), default=0)
        lines = []
        for i in range(half):
            left = f"{i + 1:>2}. {self._codes[i]:<{width}}"
            j = i + half
            lines.append(
                f"{left}    {j + 1:>2}. {self._codes[j]}" if j < len(self._codes) else left
            )
        self.codes_view.setPlainText("\n".join(lines))
        wizard = self.wizard()
        if wizard is not None:
            # MFA is already active: cancelling now would only lose the codes.
            wizard.button(QWizard.WizardButton.CancelButton).setEnabled(False)

    def isComplete(self) -> bool:
        return self.stored_check.isChecked()

    def codes(self) -> list[str]:
        return list(self._codes)

    def _text(self) -> str:
        header = f"{ISSUER}: recovery codes (each works once)\n\n"
        return header + "\n".join(self._codes) + "\n"

    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self._text())
        self.copy_button.setText("Copied")

    def _print(self) -> None:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        dialog = QPrintDialog(printer, self)
        if dialog.exec() != QPrintDialog.DialogCode.Accepted:
            return
        doc = QTextDocument()
        doc.setDefaultFont(mono_font())
        doc.setPlainText(self._text())
        printer.setPageOrientation(QPageLayout.Orientation.Portrait)
        doc.print_(printer)

    def _save(self) -> None:
        # The operator chooses where; the codes are theirs to keep (like a printout).
        path, _ = QFileDialog.getSaveFileName(
            self, "Save recovery codes", "muttefik-recovery-codes.txt", "Text files (*.txt)"
        )
        if path:
            text = self._text()
            Op(self, lambda job: save_codes(path, text)).run()


def save_codes(path: str, text: str) -> None:
    """Write the codes to a file the operator chose (owner-only permissions)."""
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def _html(text: str) -> str:
    from html import escape

    return escape(text)
