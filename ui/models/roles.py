"""Custom item-data roles, all in one place so models, views and delegates agree on them.

Named ``ItemRole`` so that it is never mistaken for :class:`app.auth.rbac.Role`.
"""

from __future__ import annotations

from enum import IntEnum

from PySide6.QtCore import Qt

_BASE = int(Qt.ItemDataRole.UserRole)


class ItemRole(IntEnum):
    """Roles beyond Qt's own.  Values start at ``Qt.UserRole + 1``."""

    #: The row's key (an order id, an operator id, an audit entry's seq), in every cell
    #: of a loaded row; ``LazyTableModel.key_at(row)`` has it before the row loads.
    KEY = _BASE + 1
    #: ``True`` once the row's data has arrived from the DB thread.
    LOADED = _BASE + 2
    #: The raw order status code (``"UNSHIPPED"``, ``"SHIPPED"``…), for delegates.
    STATUS = _BASE + 3
    #: ``True`` when an unshipped order is past its ship-by date.
    LATE = _BASE + 4
    #: A thread's place on the 24-hour clock (``app.mail.models.Urgency`` value).
    URGENCY = _BASE + 5
    #: ``True`` when a thread has buyer messages nobody opened yet.
    UNREAD = _BASE + 6
