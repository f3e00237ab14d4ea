"""The conversation pane: messages, the rules warning with highlights, drafts saved and
restored, "no response needed", a send that fails keeping the text, attachments; and
drafting (issue 12) through the real drafting service: a template draft on opening a
thread, a streamed AI draft from the fake provider server, typing stopping a draft and
keeping the text, placeholders highlighted and counted, Personalise, a request stopped
by the PII guard."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QLabel, QMessageBox, QPushButton

from app import settings
from app.clock import FakeClock
from app.demo.fake_ai import AIFault, FakeAI
from app.mail import repo
from app.mail.inbox_service import ThreadQuery
from app.mail.models import SendState, ThreadState
from app.mail.rules import check_reply
from app.services import Core, Services, build_services
from app.vault import Vault
from tests.helpers import fake_ai as fake_ai_helper
from tests.helpers.inbox import Seeded, add_store, seed_inbox
from tests.helpers.operators import put_operator
from tests.helpers.orders import ADMIN
from tests.helpers.windows import windows_go_before_the_vault  # noqa: F401
from ui.events import QtEvents
from ui.views import conversation as conversation_view
from ui.views.conversation import ConversationPane

fake_ai = fake_ai_helper.fake_ai
API_KEY = fake_ai_helper.API_KEY

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


def _new_pane(qtbot: Any, services: Services, *, draft_on_open: bool = False) -> ConversationPane:
    """A pane with no thread yet; drafts on opening only if asked (the tests of issue
    11 type into an empty editor)."""
    actor = put_operator(services.core.vault, ADMIN)
    services.settings.set(actor, settings.DRAFT_ON_OPEN, draft_on_open)
    pane = ConversationPane(services=services, actor=actor, clock=services.core.clock)
    qtbot.addWidget(pane)
    pane.resize(700, 700)
    pane.show()
    return pane


def _pane(qtbot: Any, services: Services, thread_id: int) -> ConversationPane:
    pane = _new_pane(qtbot, services)
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


# --- drafting (issue 12) ------------------------------------------------------------------


AI = "Fake-AI"
STREAMED = "Thank you for your message. We are sorry about the mug and will refund it today."


@pytest.fixture
def ai_provider(services: Services, fake_ai: FakeAI) -> str:
    """The fake provider server saved as the provider "Fake AI" (with its key)."""
    admin = put_operator(services.core.vault, ADMIN)
    services.drafting.save_provider(admin, fake_ai.provider_config(name=AI), API_KEY)
    return AI


def test_a_template_draft_appears_when_a_thread_that_needs_a_reply_is_opened(
    qtbot: Any, services: Services, seeded: Seeded
) -> None:
    pane = _new_pane(qtbot, services, draft_on_open=True)
    with qtbot.waitSignals([pane.draft_started, pane.draft_ready], timeout=10000):
        pane.show_thread(seeded.soon)
    text = pane.editor.toPlainText()
    expected = services.drafting.draft(pane._actor, seeded.soon).text
    assert text == expected and text.strip()
    assert "template" in pane.draft_status.text()
    assert not pane.cancel_draft_button.isVisibleTo(pane)
    # Kept as the thread's draft: opening it again shows it, and drafts nothing new.
    with qtbot.waitSignal(pane.draft_saved, timeout=5000):
        pane.show_thread(seeded.replied)  # replied: no draft
    with qtbot.assertNotEmitted(pane.draft_started, wait=300):
        qtbot.waitUntil(lambda: pane.conversation is not None and pane.thread_id == seeded.replied)
    assert pane.editor.toPlainText() == ""
    with (
        qtbot.assertNotEmitted(pane.draft_started, wait=300),
        qtbot.waitSignal(pane.conversation_loaded, timeout=5000),
    ):
        pane.show_thread(seeded.soon)
    assert pane.editor.toPlainText() == expected


def test_no_draft_on_opening_when_the_setting_is_off(
    qtbot: Any, services: Services, seeded: Seeded
) -> None:
    pane = _new_pane(qtbot, services, draft_on_open=False)
    with (
        qtbot.assertNotEmitted(pane.draft_started, wait=300),
        qtbot.waitSignal(pane.conversation_loaded, timeout=5000),
    ):
        pane.show_thread(seeded.soon)
    assert pane.editor.toPlainText() == ""
    # Regenerate drafts on request.
    with qtbot.waitSignal(pane.draft_ready, timeout=10000):
        pane.regenerate_button.click()
    assert pane.editor.toPlainText().strip()


def test_a_streamed_ai_draft_appears_in_chunks(
    qtbot: Any, services: Services, seeded: Seeded, fake_ai: FakeAI, ai_provider: str
) -> None:
    fake_ai.reply_text = STREAMED
    fake_ai.slow_seconds = 1.0
    fake_ai.fault(AIFault.SLOW, count=1)  # the first words come after the reload below
    admin = put_operator(services.core.vault, ADMIN)
    services.settings.set(admin, settings.DRAFT_PROVIDER, ai_provider)
    pane = _new_pane(qtbot, services, draft_on_open=True)
    seen: list[str] = []
    pane.draft_chunk_shown.connect(lambda _t: seen.append(pane.editor.toPlainText()))
    with qtbot.waitSignal(pane.draft_started, timeout=5000):
        pane.show_thread(seeded.soon)
    assert pane.draft_status.text() == f"Drafting with {ai_provider}…"
    assert pane.cancel_draft_button.isVisibleTo(pane)
    # The inbox reloads the thread before the first words come (it was marked read):
    # the draft keeps the editor and streams on.
    with qtbot.waitSignal(pane.conversation_loaded, timeout=5000):
        pane.reload()
    assert pane.editor.toPlainText() == "" and pane.drafting
    with qtbot.waitSignal(pane.draft_ready, timeout=10000):
        pass
    assert pane.editor.toPlainText() == STREAMED
    # Word by word: each step shows more of the reply.
    assert len(seen) >= 5
    assert all(STREAMED.startswith(step) for step in seen)
    assert [len(s) for s in seen] == sorted({len(s) for s in seen})
    assert ai_provider in pane.draft_status.text()
    # The buyer's name (Cherri) never reached the provider.
    assert fake_ai.requests and "cherri" not in fake_ai.received_text().lower()


def test_typing_stops_a_running_draft_and_keeps_the_text(
    qtbot: Any, services: Services, seeded: Seeded, fake_ai: FakeAI, ai_provider: str
) -> None:
    fake_ai.reply_text = STREAMED
    fake_ai.chunk_delay = 0.2
    pane = _pane(qtbot, services, seeded.soon)
    with qtbot.waitSignal(pane.draft_chunk_shown, timeout=10000):
        pane.start_draft(provider=ai_provider)
    future = pane.draft_future
    assert future is not None and pane.drafting
    pane.editor.moveCursor(QTextCursor.MoveOperation.End)
    with qtbot.waitSignal(pane.draft_stopped, timeout=1000):
        qtbot.keyClicks(pane.editor, " Sorry")
    typed = pane.editor.toPlainText()
    assert typed.endswith(" Sorry") and len(typed) < len(STREAMED)
    assert "typing" in pane.draft_status.text() and not pane.drafting
    qtbot.waitUntil(future.done, timeout=10000)
    QCoreApplication.processEvents()
    assert pane.editor.toPlainText() == typed  # nothing arrived after the seller typed
    # Regenerate now asks before replacing the seller's text; "No" keeps it.
    from PySide6.QtWidgets import QMessageBox as Box

    asked: list[str] = []

    def no(*args: Any, **_k: Any) -> Any:
        asked.append(args[1])
        return Box.StandardButton.No

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Box, "question", no)
        with qtbot.assertNotEmitted(pane.draft_started):
            pane.regenerate_button.click()
    assert asked == ["Replace your reply?"]
    assert pane.editor.toPlainText() == typed


def test_cancel_stops_the_draft(
    qtbot: Any, services: Services, seeded: Seeded, fake_ai: FakeAI, ai_provider: str
) -> None:
    fake_ai.reply_text = STREAMED
    fake_ai.chunk_delay = 0.2
    pane = _pane(qtbot, services, seeded.soon)
    with qtbot.waitSignal(pane.draft_chunk_shown, timeout=10000):
        pane.start_draft(provider=ai_provider)
    future = pane.draft_future
    assert future is not None
    with qtbot.waitSignal(pane.draft_stopped, timeout=1000):
        pane.cancel_draft_button.click()
    assert pane.draft_status.text() == "Drafting cancelled."
    qtbot.waitUntil(future.done, timeout=10000)
    QCoreApplication.processEvents()
    assert len(pane.editor.toPlainText()) < len(STREAMED)


def test_placeholders_are_highlighted_apart_from_rule_hits_and_counted(
    qtbot: Any, services: Services, seeded: Seeded
) -> None:
    pane = _pane(qtbot, services, seeded.urgent)
    assert not pane.placeholders_label.isVisibleTo(pane)
    text = "Hello [NAME], your kettle ships with [tracking number]. See https://example.com"
    pane.editor.setPlainText(text)
    assert pane.placeholders_label.text().startswith("2 placeholders to fill")
    assert pane.placeholders_label.isVisibleTo(pane)
    assert _selected_texts(pane) == ["[NAME]", "[tracking number]"]
    pane.send_button.click()  # the rules check still runs at Send
    assert pane.rules_box.isVisibleTo(pane)
    selections = pane.editor.extraSelections()
    assert [s.cursor.selectedText() for s in selections] == [
        "[NAME]",
        "[tracking number]",
        "https://example.com",
    ]
    colours = [s.format.background().color().name() for s in selections]
    assert colours[0] == colours[1] != colours[2]
    pane.editor.setPlainText("Hello {buyer_first_name}, thank you.")
    assert pane.placeholders_label.text().startswith("1 placeholder to fill")
    pane.editor.setPlainText("Hello, thank you.")
    assert not pane.placeholders_label.isVisibleTo(pane)
    assert pane.editor.extraSelections() == []


def test_personalise_fills_the_placeholders_locally(
    qtbot: Any, services: Services, seeded: Seeded
) -> None:
    pane = _pane(qtbot, services, seeded.soon)
    pane.editor.setPlainText("Hello {buyer_first_name}, of course. Best wishes to [NAME].")
    assert len(pane.placeholders) == 2
    with qtbot.waitSignal(pane.personalised, timeout=5000):
        pane.personalise_button.click()
    assert pane.editor.toPlainText() == "Hello Cherri, of course. Best wishes to Cherri."
    assert pane.placeholders == [] and not pane.placeholders_label.isVisibleTo(pane)
    # One undoable edit.
    pane.editor.undo()
    assert "{buyer_first_name}" in pane.editor.toPlainText()


def test_a_request_stopped_by_the_pii_guard_says_why_and_sends_nothing(
    qtbot: Any, services: Services, seeded: Seeded, fake_ai: FakeAI, ai_provider: str
) -> None:
    """The seller's policies name the buyer: the request would carry the buyer's name
    to the provider, so the guard stops it before a byte is sent."""
    from app.drafting.prompt import Knowledge

    admin = put_operator(services.core.vault, ADMIN)
    services.drafting.save_knowledge(
        admin, Knowledge(tone="Brief.", policies="Cherri gets 10% off.")
    )
    services.settings.set(admin, settings.DRAFT_PROVIDER, ai_provider)
    pane = _pane(qtbot, services, seeded.soon)
    pane.editor.setPlainText("My own words")
    # Regenerate over the seller's text, who agrees to replace it.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(QMessageBox, "question", lambda *_a, **_k: QMessageBox.StandardButton.Yes)
        with qtbot.waitSignal(pane.draft_failed, timeout=10000):
            pane.regenerate_button.click()
    assert "stopped because it contained the buyer's name" in pane.draft_status.text()
    assert "Nothing was sent" in pane.draft_status.text()
    assert pane.retry_draft_button.isVisibleTo(pane)
    assert pane.editor.toPlainText() == "My own words"  # no draft: the text stays
    assert fake_ai.requests == [] and fake_ai.connections == 0
    # Fixed: Retry drafts.
    services.drafting.save_knowledge(admin, Knowledge(tone="Brief.", policies="10% off."))
    fake_ai.reply_text = STREAMED
    with qtbot.waitSignal(pane.draft_ready, timeout=10000):
        pane.retry_draft_button.click()
    assert pane.editor.toPlainText() == STREAMED
    assert not pane.retry_draft_button.isVisibleTo(pane)


def test_a_template_chosen_by_hand_goes_in_at_the_cursor(
    qtbot: Any, services: Services, seeded: Seeded
) -> None:
    pane = _pane(qtbot, services, seeded.soon)
    pane.editor.setPlainText("Dear buyer,\n")
    pane.editor.moveCursor(QTextCursor.MoveOperation.End)
    pane.template_button.click()
    qtbot.waitUntil(lambda: getattr(pane, "template_picker", None) is not None, timeout=10000)
    picker = pane.template_picker
    qtbot.waitUntil(lambda: picker.browser.list.count() > 0, timeout=5000)
    # Filtered by what the buyer asks ("Can I return the mug?") and their language.
    assert picker.browser.intent_filter.currentData() == "return_refund"
    assert picker.browser.language_filter.currentData() == "en"
    listed = [picker.browser.list.item(i).text() for i in range(picker.browser.list.count())]
    assert listed and all("Return or refund · English" in text for text in listed)
    chosen = picker.browser.selected()
    assert chosen is not None and picker.preview.toPlainText() == chosen.body
    with qtbot.waitSignal(pane.draft_ready, timeout=10000):
        picker.use_button.click()
    text = pane.editor.toPlainText()
    assert text.startswith("Dear buyer,\n") and len(text) > len("Dear buyer,\n")


def test_send_stops_at_a_placeholder_left_in_the_reply(
    qtbot: Any, services: Services, seeded: Seeded
) -> None:
    # "[NAME]" reaching a buyer is as bad as a broken rule: Send asks first.
    pane = _pane(qtbot, services, seeded.urgent)
    pane.editor.setPlainText("Hello [NAME], your order ships tomorrow.")
    pane.send_button.click()
    assert pane.rules_box.isVisibleTo(pane)
    assert pane.rules_text.text().startswith("This reply still has placeholders")
    assert [h.kind for h in pane.hits] == ["placeholder"]
    assert not pane._sending  # nothing went to the mail server
