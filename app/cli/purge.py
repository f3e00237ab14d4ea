"""``muttefik purge [--dry-run] [--as-of YYYY-MM-DD] [--unattended]``: the privacy
purge, headless (cron, tests): the same retention policy and the same
``PrivacyService.purge`` as the app's scheduled job, then the counts per kind.

It signs an admin in on the terminal (the purge is ``purge_pii``: admins and the
system); with ``--unattended`` (or with no terminal while unattended sync is enabled) it
runs as the system with the profile's unattended credential instead, like ``muttefik
sync``.  ``--as-of`` applies the policy as of that day (00:00 UTC): what has expired by
then is erased.  ``--dry-run`` erases nothing and says what would be.  Ctrl-C or SIGTERM
stops it between batches (each batch is erased whole); the next run continues.

While the app has the profile open, a plain ``muttefik purge`` hands the run to the
app's scheduled purge job (``app/cli/handoff.py``) instead of failing on the profile
lock; ``--dry-run`` and ``--as-of`` cannot be handed over (the app purges as of now) and
meet the lock as before.
"""

from __future__ import annotations

import argparse
import signal
import sys
from datetime import UTC, datetime
from typing import Any

from app.auth.models import Actor
from app.cli.orders import _no_passphrase, _stop_signals_cancel
from app.cli.terminal import ask_passphrase, open_cli_services, sign_in_on_terminal
from app.errors import UserError
from app.jobs import Job
from app.privacy.models import PurgeCounts, PurgeRun, RunState

# What each count is, in the seller's words (singular, plural).
_KINDS = {
    "threads": ("conversation", "conversations"),
    "messages": ("message re-written", "messages re-written"),
    "drafts": ("draft", "drafts"),
    "attachments": ("attachment name", "attachment names"),
    "label_cache": ("cached label", "cached labels"),
    "audit_entries": ("audit entry past its retention", "audit entries past their retention"),
    "messages_deleted": ("message deleted", "messages deleted"),
}


def register(sub: Any) -> None:
    purge = sub.add_parser(
        "purge", help="erase buyer data past its retention period now and print the counts"
    )
    purge.add_argument(
        "--dry-run", action="store_true", help="erase nothing: print what would be erased"
    )
    purge.add_argument(
        "--as-of",
        type=_day,
        metavar="YYYY-MM-DD",
        help="apply the retention policy as of this day (default: now)",
    )
    purge.add_argument(
        "--unattended",
        action="store_true",
        help="no sign-in: run as the system (`muttefik unattended enable` first; for cron)",
    )
    purge.set_defaults(func=cmd_purge)


def _day(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError("give a date as YYYY-MM-DD") from None


def describe(counts: PurgeCounts) -> str:
    """``buyer data of 5 conversations, 10 messages re-written, …`` (kinds with a
    count)."""
    parts = []
    for kind, number in counts.as_dict().items():
        if number:
            one, many = _KINDS.get(kind, (kind, kind))
            text = f"{number:,} {one if number == 1 else many}"
            parts.append(f"buyer data of {text}" if kind == "threads" else text)
    return ", ".join(parts) or "nothing"


def _signed_in(services: Any, args: argparse.Namespace) -> Actor:
    from app.cli.unattended import no_terminal, sync_actor

    if args.unattended or no_terminal():
        actor = sync_actor(services, required=args.unattended)
        if actor is not None:
            return actor
    return sign_in_on_terminal(services.auth).actor


def _progress(done: int, total: int, text: str) -> None:
    print(f"  {done:,} of {total:,} conversations…" if total else f"  {done:,} conversations…")
    sys.stdout.flush()


def _handed_to_app(args: argparse.Namespace) -> bool:
    """If the app has the profile open, its purge job runs now instead.  False when no
    app answers (or the run asked for cannot be handed over): the command purges."""
    from app.cli.handoff import ask_app_to_purge
    from app.cli.terminal import profile_from_args

    if args.dry_run or args.as_of is not None:
        return False
    answer = ask_app_to_purge(profile_from_args(args))
    if answer is None:
        return False
    if not answer.accepted:
        raise UserError(answer.text)
    print(f"The app is running; {answer.text}.")
    return True


def cmd_purge(args: argparse.Namespace) -> int:
    if _handed_to_app(args):
        return 0
    passphrase = _no_passphrase if args.unattended else ask_passphrase
    with open_cli_services(args, passphrase=passphrase) as services:
        actor = _signed_in(services, args)
        when = f"as of {args.as_of:%Y-%m-%d}" if args.as_of else "now"
        print(f"{'Checking' if args.dry_run else 'Erasing'} buyer data past its retention {when}…")
        job = Job(_progress)
        with _stop_signals_cancel(job.cancel) as stopped_by:
            run: PurgeRun = services.privacy.purge(
                actor, as_of=args.as_of, dry_run=args.dry_run, job=job
            )
        if run.state is RunState.CANCELLED:
            print(
                f"Purge stopped; erased so far: {describe(run.counts)}. The next run "
                "continues from there."
            )
            return 128 + (stopped_by[0] if stopped_by else signal.SIGINT)
        if args.dry_run:
            print(f"Would erase: {describe(run.counts)}. Nothing was changed (dry run).")
        else:
            print(f"Erased: {describe(run.counts)}.")
        return 0
