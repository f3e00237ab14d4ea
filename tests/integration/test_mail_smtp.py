"""app.mail.smtp.send against a real SMTP server (aiosmtpd, tests/helpers/smtp_server.py):
a good send with the right headers, and each error kind from the phase it happened in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest

from app.mail.models import MailAccount, Security
from app.mail.smtp import build_reply, send
from app.mail.transport import (
    InsecureConnectionRefused,
    MailAuthFailed,
    MailCertificateRejected,
    MailUnreachable,
    RecipientRefused,
    SendUncertain,
)
from tests.helpers.certs import TestCA
from tests.helpers.dovecot import free_port
from tests.helpers.emails import relay_alias
from tests.helpers.smtp_server import PASSWORD, Fault, SmtpServer, silent_listener

pytestmark = pytest.mark.integration

Servers = Callable[..., SmtpServer]
ALIAS = relay_alias()
WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _reply(account: MailAccount, **overrides: Any) -> EmailMessage:
    values: dict[str, Any] = {
        "account": account,
        "to": ALIAS,
        "subject": "Inquiry from Amazon customer Cherri (Order: 111-3958185-1645065)",
        "body": "Grüße! Your parcel left our warehouse today.\n.\nA line with a dot.",
        "in_reply_to": "buyer-1@marketplace.amazon.com",
        "references": ["buyer-0@marketplace.amazon.com", "buyer-1@marketplace.amazon.com"],
        "message_id": "reply-1@example.com",
        "date": WHEN,
    }
    values.update(overrides)
    return build_reply(**values)


@pytest.mark.parametrize("security", [Security.PLAIN, Security.STARTTLS, Security.TLS])
def test_a_good_send_arrives_threaded_from_the_store_address(
    smtp_servers: Servers, mail_ca: TestCA, security: Security
) -> None:
    server = smtp_servers(security)
    account = server.account()
    message = _reply(account)

    send(account, PASSWORD, message, ssl_context=mail_ca.client_context())

    assert len(server.received) == 1
    got = server.received[0]
    assert got.mail_from == account.from_address
    assert got.rcpt_tos == (ALIAS,)
    assert server.logins == [server.user]
    assert got.message["From"] == account.from_address
    assert got.message["To"] == ALIAS
    assert got.message["Subject"] == (
        "Re: Inquiry from Amazon customer Cherri (Order: 111-3958185-1645065)"
    )
    assert got.message["Message-ID"] == "<reply-1@example.com>"
    assert got.message["In-Reply-To"] == "<buyer-1@marketplace.amazon.com>"
    assert got.message["References"] == (
        "<buyer-0@marketplace.amazon.com> <buyer-1@marketplace.amazon.com>"
    )
    assert got.message.get_content_type() == "text/plain"
    assert got.message.get_content_charset() == "utf-8"
    body = got.message.get_content()
    assert body.replace("\r\n", "\n").rstrip("\n") == (
        "Grüße! Your parcel left our warehouse today.\n.\nA line with a dot."
    )


def test_from_is_always_the_store_address(smtp_server: SmtpServer) -> None:
    account = smtp_server.account()
    message = _reply(account)
    message.replace_header("From", "someone-else@example.org")

    send(account, PASSWORD, message)

    got = smtp_server.received[0]
    assert got.mail_from == account.from_address
    assert got.message.get_all("From") == [account.from_address]


def test_refused_login_is_auth_failed(smtp_servers: Servers) -> None:
    server = smtp_servers(fault=Fault.AUTH)
    with pytest.raises(MailAuthFailed) as caught:
        send(server.account(), PASSWORD, _reply(server.account()))
    assert caught.value.kind == "auth"
    assert PASSWORD not in caught.value.message and PASSWORD not in (caught.value.detail or "")
    assert server.received == []


def test_refused_recipient_is_recipient_refused(smtp_servers: Servers) -> None:
    server = smtp_servers(fault=Fault.RECIPIENT)
    with pytest.raises(RecipientRefused) as caught:
        send(server.account(), PASSWORD, _reply(server.account()))
    assert caught.value.kind == "recipient"
    assert ALIAS not in caught.value.message
    assert server.received == []


def test_an_answer_to_data_that_never_comes_is_uncertain_and_the_server_did_get_it(
    smtp_servers: Servers,
) -> None:
    server = smtp_servers(fault=Fault.STALL_DATA)
    with pytest.raises(SendUncertain) as caught:
        send(server.account(), PASSWORD, _reply(server.account()), timeout=1.0)
    assert caught.value.kind == "uncertain"
    # ... and rightly so: the server had the whole message when the client gave up
    assert [r.message["Message-ID"] for r in server.received] == ["<reply-1@example.com>"]


def test_a_connection_cut_after_data_is_uncertain(smtp_servers: Servers) -> None:
    server = smtp_servers(fault=Fault.DROP_AFTER_DATA)
    with pytest.raises(SendUncertain):
        send(server.account(), PASSWORD, _reply(server.account()))
    assert len(server.received) == 1


def test_nothing_listening_is_unreachable(smtp_server: SmtpServer) -> None:
    account = smtp_server.account(smtp_port=free_port())
    with pytest.raises(MailUnreachable) as caught:
        send(account, PASSWORD, _reply(account))
    assert type(caught.value) is MailUnreachable
    assert caught.value.kind == "unreachable"


def test_a_server_that_never_greets_times_out_as_unreachable(smtp_server: SmtpServer) -> None:
    with silent_listener() as port:
        account = smtp_server.account(smtp_port=port)
        with pytest.raises(MailUnreachable) as caught:
            send(account, PASSWORD, _reply(account), timeout=0.5)
    assert type(caught.value) is MailUnreachable  # before the hand-over: certainly not sent


def test_an_unknown_host_is_unreachable(smtp_server: SmtpServer) -> None:
    account = smtp_server.account(smtp_host="smtp.invalid", smtp_security=Security.TLS)
    with pytest.raises(MailUnreachable):
        send(account, PASSWORD, _reply(account), timeout=5)


@pytest.mark.parametrize("security", [Security.STARTTLS, Security.TLS])
def test_an_untrusted_certificate_is_refused_before_login(
    smtp_servers: Servers, security: Security
) -> None:
    server = smtp_servers(security)
    with pytest.raises(MailCertificateRejected):
        send(server.account(), PASSWORD, _reply(server.account()))
    assert server.logins == [] and server.received == []


def test_plain_is_refused_to_a_host_that_is_not_loopback(smtp_server: SmtpServer) -> None:
    account = replace(smtp_server.account(), smtp_host="smtp.example.com")
    with pytest.raises(InsecureConnectionRefused):
        send(account, PASSWORD, _reply(account))
    assert smtp_server.received == []


def test_starttls_required_but_not_offered_is_unreachable(smtp_server: SmtpServer) -> None:
    account = smtp_server.account(smtp_security=Security.STARTTLS)  # a plain-only server
    with pytest.raises(MailUnreachable) as caught:
        send(account, PASSWORD, _reply(account))
    assert "STARTTLS" in caught.value.message
    assert smtp_server.logins == [] and smtp_server.received == []
