"""New-password entry with live policy feedback, and the change-password dialog.

The policy itself is the core's (:meth:`AuthService.password_problems`); this module only
asks it, off the GUI thread and debounced, and lists each broken rule in plain words.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.auth.models import Actor
from app.auth.service import AuthService
from app.errors import UserError
from ui.ops import Op

# (username, display_name, email): the operator's own words the policy must reject.
Context = Callable[[], tuple[str, str, str]]

OK_STYLE = "color: #1b6e20;"
BAD_STYLE = "color: #b3261e;"


class PasswordFields(QWidget):
    """Password + confirmation with live feedback.

    Signals: ``validity_changed(bool)`` when the pair becomes (un)acceptable.
    Thread: GUI; the policy check runs on the worker pool.
    """

    validity_changed = Signal(bool)

    DEBOUNCE_MS = 250

    def __init__(
        self,
        *,
        auth: AuthService,
        context: Context,
        parent: QWidget | None = None,
        label: str = "New password",
        form: QFormLayout | None = None,
    ) -> None:
        """With ``form``, the rows join that form (aligned with its other fields) and
        this widget stays an invisible owner; otherwise it lays them out itself."""
        super().__init__(parent)
        self._auth = auth
        self._context = context
        self._problems: list[str] | None = None  # None: not checked yet
        self._checked_for: tuple[str, tuple[str, str, str]] | None = None
        self._generation = 0
        self._valid = False

        self.password = QLineEdit()
        self.password.setObjectName("newPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm = QLineEdit()
        self.confirm.setObjectName("confirmPassword")
        self.confirm.setEchoMode(QLineEdit.EchoMode.Password)
        self.feedback = QLabel()
        self.feedback.setObjectName("passwordFeedback")
        self.feedback.setWordWrap(True)
        self.feedback.setTextFormat(Qt.TextFormat.RichText)
        self.feedback.setMinimumHeight(60)
        self.feedback.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)

        if form is None:
            form = QFormLayout(self)
            form.setContentsMargins(0, 0, 0, 0)
        else:
            self.hide()
        form.addRow(f"{label}:", self.password)
        form.addRow("Repeat it:", self.confirm)
        form.addRow("", self.feedback)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.DEBOUNCE_MS)
        self._timer.timeout.connect(self._check)
        self.password.textChanged.connect(self._password_edited)
        self.confirm.textChanged.connect(self._render)
        self._render()

    # --- API --------------------------------------------------------------------------

    def value(self) -> str:
        return self.password.text()

    def is_valid(self) -> bool:
        return self._valid

    def recheck(self) -> None:
        """The context (username, display name) changed: check again."""
        self._problems = None
        self._render()
        if self.password.text():
            self._timer.start()

    def clear(self) -> None:
        self.password.clear()
        self.confirm.clear()

    # --- internals --------------------------------------------------------------------

    def _password_edited(self) -> None:
        self._problems = None
        self._render()
        if self.password.text():
            self._timer.start()

    def _check(self) -> None:
        password = self.password.text()
        context = self._context()
        self._generation += 1
        generation = self._generation
        username, display_name, email = context
        auth = self._auth

        def done(problems: list[str]) -> None:
            if generation != self._generation:  # a newer keystroke wins
                return
            self._problems = problems
            self._render()

        Op(
            self,
            lambda job: auth.password_problems(
                password, username=username, display_name=display_name, email=email
            ),
        ).on_success(done).on_failure(self._check_failed).run()

    def _check_failed(self, exc: BaseException) -> None:
        self._problems = [exc.message if isinstance(exc, UserError) else "Could not check."]
        self._render()

    def _render(self) -> None:
        password = self.password.text()
        lines: list[tuple[bool, str]] = []
        if not password:
            lines.append((False, "Type a password; each rule is checked as you type."))
        elif self._problems is None:
            lines.append((False, "Checking…"))
        elif self._problems:
            lines.extend((False, p) for p in self._problems)
        else:
            lines.append((True, "The password meets every rule."))
        confirm = self.confirm.text()
        if password and confirm and confirm != password:
            lines.append((False, "The two passwords are different."))
        elif password and not confirm:
            lines.append((False, "Type the password again below."))
        html = "<br>".join(
            f"<span style='{OK_STYLE if ok else BAD_STYLE}'>{'✔' if ok else '✘'} "
            f"{_escape(text)}</span>"
            for ok, text in lines
        )
        self.feedback.setText(html)
        valid = bool(password) and self._problems == [] and confirm == password
        if valid != self._valid:
            self._valid = valid
            self.validity_changed.emit(valid)


class ChangePasswordDialog(QDialog):
    """Change the signed-in operator's own password.

    ``reason`` explains why (expired, reset by an admin).  ``forced`` hides Cancel's
    meaning: the caller signs out if the dialog is rejected.
    """

    def __init__(
        self,
        *,
        auth: AuthService,
        actor: Actor,
        reason: str = "",
        old_password: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._auth = auth
        self._actor = actor
        self.setWindowTitle("Change password")
        self.setObjectName("changePasswordDialog")
        self.setMinimumWidth(460)

        self.reason_label = QLabel(reason)
        self.reason_label.setWordWrap(True)
        self.reason_label.setVisible(bool(reason))
        self.old_password = QLineEdit()
        self.old_password.setObjectName("oldPassword")
        self.old_password.setEchoMode(QLineEdit.EchoMode.Password)
        if old_password is not None:
            # Just typed at sign-in: don't make them type it again.
            self.old_password.setText(old_password)
        form = QFormLayout()
        form.addRow("Current password:", self.old_password)
        self.fields = PasswordFields(
            auth=auth,
            context=lambda: (actor.username, actor.display_name, ""),
            parent=self,
            form=form,
        )
        self.error_label = QLabel()
        self.error_label.setObjectName("changePasswordError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(BAD_STYLE)
        self.error_label.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Change password")
        self.ok_button.setEnabled(False)
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        self.fields.validity_changed.connect(self._update_ok)
        self.old_password.textChanged.connect(self._update_ok)

        layout = QVBoxLayout(self)
        layout.addWidget(self.reason_label)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        if old_password is not None:
            self.old_password.setEnabled(False)

    def _update_ok(self) -> None:
        self.ok_button.setEnabled(self.fields.is_valid() and bool(self.old_password.text()))

    def _submit(self) -> None:
        old, new = self.old_password.text(), self.fields.value()
        self.ok_button.setEnabled(False)
        self.error_label.hide()
        auth, actor = self._auth, self._actor
        Op(self, lambda job: auth.change_password(actor, old, new)).on_success(
            lambda _none: self.accept()
        ).on_failure(self._failed).run()

    def _failed(self, exc: BaseException) -> None:
        self._update_ok()
        if not isinstance(exc, UserError):
            from ui.errors import show_error

            show_error(self, exc)
            return
        self.error_label.setText(exc.message)
        self.error_label.show()
        self.old_password.setEnabled(True)


def _escape(text: str) -> str:
    from html import escape

    return escape(text)
