"""Passphrase mode: the DB key is derived with Argon2id when no keychain is usable.

Salt and parameters live in ``vault.kdf.json`` beside the database (not secret).
A pending file (``vault.kdf.pending.json``) makes a passphrase change crash-safe.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from argon2.low_level import Type, hash_secret_raw

from app.atomic import write_private

MIN_PASSPHRASE_LENGTH = 12


@dataclass(frozen=True)
class KdfParams:
    salt: str  # base64
    time_cost: int = 3
    memory_cost: int = 64 * 1024  # KiB
    parallelism: int = 2
    kdf: str = "argon2id"
    version: int = 1

    @classmethod
    def new(cls) -> KdfParams:
        return cls(salt=base64.b64encode(os.urandom(16)).decode())

    def derive(self, passphrase: str) -> bytes:
        if self.kdf != "argon2id":
            raise ValueError(f"unknown kdf {self.kdf}")
        return hash_secret_raw(
            passphrase.encode("utf-8"),
            base64.b64decode(self.salt),
            time_cost=self.time_cost,
            memory_cost=self.memory_cost,
            parallelism=self.parallelism,
            hash_len=32,
            type=Type.ID,
        )


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
