"""Table model of operator accounts for the admin view.

Operators are few (a seller's team), so the list is loaded whole; a single changed
operator updates its row with ``dataChanged`` and explicit roles, never a reset.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from app.auth.models import Operator
from app.auth.rbac import Role
from ui.models.base import HeaderedTableModel

# Custom role (Qt.UserRole + 20…; the orders roles use +1…).
OPERATOR_ID_ROLE = int(Qt.ItemDataRole.UserRole) + 20

_Index = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    USERNAME = 0
    NAME = 1
    ROLE = 2
    STORES = 3
    MFA = 4
    LOCKED = 5
    DISABLED = 6
    LAST_SIGN_IN = 7


HEADERS = {
    Column.USERNAME: "Username",
    Column.NAME: "Name",
    Column.ROLE: "Role",
    Column.STORES: "Stores",
    Column.MFA: "Two-step",
    Column.LOCKED: "Locked",
    Column.DISABLED: "Status",
    Column.LAST_SIGN_IN: "Last sign-in",
}

_DISPLAY_ROLES = [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole,
                  Qt.ItemDataRole.ForegroundRole, OPERATOR_ID_ROLE]  # fmt: skip


def format_local(at: datetime | None) -> str:
    if at is None:
        return "never"
    return at.astimezone().strftime("%Y-%m-%d %H:%M")


class OperatorsModel(HeaderedTableModel):
    """Rows: :class:`Operator`.  ``now`` decides whether a lockout is still active.

    Thread: GUI.  Data arrives from ``OperatorService`` through ``ui.ops``.
    """

    HEADERS = tuple(HEADERS[c] for c in Column)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[Operator] = []
        self._store_names: dict[int, str] = {}
        self._now: datetime | None = None

    # --- loading ----------------------------------------------------------------------

    def set_operators(
        self, operators: list[Operator], *, store_names: dict[int, str], now: datetime
    ) -> None:
        self.beginResetModel()
        self._rows = sorted(operators, key=lambda o: o.username.casefold())
        self._store_names = dict(store_names)
        self._now = now
        self.endResetModel()

    def update_operator(self, operator: Operator) -> None:
        """One operator changed: update its row (or add it)."""
        row = self.row_of(operator.id)
        if row is None:
            position = len(self._rows)
            self.beginInsertRows(QModelIndex(), position, position)
            self._rows.append(operator)
            self.endInsertRows()
            return
        self._rows[row] = operator
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(Column) - 1), _DISPLAY_ROLES)

    def row_of(self, operator_id: int) -> int | None:
        for i, op in enumerate(self._rows):
            if op.id == operator_id:
                return i
        return None

    def operator_at(self, row: int) -> Operator | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def operators(self) -> list[Operator]:
        return list(self._rows)

    def store_names(self) -> dict[int, str]:
        return dict(self._store_names)

    # --- QAbstractTableModel ----------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        if not (0 <= index.column() < len(Column)):
            return None
        op = self._rows[index.row()]
        column = Column(index.column())
        if role == OPERATOR_ID_ROLE:
            return op.id
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(op, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(op, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            if op.disabled:
                return QColor("#808080")
            if column == Column.LOCKED and self._locked(op):
                return QColor("#b3261e")
            if column == Column.MFA and not op.mfa_enrolled:
                return QColor("#a05a00")
        return None

    # --- cells ------------------------------------------------------------------------

    def _locked(self, op: Operator) -> bool:
        return self._now is not None and op.is_locked(self._now)

    def _display(self, op: Operator, column: Column) -> str:
        if column == Column.USERNAME:
            return op.username
        if column == Column.NAME:
            return op.display_name
        if column == Column.ROLE:
            return "Administrator" if op.role == Role.ADMIN else "Agent"
        if column == Column.STORES:
            if op.role == Role.ADMIN:
                return "All stores"
            names = [self._store_names.get(s, f"#{s}") for s in sorted(op.store_ids)]
            return ", ".join(names) if names else "none"
        if column == Column.MFA:
            if op.setup_pending:
                return "Awaiting setup"
            return "On" if op.mfa_enrolled else "Not set up"
        if column == Column.LOCKED:
            if self._locked(op) and op.locked_until is not None:
                return f"until {op.locked_until.astimezone().strftime('%H:%M')}"
            return ""
        if column == Column.DISABLED:
            return "Disabled" if op.disabled else "Active"
        return format_local(op.last_sign_in_at)

    def _tooltip(self, op: Operator, column: Column) -> str | None:
        if column == Column.NAME:
            return op.email
        if column == Column.LOCKED and self._locked(op):
            return f"Locked after {op.failed_attempts} failed sign-ins"
        if column == Column.MFA and op.setup_pending:
            return "Waiting for the operator to use their one-time setup code"
        return None
