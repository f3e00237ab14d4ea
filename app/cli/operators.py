"""``muttefik users list|add|disable|enable|unlock|reset-password|reset-mfa``.

Each asks for an admin's username, password (no echo) and code on the terminal.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from app.auth.models import Actor, Operator
from app.auth.rbac import OPERATOR_ROLES, Permission, Role
from app.cli.terminal import open_cli_services, sign_in_on_terminal
from app.errors import InvalidOperatorInput

if TYPE_CHECKING:
    from app.services import Services


def register(sub: Any) -> None:
    users = sub.add_parser("users", help="manage operators (admin sign-in)")
    users_sub = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    users_sub.add_parser("list", help="list operators").set_defaults(func=cmd_users_list)
    add = users_sub.add_parser("add", help="add an operator; prints a one-time setup code")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="display name")
    add.add_argument("--email", required=True)
    add.add_argument("--role", choices=[r.value for r in OPERATOR_ROLES], default=Role.AGENT.value)
    add.add_argument("--store", type=_store_id, action="append", default=[], metavar="STORE_ID")
    add.set_defaults(func=cmd_users_add)
    for name, help_text in (
        ("disable", "disable an operator"),
        ("enable", "enable a disabled operator"),
        ("unlock", "unlock an operator locked after failed sign-ins"),
        ("reset-password", "set a temporary password the operator must change"),
        ("reset-mfa", "remove an operator's two-step sign-in so they enroll again"),
    ):
        p = users_sub.add_parser(name, help=help_text)
        p.add_argument("username")
        p.set_defaults(func=cmd_users_change, users_action=name)


def _store_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value < 2**63:  # SQLite's integer range
        raise argparse.ArgumentTypeError("a store id is a whole number from 1 up")
    return value


# --- users ------------------------------------------------------------------------------


def _signed_in_admin(services: Services) -> Actor:
    return sign_in_on_terminal(services.auth, Permission.MANAGE_OPERATORS).actor


def _find(services: Services, actor: Actor, username: str) -> Operator:
    wanted = username.strip().lower()
    for op in services.operators.list_operators(actor).result():
        if op.username == wanted:
            return op
    shown = f" named {wanted!r}" if len(wanted) <= 32 else " with that username"
    raise InvalidOperatorInput(f"There is no operator{shown}.")


def cmd_users_list(args: argparse.Namespace) -> int:
    with open_cli_services(args) as services:
        actor = _signed_in_admin(services)
        operators = services.operators.list_operators(actor).result()
        now = services.core.clock.now()
    print(f"{'USERNAME':<20} {'ROLE':<6} {'STATE':<16} {'MFA':<4} STORES")
    for op in operators:
        state = (
            "disabled" if op.disabled
            else "locked" if op.is_locked(now)
            else "setup pending" if op.setup_pending
            else "must change pw" if op.must_change_password
            else "active"
        )  # fmt: skip
        stores = ",".join(str(s) for s in sorted(op.store_ids)) or "-"
        mfa = "yes" if op.mfa_enrolled else "no"
        print(f"{op.username:<20} {op.role.value:<6} {state:<16} {mfa:<4} {stores}")
    return 0


def cmd_users_add(args: argparse.Namespace) -> int:
    with open_cli_services(args) as services:
        actor = _signed_in_admin(services)
        setup = services.operators.add_operator(
            actor,
            username=args.username,
            display_name=args.name,
            email=args.email,
            role=Role(args.role),
            store_ids=frozenset(args.store),
        )
    print(f"Operator {setup.username} added.")
    print(f"One-time setup code (valid until {setup.expires_at:%Y-%m-%d %H:%M} UTC):")
    print(f"  {setup.code}")
    print("Give it to them in person; they choose their password and set up MFA with it.")
    return 0


def cmd_users_change(args: argparse.Namespace) -> int:
    action: str = args.users_action
    with open_cli_services(args) as services:
        actor = _signed_in_admin(services)
        target = _find(services, actor, args.username)
        ops = services.operators
        if action == "disable":
            ops.disable(actor, target.id)
            print(f"{target.username} is disabled.")
        elif action == "enable":
            ops.enable(actor, target.id)
            print(f"{target.username} is enabled.")
        elif action == "unlock":
            ops.unlock(actor, target.id)
            print(f"{target.username} is unlocked.")
        elif action == "reset-password":
            temporary = ops.reset_password(actor, target.id)
            print(f"Temporary password for {target.username} (they must change it):")
            print(f"  {temporary}")
        elif action == "reset-mfa":
            ops.reset_mfa(actor, target.id)
            print(f"{target.username} sets up two-step sign-in again at their next sign-in.")
        else:  # pragma: no cover - argparse limits the choices
            raise ValueError(action)
    return 0
