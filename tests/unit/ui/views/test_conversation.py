"""The conversation pane: messages, the rules warning with highlights, drafts saved and
restored, "no response needed", a send that fails keeping the text, attachments."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.clock import FakeClock
from app.mail.models import ThreadState
from app.mail.rules import check_reply
from app.services import Core, Services
from app.vault import Vault
from tests.helpers.inbox import Seeded, add_store, inbox_services, seed_inbox
from tests.helpers.operators import put_operator
from tests.helpers.orders import ADMIN
from ui.events import QtEvents
from ui.views import conversation as conversation_view
from ui.views.conversation import ConversationPane

BAD_REPLY = "Thanks! See https://example.com/deal or write to me at shop@example.com"


@pytest.fixture
def services(core: Core) -> Services:
    return inbox_services(core)  # type: ignore[no-any-return]


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
