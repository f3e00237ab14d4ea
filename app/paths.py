"""Where a profile keeps its files.

A profile is one folder holding the encrypted database and its companions.  The default
lives in the platform's user data dir; ``--profile DIR`` overrides it; ``--demo`` uses a
separate demo profile so demo data never mixes with a real one.

Its identity is a random id in ``profile.json`` inside the folder (not secret), so the
keychain entries, named by that id, follow the folder when it is moved or renamed.
Profiles from before that file had entries named by the folder's path; the first open
adopts them (:mod:`app.vault.keys`) and the file lists the old names as ``legacy``.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs

APP_NAME = "muttefik-desk"
IDENTITY_FORMAT = 1
# Files whose presence makes a folder a profile (see Profile.is_profile).
_PROFILE_FILES = ("profile.json", "vault.db", "vault.kdf.json", "vault.kdf.pending.json")


@dataclass(frozen=True)
class Identity:
    """The content of ``profile.json``.

    ``state`` is ``"new"`` from the moment the id is written until the data file first
    exists, so an interrupted first run resumes instead of reporting a missing file.
    ``legacy``: keychain services this profile's entries had before (path-named).
    ``history``: ids this folder had before the seller started a new empty profile in it;
    their keychain entries are kept, so a returning old data file can still be opened.
    """

    id: str
    state: str = "ready"
    created: str = ""
    legacy: tuple[str, ...] = ()
    history: tuple[dict[str, str], ...] = field(default=())

    @classmethod
    def new(
        cls, *, legacy: tuple[str, ...] = (), history: tuple[dict[str, str], ...] = ()
    ) -> Identity:
        return cls(
            id=os.urandom(16).hex(),
            state="new",
            created=utc_stamp(),
            legacy=legacy,
            history=history,
        )

    @property
    def service(self) -> str:
        return service_for_id(self.id)

    def to_json(self) -> bytes:
        data: dict[str, Any] = {
            "format": IDENTITY_FORMAT,
            "id": self.id,
            "state": self.state,
            "created": self.created,
            "legacy": list(self.legacy),
            "history": list(self.history),
        }
        return json.dumps(data, indent=2).encode()


def service_for_id(ident: str) -> str:
    return f"{APP_NAME}:profile:{ident}"


def utc_stamp() -> str:
    """Now, in UTC, to the second (the id file's ``created`` and ``retired`` stamps)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Profile:
    root: Path
    demo: bool = False

    @property
    def db_path(self) -> Path:
        return self.root / "vault.db"

    @property
    def kdf_path(self) -> Path:
        """Salt and Argon2 parameters, present only in passphrase mode."""
        return self.root / "vault.kdf.json"

    @property
    def lock_path(self) -> Path:
        return self.root / "vault.lock"

    @property
    def id_path(self) -> Path:
        """The profile's identity (random id, format version); not secret."""
        return self.root / "profile.json"

    @property
    def ident(self) -> str:
        """Stable id of the profile: the id in ``profile.json``, which moves with the
        folder.  A folder without one (not created yet, or from before that file) falls
        back to a hash of its resolved path."""
        identity = self.identity()
        if identity is not None:
            return identity.id
        return hashlib.sha256(str(self.root.resolve()).encode()).hexdigest()[:16]

    @property
    def keychain_service(self) -> str:
        """Keychain service of this profile's entries: named by its id, or, for a folder
        without ``profile.json``, by its path as before that file existed."""
        identity = self.identity()
        return identity.service if identity is not None else self.legacy_service

    @property
    def legacy_service(self) -> str:
        """The path-named service that profiles used before ``profile.json``."""
        return f"{APP_NAME}:{self.root.resolve()}"

    def identity(self) -> Identity | None:
        """Read ``profile.json``; None if there is none.  Raises ProfileIdUnreadable."""
        try:
            raw = self.id_path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            from app.errors import ProfileIdUnreadable

            raise ProfileIdUnreadable(path=self.id_path, detail=exc.strerror) from exc
        try:
            data = json.loads(raw)
            if data.get("format") != IDENTITY_FORMAT:
                raise ValueError(f"format {data.get('format')!r}")
            ident = str(data["id"])
            if len(ident) != 32 or not all(c in "0123456789abcdef" for c in ident):
                raise ValueError("bad id")
            return Identity(
                id=ident,
                state=str(data.get("state", "ready")),
                created=str(data.get("created", "")),
                legacy=tuple(str(x) for x in data.get("legacy", [])),
                history=tuple(dict(h) for h in data.get("history", [])),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            from app.errors import ProfileIdUnreadable

            raise ProfileIdUnreadable(path=self.id_path, detail=str(exc)) from exc

    def write_identity(self, identity: Identity) -> None:
        """Write ``profile.json`` atomically (0600)."""
        from app.atomic import write_private

        write_private(self.id_path, identity.to_json())

    def is_profile(self) -> bool:
        """Whether the folder holds a profile's files (data, id or KDF file)."""
        return any((self.root / name).exists() for name in _PROFILE_FILES)

    def check_usable(self) -> None:
        """Refuse a folder that exists, holds other things and is not a profile, before
        anything is written into it or its mode is changed.  Raises NotAProfile."""
        try:
            entries = [p.name for p in self.root.iterdir()]
        except FileNotFoundError:
            return
        except NotADirectoryError as exc:
            from app.errors import ProfilePathInvalid

            raise ProfilePathInvalid(f"{self.root} is a file, not a folder.") from exc
        except OSError as exc:
            from app.atomic import os_error_to_user_error

            raise os_error_to_user_error(exc) from exc
        foreign = [n for n in entries if not n.lstrip(".").startswith(("vault.", "profile."))]
        if foreign and not self.is_profile():
            from app.errors import NotAProfile

            raise NotAProfile(path=self.root, non_empty=True)

    @property
    def name(self) -> str:
        return "Demo" if self.demo else self.root.name

    def ensure(self) -> None:
        """Create the folder (0700).  Raises DiskFull/ProfileReadOnly, not a raw OSError,
        and NotAProfile for a folder holding other things (see :meth:`check_usable`)."""
        from app.atomic import os_error_to_user_error

        self.check_usable()
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            # chmod only when needed: on a read-only mount even a no-op chmod fails.
            if os.name == "posix" and stat.S_IMODE(self.root.stat().st_mode) != 0o700:
                os.chmod(self.root, 0o700)
        except OSError as exc:
            raise os_error_to_user_error(exc) from exc


def default_profile_root() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "profiles" / "default"


def demo_profile_root() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "profiles" / "demo"


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def profile_path_problem(text: str) -> str | None:
    """Why ``--profile TEXT`` cannot be a profile folder (None when it can be)."""
    if not text.strip():
        return "the folder name is empty. Give the path of a profile folder."
    if "\x00" in text:
        return "the folder name contains a NUL character."
    path = Path(text).expanduser()
    try:
        if path.exists() and not path.is_dir():
            return f"{path} is a file, not a folder. Give the path of a profile folder."
        for parent in path.absolute().parents:  # the nearest one that exists
            if parent.exists():
                if not parent.is_dir():
                    return f"{parent} is a file, so {path} cannot be a folder."
                break
    except OSError as exc:
        return f"{path} cannot be used ({exc.strerror})."
    return None


def resolve_profile(profile_dir: str | os.PathLike[str] | None, *, demo: bool) -> Profile:
    if profile_dir is not None:
        return Profile(Path(profile_dir).expanduser().absolute(), demo=demo)
    return Profile(demo_profile_root() if demo else default_profile_root(), demo=demo)
