"""The forensic page reader (tests/helpers/sqlcipher_pages.py) reads SQLCipher 4 files
as the vault writes them: page 1's SQLite header where SQLite has it, a known text found
after decryption and not in the raw bytes, a wrong key refused, deleted bytes seen."""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

import pytest

from app.vault.connection import checkpoint_truncate, open_connection
from tests.helpers.sqlcipher_pages import (
    PAGE_SIZE,
    PageUnreadable,
    Scan,
    decrypted_pages,
    find_in_files,
    find_markers,
    wal_of,
)

KEY = bytes(range(32))
MARKER = "Qv7ZebraMarkerX41"


@pytest.fixture
def db(tmp_path: Path) -> Any:
    path = tmp_path / "vault.db"
    conn = open_connection(path, KEY)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    yield path, conn
    conn.close()


def test_page_one_holds_the_sqlite_header_after_the_salt(db: Any) -> None:
    path, conn = db
    conn.execute("INSERT INTO notes (body) VALUES ('x')")
    assert checkpoint_truncate(conn, path)
    raw = path.read_bytes()
    page1 = next(iter(decrypted_pages(path, KEY)))
    assert page1[:16] == raw[:16] != b"SQLite format 3\x00"  # the salt, in clear
    (page_size,) = struct.unpack(">H", page1[16:18])
    assert page_size == PAGE_SIZE
    assert page1[18:20] == b"\x02\x02"  # WAL mode
    assert page1[20] == 80  # reserved bytes per page: IV + HMAC
    assert page1[21:24] == bytes([64, 32, 32])  # payload fractions, fixed by SQLite
    assert page1[100] in (0x05, 0x0D)  # sqlite_master's b-tree page header
    assert raw[16:24] != page1[16:24]  # and the file itself is encrypted there


def test_a_known_text_is_found_only_after_decryption(db: Any) -> None:
    path, conn = db
    conn.execute("INSERT INTO notes (body) VALUES (?)", (f"hello {MARKER} there",))
    # In the WAL first (committed, not checkpointed) …
    scan = Scan()
    found = find_markers(path, KEY, [MARKER], scan)[MARKER]
    assert found and all(w.file == wal_of(path) and w.frame for w in found)
    assert scan.pages[wal_of(path)] >= 1
    assert MARKER.encode() not in wal_of(path).read_bytes()
    # … then in the data file after a checkpoint, the WAL empty.
    assert checkpoint_truncate(conn, path)
    found = find_markers(path, KEY, [MARKER])[MARKER]
    assert found and all(w.file == path and w.frame is None for w in found)
    assert MARKER.encode() not in path.read_bytes()
    assert MARKER.lower().encode() not in path.read_bytes().lower()


def test_markers_match_whatever_their_case(db: Any) -> None:
    path, conn = db
    conn.execute("INSERT INTO notes (body) VALUES (?)", (MARKER.lower(),))
    assert find_markers(path, KEY, [MARKER])[MARKER]
    assert find_markers(path, KEY, ["NotWrittenAnywhere9"])["NotWrittenAnywhere9"] == []


def test_deleted_text_is_seen_unless_secure_delete_wiped_it(db: Any) -> None:
    """The scan reads free space too: a row deleted without secure_delete leaves its
    bytes on the page, and the scan finds them; with secure_delete it does not."""
    path, conn = db
    conn.execute("PRAGMA secure_delete = OFF")
    conn.execute("INSERT INTO notes (body) VALUES (?)", ("kept " + MARKER,))
    conn.execute("INSERT INTO notes (body) VALUES ('Another row')")
    assert checkpoint_truncate(conn, path)
    conn.execute("DELETE FROM notes WHERE body LIKE 'kept%'")
    assert (
        conn.execute("SELECT count(*) FROM notes WHERE body LIKE ?", (f"%{MARKER}%",)).fetchone()[0]
        == 0
    )
    assert checkpoint_truncate(conn, path)
    assert find_markers(path, KEY, [MARKER])[MARKER], "a plain delete leaves the bytes"

    conn.execute("PRAGMA secure_delete = ON")
    second = "Wq3SecondMarkerY8"
    conn.execute("INSERT INTO notes (body) VALUES (?)", ("gone " + second,))
    assert checkpoint_truncate(conn, path)
    conn.execute("DELETE FROM notes WHERE body LIKE 'gone%'")
    assert checkpoint_truncate(conn, path)
    assert find_markers(path, KEY, [second])[second] == []


def test_a_wrong_key_is_refused_not_scanned_as_noise(db: Any) -> None:
    path, conn = db
    conn.execute("INSERT INTO notes (body) VALUES ('x')")
    with pytest.raises(PageUnreadable, match="HMAC"):
        find_markers(path, bytes(32), [MARKER])


def test_a_torn_frame_at_the_wal_end_is_counted_not_read(db: Any) -> None:
    path, conn = db
    conn.execute("INSERT INTO notes (body) VALUES (?)", (MARKER,))
    with open(wal_of(path), "ab") as f:
        f.write(os.urandom(100))
    scan = Scan()
    assert find_markers(path, KEY, [MARKER], scan)[MARKER]
    assert scan.torn == {wal_of(path): 100}


def test_plain_files_are_searched_in_utf8_and_utf16(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.log").write_text(f"line {MARKER.upper()}\n", encoding="utf-8")
    (tmp_path / "b.bin").write_bytes("Pz4UtfSixteenMark".encode("utf-16-le"))
    hits = find_in_files([tmp_path], [MARKER, "Pz4UtfSixteenMark", "NotWrittenAnywhere9"])
    assert hits == {MARKER: tmp_path / "logs" / "a.log", "Pz4UtfSixteenMark": tmp_path / "b.bin"}
