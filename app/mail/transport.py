"""What every mailbox source offers, and the errors the mail transports raise.

Sources: :class:`app.mail.imap.ImapSource` and :class:`app.mail.maildir.MaildirSource`
(both :class:`MailSource`); sending: :func:`app.mail.smtp.send`.  They hold no DB and
know no operators: the mail service stores what they return.

Every error is a :class:`~app.errors.UserError` in the seller's words with a ``kind``
the service can switch on (keep a draft, retry later, ask for a new password).  No
message or ``detail`` carries a password, a buyer address or message text: ``detail``
names the phase and the exception type only.
"""

from __future__ import annotations

import ipaddress
import ssl
import threading
from types import TracebackType
from typing import Protocol, Self

from app.errors import UserError
from app.mail.models import (
    FetchBatch,
    FolderState,
    MailAccount,
    MailboxKind,
    MailPasswords,
    Security,
)


class MailError(UserError):
    """Base of the mail transports' errors."""

    kind = "server"
    title = "Mail problem"


class MailAuthFailed(MailError):
    kind = "auth"
    title = "Mail sign-in refused"
    message = (
        "The mail server did not accept the user name and password. Check them in the "
        "store's mailbox settings (some providers need an app password), then try again."
    )


class MailUnreachable(MailError):
    """DNS, refused connection, TLS failure or a timeout (for SMTP: before the message
    was handed over, so it was certainly not sent)."""

    kind = "unreachable"
    title = "Mail server not reachable"
    message = (
        "Müttefik Desk could not reach the mail server. Check the internet connection and "
        "the server name and port in the store's mailbox settings, then try again."
    )


class MailCertificateRejected(MailUnreachable):
    """The server's TLS certificate did not verify (untrusted, expired, wrong name)."""

    title = "Mail server certificate not trusted"
    message = (
        "The mail server's security certificate could not be verified, so Müttefik Desk "
        "did not connect: someone could be listening in. Check the server name in the "
        "store's mailbox settings; if it is right, ask your mail provider."
    )


class InsecureConnectionRefused(MailError):
    kind = "insecure"
    title = "Unencrypted mail connection refused"
    message = (
        "Müttefik Desk only connects to a mail server without encryption when the server "
        "runs on this computer. Choose TLS or STARTTLS in the store's mailbox settings."
    )


class MailboxMissing(MailError):
    kind = "mailbox"
    title = "Mail folder not found"
    message = (
        "A mail folder Müttefik Desk reads was not found on the server (it may have been "
        "renamed or deleted). Check the folder names in the store's mailbox settings."
    )


class MailServerError(MailError):
    kind = "server"
    title = "Mail server error"
    message = (
        "The mail server answered with an error. Try again in a few minutes; if it keeps "
        "happening, check the store's mailbox settings or ask your mail provider."
    )


class RecipientRefused(MailError):
    kind = "recipient"
    title = "Recipient refused"
    message = (
        "The mail server refused the buyer's address, so the reply was not sent. It is "
        "kept as a draft. The conversation may be too old for Amazon to relay it."
    )


class SendUncertain(MailError):
    """The whole message reached the server, then the connection ended or timed out
    before the server confirmed: it may have been accepted (look in Sent before a retry)."""

    kind = "uncertain"
    title = "Reply may have been sent"
    message = (
        "The connection to the mail server ended right after the reply was handed over, "
        "so it may have been sent. Müttefik Desk checks your Sent folder before sending it "
        "again, so the buyer does not get it twice."
    )


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1 (no DNS lookup: a name is not resolved)."""
    name = host.strip().strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def require_safe(host: str, security: Security) -> None:
    """Raise :class:`InsecureConnectionRefused` for PLAIN to a host that is not loopback."""
    if security is Security.PLAIN and not is_loopback(host):
        raise InsecureConnectionRefused(detail="plain connection to a non-loopback host")


def detail(phase: str, exc: BaseException) -> str:
    """The log/"Details" text of an error: the phase and the exception's type, no text
    (a server's text may echo addresses)."""
    return f"{phase}: {type(exc).__name__}"


class MailSource(Protocol):
    """One mailbox read by a fetch (IMAP or Maildir)."""

    def folders(self) -> tuple[str, str | None]: ...

    def fetch_new(self, folder: str, state: FolderState, *, limit: int = 200) -> FetchBatch: ...

    def fetch_raw(self, folder: str, key: str) -> bytes | None: ...

    def find_message_id(self, folder: str, message_id: str) -> bool: ...

    def append(self, folder: str, raw: bytes, *, seen: bool = True) -> None: ...

    def idle_wait(
        self,
        folder: str,
        timeout: float,
        stop: threading.Event,
        *,
        ready: threading.Event | None = None,
    ) -> bool: ...

    def supports_idle(self) -> bool: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def bare_message_id(message_id: str) -> str:
    """A Message-ID without surrounding whitespace and angle brackets."""
    return message_id.strip().removeprefix("<").removesuffix(">").strip()


def open_source(
    account: MailAccount,
    passwords: MailPasswords,
    *,
    ssl_context: ssl.SSLContext | None = None,
    timeout: float = 30.0,
) -> MailSource:
    """The source for ``account`` (an ``ImapSource`` or a ``MaildirSource``); IMAP
    connects on first use.  imapclient is imported here, so it stays off startup."""
    if account.kind is MailboxKind.MAILDIR:
        from app.mail.maildir import MaildirSource

        return MaildirSource(account)
    from app.mail.imap import ImapSource

    if passwords.imap is None:
        raise MailAuthFailed(
            "No password is saved for this store's mailbox. Enter it in the store's mailbox "
            "settings.",
            detail="imap password missing",
        )
    return ImapSource(account, passwords.imap, timeout=timeout, ssl_context=ssl_context)
