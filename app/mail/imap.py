"""One IMAP mailbox read through imapclient (by UID, with UIDVALIDITY handling).

The connection opens on first use and again after it was lost, so one
:class:`ImapSource` can live as long as a polling job.  TLS is verified (the default
context checks the chain and the host name unless the caller passes its own context);
``Security.PLAIN`` is refused unless the host is loopback.  Messages are read with
``BODY.PEEK[]``, so nothing is marked read on the seller's server.

Nothing is logged here: the errors' ``detail`` (phase and exception type, never a
server's text, an address or a password) is what the caller may log.
"""

from __future__ import annotations

import contextlib
import imaplib
import ssl
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, NoReturn, Self, TypeVar

from imapclient import IMAPClient
from imapclient import exceptions as imap_errors

from app.mail.models import FetchBatch, FolderState, MailAccount, RawMessage, Security
from app.mail.transport import (
    MailAuthFailed,
    MailboxMissing,
    MailCertificateRejected,
    MailError,
    MailServerError,
    MailUnreachable,
    detail,
    require_safe,
)

T = TypeVar("T")

# Folder names mail programs use for sent mail when the server sets no \Sent flag
# (compared case-insensitively, with any "INBOX." / "INBOX/" prefix removed).
SENT_NAMES = (
    "sent",
    "sent items",
    "sent messages",
    "sent mail",
    "[gmail]/sent mail",
    "gesendet",
    "gesendete elemente",
    "gesendete objekte",
    "envoyés",
    "éléments envoyés",
    "enviados",
    "elementos enviados",
    "inviata",
    "posta inviata",
    "gönderilenler",
    "送信済み",
)
FETCH_CHUNK = 50  # UIDs per FETCH command (bounds one response's size)
IDLE_TICK = 1.0  # seconds between looks at the stop event while idling
IDLE_CHANGES = (b"EXISTS", b"RECENT", b"EXPUNGE")


class ImapSource:
    """One IMAP account's mailbox (see :class:`app.mail.transport.MailSource`)."""

    def __init__(
        self,
        account: MailAccount,
        password: str,
        *,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not account.imap_host or account.imap_security is None:
            raise MailServerError(
                "This store's mailbox has no IMAP server set. Add it in the store's mailbox "
                "settings.",
                detail="imap host or security missing",
            )
        require_safe(account.imap_host, account.imap_security)
        self.account = account
        self._password = password
        self._timeout = timeout
        self._ssl_context = ssl_context
        self._client: Any = None
        # UIDNEXT seen by the last fetch_new per folder, so idle_wait notices mail that
        # arrived between that fetch and the start of IDLE.
        self._next_uid: dict[str, tuple[int, int]] = {}

    # --- the connection ------------------------------------------------------------

    def _host(self) -> str:
        assert self.account.imap_host is not None
        return self.account.imap_host

    def _port(self) -> int:
        if self.account.imap_port:
            return self.account.imap_port
        return 993 if self.account.imap_security is Security.TLS else 143

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()

    def _connect(self) -> Any:
        security = self.account.imap_security
        try:
            client = IMAPClient(
                self._host(),
                port=self._port(),
                ssl=security is Security.TLS,
                ssl_context=self._context() if security is Security.TLS else None,
                timeout=self._timeout,
            )
        except Exception as exc:  # classified below
            _raise_connect(exc, "imap connect")
        try:
            client.normalise_times = False  # INTERNALDATE as an aware datetime
            if security is Security.STARTTLS:
                try:
                    client.starttls(self._context())
                except Exception as exc:  # classified below
                    _raise_connect(exc, "imap starttls")
            try:
                client.login(self.account.imap_user or "", self._password)
            except imap_errors.LoginError as exc:
                raise MailAuthFailed(detail=detail("imap login", exc)) from None
        except BaseException:
            _quietly(client.shutdown)
            raise
        return client

    def _run(self, phase: str, fn: Callable[[Any], T]) -> T:
        """Run ``fn(client)`` on a live connection; map library errors to MailErrors.
        A lost connection is dropped, so the next call connects again."""
        if self._client is None:
            self._client = self._connect()
        client = self._client
        try:
            return fn(client)
        except MailError:
            raise
        except (
            imaplib.IMAP4.abort,
            OSError,
            EOFError,
        ) as exc:  # the connection broke (abort = IMAPClientAbortError's base)
            self._drop()
            raise MailUnreachable(
                "The connection to the mail server was lost. Nothing was changed; "
                "Müttefik Desk reads the same messages again on the next check.",
                detail=detail(phase, exc),
            ) from None
        except imaplib.IMAP4.error as exc:  # a NO/BAD answer
            raise MailServerError(detail=detail(phase, exc)) from None

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            _quietly(client.shutdown)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:  # closing: the server may already be gone
            _quietly(client.shutdown)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- folders -------------------------------------------------------------------

    def folders(self) -> tuple[str, str | None]:
        """The inbox and the sent folder (configured, else flagged \\Sent, else a usual
        name; None when there is none)."""
        inbox = self.account.inbox_folder
        if self.account.sent_folder:
            return inbox, self.account.sent_folder
        listed = self._run("imap list", lambda c: c.list_folders())
        for flags, _delim, name in listed:
            if b"\\Sent" in flags:
                return inbox, str(name)
        by_name = {_plain_name(str(name)): str(name) for _f, _d, name in listed}
        for wanted in SENT_NAMES:
            if wanted in by_name:
                return inbox, by_name[wanted]
        return inbox, None

    def _select(self, client: Any, folder: str) -> dict[bytes, Any]:
        try:
            return dict(client.select_folder(folder, readonly=True))
        except imap_errors.IMAPClientAbortError:
            raise
        except imap_errors.IMAPClientError as exc:
            if not client.folder_exists(folder):
                raise MailboxMissing(detail=detail("imap select", exc)) from None
            raise

    # --- reading -------------------------------------------------------------------

    def fetch_new(self, folder: str, state: FolderState, *, limit: int = 200) -> FetchBatch:
        """Messages with a UID above ``state.last_uid``, oldest first, at most ``limit``.

        A UIDVALIDITY other than ``state.uidvalidity`` means the folder was rebuilt: all
        its messages come again (from UID 1) with the new value, and the caller
        recognises the ones it has by Message-ID.
        """

        def do(client: Any) -> FetchBatch:
            info = self._select(client, folder)
            validity = _int(info.get(b"UIDVALIDITY"))
            since = state.last_uid if validity == state.uidvalidity else 0
            uids = sorted(u for u in client.search(["UID", f"{since + 1}:*"]) if u > since)
            wanted, more = uids[:limit], len(uids) > limit
            messages: list[RawMessage] = []
            for start in range(0, len(wanted), FETCH_CHUNK):
                chunk = wanted[start : start + FETCH_CHUNK]
                got = client.fetch(chunk, [b"BODY.PEEK[]", b"INTERNALDATE"])
                for uid in chunk:
                    data = got.get(uid)
                    if data is None or b"BODY[]" not in data:
                        continue  # expunged between SEARCH and FETCH
                    messages.append(
                        RawMessage(
                            key=str(uid),
                            raw=bytes(data[b"BODY[]"]),
                            uid=uid,
                            received=_aware(data.get(b"INTERNALDATE")),
                        )
                    )
            top = max(wanted, default=since) + 1
            self._next_uid[folder] = (validity or 0, max(top, _int(info.get(b"UIDNEXT")) or 0))
            return FetchBatch(uidvalidity=validity, messages=messages, more=more)

        return self._run("imap fetch", do)

    def fetch_raw(self, folder: str, key: str) -> bytes | None:
        """One message again (for its attachments); None when it is no longer there."""
        try:
            uid = int(key)
        except ValueError:
            return None

        def do(client: Any) -> bytes | None:
            self._select(client, folder)
            got = client.fetch([uid], [b"BODY.PEEK[]"])
            data = got.get(uid)
            if data is None or b"BODY[]" not in data:
                return None
            return bytes(data[b"BODY[]"])

        return self._run("imap fetch one", do)

    def find_message_id(self, folder: str, message_id: str) -> bool:
        """Whether a message with this Message-ID is in ``folder`` (a reply sent before
        the connection dropped shows up in Sent)."""
        needle = message_id.strip()
        if not needle:
            return False

        def do(client: Any) -> bool:
            self._select(client, folder)
            return bool(client.search(["HEADER", "Message-ID", needle]))

        return self._run("imap search", do)

    def append(self, folder: str, raw: bytes, *, seen: bool = True) -> None:
        """Store ``raw`` in ``folder`` (a sent reply into Sent)."""

        def do(client: Any) -> None:
            try:
                client.append(folder, raw, flags=(b"\\Seen",) if seen else ())
            except imap_errors.IMAPClientAbortError:
                raise
            except imap_errors.IMAPClientError as exc:
                if not client.folder_exists(folder):
                    raise MailboxMissing(detail=detail("imap append", exc)) from None
                raise

        self._run("imap append", do)

    # --- waiting for mail ----------------------------------------------------------

    def supports_idle(self) -> bool:
        return bool(self._run("imap capability", lambda c: c.has_capability("IDLE")))

    def idle_wait(
        self,
        folder: str,
        timeout: float,
        stop: threading.Event,
        *,
        ready: threading.Event | None = None,
    ) -> bool:
        """Wait up to ``timeout`` s for the server to report a change in ``folder``.

        True: something changed (new mail, or mail that arrived since the last
        :meth:`fetch_new` of this folder).  False: the time ran out, ``stop`` was set
        (noticed within about a second), or the server has no IDLE (at once).  ``ready``
        is set once the server is idling (tests append only then).
        """

        def do(client: Any) -> bool:
            if not client.has_capability("IDLE"):
                return False
            info = self._select(client, folder)
            seen = self._next_uid.get(folder)
            now = (_int(info.get(b"UIDVALIDITY")) or 0, _int(info.get(b"UIDNEXT")) or 0)
            if seen is not None and (now[0] != seen[0] or now[1] > seen[1]):
                return True
            client.idle()
            if ready is not None:
                ready.set()
            changed = _idle_loop(client, timeout, stop)
            _, responses = client.idle_done()  # raises if the connection is gone
            return changed or _has_change(responses)

        return self._run("imap idle", do)


def _idle_loop(client: Any, timeout: float, stop: threading.Event) -> bool:
    deadline = time.monotonic() + timeout
    while not stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        wait = min(IDLE_TICK, left)
        started = time.monotonic()
        responses = client.idle_check(timeout=wait)
        if _has_change(responses):
            return True
        if not responses and time.monotonic() - started < wait / 2:
            # Readable with nothing parsed: the server closed the connection (or sent
            # half a line). End IDLE: idle_done raises if the connection is gone.
            return False
    return False


def _has_change(responses: Any) -> bool:
    for item in responses or ():
        if isinstance(item, tuple) and len(item) >= 2 and item[1] in IDLE_CHANGES:
            return True
    return False


def _raise_connect(exc: BaseException, phase: str) -> NoReturn:
    if isinstance(exc, ssl.SSLCertVerificationError):
        raise MailCertificateRejected(detail=detail(phase, exc)) from None
    if isinstance(exc, (OSError, imaplib.IMAP4.abort, EOFError)):
        raise MailUnreachable(detail=detail(phase, exc)) from None
    if isinstance(exc, imaplib.IMAP4.error):  # e.g. STARTTLS not offered
        raise MailUnreachable(
            "The mail server does not offer an encrypted connection (STARTTLS) on this "
            "port. Choose TLS, or the port your provider names for STARTTLS.",
            detail=detail(phase, exc),
        ) from None
    raise exc


def _quietly(fn: Callable[[], object]) -> None:
    """Cleanup after an error that is already being raised (or a server already gone)."""
    with contextlib.suppress(Exception):
        fn()


def _int(value: object) -> int | None:
    if isinstance(value, int):
        return value
    try:
        return int(value) if isinstance(value, (bytes, str)) else None
    except ValueError:
        return None


def _aware(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    # imapclient's own FixedOffset → a plain UTC datetime
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _plain_name(name: str) -> str:
    lowered = name.lower()
    for prefix in ("inbox.", "inbox/"):
        if lowered.startswith(prefix):
            return lowered[len(prefix) :]
    return lowered
