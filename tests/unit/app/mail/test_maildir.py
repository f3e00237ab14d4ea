"""MaildirSource over a real Maildir on disk (stdlib mailbox writes it, as mail tools do)."""

from __future__ import annotations

import mailbox
import os
import threading
from pathlib import Path

import pytest

from app.mail.maildir import MaildirSource
from app.mail.models import FolderState, MailAccount, MailboxKind, MailPasswords
from app.mail.transport import MailboxMissing, open_source
from tests.helpers.emails import relay_email, seller_reply


def _account(path: Path, **overrides: object) -> MailAccount:
    values: dict[str, object] = {
        "store_id": 1,
        "kind": MailboxKind.MAILDIR,
        "from_address": "seller@example.com",
        "maildir_path": str(path),
    }
    values.update(overrides)
    return MailAccount(**values)  # type: ignore[arg-type]


def _deliver(box: mailbox.Maildir, raw: bytes, mtime: float, *, seen: bool = False) -> str:
    """Deliver ``raw`` as a mail program would (new/, or cur/ with S when ``seen``),
    delivered at ``mtime``."""
    message = mailbox.MaildirMessage(raw)
    if seen:
        message.set_subdir("cur")
        message.add_flag("S")
    key = box.add(message)
    root = Path(str(box._path))  # type: ignore[attr-defined]
    (path,) = [p for sub in ("new", "cur") for p in (root / sub).glob(f"{key}*")]
    os.utime(path, (mtime, mtime))
    return key


@pytest.fixture
def maildir(tmp_path: Path) -> mailbox.Maildir:
    return mailbox.Maildir(tmp_path / "Mail", create=True)


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_new_messages_come_oldest_delivery_first_with_their_keys(
    maildir: mailbox.Maildir, tmp_path: Path
) -> None:
    late = _deliver(maildir, relay_email(message_id="late@relay"), 2_000_000_000)
    early = _deliver(maildir, relay_email(message_id="early@relay"), 1_900_000_000, seen=True)

    batch = MaildirSource(_account(tmp_path / "Mail")).fetch_new("INBOX", FolderState())

    assert [m.key for m in batch.messages] == [early, late]
    assert [b"early@relay" in m.raw for m in batch.messages] == [True, False]
    assert batch.messages[0].received is not None
    assert batch.messages[0].received.timestamp() == 1_900_000_000
    assert batch.uidvalidity is None and batch.more is False


def test_known_keys_are_skipped_and_limit_says_more(
    maildir: mailbox.Maildir, tmp_path: Path
) -> None:
    keys = [_deliver(maildir, relay_email(), 1_900_000_000 + i) for i in range(4)]
    source = MaildirSource(_account(tmp_path / "Mail"))

    batch = source.fetch_new("INBOX", FolderState(known_keys=frozenset(keys[:1])), limit=2)

    assert [m.key for m in batch.messages] == keys[1:3]
    assert batch.more is True
    rest = source.fetch_new("INBOX", FolderState(known_keys=frozenset(keys[:3])), limit=2)
    assert [m.key for m in rest.messages] == keys[3:] and rest.more is False


def test_reading_moves_and_renames_nothing(maildir: mailbox.Maildir, tmp_path: Path) -> None:
    _deliver(maildir, relay_email(), 1_900_000_000)
    _deliver(maildir, relay_email(), 1_900_000_001, seen=True)
    root = tmp_path / "Mail"
    before = _files(root)
    source = MaildirSource(_account(root))

    batch = source.fetch_new("INBOX", FolderState())
    source.fetch_raw("INBOX", batch.messages[0].key)
    source.find_message_id("INBOX", "x@y")

    assert _files(root) == before
    assert any(f.startswith("new/") for f in before)


def test_fetch_raw_finds_a_message_by_key_or_none(maildir: mailbox.Maildir, tmp_path: Path) -> None:
    raw = relay_email(attachments=[("photo.jpg", "image/jpeg", b"\xff\xd8jpeg")])
    key = _deliver(maildir, raw, 1_900_000_000, seen=True)
    source = MaildirSource(_account(tmp_path / "Mail"))

    assert source.fetch_raw("INBOX", key) == raw
    assert source.fetch_raw("INBOX", "no-such-key") is None


def test_sent_subfolder_append_and_find_message_id(
    maildir: mailbox.Maildir, tmp_path: Path
) -> None:
    root = tmp_path / "Mail"
    source = MaildirSource(_account(root))
    assert source.folders() == ("INBOX", None)

    maildir.add_folder("Sent")  # Maildir++: Mail/.Sent
    assert source.folders() == ("INBOX", "Sent")
    assert source.find_message_id("Sent", "<reply-1@example.com>") is False

    source.append("Sent", seller_reply(message_id="reply-1@example.com"))

    assert source.find_message_id("Sent", "<reply-1@example.com>") is True
    assert source.find_message_id("Sent", "reply-1@example.com") is True
    assert source.find_message_id("Sent", "<reply-2@example.com>") is False
    files = list((root / ".Sent" / "cur").iterdir())
    assert len(files) == 1 and files[0].name.endswith(":2,S")  # stored as read
    assert source.fetch_new("INBOX", FolderState()).messages == []  # not in the inbox


def test_configured_sent_folder_wins(maildir: mailbox.Maildir, tmp_path: Path) -> None:
    maildir.add_folder("Sent")
    source = MaildirSource(_account(tmp_path / "Mail", sent_folder="Outbox"))
    assert source.folders() == ("INBOX", "Outbox")


def test_missing_maildir_or_folder_is_mailbox_missing(
    maildir: mailbox.Maildir, tmp_path: Path
) -> None:
    with pytest.raises(MailboxMissing):
        MaildirSource(_account(tmp_path / "nowhere")).fetch_new("INBOX", FolderState())
    source = MaildirSource(_account(tmp_path / "Mail"))
    with pytest.raises(MailboxMissing):
        source.append("Sent", seller_reply())  # no .Sent here
    with pytest.raises(MailboxMissing):
        MaildirSource(_account(tmp_path / "Mail", maildir_path=None))


def test_no_idle_on_a_folder_on_disk(maildir: mailbox.Maildir, tmp_path: Path) -> None:
    with MaildirSource(_account(tmp_path / "Mail")) as source:
        assert source.supports_idle() is False
        assert source.idle_wait("INBOX", 600.0, threading.Event()) is False


def test_open_source_gives_a_maildir_source(maildir: mailbox.Maildir, tmp_path: Path) -> None:
    source = open_source(_account(tmp_path / "Mail"), MailPasswords())
    assert isinstance(source, MaildirSource)
