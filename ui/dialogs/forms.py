"""What the settings dialogs (stores, mailboxes, drafting, shipping) share: the look of
a "Test connection" answer and of a field at fault, the answer label itself, the
message line under a field; and the views' yes-or-cancel question before an action
that cannot be undone (:func:`ask_confirm`)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QMessageBox, QWidget

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


def field_error_label(form: QFormLayout, field: str) -> QLabel:
    """The hidden red message line under ``field``'s row of ``form`` (``<field>Error``)."""
    label = QLabel()
    label.setObjectName(f"{field}Error")
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setStyleSheet("color: #c62828;")
    form.addRow("", label)
    form.setRowVisible(label, False)
    return label


def ask_confirm(parent: QWidget, title: str, text: str) -> bool:
    """Yes or Cancel (the default), as a question box; True for Yes."""
    answer = QMessageBox.question(
        parent,
        title,
        text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Yes
