"""Opening a profile: keychain → key → vault.  Shared by the GUI and the CLI.

All of it blocks (D-Bus, Argon2, disk): the GUI calls these from a worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from app.paths import Profile
from app.secrets import SecretStore
from app.vault import KeyMode, Vault, keys

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
    vault = Vault.open(profile, key, plan.mode)
    log.info("vault open (%s mode)", plan.mode.value)
    return vault, key


__all__ = ["KeyMode", "PassphraseProvider", "open_vault", "secret_store_for"]
