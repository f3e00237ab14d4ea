"""Opening a profile: keychain → key → vault.  Shared by the GUI and the CLI.

All of it blocks (D-Bus, Argon2, disk): the GUI calls these from a worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from app.paths import Profile
from app.secrets import SecretStore
from app.vault import KeyMode, Vault, keys
from app.vault.lock import ProfileLock

log = logging.getLogger("muttefik.db")

# (new_profile) -> passphrase; raises OperationCancelled if the seller gives up.
PassphraseProvider = Callable[[bool], str]


def secret_store_for(profile: Profile) -> SecretStore:
    return SecretStore(service=profile.keychain_service)


def open_vault(
    profile: Profile,
    secrets: SecretStore,
    *,
    passphrase: PassphraseProvider | None = None,
) -> tuple[Vault, bytes]:
    """Open (creating on first run) the profile's vault.  Returns the vault and its key.

    The key is returned for the background integrity check's read-only connection; the
    caller keeps it in memory only.
    """
    profile.ensure()
    lock = ProfileLock(profile.lock_path)
    lock.acquire()  # before the key: resolving it may adopt or drop a pending key
    try:
        mode, key = resolve_key(profile, secrets, passphrase=passphrase)
    except BaseException:
        lock.release()
        raise
    vault = Vault.open(profile, key, mode, lock=lock)
    log.info("vault open (%s mode)", mode.value)
    return vault, key


def resolve_key(
    profile: Profile,
    secrets: SecretStore,
    *,
    passphrase: PassphraseProvider | None = None,
) -> tuple[KeyMode, bytes]:
    """The key that opens the profile's database (a new one on first run), and its mode.

    Does not open the vault, so ``muttefik check`` can examine a file whose schema is
    damaged.
    """
    profile.ensure()
    plan = keys.plan(profile, secrets)
    if plan.needs_passphrase:
        if passphrase is None:
            from app.errors import PassphraseRequired

            raise PassphraseRequired()
        key = keys.key_from_passphrase(
            profile, passphrase(plan.new_profile), new_profile=plan.new_profile
        )
    else:
        assert plan.key is not None
        key = plan.key
    return plan.mode, key


__all__ = ["KeyMode", "PassphraseProvider", "open_vault", "resolve_key", "secret_store_for"]
