"""Signing in on the terminal, for subcommands that read or change buyer data or operators.

Later commands (``export``, ``erase``) use it the same way::

    with open_cli_services(args) as services:
        session = sign_in_on_terminal(services.auth, Permission.EXPORT_AUDIT)

The password is read without echo (getpass).  The demo profile signs in its ``demo``
admin automatically, as the GUI does; a real profile never skips sign-in.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from app import bootstrap
from app.auth.models import Session
from app.auth.rbac import Permission, require
from app.auth.service import AuthService
from app.errors import PermissionDenied
from app.services import Core, Services, build_services

Ask = Callable[[str], str]


def ask_line(text: str) -> str:
    """``input(text)``, but with the prompt on stderr when stdout is not a terminal, so
    ``muttefik audit export … > FILE`` keeps it out of the file (as getpass does)."""
    if sys.stdout.isatty():
        return input(text)
    print(text, end="", file=sys.stderr, flush=True)
    return input()


def sign_in_on_terminal(
    auth: AuthService,
    permission: Permission | None = None,
    *,
    ask: Ask | None = None,
    ask_secret: Ask | None = None,
) -> Session:
    """Ask for username, password and code; return the session or raise.

    Raises :class:`AuthenticationFailed`, :class:`AccountLocked`, :class:`CodeRejected`,
    :class:`PermissionDenied` (missing ``permission``, or a password that must be
    changed in the app first) and :class:`NoInput` (end of input at a prompt).
    """
    if auth.demo:
        session = auth.demo_session()
        print("Demo profile: signed in as the demo administrator.", file=sys.stderr)
    else:
        from app.cli import prompt

        ask = ask or ask_line
        ask_secret = ask_secret or getpass.getpass
        username = prompt(ask, "Username: ", "username").strip()
        step = auth.check_password(username, prompt(ask_secret, "Password: ", "password"))
        if step.needs_mfa_enrollment:
            raise PermissionDenied(
                "Set up two-step sign-in in the app first, then use this command."
            )
        code = prompt(ask_secret, "Code from your authenticator app (or a recovery code): ", "code")
        session = auth.check_second_factor(step, code)
        if session.needs_password_change:
            raise PermissionDenied("Your password must be changed. Sign in to the app first.")
    if permission is not None:
        require(session.actor, permission)
    return session


@contextmanager
def open_cli_services(args: argparse.Namespace) -> Iterator[Services]:
    """Open the existing profile named by ``args`` and build the services; closes them
    after.  Raises NotAProfile/DataFileMissing rather than create anything."""
    from app.cli import ask_passphrase, profile_from_args

    profile = profile_from_args(args)
    secrets = bootstrap.secret_store_for(profile)
    # Commands never create a profile (``muttefik profile new`` does, explicitly).
    vault, _key = bootstrap.open_vault(profile, secrets, passphrase=ask_passphrase, create=False)
    core = Core(profile=profile, vault=vault, secrets=secrets)
    try:
        yield build_services(core)
    finally:
        core.close()
