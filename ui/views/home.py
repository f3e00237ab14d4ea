"""Overview tab: what this profile is and where its data lives (empty-state friendly)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from ui.main_window import MainWindow


def make_tab(window: MainWindow) -> QWidget:
    core = window.services.core
    tab = QWidget()
    tab.setObjectName("homeTab")
    layout = QVBoxLayout(tab)
    layout.setContentsMargins(32, 32, 32, 32)
    title = QLabel("<h2>Welcome to Müttefik Desk</h2>")
    mode = core.key_mode.label
    body = QLabel(
        "<p>Your data is stored in an encrypted database on this computer.</p>"
        f"<p><b>Profile folder:</b> {_esc(str(core.profile.root))}<br>"
        f"<b>Encryption key kept in:</b> {mode}</p>"
        "<p>Buyer messages, orders and shipping labels appear in their own tabs as you "
        "connect your Amazon store and mailbox.</p>"
    )
    body.setWordWrap(True)
    body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    layout.addWidget(title)
    layout.addWidget(body)
    layout.addStretch(1)
    return tab


def _esc(text: str) -> str:
    from html import escape

    return escape(text)
