"""``muttefik check`` (reveals nothing, no sign-in) and ``muttefik rekey`` (admin)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.bootstrap import resolve_key, secret_store_for
from app.vault.check import run_checks
from app.vault.keys import database_exists
from app.vault.lock import ProfileLock


def register(sub: Any) -> None:
    check = sub.add_parser("check", help="verify the encrypted database page by page")
    check.set_defaults(func=cmd_check)
    rekey = sub.add_parser(
        "rekey", help="re-encrypt the database with a new key (administrator sign-in)"
    )
    rekey.set_defaults(func=cmd_rekey)


def cmd_check(args: argparse.Namespace) -> int:
    from app.cli import ask_passphrase, profile_from_args

    profile = profile_from_args(args)
    if not database_exists(profile):
        print(f"There is no data file in {profile.root}.", file=sys.stderr)
        return 2
    secrets = secret_store_for(profile)
    # Not open_vault: opening verifies the schema and migrates, so a damaged schema page
    # would stop the check that is meant to find and name it (and check must not migrate).
    lock = ProfileLock(profile.lock_path)
    lock.acquire()
    try:
        _mode, key = resolve_key(profile, secrets, passphrase=ask_passphrase)
        result = run_checks(profile, key)
    finally:
        lock.release()
    print(result.summary())
    for problem in result.problems[:20]:
        print(f"  {problem}")
    return 0 if result.ok else 1


def cmd_rekey(args: argparse.Namespace) -> int:
    from app.auth.rbac import Permission
    from app.auth.terminal import open_cli_services, sign_in_on_terminal
    from app.cli import ask_passphrase
    from app.vault.rotate import rotate

    with open_cli_services(args) as services:
        actor = None
        if not services.auth.needs_first_admin():
            actor = sign_in_on_terminal(services.auth, Permission.MANAGE_CREDENTIALS).actor
        rotate(
            services.core.vault,
            services.core.secrets,
            actor_id=None if actor is None else actor.id,
            audit=services.audit,
            new_passphrase=lambda: ask_passphrase(True),
        )
    print("The database was re-encrypted with a new key.")
    return 0
