"""Key rotation, crash-safe.  Who may rotate, and the audit entry, are
:class:`app.key_service.KeyService`'s.

Keychain mode: new key → keychain as *pending* → ``PRAGMA rekey`` → WAL checkpointed
into the main file and the main file verified under the new key (:meth:`Vault.rekey`) →
pending becomes current.  Passphrase mode: new KDF params → pending file → the same
rekey → pending replaces the old file.  The old key is never dropped before the main file
is verified; :mod:`app.vault.keys` finishes a leftover pending key at the next start.
Blocks: call from a worker thread or the CLI.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from app.secrets import SecretStore
from app.vault import passphrase as pp
from app.vault.db import Vault, reached
from app.vault.keys import DB_KEY, DB_KEY_PENDING, KeyMode


def rotate_keychain_key(vault: Vault, secrets: SecretStore) -> None:
    if vault.mode is not KeyMode.KEYCHAIN:
        raise ValueError("profile is in passphrase mode")
    new_key = os.urandom(32)
    secrets.set(DB_KEY_PENDING, new_key.hex())
    reached("pending-stored")
    vault.rekey(new_key).result()  # raises KeyChangeUnfinished: both keys stay
    secrets.set(DB_KEY, new_key.hex())
    reached("current-stored")
    secrets.delete(DB_KEY_PENDING)
    reached("done")


def rotate_passphrase(vault: Vault, new_passphrase: str) -> None:
    if vault.mode is not KeyMode.PASSPHRASE:
        raise ValueError("profile is in keychain mode")
    # The audit key stays the same, wrapped under the new passphrase.
    if vault.audit_key is None:
        # A made-up key here would orphan every sealed entry; refuse instead.
        from app.audit import AuditKeyMissing

        raise AuditKeyMissing()
    params, key = pp.new_params(new_passphrase, vault.audit_key)
    pending = pp.pending_path(vault.profile.kdf_path)
    pp.save(pending, params)
    reached("pending-stored")
    vault.rekey(key).result()  # raises KeyChangeUnfinished: both files stay
    os.replace(pending, vault.profile.kdf_path)
    reached("done")


def rotate(vault: Vault, secrets: SecretStore, *, new_passphrase: Callable[[], str]) -> None:
    """Rotate in the profile's mode (passphrase mode asks ``new_passphrase()``)."""
    if vault.mode is KeyMode.KEYCHAIN:
        rotate_keychain_key(vault, secrets)
    else:
        rotate_passphrase(vault, new_passphrase())
