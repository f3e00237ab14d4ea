"""Types shared by the mail modules, the services and the UI.

PII: ``alias`` (the buyer's relay address), ``buyer_display_name`` and the message
texts are buyer PII (``../shared/design/architecture.md``): stored only in the vault,
never logged (log the thread id or the Message-ID's hash instead).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Security(StrEnum):
    """How a mail connection is protected.  ``PLAIN`` only to a loopback host."""

    TLS = "tls"  # implicit TLS (IMAPS 993, SMTPS 465)
    STARTTLS = "starttls"  # IMAP 143 / submission 587, upgraded before login
    PLAIN = "plain"  # no TLS: refused unless the host is loopback


class MailboxKind(StrEnum):
    IMAP = "imap"
    MAILDIR = "maildir"


@dataclass(frozen=True)
class MailAccount:
    """A store's mailbox (no secrets: the passwords live in the keychain)."""

    store_id: int
    kind: MailboxKind
    from_address: str  # the seller's address registered with Amazon (the relay's From)
    imap_host: str | None = None
    imap_port: int | None = None
    imap_security: Security | None = None
    imap_user: str | None = None
    inbox_folder: str = "INBOX"
    sent_folder: str | None = None  # None: found by the \Sent special-use flag
    maildir_path: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_security: Security | None = None
    smtp_user: str | None = None  # None: the IMAP user


@dataclass(frozen=True)
class MailPasswords:
    """Secrets for :class:`MailAccount`, in memory only (keychain ↔ service)."""

    imap: str | None = None
    smtp: str | None = None  # None: the IMAP password


@dataclass(frozen=True)
class AttachmentMeta:
    """An attachment's metadata; the content stays in the mailbox (fetched on demand)."""

    filename: str
    content_type: str
    size: int  # decoded bytes
    part: int = 0  # index among the message's attachments (0-based), to fetch it again


@dataclass(frozen=True)
class ParsedEmail:
    """What :func:`app.mail.parse.parse_email` reads from one raw email.

    The first ten fields are exactly the ``muttefik parse-email`` JSON keys.
    ``flags`` lists plain-words reasons to review the message (malformed MIME, unknown
    charset, body cut at the cap, no order id …); a flagged message is still imported.
    """

    order_id: str | None
    alias: str  # lower-cased relay address ('' when there is no usable From)
    marketplace_domain: str  # e.g. "amazon.com", "amazon.co.uk" ('' when unknown)
    buyer_display_name: str | None
    subject: str
    received_at: datetime  # aware; Date header, else the first Received, else the mailbox
    body: str  # the buyer's text only
    no_response_needed_url: str | None
    attachments: tuple[AttachmentMeta, ...] = ()
    message_id: str | None = None  # without <>
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    from_address: str = ""  # lower-cased address of From
    to_addresses: tuple[str, ...] = ()  # lower-cased addresses of To
    is_amazon: bool = False  # From (or, for the seller's own replies, To) a relay address
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class RawMessage:
    """One message as a transport returns it."""

    key: str  # IMAP: str(uid); Maildir: the file's unique name (before ":2,")
    raw: bytes
    uid: int | None = None  # IMAP only
    received: datetime | None = None  # INTERNALDATE / file mtime (aware)


@dataclass(frozen=True)
class FolderState:
    """Where the last fetch of one folder ended (stored per store and folder)."""

    uidvalidity: int | None = None
    last_uid: int = 0
    known_keys: frozenset[str] = frozenset()  # Maildir: keys already seen


@dataclass(frozen=True)
class FetchBatch:
    uidvalidity: int | None  # IMAP: a value other than the state's = the folder was reset
    messages: list[RawMessage] = field(default_factory=list)
    more: bool = False  # more messages wait beyond this batch's limit


@dataclass(frozen=True)
class FetchCounts:
    """What one fetch did (``muttefik mail fetch`` prints these)."""

    seen: int = 0  # messages looked at (all folders)
    imported: int = 0  # new messages stored (buyer messages and the seller's own replies)
    skipped: int = 0  # not from/to an Amazon relay address
    flagged: int = 0  # imported but flagged for review
    threads: frozenset[int] = frozenset()  # threads that changed


class ThreadState(StrEnum):
    NEEDS_REPLY = "needs_reply"
    DRAFT = "draft"  # needs a reply and a draft is saved
    REPLIED = "replied"
    NO_RESPONSE = "no_response"  # marked "no response needed"


class Direction(StrEnum):
    IN = "in"  # from the buyer
    OUT = "out"  # the seller's reply


class SendState(StrEnum):
    SENDING = "sending"  # handed to SMTP, no answer yet
    SENT = "sent"
    FAILED = "failed"  # not accepted: kept as the draft, retry with one click
    UNCERTAIN = "uncertain"  # the connection ended after the message was handed over


class Urgency(StrEnum):
    """Where a thread stands on the 24-hour clock (colours in the inbox)."""

    NONE = "none"  # nothing to answer
    OK = "ok"  # more than 6 h left
    SOON = "soon"  # under 6 h
    URGENT = "urgent"  # under 2 h
    OVERDUE = "overdue"


@dataclass(frozen=True)
class RuleHit:
    """A part of a reply that breaks Amazon's messaging rules (offsets into the text)."""

    kind: str  # "link" | "email" | "emoji" | "marketing" | "phone" …
    start: int
    end: int
    message: str  # plain words for the seller
