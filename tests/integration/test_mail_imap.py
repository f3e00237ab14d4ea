"""ImapSource against a real dovecot on loopback (tests/helpers/dovecot.py)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from email import message_from_bytes

import pytest

from app.mail.imap import ImapSource
from app.mail.models import (
    FolderState,
    MailAccount,
    MailboxKind,
    MailPasswords,
    RawMessage,
    Security,
)
from app.mail.transport import (
    InsecureConnectionRefused,
    MailAuthFailed,
    MailboxMissing,
    MailCertificateRejected,
    MailUnreachable,
    open_source,
)
from tests.helpers.certs import TestCA
from tests.helpers.dovecot import CuttingProxy, DovecotServer, ImapMailbox, free_port
from tests.helpers.emails import relay_email, seller_reply

pytestmark = pytest.mark.integration


def _ids(messages: list[RawMessage]) -> list[str]:
    return [str(message_from_bytes(m.raw)["Message-ID"]) for m in messages]


def test_import_of_several_messages_reads_all_in_uid_order_without_marking_them_read(
    imap_mailbox: ImapMailbox,
) -> None:
    uids = [imap_mailbox.append(relay_email(message_id=f"m{i}@relay")) for i in range(5)]

    with ImapSource(imap_mailbox.account(), imap_mailbox.password) as source:
        batch = source.fetch_new("INBOX", FolderState())

    assert batch.uidvalidity == imap_mailbox.uidvalidity()
    assert [m.uid for m in batch.messages] == uids
    assert [m.key for m in batch.messages] == [str(u) for u in uids]
    assert _ids(batch.messages) == [f"<m{i}@relay>" for i in range(5)]
    assert all(m.received is not None and m.received.tzinfo is not None for m in batch.messages)
    assert batch.more is False
    assert imap_mailbox.unseen() == uids  # BODY.PEEK: still unread for the seller


def test_limit_pages_the_import_and_says_more(imap_mailbox: ImapMailbox) -> None:
    uids = [imap_mailbox.append(relay_email()) for _ in range(5)]

    with ImapSource(imap_mailbox.account(), imap_mailbox.password) as source:
        first = source.fetch_new("INBOX", FolderState(), limit=3)
        state = FolderState(uidvalidity=first.uidvalidity, last_uid=first.messages[-1].uid or 0)
        second = source.fetch_new("INBOX", state, limit=3)

    assert [m.uid for m in first.messages] == uids[:3] and first.more
    assert [m.uid for m in second.messages] == uids[3:] and not second.more


def test_new_mail_arriving_between_fetches_is_the_only_thing_fetched_next(
    imap_mailbox: ImapMailbox,
) -> None:
    imap_mailbox.append(relay_email(message_id="old@relay"))
    with ImapSource(imap_mailbox.account(), imap_mailbox.password) as source:
        first = source.fetch_new("INBOX", FolderState())
        state = FolderState(uidvalidity=first.uidvalidity, last_uid=first.messages[-1].uid or 0)
        assert source.fetch_new("INBOX", state).messages == []  # nothing new yet

        imap_mailbox.append(relay_email(message_id="new@relay"))
        second = source.fetch_new("INBOX", state)

    assert _ids(second.messages) == ["<new@relay>"]
    assert second.uidvalidity == first.uidvalidity


def test_idle_wakes_when_a_message_arrives(imap_mailbox: ImapMailbox) -> None:
    with ImapSource(imap_mailbox.account(), imap_mailbox.password) as source:
        assert source.supports_idle()
        source.fetch_new("INBOX", FolderState())
        ready, stop = threading.Event(), threading.Event()
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(source.idle_wait, "INBOX", 60.0, stop, ready=ready)
            assert ready.wait(10), "the server never entered IDLE"
            imap_mailbox.append(relay_email())
            assert waiting.result(timeout=30) is True


def test_idle_returns_false_when_stopped(imap_mailbox: ImapMailbox) -> None:
    with ImapSource(imap_mailbox.account(), imap_mailbox.password) as source:
        source.fetch_new("INBOX", FolderState())
        ready, stop = threading.Event(), threading.Event()
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(source.idle_wait, "INBOX", 600.0, stop, ready=ready)
            assert ready.wait(10)
            stop.set()
            assert waiting.result(timeout=10) is False
        # the connection is still usable after IDLE ended
        assert source.fetch_new("INBOX", FolderState()).messages == []


def test_idle_reports_mail_that_arrived_after_the_last_fetch_but_before_idle(
    imap_mailbox: ImapMailbox,
) -> None:
    with ImapSource(imap_mailbox.account(), imap_mailbox.password) as source:
        source.fetch_new("INBOX", FolderState())
        imap_mailbox.append(relay_email())
        assert source.idle_wait("INBOX", 60.0, threading.Event()) is True


def test_uidvalidity_change_fetches_the_folder_again_from_uid_1(
    imap_mailbox: ImapMailbox,
) -> None:
    imap_mailbox.create_folder("Amazon")
    for i in range(3):
        imap_mailbox.append(relay_email(message_id=f"a{i}@relay"), "Amazon")
    account = imap_mailbox.account(inbox_folder="Amazon")
    with ImapSource(account, imap_mailbox.password) as source:
        first = source.fetch_new("Amazon", FolderState())
        state = FolderState(uidvalidity=first.uidvalidity, last_uid=first.messages[-1].uid or 0)

        new_validity = imap_mailbox.reset_folder("Amazon")  # e.g. the provider rebuilt it
        imap_mailbox.append(relay_email(message_id="a0@relay"), "Amazon")
        imap_mailbox.append(relay_email(message_id="b@relay"), "Amazon")
        again = source.fetch_new("Amazon", state)

    assert again.uidvalidity == new_validity != first.uidvalidity
    # UIDs restart below the old last_uid: all are returned; the caller dedups by Message-ID
    assert [m.uid for m in again.messages] == [1, 2]
    assert _ids(again.messages) == ["<a0@relay>", "<b@relay>"]


def test_server_going_away_mid_fetch_is_a_clear_error_and_the_next_fetch_gets_everything(
    imap_mailbox: ImapMailbox,
) -> None:
    for i in range(3):
        imap_mailbox.append(relay_email(message_id=f"m{i}@relay", text="x" * 50_000))
    proxy = CuttingProxy((imap_mailbox.server.host, imap_mailbox.server.port))
    try:
        account = imap_mailbox.account(imap_port=proxy.port)
        state = FolderState()
        with ImapSource(account, imap_mailbox.password) as source:
            with pytest.raises(MailUnreachable) as caught:
                source.fetch_new("INBOX", state)
            assert proxy.cut.is_set()  # it was cut inside the FETCH answer
            assert "connection to the mail server was lost" in caught.value.message
            assert caught.value.kind == "unreachable"
    finally:
        proxy.close()

    # The caller's state did not move: the same state fetches all three again.
    with ImapSource(imap_mailbox.account(), imap_mailbox.password) as source:
        batch = source.fetch_new("INBOX", state)
    assert _ids(batch.messages) == [f"<m{i}@relay>" for i in range(3)]


def test_a_stopped_server_is_unreachable_and_a_restarted_one_is_reconnected(
    own_dovecot: DovecotServer,
) -> None:
    mailbox = own_dovecot.new_user()
    mailbox.append(relay_email())
    with ImapSource(mailbox.account(), mailbox.password, timeout=5) as source:
        assert len(source.fetch_new("INBOX", FolderState()).messages) == 1
        own_dovecot.stop()
        with pytest.raises(MailUnreachable):
            source.fetch_new("INBOX", FolderState())
        with pytest.raises(MailUnreachable):  # connecting again: refused
            source.fetch_new("INBOX", FolderState())
        own_dovecot.start()
        assert len(source.fetch_new("INBOX", FolderState()).messages) == 1


def test_killed_server_is_unreachable(own_dovecot: DovecotServer) -> None:
    mailbox = own_dovecot.new_user()
    with ImapSource(mailbox.account(), mailbox.password, timeout=5) as source:
        source.fetch_new("INBOX", FolderState())
        own_dovecot.kill()
        with pytest.raises(MailUnreachable):
            source.fetch_new("INBOX", FolderState())


def test_wrong_password_is_auth_failed_without_the_password_in_the_message(
    own_dovecot: DovecotServer,
) -> None:
    mailbox = own_dovecot.new_user()  # a wrong password slows later logins: not shared
    wrong = "Wrong-Pass-123"
    with (
        ImapSource(mailbox.account(), wrong) as source,
        pytest.raises(MailAuthFailed) as caught,
    ):
        source.folders()
    assert caught.value.kind == "auth"
    assert wrong not in caught.value.message and wrong not in (caught.value.detail or "")


def test_nothing_listening_is_unreachable() -> None:
    account = MailAccount(
        store_id=1,
        kind=MailboxKind.IMAP,
        from_address="seller@example.com",
        imap_host="127.0.0.1",
        imap_port=free_port(),
        imap_security=Security.PLAIN,
        imap_user="u",
    )
    with ImapSource(account, "p", timeout=5) as source, pytest.raises(MailUnreachable):
        source.fetch_new("INBOX", FolderState())


def test_missing_folder_is_mailbox_missing(imap_mailbox: ImapMailbox) -> None:
    with ImapSource(imap_mailbox.account(), imap_mailbox.password) as source:
        with pytest.raises(MailboxMissing):
            source.fetch_new("Gone", FolderState())
        with pytest.raises(MailboxMissing):
            source.append("Gone", seller_reply())


def test_folders_finds_sent_by_its_special_use_flag(imap_mailbox: ImapMailbox) -> None:
    with ImapSource(imap_mailbox.account(), imap_mailbox.password) as source:
        assert source.folders() == ("INBOX", "Sent")
    configured = imap_mailbox.account(sent_folder="Outbox")
    with ImapSource(configured, imap_mailbox.password) as source:
        assert source.folders() == ("INBOX", "Outbox")


def test_append_a_reply_to_sent_then_find_it_by_message_id(imap_mailbox: ImapMailbox) -> None:
    with ImapSource(imap_mailbox.account(), imap_mailbox.password) as source:
        assert source.find_message_id("Sent", "<reply-1@acme-kitchen.example>") is False
        source.append("Sent", seller_reply(message_id="reply-1@acme-kitchen.example"))
        assert source.find_message_id("Sent", "<reply-1@acme-kitchen.example>") is True
        assert source.find_message_id("Sent", "reply-1@acme-kitchen.example") is True
        assert source.find_message_id("Sent", "<reply-2@acme-kitchen.example>") is False
        sent = source.fetch_new("Sent", FolderState())
    assert imap_mailbox.unseen("Sent") == []  # appended as \Seen
    assert len(sent.messages) == 1


def test_fetch_raw_returns_one_message_or_none_when_gone(imap_mailbox: ImapMailbox) -> None:
    raw = relay_email(attachments=[("photo.jpg", "image/jpeg", b"\xff\xd8jpeg")])
    uid = imap_mailbox.append(raw)
    with ImapSource(imap_mailbox.account(), imap_mailbox.password) as source:
        again = source.fetch_raw("INBOX", str(uid))
        assert again is not None and b"photo.jpg" in again
        assert source.fetch_raw("INBOX", str(uid + 100)) is None
        assert source.fetch_raw("INBOX", "not-a-uid") is None
    assert imap_mailbox.unseen() == [uid]


def test_open_source_gives_an_imap_source(imap_mailbox: ImapMailbox) -> None:
    source = open_source(imap_mailbox.account(), MailPasswords(imap=imap_mailbox.password))
    with source:
        assert isinstance(source, ImapSource)
        assert source.folders()[0] == "INBOX"


# --- TLS ---------------------------------------------------------------------------


@pytest.mark.parametrize("security", [Security.TLS, Security.STARTTLS])
def test_tls_with_a_trusted_certificate_works(
    imap_tls_mailbox: ImapMailbox, mail_ca: TestCA, security: Security
) -> None:
    imap_tls_mailbox.append(relay_email())
    context = mail_ca.client_context()
    with ImapSource(
        imap_tls_mailbox.account(security), imap_tls_mailbox.password, ssl_context=context
    ) as source:
        assert len(source.fetch_new("INBOX", FolderState()).messages) == 1


@pytest.mark.parametrize("security", [Security.TLS, Security.STARTTLS])
def test_tls_verification_refuses_an_untrusted_certificate(
    imap_tls_mailbox: ImapMailbox, security: Security
) -> None:
    # The default context trusts the system's CAs only, not the test CA.
    with (
        ImapSource(imap_tls_mailbox.account(security), imap_tls_mailbox.password) as source,
        pytest.raises(MailCertificateRejected) as caught,
    ):
        source.fetch_new("INBOX", FolderState())
    assert caught.value.kind == "unreachable"
    assert "certificate" in caught.value.message


def test_plain_is_refused_to_a_host_that_is_not_loopback(imap_mailbox: ImapMailbox) -> None:
    account = imap_mailbox.account(Security.PLAIN, imap_host="imap.example.com")
    with pytest.raises(InsecureConnectionRefused) as caught:
        ImapSource(account, imap_mailbox.password)
    assert caught.value.kind == "insecure"
    assert "without encryption" in caught.value.message


def test_server_going_away_during_idle_is_unreachable(own_dovecot: DovecotServer) -> None:
    mailbox = own_dovecot.new_user()
    with ImapSource(mailbox.account(), mailbox.password, timeout=5) as source:
        source.fetch_new("INBOX", FolderState())
        ready, stop = threading.Event(), threading.Event()
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(source.idle_wait, "INBOX", 60.0, stop, ready=ready)
            assert ready.wait(10)
            own_dovecot.kill()
            with pytest.raises(MailUnreachable):
                waiting.result(timeout=30)
