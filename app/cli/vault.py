"""``muttefik check`` (reveals nothing, no sign-in) and ``muttefik rekey`` (admin)."""

from __future__ import annotations

import argparse
from typing import Any

from app.bootstrap import require_profile, resolve_key, secret_store_for
from app.cli.terminal import (
    ask_passphrase,
    open_cli_services,
    profile_from_args,
    sign_in_on_terminal,
)
from app.vault.check import run_checks
from app.vault.lock import ProfileLock


def register(sub: Any) -> None:
    check = sub.add_parser("check", help="verify the encrypted database page by page")
    check.set_defaults(func=cmd_check)
    rekey = sub.add_parser(
        "rekey", help="re-encrypt the database with a new key (administrator sign-in)"
    )
    rekey.set_defaults(func=cmd_rekey)
    prof = sub.add_parser("profile", help="start a new, empty profile")
    prof_sub = prof.add_subparsers(dest="profile_command", metavar="ACTION", required=True)
    new = prof_sub.add_parser(
        "new",
        help="create a new, empty profile in the folder (also where its data file is "
        "missing: the old key is kept)",
    )
    new.set_defaults(func=cmd_profile_new)


def cmd_check(args: argparse.Namespace) -> int:
    profile = profile_from_args(args)
    require_profile(profile)  # before the lock file: check creates nothing
    secrets = secret_store_for(profile)
    # Not open_vault: opening verifies the schema and migrates, so a damaged schema page
    # would stop the check that is meant to find and name it (and check must not migrate).
    lock = ProfileLock(profile.lock_path)
    lock.acquire()
    try:
        _mode, key = resolve_key(profile, secrets, passphrase=ask_passphrase, create=False)
        result = run_checks(profile, key)
        from app.audit import protection_report

        audit_problem = protection_report(profile.db_path, key)  # triggers, read-only
    finally:
        lock.release()
    print("\n".join(result.lines()))
    if audit_problem is not None:
        print(audit_problem)
    return 0 if result.ok and not result.wal_losses and audit_problem is None else 1


def cmd_profile_new(args: argparse.Namespace) -> int:
    """The only command that creates a profile (the GUI's first run is the other way)."""
    from app.bootstrap import start_new_profile

    profile = profile_from_args(args)
    vault, _key = start_new_profile(profile, secret_store_for(profile), passphrase=ask_passphrase)
    vault.close()
    print(f"A new, empty profile was created in {profile.root}.")
    identity = profile.identity()
    if identity is not None and identity.history:
        print(
            "The previous profile's key stays in the keychain (id "
            f"{identity.history[-1].get('id') or 'from before profile ids'}); "
            "profile.json lists it."
        )
    print("Start the app with this profile to create its first administrator.")
    return 0


def cmd_rekey(args: argparse.Namespace) -> int:
    from app.auth.rbac import Permission

    with open_cli_services(args) as services:
        actor = None
        if not services.auth.needs_first_admin():  # before: nobody can sign in yet
            actor = sign_in_on_terminal(services.auth, Permission.MANAGE_CREDENTIALS).actor
        services.keys.rotate(actor, new_passphrase=lambda: ask_passphrase(True))
    print("The database was re-encrypted with a new key.")
    return 0
