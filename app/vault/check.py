"""Full integrity checks (every page): ``cipher_integrity_check`` and ``quick_check``.

They read the whole file, so they run on a separate read-only connection in the
background after startup (and in ``muttefik check``), never delaying the window.

``cipher_integrity_check`` reads the main file only, not the WAL.  Pages written since
the last checkpoint are in the WAL, and after an interrupted key rotation the WAL holds
every page under the new key while the main file still has them under the old one: read
page by page, intact data looks destroyed.  So the WAL is first checkpointed into the
main file ("settled"); when that is impossible, pages whose newest copy is in the WAL are
not judged from the main file, and the result says so.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlcipher3

from app.errors import DatabaseCorrupted
from app.paths import Profile
from app.vault import wal
from app.vault.connection import (
    checkpoint_truncate,
    key_pragma,
    open_connection,
    translate_db_error,
)

log = logging.getLogger("muttefik.db")

_PAGE = re.compile(r"page (\d+)")
_HMAC = re.compile(r"HMAC verification failed for page (\d+)")
# quick_check lines that are only the echo of unreadable pages: their subtree is missing,
# so every page in it is "never used", and the tree that points to it "returns error 11".
_ECHO = re.compile(r"never used|btreeInitPage\(\) returns error code 11|^\*\*\* in database")
SHOWN = 5  # problem lines ``muttefik check`` prints below the summary


@dataclass
class CheckResult:
    problems: list[str] = field(default_factory=list)
    damaged_pages: list[int] = field(default_factory=list)  # pages that do not decrypt
    echoes: int = 0  # quick_check lines left out: consequences of the damaged pages
    notes: list[str] = field(default_factory=list)  # what the check could not see
    wal_losses: list[wal.WalLoss] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad_page(self) -> int | None:
        if self.damaged_pages:
            return min(self.damaged_pages)
        for problem in self.problems:
            m = _PAGE.search(problem)
            if m:
                return int(m.group(1))
        return None

    def summary(self) -> str:
        if self.ok:
            return "The data file passed both integrity checks."
        if self.damaged_pages:
            count = len(self.damaged_pages)
            pages = "page" if count == 1 else "pages"
            return (
                f"The data file is damaged: {count} damaged {pages} "
                f"(first damaged page: {self.first_bad_page})."
            )
        page = self.first_bad_page
        where = f" (first damaged page: {page})" if page is not None else ""
        return f"The data file is damaged{where}: {self.problems[0]}"

    def lines(self) -> list[str]:
        """The summary, the first few problems, notes and lost changes, for the terminal."""
        out = [self.summary()]
        out += [f"  {p}" for p in self.problems[:SHOWN]]
        if len(self.problems) > SHOWN:
            out.append(f"  … and {len(self.problems) - SHOWN} more.")
        if self.echoes:
            out.append(
                f"  ({self.echoes} further findings of the structure check follow from "
                "the damaged pages and are not listed.)"
            )
        out += self.notes
        out += [loss.message() for loss in self.wal_losses]
        return out


def settle(path: Path, key: bytes) -> bool:
    """Checkpoint the WAL into the main file on a connection of our own.  True if the WAL
    is now empty.  For callers that hold the profile lock and no open vault.

    The connection is not verified by reading the schema (a damaged schema page must not
    stop the check that is to name it); the checkpoint copies pages without decrypting.
    """
    if wal.size(path) == 0:
        return True
    wal.preserve(path)  # before SQLite replays it: keep it if commits would be lost
    try:
        conn = sqlcipher3.connect(str(path), isolation_level=None, check_same_thread=True)
    except sqlcipher3.Error:
        return False
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute(key_pragma(key))
        return checkpoint_truncate(conn, path)
    except sqlcipher3.Error as exc:
        log.warning("the WAL could not be checkpointed: %s", translate_db_error(exc))
        return False
    finally:
        conn.close()


def main_file_problems(path: Path, key: bytes) -> list[str]:
    """``cipher_integrity_check`` of the main file on a fresh read-only connection.

    Judges the main file alone: call it when the WAL is empty.
    """
    conn, _schema_error = _check_connection(path, key)
    try:
        return [str(row[0]) for row in conn.execute("PRAGMA cipher_integrity_check").fetchall()]
    finally:
        conn.close()


def settle_and_verify(path: Path, key: bytes) -> bool:
    """Whether the WAL could be emptied and every page of the main file decrypts under
    ``key``: the condition for dropping any older key."""
    if not settle(path, key):
        log.warning("the WAL could not be checkpointed; the main file is not verified yet")
        return False
    problems = main_file_problems(path, key)
    if problems:
        log.warning("the main file does not verify under the key (%d pages)", len(problems))
    return not problems


def run_checks(
    profile: Profile, key: bytes, *, settle_wal: Callable[[], bool] | None = None
) -> CheckResult:
    """Blocks for as long as reading the whole file takes; call off the GUI thread.

    ``settle_wal`` empties the WAL into the main file and says whether it could; by default
    a connection of its own does it (the caller holds the profile lock, no vault open).
    """
    path = profile.db_path
    settled = settle_wal() if settle_wal is not None else settle(path, key)
    result = CheckResult(wal_losses=wal.kept_losses(path))  # settling may have kept one
    newer_in_wal: frozenset[int] = frozenset()
    if not settled:
        newer_in_wal = wal.scan(path).pages
        if newer_in_wal:
            result.notes.append(
                f"Note: {len(newer_in_wal)} pages have newer copies in the change log "
                f"({wal.wal_path(path).name}) that could not be written into the data file "
                "now (is Müttefik Desk running, or is the folder read-only?). Those pages "
                "were checked by reading them through the database, not page by page."
            )
    conn, schema_error = _check_connection(path, key)
    try:
        for row in conn.execute("PRAGMA cipher_integrity_check").fetchall():
            line = str(row[0])
            m = _HMAC.search(line)
            if m and int(m.group(1)) in newer_in_wal:
                continue  # the main file's copy is stale; the WAL's is read below
            if m:
                result.damaged_pages.append(int(m.group(1)))
            result.problems.append(line)
        if schema_error is not None:
            result.problems.append(schema_error)
            return result
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        except sqlcipher3.DatabaseError as exc:
            found = [f"quick_check: {exc}"]
        else:
            found = [line for r in rows if r[0] != "ok" for line in str(r[0]).splitlines() if line]
        if result.damaged_pages:
            kept = [line for line in found if not _ECHO.search(line)]
            result.echoes = len(found) - len(kept)
            found = kept
        result.problems.extend(found)
    finally:
        conn.close()
    return result


def _check_connection(path: Path, key: bytes) -> tuple[Any, str | None]:
    """A read-only connection for the page check, and why the schema is unreadable (None
    when the verifying open worked).  A damaged schema fails the verifying open, but
    cipher_integrity_check needs no schema and still names the damaged pages."""
    try:
        return open_connection(path, key, readonly=True), None
    except DatabaseCorrupted as exc:
        return _unverified_connection(path, key), f"schema unreadable: {exc.detail}"


def _unverified_connection(path: Path, key: bytes) -> Any:
    conn = sqlcipher3.connect(
        f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=True
    )
    conn.execute("PRAGMA cipher_log_level = NONE")
    conn.execute(key_pragma(key))
    return conn
