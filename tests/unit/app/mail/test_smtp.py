"""build_reply and its parts (sending itself is tested on aiosmtpd in
tests/integration/test_mail_smtp.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.mail.models import MailAccount, MailboxKind, Security
from app.mail.smtp import build_reply, make_message_id, reply_subject, send
from app.mail.transport import InsecureConnectionRefused, MailServerError

ACCOUNT = MailAccount(
    store_id=1, kind=MailboxKind.MAILDIR, from_address="seller@acme-kitchen.example"
)


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("Inquiry from Amazon customer Cherri", "Re: Inquiry from Amazon customer Cherri"),
        ("Re: Inquiry", "Re: Inquiry"),
        ("RE:Inquiry", "Re: Inquiry"),
        ("Re: Re: Inquiry", "Re: Inquiry"),
        ("AW: Anfrage von Amazon-Kunde", "Re: Anfrage von Amazon-Kunde"),
        ("Re[2]: Inquiry", "Re: Inquiry"),
        ("  Folded\r\n  subject ", "Re: Folded subject"),
        ("Return request", "Re: Return request"),  # "Re" inside a word stays
        ("Résumé of my order", "Re: Résumé of my order"),
    ],
)
def test_reply_subject_adds_one_re(original: str, expected: str) -> None:
    assert reply_subject(original) == expected


def test_build_reply_threads_and_encodes() -> None:
    msg = build_reply(
        account=ACCOUNT,
        to="42cfsuosg0wp8i@marketplace.amazon.de",
        subject="Anfrage von Amazon-Kunde Jürgen (Bestellung: 302-1234567-1234567)",
        body="Guten Tag, Ihre Bestellung ist unterwegs. Grüße",
        in_reply_to="<b2@marketplace.amazon.de>",
        references=["b1@marketplace.amazon.de"],
        message_id="r1@acme-kitchen.example",
        date=datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
    )
    assert msg["From"] == "seller@acme-kitchen.example"
    assert msg["To"] == "42cfsuosg0wp8i@marketplace.amazon.de"
    assert msg["Subject"] == "Re: Anfrage von Amazon-Kunde Jürgen (Bestellung: 302-1234567-1234567)"
    assert msg["Message-ID"] == "<r1@acme-kitchen.example>"
    assert msg["In-Reply-To"] == "<b2@marketplace.amazon.de>"
    assert msg["References"] == "<b1@marketplace.amazon.de> <b2@marketplace.amazon.de>"
    assert msg["Date"] == "Sun, 29 Mar 2026 01:30:00 +0000"
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"
    assert msg.get_content().rstrip("\n") == "Guten Tag, Ihre Bestellung ist unterwegs. Grüße"
    assert "Grüße" not in bytes(msg).decode("ascii", "replace")  # transfer-encoded


def test_build_reply_does_not_repeat_the_parent_in_references() -> None:
    msg = build_reply(
        account=ACCOUNT,
        to="a@marketplace.amazon.com",
        subject="x",
        body="y",
        in_reply_to="p@m",
        references=["o@m", "<p@m>"],
        message_id=make_message_id(ACCOUNT.from_address),
        date=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert msg["References"] == "<o@m> <p@m>"


def test_build_reply_refuses_header_injection_through_the_address() -> None:
    with pytest.raises(ValueError):
        build_reply(
            account=ACCOUNT,
            to="a@marketplace.amazon.com\r\nBcc: x@evil.example",
            subject="x",
            body="y",
            in_reply_to=None,
            references=[],
            message_id="m@acme-kitchen.example",
            date=datetime(2026, 1, 1, tzinfo=UTC),
        )


def test_message_ids_are_new_each_time_on_the_sellers_domain() -> None:
    a, b = make_message_id(ACCOUNT.from_address), make_message_id(ACCOUNT.from_address)
    assert a != b
    assert a.endswith("@acme-kitchen.example") and not a.startswith("<")


def test_send_refuses_plain_off_loopback_and_an_account_without_smtp() -> None:
    msg = build_reply(
        account=ACCOUNT,
        to="a@marketplace.amazon.com",
        subject="x",
        body="y",
        in_reply_to=None,
        references=[],
        message_id="m@acme-kitchen.example",
        date=datetime(2026, 1, 1, tzinfo=UTC),
    )
    with pytest.raises(MailServerError):
        send(ACCOUNT, "pw", msg)
    plain = MailAccount(
        store_id=1,
        kind=MailboxKind.MAILDIR,
        from_address="seller@acme-kitchen.example",
        smtp_host="192.0.2.1",
        smtp_port=25,
        smtp_security=Security.PLAIN,
    )
    with pytest.raises(InsecureConnectionRefused):
        send(plain, "pw", msg)
