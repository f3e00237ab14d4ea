"""Amazon stores (admins): list, connect another, edit settings and credentials, remove,
load a store's order history (``ui/dialogs/history.py``).

Thread: GUI; the store service is called through ``ui.ops``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.amazon.models import Store
from app.auth.models import Actor
from ui.dialogs.history import HistoryDialog
from ui.dialogs.store import MARKETPLACES, REGION_LABELS, StoreDialog
from ui.ops import Op, when_done

if TYPE_CHECKING:
    from ui.events import QtEvents

_STORE_ROLE = int(Qt.ItemDataRole.UserRole)
_COUNTRY = {mid: label for entries in MARKETPLACES.values() for mid, label in entries}


class StoresDialog(QDialog):
    def __init__(
        self,
        *,
        store_service: Any,
        actor: Actor,
        history: Any = None,
        settings_service: Any = None,
        qt_events: QtEvents | None = None,
        parent: QWidget | None = None,
    ):
        """``history`` (``services.history``): the "Load order history…" button, and a
        new store's history load starts at once; ``settings_service`` gives its default
        number of days; ``qt_events`` its live progress."""
        super().__init__(parent)
        self.setObjectName("storesDialog")
        self.setWindowTitle("Amazon stores")
        self.setMinimumSize(560, 340)
        self._service = store_service
        self._actor = actor
        self._history = history
        self._settings = settings_service
        self._qt_events = qt_events
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Each store is one Seller Central account in one region. Its app credentials "
            "are kept in your system keychain."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        body = QHBoxLayout()
        self.list = QListWidget()
        self.list.setObjectName("storesList")
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        self.list.itemDoubleClicked.connect(lambda _item: self.edit())
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        body.addWidget(self.list, 1)
        buttons = QVBoxLayout()
        self.add_button = QPushButton("Connect a store…")
        self.add_button.clicked.connect(self.add)
        self.edit_button = QPushButton("Edit…")
        self.edit_button.clicked.connect(self.edit)
        self.remove_button = QPushButton("Remove…")
        self.remove_button.clicked.connect(self.remove)
        self.history_button = QPushButton("Load order history…")
        self.history_button.setObjectName("loadHistory")
        self.history_button.setToolTip("Loads the store's past orders from Amazon's reports.")
        self.history_button.clicked.connect(self.load_history)
        self.history_button.setVisible(history is not None)
        for button in (self.add_button, self.edit_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addSpacing(12)
        buttons.addWidget(self.history_button)
        buttons.addStretch(1)
        body.addLayout(buttons)
        layout.addLayout(body, 1)
        self.empty = QLabel("No store is connected yet.")
        self.empty.setObjectName("storesEmpty")
        layout.addWidget(self.empty)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout.addWidget(close)
        self._update_buttons()  # nothing selected until the list arrives
        self.reload()

    def reload(self) -> None:
        when_done(self._service.list_stores(self._actor), self._show, parent=self)

    def _show(self, stores: list[Store]) -> None:
        self.list.clear()
        for store in stores:
            marketplaces = ", ".join(_COUNTRY.get(m, m) for m in store.marketplace_ids)
            demo = "  (demo)" if store.demo else ""
            region = REGION_LABELS.get(store.region, str(store.region))
            item = QListWidgetItem(f"{store.name}{demo}\n{region}: {marketplaces}")
            item.setToolTip(marketplaces)
            item.setData(_STORE_ROLE, store)
            self.list.addItem(item)
        self.empty.setVisible(not stores)
        if stores:
            self.list.setCurrentRow(0)
        self._update_buttons()

    def selected(self) -> Store | None:
        item = self.list.currentItem()
        store = None if item is None else item.data(_STORE_ROLE)
        return store if isinstance(store, Store) else None

    def _update_buttons(self) -> None:
        has = self.selected() is not None
        self.edit_button.setEnabled(has)
        self.remove_button.setEnabled(has)
        self.history_button.setEnabled(has)

    def add(self) -> None:
        self._open_store_dialog(None)

    def edit(self) -> None:
        store = self.selected()
        if store is not None:
            self._open_store_dialog(store)

    def _open_store_dialog(self, store: Store | None) -> StoreDialog:
        dialog = StoreDialog(
            store_service=self._service,
            actor=self._actor,
            store=store,
            history=self._history,
            parent=self,
        )
        dialog.store_saved.connect(lambda _s: self.reload())
        dialog.open()
        return dialog

    def load_history(self) -> HistoryDialog | None:
        store = self.selected()
        if store is None or self._history is None:
            return None
        dialog = HistoryDialog(
            history=self._history,
            actor=self._actor,
            store=store,
            settings_service=self._settings,
            qt_events=self._qt_events,
            parent=self,
        )
        dialog.open()
        return dialog

    def remove(self) -> None:
        store = self.selected()
        if store is None:
            return
        answer = QMessageBox.question(
            self,
            "Remove store",
            f"Remove “{store.name}”? Its synced orders and its credentials in the keychain "
            "are deleted from this computer. Nothing changes on Amazon.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        service, actor = self._service, self._actor
        Op(self, lambda job: service.delete_store(actor, store.id)).on_success(
            lambda _r: self.reload()
        ).run()
