"""Finding the key that opens a profile's database.

Keychain mode (default): 32 random bytes in the OS keychain under the profile's service
name, entry ``db-key``.  A key rotation stores the new key as ``db-key-pending`` *before*
``PRAGMA rekey``; at startup whichever key opens the database wins and the keychain is
tidied, so a crash at any point loses nothing.

Passphrase mode: chosen at first run when no usable keychain exists; the key is derived
from the passphrase with Argon2id and asked at every start.

Everything here blocks (D-Bus, Argon2, file reads): never call it on the GUI thread.
"""

from __future__ import annotations

import enum
import logging
import os
from dataclasses import dataclass

from app.errors import (
    DatabaseKeyMissing,
    DatabaseKeyWrong,
    KeychainUnavailable,
    PassphraseWrong,
)
from app.paths import Profile
from app.secrets import SecretStore
from app.vault import passphrase as pp
from app.vault.connection import can_open

log = logging.getLogger("muttefik.db")

DB_KEY = "db-key"
DB_KEY_PENDING = "db-key-pending"


class KeyMode(enum.Enum):
    KEYCHAIN = "keychain"
    PASSPHRASE = "passphrase"

    @property
    def label(self) -> str:
        return "OS keychain" if self is KeyMode.KEYCHAIN else "Passphrase"


@dataclass(frozen=True)
class KeyPlan:
    """What it takes to open the profile: a key, or a passphrase from the seller."""

    mode: KeyMode
    key: bytes | None = None
    new_profile: bool = False

    @property
    def needs_passphrase(self) -> bool:
        return self.key is None


def database_exists(profile: Profile) -> bool:
    try:
        return profile.db_path.stat().st_size > 0
    except FileNotFoundError:
        return False


def plan(profile: Profile, secrets: SecretStore) -> KeyPlan:
    """Decide how to open ``profile``; for keychain mode, return the working key."""
    exists = database_exists(profile)
    if exists and (profile.kdf_path.exists() or pp.pending_path(profile.kdf_path).exists()):
        return KeyPlan(KeyMode.PASSPHRASE)
    if not exists:
        try:
            secrets.probe()
        except KeychainUnavailable as exc:
            log.warning("no usable keychain (%s); passphrase mode offered", exc.detail)
            return KeyPlan(KeyMode.PASSPHRASE, new_profile=True)
        key = os.urandom(32)
        secrets.set(DB_KEY, key.hex())
        secrets.delete(DB_KEY_PENDING)
        log.info("new database key stored in the keychain")
        return KeyPlan(KeyMode.KEYCHAIN, key=key, new_profile=True)
    return KeyPlan(KeyMode.KEYCHAIN, key=_resolve_keychain_key(profile, secrets))


def _resolve_keychain_key(profile: Profile, secrets: SecretStore) -> bytes:
    current = _decode(secrets.get(DB_KEY))
    pending = _decode(secrets.get(DB_KEY_PENDING))
    if current is None and pending is None:
        raise DatabaseKeyMissing()
    for name, key in ((DB_KEY, current), (DB_KEY_PENDING, pending)):
        if key is not None and can_open(profile.db_path, key):
            if name == DB_KEY_PENDING:
                log.info("an interrupted key rotation had finished; adopting the new key")
                secrets.set(DB_KEY, key.hex())
            if pending is not None:
                secrets.delete(DB_KEY_PENDING)
            return key
    raise DatabaseKeyWrong()


def _decode(value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        key = bytes.fromhex(value)
    except ValueError:
        return None
    return key if len(key) == 32 else None


def key_from_passphrase(profile: Profile, passphrase: str, *, new_profile: bool) -> bytes:
    """Derive the key (Argon2id, ~0.3 s).  For a new profile, write the KDF file."""
    if new_profile:
        params = pp.KdfParams.new()
        pp.save(profile.kdf_path, params)
        return params.derive(passphrase)
    pending_file = pp.pending_path(profile.kdf_path)
    for path in (profile.kdf_path, pending_file):
        loaded = pp.load(path)
        if loaded is None:
            continue
        key = loaded.derive(passphrase)
        if can_open(profile.db_path, key):
            if path == pending_file:
                os.replace(pending_file, profile.kdf_path)
            elif pending_file.exists():
                pending_file.unlink()
            return key
    raise PassphraseWrong()
