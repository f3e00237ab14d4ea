"""Finding the key that opens a profile's database.

Keychain mode (default): 32 random bytes in the OS keychain under the profile's service
name, entry ``db-key``.  A key rotation stores the new key as ``db-key-pending`` *before*
``PRAGMA rekey``; at startup whichever key opens the database wins and the keychain is
tidied, so a crash at any point loses nothing.

Passphrase mode: chosen at first run when no usable keychain exists; the key is derived
from the passphrase with Argon2id and asked at every start.

A key entry is never overwritten or deleted, except at the end of a completed rotation.
A profile whose data file is missing or empty while its key, KDF file or id file exists
is not a new profile: :func:`plan` raises :class:`DataFileMissing`, and only the
explicit :func:`start_new_profile` starts afresh there (under a new id, so the old id's
keychain entries stay as they are; the id file's ``history`` names them).

The audit key (separate from the database key, for the audit log's MAC) is the keychain
entry ``audit-key`` in keychain mode, and wrapped in the KDF file in passphrase mode.

Everything here blocks (D-Bus, Argon2, file reads): never call it on the GUI thread.
"""

from __future__ import annotations

import enum
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path

from app.errors import (
    DatabaseKeyMissing,
    DatabaseKeyWrong,
    DataFileMissing,
    KeychainUnavailable,
    NotAProfile,
    PassphraseWrong,
    ProfileExists,
)
from app.paths import Identity, Profile, utc_stamp
from app.secrets import SecretStore
from app.vault import passphrase as pp
from app.vault.check import settle_and_verify
from app.vault.connection import can_open

log = logging.getLogger("muttefik.db")

DB_KEY = "db-key"
DB_KEY_PENDING = "db-key-pending"
AUDIT_KEY = "audit-key"


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


def plan(profile: Profile, secrets: SecretStore, *, create: bool = True) -> KeyPlan:
    """Decide how to open ``profile``; for keychain mode, return the working key.

    ``create=False`` (commands that only read): never writes anything, and raises
    :class:`NotAProfile` where a new profile would be created.  Raises
    :class:`DataFileMissing` when the data file is gone but the profile's key, KDF file
    or id file is there.
    """
    identity = profile.identity()
    kdf = profile.kdf_path.exists() or pp.pending_path(profile.kdf_path).exists()
    if database_exists(profile):
        if create:
            _adopt(profile, identity)
        if kdf:
            return KeyPlan(KeyMode.PASSPHRASE)
        return KeyPlan(KeyMode.KEYCHAIN, key=_resolve_keychain_key(profile, secrets))
    resuming = identity is not None and identity.state == "new"
    if not resuming and (identity is not None or kdf or _has_key(secrets)):
        raise DataFileMissing(profile.db_path)
    if not create:
        raise NotAProfile(profile.root)
    if identity is None:
        profile.write_identity(Identity.new())
    return _new_key(secrets)


def _new_key(secrets: SecretStore) -> KeyPlan:
    """First run: the keychain's key for the id just written (or one stored by a first
    run that was interrupted: an existing entry is reused, never replaced)."""
    try:
        secrets.probe()
    except KeychainUnavailable as exc:
        log.warning("no usable keychain (%s); passphrase mode offered", exc.detail)
        return KeyPlan(KeyMode.PASSPHRASE, new_profile=True)
    stored = secrets.get(DB_KEY)
    if stored is not None:
        key = decode_key(stored)
        if key is None:
            raise DatabaseKeyWrong(detail="existing db-key entry is not a 32-byte key")
        log.info("resuming an interrupted first run with its stored key")
        return KeyPlan(KeyMode.KEYCHAIN, key=key, new_profile=True)
    key = os.urandom(32)
    secrets.set(DB_KEY, key.hex())
    log.info("new database key stored in the keychain")
    return KeyPlan(KeyMode.KEYCHAIN, key=key, new_profile=True)


def _has_key(secrets: SecretStore) -> bool:
    """Whether the keychain holds a database key for this profile (a locked or missing
    keychain says no: the id file or KDF file then tells a profile apart)."""
    try:
        return secrets.get(DB_KEY) is not None or secrets.get(DB_KEY_PENDING) is not None
    except KeychainUnavailable:
        return False


def _adopt(profile: Profile, identity: Identity | None) -> None:
    """Give a profile from before ``profile.json`` its id (its path-named keychain
    entries are found through ``legacy`` and copied forward on first use), and mark a
    profile whose first run got as far as the data file as created."""
    if identity is None:
        profile.write_identity(
            replace(Identity.new(legacy=(profile.legacy_service,)), state="ready")
        )
        log.info("profile id written; path-named keychain entries will be adopted")
    elif identity.state != "ready":
        profile.write_identity(replace(identity, state="ready"))


def mark_created(profile: Profile) -> None:
    """Called once the vault opened: the first run is complete (see ``Identity.state``)."""
    identity = profile.identity()
    if identity is not None and identity.state != "ready":
        profile.write_identity(replace(identity, state="ready"))


def start_new_profile(profile: Profile, secrets: SecretStore) -> None:
    """The seller's explicit choice: a new, empty profile where the data file is missing.

    Refused while a data file exists.  The folder gets a new id (the old one goes into
    the id file's ``history`` and its keychain entries are left as they are); a KDF file
    is kept under a dated name.  The caller then opens the vault as on a first run.
    """
    if database_exists(profile):
        raise ProfileExists()
    identity = profile.identity()
    stamp = utc_stamp()
    history = identity.history if identity is not None else ()
    old_service = identity.service if identity is not None else profile.legacy_service
    entry = {"id": identity.id if identity is not None else "", "service": old_service}
    entry["retired"] = stamp
    kdf_files = [p for p in (profile.kdf_path, pp.pending_path(profile.kdf_path)) if p.exists()]
    if identity is not None or kdf_files or _has_key(secrets):
        for path in kdf_files:
            kept = path.with_name(f"{path.stem}.retired-{stamp.replace(':', '')}.json")
            os.replace(path, kept)
            entry[path.name] = kept.name
        history = (*history, entry)
        log.info("new empty profile started; the previous id and its key are kept")
    profile.write_identity(Identity.new(history=history))


def keychain_audit_key(secrets: SecretStore) -> bytes | None:
    """The audit key in keychain mode: entry ``audit-key``, created if absent, never
    replaced (an unreadable entry gives None and a warning)."""
    stored = secrets.get(AUDIT_KEY)
    if stored is None:
        key = os.urandom(32)
        secrets.set(AUDIT_KEY, key.hex())
        log.info("new audit key stored in the keychain")
        return key
    key_or_none = decode_key(stored)
    if key_or_none is None:
        log.warning("the keychain's audit-key entry is not a 32-byte key; left as it is")
    return key_or_none


def _resolve_keychain_key(profile: Profile, secrets: SecretStore) -> bytes:
    current = decode_key(secrets.get(DB_KEY))
    pending = decode_key(secrets.get(DB_KEY_PENDING))
    if current is None and pending is None:
        raise DatabaseKeyMissing()
    for name, key in ((DB_KEY, current), (DB_KEY_PENDING, pending)):
        if key is not None and can_open(profile.db_path, key):
            if name == DB_KEY_PENDING:
                # The rekey committed, perhaps only into the WAL: the main file may still be
                # under the old key.  The old key goes only once the file is verified.
                if settle_and_verify(profile.db_path, key):
                    log.info("an interrupted key rotation had finished; adopting the new key")
                    secrets.set(DB_KEY, key.hex())
                    secrets.delete(DB_KEY_PENDING)
                else:
                    log.warning("interrupted key rotation: both keys kept until verified")
            elif pending is not None:
                # The rotation never committed: its pending key opens nothing.
                secrets.delete(DB_KEY_PENDING)
            return key
    earlier = _earlier_owner(profile, secrets)
    if earlier is not None:
        return earlier
    raise DatabaseKeyWrong()


def _earlier_owner(profile: Profile, secrets: SecretStore) -> bytes | None:
    """The data file was put back after the seller started a new profile in its folder:
    if a retired id's key opens it, the folder takes that id back (the stopgap profile's
    id goes into the history in turn, its keys kept) and that key is returned."""
    identity = profile.identity()
    if identity is None:
        return None
    for entry in reversed(identity.history):
        ident, service = entry.get("id", ""), entry.get("service", "")
        if not ident or not service or any(k.startswith("vault.kdf") for k in entry):
            continue  # passphrase-mode entries keep their KDF file; not resolved here
        key = decode_key(secrets.get_in(service, DB_KEY))
        if key is None or not can_open(profile.db_path, key):
            continue
        retired = {"id": identity.id, "service": identity.service, "retired": utc_stamp()}
        history = (*(h for h in identity.history if h is not entry), retired)
        profile.write_identity(replace(identity, id=ident, state="ready", history=history))
        log.info("the data file belongs to this folder's earlier profile; switched back to it")
        return key
    return None


def decode_key(value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        key = bytes.fromhex(value)
    except ValueError:
        return None
    return key if len(key) == 32 else None


def unlock_with_passphrase(
    profile: Profile, passphrase: str, *, new_profile: bool, audit: bool = True
) -> tuple[bytes, bytes | None]:
    """The database key (Argon2id, ~0.3 s; a new profile's KDF file is written here) and
    the audit key (unwrapped from the KDF file, or created and wrapped into it for a
    profile that has none yet; None when not ``audit``)."""
    if new_profile:
        audit_key = os.urandom(32)
        params, key = pp.new_params(passphrase, audit_key)
        pp.save(profile.kdf_path, params)
        return key, audit_key
    pending_file = pp.pending_path(profile.kdf_path)
    for path in (profile.kdf_path, pending_file):
        loaded = pp.load(path)
        if loaded is None:
            continue
        key, kek = loaded.derive_keys(passphrase, kek=False)
        if can_open(profile.db_path, key):
            where = profile.kdf_path
            if path == pending_file:
                # The rekey committed, perhaps only into the WAL: the old parameters go
                # only once the main file is verified under the new key.
                if settle_and_verify(profile.db_path, key):
                    os.replace(pending_file, profile.kdf_path)
                else:
                    log.warning("interrupted passphrase change: both kept until verified")
                    where = pending_file
            elif pending_file.exists():
                pending_file.unlink()
            if not audit:
                return key, None
            return key, _passphrase_audit_key(loaded, passphrase, kek, where)
    raise PassphraseWrong()


def _passphrase_audit_key(
    params: pp.KdfParams, passphrase: str, kek: bytes | None, where: Path
) -> bytes | None:
    if kek is None:
        kek = params.derive_keys(passphrase)[1]
        assert kek is not None
    if params.audit_key:
        audit_key = pp.unwrap_audit_key(params, kek)
        if audit_key is None:
            log.warning("the KDF file's audit key does not unwrap; left as it is")
        return audit_key
    audit_key = os.urandom(32)
    pp.save(where, replace(params, audit_key=pp.wrap_audit_key(params, kek, audit_key)))
    log.info("new audit key wrapped into the KDF file")
    return audit_key
