"""``muttefik audit verify|export``.

``audit verify`` reveals nothing, so it needs no sign-in; ``audit export`` asks for an
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
from typing import Any, Literal, cast

from app.atomic import write_private
from app.auth.rbac import Permission
from app.cli.terminal import open_cli_services, sign_in_on_terminal
from app.errors import ExportNotWritten, ProfileReadOnly


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
