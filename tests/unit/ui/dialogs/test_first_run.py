"""The first-run wizard end to end on the real AuthService (test vault, fast hashing):
account, live password feedback from the real policy, QR + key, a TOTP code computed
from the key shown, recovery codes that must be acknowledged."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QDialog, QWizard
from pytestqt.qtbot import QtBot

from app.auth.rbac import Role
from app.clock import FakeClock
from app.vault import Vault
from tests.helpers.accounts import Accounts
from ui import ops
from ui.dialogs.first_run import FirstRunWizard
from ui.dialogs.mfa import qr_png

GOOD = "Correct-Horse-42-battery"


@pytest.fixture(autouse=True)
def _bridge(qapp: object) -> Iterator[None]:
    ops.install()  # the GUI-thread bridge must exist before a worker calls back
    yield


def shown_secret(wizard: FirstRunWizard) -> str:
    return wizard.mfa_page.key_label.text().replace(" ", "")


@pytest.fixture
def accounts(vault: Vault, clock: FakeClock) -> Accounts:
    return Accounts(vault, clock)


def fill_account(qtbot: object, wizard: FirstRunWizard, password: str = GOOD) -> None:
    page = wizard.account_page
    page.username.setText("ayse")
    page.display_name.setText("Ayşe Yılmaz")
    page.email.setText("ayse@example.com")
    page.fields.password.setText(password)
    page.fields.confirm.setText(password)


def test_qr_is_png_in_memory() -> None:
    data = qr_png("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP")
    assert data.startswith(b"\x89PNG\r\n\x1a\n")


def test_wizard_end_to_end(qtbot: QtBot, accounts: Accounts) -> None:
    wizard = FirstRunWizard(auth=accounts.auth)
    qtbot.addWidget(wizard)
    wizard.show()
    assert wizard.currentPage() is wizard.welcome_page
    wizard.next()
    page = wizard.account_page
    assert wizard.currentPage() is page
    next_button = wizard.button(QWizard.WizardButton.NextButton)
    assert not next_button.isEnabled()

    # Live feedback names each rule the service's policy finds broken, in plain words.
    fill_account(qtbot, wizard, password="short")
    broken = accounts.auth.password_problems("short", username="ayse", display_name="Ayşe Yılmaz")
    assert len(broken) >= 2
    qtbot.waitUntil(lambda: all(p in page.fields.feedback.text() for p in broken))
    assert not next_button.isEnabled()

    page.fields.password.setText(GOOD)
    page.fields.confirm.setText(GOOD + "x")
    qtbot.waitUntil(lambda: "The two passwords are different." in page.fields.feedback.text())
    assert not page.isComplete()
    page.fields.confirm.setText(GOOD)
    qtbot.waitUntil(page.isComplete)
    assert "meets every rule" in page.fields.feedback.text()
    assert next_button.isEnabled()

    wizard.next()  # begin_first_admin runs in the background, then the wizard moves on
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.mfa_page)
    mfa = wizard.mfa_page
    assert re.fullmatch(r"([A-Z2-7]{4} )+[A-Z2-7]{1,4}", mfa.key_label.text())
    pixmap = mfa.qr_label.pixmap()
    assert not pixmap.isNull() and pixmap.width() >= 150
    assert "ayse" in mfa.account_label.text()
    # The page cannot be passed without a 6-digit code, and there's no way back.
    assert not mfa.isComplete()
    secret = shown_secret(wizard)

    mfa.code_edit.setText(accounts.wrong_code(secret))
    wizard.next()
    qtbot.waitUntil(mfa.error_label.isVisible)
    assert mfa.error_label.text().startswith("That code does not match.")  # the service's
    assert wizard.currentPage() is mfa

    mfa.code_edit.setText(accounts.code(secret))
    wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.codes_page)
    codes_page = wizard.codes_page
    shown = codes_page.codes_view.toPlainText()
    assert len(codes_page.codes()) == 10
    assert all(code in shown for code in codes_page.codes())
    # Shown once: cancelling is off and Finish needs the checkbox.
    assert not wizard.button(QWizard.WizardButton.CancelButton).isEnabled()
    finish = wizard.button(QWizard.WizardButton.FinishButton)
    assert not finish.isEnabled()
    wizard.reject()
    assert wizard.isVisible()  # refused: the codes were not acknowledged
    codes_page.stored_check.setChecked(True)
    assert finish.isEnabled()
    finish.click()
    assert wizard.result() == QDialog.DialogCode.Accepted
    session = wizard.session
    assert session is not None
    assert session.actor.username == "ayse" and session.actor.role is Role.ADMIN
    step = accounts.auth.check_password("ayse", GOOD)  # MFA is active with the key shown
    assert not step.needs_mfa_enrollment
    assert accounts.auth.check_second_factor(step, accounts.code(secret)).actor.username == "ayse"


def test_core_rejection_is_shown_on_the_page(qtbot: QtBot, accounts: Accounts) -> None:
    wizard = FirstRunWizard(auth=accounts.auth)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.next()
    fill_account(qtbot, wizard)
    wizard.account_page.email.setText("not-an-email")
    qtbot.waitUntil(wizard.account_page.isComplete)
    wizard.next()
    qtbot.waitUntil(wizard.account_page.error_label.isVisible)
    assert "email address" in wizard.account_page.error_label.text()
    assert wizard.currentPage() is wizard.account_page


def test_cancel_rejects_without_an_account(qtbot: QtBot, accounts: Accounts) -> None:
    wizard = FirstRunWizard(auth=accounts.auth)
    qtbot.addWidget(wizard)
    wizard.show()
    with qtbot.waitSignal(wizard.rejected):
        wizard.button(QWizard.WizardButton.CancelButton).click()
    assert wizard.session is None
    assert accounts.auth.needs_first_admin()
