"""The Inbox tab: buyer-message threads, the conversation with its reply editor, and
the linked order's context, side by side (three panes in a splitter).

Top bar: the filters (All, Needs reply, Due soon, Overdue, No response needed, Replied,
Flagged, with counts), a store filter, the search box (as you type, debounced
``SEARCH_DEBOUNCE_MS``), "Check now" and the mail check's status (last fetch, error).
The list is sorted by the reply clock (due soonest first).  ``ThreadsChanged`` refreshes
are throttled (at most one per ``REFRESH_MIN_MS``) and deferred while the tab is hidden;
the selection survives refreshes (by thread id); the time left is refreshed every
minute.

Keyboard (shown in tooltips): Ctrl+Down / Ctrl+Up (or J / K in the list) next and
previous thread, R (in the list) or Ctrl+R the reply editor, Ctrl+Return send,
Ctrl+Shift+N no response needed, Ctrl+F search.

Everything comes through ``services.inbox`` (reads) and ``services.mail`` (sending,
attachments) as the signed-in operator.  Thread: GUI only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QFontMetrics, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.auth.models import Actor
from app.clock import Clock
from app.jobs import JobChanged, JobStatus
from app.mail.inbox_service import ThreadFilter, ThreadQuery
from app.notices import (
    MailAccountsChanged,
    MailFetchFailed,
    OrdersChanged,
    StoresChanged,
    ThreadsChanged,
)
from ui.models.threads_model import Column, ThreadsModel
from ui.ops import when_done
from ui.views.conversation import NO_RESPONSE_SHORTCUT, SEND_SHORTCUT, ConversationPane
from ui.views.order_detail import OrderDetailPanel
from ui.views.orders import _EmptyState

if TYPE_CHECKING:
    from app.services import Services
    from ui.events import QtEvents
    from ui.main_window import MainWindow

log = logging.getLogger("muttefik.ui")

SEARCH_DEBOUNCE_MS = 150
REFRESH_MIN_MS = 1000
CLOCK_REFRESH_MS = 60_000
MAIL_JOB_NAME = "Mail check"  # app.mail.mail_job.NAME

FILTERS: list[tuple[ThreadFilter, str, str]] = [
    (ThreadFilter.ALL, "All", "Every conversation"),
    (ThreadFilter.NEEDS_REPLY, "Needs reply", "Buyers waiting for your reply"),
    (ThreadFilter.DUE_SOON, "Due soon", "Less than 6 hours left of Amazon's 24 hours"),
    (ThreadFilter.OVERDUE, "Overdue", "Amazon's 24 hours have passed"),
    (ThreadFilter.NO_RESPONSE, "No response needed", "Marked as needing no reply"),
    (ThreadFilter.REPLIED, "Replied", "Answered conversations"),
    (ThreadFilter.FLAGGED, "Flagged", "Messages that could not be read fully: check them"),
]
#: Which InboxCounts field each filter shows (filters without one show no count).
COUNT_FIELDS: dict[ThreadFilter, str] = {
    ThreadFilter.ALL: "all",
    ThreadFilter.NEEDS_REPLY: "needs_reply",
    ThreadFilter.DUE_SOON: "due_soon",
    ThreadFilter.OVERDUE: "overdue",
    ThreadFilter.NO_RESPONSE: "no_response",
    ThreadFilter.REPLIED: "replied",
    ThreadFilter.FLAGGED: "flagged",
}
NO_MAILBOX_TEXT = (
    "Buyer messages appear here once a store's mailbox is connected: an admin connects "
    "it in Tools → Mailboxes, or with `muttefik mail add --store NAME`."
)


def _ago(then: datetime | None, now: datetime) -> str:
    if then is None:
        return "never"
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return then.astimezone().strftime("%d %b %H:%M")


class _ThreadTable(QTableView):
    """The thread list.  J / K move like Ctrl+Down / Ctrl+Up; R goes to the reply."""

    def __init__(self, view: InboxView) -> None:
        super().__init__()
        for keys, slot in (
            ("J", view.next_thread),
            ("K", view.previous_thread),
            ("R", view.focus_reply),
        ):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(slot)


class InboxView(QWidget):
    """Signals: ``counts_loaded(object)`` (an ``InboxCounts``), ``fetch_status_changed``."""

    counts_loaded = Signal(object)
    fetch_status_changed = Signal()

    def __init__(
        self,
        *,
        services: Services,
        actor: Actor,
        clock: Clock | None = None,
        qt_events: QtEvents | None = None,
        mail: Any = None,
        page_size: int = 50,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("inboxView")
        self._services = services
        self._inbox = services.inbox
        self._mail = mail if mail is not None else getattr(services, "mail", None)
        self._mail_job = getattr(services, "mail_job", None)
        self._actor = actor
        self._clock = clock or services.core.clock
        self._stores_known = False
        self._mailboxes: int | None = None  # connected mailboxes (None: not read yet)
        self._dirty = False
        self._changed: set[int] | None = set()
        self._last_refresh = 0.0
        self._saved_current: int | None = None
        self._fetch_errors: dict[int, str] = {}  # store id -> error title
        self.refresh_count = 0
        self.counts: Any = None

        self.model = ThreadsModel(
            service=services.inbox, actor=actor, clock=self._clock, page_size=page_size, parent=self
        )
        self._build_top_bar()
        self._build_table()
        self.conversation = ConversationPane(
            services=services, actor=actor, mail=self._mail, clock=self._clock
        )
        self.order_panel = OrderDetailPanel(services=services, actor=actor)
        self.no_order_page = QLabel(
            "No order is linked to this conversation yet (a question before buying). It is "
            "linked when the buyer writes about an order."
        )
        self.no_order_page.setObjectName("noOrderPage")
        self.no_order_page.setWordWrap(True)
        self.no_order_page.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.no_order_page.setStyleSheet("color: #555; padding: 24px;")
        self.order_stack = QStackedWidget()
        self.order_stack.addWidget(self.no_order_page)
        self.order_stack.addWidget(self.order_panel)
        self.order_stack.setMinimumWidth(300)

        self.no_mailbox = _EmptyState("noMailboxState", "No mailbox connected", NO_MAILBOX_TEXT)
        self.no_threads = _EmptyState(
            "noThreadsState",
            "No buyer messages",
            "No buyer has written yet. New messages appear here when the mailbox is checked.",
        )
        self.no_match = _EmptyState(
            "noMatchState",
            "Nothing matches",
            "No conversation matches this filter and search.",
            "Show all conversations",
        )
        self.no_match.button.clicked.connect(self.clear_filters)
        self.list_stack = QStackedWidget()
        for page in (self.table, self.no_mailbox, self.no_threads, self.no_match):
            self.list_stack.addWidget(page)

        self.fetch_error = QLabel()
        self.fetch_error.setObjectName("fetchError")
        self.fetch_error.setWordWrap(True)
        self.fetch_error.setStyleSheet(
            "background: #fdecea; color: #611a15; border: 1px solid #f5c2c0;"
            " border-radius: 4px; padding: 4px 8px;"
        )
        self.fetch_error.hide()

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.list_stack, 1)
        self.count_label = QLabel()
        self.count_label.setObjectName("threadCount")
        self.count_label.setStyleSheet("color: #555;")
        left_layout.addWidget(self.count_label)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.conversation)
        self.splitter.addWidget(self.order_stack)
        # The list gets the most room: it is where the seller decides what to answer next.
        for i, stretch in enumerate((4, 3, 2)):
            self.splitter.setStretchFactor(i, stretch)
        self.splitter.setSizes([640, 460, 300])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.addLayout(self.top_bar)
        layout.addWidget(self.fetch_error)
        layout.addWidget(self.splitter, 1)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(self.apply_filters)
        self._throttle = QTimer(self)
        self._throttle.setSingleShot(True)
        self._throttle.timeout.connect(self._refresh_now)
        self._clock_timer = QTimer(self)
        self._clock_timer.setInterval(CLOCK_REFRESH_MS)
        self._clock_timer.timeout.connect(self._clock_tick)
        self._clock_timer.start()

        self.model.modelAboutToBeReset.connect(self._save_selection)
        self.model.modelReset.connect(self._restore_selection)
        self.model.search_finished.connect(self._searched)
        self.model.search_failed.connect(self._search_failed)
        self.conversation.conversation_loaded.connect(self._conversation_loaded)
        self._install_shortcuts()

        if qt_events is not None:
            qt_events.on(ThreadsChanged, self._threads_changed)
            qt_events.on(OrdersChanged, self._orders_changed)
            qt_events.on(MailFetchFailed, self._fetch_failed)
            qt_events.on(JobChanged, lambda n: self._job_changed(n.status), owner=self)
            qt_events.on(StoresChanged, lambda _n: self.reload_stores(), owner=self)
            qt_events.on(MailAccountsChanged, lambda _n: self.reload_mailboxes(), owner=self)

        self.reload_stores()
        self.reload_mailboxes()
        self.reload_counts()
        self._show_job_status()
        self.model.set_query(self.current_query())

    # --- building -------------------------------------------------------------------

    def _build_top_bar(self) -> None:
        bar = QHBoxLayout()
        self.filter_group = QButtonGroup(self)
        self.filter_group.setExclusive(True)
        self.filter_buttons: dict[ThreadFilter, QToolButton] = {}
        for kind, label, tip in FILTERS:
            button = QToolButton()
            button.setObjectName(f"filter_{kind.value}")
            button.setText(label)
            button.setToolTip(tip)
            button.setCheckable(True)
            button.setAutoRaise(True)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setStyleSheet("QToolButton:checked { font-weight: 600; }")
            self.filter_group.addButton(button)
            self.filter_buttons[kind] = button
            bar.addWidget(button)
        self.filter_buttons[ThreadFilter.ALL].setChecked(True)
        for button in self.filter_buttons.values():
            button.toggled.connect(self._filter_toggled)
        bar.addStretch(1)

        self.store_combo = QComboBox()
        self.store_combo.setObjectName("inboxStoreFilter")
        self.store_combo.addItem("All stores", None)
        self.store_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.store_combo.currentIndexChanged.connect(lambda _i: self.apply_filters())
        bar.addWidget(self.store_combo)

        self.search = QLineEdit()
        self.search.setObjectName("inboxSearch")
        self.search.setPlaceholderText("Search messages, order id, ASIN, SKU  (Ctrl+F)")
        self.search.setToolTip("Search as you type (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(240)
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        bar.addWidget(self.search, 2)

        self.check_now = QPushButton("Check now")
        self.check_now.setObjectName("checkNowButton")
        self.check_now.setToolTip("Check the mailboxes for new buyer messages now")
        self.check_now.clicked.connect(self._check_now)
        bar.addWidget(self.check_now)
        self.fetch_status = QLabel()
        self.fetch_status.setObjectName("fetchStatus")
        self.fetch_status.setStyleSheet("color: #555;")
        bar.addWidget(self.fetch_status)
        self.top_bar: QHBoxLayout = bar

    def _build_table(self) -> None:
        table = _ThreadTable(self)
        table.setObjectName("threadsTable")
        table.setModel(self.model)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setAlternatingRowColors(True)
        table.setShowGrid(False)
        table.setWordWrap(False)
        table.setToolTip("Ctrl+Down / Ctrl+Up (or J / K): next / previous conversation; R: reply")
        table.verticalHeader().setVisible(False)
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        table.verticalHeader().setDefaultSectionSize(24)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        bold = table.font()
        bold.setBold(True)  # unread rows are bold
        fm = QFontMetrics(bold)
        pad = 2 * fm.averageCharWidth()
        samples = {
            Column.DUE: "overdue by 2 d 00 h",
            Column.BUYER: "Amazon customer",
            Column.ORDER: "000-0000000-0000000",
            Column.STORE: "Store name",
            Column.STATE: "No response needed",
            Column.LAST: "00 Nov 00:00",
        }
        for column, sample in samples.items():
            header.resizeSection(column, fm.horizontalAdvance(sample) + pad)
        header.setSectionResizeMode(Column.SUBJECT, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.table = table
        self._shown_timer = QTimer(self)
        self._shown_timer.setSingleShot(True)
        self._shown_timer.setInterval(0)
        self._shown_timer.timeout.connect(self._report_shown_rows)
        table.verticalScrollBar().valueChanged.connect(lambda _v: self._report_shown_rows())
        for signal in (self.model.modelReset, self.model.rowsInserted, self.model.rowsRemoved):
            signal.connect(lambda *_a: self._shown_timer.start())
        self._viewport = table.viewport()

    def _install_shortcuts(self) -> None:
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for keys, slot in (
            ("Ctrl+Down", self.next_thread),
            ("Ctrl+Up", self.previous_thread),
            ("Ctrl+R", self.focus_reply),
            (NO_RESPONSE_SHORTCUT, self.conversation.mark_no_response),
            ("Ctrl+F", self.focus_search),
        ):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(context)
            shortcut.activated.connect(slot)
        self.shortcut_help = (
            "Ctrl+Down / Ctrl+Up (J / K in the list): next / previous · R or Ctrl+R: reply"
            f" · {SEND_SHORTCUT}: send · {NO_RESPONSE_SHORTCUT}: no response needed"
            " · Ctrl+F: search"
        )
        self.setToolTip(self.shortcut_help)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._shown_timer.start()
        if self._dirty:
            self._dirty = False
            self.schedule_refresh()

    def _report_shown_rows(self) -> None:
        count = self.model.rowCount()
        if not count:
            return
        first = max(0, self.table.rowAt(0))
        last = self.table.rowAt(self._viewport.height() - 1)
        self.model.want_rows(first, last if last >= 0 else count - 1)

    # --- filters --------------------------------------------------------------------

    def _filter_toggled(self, checked: bool) -> None:
        if checked:  # the button turned off emits too: one search per change
            self.apply_filters()

    def current_filter(self) -> ThreadFilter:
        for kind, button in self.filter_buttons.items():
            if button.isChecked():
                return kind
        return ThreadFilter.ALL

    def set_filter(self, kind: ThreadFilter) -> None:
        self.filter_buttons[kind].setChecked(True)

    def current_query(self) -> ThreadQuery:
        store = self.store_combo.currentData()
        return ThreadQuery(
            store_ids=frozenset({int(store)}) if store is not None else frozenset(),
            filter=self.current_filter(),
            text=self.search.text().strip(),
        )

    def apply_filters(self) -> None:
        self._debounce.stop()
        query = self.current_query()
        if query != self.model.query:
            self.model.set_query(query)

    def clear_filters(self) -> None:
        for w in (self.search, self.store_combo, self.filter_group):
            w.blockSignals(True)
        self.search.clear()
        self.store_combo.setCurrentIndex(0)
        self.filter_buttons[ThreadFilter.ALL].setChecked(True)
        for w in (self.search, self.store_combo, self.filter_group):
            w.blockSignals(False)
        self.apply_filters()

    def _filtered(self) -> bool:
        q = self.model.query
        return bool(q.text or q.store_ids or q.filter != ThreadFilter.ALL)

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    # --- stores, mailboxes, counts, fetch status -------------------------------------

    def reload_stores(self) -> None:
        future = self._inbox.read(self._actor, lambda r: r.stores())
        when_done(future, self._stores_loaded, self._read_failed, parent=self)

    def _stores_loaded(self, stores: list[Any]) -> None:
        self._stores_known = True
        current = self.store_combo.currentData()
        self.store_combo.blockSignals(True)
        self.store_combo.clear()
        self.store_combo.addItem("All stores", None)
        for store in stores:
            self.store_combo.addItem(store.name, store.id)
        self.store_combo.setCurrentIndex(max(0, self.store_combo.findData(current)))
        self.store_combo.setVisible(len(stores) > 1)
        # One store: its name in every row says nothing.
        self.table.setColumnHidden(Column.STORE, len(stores) <= 1)
        self.store_combo.blockSignals(False)
        self._update_page()

    def reload_mailboxes(self) -> None:
        if self._mail is None:
            return

        def loaded(accounts: list[Any]) -> None:
            self._mailboxes = len(accounts)
            self._update_page()

        when_done(self._mail.accounts(self._actor), loaded, self._read_failed, parent=self)

    def reload_counts(self) -> None:
        future = self._inbox.read(self._actor, lambda r: r.counts())
        when_done(future, self._counts_loaded, self._read_failed, parent=self)

    def _counts_loaded(self, counts: Any) -> None:
        self.counts = counts
        for kind, label, _tip in FILTERS:
            field = COUNT_FIELDS.get(kind)
            value = getattr(counts, field, None) if field else None
            self.filter_buttons[kind].setText(f"{label} ({value})" if value else label)
        self.counts_loaded.emit(counts)

    def _read_failed(self, exc: BaseException) -> None:
        log.warning("reading the inbox failed: %s", type(exc).__name__)

    def _check_now(self) -> None:
        job = self._mail_job
        if job is None:
            return
        self.fetch_status.setText("Checking…")
        job.run_now()

    def _show_job_status(self) -> None:
        job = self._mail_job
        if job is not None:
            self._job_changed(job.status())

    def _job_changed(self, status: JobStatus) -> None:
        if status.name != MAIL_JOB_NAME:
            return
        now = self._clock.now()
        if status.running:
            text = "Checking mail…"
        elif status.last_finished is None:
            text = "Mail not checked yet"
        else:
            text = f"Mail checked {_ago(status.last_finished, now)}"
        if status.last_error and not status.running:
            text += f" · {status.last_error}"
            self.fetch_status.setStyleSheet("color: #b3261e;")
        else:
            self.fetch_status.setStyleSheet("color: #555;")
            if not status.running:
                self._fetch_errors.clear()
                self._show_fetch_errors()
        self.fetch_status.setText(text)
        self.fetch_status_changed.emit()

    def _fetch_failed(self, notice: MailFetchFailed) -> None:
        error = notice.error
        self._fetch_errors[notice.store_id] = f"{error.title}: {error.message}"
        self._show_fetch_errors()

    def _show_fetch_errors(self) -> None:
        texts = sorted(set(self._fetch_errors.values()))
        self.fetch_error.setText(
            "The mailbox could not be checked. " + " ".join(texts) if texts else ""
        )
        self.fetch_error.setVisible(bool(texts))

    # --- refresh --------------------------------------------------------------------

    def _threads_changed(self, notice: ThreadsChanged) -> None:
        self.schedule_refresh(list(notice.thread_ids) or None)

    def _orders_changed(self, notice: OrdersChanged) -> None:
        order_id = self.order_panel.order_id
        if order_id is not None and (not notice.order_ids or order_id in notice.order_ids):
            self.order_panel.reload()

    def schedule_refresh(self, changed: Iterable[int] | None = None) -> None:
        if changed is None:
            self._changed = None
        elif self._changed is not None:
            self._changed.update(changed)
        if not self.isVisible():
            self._dirty = True
            return
        if self._throttle.isActive():
            return
        wait = REFRESH_MIN_MS - (time.monotonic() - self._last_refresh) * 1000
        self._throttle.start(max(0, int(wait)))

    def _refresh_now(self) -> None:
        if not self.isVisible():
            self._dirty = True
            return
        self._dirty = False
        self._last_refresh = time.monotonic()
        self.refresh_count += 1
        changed, self._changed = self._changed, set()
        self.model.refresh(changed)
        self.reload_counts()
        current = self.conversation.thread_id
        if current is not None and (changed is None or current in changed):
            self.conversation.reload(keep_editor=True)

    def _clock_tick(self) -> None:
        """The time left changes as time passes: reload the loaded rows (hidden: later)."""
        if self.isVisible():
            self.model.refresh(None)
            self.reload_counts()
            self.conversation._show_clock()
            self._show_job_status()
        else:
            self._dirty = True

    # --- selection ------------------------------------------------------------------

    def _save_selection(self) -> None:
        current = self.table.selectionModel().currentIndex()
        self._saved_current = self.model.thread_id(current.row()) if current.isValid() else None

    def _restore_selection(self) -> None:
        row = self.model.row_of(self._saved_current) if self._saved_current else None
        if row is not None:
            self.table.selectionModel().setCurrentIndex(
                self.model.index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
            self.table.scrollTo(self.model.index(row, 0))

    def selected_thread_id(self) -> int | None:
        current = self.table.selectionModel().currentIndex()
        return self.model.thread_id(current.row()) if current.isValid() else None

    def select_row(self, row: int) -> None:
        if not 0 <= row < self.model.rowCount():
            return
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.scrollTo(index)

    def next_thread(self) -> None:
        current = self.table.selectionModel().currentIndex()
        self.select_row(current.row() + 1 if current.isValid() else 0)

    def previous_thread(self) -> None:
        current = self.table.selectionModel().currentIndex()
        self.select_row(current.row() - 1 if current.isValid() else 0)

    def focus_reply(self) -> None:
        self.conversation.focus_reply()

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        thread_id = self.model.thread_id(current.row()) if current.isValid() else None
        if thread_id is None:
            return
        if thread_id != self.conversation.thread_id:
            self.conversation.show_thread(thread_id)

    def _conversation_loaded(self, _thread_id: int) -> None:
        conversation = self.conversation.conversation
        order_id = None if conversation is None else conversation.thread.order_id
        if order_id is None:
            self.order_stack.setCurrentWidget(self.no_order_page)
            return
        self.order_stack.setCurrentWidget(self.order_panel)
        if order_id == self.order_panel.order_id:
            self.order_panel.reload()
        else:
            self.order_panel.show_order(order_id)

    # --- states ---------------------------------------------------------------------

    def _searched(self, count: int) -> None:
        self.count_label.setText(f"{count:,} conversation{'s' if count != 1 else ''}")
        self._update_page()

    def _search_failed(self, exc: BaseException) -> None:
        from ui.errors import show_error

        show_error(self, exc)

    def _update_page(self) -> None:
        if self.model.rowCount() > 0 or not self.model.searched_once:
            page: QWidget = self.table
        elif self._filtered():
            page = self.no_match
        elif self._mailboxes == 0:
            page = self.no_mailbox
        else:
            page = self.no_threads
        self.list_stack.setCurrentWidget(page)
        if self.model.rowCount() == 0 and self.model.searched_once:
            self.conversation.clear("No conversation to show.")
            self.order_stack.setCurrentWidget(self.no_order_page)


def make_tab(window: MainWindow) -> QWidget:
    """Factory for ``ui.tabs.TABS``: the Inbox tab of the signed-in operator."""
    actor: Actor = window.session.actor
    return InboxView(services=window.services, actor=actor, qt_events=window.qt_events)
