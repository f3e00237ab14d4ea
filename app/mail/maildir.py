"""A local Maildir read as a mailbox (sellers who sync mail with other tools; the demo).

Read-only except :meth:`MaildirSource.append`: files are read where they are and never
moved from ``new/`` to ``cur/`` or renamed, so the seller's mail program sees them as
before.  Keys are the files' unique names (before ``:2,…``), as ``mailbox.Maildir`` uses
them.  Folders: ``"INBOX"`` is the root; any other name is a Maildir++ subfolder
(``Sent`` → ``.Sent``).
"""

from __future__ import annotations

import mailbox
import os
import threading
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from pathlib import Path
from types import TracebackType
from typing import Self

from app.mail.imap import SENT_NAMES
from app.mail.models import FetchBatch, FolderState, MailAccount, RawMessage
from app.mail.transport import MailboxMissing, MailServerError, bare_message_id, detail

INBOX = "INBOX"


class MaildirSource:
    """One Maildir (see :class:`app.mail.transport.MailSource`)."""

    def __init__(self, account: MailAccount) -> None:
        if not account.maildir_path:
            raise MailboxMissing(
                "This store's mailbox has no Maildir folder set. Choose it in the store's "
                "mailbox settings.",
                detail="maildir path missing",
            )
        self.account = account
        self.root = Path(account.maildir_path).expanduser()

    # --- folders -------------------------------------------------------------------

    def _folder_path(self, folder: str) -> Path:
        inbox = folder.upper() == INBOX
        path = self.root if inbox else self.root / ("." + folder.lstrip("."))
        if not (path / "cur").is_dir() or not (path / "new").is_dir():
            raise MailboxMissing(
                "The mail folder Müttefik Desk reads was not found (it may have been moved "
                "or deleted). Check the Maildir folder in the store's mailbox settings.",
                detail="maildir folder missing",
            )
        return path

    def folders(self) -> tuple[str, str | None]:
        """``("INBOX", sent)``: the configured sent folder, else ``.Sent`` (or another
        usual name) when present, else None."""
        self._folder_path(INBOX)
        if self.account.sent_folder:
            return INBOX, self.account.sent_folder
        present = {}
        for entry in os.scandir(self.root):
            if entry.name.startswith(".") and entry.is_dir() and entry.name not in (".", ".."):
                present[entry.name[1:].lower()] = entry.name[1:]
        for wanted in SENT_NAMES:
            if wanted in present:
                return INBOX, present[wanted]
        return INBOX, None

    def _files(self, folder: str) -> list[tuple[str, Path, float]]:
        """(key, path, mtime) of every message file in ``folder``'s new/ and cur/."""
        base = self._folder_path(folder)
        found = []
        for sub in ("new", "cur"):
            try:
                entries = list(os.scandir(base / sub))
            except OSError as exc:
                raise MailServerError(
                    "The Maildir folder could not be read. Check that Müttefik Desk may read it.",
                    detail=detail("maildir scan", exc),
                ) from None
            for entry in entries:
                if entry.name.startswith(".") or not entry.is_file():
                    continue
                try:
                    mtime = entry.stat().st_mtime
                except OSError:
                    continue  # moved by the mail program meanwhile
                found.append(
                    (entry.name.split(mailbox.Maildir.colon, 1)[0], Path(entry.path), mtime)
                )
        return found

    # --- reading -------------------------------------------------------------------

    def fetch_new(self, folder: str, state: FolderState, *, limit: int = 200) -> FetchBatch:
        """Messages whose key is not in ``state.known_keys``, oldest delivery first."""
        fresh = sorted(
            (
                (mtime, key, path)
                for key, path, mtime in self._files(folder)
                if key not in state.known_keys
            ),
        )
        messages: list[RawMessage] = []
        more = False
        for mtime, key, path in fresh:
            if len(messages) == limit:
                more = True
                break
            try:
                raw = path.read_bytes()
            except FileNotFoundError:
                continue  # moved or deleted since the scan: the next fetch sees it anew
            except OSError as exc:
                raise MailServerError(
                    "A message in the Maildir folder could not be read. Check that Müttefik "
                    "Desk may read the folder.",
                    detail=detail("maildir read", exc),
                ) from None
            messages.append(
                RawMessage(key=key, raw=raw, received=datetime.fromtimestamp(mtime, UTC))
            )
        return FetchBatch(uidvalidity=None, messages=messages, more=more)

    def fetch_raw(self, folder: str, key: str) -> bytes | None:
        for found, path, _ in self._files(folder):
            if found == key:
                try:
                    return path.read_bytes()
                except FileNotFoundError:
                    return None
        return None

    def find_message_id(self, folder: str, message_id: str) -> bool:
        wanted = bare_message_id(message_id)
        if not wanted:
            return False
        parser = BytesHeaderParser()
        for _key, path, _ in self._files(folder):
            try:
                with path.open("rb") as f:
                    headers = parser.parse(f)
            except OSError:
                continue
            value = headers.get("Message-ID")
            if value is not None and bare_message_id(str(value)) == wanted:
                return True
        return False

    def append(self, folder: str, raw: bytes, *, seen: bool = True) -> None:
        """Add ``raw`` to ``folder`` (into ``cur/`` with the S flag when ``seen``)."""
        path = self._folder_path(folder)
        box = mailbox.Maildir(str(path), factory=None, create=False)
        message = mailbox.MaildirMessage(raw)
        if seen:
            message.set_subdir("cur")
            message.add_flag("S")
        try:
            box.add(message)
        except OSError as exc:
            raise MailServerError(
                "The reply could not be saved in the Maildir folder. Check that Müttefik "
                "Desk may write there.",
                detail=detail("maildir append", exc),
            ) from None

    # --- waiting -------------------------------------------------------------------

    def supports_idle(self) -> bool:
        return False

    def idle_wait(
        self,
        folder: str,
        timeout: float,
        stop: threading.Event,
        *,
        ready: threading.Event | None = None,
    ) -> bool:
        """No IDLE for a folder on disk: returns False at once (poll instead)."""
        return False

    def close(self) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
