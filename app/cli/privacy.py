"""``muttefik erase``, ``muttefik export`` and ``muttefik requests …``: a buyer's data
erased, handed out, and deletion requests kept, from the terminal (admins).

* ``erase (--order ID | --alias ADDRESS) [--including-messages]`` erases the subject's
  buyer data now (registered as the seller's own request) and prints the counts.
* ``export (--order ID | --alias ADDRESS) --out DIR`` writes ``export.json`` and
  ``export.html`` into DIR (an existing folder) and prints their paths.
* ``requests add --source amazon|seller|buyer (--order ID | --alias ADDRESS)
  [--received YYYY-MM-DD] [--including-messages] [--note TEXT]``, ``requests list
  [--all]`` (JSON lines, due soonest first; a relay address only while the request is
  open), ``requests run --id N`` (carry it out).

A relay address is buyer data: ``--alias -`` reads it from standard input instead, so it
stays out of the shell's history and the process list.  Nothing here prints an alias
except ``requests list`` for open requests (the seller's own list of what to erase).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.auth.rbac import Permission
from app.cli.terminal import open_cli_services, sign_in_on_terminal
from app.errors import NoInput
from app.privacy.models import (
    DeletionRequest,
    PurgeCounts,
    RequestSource,
    RequestState,
    Subject,
    SubjectKind,
)
from app.privacy.subjects import parse_subject


def register(sub: Any) -> None:
    erase = sub.add_parser("erase", help="erase a buyer's data now (an order or a relay address)")
    _subject_args(erase)
    erase.add_argument(
        "--including-messages", action="store_true", help="delete the messages themselves too"
    )
    erase.set_defaults(func=cmd_erase)

    export = sub.add_parser("export", help="write everything held about a buyer (JSON + HTML)")
    _subject_args(export)
    export.add_argument("--out", required=True, type=Path, metavar="DIR", help="an existing folder")
    export.set_defaults(func=cmd_export)

    requests = sub.add_parser("requests", help="deletion requests: add, list, carry out")
    cmds = requests.add_subparsers(dest="requests_command", metavar="ACTION", required=True)
    add = cmds.add_parser("add", help="register a deletion request")
    add.add_argument("--source", required=True, choices=[s.value for s in RequestSource])
    _subject_args(add)
    add.add_argument(
        "--received", type=_moment, metavar="YYYY-MM-DD", help="when it arrived (default: now)"
    )
    add.add_argument(
        "--including-messages", action="store_true", help="delete the messages themselves too"
    )
    add.add_argument("--note", default="", help="your own words (no buyer data)")
    add.set_defaults(func=cmd_requests_add)
    listing = cmds.add_parser("list", help="open requests, due soonest first (JSON lines)")
    listing.add_argument("--all", action="store_true", help="done ones too, newest first")
    listing.set_defaults(func=cmd_requests_list)
    run = cmds.add_parser("run", help="carry out a request now")
    run.add_argument("--id", required=True, type=int, metavar="N")
    run.set_defaults(func=cmd_requests_run)


def _subject_args(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--order", metavar="ID", help="an Amazon order id")
    which.add_argument(
        "--alias", metavar="ADDRESS", help="the buyer's relay address ('-': read it from stdin)"
    )


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("give a date as YYYY-MM-DD") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _subject(args: argparse.Namespace) -> Subject:
    """The subject the arguments name, checked before anything is opened."""
    if args.order is not None:
        return parse_subject(SubjectKind.ORDER, args.order)
    value = args.alias
    if value == "-":
        if sys.stdin.isatty():
            print("Relay address: ", end="", file=sys.stderr, flush=True)
        value = sys.stdin.readline()
        if not value:
            raise NoInput(detail="no relay address on standard input")
    return parse_subject(SubjectKind.ALIAS, value)


def _counts_lines(counts: PurgeCounts) -> list[str]:
    return [f"  {kind.replace('_', ' ')}: {n}" for kind, n in counts.as_dict().items()]


def request_json(request: DeletionRequest) -> dict[str, Any]:
    """A request as one JSON object; a relay address only while the request is open."""
    shown = request.state is RequestState.OPEN or request.subject.kind is SubjectKind.ORDER
    return {
        "id": request.id,
        "source": str(request.source),
        "subject_kind": str(request.subject.kind),
        "subject": request.subject.value if shown else None,
        "received_at": request.received_at.isoformat(),
        "due_at": request.due_at.isoformat(),
        "including_messages": request.including_messages,
        "state": str(request.state),
        "completed_at": request.completed_at.isoformat() if request.completed_at else None,
        "counts": request.counts.as_dict() if request.counts else None,
        "note": request.note,
    }


# --- commands --------------------------------------------------------------------------


def cmd_erase(args: argparse.Namespace) -> int:
    subject = _subject(args)
    with open_cli_services(args) as services:
        actor = sign_in_on_terminal(services.auth, Permission.MANAGE_PRIVACY).actor
        counts = services.subjects.erase(actor, subject, including_messages=args.including_messages)
    what = f"order {subject.value}" if subject.kind is SubjectKind.ORDER else "the relay address"
    if counts.total() == 0:
        print(f"Nothing of {what} was held; the request is recorded as done.")
    else:
        print(f"Erased the buyer data of {what}:")
    print("\n".join(_counts_lines(counts)))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    subject = _subject(args)
    with open_cli_services(args) as services:
        actor = sign_in_on_terminal(services.auth, Permission.MANAGE_PRIVACY).actor
        written = services.subjects.write_export(actor, subject, args.out)
    for path in written:
        print(path)
    return 0


def cmd_requests_add(args: argparse.Namespace) -> int:
    subject = _subject(args)
    with open_cli_services(args) as services:
        actor = sign_in_on_terminal(services.auth, Permission.MANAGE_PRIVACY).actor
        subjects = services.subjects
        received = args.received or subjects.clock.now()
        request = subjects.register(
            actor,
            RequestSource(args.source),
            subject,
            received,
            including_messages=args.including_messages,
            note=args.note,
        )
    print(json.dumps(request_json(request), ensure_ascii=False))
    return 0


def cmd_requests_list(args: argparse.Namespace) -> int:
    with open_cli_services(args) as services:
        actor = sign_in_on_terminal(services.auth, Permission.MANAGE_PRIVACY).actor
        found = services.subjects.requests(actor, open_only=not args.all).result()
    for request in found:
        print(json.dumps(request_json(request), ensure_ascii=False))
    return 0


def cmd_requests_run(args: argparse.Namespace) -> int:
    with open_cli_services(args) as services:
        actor = sign_in_on_terminal(services.auth, Permission.MANAGE_PRIVACY).actor
        done = services.subjects.execute(actor, args.id)
    print(json.dumps(request_json(done), ensure_ascii=False))
    return 0
