"""The transports' shared rules: what counts as loopback, PLAIN refused elsewhere."""

from __future__ import annotations

import pytest

from app.mail.models import MailAccount, MailboxKind, MailPasswords, Security
from app.mail.transport import (
    InsecureConnectionRefused,
    MailAuthFailed,
    bare_message_id,
    is_loopback,
    open_source,
    require_safe,
)


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1", "[::1]", "a.localhost"]
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host", ["imap.example.com", "10.0.0.1", "192.168.1.2", "localhost.example.com", "", "::2"]
)
def test_hosts_that_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_plain_only_to_loopback() -> None:
    require_safe("127.0.0.1", Security.PLAIN)
    require_safe("imap.example.com", Security.TLS)
    require_safe("imap.example.com", Security.STARTTLS)
    with pytest.raises(InsecureConnectionRefused) as caught:
        require_safe("imap.example.com", Security.PLAIN)
    assert caught.value.kind == "insecure"


def test_bare_message_id() -> None:
    assert bare_message_id(" <a@b> ") == "a@b"
    assert bare_message_id("a@b") == "a@b"


def test_an_imap_source_needs_a_password() -> None:
    account = MailAccount(
        store_id=1,
        kind=MailboxKind.IMAP,
        from_address="seller@example.com",
        imap_host="imap.example.com",
        imap_port=993,
        imap_security=Security.TLS,
        imap_user="seller",
    )
    with pytest.raises(MailAuthFailed):
        open_source(account, MailPasswords())
    open_source(account, MailPasswords(imap="pw")).close()  # connects on first use only
