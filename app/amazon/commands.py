"""``muttefik sync --store NAME`` and ``muttefik stores list``: the same services, headless.

The CLI runs as the OS user who holds the profile's keychain entry (and so can open the
vault anyway); it acts as the local ``cli`` operator with admin rights (actor id 0 in
the audit log).
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from app.amazon.models import SyncProgress
from app.auth.models import Actor
from app.auth.rbac import Role
from app.errors import StoreSettingsInvalid

CLI_ACTOR = Actor(id=0, username="cli", display_name="Command line", role=Role.ADMIN)


def register(sub: Any) -> None:
    sync = sub.add_parser("sync", help="sync a store's orders from Amazon and print progress")
    sync.add_argument("--store", required=True, metavar="NAME", help="the store's name")
    sync.set_defaults(func=cmd_sync)
    stores = sub.add_parser("stores", help="list the stores of this profile")
    stores_sub = stores.add_subparsers(dest="stores_command", metavar="ACTION")
    listing = stores_sub.add_parser("list", help="list stores and their sync state")
    listing.set_defaults(func=cmd_stores_list)
    stores.set_defaults(func=cmd_stores_list)


def _open(args: argparse.Namespace) -> Any:
    from app.bootstrap import open_vault, secret_store_for
    from app.cli import ask_passphrase, profile_from_args
    from app.services import Core, build_services

    profile = profile_from_args(args)
    secrets = secret_store_for(profile)
    vault, _ = open_vault(profile, secrets, passphrase=ask_passphrase)
    core = Core(profile=profile, vault=vault, secrets=secrets)
    return core, build_services(core)


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return (
        f", about {hours}h{minutes:02d}m left" if hours else f", about {minutes}m{secs:02d}s left"
    )


def print_progress(p: SyncProgress) -> None:
    where = f" back to {p.backfilled_to:%Y-%m-%d}" if p.backfilled_to else ""
    wait = (
        f", waiting {p.waiting_seconds:.0f}s for Amazon's rate limit" if p.waiting_seconds else ""
    )
    print(f"  {p.phase}: {p.pages} pages, {p.orders} orders{where}{wait}{_fmt_eta(p.eta_seconds)}")
    sys.stdout.flush()


def cmd_sync(args: argparse.Namespace) -> int:
    core, services = _open(args)
    cancel = threading.Event()
    try:
        store = services.stores.find_store(CLI_ACTOR, args.store)
        if store is None:
            raise StoreSettingsInvalid(f"There is no store named {args.store!r}.")
        print(f"Syncing orders of {store.name}…")
        try:
            result = services.sync.sync_store(CLI_ACTOR, store.id, cancel, print_progress)
        except KeyboardInterrupt:
            cancel.set()
            raise
        state = "complete" if result.backfill_complete else "continues next time"
        print(
            f"Done: {result.pages} pages, {result.orders} orders stored "
            f"({result.new_orders} new); history {state}."
        )
        return 0
    finally:
        core.close()


def cmd_stores_list(args: argparse.Namespace) -> int:
    core, services = _open(args)
    try:
        stores = services.stores.list_stores(CLI_ACTOR)
        if not stores:
            print("No stores yet.")
        for store in stores:
            state = services.sync.sync_state(CLI_ACTOR, store.id)
            last = f"{state.last_success:%Y-%m-%d %H:%M}" if state.last_success else "never"
            error = f", last error: {state.last_error}" if state.last_error else ""
            demo = " [demo]" if store.demo else ""
            print(
                f"{store.name}{demo}  region {store.region}  "
                f"marketplaces {','.join(store.marketplace_ids)}  last sync {last}{error}"
            )
        return 0
    finally:
        core.close()
