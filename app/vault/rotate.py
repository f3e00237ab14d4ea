"""Key rotation, crash-safe.

Keychain mode: new key → keychain as *pending* → ``PRAGMA rekey`` → pending becomes
current.  Passphrase mode: new KDF params → pending file → rekey → pending replaces the
old file.  :mod:`app.vault.keys` resolves a leftover pending key at the next start.
"""

from __future__ import annotations

import os

from app.secrets import SecretStore
from app.vault import passphrase as pp
from app.vault.db import Vault
from app.vault.keys import DB_KEY, DB_KEY_PENDING, KeyMode


def rotate_keychain_key(vault: Vault, secrets: SecretStore) -> None:
    if vault.mode is not KeyMode.KEYCHAIN:
        raise ValueError("profile is in passphrase mode")
    new_key = os.urandom(32)
    secrets.set(DB_KEY_PENDING, new_key.hex())
    vault.rekey(new_key).result()
    secrets.set(DB_KEY, new_key.hex())
    secrets.delete(DB_KEY_PENDING)


def rotate_passphrase(vault: Vault, new_passphrase: str) -> None:
    if vault.mode is not KeyMode.PASSPHRASE:
        raise ValueError("profile is in keychain mode")
    params = pp.KdfParams.new()
    pending = pp.pending_path(vault.profile.kdf_path)
    pp.save(pending, params)
    vault.rekey(params.derive(new_passphrase)).result()
    os.replace(pending, vault.profile.kdf_path)
