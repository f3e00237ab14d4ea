"""Opening a profile: keychain → key → vault.  Shared by the GUI and the CLI.

Which openings may create a profile: the GUI's start (first run), and the explicit
``muttefik profile new`` / the GUI's "Start a new empty profile" (:func:`start_new_profile`).
Every other command opens with ``create=False``: on a folder that is not a profile it
raises :class:`NotAProfile` and writes nothing (no folder, lock file, id file or key).

All of it blocks (D-Bus, Argon2, disk): the GUI calls these from a worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from app.errors import NotAProfile
from app.paths import Profile
from app.secrets import SecretStore
from app.vault import KeyMode, Vault, keys
from app.vault.lock import ProfileLock

if TYPE_CHECKING:
    from app.audit import OpenReport

log = logging.getLogger("muttefik.db")

# (new_profile) -> passphrase; raises OperationCancelled if the seller gives up.
PassphraseProvider = Callable[[bool], str]


def secret_store_for(profile: Profile) -> SecretStore:
    """The profile's secrets in the OS keychain, named by its id."""
    return SecretStore.for_profile(profile)


def require_profile(profile: Profile) -> None:
    """For commands that only read: raise NotAProfile unless the folder holds a profile."""
    if not profile.root.is_dir() or not profile.is_profile():
        raise NotAProfile(profile.root)


def _prepare_folder(profile: Profile, *, create: bool) -> None:
    """Make the folder when this opening may create a profile; otherwise require one."""
    if create:
        profile.ensure()
    else:
        require_profile(profile)


def open_vault(
    profile: Profile,
    secrets: SecretStore,
    *,
    passphrase: PassphraseProvider | None = None,
    create: bool = True,
) -> tuple[Vault, bytes]:
    """Open the profile's vault (creating it on first run when ``create``).  Returns the
    vault and its key; ``vault.audit_key`` holds the audit key.

    The key is returned for the background integrity check's read-only connection; the
    caller keeps it in memory only.
    """
    _prepare_folder(profile, create=create)
    lock = ProfileLock(profile.lock_path)
    lock.acquire()  # before the key: resolving it may adopt or drop a pending key
    return _open_locked(profile, secrets, lock, passphrase=passphrase, create=create)


def start_new_profile(
    profile: Profile,
    secrets: SecretStore,
    *,
    passphrase: PassphraseProvider | None = None,
) -> tuple[Vault, bytes]:
    """The seller's explicit choice: a new, empty profile in this folder (see
    :func:`app.vault.keys.start_new_profile`; refused while a data file exists)."""
    profile.ensure()
    lock = ProfileLock(profile.lock_path)
    lock.acquire()
    try:
        keys.start_new_profile(profile, secrets)
    except BaseException:
        lock.release()
        raise
    return _open_locked(profile, secrets, lock, passphrase=passphrase, create=True)


def _open_locked(
    profile: Profile,
    secrets: SecretStore,
    lock: ProfileLock,
    *,
    passphrase: PassphraseProvider | None,
    create: bool,
) -> tuple[Vault, bytes]:
    try:
        mode, key, audit_key = _resolve(profile, secrets, passphrase, create=create)
    except BaseException:
        lock.release()
        raise
    vault, _report = open_with_keys(profile, secrets, lock, mode, key, audit_key, create=create)
    return vault, key


def open_with_keys(
    profile: Profile,
    secrets: SecretStore,
    lock: ProfileLock | None,
    mode: KeyMode,
    key: bytes,
    audit_key: bytes | None,
    *,
    create: bool,
) -> tuple[Vault, OpenReport]:
    """Open the vault with resolved keys (the CLI above, the GUI's start): the audit key
    set, a first run marked complete, audit triggers restored and the file compared with
    the anchor.  The report says what that comparison found.  ``lock``: held since before
    the key was resolved (None: the vault takes it); released if the vault cannot open."""
    from app.audit import prepare_on_open

    vault = Vault.open(profile, key, mode, lock=lock)
    vault.audit_key = audit_key
    if create:
        keys.mark_created(profile)
    try:
        report = prepare_on_open(vault, secrets)
    except BaseException:
        vault.close()
        raise
    log.info("vault open (%s mode)", mode.value)
    return vault, report


def resolve_key(
    profile: Profile,
    secrets: SecretStore,
    *,
    passphrase: PassphraseProvider | None = None,
    create: bool = True,
) -> tuple[KeyMode, bytes]:
    """The key that opens the profile's database (a new one on first run), and its mode.

    Does not open the vault, so ``muttefik check`` can examine a file whose schema is
    damaged.
    """
    _prepare_folder(profile, create=create)
    mode, key, _audit_key = _resolve(profile, secrets, passphrase, create=create, audit=False)
    return mode, key


def _resolve(
    profile: Profile,
    secrets: SecretStore,
    passphrase: PassphraseProvider | None,
    *,
    create: bool,
    audit: bool = True,
) -> tuple[KeyMode, bytes, bytes | None]:
    plan = keys.plan(profile, secrets, create=create)
    if plan.needs_passphrase:
        if passphrase is None:
            from app.errors import PassphraseRequired

            raise PassphraseRequired()
        key, audit_key = keys.unlock_with_passphrase(
            profile, passphrase(plan.new_profile), new_profile=plan.new_profile, audit=audit
        )
    else:
        assert plan.key is not None
        key = plan.key
        audit_key = keys.keychain_audit_key(secrets) if audit else None
    return plan.mode, key, audit_key


__all__ = [
    "KeyMode",
    "PassphraseProvider",
    "open_vault",
    "require_profile",
    "resolve_key",
    "secret_store_for",
    "start_new_profile",
]
