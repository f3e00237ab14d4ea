"""Full integrity checks (every page): ``cipher_integrity_check`` and ``quick_check``.

They read the whole file, so they run on a separate read-only connection in the
background after startup (and in ``muttefik check``), never delaying the window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlcipher3

from app.paths import Profile
from app.vault.connection import open_connection

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
    conn = open_connection(profile.db_path, key, readonly=True)
    try:
        for row in conn.execute("PRAGMA cipher_integrity_check").fetchall():
            result.problems.append(str(row[0]))
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        except sqlcipher3.DatabaseError as exc:
            result.problems.append(f"quick_check: {exc}")
        else:
            result.problems.extend(str(r[0]) for r in rows if r[0] != "ok")
    finally:
        conn.close()
    return result
