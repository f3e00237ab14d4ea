"""Numbered, forward-only schema migrations tracked with ``PRAGMA user_version``.

Each migration is a module ``vNNNN_<name>.py`` in this package with a ``SQL`` string.
A migration runs in one transaction together with the ``user_version`` bump, so a
crash leaves the database at the previous version or the next, never in between.
Add a migration by adding the next-numbered module; never edit one that has shipped.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import re
from dataclasses import dataclass
from typing import Any

from app.errors import DatabaseTooNew

log = logging.getLogger("muttefik.db")

_NAME = re.compile(r"^v(\d{4})_\w+$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def discover() -> list[Migration]:
    found: list[Migration] = []
    for info in pkgutil.iter_modules(__path__):
        m = _NAME.match(info.name)
        if not m:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.append(Migration(int(m.group(1)), info.name, module.SQL))
    found.sort(key=lambda mig: mig.version)
    versions = [mig.version for mig in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps: {versions}")
    return found


def latest_version() -> int:
    return len(discover())


def current_version(conn: Any) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: Any, *, target: int | None = None) -> int:
    """Bring ``conn`` to ``target`` (default: latest).  Returns the new version."""
    migrations = discover()
    target = len(migrations) if target is None else target
    version = current_version(conn)
    if version > len(migrations):
        raise DatabaseTooNew(detail=f"user_version {version} > {len(migrations)}")
    for mig in migrations[version:target]:
        log.info("applying migration %s", mig.name)
        script = f"BEGIN IMMEDIATE;\n{mig.sql}\n;PRAGMA user_version = {mig.version};\nCOMMIT;"
        try:
            conn.executescript(script)
        except Exception:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        version = mig.version
    return version
