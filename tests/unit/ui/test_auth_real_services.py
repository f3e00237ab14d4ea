"""The auth dialogs against the real AuthService/OperatorService on a real vault: first
admin through the wizard, sign-in with a fresh TOTP code, an admin adds an operator who
redeems the setup code, and the audit log shows it all.  Codes are computed at the
services' (fake) clock time, as an authenticator app would at that moment."""

from __future__ import annotations

from collections.abc import Iterator

import pyotp
import pytest
from pytestqt.qtbot import QtBot

from app.audit import Action, AuditFilter, AuditLog
from app.audit_service import AuditService
from app.auth.hashing import fast_hashing_for_tests
from app.auth.operators import OperatorService
from app.auth.service import AuthService
from app.clock import FakeClock
from app.errors import CodeRejected
from app.services import Core
from tests.support import AUDIT_TEST_KEY
from ui import ops
from ui.dialogs.first_run import FirstRunWizard
from ui.dialogs.sign_in import SignInDialog
from ui.views.operators import OneTimeSecretDialog, OperatorsView

PW = "Correct-Horse-42-battery"
AGENT_PW = "Quiet-Harbour-77-lantern"


@pytest.fixture(autouse=True)
def _bridge(qapp: object) -> Iterator[None]:
    ops.install()
    yield


def code_at(secret: str, clock: FakeClock) -> str:
    return pyotp.TOTP(secret).at(clock.now())


def test_first_admin_sign_in_and_new_operator(qtbot: QtBot, core: Core) -> None:
    clock = core.clock
    assert isinstance(clock, FakeClock)
    log = AuditLog(clock=clock, key=AUDIT_TEST_KEY)
    auth = AuthService(vault=core.vault, clock=clock, audit=log, hasher=fast_hashing_for_tests())
    operators = OperatorService(vault=core.vault, clock=clock, audit=log)
    audit = AuditService(vault=core.vault, audit=log)

    # --- first run
    wizard = FirstRunWizard(auth=auth)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.next()
    page = wizard.account_page
    page.username.setText("ayse")
    page.display_name.setText("Ayşe Yılmaz")
    page.email.setText("ayse@example.com")
    page.fields.password.setText("password1234")
    page.fields.confirm.setText("password1234")
    qtbot.waitUntil(
        lambda: "✘" in page.fields.feedback.text() and "Checking" not in page.fields.feedback.text()
    )
    assert not page.isComplete()  # the core's policy refuses it, rule by rule
    page.fields.password.setText(PW)
    page.fields.confirm.setText(PW)
    qtbot.waitUntil(page.isComplete, timeout=10_000)
    wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.mfa_page, timeout=10_000)
    secret = wizard.mfa_page.key_label.text().replace(" ", "")
    wizard.mfa_page.code_edit.setText(code_at(secret, clock))
    wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.codes_page, timeout=10_000)
    assert len(wizard.codes_page.codes()) == 10
    wizard.codes_page.stored_check.setChecked(True)
    wizard.accept()
    admin_session = wizard.session
    assert admin_session is not None and admin_session.actor.username == "ayse"

    # --- sign in again: the code of the enrollment's time step is refused (replay)
    dialog = SignInDialog(auth=auth)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.username.setText("ayse")
    dialog.password.setText(PW)
    dialog.submit_button.click()
    qtbot.waitUntil(lambda: dialog.pages.currentIndex() == SignInDialog.CODE, timeout=10_000)
    dialog.code.setText(code_at(secret, clock))
    dialog.submit_button.click()
    qtbot.waitUntil(dialog.error_label.isVisible, timeout=10_000)
    assert dialog.error_label.text() == CodeRejected.message
    clock.advance(30)
    dialog.code.setText(code_at(secret, clock))
    with qtbot.waitSignal(dialog.signed_in, timeout=10_000) as blocker:
        dialog.submit_button.click()
    actor = blocker.args[0].actor

    # --- the admin adds an agent, who redeems the setup code
    view = OperatorsView(service=operators, actor=actor, clock=clock)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.show()
    view.add_operator()
    add = view.open_dialog
    assert add is not None
    add.username.setText("bora")  # type: ignore[attr-defined]
    add.display_name.setText("Bora Demir")  # type: ignore[attr-defined]
    add.email.setText("bora@example.com")  # type: ignore[attr-defined]
    add.accept()
    qtbot.waitUntil(lambda: isinstance(view.open_dialog, OneTimeSecretDialog), timeout=10_000)
    setup_code = view.open_dialog.secret()  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: view.model.rowCount() == 2, timeout=10_000)

    login = SignInDialog(auth=auth, username="bora")
    qtbot.addWidget(login)
    login.show()
    login.setup_link.click()
    setup = login.child_dialog
    assert setup is not None
    setup.setup_page.setup_code.setText(setup_code)  # type: ignore[attr-defined]
    setup.setup_page.fields.password.setText(AGENT_PW)  # type: ignore[attr-defined]
    setup.setup_page.fields.confirm.setText(AGENT_PW)  # type: ignore[attr-defined]
    qtbot.waitUntil(setup.setup_page.isComplete, timeout=10_000)  # type: ignore[attr-defined]
    setup.next()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: setup.currentPage() is setup.mfa_page, timeout=10_000)  # type: ignore[attr-defined]
    agent_secret = setup.mfa_page.key_label.text().replace(" ", "")  # type: ignore[attr-defined]
    setup.mfa_page.code_edit.setText(code_at(agent_secret, clock))  # type: ignore[attr-defined]
    setup.next()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: setup.currentPage() is setup.codes_page, timeout=10_000)  # type: ignore[attr-defined]
    setup.codes_page.stored_check.setChecked(True)  # type: ignore[attr-defined]
    with qtbot.waitSignal(login.signed_in, timeout=10_000) as blocker:
        setup.accept()
    assert blocker.args[0].actor.username == "bora"
    assert str(blocker.args[0].actor.role) == "agent"

    # --- and the audit log saw all of it, without the secrets
    entries = core.vault.call(lambda conn: log.entries(conn, log.seqs(conn, AuditFilter())))
    actions = {e.action for e in entries}
    assert {Action.OPERATOR_CREATED, Action.MFA_ENROLLED, Action.SIGN_IN_OK,
            Action.SIGN_IN_FAILED, Action.SETUP_CODE_ISSUED} <= actions  # fmt: skip
    dump = repr(entries)
    assert secret not in dump and agent_secret not in dump and setup_code not in dump
    assert len(audit.read(actor, lambda r: r.seqs(AuditFilter())).result()) == len(entries)
