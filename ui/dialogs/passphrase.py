"""Passphrase prompt for profiles without a usable keychain."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.vault.passphrase import MIN_PASSPHRASE_LENGTH, passphrase_problem


class PassphraseDialog(QDialog):
    def __init__(self, *, new_profile: bool, error: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("passphraseDialog")
        self.setWindowTitle("Müttefik Desk — Passphrase")
        self.new_profile = new_profile
        layout = QVBoxLayout(self)
        if new_profile:
            intro = (
                "<b>No system keychain is available on this computer.</b><p>Müttefik Desk "
                "will protect your data with a passphrase instead. You will be asked for "
                f"it every time the app starts. Use at least {MIN_PASSPHRASE_LENGTH} "
                "characters; if you forget it, the data cannot be recovered.</p>"
            )
        else:
            intro = "<b>Enter the passphrase that protects this profile's data.</b>"
        label = QLabel(intro)
        label.setWordWrap(True)
        layout.addWidget(label)
        form = QFormLayout()
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setObjectName("passphraseEdit")
        form.addRow("Passphrase:", self.passphrase)
        self.confirm = QLineEdit()
        self.confirm.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm.setObjectName("confirmEdit")
        if new_profile:
            form.addRow("Repeat:", self.confirm)
        layout.addLayout(form)
        self.error = QLabel(error)
        self.error.setObjectName("passphraseError")
        self.error.setStyleSheet("color: #b02a37;")
        self.error.setWordWrap(True)
        self.error.setVisible(bool(error))
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setMinimumWidth(440)

    def _accept(self) -> None:
        if self.new_profile:
            problem = passphrase_problem(self.passphrase.text(), self.confirm.text())
            if problem:
                self.error.setText(problem)
                self.error.setVisible(True)
                return
        elif not self.passphrase.text():
            return
        self.accept()

    def value(self) -> str:
        return self.passphrase.text()
