"""``muttefik check`` and ``muttefik rekey``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.bootstrap import open_vault, resolve_key, secret_store_for
from app.vault.check import run_checks
from app.vault.keys import KeyMode, database_exists
from app.vault.lock import ProfileLock
from app.vault.rotate import rotate_keychain_key, rotate_passphrase


def register(sub: Any) -> None:
    check = sub.add_parser("check", help="verify the encrypted database page by page")
    check.set_defaults(func=cmd_check)
    rekey = sub.add_parser("rekey", help="re-encrypt the database with a new key")
    rekey.set_defaults(func=cmd_rekey)


def cmd_check(args: argparse.Namespace) -> int:
    from app.cli import ask_passphrase, profile_from_args

    profile = profile_from_args(args)
    if not database_exists(profile):
        print(f"There is no data file in {profile.root}.", file=sys.stderr)
        return 2
    secrets = secret_store_for(profile)
    # Not open_vault: opening verifies the schema and migrates, so a damaged schema page
    # would stop the check that is meant to find and name it.
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
    from app.cli import ask_passphrase, profile_from_args

    profile = profile_from_args(args)
    secrets = secret_store_for(profile)
    vault, _ = open_vault(profile, secrets, passphrase=ask_passphrase)
    try:
        if vault.mode is KeyMode.KEYCHAIN:
            rotate_keychain_key(vault, secrets)
        else:
            rotate_passphrase(vault, ask_passphrase(True))
    finally:
        vault.close()
    print("The database was re-encrypted with a new key.")
    return 0
