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

Drafting (issue 12, ``services.drafting``): opening a thread that needs a reply with an
empty editor (no saved draft) starts a draft in the background when the setting
``drafting.draft_on_open`` is on ("Drafting with <provider>…", Cancel).  The service runs
on the network lane; an AI draft's chunks come back through a queued signal and are
appended to the editor.  The seller typing stops a running draft and keeps every
character; a draft never replaces text the seller typed ("Regenerate" asks first, a
template chosen with "Use template…" is inserted at the cursor).  Placeholders left in
the text (``[NAME]``, ``[tracking number]``, ``{buyer_first_name}``) are highlighted in
their own colour and counted above Send; "Personalise" fills them locally, only when
clicked.  A draft that fails says why in the pane, with Retry.

Signals: ``conversation_loaded(int)``, ``conversation_missing(int)``,
``reply_sent(int)``, ``send_failed(int)``, ``draft_saved(int)``,
``marked_no_response(int)``, ``rules_warned(int)`` (the number of rule hits),
``draft_started(int)``, ``draft_chunk_shown(int)``, ``draft_ready(int)``,
``draft_failed(int)``, ``draft_stopped(int)``, ``personalised(int)`` (thread ids).
Thread: GUI only.  Reads through ``services.inbox.read`` (DB thread), writes through
``ui.ops.Op`` (sending and attachments on the network lane).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import shiboken6
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
from app.drafting.templates import PLACEHOLDER
from app.errors import UserError
from app.mail.clock import time_left
from app.mail.models import Direction, RuleHit, SendState, ThreadState
from ui.models.threads_model import STATE_TEXT, URGENCY_COLOURS, local_time
from ui.ops import Job, Lane, Op, when_done

if TYPE_CHECKING:
    from concurrent.futures import Future

    from app.drafting.models import Draft
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
# Placeholders to fill: amber, apart from the rules warning's red.
_PLACEHOLDER_COLOUR = QColor("#ffe8a3")
_PLACEHOLDER_UNDERLINE = QColor("#9a6700")
_DRAFT_BUSY_STYLE = "color: #555;"
_DRAFT_ERROR_STYLE = (
    "background: #fdecea; color: #7f1d1d; border: 1px solid #f5c2c0;"
    " border-radius: 4px; padding: 4px 6px;"
)
TEMPLATES_PROVIDER = "Templates"


def placeholders_in(text: str) -> list[re.Match[str]]:
    """The placeholders left in ``text``, in order."""
    return list(PLACEHOLDER.finditer(text))


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
    draft_started = Signal(int)
    draft_chunk_shown = Signal(int)
    draft_ready = Signal(int)
    draft_failed = Signal(int)
    draft_stopped = Signal(int)
    personalised = Signal(int)
    # (draft serial, text): emitted on the network worker, delivered on the GUI thread.
    _chunk_arrived = Signal(int, str)

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
        self._rule_selections: list[QTextEdit.ExtraSelection] = []
        self.placeholders: list[str] = []
        self._drafting = getattr(services, "drafting", None)
        self._settings = getattr(services, "settings", None)
        self._draft_serial = 0
        self._draft_job: Job | None = None
        self._draft_request: tuple[str | None, str | None, bool] | None = None
        # What the drafting put into the editor (None: the text is the seller's own).
        self._drafted_text: str | None = None
        self._replace_on_first = False  # the next chunk replaces the editor's text
        self._last_draft: tuple[int, Draft] | None = None
        self._default_provider: str | None = None
        self.draft_error: UserError | None = None
        self.draft_future: Future[Draft] | None = None

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
        self._chunk_arrived.connect(self._show_chunk, Qt.ConnectionType.QueuedConnection)

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

        v.addLayout(self._draft_row())

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

        self.placeholders_label = QLabel()
        self.placeholders_label.setObjectName("placeholdersLabel")
        self.placeholders_label.setTextFormat(Qt.TextFormat.PlainText)
        self.placeholders_label.setWordWrap(True)
        self.placeholders_label.setStyleSheet(
            f"color: #6b4a00; background: {_PLACEHOLDER_COLOUR.name()};"
            " border-radius: 4px; padding: 2px 6px;"
        )
        self.placeholders_label.hide()
        v.addWidget(self.placeholders_label)

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

    def _draft_row(self) -> QVBoxLayout:
        """The drafting line (what the draft is doing, Cancel / Retry; hidden when there
        is nothing to say) over the drafting buttons."""
        rows = QVBoxLayout()
        rows.setSpacing(2)
        self.draft_status_box = QWidget()
        self.draft_status_box.setObjectName("draftStatusBox")
        status_row = QHBoxLayout(self.draft_status_box)
        status_row.setContentsMargins(0, 0, 0, 0)
        self.draft_status = QLabel()
        self.draft_status.setObjectName("draftStatus")
        self.draft_status.setWordWrap(True)
        self.draft_status.setTextFormat(Qt.TextFormat.PlainText)
        self.draft_status.setStyleSheet(_DRAFT_BUSY_STYLE)
        status_row.addWidget(self.draft_status, 1)
        self.cancel_draft_button = QPushButton("Cancel")
        self.cancel_draft_button.setObjectName("cancelDraftButton")
        self.cancel_draft_button.setToolTip("Stop drafting (what arrived so far stays)")
        self.cancel_draft_button.clicked.connect(lambda: self.stop_draft("Drafting cancelled."))
        self.cancel_draft_button.hide()
        status_row.addWidget(self.cancel_draft_button)
        self.retry_draft_button = QPushButton("Retry")
        self.retry_draft_button.setObjectName("retryDraftButton")
        self.retry_draft_button.setToolTip("Ask for the draft again")
        self.retry_draft_button.clicked.connect(self.retry_draft)
        self.retry_draft_button.hide()
        status_row.addWidget(self.retry_draft_button)
        self.draft_status_box.hide()
        rows.addWidget(self.draft_status_box)
        row = QHBoxLayout()
        self.regenerate_button = QPushButton("Regenerate")
        self.regenerate_button.setObjectName("regenerateButton")
        self.regenerate_button.setToolTip("A new draft from the same provider")
        self.regenerate_button.clicked.connect(self.regenerate)
        self.template_button = QPushButton("Use template…")
        self.template_button.setObjectName("useTemplateButton")
        self.template_button.setToolTip("Choose one of your reply templates for this thread")
        self.template_button.clicked.connect(self.choose_template)
        self.personalise_button = QPushButton("Personalise")
        self.personalise_button.setObjectName("personaliseButton")
        self.personalise_button.setToolTip(
            "Fill the placeholders such as [NAME] or {buyer_first_name} with this buyer's "
            "details, here on this computer (nothing is sent anywhere)"
        )
        self.personalise_button.clicked.connect(self.personalise)
        for button in (self.regenerate_button, self.template_button, self.personalise_button):
            button.setAutoDefault(False)
            button.setEnabled(self._drafting is not None)
            row.addWidget(button)
        row.addStretch(1)
        rows.addLayout(row)
        return rows

    # --- public ---------------------------------------------------------------------

    @property
    def thread_id(self) -> int | None:
        return self._thread_id

    @property
    def conversation(self) -> Conversation | None:
        return self._conversation

    def clear(self, text: str | None = None) -> None:
        self.stop_draft(None)
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
            self.stop_draft(None)
            self.save_draft_now()
            self._set_editor_text("")
            self._hide_rules()
            self._show_draft_status("")
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
        if self._draft_job is not None and not first_show:
            pass  # a draft is arriving: it owns the editor (a reload must not reset it)
        elif first_show or not keep_editor or not self.editor.toPlainText():
            self._loaded_draft = draft
            self._set_editor_text(draft)
            # A reload after our own save keeps its "Draft saved" note.
            self.draft_label.setText("Draft restored" if draft else "")
        self.stack.setCurrentWidget(self.thread_page)
        if row.unread:
            self._mark_read(row.id)
        if first_show:
            self._maybe_draft_on_open(conversation)
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
        self._rule_selections = []
        self._drafted_text = None
        self._refresh_placeholders()
        self._draft_timer.stop()

    # --- drafts ---------------------------------------------------------------------

    def _text_changed(self) -> None:
        """The seller changed the text (the drafting's own changes block this signal)."""
        if self._thread_id is None:
            return
        if self._draft_job is not None:
            self.stop_draft("Drafting stopped because you started typing. Your text stays.")
        self._drafted_text = None
        self._draft_timer.start()
        self._refresh_placeholders()
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

    def _apply_selections(self) -> None:
        self.editor.setExtraSelections(self._placeholder_selections() + self._rule_selections)

    def _placeholder_selections(self) -> list[QTextEdit.ExtraSelection]:
        text = self.editor.toPlainText()
        fmt = QTextCharFormat()
        fmt.setBackground(_PLACEHOLDER_COLOUR)
        fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.DotLine)
        fmt.setUnderlineColor(_PLACEHOLDER_UNDERLINE)
        selections = []
        for match in placeholders_in(text):
            selection = QTextEdit.ExtraSelection()
            cursor = QTextCursor(self.editor.document())
            cursor.setPosition(_qt_pos(text, match.start()))
            cursor.setPosition(_qt_pos(text, match.end()), QTextCursor.MoveMode.KeepAnchor)
            selection.cursor = cursor
            selection.format = fmt
            selections.append(selection)
        return selections

    def _refresh_placeholders(self) -> None:
        """Highlight the placeholders left in the reply and count them above Send."""
        found = [m.group(0) for m in placeholders_in(self.editor.toPlainText())]
        self.placeholders = found
        if found:
            distinct = list(dict.fromkeys(found))
            shown = ", ".join(distinct[:4]) + (", …" if len(distinct) > 4 else "")
            noun = "placeholder" if len(found) == 1 else "placeholders"
            self.placeholders_label.setText(f"{len(found)} {noun} to fill: {shown}")
            self.placeholders_label.setToolTip(
                "Replace them with the right words, or click Personalise to fill the "
                "buyer's name and the order's details here on this computer."
            )
        self.placeholders_label.setVisible(bool(found))
        self._apply_selections()

    def _highlight(self, hits: list[RuleHit]) -> None:
        selections = []
        fmt = QTextCharFormat()
        fmt.setBackground(_HIT_COLOUR)
        fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
        fmt.setUnderlineColor(QColor("#b3261e"))
        for hit in hits:
            if hit.kind == "placeholder":
                continue  # placeholders keep their own (amber) highlight
            selection = QTextEdit.ExtraSelection()
            cursor = QTextCursor(self.editor.document())
            cursor.setPosition(_qt_pos(self.editor.toPlainText(), hit.start))
            cursor.setPosition(
                _qt_pos(self.editor.toPlainText(), hit.end), QTextCursor.MoveMode.KeepAnchor
            )
            selection.cursor = cursor
            selection.format = fmt
            selections.append(selection)
        self._rule_selections = selections
        self._apply_selections()

    def _show_hits(self, hits: list[RuleHit]) -> None:
        self.hits = hits
        self._highlight(hits)
        text = self.editor.toPlainText()
        lines = []
        for hit in hits[:6]:
            snippet = text[hit.start : hit.end].strip()
            lines.append(f"• {hit.message} (“{snippet[:40]}”)" if snippet else f"• {hit.message}")
        more = f"\n…and {len(hits) - 6} more." if len(hits) > 6 else ""
        if all(hit.kind == "placeholder" for hit in hits):
            heading = "This reply still has placeholders the buyer would see:\n"
        else:
            heading = "Amazon may block this reply or warn your account:\n"
        self.rules_text.setText(heading + "\n".join(lines) + more)
        self.rules_box.show()
        self.rules_warned.emit(len(hits))

    def _send_checks(self, text: str) -> list[RuleHit]:
        """Amazon's messaging rules, then the placeholders still to fill ("[NAME]")."""
        # Amazon's rules are many regular expressions: compiled at the first check, not
        # while the window starts (about 30 ms).
        from app.mail.rules import check_reply

        hits = check_reply(text, marketplace_domain=self._domain())
        hits += [
            RuleHit(
                "placeholder",
                m.start(),
                m.end(),
                "A placeholder is still in the reply: fill it in, remove it or Personalise.",
            )
            for m in placeholders_in(text)
        ]
        return sorted(hits, key=lambda hit: hit.start)

    def _recheck(self) -> None:
        hits = self._send_checks(self.editor.toPlainText())
        if hits:
            self.hits = hits
            self._highlight(hits)
        else:
            self._hide_rules()

    def _hide_rules(self) -> None:
        self.hits = []
        self.rules_box.hide()
        self._rule_selections = []
        self._apply_selections()

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
            hits = self._send_checks(raw)
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
        self.stop_draft(None)
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

    # --- drafting (issue 12) --------------------------------------------------------

    def _maybe_draft_on_open(self, conversation: Conversation) -> None:
        """A thread that needs a reply, shown with nothing in the editor: draft one if
        the seller asked for that (``drafting.draft_on_open``)."""
        if self._drafting is None or self._settings is None:
            return
        row = conversation.thread
        thread_id = row.id
        wants = (
            str(row.state) == ThreadState.NEEDS_REPLY
            and not conversation.draft
            and conversation.pending is None
            and any(str(m.direction) == Direction.IN for m in conversation.messages)
        )
        serial = self._serial

        def got(values: dict[str, Any]) -> None:
            name = values.get("drafting.provider")
            self._default_provider = str(name) if name else None
            if (
                wants
                and values.get("drafting.draft_on_open")
                and serial == self._serial
                and thread_id == self._thread_id
                and not self.editor.toPlainText()
                and self._draft_job is None
            ):
                self.start_draft()

        when_done(
            self._settings.all(self._actor),
            got,
            lambda exc: log.info("drafting settings not read: %s", type(exc).__name__),
            parent=self,
        )

    @property
    def drafting(self) -> bool:
        """True while a draft is being made."""
        return self._draft_job is not None

    def start_draft(
        self,
        *,
        provider: str | None = None,
        template_id: str | None = None,
        insert: bool = False,
    ) -> None:
        """Draft a reply on the network lane (``provider`` None: the default).

        The editor must hold no text of the seller's, unless ``insert``: then the draft
        goes in at the cursor when it is ready (a template chosen by hand)."""
        drafting, actor, thread_id = self._drafting, self._actor, self._thread_id
        if drafting is None or thread_id is None or self._conversation is None or self._sending:
            return
        self.stop_draft(None)
        self._draft_serial += 1
        serial = self._draft_serial
        self._draft_request = (provider, template_id, insert)
        self.draft_error = None
        if not insert:
            # Empty, a draft the seller did not touch, or text they agreed to replace
            # (Regenerate): replaced by the first words that come, so a draft that
            # fails leaves it as it was.
            self._drafted_text = self.editor.toPlainText()
            self._replace_on_first = True
        name = TEMPLATES_PROVIDER if template_id else provider or self._default_provider
        self._show_draft_status(f"Drafting with {name}…" if name else "Drafting…", busy=True)
        chunk_signal = self._chunk_arrived
        pane = self

        def work(job: Job) -> Draft:
            def on_chunk(piece: str) -> None:
                # Worker thread: hand the text to the GUI thread (queued signal).
                if job.cancel.is_set():
                    return
                if not shiboken6.isValid(pane):
                    job.cancel.set()
                    return
                chunk_signal.emit(serial, piece)

            result: Draft = drafting.draft(
                actor,
                thread_id,
                provider=provider,
                template_id=template_id,
                on_chunk=None if insert else on_chunk,
                cancel=job.cancel,
            )
            return result

        op: Op[Draft] = (
            Op(self, work, lane=Lane.NET)
            .on_success(lambda draft: self._draft_done(serial, thread_id, draft))
            .on_failure(lambda exc: self._draft_error(serial, thread_id, exc))
            .on_cancelled(lambda: None)
        )
        self.draft_future = op.run()
        self._draft_job = op.job
        self.draft_started.emit(thread_id)

    def stop_draft(self, message: str | None = "Drafting stopped.") -> None:
        """Stop a running draft: what arrived stays in the editor.  ``message`` None:
        silently (another thread was opened)."""
        job = self._draft_job
        if job is None:
            return
        job.cancel.set()
        self._draft_job = None
        self._replace_on_first = False
        self._draft_serial += 1  # late chunks and the late result are dropped
        self._show_draft_status(message or "")
        if message is not None and self._thread_id is not None:
            self.draft_stopped.emit(self._thread_id)

    def _show_chunk(self, serial: int, piece: str) -> None:
        if serial != self._draft_serial or self._draft_job is None or self._drafted_text is None:
            return
        if self.editor.toPlainText() != self._drafted_text:
            return
        if self._replace_on_first:
            self._replace_on_first = False
            self._put_text(piece)
        else:
            cursor = QTextCursor(self.editor.document())
            cursor.movePosition(QTextCursor.MoveOperation.End)
            self.editor.blockSignals(True)
            cursor.insertText(piece)
            self.editor.blockSignals(False)
            self._refresh_placeholders()
        self._drafted_text = self.editor.toPlainText()
        if self._thread_id is not None:
            self.draft_chunk_shown.emit(self._thread_id)

    def _draft_done(self, serial: int, thread_id: int, draft: Draft) -> None:
        if not shiboken6.isValid(self) or serial != self._draft_serial:
            return
        self._draft_job = None
        if thread_id != self._thread_id:
            return
        insert = self._draft_request is not None and self._draft_request[2]
        if insert and self.editor.toPlainText() and self._drafted_text is None:
            # The seller's own text: the template goes in at the cursor, nothing replaced.
            cursor = self.editor.textCursor()
            self.editor.blockSignals(True)
            cursor.insertText(draft.text)
            self.editor.blockSignals(False)
        elif self._drafted_text is None and self.editor.toPlainText():
            return  # cannot happen (typing stops the draft); never overwrite the seller
        else:
            self._put_text(draft.text)
        self._replace_on_first = False
        self._drafted_text = self.editor.toPlainText()
        self._last_draft = (thread_id, draft)
        self._refresh_placeholders()
        self._draft_timer.start()  # kept as the thread's draft, like typed text
        how = "from a template" if draft.template_id else f"by {draft.provider}"
        self._show_draft_status(f"Draft written {how}: read it through before sending.")
        self.draft_ready.emit(thread_id)

    def _draft_error(self, serial: int, thread_id: int, exc: BaseException) -> None:
        if not shiboken6.isValid(self) or serial != self._draft_serial:
            return
        self._draft_job = None
        if thread_id != self._thread_id:
            return
        if isinstance(exc, UserError):
            log.info("no draft: %s", type(exc).__name__)
            self.draft_error = exc
            self._show_draft_status(f"No draft: {exc.message}", error=True)
        else:
            from ui.errors import show_error

            self._show_draft_status(
                "No draft: Müttefik Desk hit a problem it did not expect.", error=True
            )
            show_error(self, exc)
        self.draft_failed.emit(thread_id)

    def retry_draft(self) -> None:
        provider, template_id, insert = self._draft_request or (None, None, False)
        seller_text = bool(self.editor.toPlainText()) and self._drafted_text is None
        if not insert and seller_text and not self._confirm_replace():
            return
        self.start_draft(provider=provider, template_id=template_id, insert=insert)

    def regenerate(self) -> None:
        """A new draft from the provider of the last one (the default if none)."""
        if self._thread_id is None:
            return
        provider = None
        last = self._last_draft
        if last is not None and last[0] == self._thread_id and not last[1].template_id:
            provider = last[1].provider
        text = self.editor.toPlainText()
        if text.strip() and text != self._drafted_text and not self._confirm_replace():
            return
        self.start_draft(provider=provider)

    def _confirm_replace(self) -> bool:
        answer = QMessageBox.question(
            self,
            "Replace your reply?",
            "The reply has text you wrote or changed. Replace it with a new draft?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def choose_template(self) -> None:
        """The template picker, filtered by the thread's intent and language: those of
        its last draft, else detected here on a worker (the language model takes a
        moment to load the first time)."""
        conversation = self._conversation
        if self._drafting is None or self._thread_id is None or conversation is None:
            return
        thread_id = self._thread_id
        last = self._last_draft
        if last is not None and last[0] == thread_id:
            self._open_picker(thread_id, str(last[1].intent), last[1].language)
            return
        buyer = [m.body or "" for m in conversation.messages if str(m.direction) == Direction.IN]
        subject = conversation.thread.subject or ""
        marketplace = self._domain()

        def detect(_job: Job) -> tuple[str, str]:
            from app.drafting.intents import detect_thread_intent
            from app.drafting.language import detect_language

            sample = "\n".join(buyer[-2:]) or subject
            language = detect_language(sample, marketplace=marketplace)
            return str(detect_thread_intent(buyer, subject)), language

        def detected(found: tuple[str, str]) -> None:
            if shiboken6.isValid(self) and thread_id == self._thread_id:
                self._open_picker(thread_id, *found)

        def failed(exc: BaseException) -> None:
            log.info("intent not detected for the picker: %s", type(exc).__name__)
            if shiboken6.isValid(self) and thread_id == self._thread_id:
                self._open_picker(thread_id, None, None)

        Op(self, detect).on_success(detected).on_failure(failed).run()

    def _open_picker(self, thread_id: int, intent: str | None, language: str | None) -> None:
        from ui.dialogs.drafting import TemplatePicker

        picker = TemplatePicker(
            drafting=self._drafting,
            actor=self._actor,
            intent=intent,
            language=language,
            parent=self,
        )
        picker.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def chosen(template_id: str) -> None:
            if thread_id != self._thread_id:
                return
            seller_text = bool(self.editor.toPlainText()) and self._drafted_text is None
            self.start_draft(template_id=template_id, insert=seller_text)

        picker.template_chosen.connect(chosen)
        self.template_picker = picker
        picker.open()

    def personalise(self) -> None:
        """Fill the placeholders with this buyer's details, locally (the service reads
        them from the database; nothing goes over the network)."""
        drafting, actor, thread_id = self._drafting, self._actor, self._thread_id
        text = self.editor.toPlainText()
        if drafting is None or thread_id is None or not text.strip():
            return
        self.stop_draft(None)

        def done(filled: str) -> None:
            if thread_id != self._thread_id:
                return
            if self.editor.toPlainText() != text:
                self._show_draft_status(
                    "The reply changed while it was being personalised: click Personalise again."
                )
                return
            # One undoable edit, seen as the seller's (saved as the draft).
            cursor = QTextCursor(self.editor.document())
            cursor.select(QTextCursor.SelectionType.Document)
            cursor.insertText(filled)
            left = len(self.placeholders)
            self._show_draft_status(
                "Personalised." + (f" {left} still to fill by hand." if left else "")
            )
            self.personalised.emit(thread_id)

        def failed(exc: BaseException) -> None:
            if thread_id != self._thread_id:
                return
            if isinstance(exc, UserError):
                log.info("not personalised: %s", type(exc).__name__)
                self._show_draft_status(f"Not personalised: {exc.message}", error=True)
            else:
                from ui.errors import show_error

                show_error(self, exc)

        Op(self, lambda _job: str(drafting.personalise(actor, thread_id, text))).on_success(
            done
        ).on_failure(failed).run()

    def _put_text(self, text: str) -> None:
        """Replace the editor's text as the drafting (not seen as the seller typing)."""
        cursor = QTextCursor(self.editor.document())
        cursor.select(QTextCursor.SelectionType.Document)
        self.editor.blockSignals(True)
        cursor.insertText(text)
        self.editor.blockSignals(False)
        self._refresh_placeholders()

    def _show_draft_status(self, text: str, *, busy: bool = False, error: bool = False) -> None:
        self.draft_status.setText(text)
        self.draft_status.setStyleSheet(_DRAFT_ERROR_STYLE if error else _DRAFT_BUSY_STYLE)
        self.draft_status_box.setVisible(bool(text))
        self.cancel_draft_button.setVisible(busy)
        self.retry_draft_button.setVisible(error and self._draft_request is not None)

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
