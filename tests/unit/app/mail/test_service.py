"""Mailbox settings as the service checks them (no network)."""

from __future__ import annotations

import mailbox
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.auth.models import Actor
from app.auth.rbac import Role
from app.mail.models import MailAccount, MailboxKind, Security
from app.mail.service import MailSettingsInvalid, NoOutgoingServer, validate_account
from app.services import Core, build_services
from tests.helpers.inbox import add_store, put_buyer_message
from tests.helpers.operators import put_operator

ADMIN = Actor(id=1, username="admin", display_name="Admin", role=Role.ADMIN)

IMAP = MailAccount(
    store_id=1,
    kind=MailboxKind.IMAP,
    from_address="orders@shop.example",
    imap_host="imap.shop.example",
    imap_port=993,
    imap_security=Security.TLS,
    imap_user="orders@shop.example",
    smtp_host="smtp.shop.example",
    smtp_port=587,
    smtp_security=Security.STARTTLS,
)


def test_a_good_account_comes_back_trimmed() -> None:
    clean = validate_account(replace(IMAP, imap_host="  imap.shop.example "))
    assert clean.imap_host == "imap.shop.example" and clean.inbox_folder == "INBOX"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"from_address": "not an address"}, "from_address"),
        ({"imap_host": ""}, "imap_host"),
        ({"imap_host": "imap shop"}, "imap_host"),
        ({"imap_port": 70000}, "imap_port"),
        ({"imap_port": "x"}, "imap_port"),
        ({"imap_security": None}, "imap_security"),
        # A plain string (as a combo box hands it back) is checked like the enum value.
        ({"imap_security": "plain"}, "imap_security"),
        ({"imap_security": Security.PLAIN}, "imap_security"),
        ({"smtp_security": "plain"}, "smtp_security"),
        ({"imap_user": ""}, "imap_user"),
        ({"smtp_host": None}, "smtp_host"),
        ({"imap_user": "a\x00b"}, "imap_user"),
    ],
)
def test_each_bad_field_is_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(MailSettingsInvalid) as caught:
        validate_account(replace(IMAP, **change))
    assert caught.value.field == field


def test_plain_is_allowed_to_this_computer_only() -> None:
    local = replace(IMAP, imap_host="127.0.0.1", imap_security="plain")  # type: ignore[arg-type]
    assert validate_account(local).imap_security is Security.PLAIN


def test_a_maildir_must_be_one(tmp_path: Path) -> None:
    account = MailAccount(
        store_id=1, kind=MailboxKind.MAILDIR, from_address="a@b.example", maildir_path=str(tmp_path)
    )
    with pytest.raises(MailSettingsInvalid) as caught:
        validate_account(account)
    assert caught.value.field == "maildir_path"
    mailbox.Maildir(tmp_path / "box", create=True)
    assert validate_account(replace(account, maildir_path=str(tmp_path / "box"))).maildir_path


def test_a_maildir_without_an_outgoing_server_sends_nothing(core: Core, tmp_path: Path) -> None:
    # Only the demo store "sends" into its own Sent folder; a seller's Maildir without
    # SMTP once did the same, and the reply never reached the buyer.
    put_operator(core.vault, ADMIN)
    add_store(core.vault)
    services = build_services(core)
    box = tmp_path / "box"
    mailbox.Maildir(box, create=True).add_folder("Sent")
    account = MailAccount(
        store_id=1, kind=MailboxKind.MAILDIR, from_address="a@b.example", maildir_path=str(box)
    )
    services.mail.save_account(ADMIN, account, None)
    now = core.clock.now()
    stored = put_buyer_message(
        core.vault, now=now, received=now, alias="buyer", order_id=None, text="Is it blue?"
    )
    with pytest.raises(NoOutgoingServer):
        services.mail.send_reply(ADMIN, stored.thread_id, "Yes, it is blue.")
    assert len(mailbox.Maildir(box).get_folder("Sent")) == 0  # no Sent copy made
    core.vault.call_write(lambda c: c.execute("UPDATE stores SET demo = 1 WHERE id = 1"))
    services.mail.send_reply(ADMIN, stored.thread_id, "Yes, it is blue.")  # the demo's way
    assert len(mailbox.Maildir(box).get_folder("Sent")) == 1
