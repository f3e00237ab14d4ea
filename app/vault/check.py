"""Full integrity checks (every page): ``cipher_integrity_check`` and ``quick_check``.

They read the whole file, so they run on a separate read-only connection in the
background after startup (and in ``muttefik check``), never delaying the window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sqlcipher3

from app.errors import DatabaseCorrupted
from app.paths import Profile
from app.vault.connection import key_pragma, open_connection

_PAGE = re.compile(r"page (\d+)")


@dataclass
class CheckResult:
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad_page(self) -> int | None:
        for problem in self.problems:
            m = _PAGE.search(problem)
            if m:
                return int(m.group(1))
        return None

    def summary(self) -> str:
        if self.ok:
            return "The data file passed both integrity checks."
        page = self.first_bad_page
        where = f" (first damaged page: {page})" if page is not None else ""
        return f"The data file is damaged{where}: {self.problems[0]}"


def run_checks(profile: Profile, key: bytes) -> CheckResult:
    """Blocks for as long as reading the whole file takes; call off the GUI thread."""
    result = CheckResult()
    schema_error: str | None = None
    try:
        conn = open_connection(profile.db_path, key, readonly=True)
    except DatabaseCorrupted as exc:
        # The schema itself is damaged, so the verifying open fails; cipher_integrity_check
        # needs no schema and still names the damaged pages.
        schema_error = f"schema unreadable: {exc.detail}"
        conn = _unverified_connection(profile, key)
    try:
        for row in conn.execute("PRAGMA cipher_integrity_check").fetchall():
            result.problems.append(str(row[0]))
        if schema_error is not None:
            result.problems.append(schema_error)
            return result
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        except sqlcipher3.DatabaseError as exc:
            result.problems.append(f"quick_check: {exc}")
        else:
            result.problems.extend(str(r[0]) for r in rows if r[0] != "ok")
    finally:
        conn.close()
    return result


def _unverified_connection(profile: Profile, key: bytes) -> Any:
    conn = sqlcipher3.connect(
        f"file:{profile.db_path}?mode=ro", uri=True, isolation_level=None, check_same_thread=True
    )
    conn.execute("PRAGMA cipher_log_level = NONE")
    conn.execute(key_pragma(key))
    return conn
