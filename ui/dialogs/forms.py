"""What the settings dialogs (stores, mailboxes, drafting) share: the look of a
"Test connection" answer and of a field at fault, and the answer label itself."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

OK_STYLE = "background: #e7f4ea; border: 1px solid #9fd3ad; border-radius: 4px; padding: 8px;"
ERR_STYLE = "background: #fdecea; border: 1px solid #f1aeb5; border-radius: 4px; padding: 8px;"
BUSY_STYLE = "background: #eef2f7; border: 1px solid #c9d3e0; border-radius: 4px; padding: 8px;"
BAD_FIELD = "border: 1px solid #c62828;"


def esc(text: str) -> str:
    """``text`` for a rich-text label."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def result_label(object_name: str) -> QLabel:
    """The hidden, word-wrapped rich-text label a test or save answer appears in."""
    label = QLabel()
    label.setObjectName(object_name)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setVisible(False)
    return label
