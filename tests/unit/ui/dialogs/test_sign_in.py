"""The sign-in dialog end to end on the real AuthService and OperatorService (test vault,
fast hashing): password then TOTP, same message for a wrong user and a wrong password,
locked accounts, recovery codes, forced password change, setup codes and MFA
re-enrollment, and the auth flow that picks the right dialog at startup."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace

import pytest
from PySide6.QtWidgets import QDialog, QWizard
from pytestqt.qtbot import QtBot

from app.audit import AuditLog
from app.auth.hashing import fast_hashing_for_tests
from app.auth.rbac import Role
from app.auth.service import LOCKOUT, MAX_FAILURES, AuthService
from app.clock import FakeClock
from app.errors import AccountLocked, AuthenticationFailed, CodeRejected
from app.services import Core
from app.vault import Vault
from tests.helpers.accounts import PW, Accounts, Enrolled, HeldAuth
from tests.support import AUDIT_TEST_KEY
from ui import auth_flow, ops
from ui.dialogs.change_password import ChangePasswordDialog
from ui.dialogs.first_run import FirstRunWizard, ReenrollWizard, SetupAccountWizard
from ui.dialogs.sign_in import SignInDialog

NEW_PW = "Fresh-Start-Passw0rd#"


@pytest.fixture(autouse=True)
def _bridge(qapp: object) -> Iterator[None]:
    ops.install()
    yield


@pytest.fixture
def accounts(vault: Vault, clock: FakeClock) -> Accounts:
    return Accounts(vault, clock)


@pytest.fixture
def admin(accounts: Accounts) -> Enrolled:
    return accounts.admin()


@pytest.fixture
def dialog(qtbot: QtBot, accounts: Accounts, admin: Enrolled) -> SignInDialog:
    dlg = SignInDialog(auth=accounts.auth)
    qtbot.addWidget(dlg)
    dlg.show()
    return dlg


def enter_password(qtbot: QtBot, dlg: SignInDialog, username: str, password: str) -> None:
    dlg.username.setText(username)
    dlg.password.setText(password)
    assert dlg.submit_button.isEnabled()
    dlg.submit_button.click()


def test_password_then_code(
    qtbot: QtBot, accounts: Accounts, admin: Enrolled, dialog: SignInDialog
) -> None:
    assert not dialog.submit_button.isEnabled()
    enter_password(qtbot, dialog, "admin", PW)
    qtbot.waitUntil(lambda: dialog.pages.currentIndex() == SignInDialog.CODE)
    assert dialog.password.text() == ""  # not kept in the widget
    secret = admin.secret

    dialog.code.setText(accounts.wrong_code(secret))
    dialog.submit_button.click()
    qtbot.waitUntil(dialog.error_label.isVisible)
    assert dialog.error_label.text() == CodeRejected.message
    assert dialog.pages.currentIndex() == SignInDialog.CODE

    dialog.code.setText(accounts.code(secret))
    with qtbot.waitSignal(dialog.signed_in) as blocker:
        dialog.submit_button.click()
    session = blocker.args[0]
    assert session.actor.username == "admin" and session.actor.role is Role.ADMIN
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.session is session


def test_return_key_signs_in_and_never_opens_the_setup_code_page(
    qtbot: QtBot, accounts: Accounts, admin: Enrolled, dialog: SignInDialog
) -> None:
    """Seen under a real X server: Return in the password field disabled the Next
    button while checking, focus moved on to the setup-code link, which became the
    dialog's default button and took the same Return."""
    from PySide6.QtCore import Qt

    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    dialog.username.setFocus()
    qtbot.keyClicks(dialog.username, "admin")
    qtbot.keyClick(dialog.username, Qt.Key.Key_Tab)
    assert dialog.password.hasFocus()
    qtbot.keyClicks(dialog.password, PW)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.pages.currentIndex() == SignInDialog.CODE)
    assert dialog.child_dialog is None, "Return opened another dialog"
    qtbot.keyClicks(dialog.code, accounts.code(admin.secret))
    with qtbot.waitSignal(dialog.signed_in):
        qtbot.keyClick(dialog.code, Qt.Key.Key_Return)
    assert dialog.child_dialog is None


def test_the_dialog_is_busy_while_the_password_is_checked(
    qtbot: QtBot, accounts: Accounts, admin: Enrolled
) -> None:
    held = HeldAuth(accounts.auth, "check_password")
    dlg = SignInDialog(auth=held)  # type: ignore[arg-type]
    qtbot.addWidget(dlg)
    dlg.show()
    enter_password(qtbot, dlg, "admin", PW)
    assert held.waiting.wait(5)
    assert not dlg.submit_button.isEnabled()
    assert not dlg.username.isEnabled() and not dlg.password.isEnabled()
    held.gate.set()
    qtbot.waitUntil(lambda: dlg.pages.currentIndex() == SignInDialog.CODE)
    assert dlg.code.isEnabled()


def test_wrong_user_and_wrong_password_look_the_same(qtbot: QtBot, dialog: SignInDialog) -> None:
    enter_password(qtbot, dialog, "nobody", PW)
    qtbot.waitUntil(dialog.error_label.isVisible)
    unknown = dialog.error_label.text()
    dialog.error_label.hide()
    enter_password(qtbot, dialog, "admin", "wrong-password")
    qtbot.waitUntil(dialog.error_label.isVisible)
    assert dialog.error_label.text() == unknown == AuthenticationFailed.message
    assert dialog.pages.currentIndex() == SignInDialog.CREDENTIALS


def test_lockout_message_says_until_when(qtbot: QtBot, core: Core) -> None:
    """The real service's message (an unknown name locks like an account) reaches the
    dialog whole, styled as a lockout, back at the username and password."""
    clock = core.clock
    auth = AuthService(
        vault=core.vault,
        clock=clock,
        audit=AuditLog(clock=clock, key=AUDIT_TEST_KEY),
        hasher=fast_hashing_for_tests(),
    )
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(AuthenticationFailed):
            auth.check_password("nobody", "Wrong-Password-99!")
    dlg = SignInDialog(auth=auth)
    qtbot.addWidget(dlg)
    dlg.show()
    enter_password(qtbot, dlg, "nobody", "Wrong-Password-99!")
    qtbot.waitUntil(dlg.error_label.isVisible)
    until = (clock.now() + LOCKOUT).astimezone()
    text = dlg.error_label.text()
    assert f"until {until:%H:%M}" in text and "administrator" in text
    assert dlg.error_label.property("locked") is True
    assert dlg.error_label.wordWrap()
    assert dlg.pages.currentIndex() == SignInDialog.CREDENTIALS


def test_locked_account_message(qtbot: QtBot, accounts: Accounts, dialog: SignInDialog) -> None:
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(AuthenticationFailed):
            accounts.auth.check_password("admin", "Wrong-Password-99!")
    with pytest.raises(AccountLocked):
        accounts.auth.check_password("admin", "Wrong-Password-99!")
    enter_password(qtbot, dialog, "admin", PW)  # the right password, too late
    qtbot.waitUntil(dialog.error_label.isVisible)
    until = (accounts.clock.now() + LOCKOUT).astimezone()
    assert f"until {until:%H:%M}" in dialog.error_label.text()
    assert dialog.error_label.property("locked") is True
    assert dialog.pages.currentIndex() == SignInDialog.CREDENTIALS


def test_recovery_code(
    qtbot: QtBot, accounts: Accounts, admin: Enrolled, dialog: SignInDialog
) -> None:
    enter_password(qtbot, dialog, "admin", PW)
    qtbot.waitUntil(lambda: dialog.pages.currentIndex() == SignInDialog.CODE)
    dialog.recovery_link.click()
    assert "recovery" in dialog.code_prompt.text()
    code = admin.recovery_codes[3]
    dialog.code.setText(code)
    with qtbot.waitSignal(dialog.signed_in) as blocker:
        dialog.submit_button.click()
    assert blocker.args[0].used_recovery_code
    assert blocker.args[0].recovery_codes_left == len(admin.recovery_codes) - 1
    step = accounts.auth.check_password("admin", PW)
    with pytest.raises(CodeRejected):
        accounts.auth.check_second_factor(step, code)  # used up


def test_expired_password_forces_a_change(
    qtbot: QtBot, accounts: Accounts, admin: Enrolled, dialog: SignInDialog
) -> None:
    accounts.clock.advance(int(timedelta(days=366).total_seconds()))
    enter_password(qtbot, dialog, "admin", PW)
    qtbot.waitUntil(lambda: dialog.pages.currentIndex() == SignInDialog.CODE)
    dialog.code.setText(accounts.code(admin.secret))
    dialog.submit_button.click()
    qtbot.waitUntil(lambda: isinstance(dialog.child_dialog, ChangePasswordDialog))
    change = dialog.child_dialog
    assert isinstance(change, ChangePasswordDialog)
    assert "older than a year" in change.reason_label.text()
    assert dialog.session is None  # not signed in until the password is changed
    change.fields.password.setText(NEW_PW)
    change.fields.confirm.setText(NEW_PW)
    qtbot.waitUntil(change.ok_button.isEnabled)
    with qtbot.waitSignal(dialog.signed_in) as blocker:
        change.ok_button.click()
    assert not blocker.args[0].needs_password_change
    assert accounts.password_works("admin", NEW_PW)
    assert not accounts.password_works("admin", PW)


def test_refusing_the_forced_change_signs_out(
    qtbot: QtBot, accounts: Accounts, admin: Enrolled, dialog: SignInDialog
) -> None:
    agent = accounts.agent(admin)
    temporary = accounts.operators.reset_password(admin.session.actor, agent.id)
    enter_password(qtbot, dialog, agent.username, temporary)
    qtbot.waitUntil(lambda: dialog.pages.currentIndex() == SignInDialog.CODE)
    dialog.code.setText(accounts.code(agent.secret))
    dialog.submit_button.click()
    qtbot.waitUntil(lambda: isinstance(dialog.child_dialog, ChangePasswordDialog))
    assert dialog.child_dialog is not None
    dialog.child_dialog.reject()
    qtbot.waitUntil(lambda: "signed_out" in accounts.world.actions())
    assert dialog.session is None and dialog.isVisible()
    assert dialog.pages.currentIndex() == SignInDialog.CREDENTIALS


def test_setup_code_enrolls_the_new_operator(
    qtbot: QtBot, accounts: Accounts, admin: Enrolled, dialog: SignInDialog
) -> None:
    setup = accounts.operators.add_operator(
        admin.session.actor,
        username="newbie",
        display_name="New Operator",
        email="newbie@example.com",
        role=Role.AGENT,
    )
    dialog.username.setText("newbie")
    dialog.setup_link.click()
    wizard = dialog.child_dialog
    assert isinstance(wizard, SetupAccountWizard)
    page = wizard.setup_page
    assert page.username.text() == "newbie"
    page.setup_code.setText(setup.code)
    page.fields.password.setText(NEW_PW)
    page.fields.confirm.setText(NEW_PW)
    qtbot.waitUntil(page.isComplete)
    wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.mfa_page)
    secret = wizard.mfa_page.key_label.text().replace(" ", "")
    wizard.mfa_page.code_edit.setText(accounts.code(secret))
    wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.codes_page)
    wizard.codes_page.stored_check.setChecked(True)
    with qtbot.waitSignal(dialog.signed_in) as blocker:
        wizard.button(QWizard.WizardButton.FinishButton).click()
    assert blocker.args[0].actor.username == "newbie"
    step = accounts.auth.check_password("newbie", NEW_PW)
    assert accounts.auth.check_second_factor(step, accounts.code(secret)).actor.username == "newbie"


def test_mfa_reset_by_admin_reenrolls(
    qtbot: QtBot, accounts: Accounts, admin: Enrolled, dialog: SignInDialog
) -> None:
    agent = accounts.agent(admin)
    accounts.operators.reset_mfa(admin.session.actor, agent.id)
    enter_password(qtbot, dialog, agent.username, agent.password)
    qtbot.waitUntil(lambda: isinstance(dialog.child_dialog, ReenrollWizard))
    wizard = dialog.child_dialog
    assert isinstance(wizard, ReenrollWizard)
    assert wizard.currentPage() is wizard.mfa_page
    secret = wizard.mfa_page.key_label.text().replace(" ", "")
    assert secret != agent.secret
    wizard.mfa_page.code_edit.setText(accounts.code(secret))
    wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.codes_page)
    wizard.codes_page.stored_check.setChecked(True)
    with qtbot.waitSignal(dialog.signed_in):
        wizard.button(QWizard.WizardButton.FinishButton).click()
    step = accounts.auth.check_password(agent.username, agent.password)
    assert not step.needs_mfa_enrollment
    with pytest.raises(CodeRejected):
        accounts.auth.check_second_factor(step, accounts.code(agent.secret))  # the old key


# --- auth flow (what main.py calls) ---------------------------------------------------


def services_for(auth: AuthService, *, demo: bool = False) -> SimpleNamespace:
    return SimpleNamespace(auth=auth, core=SimpleNamespace(profile=SimpleNamespace(demo=demo)))


def test_flow_runs_the_wizard_on_first_start(qtbot: QtBot, accounts: Accounts) -> None:
    cancelled: list[bool] = []
    auth_flow.authenticate(
        services_for(accounts.auth), lambda s: None, lambda: cancelled.append(True)
    )
    qtbot.waitUntil(lambda: isinstance(auth_flow.current_dialog, FirstRunWizard))
    wizard = auth_flow.current_dialog
    assert wizard is not None
    wizard.reject()  # cancelling the wizard exits the app (the caller quits)
    qtbot.waitUntil(lambda: cancelled == [True])


def test_flow_shows_sign_in_when_an_admin_exists(
    qtbot: QtBot, accounts: Accounts, admin: Enrolled
) -> None:
    sessions: list[object] = []
    auth_flow.authenticate(services_for(accounts.auth), sessions.append, lambda: None)
    qtbot.waitUntil(lambda: isinstance(auth_flow.current_dialog, SignInDialog))
    dlg = auth_flow.current_dialog
    assert isinstance(dlg, SignInDialog)
    enter_password(qtbot, dlg, "admin", PW)
    qtbot.waitUntil(lambda: dlg.pages.currentIndex() == SignInDialog.CODE)
    dlg.code.setText(accounts.code(admin.secret))
    dlg.submit_button.click()
    qtbot.waitUntil(lambda: len(sessions) == 1)
    assert auth_flow.current_dialog is None


def test_flow_demo_signs_in_automatically(qtbot: QtBot, vault: Vault, clock: FakeClock) -> None:
    accounts = Accounts(vault, clock, demo=True)  # no administrator: a wizard would open
    sessions: list[object] = []
    auth_flow.authenticate(services_for(accounts.auth, demo=True), sessions.append, lambda: None)
    qtbot.waitUntil(lambda: len(sessions) == 1)
    session = sessions[0]
    assert session.demo and session.actor.username == "demo"  # type: ignore[attr-defined]
    assert auth_flow.current_dialog is None  # demo never runs the wizard
