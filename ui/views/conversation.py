"""The conversation pane: a thread's messages, its state and clock, and the reply editor.

Messages show oldest first; the buyer's on the left in grey, the seller's replies on the
right in blue, times in local time.  Flagged messages say why they were flagged.  A
reply that failed (or whose send is uncertain) says so with Retry.  Attachments are
buttons: an image opens in a dialog from memory; any other file can only be saved, by
the seller choosing "Save as…" (the content is never written to a temporary file, and
no other program is asked to open it).

The reply editor is typed by hand.  Its text is saved as the thread's draft
``DRAFT_DEBOUNCE_MS`` after the last keystroke (and at once when another thread is
opened), and restored when the thread is shown again.  Before sending, the text is
checked against Amazon's messaging rules (``app.mail.rules.check_reply``): the offending
parts are highlighted and a warning offers "Fix" or "Send anyway".  A send that fails
keeps the text in the editor (and as the draft) and says why.

Signals: ``conversation_loaded(int)``, ``conversation_missing(int)``,
``reply_sent(int)``, ``send_failed(int)``, ``draft_saved(int)``,
``marked_no_response(int)``, ``rules_warned(int)`` (the number of rule hits).
Thread: GUI only.  Reads through ``services.inbox.read`` (DB thread), writes through
``ui.ops.Op`` (sending and attachments on the network lane).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QDesktopServices,
    QImage,
    QKeySequence,
    QPixmap,
    QShortcut,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.auth.models import Actor
from app.clock import Clock, SystemClock
from app.mail.clock import time_left
from app.mail.models import Direction, RuleHit, SendState
from app.mail.rules import check_reply
from ui.models.threads_model import STATE_TEXT, URGENCY_COLOURS, local_time
from ui.ops import Lane, Op, when_done

if TYPE_CHECKING:
    from app.mail.inbox_service import Conversation
    from app.services import Services

log = logging.getLogger("muttefik.ui")

DRAFT_DEBOUNCE_MS = 800
SEND_SHORTCUT = "Ctrl+Return"
NO_RESPONSE_SHORTCUT = "Ctrl+Shift+N"

_BUYER_STYLE = "background: #f1f3f4; border: 1px solid #dadce0; border-radius: 8px;"
_SELLER_STYLE = "background: #e8f0fe; border: 1px solid #c6dafc; border-radius: 8px;"
_WARN_STYLE = (
    "background: #fff4e5; color: #663c00; border: 1px solid #f0c36d;"
    " border-radius: 4px; padding: 6px;"
)
_HIT_COLOUR = QColor("#ffcdd2")

SEND_STATE_TEXT: dict[str, str] = {
    SendState.SENDING: "Sending…",
    SendState.SENT: "Sent",
    SendState.FAILED: "Not sent",
    SendState.UNCERTAIN: "Not sure it was sent",
}


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


class ImageDialog(QDialog):
    """An image attachment, shown from the bytes in memory, with "Save as…"."""

    def __init__(
        self,
        content: bytes,
        filename: str,
        on_save: Callable[[], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("attachmentImage")
        self.setWindowTitle(filename)
        self.content = content
        self.filename = filename
        image = QImage.fromData(QByteArray(content))
        self.image_label = QLabel()
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        pixmap = QPixmap.fromImage(image)
        if pixmap.width() > 1000 or pixmap.height() > 700:
            pixmap = pixmap.scaled(
                1000,
                700,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        self.image_label.setPixmap(pixmap)
        scroll = QScrollArea()
        scroll.setWidget(self.image_label)
        scroll.setWidgetResizable(True)
        save = QPushButton("Save as…")
        save.setObjectName("saveAttachment")
        save.clicked.connect(on_save)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(save)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll)
        layout.addLayout(buttons)
        self.resize(min(1040, pixmap.width() + 40), min(780, pixmap.height() + 90))


class _MessageView(QFrame):
    """One message: who and when, the text, flags, attachments, a reply's send state."""

    def __init__(self, message: Any, pane: ConversationPane) -> None:
        super().__init__()
        outgoing = str(message.direction) == Direction.OUT
        self.setObjectName("sellerMessage" if outgoing else "buyerMessage")
        self.setStyleSheet(
            f"QFrame#{self.objectName()} {{ {_SELLER_STYLE if outgoing else _BUYER_STYLE} }}"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 8)
        who = "You" if outgoing else "Buyer"
        meta = QLabel(f"<b>{who}</b> · {local_time(message.received_at, '%d %b %Y %H:%M')}")
        meta.setObjectName("messageMeta")
        meta.setStyleSheet("color: #555; border: none; background: transparent;")
        layout.addWidget(meta)
        self.body = QLabel()
        self.body.setObjectName("messageBody")
        self.body.setTextFormat(Qt.TextFormat.PlainText)
        self.body.setText(message.body or "")
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body.setStyleSheet("border: none; background: transparent;")
        layout.addWidget(self.body)
        flags = tuple(getattr(message, "flags", ()) or ())
        if flags:
            flag = QLabel("Flagged for review: " + "; ".join(flags))
            flag.setObjectName("messageFlags")
            flag.setWordWrap(True)
            flag.setStyleSheet(_WARN_STYLE)
            layout.addWidget(flag)
        self.attachment_buttons: list[QPushButton] = []
        attachments = tuple(getattr(message, "attachments", ()) or ())
        if attachments:
            row = QHBoxLayout()
            for meta_a in attachments:
                image = meta_a.content_type.lower().startswith("image/")
                label = f"{meta_a.filename} ({_size(meta_a.size)})"
                button = QPushButton(label if image else f"Save as… {label}")
                button.setObjectName("attachmentButton")
                button.setToolTip(
                    "Show the picture (fetched from your mailbox, kept in memory)"
                    if image
                    else "Save this file where you choose (fetched from your mailbox)"
                )
                button.clicked.connect(
                    lambda _c=False, m=message, a=meta_a: pane.open_attachment(m, a)
                )
                row.addWidget(button)
                self.attachment_buttons.append(button)
            row.addStretch(1)
            layout.addLayout(row)
        self.retry_button: QPushButton | None = None
        state = getattr(message, "send_state", None)
        if outgoing and state is not None and str(state) != SendState.SENT:
            status_row = QHBoxLayout()
            text = SEND_STATE_TEXT.get(str(state), str(state))
            error = getattr(message, "send_error", None)
            status = QLabel(f"{text}: {error}" if error else text)
            status.setObjectName("sendState")
            status.setWordWrap(True)
            status.setStyleSheet(_WARN_STYLE)
            status_row.addWidget(status, 1)
            if str(state) in (SendState.FAILED, SendState.UNCERTAIN):
                self.retry_button = QPushButton("Retry")
                self.retry_button.setObjectName("retryButton")
                self.retry_button.setToolTip(
                    "Send this reply again. If the earlier attempt did reach Amazon, it is "
                    "recognised and not sent twice."
                )
                self.retry_button.clicked.connect(lambda: pane.retry(message))
                status_row.addWidget(self.retry_button)
            layout.addLayout(status_row)


class ConversationPane(QWidget):
    conversation_loaded = Signal(int)
    conversation_missing = Signal(int)
    reply_sent = Signal(int)
    send_failed = Signal(int)
    draft_saved = Signal(int)
    marked_no_response = Signal(int)
    rules_warned = Signal(int)

    def __init__(
        self,
        *,
        services: Services,
        actor: Actor,
        mail: Any = None,
        clock: Clock | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("conversationPane")
        self._inbox = services.inbox
        self._mail = mail if mail is not None else getattr(services, "mail", None)
        self._actor = actor
        self._clock = clock or SystemClock()
        self._thread_id: int | None = None
        self._conversation: Conversation | None = None
        self._serial = 0
        self._loaded_draft = ""
        self._sending = False
        self.hits: list[RuleHit] = []

        self.stack = QStackedWidget()
        self.empty_page = QLabel("Select a conversation on the left.")
        self.empty_page.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_page.setWordWrap(True)  # else its text sets the pane's minimum width
        self.empty_page.setStyleSheet("color: #555; padding: 24px;")
        self.loading_page = QLabel("Loading…")
        self.loading_page.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thread_page = self._thread_page()
        for page in (self.empty_page, self.loading_page, self.thread_page):
            self.stack.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(DRAFT_DEBOUNCE_MS)
        self._draft_timer.timeout.connect(self.save_draft_now)

    # --- layout ---------------------------------------------------------------------

    def _thread_page(self) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        v.setContentsMargins(8, 4, 8, 8)
        self.subject_label = QLabel()
        self.subject_label.setObjectName("conversationSubject")
        self.subject_label.setWordWrap(True)
        self.subject_label.setTextFormat(Qt.TextFormat.PlainText)
        self.subject_label.setStyleSheet("font-size: 15px; font-weight: 600;")
        v.addWidget(self.subject_label)
        meta_row = QHBoxLayout()
        self.meta_label = QLabel()
        self.meta_label.setObjectName("conversationMeta")
        self.meta_label.setTextFormat(Qt.TextFormat.PlainText)
        self.meta_label.setStyleSheet("color: #555;")
        self.meta_label.setWordWrap(True)
        meta_row.addWidget(self.meta_label, 1)
        self.clock_label = QLabel()
        self.clock_label.setObjectName("conversationClock")
        meta_row.addWidget(self.clock_label)
        v.addLayout(meta_row)
        self.flagged_label = QLabel()
        self.flagged_label.setObjectName("conversationFlagged")
        self.flagged_label.setWordWrap(True)
        self.flagged_label.setStyleSheet(_WARN_STYLE)
        self.flagged_label.hide()
        v.addWidget(self.flagged_label)

        self.messages_box = QWidget()
        self.messages_layout = QVBoxLayout(self.messages_box)
        self.messages_layout.setContentsMargins(0, 0, 0, 0)
        self.messages_layout.addStretch(1)
        self.messages_scroll = QScrollArea()
        self.messages_scroll.setObjectName("conversationMessages")
        self.messages_scroll.setWidgetResizable(True)
        self.messages_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.messages_scroll.setWidget(self.messages_box)
        v.addWidget(self.messages_scroll, 3)

        # The rules warning: shown instead of sending when the reply breaks a rule.
        self.rules_box = QFrame()
        self.rules_box.setObjectName("rulesWarning")
        self.rules_box.setStyleSheet(f"QFrame#rulesWarning {{ {_WARN_STYLE} }}")
        rules_layout = QVBoxLayout(self.rules_box)
        self.rules_text = QLabel()
        self.rules_text.setObjectName("rulesText")
        self.rules_text.setWordWrap(True)
        self.rules_text.setTextFormat(Qt.TextFormat.PlainText)
        self.rules_text.setStyleSheet("border: none;")
        rules_layout.addWidget(self.rules_text)
        rules_buttons = QHBoxLayout()
        rules_buttons.addStretch(1)
        self.fix_button = QPushButton("Fix")
        self.fix_button.setObjectName("fixButton")
        self.fix_button.setToolTip("Back to the reply, at the first highlighted part")
        self.fix_button.clicked.connect(self.fix)
        self.send_anyway_button = QPushButton("Send anyway")
        self.send_anyway_button.setObjectName("sendAnywayButton")
        self.send_anyway_button.clicked.connect(lambda: self.send(force=True))
        rules_buttons.addWidget(self.fix_button)
        rules_buttons.addWidget(self.send_anyway_button)
        rules_layout.addLayout(rules_buttons)
        self.rules_box.hide()
        v.addWidget(self.rules_box)

        self.editor = QPlainTextEdit()
        self.editor.setObjectName("replyEditor")
        self.editor.setPlaceholderText(
            "Type your reply to the buyer… (Ctrl+Return sends; no links, email addresses "
            "or emoji: Amazon blocks them)"
        )
        self.editor.setToolTip("Reply (R or Ctrl+R to get here, Ctrl+Return to send)")
        self.editor.textChanged.connect(self._text_changed)
        self.editor.setMinimumHeight(90)
        self.editor.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        v.addWidget(self.editor, 2)

        buttons = QHBoxLayout()
        self.draft_label = QLabel()
        self.draft_label.setObjectName("draftLabel")
        self.draft_label.setStyleSheet("color: #555;")
        buttons.addWidget(self.draft_label, 1)
        self.no_response_button = QPushButton("No response needed")
        self.no_response_button.setObjectName("noResponseButton")
        self.no_response_button.setToolTip(
            "Stop the 24-hour clock for this conversation and tell Amazon in your browser "
            f"({NO_RESPONSE_SHORTCUT})"
        )
        self.no_response_button.clicked.connect(self.mark_no_response)
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("sendButton")
        self.send_button.setDefault(True)
        self.send_button.setToolTip(f"Send the reply through Amazon ({SEND_SHORTCUT})")
        self.send_button.clicked.connect(lambda: self.send())
        buttons.addWidget(self.no_response_button)
        buttons.addWidget(self.send_button)
        v.addLayout(buttons)

        send_shortcut = QShortcut(QKeySequence(SEND_SHORTCUT), self.editor)
        send_shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
        send_shortcut.activated.connect(lambda: self.send())
        return page

    # --- public ---------------------------------------------------------------------

    @property
    def thread_id(self) -> int | None:
        return self._thread_id

    @property
    def conversation(self) -> Conversation | None:
        return self._conversation

    def clear(self, text: str | None = None) -> None:
        self.save_draft_now()
        self._serial += 1
        self._thread_id = None
        self._conversation = None
        self.empty_page.setText(text or "Select a conversation on the left.")
        self.stack.setCurrentWidget(self.empty_page)

    def show_thread(self, thread_id: int) -> None:
        """Load and show ``thread_id`` (DB thread); the previous thread's unsaved draft
        is saved first."""
        if thread_id != self._thread_id:
            self.save_draft_now()
            self._set_editor_text("")
            self._hide_rules()
            if self.stack.currentWidget() is not self.thread_page:
                self.stack.setCurrentWidget(self.loading_page)
        self._thread_id = thread_id
        self.reload()

    def reload(self, *, keep_editor: bool = True) -> None:
        thread_id = self._thread_id
        if thread_id is None:
            return
        self._serial += 1
        serial = self._serial
        future = self._inbox.read(self._actor, lambda r: r.conversation(thread_id))

        def loaded(conversation: Conversation | None) -> None:
            if serial != self._serial:
                return
            if conversation is None:
                self._conversation = None
                self.empty_page.setText("This conversation is no longer available.")
                self.stack.setCurrentWidget(self.empty_page)
                self.conversation_missing.emit(thread_id)
                return
            self._show(conversation, keep_editor=keep_editor)

        when_done(future, loaded, parent=self)

    def focus_reply(self) -> None:
        if self.stack.currentWidget() is self.thread_page:
            self.editor.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # --- showing --------------------------------------------------------------------

    def _show(self, conversation: Conversation, *, keep_editor: bool) -> None:
        first_show = self._conversation is None or self._conversation.thread.id != (
            conversation.thread.id
        )
        self._conversation = conversation
        row = conversation.thread
        self.subject_label.setText(row.subject or "(no subject)")
        parts = [row.buyer_display_name or "Amazon customer"]
        parts.append(f"Order {row.order_id}" if row.order_id else "No order yet")
        parts.append(row.store_name)
        parts.append(STATE_TEXT.get(str(row.state), str(row.state)))
        self.meta_label.setText(" · ".join(parts))
        self._show_clock()
        reasons = sorted({f for m in conversation.messages for f in (m.flags or ())})
        self.flagged_label.setText("Flagged for review: " + "; ".join(reasons) if reasons else "")
        self.flagged_label.setVisible(bool(reasons))

        layout = self.messages_layout
        while layout.count() > 1:  # the stretch at the end stays
            item = layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.message_views: list[_MessageView] = []
        for message in conversation.messages:
            view = _MessageView(message, self)
            outgoing = str(message.direction) == Direction.OUT
            holder = QHBoxLayout()
            if outgoing:
                holder.addSpacing(60)
            holder.addWidget(view, 1)
            if not outgoing:
                holder.addSpacing(60)
            wrapper = QWidget()
            wrapper.setLayout(holder)
            holder.setContentsMargins(0, 2, 0, 2)
            layout.insertWidget(layout.count() - 1, wrapper)
            self.message_views.append(view)
        QTimer.singleShot(0, self._scroll_to_end)

        draft = conversation.draft or ""
        if first_show or not keep_editor or not self.editor.toPlainText():
            self._loaded_draft = draft
            self._set_editor_text(draft)
            # A reload after our own save keeps its "Draft saved" note.
            self.draft_label.setText("Draft restored" if draft else "")
        self.stack.setCurrentWidget(self.thread_page)
        if row.unread:
            self._mark_read(row.id)
        self.conversation_loaded.emit(row.id)

    def _show_clock(self) -> None:
        conversation = self._conversation
        if conversation is None:
            return
        row = conversation.thread
        if row.due_at is None:
            self.clock_label.setText("")
            self.clock_label.setStyleSheet("")
            return
        self.clock_label.setText(time_left(row.due_at, self._clock.now()))
        colours = URGENCY_COLOURS.get(str(row.urgency))
        if colours:
            fg, bg = colours
            self.clock_label.setStyleSheet(
                f"color: {fg}; background: {bg}; border-radius: 6px; padding: 1px 6px;"
            )
        else:
            self.clock_label.setStyleSheet("padding: 1px 6px;")

    def _scroll_to_end(self) -> None:
        bar = self.messages_scroll.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _set_editor_text(self, text: str) -> None:
        self.editor.blockSignals(True)
        self.editor.setPlainText(text)
        self.editor.blockSignals(False)
        self.editor.setExtraSelections([])
        self._draft_timer.stop()

    # --- drafts ---------------------------------------------------------------------

    def _text_changed(self) -> None:
        if self._thread_id is None:
            return
        self._draft_timer.start()
        if self.rules_box.isVisible():
            self._recheck()

    def save_draft_now(self) -> None:
        """Save the editor's text as the thread's draft if it changed (worker thread)."""
        self._draft_timer.stop()
        thread_id = self._thread_id
        if thread_id is None or self._conversation is None or self._sending:
            return
        text = self.editor.toPlainText()
        if text == self._loaded_draft:
            return
        self._loaded_draft = text
        inbox, actor = self._inbox, self._actor

        def saved(_result: Any) -> None:
            if thread_id == self._thread_id:
                self.draft_label.setText(
                    f"Draft saved {local_time(self._clock.now())}" if text else ""
                )
            self.draft_saved.emit(thread_id)

        def failed(exc: BaseException) -> None:
            log.warning("saving a draft failed: %s", type(exc).__name__)
            if thread_id == self._thread_id:
                self.draft_label.setText("The draft could not be saved.")

        Op(self, lambda _job: inbox.save_draft(actor, thread_id, text)).on_success(
            saved
        ).on_failure(failed).run()

    def _mark_read(self, thread_id: int) -> None:
        inbox, actor = self._inbox, self._actor
        Op(self, lambda _job: inbox.mark_read(actor, thread_id)).on_failure(
            lambda exc: log.warning("marking read failed: %s", type(exc).__name__)
        ).run()

    # --- the rules warning ----------------------------------------------------------

    def _domain(self) -> str:
        conversation = self._conversation
        if conversation is None:
            return ""
        return str(getattr(conversation.thread, "marketplace_domain", "") or "")

    def _highlight(self, hits: list[RuleHit]) -> None:
        selections = []
        fmt = QTextCharFormat()
        fmt.setBackground(_HIT_COLOUR)
        fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
        fmt.setUnderlineColor(QColor("#b3261e"))
        for hit in hits:
            selection = QTextEdit.ExtraSelection()
            cursor = QTextCursor(self.editor.document())
            cursor.setPosition(_qt_pos(self.editor.toPlainText(), hit.start))
            cursor.setPosition(
                _qt_pos(self.editor.toPlainText(), hit.end), QTextCursor.MoveMode.KeepAnchor
            )
            selection.cursor = cursor
            selection.format = fmt
            selections.append(selection)
        self.editor.setExtraSelections(selections)

    def _show_hits(self, hits: list[RuleHit]) -> None:
        self.hits = hits
        self._highlight(hits)
        text = self.editor.toPlainText()
        lines = []
        for hit in hits[:6]:
            snippet = text[hit.start : hit.end].strip()
            lines.append(f"• {hit.message} (“{snippet[:40]}”)" if snippet else f"• {hit.message}")
        more = f"\n…and {len(hits) - 6} more." if len(hits) > 6 else ""
        self.rules_text.setText(
            "Amazon may block this reply or warn your account:\n" + "\n".join(lines) + more
        )
        self.rules_box.show()
        self.rules_warned.emit(len(hits))

    def _recheck(self) -> None:
        hits = check_reply(self.editor.toPlainText(), marketplace_domain=self._domain())
        if hits:
            self.hits = hits
            self._highlight(hits)
        else:
            self._hide_rules()

    def _hide_rules(self) -> None:
        self.hits = []
        self.rules_box.hide()
        self.editor.setExtraSelections([])

    def fix(self) -> None:
        """Back to the editor at the first offending part (the highlights stay)."""
        self.rules_box.hide()
        if self.hits:
            cursor = self.editor.textCursor()
            text = self.editor.toPlainText()
            cursor.setPosition(_qt_pos(text, self.hits[0].start))
            cursor.setPosition(_qt_pos(text, self.hits[0].end), QTextCursor.MoveMode.KeepAnchor)
            self.editor.setTextCursor(cursor)
        self.editor.setFocus(Qt.FocusReason.OtherFocusReason)

    # --- sending --------------------------------------------------------------------

    def send(self, *, force: bool = False) -> None:
        """Check the rules (unless ``force``: "Send anyway"), then send on the network
        lane.  The text stays in the editor until the send succeeded."""
        thread_id = self._thread_id
        raw = self.editor.toPlainText()
        if thread_id is None or self._conversation is None or not raw.strip() or self._sending:
            return
        if not force:
            hits = check_reply(raw, marketplace_domain=self._domain())
            if hits:
                self._show_hits(hits)
                return
        self._hide_rules()
        self._start_send(thread_id, raw.strip())

    def retry(self, message: Any) -> None:
        """Retry a reply that was not sent (one click), or one that may have gone out
        (the service first looks for it in the Sent folder; if it is not there, the
        seller confirms before it is sent again)."""
        thread_id = self._thread_id
        if thread_id is None:
            return
        text = self.editor.toPlainText().strip() or (message.body or "").strip()
        if not text:
            return
        if str(message.send_state) != SendState.UNCERTAIN:
            self._start_send(thread_id, text)
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Send this reply again?",
            "The connection ended after this reply was handed to your mail server, so it "
            "may already have reached the buyer. Check your Sent folder or Seller Central "
            "first. Send it again?",
            parent=self,
        )
        box.setObjectName("sendAgainBox")
        again = box.addButton("Send again", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered(_result: int) -> None:
            if box.clickedButton() is again and thread_id == self._thread_id:
                self._start_send(thread_id, text, send_again=True)

        box.finished.connect(answered)
        self.send_again_box = box
        box.open()

    def _start_send(self, thread_id: int, text: str, *, send_again: bool = False) -> None:
        mail, actor = self._mail, self._actor
        if mail is None:
            return
        self._sending = True
        self.send_button.setEnabled(False)
        self.send_button.setText("Sending…")
        # The service saves the text as the draft before it sends (a failure loses
        # nothing); no draft save of ours may race it, so none runs until it ended.
        self._draft_timer.stop()
        self._loaded_draft = self.editor.toPlainText()
        self.editor.setReadOnly(True)

        def done(_result: Any) -> None:
            self._send_ended()
            if thread_id == self._thread_id:
                self._loaded_draft = ""
                self._set_editor_text("")
                self.draft_label.setText("")
                self.reload(keep_editor=False)
            self.reply_sent.emit(thread_id)

        def failed(exc: BaseException) -> None:
            from ui.errors import show_error

            self._send_ended()
            if thread_id == self._thread_id:
                self.reload(keep_editor=True)
            self.send_failed.emit(thread_id)
            show_error(self, exc)

        Op(
            self,
            lambda _job: mail.send_reply(actor, thread_id, text, send_again=send_again),
            lane=Lane.NET,
        ).on_success(done).on_failure(failed).run()

    def _send_ended(self) -> None:
        self._sending = False
        self.editor.setReadOnly(False)
        self._restore_send_button()

    def _restore_send_button(self) -> None:
        self.send_button.setEnabled(True)
        self.send_button.setText("Send")

    # --- no response needed ---------------------------------------------------------

    def mark_no_response(self) -> None:
        """Mark the thread (stops the clock) and open Amazon's link for it in the
        browser, so Amazon records it too."""
        thread_id = self._thread_id
        if thread_id is None or self._conversation is None:
            return
        inbox, actor = self._inbox, self._actor

        def done(url: str | None) -> None:
            if url:
                QDesktopServices.openUrl(QUrl(url))
            if thread_id == self._thread_id:
                self.reload()
            self.marked_no_response.emit(thread_id)

        Op(self, lambda _job: inbox.mark_no_response(actor, thread_id)).on_success(done).run()

    # --- attachments ----------------------------------------------------------------

    def open_attachment(self, message: Any, meta: Any) -> None:
        """An image: fetched (network lane) and shown from memory.  Anything else can
        only be saved, where the seller chooses."""
        if not meta.content_type.lower().startswith("image/"):
            self.save_attachment(message, meta)
            return
        mail, actor = self._mail, self._actor
        if mail is None:
            return
        rowid, part = message.rowid, meta.part

        def shown(result: Any) -> None:
            found_meta, content = result
            self.image_dialog = ImageDialog(
                content,
                found_meta.filename,
                lambda: self.save_attachment(message, meta),
                self,
            )
            self.image_dialog.open()

        Op(self, lambda _job: mail.attachment(actor, rowid, part), lane=Lane.NET).on_success(
            shown
        ).run()

    def save_attachment(self, message: Any, meta: Any) -> None:
        """The seller chose "Save as…": ask where, then fetch it again as a save (the
        service audits it) and write it on a worker (the GUI thread never waits on the
        disk or the network)."""
        mail, actor = self._mail, self._actor
        if mail is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save attachment", meta.filename)
        if not path:
            return
        rowid, part = message.rowid, meta.part

        def fetch_and_write(_job: Any) -> None:
            _meta, content = mail.attachment(actor, rowid, part, saving=True)
            with open(path, "wb") as fh:
                fh.write(content)

        Op(self, fetch_and_write, lane=Lane.NET).run()


def _qt_pos(text: str, index: int) -> int:
    """A Python string index as a QTextDocument position (UTF-16 code units: a
    character outside the BMP, such as an emoji, counts twice there)."""
    head = text[:index]
    return len(head) + sum(1 for ch in head if ord(ch) > 0xFFFF)
