"""What every table model here shares: a fixed set of columns with text headers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

Index = QModelIndex | QPersistentModelIndex

_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


class HeaderedTableModel(QAbstractTableModel):
    """Subclasses set ``HEADERS`` (one title per column, in column order) and, for
    numbers, ``RIGHT_ALIGNED`` columns; they still provide ``rowCount`` and ``data``."""

    HEADERS: ClassVar[Sequence[str]] = ()
    RIGHT_ALIGNED: ClassVar[frozenset[int]] = frozenset()

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.HEADERS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole and section in self.RIGHT_ALIGNED:
            return _RIGHT
        return None
