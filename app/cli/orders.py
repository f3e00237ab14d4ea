"""``muttefik sync --store NAME``: the sync service, headless.

It signs an operator in on the terminal first (password and code; the demo profile
signs its demo admin in), so the audit log names who synced and an agent sees only
their stores.  With ``--unattended`` (or with no terminal while unattended sync is
enabled) it runs as the system with no prompt instead (``app/cli/unattended.py``).
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from app.amazon.models import HistoryProgress, SyncPhase, SyncProgress
from app.auth.models import Actor
from app.cli.handoff import ReleaseListener, windows_lock_hint
from app.cli.terminal import (
    ask_passphrase,
    open_cli_services,
    profile_from_args,
    sign_in_on_terminal,
)
from app.errors import (
    AmazonBadResponse,
    AmazonServerError,
    AmazonThrottled,
    NetworkDown,
    StoreSettingsInvalid,
    UserError,
)


def register(sub: Any) -> None:
    sync = sub.add_parser("sync", help="sync a store's orders from Amazon and print progress")
    sync.add_argument("--store", required=True, metavar="NAME", help="the store's name")
    sync.add_argument(
        "--unattended",
        action="store_true",
        help="no sign-in: run as the system (`muttefik unattended enable` first; for cron)",
    )
    sync.add_argument(
        "--history-days",
        type=_history_days,
        nargs="?",
        const=0,
        metavar="N",
        help="first load the last N days of order history (up to 730) through Amazon's "
        "order reports, in minutes; without N: resume a load that did not finish, or the "
        "app's setting",
    )
    sync.set_defaults(func=cmd_sync)


def _history_days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("give a number of days") from None
    if not 1 <= days <= 730:
        raise argparse.ArgumentTypeError("give between 1 and 730 days")
    return days


# The app's messages for these failures promise that the sync goes on by itself (the
# app's scheduled sync does); the command has exited, so it says what to do instead.
_CAUSES: dict[type[UserError], str] = {
    AmazonThrottled: "Amazon kept asking us to slow down.",
    AmazonServerError: "Amazon's servers kept returning an error.",
    AmazonBadResponse: "Amazon kept sending an answer Müttefik Desk could not read.",
    NetworkDown: "Could not reach the server. Check your internet connection.",
}


def after_exit(exc: UserError, what: str, again: str) -> UserError:
    """``exc`` with a message that fits a command that has stopped: ``what`` happened
    to the work, and the command (``again``) to run to go on."""
    cause = _CAUSES.get(type(exc))
    if cause is not None:
        exc.message = f"{cause} {what} Run `{again}` again to continue."
    return exc


def _after_exit(exc: UserError, store_name: str) -> UserError:
    return after_exit(
        exc,
        "The sync stopped; the orders stored so far are kept.",
        f"muttefik sync --store {shlex.quote(store_name)}",
    )


def _signed_in(services: Any, args: argparse.Namespace) -> Actor:
    """The system with ``--unattended`` (or without a terminal, when unattended sync is
    enabled), else the operator signing in on the terminal."""
    from app.cli.unattended import no_terminal, sync_actor

    if args.unattended or no_terminal():
        actor = sync_actor(services, required=args.unattended)
        if actor is not None:
            return actor
    return sign_in_on_terminal(services.auth).actor


def _no_passphrase(new_profile: bool) -> str:
    from app.unattended import PassphraseProfile

    raise PassphraseProfile()


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:  # the rate limit's wait only: requests still take their time
        return ", under a minute left"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return (
        f", about {hours}h{minutes:02d}m left" if hours else f", about {minutes}m{secs:02d}s left"
    )


def print_progress(p: SyncProgress) -> None:
    if p.phase is SyncPhase.DONE:
        return  # the command says "Done" or "stopped" itself, with the run's result
    where = f" back to {p.backfilled_to:%Y-%m-%d}" if p.backfilled_to else ""
    wait = (
        f", waiting {p.waiting_seconds:.0f}s for Amazon's rate limit" if p.waiting_seconds else ""
    )
    print(f"  {p.phase}: {p.pages} pages, {p.orders} orders{where}{wait}{_fmt_eta(p.eta_seconds)}")
    sys.stdout.flush()


def print_history_progress(p: HistoryProgress) -> None:
    eta = _fmt_eta(p.eta_seconds) if p.eta_seconds else ""
    print(f"  {p.ranges_done} of {p.ranges_total} reports, {p.orders:,} orders{eta}: {p.message}")
    sys.stdout.flush()


def _load_history(
    services: Any, actor: Actor, store: Any, days: int | None, cancel: threading.Event
) -> int | None:
    """The store's order history through Amazon's order reports, with progress.  None
    when it finished (the sync goes on); an exit code when it stopped."""
    from app.jobs import Job
    from app.notices import HistoryProgressed

    print(f"Loading the order history of {store.name} through Amazon's order reports…")
    job = Job()
    job.cancel = cancel
    off = services.core.notices.subscribe(
        HistoryProgressed, lambda n: print_history_progress(n.progress)
    )
    again = f"muttefik sync --store {shlex.quote(store.name)} --history-days"
    try:
        with _stop_signals_cancel(cancel) as stopped_by:
            state = services.history.load(actor, store.id, days, job=job)
    except UserError as exc:
        raise after_exit(
            exc, "The history load stopped; the orders stored so far are kept.", again
        ) from None
    finally:
        off()
    if state.state == "cancelled":
        print(
            f"History load stopped at {state.ranges_done} of {len(state.ranges)} reports "
            f"({state.orders:,} orders stored); `{again}` continues from there."
        )
        return 128 + (stopped_by[0] if stopped_by else signal.SIGINT)
    print(
        f"Order history loaded: {state.orders:,} orders from {state.since:%Y-%m-%d} to "
        f"{state.until:%Y-%m-%d}; packages and tracking follow with the sync."
    )
    return None


@contextmanager
def _stop_signals_cancel(cancel: threading.Event) -> Iterator[list[int]]:
    """While the sync runs, the first Ctrl-C (SIGINT) or SIGTERM (cron's timeout,
    systemd stopping a unit, ``kill``) sets ``cancel``: the sync stops at the next page
    or wait and records its end, as the app's Stop does.  The same signal again acts
    at once (the next sync still continues from the last stored page).  Yields the
    list the signal's number is put in, for the exit status (128 + number)."""
    got: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield got  # signal handlers can only be set on the main thread
        return
    previous: dict[int, Any] = {}

    def stop(signum: int, frame: FrameType | None) -> None:
        got.append(signum)
        cancel.set()
        signal.signal(signum, previous[signum])  # no print here: stdout may be mid-write

    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, stop)
    try:
        yield got
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _handed_to_app(args: argparse.Namespace) -> bool:
    """If the app has the profile open, it syncs the store now (its scheduled sync job,
    as the system), or loads its order history (``--history-days``), instead of this
    command failing on the profile lock.  False when no
    app answers: the command syncs itself.  Raises the app's refusal as a UserError."""
    from app.cli.handoff import ask_app_to_load_history, ask_app_to_sync

    profile = profile_from_args(args)
    if args.history_days is not None:
        answer = ask_app_to_load_history(profile, args.store, args.history_days or None)
    else:
        answer = ask_app_to_sync(profile, args.store)
    if answer is None:
        return False
    if not answer.accepted:
        raise UserError(answer.text)
    if args.history_days is not None:
        print(
            f"The app is running; it loads the order history of {answer.text} now (its "
            "status bar shows the progress), then its sync fills in packages and tracking."
        )
    else:
        print(f"The app is running; it syncs {answer.text} now.")
    return True


def cmd_sync(args: argparse.Namespace) -> int:
    from app.amazon.stores import MAX_NAME_LENGTH

    if _handed_to_app(args):
        return 0
    cancel = threading.Event()
    # Closed after the vault (and its lock): that ends a starting app's wait for it.
    listener = ReleaseListener(profile_from_args(args), cancel.set)
    passphrase = _no_passphrase if args.unattended else ask_passphrase
    with windows_lock_hint(), listener, open_cli_services(args, passphrase=passphrase) as services:
        actor = _signed_in(services, args)
        store = services.stores.find_store(actor, args.store).result()
        if store is None:
            long = len(args.store) > MAX_NAME_LENGTH  # no store has such a name: not echoed
            shown = " with that name" if long else f" named {args.store!r}"
            raise StoreSettingsInvalid(
                f"There is no store{shown}. `muttefik stores list` lists them."
            )
        # From here an app that starts asks us to stop (not while someone types a code).
        listener.start()
        if args.history_days is not None:
            stopped = _load_history(services, actor, store, args.history_days or None, cancel)
            if stopped is not None:
                return 0 if listener.asked.is_set() else stopped
        print(f"Syncing orders of {store.name}…")
        try:
            with _stop_signals_cancel(cancel) as stopped_by:
                result = services.sync.sync_store(actor, store.id, cancel, print_progress)
        except UserError as exc:
            raise _after_exit(exc, store.name) from None
        if result.cancelled and listener.asked.is_set():
            print(
                "Müttefik Desk is opening this profile, so the sync stopped; the next sync "
                f"continues from here ({result.pages} pages, {result.orders} orders stored)."
            )
            return 0
        if result.cancelled:
            print(
                f"Sync stopped; the next sync continues from here ({result.pages} pages, "
                f"{result.orders} orders stored)."
            )
            return 128 + (stopped_by[0] if stopped_by else signal.SIGINT)
        state = "complete" if result.backfill_complete else "continues next time"
        print(
            f"Done: {result.pages} pages, {result.orders} orders stored "
            f"({result.new_orders} new); history {state}."
        )
        return 0
