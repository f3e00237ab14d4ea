"""Custom item-data roles, all in one place so views and delegates agree on them."""

from __future__ import annotations

from enum import IntEnum

from PySide6.QtCore import Qt

_BASE = int(Qt.ItemDataRole.UserRole)


class Role(IntEnum):
    """Roles beyond Qt's own.  Values start at ``Qt.UserRole + 1``."""

    #: The order id of the row (``str``), available even before the row is loaded.
    ORDER_ID = _BASE + 1
    #: ``True`` once the row's data has arrived from the DB thread.
    LOADED = _BASE + 2
    #: The raw order status code (``"UNSHIPPED"``, ``"SHIPPED"``…), for delegates.
    STATUS = _BASE + 3
    #: ``True`` when an unshipped order is past its ship-by date.
    LATE = _BASE + 4
