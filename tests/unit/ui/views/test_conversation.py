"""The conversation pane: messages, the rules warning with highlights, drafts saved and
restored, "no response needed", a send that fails keeping the text, attachments."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtWidgets import QLabel, QMessageBox, QPushButton

from app.clock import FakeClock
from app.mail import repo
from app.mail.inbox_service import ThreadQuery
from app.mail.models import SendState, ThreadState
from app.mail.rules import check_reply
from app.services import Core, Services, build_services
from app.vault import Vault
from tests.helpers.inbox import Seeded, add_store, seed_inbox
from tests.helpers.operators import put_operator
from tests.helpers.orders import ADMIN
from ui.events import QtEvents
from ui.views import conversation as conversation_view
from ui.views.conversation import ConversationPane

BAD_REPLY = "Thanks! See https://example.com/deal or write to me at shop@example.com"


@pytest.fixture
def services(core: Core) -> Services:
    return build_services(core)


@pytest.fixture
def events(services: Services) -> Iterator[QtEvents]:
    qt_events = QtEvents(services.core.notices)
    yield qt_events
    qt_events.close()


@pytest.fixture
def seeded(vault: Vault, clock: FakeClock) -> Seeded:
    add_store(vault)
    return seed_inbox(vault, clock.now())


def _pane(qtbot: Any, services: Services, thread_id: int) -> ConversationPane:
    actor = put_operator(services.core.vault, ADMIN)
    pane = ConversationPane(services=services, actor=actor, clock=services.core.clock)
    qtbot.addWidget(pane)
    pane.resize(700, 700)
    pane.show()
    with qtbot.waitSignal(pane.conversation_loaded, timeout=5000):
        pane.show_thread(thread_id)
    return pane


def _selected_texts(pane: ConversationPane) -> list[str]:
    return [s.cursor.selectedText() for s in pane.editor.extraSelections()]


def test_rules_warning_highlights_the_offending_text_and_fix_returns_to_it(
    qtbot: Any, services: Services, seeded: Seeded
) -> None:
    pane = _pane(qtbot, services, seeded.urgent)
    pane.editor.setPlainText(BAD_REPLY)
    hits = check_reply(BAD_REPLY)
    assert {h.kind for h in hits} >= {"link", "email"}
    with qtbot.waitSignal(pane.rules_warned, timeout=1000) as warned:
        pane.send_button.click()
    assert warned.args == [len(hits)]
    assert pane.rules_box.isVisibleTo(pane)
    assert _selected_texts(pane) == [BAD_REPLY[h.start : h.end] for h in hits]
    assert "shop@example.com" in pane.rules_text.text()
    pane.fix_button.click()
    assert not pane.rules_box.isVisibleTo(pane)
    assert pane.editor.textCursor().selectedText() == BAD_REPLY[hits[0].start : hits[0].end]
    assert pane.editor.toPlainText() == BAD_REPLY  # nothing lost, nothing sent
    # Fixing the text removes the highlights.
    pane.send_button.click()
    pane.editor.setPlainText("Thanks! Your parcel left our warehouse today.")
    assert not pane.rules_box.isVisibleTo(pane)
    assert pane.editor.extraSelections() == []


def test_emoji_offsets_highlight_the_emoji(qtbot: Any, services: Services, seeded: Seeded) -> None:
    """Python counts an emoji as one character, the editor as two (UTF-16)."""
    pane = _pane(qtbot, services, seeded.urgent)
    text = "Thank you 😀 and see https://example.com"
    pane.editor.setPlainText(text)
    pane.send_button.click()
    hits = check_reply(text)
    assert _selected_texts(pane) == [text[h.start : h.end] for h in hits]


def test_draft_saved_automatically_and_restored(
    qtbot: Any,
    services: Services,
    seeded: Seeded,
    events: QtEvents,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(conversation_view, "DRAFT_DEBOUNCE_MS", 50)
    pane = _pane(qtbot, services, seeded.soon)
    with qtbot.waitSignal(pane.draft_saved, timeout=3000) as saved:
        pane.editor.setPlainText("Of course, here is how to return it")
    assert saved.args == [seeded.soon]
    with qtbot.waitSignal(pane.conversation_loaded, timeout=5000):
        pane.show_thread(seeded.ok)
    assert pane.editor.toPlainText() == ""
    with qtbot.waitSignal(pane.conversation_loaded, timeout=5000):
        pane.show_thread(seeded.soon)
    assert pane.editor.toPlainText() == "Of course, here is how to return it"
    conversation = pane.conversation
    assert conversation is not None and conversation.thread.state == ThreadState.DRAFT


def test_switching_threads_saves_the_unsaved_draft_at_once(
    qtbot: Any, services: Services, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conversation_view, "DRAFT_DEBOUNCE_MS", 60_000)
    pane = _pane(qtbot, services, seeded.soon)
    pane.editor.setPlainText("Half a reply")
    with qtbot.waitSignal(pane.draft_saved, timeout=3000):
        pane.show_thread(seeded.ok)
    qtbot.waitUntil(lambda: pane.thread_id == seeded.ok and pane.conversation is not None)
    with qtbot.waitSignal(pane.conversation_loaded, timeout=5000):
        pane.show_thread(seeded.soon)
    assert pane.editor.toPlainText() == "Half a reply"


def test_no_response_needed_marks_and_opens_amazons_link(
    qtbot: Any, services: Services, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    monkeypatch.setattr(
        "ui.views.conversation.QDesktopServices.openUrl",
        lambda url: opened.append(url.toString()),
    )
    pane = _pane(qtbot, services, seeded.ok)
    with qtbot.waitSignal(pane.marked_no_response, timeout=3000):
        pane.no_response_button.click()
    assert len(opened) == 1 and "no-response-needed" in opened[0]
    qtbot.waitUntil(lambda: "No response needed" in pane.meta_label.text(), timeout=3000)
    assert pane.clock_label.text() == ""


@pytest.mark.expect_log("muttefik.ui", "WARNING", "MailboxNotConnected")
def test_a_send_that_fails_keeps_the_text_and_says_why(
    qtbot: Any, services: Services, seeded: Seeded
) -> None:
    """The store has no mailbox: the real mail service refuses; nothing is lost."""
    pane = _pane(qtbot, services, seeded.urgent)
    text = "We will send a replacement kettle today."
    pane.editor.setPlainText(text)
    with qtbot.waitSignal(pane.send_failed, timeout=5000):
        pane.send_button.click()
    assert pane.editor.toPlainText() == text
    assert pane.send_button.isEnabled() and not pane.editor.isReadOnly()
    boxes = [w for w in pane.findChildren(QMessageBox) if w.objectName() == "userErrorBox"]
    assert boxes and "mailbox" in boxes[0].text().lower()
    # Typing on and switching threads keeps it as the draft.
    with qtbot.waitSignal(pane.draft_saved, timeout=5000):
        pane.editor.appendPlainText("Sorry!")
        pane.show_thread(seeded.ok)
    qtbot.waitUntil(lambda: pane.thread_id == seeded.ok and pane.conversation is not None)
    with qtbot.waitSignal(pane.conversation_loaded, timeout=5000):
        pane.show_thread(seeded.urgent)
    assert pane.editor.toPlainText() == text + "\nSorry!"


@pytest.mark.parametrize(
    ("state", "shown"), [(SendState.FAILED, "Not sent"), (SendState.UNCERTAIN, "Not sure")]
)
def test_a_reply_not_sent_says_so_with_retry_and_its_text_is_the_draft(
    qtbot: Any,
    vault: Vault,
    services: Services,
    seeded: Seeded,
    clock: FakeClock,
    state: Any,
    shown: str,
) -> None:
    def failed_send(conn: Any) -> None:
        rowid = repo.begin_reply(
            conn,
            seeded.urgent,
            operator_id=None,
            message_id="reply-1@acme-kitchen.example",
            subject="Re: kettle",
            body="A new kettle is on its way.",
            in_reply_to=None,
            now=clock.now(),
        )
        repo.finish_reply(conn, rowid, state, error="The mail server refused it.", now=clock.now())

    vault.call_write(failed_send)
    pane = _pane(qtbot, services, seeded.urgent)
    seller = [m for m in pane.message_views if m.objectName() == "sellerMessage"]
    assert seller and seller[-1].retry_button is not None
    states = seller[-1].findChildren(QLabel, "sendState")
    assert states and states[0].text().startswith(shown)
    assert "refused" in states[0].text()
    assert pane.editor.toPlainText() == "A new kettle is on its way."


def test_an_image_attachment_opens_from_memory(
    qtbot: Any,
    vault: Vault,
    services: Services,
    clock: FakeClock,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fetched from the store's (Maildir) mailbox by the real mail service, shown in a
    dialog from the bytes; nothing is written to disk."""
    import mailbox

    from app.mail.models import MailAccount, MailboxKind
    from tests.helpers.emails import SELLER, relay_alias, relay_email
    from tests.helpers.inbox import PIXEL_PNG

    add_store(vault)
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    box.add(
        relay_email(
            alias=relay_alias("photo0buyer"),
            order_id="111-0000008-0000008",
            text="Here is a photo of the damage.",
            date=clock.now(),
            attachments=[("damage.png", "image/png", PIXEL_PNG)],
        )
    )
    admin = put_operator(vault, ADMIN)
    account = MailAccount(
        store_id=1,
        kind=MailboxKind.MAILDIR,
        from_address=SELLER,
        maildir_path=str(tmp_path / "Maildir"),
    )
    services.mail.save_account(admin, account, None)
    assert services.mail.fetch(admin, 1).imported == 1
    thread_id = services.inbox.read(admin, lambda r: r.thread_ids(ThreadQuery())).result()[0]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    pane = _pane(qtbot, services, thread_id)
    button = pane.message_views[0].attachment_buttons[0]
    assert button.text().startswith("damage.png")
    button.click()
    qtbot.waitUntil(lambda: getattr(pane, "image_dialog", None) is not None, timeout=5000)
    dialog = pane.image_dialog
    assert dialog.content == PIXEL_PNG
    pixmap = dialog.image_label.pixmap()
    assert (pixmap.width(), pixmap.height()) == (1, 1)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    # Saved only where the seller chose, by "Save as…".
    target = tmp_path / "chosen" / "damage.png"
    target.parent.mkdir()
    monkeypatch.setattr(
        "ui.views.conversation.QFileDialog.getSaveFileName",
        lambda *_a, **_k: (str(target), ""),
    )
    dialog.findChild(QPushButton, "saveAttachment").click()
    qtbot.waitUntil(lambda: target.exists() and target.read_bytes() == PIXEL_PNG, timeout=5000)
    dialog.close()


def test_retrying_a_reply_that_may_have_gone_out_asks_first(
    qtbot: Any, vault: Vault, services: Services, seeded: Seeded, clock: FakeClock
) -> None:
    def uncertain_send(conn: Any) -> None:
        rowid = repo.begin_reply(
            conn,
            seeded.urgent,
            operator_id=None,
            message_id="reply-2@acme-kitchen.example",
            subject="Re: kettle",
            body="A new kettle is on its way.",
            in_reply_to=None,
            now=clock.now(),
        )
        repo.finish_reply(conn, rowid, SendState.UNCERTAIN, error=None, now=clock.now())

    vault.call_write(uncertain_send)
    pane = _pane(qtbot, services, seeded.urgent)
    retry = next(m.retry_button for m in pane.message_views if m.retry_button is not None)
    retry.click()
    box = pane.send_again_box
    assert box.isVisible() and "may already have reached the buyer" in box.text()
    assert not pane._sending  # nothing goes out before the seller answers
    box.reject()  # the seller checks the Sent folder first: nothing is sent
    assert not pane._sending and pane.send_button.isEnabled()
