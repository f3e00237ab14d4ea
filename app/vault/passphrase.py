"""Passphrase mode: the DB key is derived with Argon2id when no keychain is usable.

Salt and parameters live in ``vault.kdf.json`` beside the database (not secret).
A pending file (``vault.kdf.pending.json``) makes a passphrase change crash-safe.

The file also holds the audit key (random, 32 bytes), wrapped with AES-256-GCM under a
key-encryption key (KEK) derived from the passphrase.  Version 2 files derive 64 bytes
in one Argon2id run: the database key, then the KEK.  Version 1 files (written before
the audit key existed) keep their 32-byte database key; their KEK is a second Argon2id
run over a salt derived from theirs.  A passphrase change writes a version 2 file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from argon2.low_level import Type, hash_secret_raw

from app.atomic import write_private

MIN_PASSPHRASE_LENGTH = 12
KDF_VERSION = 2
_WRAP_AAD = b"muttefik-desk audit key v1"


@dataclass(frozen=True)
class KdfParams:
    salt: str  # base64
    time_cost: int = 3
    memory_cost: int = 64 * 1024  # KiB
    parallelism: int = 2
    kdf: str = "argon2id"
    version: int = 1
    audit_key: str = ""  # base64(nonce + AES-GCM(audit key)); empty before the first open

    @classmethod
    def new(cls) -> KdfParams:
        return cls(salt=base64.b64encode(os.urandom(16)).decode(), version=KDF_VERSION)

    def derive(self, passphrase: str) -> bytes:
        """The database key."""
        return self.derive_keys(passphrase, kek=False)[0]

    def derive_keys(self, passphrase: str, *, kek: bool = True) -> tuple[bytes, bytes | None]:
        """The database key and the audit key's KEK (one Argon2id run for version 2;
        ``kek=False`` spares version 1 its second run, and gives None for it)."""
        if self.version >= 2:
            out = self._argon2(passphrase, base64.b64decode(self.salt), 64)
            return out[:32], out[32:]
        key = self._argon2(passphrase, base64.b64decode(self.salt), 32)
        if not kek:
            return key, None
        salt = hashlib.sha256(b"muttefik-desk audit kek|" + base64.b64decode(self.salt)).digest()
        return key, self._argon2(passphrase, salt[:16], 32)

    def _argon2(self, passphrase: str, salt: bytes, length: int) -> bytes:
        if self.kdf != "argon2id":
            raise ValueError(f"unknown kdf {self.kdf}")
        if self.version not in (1, 2):
            raise ValueError(f"unknown KDF file version {self.version}")
        return hash_secret_raw(
            passphrase.encode("utf-8"),
            salt,
            time_cost=self.time_cost,
            memory_cost=self.memory_cost,
            parallelism=self.parallelism,
            hash_len=length,
            type=Type.ID,
        )


def new_params(passphrase: str, audit_key: bytes) -> tuple[KdfParams, bytes]:
    """Fresh parameters for ``passphrase`` with ``audit_key`` wrapped in, and the
    database key they derive (one Argon2id run).  For a new profile and a passphrase
    change (which keeps the audit key)."""
    params = KdfParams.new()
    key, kek = params.derive_keys(passphrase)
    assert kek is not None
    return replace(params, audit_key=wrap_audit_key(params, kek, audit_key)), key


def wrap_audit_key(params: KdfParams, kek: bytes, audit_key: bytes) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    sealed = AESGCM(kek).encrypt(nonce, audit_key, _WRAP_AAD + params.salt.encode())
    return base64.b64encode(nonce + sealed).decode()


def unwrap_audit_key(params: KdfParams, kek: bytes) -> bytes | None:
    """The audit key, or None if the wrapped value is damaged or not for this KEK."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        raw = base64.b64decode(params.audit_key, validate=True)
        key = AESGCM(kek).decrypt(raw[:12], raw[12:], _WRAP_AAD + params.salt.encode())
    except (ValueError, InvalidTag):
        return None
    return key if len(key) == 32 else None


def load(path: Path) -> KdfParams | None:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    return KdfParams(**data)


def save(path: Path, params: KdfParams) -> None:
    write_private(path, json.dumps(asdict(params), indent=2).encode())


def pending_path(path: Path) -> Path:
    return path.with_name(path.stem + ".pending.json")


def passphrase_problem(passphrase: str, confirm: str) -> str | None:
    """A message for the seller if the new passphrase is not acceptable."""
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        return f"Use at least {MIN_PASSPHRASE_LENGTH} characters."
    if passphrase != confirm:
        return "The two passphrases do not match."
    return None
