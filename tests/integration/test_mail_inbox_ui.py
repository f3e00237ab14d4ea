"""The Inbox tab against real mail servers: relay mail fetched from dovecot appears in the
list; a reply typed in the conversation pane is refused by an aiosmtpd that rejects the
password (the text stays, the reason is shown, the reply says "Not sent" with Retry), and
after the seller fixes the mailbox, Retry delivers it threaded to a working server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox

from app.clock import FakeClock
from app.mail.models import MailPasswords, Security
from app.services import Core, Services, build_services
from tests.helpers.dovecot import ImapMailbox
from tests.helpers.emails import relay_alias, relay_email
from tests.helpers.inbox import add_store
from tests.helpers.operators import put_operator
from tests.helpers.orders import ADMIN
from tests.helpers.smtp_server import Fault, SmtpServer
from ui.events import QtEvents
from ui.views.inbox import InboxView

pytestmark = pytest.mark.integration

ORDER = "111-3958185-1645065"
SELLER = "seller@example.com"
REPLY = "We are sorry. A new kettle leaves our warehouse today."


@pytest.fixture(autouse=True)
def _ops_bridge(qapp: Any) -> None:
    from ui import ops

    ops.install()


@pytest.fixture
def services(core: Core) -> Services:
    return build_services(core)


@pytest.fixture
def events(services: Services) -> Iterator[QtEvents]:
    qt_events = QtEvents(services.core.notices)
    yield qt_events
    qt_events.close()


def _connect(services: Services, box: ImapMailbox, smtp: SmtpServer) -> None:
    admin = put_operator(services.core.vault, ADMIN)
    account = box.account(
        store_id=1,
        from_address=SELLER,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_security=Security.PLAIN,
        smtp_user=smtp.user,
    )
    services.mail.save_account(admin, account, MailPasswords(imap=box.password, smtp=smtp.password))


@pytest.mark.expect_log("muttefik.ui", "WARNING", "MailAuthFailed")
def test_reply_refused_keeps_the_text_then_retry_delivers_it_threaded(
    qtbot: Any,
    services: Services,
    events: QtEvents,
    clock: FakeClock,
    imap_mailbox: ImapMailbox,
    smtp_servers: Callable[..., SmtpServer],
) -> None:
    add_store(services.core.vault)
    imap_mailbox.create_folder("Sent")
    refusing = smtp_servers(Security.PLAIN, fault=Fault.AUTH)
    working = smtp_servers(Security.PLAIN)
    _connect(services, imap_mailbox, refusing)
    alias = relay_alias("kettle0buyer")
    imap_mailbox.append(
        relay_email(
            order_id=ORDER,
            alias=alias,
            text="The kettle arrived broken.",
            date=clock.now() - timedelta(hours=3),
            message_id="first-question@marketplace.amazon.com",
        )
    )
    admin = put_operator(services.core.vault, ADMIN)
    assert services.mail.fetch(admin, 1).imported == 1

    view = InboxView(services=services, actor=admin, qt_events=events)
    qtbot.addWidget(view)
    view.resize(1400, 700)
    view.show()
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=5000)
    pane = view.conversation
    with qtbot.waitSignal(pane.conversation_loaded, timeout=5000):
        view.select_row(0)

    pane.editor.setPlainText(REPLY)
    with qtbot.waitSignal(pane.send_failed, timeout=15000):
        pane.send_button.click()
    assert pane.editor.toPlainText() == REPLY
    boxes = [b for b in pane.findChildren(QMessageBox) if b.objectName() == "userErrorBox"]
    assert boxes and "did not accept the user name and password" in boxes[0].text()
    assert refusing.received == []
    qtbot.waitUntil(
        lambda: any(m.retry_button is not None for m in pane.message_views), timeout=5000
    )

    _connect(services, imap_mailbox, working)  # the seller fixed the mailbox settings
    retry = next(m.retry_button for m in pane.message_views if m.retry_button is not None)
    with qtbot.waitSignal(pane.reply_sent, timeout=15000):
        retry.click()
    assert len(working.received) == 1
    sent = working.received[0]
    assert sent.rcpt_tos == (alias,)
    assert sent.message["In-Reply-To"] == "<first-question@marketplace.amazon.com>"
    assert REPLY in sent.message.get_content()
    assert pane.editor.toPlainText() == ""
    qtbot.waitUntil(lambda: "Replied" in pane.meta_label.text(), timeout=5000)
    seller = [m for m in pane.message_views if m.objectName() == "sellerMessage"]
    assert len(seller) == 1 and seller[0].retry_button is None
