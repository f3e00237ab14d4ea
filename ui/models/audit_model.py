"""Lazy table model of the audit log (newest first).

A filter change asks the DB thread for the count only; rows are fetched a page at a time
when the view first asks for them, cached by page, and announced with ``dataChanged``
for exactly that page's rows.  Stale answers (from before a newer filter) are dropped.
"""

from __future__ import annotations

import json
from enum import IntEnum
from typing import Any

import shiboken6
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal

from app.audit import AuditEntry, AuditFilter, AuditService
from app.auth.models import Actor
from ui.models.base import HeaderedTableModel
from ui.ops import Op

# Custom roles (Qt.UserRole + 30…; the orders roles use +1…, operators +20).
AUDIT_SEQ_ROLE = int(Qt.ItemDataRole.UserRole) + 30
AUDIT_LOADED_ROLE = int(Qt.ItemDataRole.UserRole) + 31

_Index = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    SEQ = 0
    TIME = 1
    OPERATOR = 2
    ACTION = 3
    OBJECT = 4
    DETAILS = 5


HEADERS = {
    Column.SEQ: "#",
    Column.TIME: "Time",
    Column.OPERATOR: "Operator",
    Column.ACTION: "Action",
    Column.OBJECT: "Object",
    Column.DETAILS: "Details",
}


def _details_text(details: dict[str, Any]) -> str:
    parts = []
    for key in sorted(details):
        value = details[key]
        if value is None:
            continue
        text = (",".join(map(str, value)) or "none") if isinstance(value, list) else str(value)
        parts.append(f"{key}={text}")
    return "  ".join(parts)


class AuditModel(HeaderedTableModel):
    """Signals: ``count_loaded(int)`` after a filter's count arrived; ``page_loaded(int)``
    (page number) after rows arrived.  Thread: GUI; queries run on the DB thread."""

    HEADERS = tuple(HEADERS[c] for c in Column)

    count_loaded = Signal(int)
    page_loaded = Signal(int)
    load_failed = Signal(object)

    def __init__(
        self, *, service: AuditService, actor: Actor, page_size: int = 200, parent: Any = None
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._actor = actor
        self._page_size = page_size
        self._filter = AuditFilter()
        self._count = 0
        self._pages: dict[int, list[AuditEntry]] = {}
        self._pending: set[int] = set()
        self._generation = 0

    # --- loading ----------------------------------------------------------------------

    @property
    def filter(self) -> AuditFilter:
        return self._filter

    def set_filter(self, filt: AuditFilter) -> None:
        """Count the matching entries, then show that many (rows load lazily)."""
        self._filter = filt
        self._generation += 1
        generation = self._generation
        service, actor = self._service, self._actor
        Op(None, lambda job: service.count(actor, filt)).on_success(
            lambda n: self._count_arrived(generation, n)
        ).on_failure(self.load_failed.emit).run()

    def refresh(self) -> None:
        self.set_filter(self._filter)

    def _count_arrived(self, generation: int, count: int) -> None:
        if not shiboken6.isValid(self) or generation != self._generation:
            return
        self.beginResetModel()
        self._count = count
        self._pages.clear()
        self._pending.clear()
        self.endResetModel()
        self.count_loaded.emit(count)

    def _request_page(self, page: int) -> None:
        if page in self._pending or page in self._pages:
            return
        self._pending.add(page)
        generation = self._generation
        service, actor, filt = self._service, self._actor, self._filter
        offset, limit = page * self._page_size, self._page_size
        Op(None, lambda job: service.search(actor, filt, offset=offset, limit=limit)).on_success(
            lambda rows: self._page_arrived(generation, page, rows)
        ).on_failure(self._page_failed(generation, page)).run()

    def _page_failed(self, generation: int, page: int) -> Any:
        def failed(exc: BaseException) -> None:
            if shiboken6.isValid(self) and generation == self._generation:
                self._pending.discard(page)
                self.load_failed.emit(exc)

        return failed

    def _page_arrived(self, generation: int, page: int, rows: list[AuditEntry]) -> None:
        if not shiboken6.isValid(self) or generation != self._generation:
            return
        self._pending.discard(page)
        self._pages[page] = rows
        first = page * self._page_size
        last = min(first + self._page_size, self._count) - 1
        if last >= first:
            self.dataChanged.emit(
                self.index(first, 0),
                self.index(last, len(Column) - 1),
                [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole,
                 AUDIT_SEQ_ROLE, AUDIT_LOADED_ROLE],
            )  # fmt: skip
        self.page_loaded.emit(page)

    def entry_at(self, row: int) -> AuditEntry | None:
        """The entry if its page is loaded (else ``None`` and the page is requested)."""
        if not (0 <= row < self._count):
            return None
        page, offset = divmod(row, self._page_size)
        rows = self._pages.get(page)
        if rows is None:
            self._request_page(page)
            return None
        return rows[offset] if offset < len(rows) else None

    # --- QAbstractTableModel ----------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._count

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < self._count):
            return None
        if not (0 <= index.column() < len(Column)):
            return None
        if role not in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
            AUDIT_SEQ_ROLE,
            AUDIT_LOADED_ROLE,
        ):
            return None
        entry = self.entry_at(index.row())
        if role == AUDIT_LOADED_ROLE:
            return entry is not None
        if entry is None:
            return "…" if role == Qt.ItemDataRole.DisplayRole else None
        if role == AUDIT_SEQ_ROLE:
            return entry.seq
        column = Column(index.column())
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == Column.DETAILS and entry.details:
                return json.dumps(entry.details, sort_keys=True, indent=1)
            if column == Column.SEQ:
                return f"hash {entry.hash[:16]}…"
            return None
        if column == Column.SEQ:
            return str(entry.seq)
        if column == Column.TIME:
            return entry.at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        if column == Column.OPERATOR:
            if entry.actor_username:
                return entry.actor_username
            return "—" if entry.actor_id is None else f"#{entry.actor_id}"
        if column == Column.ACTION:
            return entry.label
        if column == Column.OBJECT:
            if entry.object_type is None:
                return ""
            return f"{entry.object_type} {entry.object_id or ''}".strip()
        return _details_text(entry.details)
