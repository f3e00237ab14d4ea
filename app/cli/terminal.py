"""The terminal side of the subcommands: prompts, the profile named by the arguments,
opening its services, and signing an operator in.

Commands that read or change buyer data, stores or operators sign in first::

    with open_cli_services(args) as services:
        session = sign_in_on_terminal(services.auth, Permission.EXPORT_AUDIT)

The password is read without echo (getpass).  The demo profile signs in its ``demo``
admin automatically, as the GUI does; a real profile never skips sign-in.

Argument parsing runs at every start (the GUI's too), so the services and the vault are
imported only when a command opens them.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from app.auth.rbac import Permission, require
from app.errors import NoInput, OperationCancelled, PermissionDenied
from app.paths import Profile, resolve_profile

if TYPE_CHECKING:
    from app.auth.models import Session
    from app.auth.service import AuthService
    from app.services import Services

Ask = Callable[[str], str]


def profile_from_args(args: argparse.Namespace) -> Profile:
    return resolve_profile(args.profile, demo=args.demo)


def prompt(ask: Ask, text: str, what: str) -> str:
    """``ask(text)``, naming ``what`` was asked for when the answer cannot be used: end of
    input (stdin closed, Ctrl-D) becomes :class:`NoInput`; bytes that are not UTF-8
    (Python hands them on as lone surrogates) become :class:`OperationCancelled`."""
    try:
        with warnings.catch_warnings():
            # getpass prints its own one-line note when it cannot hide the input.
            warnings.simplefilter("ignore", getpass.GetPassWarning)
            answer = ask(text)
    except EOFError:
        print(file=sys.stderr)  # the prompt left the cursor on its line
        raise NoInput(
            f"The input ended where the {what} was asked for. Run the command in a terminal "
            "and type it, or give it on standard input."
        ) from None
    try:
        answer.encode("utf-8")
    except UnicodeEncodeError:
        raise OperationCancelled(
            f"The {what} that was entered is not valid text (UTF-8). Set your terminal to "
            "UTF-8, or give the answers as UTF-8 text, and try again."
        ) from None
    return answer


def ask_passphrase(new_profile: bool) -> str:
    """Terminal passphrase prompt (no echo; without a terminal, getpass reads stdin)."""
    first = prompt(getpass.getpass, "Passphrase: ", "passphrase")
    if new_profile:
        from app.vault.passphrase import passphrase_problem

        again = prompt(getpass.getpass, "Repeat passphrase: ", "passphrase")
        problem = passphrase_problem(first, again)
        if problem:
            raise OperationCancelled(problem)
    return first


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
def open_cli_services(
    args: argparse.Namespace, *, passphrase: Callable[[bool], str] = ask_passphrase
) -> Iterator[Services]:
    """Open the existing profile named by ``args`` and build the services; closes them
    after.  Raises NotAProfile/DataFileMissing rather than create anything.
    ``passphrase`` answers a passphrase-mode profile (the terminal prompt by default)."""
    from app import bootstrap
    from app.services import Core, build_services

    profile = profile_from_args(args)
    secrets = bootstrap.secret_store_for(profile)
    # Commands never create a profile (``muttefik profile new`` does, explicitly).
    vault, _key = bootstrap.open_vault(profile, secrets, passphrase=passphrase, create=False)
    core = Core(profile=profile, vault=vault, secrets=secrets)
    try:
        yield build_services(core)
    finally:
        core.close()
