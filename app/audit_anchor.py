"""The audit log's head, recorded outside the data file after every committed entry.

An attacker who holds the database key can delete the last entries, or anyone can put an
older copy of the files back; neither can reach this record.  Keychain mode keeps it in
the profile's keychain entry ``audit-head``; passphrase mode (no usable keychain) keeps it
in a file outside the profile folder (the platform's user state dir, named by the
profile's id).  Either way the value is MAC'd under the audit key, so a hand-edited record
is refused rather than trusted.

Everything here blocks (D-Bus, disk): call it on the DB thread or a worker.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import platformdirs

from app.paths import APP_NAME, Profile
from app.secrets import SecretStore

log = logging.getLogger("muttefik.audit")

HEAD_ENTRY = "audit-head"
_FORMAT = 1


@dataclass(frozen=True)
class Head:
    """The last entry of the chain: its sequence number and MAC (hex)."""

    seq: int
    mac: str


class AnchorInvalid(Exception):
    """The stored record exists but is not one we wrote (bad MAC, wrong profile, garbage)."""


class AnchorStore(Protocol):
    where: str  # for messages: "the keychain" or the file's path

    def load(self) -> Head | None: ...

    def save(self, head: Head) -> None: ...


def _tag(key: bytes, head: Head) -> str:
    # Each profile has its own audit key, so a record from another profile fails too.
    text = json.dumps(
        {"v": _FORMAT, "seq": head.seq, "mac": head.mac}, sort_keys=True, separators=(",", ":")
    )
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def encode(key: bytes, head: Head) -> str:
    data = {"v": _FORMAT, "seq": head.seq, "mac": head.mac, "tag": _tag(key, head)}
    return json.dumps(data, sort_keys=True)


def decode(key: bytes, text: str) -> Head:
    try:
        data = json.loads(text)
        head = Head(int(data["seq"]), str(data["mac"]))
        tag = str(data["tag"])
        known = data["v"] == _FORMAT
    except (ValueError, KeyError, TypeError) as exc:
        raise AnchorInvalid("unreadable") from exc
    if not known or not hmac.compare_digest(tag, _tag(key, head)):
        raise AnchorInvalid("seal does not match")
    return head


class KeychainAnchor:
    """The head in the profile's keychain, next to the database key."""

    where = "the keychain"

    def __init__(self, secrets: SecretStore, key: bytes) -> None:
        self._secrets = secrets
        self._key = key

    def load(self) -> Head | None:
        text = self._secrets.get_public(HEAD_ENTRY)
        return None if text is None else decode(self._key, text)

    def save(self, head: Head) -> None:
        self._secrets.set_public(HEAD_ENTRY, encode(self._key, head))


def anchor_file(profile: Profile) -> Path:
    """Outside the profile folder, so copying the folder back does not bring it along."""
    state = Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))
    return state / "audit-heads" / f"{profile.ident}.json"


class FileAnchor:
    """The head in a small file outside the profile folder (passphrase mode)."""

    def __init__(self, path: Path, key: bytes) -> None:
        self.path = path
        self.where = str(path)
        self._key = key

    def load(self) -> Head | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise AnchorInvalid("unreadable") from exc
        return decode(self._key, text)

    def save(self, head: Head) -> None:
        from app.atomic import write_private

        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_private(self.path, encode(self._key, head).encode("utf-8"))


def anchor_for(
    profile: Profile, secrets: SecretStore, *, keychain: bool, key: bytes
) -> AnchorStore:
    """Where this profile's head is recorded: the keychain, or a file when it has none."""
    if keychain:
        return KeychainAnchor(secrets, key)
    return FileAnchor(anchor_file(profile), key)
