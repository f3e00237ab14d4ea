"""Reading a SQLCipher 4 data file (and its WAL) page by page with the raw key, for
forensic scans: is a string anywhere in the bytes SQLite keeps on disk, live or not?

The vault opens its data file with a raw 32-byte key (``PRAGMA key = "x'…'"``, see
app/vault/connection.py), so SQLCipher uses it as the AES key directly (no PBKDF2 of a
passphrase).  SQLCipher 4 defaults, checked by the tests of this module:

- 4096-byte pages; page 1 begins with the file's 16-byte salt (in clear, where a plain
  SQLite file says ``SQLite format 3\\0``); its encrypted part starts at offset 16.
- 80 reserved bytes at each page's end: a 16-byte IV, then a 64-byte HMAC-SHA512 of the
  ciphertext, the IV and the page number (4 bytes, little-endian).  The HMAC key is
  PBKDF2-HMAC-SHA512(AES key, salt XOR 0x3a, 2 iterations, 32 bytes).
- AES-256-CBC without padding over the rest of the page.

Every page is HMAC-checked before it is decrypted: a wrong key or a misread layout fails
loudly (:class:`PageUnreadable`) instead of scanning noise and finding nothing.

The WAL (``<db>-wal``): a 32-byte header, then frames of a 24-byte header and one page.
Every complete frame is read, also those of earlier generations that SQLite no longer
replays (their bytes are still on disk).  A partial frame at the end (a torn write) is
counted in :attr:`Scan.torn` and not decrypted.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from app.paths import Profile

PAGE_SIZE = 4096
RESERVE = 80
IV_SIZE = 16
HMAC_SIZE = 64
SALT_SIZE = 16
KDF_SALT_MASK = 0x3A
HMAC_KDF_ITERATIONS = 2
WAL_HEADER = 32
WAL_FRAME_HEADER = 24
SQLITE_MAGIC = b"SQLite format 3\x00"
#: Markers shorter than this could turn up by chance in a page's binary structure.
MIN_MARKER = 10


class PageUnreadable(AssertionError):
    """A page whose HMAC does not match: the wrong key, or not a SQLCipher 4 page."""


@dataclass(frozen=True)
class Where:
    """One place a marker was found: a file, the page number, the WAL frame (1-based,
    None in the main file) and the offset inside the decrypted page."""

    file: Path
    page: int
    frame: int | None
    offset: int

    def __str__(self) -> str:
        frame = f" frame {self.frame}" if self.frame is not None else ""
        return f"{self.file.name} page {self.page}{frame} +{self.offset}"


@dataclass(frozen=True)
class Page:
    file: Path
    number: int
    frame: int | None
    plain: bytes  # PAGE_SIZE bytes: page 1 starts with the salt, the reserve is zeroed


@dataclass
class Scan:
    """What a scan read: pages per file, and torn bytes at the end of a WAL."""

    pages: dict[Path, int] = field(default_factory=dict)
    torn: dict[Path, int] = field(default_factory=dict)


def wal_of(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + "-wal")


def _hmac_key(key: bytes, salt: bytes) -> bytes:
    mask = bytes(b ^ KDF_SALT_MASK for b in salt)
    return hashlib.pbkdf2_hmac("sha512", key, mask, HMAC_KDF_ITERATIONS, 32)


def salt_of(db_path: Path) -> bytes:
    """The salt: the first 16 bytes of page 1, from the main file or (when page 1 was
    never checkpointed) from the WAL's first copy of page 1."""
    with open(db_path, "rb") as f:
        head = f.read(SALT_SIZE)
    if len(head) == SALT_SIZE:
        return head
    wal = wal_of(db_path)
    for number, _frame, raw in _wal_frames(wal, Scan()):
        if number == 1:
            return raw[:SALT_SIZE]
    raise PageUnreadable(f"{db_path}: no page 1 in the file or its WAL")


def decrypt_page(raw: bytes, number: int, key: bytes, salt: bytes) -> bytes:
    """One page as SQLCipher wrote it → its plain bytes (same length).  Page 1 keeps its
    salt in the first 16 bytes; the reserve (IV and HMAC) is zeroed."""
    if len(key) != 32:
        raise ValueError("a SQLCipher raw key is 32 bytes")
    if len(raw) != PAGE_SIZE:
        raise ValueError(f"a page is {PAGE_SIZE} bytes, not {len(raw)}")
    start = SALT_SIZE if number == 1 else 0
    end = PAGE_SIZE - RESERVE
    iv = raw[end : end + IV_SIZE]
    mac = raw[end + IV_SIZE : end + IV_SIZE + HMAC_SIZE]
    signed = raw[start : end + IV_SIZE] + struct.pack("<I", number)
    expected = hmac.new(_hmac_key(key, salt), signed, hashlib.sha512).digest()
    if not hmac.compare_digest(mac, expected):
        raise PageUnreadable(f"page {number}: HMAC mismatch (wrong key or layout)")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    plain = decryptor.update(raw[start:end]) + decryptor.finalize()
    return raw[:start] + plain + bytes(RESERVE)


def _main_pages(db_path: Path) -> Iterator[tuple[int, bytes]]:
    with open(db_path, "rb") as f:
        number = 0
        while True:
            raw = f.read(PAGE_SIZE)
            if not raw:
                return
            number += 1
            if len(raw) != PAGE_SIZE:
                raise PageUnreadable(f"{db_path}: {len(raw)} bytes at the end, not a page")
            yield number, raw


def _wal_frames(wal: Path, scan: Scan) -> Iterator[tuple[int, int, bytes]]:
    try:
        data = wal.read_bytes()
    except FileNotFoundError:
        return
    if len(data) < WAL_HEADER:
        if data:
            scan.torn[wal] = len(data)
        return
    (page_size,) = struct.unpack(">I", data[8:12])
    if page_size != PAGE_SIZE:
        raise PageUnreadable(f"{wal}: page size {page_size} in the WAL header")
    step = WAL_FRAME_HEADER + PAGE_SIZE
    offset, frame = WAL_HEADER, 0
    while offset + step <= len(data):
        frame += 1
        (number,) = struct.unpack(">I", data[offset : offset + 4])
        yield number, frame, data[offset + WAL_FRAME_HEADER : offset + step]
        offset += step
    if offset < len(data):
        scan.torn[wal] = len(data) - offset


def pages(db_path: Path, key: bytes, scan: Scan | None = None) -> Iterator[Page]:
    """Every page of ``db_path`` and of every complete frame of its WAL, decrypted."""
    scan = scan if scan is not None else Scan()
    salt = salt_of(db_path)
    wal = wal_of(db_path)
    for number, raw in _main_pages(db_path):
        scan.pages[db_path] = scan.pages.get(db_path, 0) + 1
        yield Page(db_path, number, None, decrypt_page(raw, number, key, salt))
    for number, frame, raw in _wal_frames(wal, scan):
        scan.pages[wal] = scan.pages.get(wal, 0) + 1
        yield Page(wal, number, frame, decrypt_page(raw, number, key, salt))


def decrypted_pages(db_path: Path, key: bytes) -> Iterator[bytes]:
    """The plain bytes of every page of the data file, then of every WAL frame."""
    for page in pages(db_path, key):
        yield page.plain


def data_files(profile_or_paths: Profile | Path | Sequence[Path]) -> list[Path]:
    """The data files to scan: a profile's ``db_path`` and any WAL copy kept beside it
    after a crash (``vault.db-wal.kept-…``, read as a WAL of the data file)."""
    if isinstance(profile_or_paths, Profile):
        return [profile_or_paths.db_path]
    if isinstance(profile_or_paths, Path):
        return [profile_or_paths]
    return list(profile_or_paths)


def _kept_wals(db_path: Path) -> list[Path]:
    return sorted(
        p for p in db_path.parent.glob(db_path.name + "-wal.kept-*") if not p.name.endswith(".json")
    )


def needles(marker: str | bytes) -> list[bytes]:
    """What a marker looks like on a page: its UTF-8 bytes, matched case-insensitively
    (ASCII) against the page lowercased."""
    raw = marker.encode() if isinstance(marker, str) else marker
    if len(raw) < MIN_MARKER:
        raise ValueError(f"marker {raw!r} is shorter than {MIN_MARKER} bytes")
    return [raw.lower()]


def find_markers(
    profile_or_paths: Profile | Path | Sequence[Path],
    key: bytes,
    markers: Iterable[str | bytes],
    scan: Scan | None = None,
) -> dict[str | bytes, list[Where]]:
    """Where each marker occurs in the decrypted pages of the data file(s), their WALs
    and kept WAL copies.  Every marker is a key of the answer (an empty list: nowhere).

    A marker is matched case-insensitively (ASCII), so a lowercased copy counts too.
    """
    scan = scan if scan is not None else Scan()
    wanted = {m: needles(m) for m in markers}
    found: dict[str | bytes, list[Where]] = {m: [] for m in wanted}

    def look(page: Page) -> None:
        text = page.plain.lower()
        for marker, forms in wanted.items():
            for form in forms:
                at = text.find(form)
                while at != -1:
                    found[marker].append(Where(page.file, page.number, page.frame, at))
                    at = text.find(form, at + 1)

    for db_path in data_files(profile_or_paths):
        for page in pages(db_path, key, scan):
            look(page)
        salt = salt_of(db_path)
        for kept in _kept_wals(db_path):
            for number, frame, raw in _wal_frames(kept, scan):
                scan.pages[kept] = scan.pages.get(kept, 0) + 1
                look(Page(kept, number, frame, decrypt_page(raw, number, key, salt)))
    return found


def find_in_files(folders: Iterable[Path], markers: Iterable[str | bytes]) -> dict[str, Path]:
    """Plain files (logs, the temp folder) holding a marker, case-insensitively:
    ``{marker: first file}``.  UTF-8 and UTF-16 (LE) forms are both looked for."""
    forms = {}
    for m in markers:
        text = m if isinstance(m, str) else m.decode()
        forms[text] = [text.lower().encode(), text.lower().encode("utf-16-le")]
    hits: dict[str, Path] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if not path.is_file():
                continue
            try:
                data = path.read_bytes().lower()
            except (PermissionError, FileNotFoundError):
                continue
            for text, variants in forms.items():
                if text not in hits and any(v in data for v in variants):
                    hits[text] = path
    return hits
