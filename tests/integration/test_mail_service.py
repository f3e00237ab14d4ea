"""The mail door end to end: a real dovecot (IMAP) and a real aiosmtpd (SMTP), the real
parser, the vault.  Relay mail appears in threads tied to its order with the 24-hour
clock; replies reach the SMTP server threaded; a reply is never sent twice."""

from __future__ import annotations

import email
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app import access
from app.amazon import orders_repo
from app.auth.models import Actor
from app.auth.rbac import Role
from app.clock import SystemClock
from app.mail.inbox_service import InboxService, ThreadQuery
from app.mail.models import MailAccount, MailPasswords, Security, SendState, ThreadState
from app.mail.service import AttachmentGone, MailService, ReplyMaybeSent
from app.mail.transport import MailAuthFailed, SendUncertain
from app.notices import Notices, ThreadsChanged
from app.secrets import SecretStore
from app.vault import Vault
from tests.helpers.dovecot import ImapMailbox
from tests.helpers.emails import relay_alias, relay_email
from tests.helpers.inbox import PIXEL_PNG, add_store
from tests.helpers.operators import put_operator
from tests.helpers.orders import make
from tests.helpers.smtp_server import Fault, SmtpServer

pytestmark = pytest.mark.integration

ADMIN = Actor(id=1, username="admin", display_name="Admin", role=Role.ADMIN)
ORDER = "111-3958185-1645065"


class World:
    def __init__(self, vault: Vault, secrets: SecretStore, box: ImapMailbox, smtp: SmtpServer):
        self.vault, self.box, self.smtp = vault, box, smtp
        self.notices = Notices()
        clock = SystemClock()
        self.mail = MailService(vault=vault, secrets=secrets, clock=clock, notices=self.notices)
        self.inbox = InboxService(
            vault=vault, notices=self.notices, clock=clock, audit=self.mail.audit
        )
        put_operator(vault, ADMIN)
        self.store = add_store(vault)
        box.create_folder("Sent")
        self.account = self.account_with(smtp)
        self.mail.save_account(
            ADMIN, self.account, MailPasswords(imap=box.password, smtp=smtp.password)
        )

    def account_with(self, smtp: SmtpServer) -> MailAccount:
        return self.box.account(
            store_id=self.store,
            from_address="seller@example.com",
            smtp_host=smtp.host,
            smtp_port=smtp.port,
            smtp_security=Security.PLAIN,
            smtp_user=smtp.user,
        )

    def use_smtp(self, smtp: SmtpServer) -> None:
        self.smtp = smtp
        self.mail.save_account(
            ADMIN,
            self.account_with(smtp),
            MailPasswords(imap=self.box.password, smtp=smtp.password),
        )

    def fetch(self):  # type: ignore[no-untyped-def]
        return self.mail.fetch(access.SYSTEM, self.store, threading.Event())

    def rows(self):  # type: ignore[no-untyped-def]
        return self.inbox.read(ADMIN, lambda r: r.thread_rows(r.thread_ids(ThreadQuery()))).result()


@pytest.fixture
def world(
    vault: Vault, secrets: SecretStore, imap_mailbox: ImapMailbox, smtp_server: SmtpServer
) -> World:
    return World(vault, secrets, imap_mailbox, smtp_server)


def test_relay_mail_becomes_threads_tied_to_orders_with_the_clock(world: World) -> None:
    order = replace(make(1, store_id=world.store), order_id=ORDER)
    world.vault.call_write(
        lambda conn: orders_repo.upsert_orders(conn, [order], now=datetime.now(UTC))
    )
    sent_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=20)
    alias = relay_alias("buyer1")
    world.box.append(relay_email(order_id=ORDER, alias=alias, date=sent_at))
    world.box.append(relay_email(order_id=None, alias=relay_alias("presale"), text="Is it blue?"))
    news = (
        b"From: News <news@shop.example>\r\nTo: seller@example.com\r\nSubject: Sale\r\n\r\nHi\r\n"
    )
    world.box.append(news)
    changed: list[ThreadsChanged] = []
    world.notices.subscribe(ThreadsChanged, changed.append)

    counts = world.fetch()

    assert (counts.seen, counts.imported, counts.skipped, counts.flagged) == (3, 2, 1, 0)
    rows = {r.order_id: r for r in world.rows()}
    assert set(rows) == {ORDER, None}
    thread = rows[ORDER]
    assert thread.alias == alias.lower() and thread.state is ThreadState.NEEDS_REPLY
    assert thread.due_at == sent_at + timedelta(hours=24)  # 4 h left on Amazon's clock
    assert sum(n.new_messages for n in changed) == 2
    assert world.box.unseen() == [1, 2, 3]  # fetching marks nothing read on the server

    # New mail between fetches: only it is fetched; nothing is stored twice.
    world.box.append(relay_email(order_id=ORDER, alias=alias, text="Any news?"))
    again = world.fetch()
    assert (again.seen, again.imported) == (1, 1)
    assert world.fetch().seen == 0
    assert {r.order_id: r.message_count for r in world.rows()}[ORDER] == 2


def test_a_reply_reaches_smtp_threaded_and_answers_the_thread(world: World) -> None:
    alias = relay_alias("buyer2")
    world.box.append(relay_email(order_id=ORDER, alias=alias, message_id="buyer-msg-1@amazon.com"))
    world.fetch()
    (thread,) = world.rows()

    result = world.mail.send_reply(ADMIN, thread.id, "Hello, it ships tomorrow.")

    (got,) = world.smtp.received
    assert got.rcpt_tos == (alias.lower(),) or got.rcpt_tos == (alias,)
    assert got.message["From"].addresses[0].addr_spec == "seller@example.com"
    assert got.message["In-Reply-To"] == "<buyer-msg-1@amazon.com>"
    assert "<buyer-msg-1@amazon.com>" in got.message["References"]
    assert got.message["Subject"].startswith("Re: ")
    assert got.message.get_content().strip() == "Hello, it ships tomorrow."
    (after,) = world.rows()
    assert after.state is ThreadState.REPLIED and after.due_at is None
    # The reply was put in Sent; fetching Sent recognises it instead of doubling it.
    with world.box.client() as c:
        c.select_folder("Sent", readonly=True)
        assert len(c.search(["ALL"])) == 1
    world.fetch()
    conversation = world.inbox.read(ADMIN, lambda r: r.conversation(thread.id)).result()
    outs = [m for m in conversation.messages if m.send_state is not None]
    assert len(outs) == 1 and outs[0].send_state is SendState.SENT
    assert result.already_sent is False


def test_a_send_refused_keeps_the_text_and_a_retry_sends_it_once(
    world: World, smtp_servers
) -> None:  # type: ignore[no-untyped-def]
    world.box.append(relay_email(order_id=ORDER, alias=relay_alias("buyer3")))
    world.fetch()
    (thread,) = world.rows()
    world.use_smtp(smtp_servers(fault=Fault.AUTH))

    with pytest.raises(MailAuthFailed):
        world.mail.send_reply(ADMIN, thread.id, "Sorry for the delay.")

    conversation = world.inbox.read(ADMIN, lambda r: r.conversation(thread.id)).result()
    assert conversation.draft == "Sorry for the delay."
    assert world.rows()[0].state in (ThreadState.NEEDS_REPLY, ThreadState.DRAFT)
    good = smtp_servers()
    world.use_smtp(good)
    world.mail.send_reply(ADMIN, thread.id, conversation.draft)
    assert len(good.received) == 1 and world.rows()[0].state is ThreadState.REPLIED


def test_a_send_cut_after_the_message_was_handed_over_is_never_sent_twice(
    world: World, smtp_servers
) -> None:  # type: ignore[no-untyped-def]
    world.box.append(relay_email(order_id=ORDER, alias=relay_alias("buyer4")))
    world.fetch()
    (thread,) = world.rows()
    dropping = smtp_servers(fault=Fault.DROP_AFTER_DATA)
    world.use_smtp(dropping)

    with pytest.raises(SendUncertain):
        world.mail.send_reply(ADMIN, thread.id, "Your refund is on its way.")
    assert len(dropping.received) == 1  # the server took it, then the line dropped

    # Not in Sent: the retry does not send again without the seller's say-so.
    with pytest.raises(ReplyMaybeSent):
        world.mail.send_reply(ADMIN, thread.id, "Your refund is on its way.")
    assert len(dropping.received) == 1

    # The provider stored its copy in Sent (as most do): the retry finds it, sends nothing.
    world.box.append(dropping.received[0].raw, "Sent", seen=True)
    result = world.mail.send_reply(ADMIN, thread.id, "Your refund is on its way.")
    assert result.already_sent and len(dropping.received) == 1
    assert world.rows()[0].state is ThreadState.REPLIED


def test_a_confirmed_resend_reuses_the_message_id(world: World, smtp_servers) -> None:  # type: ignore[no-untyped-def]
    world.box.append(relay_email(order_id=ORDER, alias=relay_alias("buyer5")))
    world.fetch()
    (thread,) = world.rows()
    dropping = smtp_servers(fault=Fault.DROP_AFTER_DATA)
    world.use_smtp(dropping)
    with pytest.raises(SendUncertain):
        world.mail.send_reply(ADMIN, thread.id, "Thanks!")
    good = smtp_servers()
    world.use_smtp(good)

    world.mail.send_reply(ADMIN, thread.id, "Thanks!", send_again=True)

    first = email.message_from_bytes(dropping.received[0].raw)["Message-ID"]
    assert good.received[0].message["Message-ID"] == first  # the same message, once more
    assert world.rows()[0].state is ThreadState.REPLIED


def test_a_reset_folder_stores_nothing_twice(world: World) -> None:
    alias = relay_alias("buyer6")
    world.box.create_folder("Amazon")
    raw = relay_email(order_id=ORDER, alias=alias)
    world.box.append(raw, "Amazon")
    world.mail.save_account(ADMIN, replace(world.account, inbox_folder="Amazon"), None)
    assert world.fetch().imported == 1
    world.box.reset_folder("Amazon")
    world.box.append(raw, "Amazon")
    world.box.append(relay_email(order_id=ORDER, alias=alias, text="Second"), "Amazon")

    counts = world.fetch()

    assert (counts.seen, counts.imported) == (2, 1)
    assert world.rows()[0].message_count == 2


def test_an_attachment_is_fetched_from_the_mailbox_on_demand(world: World) -> None:
    world.box.create_folder("Amazon")
    world.mail.save_account(ADMIN, replace(world.account, inbox_folder="Amazon"), None)
    photo = ("box.png", "image/png", PIXEL_PNG)
    world.box.append(
        relay_email(order_id=ORDER, alias=relay_alias("buyer7"), attachments=[photo]), "Amazon"
    )
    world.fetch()
    (thread,) = world.rows()
    conversation = world.inbox.read(ADMIN, lambda r: r.conversation(thread.id)).result()
    (message,) = conversation.messages
    assert [(a.filename, a.size) for a in message.attachments] == [("box.png", len(PIXEL_PNG))]

    meta, data = world.mail.attachment(ADMIN, message.rowid, 0)

    assert data == PIXEL_PNG and meta.content_type == "image/png"
    # The folder was reset: the same UID may now be another email; nothing is shown.
    world.box.reset_folder("Amazon")
    world.box.append(relay_email(order_id=ORDER, alias=relay_alias("other")), "Amazon")
    with pytest.raises(AttachmentGone):
        world.mail.attachment(ADMIN, message.rowid, 0)


def test_test_connection_signs_in_to_both_servers_and_sends_nothing(
    world: World, smtp_servers
) -> None:  # type: ignore[no-untyped-def]
    said = world.mail.test_account(ADMIN, world.account, None)
    assert "sign in to the outgoing server" in said and world.smtp.logins
    assert world.smtp.received == []
    refusing = smtp_servers(fault=Fault.AUTH)
    with pytest.raises(MailAuthFailed):
        world.mail.test_account(
            ADMIN,
            world.account_with(refusing),
            MailPasswords(imap=world.box.password, smtp=refusing.password),
        )
