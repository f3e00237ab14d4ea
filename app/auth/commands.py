"""``muttefik audit verify|export`` and ``muttefik users …``.

``audit verify`` reveals nothing, so it needs no sign-in; everything else asks for an
admin's username, password (no echo) and code on the terminal.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from app.atomic import write_private
from app.auth.models import Actor, Operator
from app.auth.rbac import Permission, Role
from app.errors import ExportNotWritten, InvalidOperatorInput, ProfileReadOnly

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from app.auth.models import Session
    from app.auth.service import AuthService
    from app.services import Services


# Argument parsing runs at every start (GUI too): the service layer is imported only
# when a command actually runs.
def open_cli_services(args: argparse.Namespace) -> AbstractContextManager[Services]:
    from app.auth.terminal import open_cli_services as open_services

    return open_services(args)


def sign_in_on_terminal(auth: AuthService, permission: Permission | None = None) -> Session:
    from app.auth.terminal import sign_in_on_terminal as sign_in

    return sign_in(auth, permission)


def register(sub: Any) -> None:
    audit = sub.add_parser("audit", help="verify or export the audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = audit_sub.add_parser(
        "verify", help="check the audit log's seals and the record kept outside the data file"
    )
    verify.add_argument(
        "--against",
        metavar="EXPORT",
        help="also prove that nothing up to this earlier export's last entry changed",
    )
    verify.set_defaults(func=cmd_audit_verify)
    export = audit_sub.add_parser("export", help="export audit entries (admin sign-in)")
    export.add_argument("--since", required=True, type=_date, metavar="YYYY-MM-DD")
    export.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    export.add_argument("--output", metavar="FILE", help="write here instead of stdout")
    export.set_defaults(func=cmd_audit_export)

    users = sub.add_parser("users", help="manage operators (admin sign-in)")
    users_sub = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    users_sub.add_parser("list", help="list operators").set_defaults(func=cmd_users_list)
    add = users_sub.add_parser("add", help="add an operator; prints a one-time setup code")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="display name")
    add.add_argument("--email", required=True)
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.AGENT.value)
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


def _date(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("use a date like 2026-01-31") from exc


# --- audit ------------------------------------------------------------------------------


def cmd_audit_verify(args: argparse.Namespace) -> int:
    lines: list[str] | None = None
    if args.against:
        from app.audit import ExportUnreadable

        try:
            lines = Path(args.against).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ExportUnreadable(
                f"Cannot read the export {args.against}. Check the path and try again."
            ) from exc
    with open_cli_services(args) as services:
        audit = services.audit
        result = audit.verify() if lines is None else audit.verify_against(lines)
    print(result.summary(), file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1


def _check_output(path: Path) -> None:
    """Refuse an export target that cannot be written, before anyone signs in or
    anything is exported (and recorded as exported)."""
    if path.is_dir():
        raise ExportNotWritten(
            f"{path} is a folder. Give a file name, such as {path / 'audit.csv'}."
        )
    if not path.parent.is_dir():
        raise ExportNotWritten(
            f"The folder for {path} does not exist. Create it first, or choose another place."
        )
    try:  # the real test: even root cannot write everywhere (read-only disks, /sys)
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ExportNotWritten(
            f"{path} cannot be written: {exc.strerror}. Choose a folder you can write to.",
            detail=f"errno {exc.errno}",
        ) from None


def _write_output(path: Path, data: bytes) -> None:
    try:
        write_private(path, data)
    except (OSError, ProfileReadOnly) as exc:  # DiskFull passes: its message fits
        reason = exc.strerror if isinstance(exc, OSError) else exc.detail
        raise ExportNotWritten(
            f"{path} cannot be written: {reason}. Choose another place and export again."
        ) from None


def cmd_audit_export(args: argparse.Namespace) -> int:
    fmt = cast(Literal["csv", "jsonl"], args.format)
    if args.output:
        _check_output(Path(args.output))
    with open_cli_services(args) as services:
        session = sign_in_on_terminal(services.auth, Permission.EXPORT_AUDIT)
        buffer = io.StringIO(newline="")
        from app.audit import AuditFilter

        count = services.audit.export(session.actor, AuditFilter(since=args.since), fmt, buffer)
    if args.output:
        _write_output(Path(args.output), buffer.getvalue().encode("utf-8"))
        print(f"Exported {count} audit entries to {args.output}.", file=sys.stderr)
    else:
        sys.stdout.write(buffer.getvalue())
    return 0


# --- users ------------------------------------------------------------------------------


def _signed_in_admin(services: Services) -> Actor:
    return sign_in_on_terminal(services.auth, Permission.MANAGE_OPERATORS).actor


def _find(services: Services, actor: Actor, username: str) -> Operator:
    wanted = username.strip().lower()
    for op in services.operators.list_operators(actor):
        if op.username == wanted:
            return op
    shown = f" named {wanted!r}" if len(wanted) <= 32 else " with that username"
    raise InvalidOperatorInput(f"There is no operator{shown}.")


def cmd_users_list(args: argparse.Namespace) -> int:
    with open_cli_services(args) as services:
        actor = _signed_in_admin(services)
        operators = services.operators.list_operators(actor)
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
