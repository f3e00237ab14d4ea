"""Where a profile keeps its files.

A profile is one folder holding the encrypted database and its companions.  The default
lives in the platform's user data dir; ``--profile DIR`` overrides it; ``--demo`` uses a
separate demo profile so demo data never mixes with a real one.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "muttefik-desk"


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
    def ident(self) -> str:
        """Stable id of the profile, derived from its resolved path."""
        return hashlib.sha256(str(self.root.resolve()).encode()).hexdigest()[:16]

    @property
    def keychain_service(self) -> str:
        # The path itself goes into the service name so two profiles never share a key and
        # a person reading the keychain sees which folder an entry belongs to.
        return f"{APP_NAME}:{self.root.resolve()}"

    @property
    def name(self) -> str:
        return "Demo" if self.demo else self.root.name

    def ensure(self) -> None:
        """Create the folder (0700).  Raises DiskFull/ProfileReadOnly, not a raw OSError."""
        from app.atomic import os_error_to_user_error

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


def resolve_profile(profile_dir: str | os.PathLike[str] | None, *, demo: bool) -> Profile:
    if profile_dir is not None:
        return Profile(Path(profile_dir).expanduser().absolute(), demo=demo)
    return Profile(demo_profile_root() if demo else default_profile_root(), demo=demo)
