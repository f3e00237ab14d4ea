"""The sign-in stage of startup, called by ``ui.main`` once the vault is open.

    authenticate(services, signed_in, cancelled)

* no admin with MFA yet → the first-run wizard (cancel → ``cancelled()``: the app quits);
* demo profile → the ``demo`` admin is signed in automatically (``Session.demo`` is True:
  the main window shows its banner);
* otherwise → the sign-in dialog.

Every core call runs off the GUI thread (``ui.ops``).  Thread: GUI.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QWidget

from app.auth.models import Session
from app.auth.service import AuthService
from ui.ops import Op

log = logging.getLogger("muttefik.ui")

# The open dialog of the flow (for tests and for keeping it alive).
current_dialog: QDialog | None = None


def auth_service(services: Any) -> AuthService:
    auth: AuthService = services.auth
    return auth


def authenticate(
    services: Any,
    signed_in: Callable[[Session], None],
    cancelled: Callable[[], None],
    *,
    parent: QWidget | None = None,
) -> None:
    """Sign an operator in, then call ``signed_in(session)`` (or ``cancelled()``)."""
    auth = auth_service(services)
    demo = bool(services.core.profile.demo)

    def decide(needs_first_admin: bool) -> None:
        if demo:
            log.info("auth: demo profile, automatic sign-in")
            Op(parent, lambda job: auth.demo_session()).on_success(signed_in).on_failure(
                lambda exc: _failed(exc, cancelled, parent)
            ).run()
        elif needs_first_admin:
            log.info("auth: first run, creating the administrator")
            run_first_run(auth, signed_in, cancelled, parent=parent)
        else:
            run_sign_in(auth, signed_in, cancelled, parent=parent)

    Op(parent, lambda job: (not demo) and auth.needs_first_admin()).on_success(decide).on_failure(
        lambda exc: _failed(exc, cancelled, parent)
    ).run()


def run_first_run(
    auth: AuthService,
    signed_in: Callable[[Session], None],
    cancelled: Callable[[], None],
    *,
    parent: QWidget | None = None,
) -> QDialog:
    from ui.dialogs.first_run import FirstRunWizard

    wizard = FirstRunWizard(auth=auth, parent=parent)

    def finished(result: int) -> None:
        session = wizard.session
        _forget(wizard)
        if result == QDialog.DialogCode.Accepted and session is not None:
            signed_in(session)
        else:
            log.info("auth: first-run wizard cancelled")
            cancelled()

    return _open(wizard, finished)


def run_sign_in(
    auth: AuthService,
    signed_in: Callable[[Session], None],
    cancelled: Callable[[], None],
    *,
    parent: QWidget | None = None,
) -> QDialog:
    from ui.dialogs.sign_in import SignInDialog

    dialog = SignInDialog(auth=auth, parent=parent)

    def finished(result: int) -> None:
        session = dialog.session
        _forget(dialog)
        if result == QDialog.DialogCode.Accepted and session is not None:
            signed_in(session)
        else:
            cancelled()

    return _open(dialog, finished)


def _open(dialog: QDialog, finished: Callable[[int], None]) -> QDialog:
    global current_dialog
    current_dialog = dialog
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.finished.connect(finished)
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog


def _forget(dialog: QDialog) -> None:
    global current_dialog
    if current_dialog is dialog:
        current_dialog = None


def _failed(exc: BaseException, cancelled: Callable[[], None], parent: QWidget | None) -> None:
    from ui.errors import show_error

    show_error(parent, exc)
    cancelled()
