"""A real SMTP server (aiosmtpd) on 127.0.0.1 that records what it receives, with faults.

``SmtpServer`` runs an aiosmtpd ``Controller`` in its thread.  Every accepted message is
kept in ``received`` (envelope sender, recipients, the parsed message and its bytes).
``fault`` makes it misbehave the way real servers do:

- ``Fault.AUTH``: every login is refused (535);
- ``Fault.RECIPIENT``: every RCPT TO is refused (550);
- ``Fault.STALL_DATA``: the message is recorded (the server has it all), then the answer
  to the end of DATA waits until ``release`` is set: the client times out after handing
  the message over;
- ``Fault.DROP_AFTER_DATA``: the message is recorded, then the connection is cut before
  the server answers.

Variants: ``Security.PLAIN`` (AUTH allowed without TLS, loopback only),
``Security.STARTTLS`` (STARTTLS required before AUTH/MAIL) and ``Security.TLS``
(implicit TLS), the last two with the session's test CA (``mail_ca``).

Fixtures (registered in ``tests/conftest.py``): ``smtp_server`` (plain, no fault) and
``smtp_servers`` (a factory: ``smtp_servers(Security.TLS, fault=Fault.AUTH)``).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from enum import StrEnum
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from app.mail.models import MailAccount, MailboxKind, Security
from tests.helpers.certs import TestCA
from tests.helpers.dovecot import HOST, free_port

USER = "seller@example.com"
PASSWORD = "smtp-test-password"


class Fault(StrEnum):
    NONE = "none"
    AUTH = "auth"
    RECIPIENT = "recipient"
    STALL_DATA = "stall_data"
    DROP_AFTER_DATA = "drop_after_data"


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes


@dataclass
class SmtpServer:
    security: Security = Security.PLAIN
    fault: Fault = Fault.NONE
    ca: TestCA | None = None
    user: str = USER
    password: str = PASSWORD
    host: str = HOST
    port: int = 0
    received: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Event = field(default_factory=threading.Event)  # a message recorded
    _controller: Any = None

    # --- aiosmtpd hooks ------------------------------------------------------------

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode()
        self.logins.append(login)
        ok = (
            self.fault is not Fault.AUTH
            and login == self.user
            and auth_data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.fault is Fault.RECIPIENT:
            return "550 5.1.1 Recipient address rejected"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content or b"")
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        self.received.append(
            Received(
                mail_from=str(envelope.mail_from),
                rcpt_tos=tuple(envelope.rcpt_tos),
                message=message,
                raw=raw,
            )
        )
        self.arrived.set()
        if self.fault is Fault.STALL_DATA:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, self.release.wait, 60)
        if self.fault is Fault.DROP_AFTER_DATA:
            server.transport.abort()
        return "250 2.0.0 OK: queued"

    # --- life ----------------------------------------------------------------------

    def start(self) -> SmtpServer:
        self.port = self.port or free_port()
        kwargs: dict[str, Any] = {
            "authenticator": self._authenticate,
            # implicit TLS is TLS too (aiosmtpd only counts STARTTLS for this check)
            "auth_require_tls": self.security is Security.STARTTLS,
        }
        if self.security is not Security.PLAIN:
            assert self.ca is not None, "a TLS variant needs the test CA"
            if self.security is Security.STARTTLS:
                kwargs.update(tls_context=self.ca.server_context(), require_starttls=True)
            else:
                kwargs.update(ssl_context=self.ca.server_context())
        self._controller = Controller(self, hostname=self.host, port=self.port, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        self.release.set()  # a stalled DATA answers, so the loop can end
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def account(self, **overrides: Any) -> MailAccount:
        """A Maildir account whose SMTP side is this server (the IMAP side is unused)."""
        values: dict[str, Any] = {
            "store_id": 1,
            "kind": MailboxKind.MAILDIR,
            "from_address": USER,
            "maildir_path": "/nonexistent",
            "smtp_host": self.host,
            "smtp_port": self.port,
            "smtp_security": self.security,
            "smtp_user": self.user,
        }
        values.update(overrides)
        return MailAccount(**values)


@contextlib.contextmanager
def silent_listener() -> Iterator[int]:
    """A port that accepts connections (the kernel does) and never says a word: a client
    times out waiting for the greeting, before anything was handed over."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        s.listen(8)
        yield int(s.getsockname()[1])


@pytest.fixture
def smtp_servers(request: pytest.FixtureRequest) -> Iterator[Callable[..., SmtpServer]]:
    """Start SMTP servers for this test: ``smtp_servers(security, fault=...)``."""
    started: list[SmtpServer] = []

    def start(security: Security = Security.PLAIN, *, fault: Fault = Fault.NONE) -> SmtpServer:
        ca = request.getfixturevalue("mail_ca") if security is not Security.PLAIN else None
        server = SmtpServer(security=security, fault=fault, ca=ca).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def smtp_server(smtp_servers: Callable[..., SmtpServer]) -> SmtpServer:
    return smtp_servers()
