"""The Orders tab: filter bar, lazy orders table, detail panel and empty states.

Searching as you type is debounced (250 ms); every filter change re-queries ids on the DB
thread.  ``OrdersChanged`` refreshes are throttled (at most one per ``REFRESH_MIN_MS``)
and deferred while the tab is hidden; the selection survives refreshes (by order id).

Everything it shows comes through ``services.orders`` (the orders door) as the signed-in
operator, so the filter offers only the stores the database says that operator may see.

"Buy shipping label…" (Ctrl+Shift+L, the table's context menu, the filter bar's button)
opens the one-order dialog or, for several selected orders, the batch dialog; it is shown
only to an operator who may ship for one of the stores (the label service checks again).

Signals: ``connect_store_requested`` (the empty state's "Connect your Amazon store").
Thread: GUI only.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QDate,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QKeySequence, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.amazon.models import Order, OrderStatus, Store, SyncProgress
from app.amazon.orders_service import OrderQuery
from app.auth.models import Actor
from app.auth.rbac import Permission, allowed
from app.clock import Clock
from app.notices import (
    OrdersChanged,
    StoresChanged,
    SyncFailed,
    SyncFinished,
    SyncProgressed,
)
from ui.models.orders_model import STATUS_TEXT, Column, OrdersModel
from ui.ops import when_done
from ui.views.order_detail import OrderDetailPanel

# An Amazon order id, e.g. 113-4504367-4974212.
ORDER_ID_RE = re.compile(r"\d{3}-\d{7}-\d{7}")
NO_MATCH_TEXT = "Nothing matches these filters and search words."

if TYPE_CHECKING:
    from app.services import Services
    from ui.events import QtEvents
    from ui.main_window import MainWindow

SEARCH_DEBOUNCE_MS = 250
REFRESH_MIN_MS = 2000

_DATE_RANGES: list[tuple[str, int | None]] = [
    ("Any time", None),
    ("Today", 0),
    ("Last 7 days", 7),
    ("Last 30 days", 30),
    ("Last 90 days", 90),
    ("Custom range…", -1),
]


class _OrdersTable(QTableView):
    """The orders table; says when its size or visibility changes (the rows it shows).

    Only these two handlers are Python: a repaint runs none (see ui.models.orders_model).
    """

    geometry_changed = Signal()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.geometry_changed.emit()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.geometry_changed.emit()


class _EmptyState(QWidget):
    """A centred message with an optional button and progress bar."""

    def __init__(self, name: str, title: str, text: str, button: str | None = None) -> None:
        super().__init__()
        self.setObjectName(name)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        self.title = QLabel(title)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setStyleSheet("font-size: 16px; font-weight: 600;")
        layout.addWidget(self.title)
        self.text = QLabel(text)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setWordWrap(True)
        self.text.setStyleSheet("color: #555;")
        self.text.setMaximumWidth(520)
        # Centred between stretches: the label keeps its wrapped height (an alignment
        # flag would shrink it to one line's width and clip the rest).
        text_row = QHBoxLayout()
        text_row.addStretch(1)
        text_row.addWidget(self.text, 100)
        text_row.addStretch(1)
        layout.addLayout(text_row)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress.setMaximumWidth(360)
        self.progress.setMinimumWidth(300)
        self.button = QPushButton(button or "")
        self.button.setVisible(button is not None)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.progress)
        row.addWidget(self.button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(2)


class OrdersView(QWidget):
    connect_store_requested = Signal()

    def __init__(
        self,
        *,
        services: Services,
        actor: Actor,
        clock: Clock | None = None,
        qt_events: QtEvents | None = None,
        can_connect_store: bool | None = None,
        page_size: int = 50,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("ordersView")
        self._services = services
        self._orders = services.orders
        self._actor = actor
        self._clock = clock or services.core.clock
        self._can_connect = actor.is_admin if can_connect_store is None else can_connect_store
        self._stores: list[Store] = []
        self._stores_known = False
        self._markets_stale = False  # new orders arrived: re-read the marketplaces
        self._sync_running = False
        self._dirty = False
        self._changed: set[str] | None = set()  # synced since the last refresh; None: any
        self._last_refresh = 0.0
        self._saved_selection: list[str] = []
        self._saved_current: str | None = None
        self.refresh_count = 0  # refreshes actually run (tests, diagnostics)

        self.model = OrdersModel(
            service=services.orders,
            actor=actor,
            clock=self._clock,
            page_size=page_size,
            parent=self,
        )
        self._build_filter_bar()
        self._build_table()
        self._build_label_action()
        self.detail = OrderDetailPanel(services=services, actor=actor, qt_events=qt_events)

        self.no_store = _EmptyState(
            "noStoreState",
            "Connect your Amazon store",
            "Müttefik Desk shows your orders once a store is connected. You need your app's "
            "LWA client id and secret and a refresh token from Seller Central.",
            "Connect your Amazon store…" if self._can_connect else None,
        )
        if not self._can_connect:
            self.no_store.text.setText(
                "No store is connected yet, or you are not a member of one. Ask an "
                "administrator to connect the store or add you to it."
            )
        self.no_store.button.clicked.connect(self.connect_store_requested)
        self.no_match = _EmptyState(
            "noMatchState",
            "No orders match",
            NO_MATCH_TEXT,
            "Clear filters",
        )
        self.no_match.button.clicked.connect(self.clear_filters)
        # A complete order id that is not stored yet (older than the synced history, or
        # the sync has not reached it): fetch it from Amazon at once.
        self.lookup_button = QPushButton()
        self.lookup_button.setObjectName("lookupOrder")
        self.lookup_button.setVisible(False)
        self.lookup_button.clicked.connect(self._lookup_order)
        no_match_layout = self.no_match.layout()
        assert isinstance(no_match_layout, QVBoxLayout)
        no_match_layout.insertWidget(
            no_match_layout.count() - 1, self.lookup_button, 0, Qt.AlignmentFlag.AlignHCenter
        )
        self.first_sync = _EmptyState(
            "firstSyncState",
            "Fetching your orders for the first time",
            "Amazon sends 100 orders at a time and only a few pages a minute, so a large "
            "history takes a while. Newest orders come first; you can keep working.",
        )
        self.first_sync.progress.setVisible(True)
        self.first_sync.progress.setRange(0, 0)
        self.no_orders = _EmptyState(
            "noOrdersState", "No orders yet", "The store is connected; no orders arrived yet."
        )

        self.stack = QStackedWidget()
        for page in (self.table, self.no_store, self.no_match, self.first_sync, self.no_orders):
            self.stack.addWidget(page)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.stack)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([1000, 340])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.addLayout(self.filter_bar)
        layout.addWidget(self.splitter, 1)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(self.apply_filters)
        self._throttle = QTimer(self)
        self._throttle.setSingleShot(True)
        self._throttle.timeout.connect(self._refresh_now)

        self.model.modelAboutToBeReset.connect(self._save_selection)
        self.model.modelReset.connect(self._restore_selection)
        self.model.search_finished.connect(self._searched)
        self.model.search_failed.connect(self._search_failed)

        if qt_events is not None:
            qt_events.on(OrdersChanged, self._orders_changed)
            qt_events.on(SyncProgressed, lambda n: self._sync_progress(n.progress), owner=self)
            qt_events.on(SyncFinished, lambda _n: self._sync_stopped(), owner=self)
            qt_events.on(SyncFailed, lambda _n: self._sync_stopped(), owner=self)
            qt_events.on(StoresChanged, lambda _n: self.reload_stores(), owner=self)

        self.reload_stores()
        self.model.set_query(self.current_query())

    # --- building -------------------------------------------------------------------

    def _build_filter_bar(self) -> None:
        bar = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setObjectName("orderSearch")
        self.search.setPlaceholderText("Search order id, ASIN, SKU or title")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(240)
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        bar.addWidget(self.search, 2)

        self.status_combo = QComboBox()
        self.status_combo.setObjectName("statusFilter")
        self.status_combo.addItem("All statuses", None)
        for status in OrderStatus:
            self.status_combo.addItem(STATUS_TEXT[status], status)
        self.status_combo.currentIndexChanged.connect(lambda _i: self.apply_filters())
        bar.addWidget(self.status_combo)

        self.store_combo = QComboBox()
        self.store_combo.setObjectName("storeFilter")
        self.store_combo.addItem("All stores", None)
        # Stores and marketplaces arrive after the first show: grow to fit them ("Amazon.d"),
        # up to a width that leaves the search room (the list itself shows long names).
        self.store_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.store_combo.setMaximumWidth(self.fontMetrics().horizontalAdvance("M" * 18))
        self.store_combo.currentIndexChanged.connect(lambda _i: self.apply_filters())
        bar.addWidget(self.store_combo)

        self.date_combo = QComboBox()
        self.date_combo.setObjectName("dateFilter")
        for label, days in _DATE_RANGES:
            self.date_combo.addItem(label, days)
        self.date_combo.currentIndexChanged.connect(self._date_mode_changed)
        bar.addWidget(self.date_combo)
        today = QDate.currentDate()
        self.date_from = QDateEdit(today.addDays(-30))
        self.date_to = QDateEdit(today)
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("dd MMM yyyy")
            edit.setVisible(False)
            edit.dateChanged.connect(lambda _d: self.apply_filters())
            bar.addWidget(edit)

        self.needs_shipping = QCheckBox("Needs shipping")
        self.needs_shipping.setObjectName("needsShipping")
        self.needs_shipping.toggled.connect(lambda _c: self.apply_filters())
        bar.addWidget(self.needs_shipping)
        self.late_to_ship = QCheckBox("Late to ship")
        self.late_to_ship.setObjectName("lateToShip")
        self.late_to_ship.toggled.connect(lambda _c: self.apply_filters())
        bar.addWidget(self.late_to_ship)

        self.count_label = QLabel("")
        self.count_label.setObjectName("orderCount")
        self.count_label.setStyleSheet("color: #555;")
        bar.addWidget(self.count_label)
        self.filter_bar: QHBoxLayout = bar

    def _build_table(self) -> None:
        table = _OrdersTable()
        table.setObjectName("ordersTable")
        table.setModel(self.model)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        table.setAlternatingRowColors(True)
        table.setWordWrap(False)
        table.verticalHeader().setVisible(False)
        # Fixed row heights: the view never measures rows, so 100k rows scroll smoothly.
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        table.verticalHeader().setDefaultSectionSize(24)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        # Widths from the font, so ids and dates fit whatever the desktop's font size;
        # Items takes what is left.
        fm = table.fontMetrics()
        pad = 2 * fm.averageCharWidth()
        samples = {
            Column.ORDER_ID: "000-0000000-0000000",
            Column.DATE: "00 Nov 0000 00:00",
            Column.STATUS: "Partly shipped",
            Column.MARKETPLACE: "Amazon.co.uk",
            Column.TOTAL: "0,000.00 EUR",
            Column.SHIP_BY: "00 Nov 0000",
            Column.DELIVERY: "Late to ship",
        }
        for column, sample in samples.items():
            header.resizeSection(column, fm.horizontalAdvance(sample) + pad)
        header.setSectionResizeMode(Column.ITEMS, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(fm.horizontalAdvance("Items") + pad)
        header.setStretchLastSection(False)
        header.setSortIndicator(Column.DATE, Qt.SortOrder.DescendingOrder)
        table.setSortingEnabled(True)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.table = table
        # The model loads the rows the table shows: tell it after every scroll, resize
        # and change of rows (coalesced to once per event-loop turn).
        self._shown_timer = QTimer(self)
        self._shown_timer.setSingleShot(True)
        self._shown_timer.setInterval(0)
        self._shown_timer.timeout.connect(self._report_shown_rows)
        # A scroll asks at once (the view has moved by then): the read is under way while
        # the view paints the new position, instead of after.
        table.verticalScrollBar().valueChanged.connect(lambda _v: self._report_shown_rows())
        for signal in (self.model.modelReset, self.model.rowsInserted, self.model.rowsRemoved):
            signal.connect(lambda *_a: self._shown_timer.start())
        table.geometry_changed.connect(self._shown_timer.start)
        # Asked once, here: the first call wraps the viewport, which makes PySide set up
        # every QtWidgets class not imported yet (30 ms, more under load): that belongs
        # in building the tab, not in the first sync's first rows.
        self._viewport = table.viewport()

    def _build_label_action(self) -> None:
        action = QAction("Buy shipping label…", self)
        action.setObjectName("buyLabelAction")
        action.setShortcut(QKeySequence("Ctrl+Shift+L"))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.setEnabled(False)
        action.setVisible(False)  # until the stores say this operator may ship
        action.triggered.connect(lambda _checked=False: self.buy_labels())
        self.addAction(action)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.table.addAction(action)
        self.buy_label_action = action
        button = QToolButton()
        button.setObjectName("buyLabelButton")
        button.setDefaultAction(action)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        button.setVisible(False)
        self.filter_bar.addWidget(button)
        self.buy_label_button = button
        self.table.selectionModel().selectionChanged.connect(
            lambda *_a: self._update_label_action()
        )
        self.model.modelReset.connect(self._update_label_action)

    def _may_ship(self) -> bool:
        """Whether this operator may buy labels for one of the stores shown."""
        return any(allowed(self._actor, Permission.SHIP_ORDERS, store.id) for store in self._stores)

    def _update_label_action(self) -> None:
        may = self._may_ship()
        self.buy_label_action.setVisible(may)
        self.buy_label_button.setVisible(may)
        self.buy_label_action.setEnabled(may and bool(self.table.selectionModel().hasSelection()))
        count = len(self.table.selectionModel().selectedRows())
        # The text stays put (the filter bar would jump); the tooltip says what it does.
        self.buy_label_action.setToolTip(
            f"Rates, review and labels for the {count} selected orders (Ctrl+Shift+L)"
            if count > 1
            else "Rates and a label for the selected order (Ctrl+Shift+L)"
        )

    def buy_labels(self) -> QDialog | None:
        """One selected order: the buy dialog; several: the batch dialog.  Returns it."""
        ids = self.selected_order_ids()
        if not ids or not self._may_ship():
            return None
        dialog: QDialog
        if len(ids) == 1:
            from ui.dialogs.label_buy import BuyLabelDialog

            dialog = BuyLabelDialog(self._services, self._actor, ids[0], self)
        else:
            from ui.dialogs.label_batch import BatchLabelDialog

            dialog = BatchLabelDialog(self._services, self._actor, ids, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _report_shown_rows(self) -> None:
        table = self.table
        count = self.model.rowCount()
        if not count:
            return
        first = max(0, table.rowAt(0))
        last = table.rowAt(self._viewport.height() - 1)
        self.model.want_rows(first, last if last >= 0 else count - 1)

    # --- filters --------------------------------------------------------------------

    def current_query(self) -> OrderQuery:
        status = self.status_combo.currentData()
        scope = self.store_combo.currentData()
        store_ids: frozenset[int] = frozenset()
        marketplace_ids: frozenset[str] = frozenset()
        if isinstance(scope, str):
            kind, _, value = scope.partition(":")
            if kind == "store":
                store_ids = frozenset({int(value)})
            else:
                marketplace_ids = frozenset({str(value)})
        date_from, date_to = self._date_bounds()
        return OrderQuery(
            statuses=frozenset({status}) if status is not None else frozenset(),
            store_ids=store_ids,
            marketplace_ids=marketplace_ids,
            date_from=date_from,
            date_to=date_to,
            needs_shipping=self.needs_shipping.isChecked(),
            late_to_ship=self.late_to_ship.isChecked(),
            text=self.search.text().strip(),
            sort=self.model.query.sort,
            descending=self.model.query.descending,
        )

    def _date_bounds(self) -> tuple[datetime | None, datetime | None]:
        days = self.date_combo.currentData()
        if days is None:
            return None, None
        if days == -1:
            first, last = self.date_from.date(), self.date_to.date().addDays(1)
            start = date(first.year(), first.month(), first.day())
            end = date(last.year(), last.month(), last.day())
            return _local_midnight(start), _local_midnight(end)
        today = self._clock.now().astimezone().date()
        return _local_midnight(today - timedelta(days=int(days))), None

    def _date_mode_changed(self, _index: int) -> None:
        custom = self.date_combo.currentData() == -1
        self.date_from.setVisible(custom)
        self.date_to.setVisible(custom)
        self.apply_filters()

    def apply_filters(self) -> None:
        self._debounce.stop()
        query = self.current_query()
        if query != self.model.query:
            self.model.set_query(query)

    def clear_filters(self) -> None:
        widgets = (
            self.search,
            self.status_combo,
            self.store_combo,
            self.date_combo,
            self.needs_shipping,
            self.late_to_ship,
        )
        for w in widgets:
            w.blockSignals(True)
        self.search.clear()
        self.status_combo.setCurrentIndex(0)
        self.store_combo.setCurrentIndex(0)
        self.date_combo.setCurrentIndex(0)
        self.date_from.setVisible(False)
        self.date_to.setVisible(False)
        self.needs_shipping.setChecked(False)
        self.late_to_ship.setChecked(False)
        for w in widgets:
            w.blockSignals(False)
        self.apply_filters()

    def _filtered(self) -> bool:
        q = self.model.query
        return bool(
            q.text
            or q.statuses
            or q.store_ids
            or q.marketplace_ids
            or q.date_from
            or q.date_to
            or q.needs_shipping
            or q.late_to_ship
        )

    # --- stores ---------------------------------------------------------------------

    def reload_stores(self) -> None:
        """Read the operator's stores and their marketplaces (DB thread) for the filter
        and the empty states."""
        when_done(
            self._orders.stores_and_marketplaces(self._actor), self._stores_loaded, parent=self
        )

    def _stores_loaded(self, result: tuple[list[Store], list[tuple[str, str]]]) -> None:
        stores, markets = result
        self._stores = stores
        self._stores_known = True
        current = self.store_combo.currentData()
        self.store_combo.blockSignals(True)
        self.store_combo.clear()
        self.store_combo.addItem("All stores", None)
        if len(stores) > 1:
            for store in stores:
                self.store_combo.addItem(store.name, f"store:{store.id}")
        for market_id, name in markets:
            self.store_combo.addItem(name, f"mkt:{market_id}")
        index = max(0, self.store_combo.findData(current))
        self.store_combo.setCurrentIndex(index)
        self.store_combo.blockSignals(False)
        self._update_label_action()
        self._update_page()

    # --- refresh --------------------------------------------------------------------

    def _orders_changed(self, notice: OrdersChanged) -> None:
        if notice.new:  # new orders may come from a marketplace the filter lacks
            self._markets_stale = True
        self.schedule_refresh(list(notice.order_ids) or None)

    def schedule_refresh(self, changed: Iterable[str] | None = None) -> None:
        """Orders were synced: refresh soon (throttled), or on show if hidden.

        ``changed``: the order ids that changed (only their rows reload); ``None``: any.
        """
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
        if not self._stores_known or not self._stores or self._markets_stale:
            self._markets_stale = False
            self.reload_stores()
        changed, self._changed = self._changed, set()
        self.model.refresh(changed)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._dirty:
            self._dirty = False
            self.schedule_refresh()

    # --- selection across refreshes -------------------------------------------------

    def _save_selection(self) -> None:
        sm = self.table.selectionModel()
        self._saved_selection = [
            oid
            for oid in (self.model.order_id(i.row()) for i in sm.selectedRows())
            if oid is not None
        ]
        current = sm.currentIndex()
        self._saved_current = self.model.order_id(current.row()) if current.isValid() else None

    def _restore_selection(self) -> None:
        sm = self.table.selectionModel()
        selection = QItemSelection()
        last = self.model.columnCount() - 1
        for oid in self._saved_selection:
            row = self.model.row_of(oid)
            if row is not None:
                selection.select(self.model.index(row, 0), self.model.index(row, last))
        if not selection.isEmpty():
            sm.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        current_row = self.model.row_of(self._saved_current) if self._saved_current else None
        if current_row is not None:
            sm.setCurrentIndex(
                self.model.index(current_row, 0), QItemSelectionModel.SelectionFlag.NoUpdate
            )
            self.table.scrollTo(self.model.index(current_row, 0))

    def selected_order_ids(self) -> list[str]:
        rows = self.table.selectionModel().selectedRows()
        return [oid for oid in (self.model.order_id(i.row()) for i in rows) if oid]

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        oid = self.model.order_id(current.row()) if current.isValid() else None
        if oid is None:
            return
        if oid == self.detail.order_id:
            self.detail.reload()
        else:
            self.detail.show_order(oid)

    # --- states ---------------------------------------------------------------------

    def _searched(self, count: int) -> None:
        self.count_label.setText(f"{count:,} order{'s' if count != 1 else ''}")
        if count and not self.table.selectionModel().currentIndex().isValid():
            self.detail.clear()
        self._update_page()

    def _search_failed(self, exc: BaseException) -> None:
        from ui.errors import show_error

        show_error(self, exc)

    def _sync_progress(self, progress: SyncProgress) -> None:
        self._sync_running = True
        text = f"{progress.orders:,} orders so far"
        if progress.eta_seconds:
            text += f", about {_duration(progress.eta_seconds)} left"
        self.first_sync.progress.setFormat(text)
        self.first_sync.progress.setTextVisible(True)
        self.first_sync.text.setText(
            "Amazon sends 100 orders at a time and only a few pages a minute, so a large "
            f"history takes a while. {text}. Newest orders come first; you can keep "
            "working."
        )
        if self.model.rowCount() == 0:
            self._update_page()
        self.schedule_refresh(())

    def _sync_stopped(self) -> None:
        self._sync_running = False
        self._update_page()

    def _wanted_order_id(self) -> str | None:
        """The search text, if it is one complete Amazon order id."""
        text = self.search.text().strip()
        return text if ORDER_ID_RE.fullmatch(text) else None

    def _lookup_order(self) -> None:
        order_id = self._wanted_order_id()
        if order_id is None:
            return
        self.lookup_button.setEnabled(False)
        self.lookup_button.setText(f"Fetching order {order_id} from Amazon…")

        def done(order: Order | None) -> None:
            self.lookup_button.setEnabled(True)
            if order is None:
                self.lookup_button.setText(f"Amazon does not know order {order_id}")
                return
            self.model.refresh()

        def failed(exc: BaseException) -> None:
            from ui.errors import show_error

            self.lookup_button.setEnabled(True)
            self._update_page()
            show_error(self, exc)

        when_done(self._orders.fetch_order(self._actor, order_id), done, failed, parent=self)

    def _update_page(self) -> None:
        wanted = self._wanted_order_id()
        self.lookup_button.setVisible(wanted is not None)
        if wanted is not None:
            self.lookup_button.setEnabled(True)
            self.lookup_button.setText(f"Fetch order {wanted} from Amazon")
            self.no_match.text.setText(
                f"Order {wanted} is not among the orders synced to this computer yet "
                "(the sync fetches newest orders first). You can fetch it now."
            )
        else:
            self.no_match.text.setText(NO_MATCH_TEXT)
        if self.model.rowCount() > 0:
            page: QWidget = self.table
        elif not self.model.searched_once:
            page = self.table
        elif self._filtered():
            page = self.no_match
        elif self._stores_known and not self._stores:
            page = self.no_store
        elif self._sync_running:
            page = self.first_sync
        else:
            page = self.no_orders
        self.stack.setCurrentWidget(page)


def _local_midnight(day: Any) -> datetime:
    return datetime(day.year, day.month, day.day).astimezone().astimezone(UTC)


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return "less than a minute"
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def make_tab(window: MainWindow) -> QWidget:
    """Factory for ``ui.tabs.TABS``: the Orders tab of the signed-in operator."""
    services = window.services
    actor: Actor = window.session.actor
    view = OrdersView(services=services, actor=actor, qt_events=window.qt_events)

    def connect() -> None:
        from ui.dialogs.store import StoreDialog

        StoreDialog(
            store_service=services.stores, actor=actor, history=services.history, parent=window
        ).open()

    view.connect_store_requested.connect(connect)
    return view
