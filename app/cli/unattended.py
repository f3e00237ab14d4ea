"""``muttefik unattended enable|disable|status`` (admin sign-in), and the sign-in of
``muttefik sync`` when it runs with no one at the terminal.

Enabling stores a credential for the system principal in the profile's keychain entries
(:mod:`app.unattended`); ``muttefik sync --store NAME --unattended`` then signs in with
it, with no prompt, so cron can run it.  Without a terminal the sync uses it whenever it
is enabled, flag or not.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from app.auth.rbac import Permission
from app.cli.terminal import open_cli_services, sign_in_on_terminal
from app.errors import PermissionDenied

if TYPE_CHECKING:
    from app.auth.models import Actor
    from app.services import Services

NOT_ENABLED = (
    "Unattended sync is not enabled for this profile. An administrator enables it with "
    "`muttefik unattended enable`."
)


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "unattended", help="let `muttefik sync` run with no one signing in (admin sign-in)"
    )
    actions = parser.add_subparsers(dest="unattended_command", metavar="ACTION", required=True)
    actions.add_parser(
        "enable", help="create the credential scheduled syncs use (replaces an earlier one)"
    ).set_defaults(func=cmd_enable)
    actions.add_parser("disable", help="revoke it").set_defaults(func=cmd_disable)
    actions.add_parser("status", help="whether it is enabled, by whom and when").set_defaults(
        func=cmd_status
    )


def cmd_enable(args: argparse.Namespace) -> int:
    with open_cli_services(args) as services:
        actor = sign_in_on_terminal(services.auth, Permission.MANAGE_CREDENTIALS).actor
        services.unattended.enable(actor)
    print(
        "Unattended sync enabled: `muttefik sync --store NAME --unattended` now runs with "
        "no sign-in (for example from cron) and can only sync orders. "
        "`muttefik unattended disable` revokes it."
    )
    return 0


def cmd_disable(args: argparse.Namespace) -> int:
    with open_cli_services(args) as services:
        actor = sign_in_on_terminal(services.auth, Permission.MANAGE_CREDENTIALS).actor
        was_enabled = services.unattended.disable(actor)
    print("Unattended sync disabled." if was_enabled else "Unattended sync was not enabled.")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    with open_cli_services(args) as services:
        actor = sign_in_on_terminal(services.auth, Permission.MANAGE_CREDENTIALS).actor
        status = services.unattended.status(actor).result()
    if status is None:
        print("Unattended sync is not enabled.")
    else:
        by = status.enabled_by or "an operator since removed"
        print(
            f"Unattended sync is enabled (enabled by {by}, {status.enabled_at:%Y-%m-%d %H:%M} UTC)."
        )
    return 0


def no_terminal() -> bool:
    return not sys.stdin.isatty()


def sync_actor(services: Services, required: bool) -> Actor | None:
    """The system principal when the unattended credential signs in; None when unattended
    sync is not enabled and not ``required`` (the operator signs in instead).  Raises
    :class:`PermissionDenied` for a refused credential, or when ``required`` and not
    enabled."""
    actor = services.unattended.sign_in()
    if actor is None and required:
        raise PermissionDenied(NOT_ENABLED)
    if actor is not None:
        print("Unattended sync: running as the system.", file=sys.stderr)
    return actor
