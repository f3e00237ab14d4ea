"""Reading the write-ahead log ourselves, before SQLite replays it after a crash.

SQLite replays a WAL up to its last valid commit and stops at the first frame whose
checksum or salts do not match; every transaction committed after that frame is dropped
without a word.  One flipped bit is enough.  So before the first read-write open of a
non-empty WAL (that is, after a crash: a clean close leaves it empty), :func:`preserve`
walks the headers and checksums (SQLCipher encrypts page data, not these), and if
committed frames follow a bad one it keeps a copy of the WAL beside the data file (still
encrypted) and records what is about to be lost.

Format (https://sqlite.org/fileformat.html#the_write_ahead_log): a 32-byte header
(magic, version, page size, checkpoint sequence, salt-1, salt-2, checksum-1, checksum-2),
then frames of a 24-byte header (page number, database size after commit or 0, salt-1,
salt-2, checksum-1, checksum-2) and one page.  Checksums are cumulative: each frame's is
seeded with its predecessor's.  A partial frame at the end is a torn write, which is
normal (that transaction never committed).
"""

from __future__ import annotations

import json
import logging
import struct
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from app.atomic import write_private

log = logging.getLogger("muttefik.db")

HEADER = 32
FRAME_HEADER = 24
_MAGIC_LE, _MAGIC_BE = 0x377F0682, 0x377F0683
KEPT_SUFFIX = "-wal.kept-"  # vault.db-wal.kept-20260101T120000Z (+ ".json")
_MASK = 0xFFFFFFFF


@dataclass(frozen=True)
class WalScan:
    """What SQLite will replay from a WAL, and what it would silently drop."""

    frames: int = 0  # complete frames in the file
    replayed_frames: int = 0  # up to and including the last commit before any bad frame
    replayed_commits: int = 0
    first_bad_frame: int | None = None  # 1-based; 0 = the header itself is bad
    lost_frames: int = 0  # checksum-valid frames of this WAL after the first bad one
    lost_commits: int = 0  # commit frames among them: transactions that will be lost
    torn_bytes: int = 0  # a partial frame at the end (an interrupted write: harmless)
    pages: frozenset[int] = field(default_factory=frozenset)  # pages in replayed frames

    @property
    def loses_commits(self) -> bool:
        return self.lost_commits > 0


def wal_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + "-wal")


def size(db_path: Path) -> int:
    """Bytes in the WAL of ``db_path`` (0 when there is none): one ``stat``."""
    try:
        return wal_path(db_path).stat().st_size
    except FileNotFoundError:
        return 0


def _checksum(data: bytes, big_endian: bool, s0: int, s1: int) -> tuple[int, int]:
    words = struct.unpack((">" if big_endian else "<") + f"{len(data) // 4}I", data)
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & _MASK
        s1 = (s1 + words[i + 1] + s0) & _MASK
    return s0, s1


def scan_bytes(data: bytes) -> WalScan:
    """Walk a WAL's header and frames (no page is decrypted or interpreted)."""
    if len(data) < HEADER:
        return WalScan(torn_bytes=len(data))
    magic, _version, page_size, _seq, salt1, salt2, hc0, hc1 = struct.unpack(">8I", data[:HEADER])
    if magic not in (_MAGIC_LE, _MAGIC_BE) or page_size < 512 or page_size & (page_size - 1):
        # Not a WAL header we can follow: SQLite ignores such a file, and so can we not
        # tell whether it held anything.  An all-zero or garbage file is treated as empty.
        return WalScan()
    big_endian = magic == _MAGIC_BE
    frame_size = FRAME_HEADER + page_size
    frames = (len(data) - HEADER) // frame_size
    torn = (len(data) - HEADER) % frame_size
    header_ok = _checksum(data[:24], big_endian, 0, 0) == (hc0, hc1)

    replayed = commits = 0
    first_bad: int | None = None if header_ok else 0
    lost_frames = lost_commits = 0
    pages: set[int] = set()
    pending_pages: set[int] = set()
    seed = (hc0, hc1)  # the stored header checksum seeds frame 1, valid or not
    for index in range(frames):
        start = HEADER + index * frame_size
        pgno, commit, fs1, fs2, c0, c1 = struct.unpack(">6I", data[start : start + FRAME_HEADER])
        body = data[start : start + 8] + data[start + FRAME_HEADER : start + frame_size]
        valid = (
            (fs1, fs2) == (salt1, salt2)
            and pgno > 0
            and _checksum(body, big_endian, *seed) == (c0, c1)
        )
        if first_bad is None:
            if not valid:
                first_bad = index + 1
            else:
                pending_pages.add(pgno)
                if commit:
                    replayed, commits = index + 1, commits + 1
                    pages |= pending_pages
                    pending_pages.clear()
        elif valid:
            lost_frames += 1
            lost_commits += 1 if commit else 0
        elif (fs1, fs2) != (salt1, salt2):
            break  # a frame of an older WAL generation: the end of this one
        seed = (c0, c1)
    return WalScan(
        frames=frames,
        replayed_frames=replayed,
        replayed_commits=commits,
        first_bad_frame=first_bad,
        lost_frames=lost_frames,
        lost_commits=lost_commits,
        torn_bytes=torn,
        pages=frozenset(pages),
    )


def scan(db_path: Path) -> WalScan:
    try:
        data = wal_path(db_path).read_bytes()
    except FileNotFoundError:
        return WalScan()
    return scan_bytes(data)


@dataclass(frozen=True)
class WalLoss:
    """A kept WAL copy whose later commits SQLite could not replay."""

    copy: str  # path of the kept copy
    when: str  # UTC, ISO 8601
    first_bad_frame: int
    lost_commits: int
    lost_frames: int
    reported: bool = False

    def message(self) -> str:
        changes = "change" if self.lost_commits == 1 else "changes"
        return (
            f"Recent changes may be lost: on {self.when[:16].replace('T', ' ')} UTC the "
            f"database's change log was damaged, and {self.lost_commits} saved {changes} "
            "after the damage could not be applied. A copy of the log was kept (still "
            f"encrypted) at {self.copy}. Verify the audit log (muttefik audit verify) to "
            "see which recorded actions are missing. Keep the copy for support; delete it "
            'and its ".json" note afterwards to clear this warning.'
        )


def preserve(db_path: Path) -> WalLoss | None:
    """Before the first read-write open: keep a copy of a WAL that would lose commits.

    Cheap when the WAL is empty or absent (one ``stat``).  Blocks (reads the WAL).
    """
    if size(db_path) == 0:
        return None
    try:
        data = wal_path(db_path).read_bytes()
    except FileNotFoundError:
        return None
    result = scan_bytes(data)
    if not result.loses_commits:
        return None
    now = datetime.now(UTC)
    copy = db_path.with_name(db_path.name + KEPT_SUFFIX + now.strftime("%Y%m%dT%H%M%S%fZ"))
    write_private(copy, data)
    loss = WalLoss(
        copy=str(copy),
        when=now.isoformat(timespec="seconds"),
        first_bad_frame=result.first_bad_frame or 0,
        lost_commits=result.lost_commits,
        lost_frames=result.lost_frames,
    )
    write_private(_note(copy), json.dumps(asdict(loss), indent=2).encode())
    log.error(
        "write-ahead log damaged at frame %s: %d committed transactions after it cannot be "
        "replayed; copy kept at %s",
        loss.first_bad_frame,
        loss.lost_commits,
        copy.name,
    )
    return loss


def _note(copy: Path) -> Path:
    return copy.with_name(copy.name + ".json")


def kept_losses(db_path: Path) -> list[WalLoss]:
    """Every kept WAL copy beside ``db_path`` (oldest first), from their notes."""
    losses = []
    for note in sorted(db_path.parent.glob(db_path.name + KEPT_SUFFIX + "*.json")):
        try:
            losses.append(WalLoss(**json.loads(note.read_text())))
        except (OSError, ValueError, TypeError):
            log.warning("unreadable note %s", note.name)
    return losses


def take_unreported(db_path: Path) -> list[WalLoss]:
    """Kept copies not yet shown to the seller; marks them shown."""
    fresh = [loss for loss in kept_losses(db_path) if not loss.reported]
    for loss in fresh:
        note = _note(Path(loss.copy))
        shown = WalLoss(**{**asdict(loss), "reported": True})
        try:
            write_private(note, json.dumps(asdict(shown), indent=2).encode())
        except OSError:
            log.warning("could not mark %s as reported", note.name)
    return fresh


__all__ = [
    "WalLoss",
    "WalScan",
    "kept_losses",
    "preserve",
    "scan",
    "scan_bytes",
    "size",
    "take_unreported",
    "wal_path",
]
