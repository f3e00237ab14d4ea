"""The audit log's head, recorded outside the data file after every committed entry.

An attacker who holds the database key can delete the last entries, or anyone can put an
older copy of the files back; neither can reach this record.  Keychain mode keeps it in
the profile's keychain entry ``audit-head``; passphrase mode (no usable keychain) keeps it
in a file outside the profile folder (the platform's user state dir, named by the
profile's id).  Either way the value is MAC'd under the audit key, so a hand-edited record
is refused rather than trusted.

Everything here blocks (D-Bus, disk): call it on the DB thread or a worker.  Saving after
a commit goes through :func:`record_later`: one background thread writes the newest head
of each place, so the DB thread never waits on D-Bus (a keychain write takes 30-60 ms, and
the window's first reads queue behind it).  A crash before that write leaves the record
one step behind the file, which verify accepts, as it must after any crash.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import platformdirs

from app.atomic import write_private
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

    @property
    def place(self) -> str: ...  # the one record this store writes (keychain entry, file)

    def load(self) -> Head | None: ...

    def save(self, head: Head) -> None: ...


# How long a head waits before it is written, so that a burst of entries (a sign-in, the
# first minutes of a sync) costs one keychain write, after the window is up, not one each.
WRITE_DELAY = 1.0


class _Writer:
    """Writes heads on one background thread, the newest per place, in commit order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[AnchorStore, Head]] = {}
        self._executor: ThreadPoolExecutor | None = None
        self._scheduled = False
        self._now = threading.Event()  # set by flush: write without waiting

    def submit(self, anchor: AnchorStore, head: Head) -> None:
        with self._lock:
            self._pending[anchor.place] = (anchor, head)  # heads arrive in commit order
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="muttefik-anchor")
            if not self._scheduled:
                self._scheduled = True
                self._executor.submit(self._drain)

    def _drain(self) -> None:
        self._now.wait(WRITE_DELAY)
        with self._lock:
            self._now.clear()
            self._scheduled = False
            pending, self._pending = self._pending, {}
        for anchor, head in pending.values():
            try:
                anchor.save(head)
            except Exception as exc:  # the entry is committed; verify reports the lag
                log.warning("could not record the audit head outside the file: %s", exc)

    def flush(self) -> None:
        """Write every head submitted so far, now, and wait for it."""
        with self._lock:
            executor = self._executor
        if executor is not None:
            self._now.set()
            executor.submit(lambda: None).result()


_writer = _Writer()


def record_later(anchor: AnchorStore, head: Head) -> None:
    """Record ``head`` in ``anchor`` on the writer thread (after a commit)."""
    _writer.submit(anchor, head)


def flush() -> None:
    """Wait for heads not yet written: before reading a record, and in tests."""
    _writer.flush()


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

    @property
    def place(self) -> str:
        return f"keychain:{self._secrets.service}"

    def load(self) -> Head | None:
        flush()
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

    @property
    def place(self) -> str:
        return f"file:{self.path}"

    def load(self) -> Head | None:
        flush()
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise AnchorInvalid("unreadable") from exc
        return decode(self._key, text)

    def save(self, head: Head) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_private(self.path, encode(self._key, head).encode("utf-8"))


def anchor_for(
    profile: Profile, secrets: SecretStore, *, keychain: bool, key: bytes
) -> AnchorStore:
    """Where this profile's head is recorded: the keychain, or a file when it has none."""
    if keychain:
        return KeychainAnchor(secrets, key)
    return FileAnchor(anchor_file(profile), key)
