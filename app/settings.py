"""Every setting, declared once: key, type, default, bounds, description.

Settings live in the encrypted vault (table ``settings``), so they are protected like
the data they govern and changes can be audited.  Secrets never go here.
Functions taking ``conn`` run on the DB thread.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T", int, bool, str, float)


@dataclass(frozen=True)
class Setting(Generic[T]):
    key: str
    type: type[T]
    default: T
    description: str
    minimum: T | None = None
    maximum: T | None = None

    def validate(self, value: Any) -> T:
        if self.type is int and isinstance(value, bool):
            raise ValueError(f"{self.key}: expected a whole number")
        if not isinstance(value, self.type):
            try:
                value = self.type(value)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{self.key}: expected {self.type.__name__}") from exc
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"{self.description}: at least {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"{self.description}: at most {self.maximum}")
        return value  # type: ignore[no-any-return]


REGISTRY: dict[str, Setting[Any]] = {}


def declare(setting: Setting[T]) -> Setting[T]:
    if setting.key in REGISTRY:
        raise RuntimeError(f"setting {setting.key} declared twice")
    REGISTRY[setting.key] = setting
    return setting


# --- security -------------------------------------------------------------------------
IDLE_LOCK_MINUTES = declare(
    Setting("security.idle_lock_minutes", int, 15, "Lock after minutes without input", 1, 240)
)
PASSWORD_MIN_LENGTH = declare(
    Setting("security.password_min_length", int, 12, "Minimum password length", 12, 128)
)
AUDIT_RETENTION_MONTHS = declare(
    Setting("audit.retention_months", int, 12, "Keep audit entries (months)", 12, 120)
)

# --- Amazon sync ----------------------------------------------------------------------
SYNC_INTERVAL_MINUTES = declare(
    Setting("sync.interval_minutes", int, 10, "Sync orders every (minutes)", 2, 1440)
)
SYNC_BACKFILL_DAYS = declare(
    Setting("sync.backfill_days", int, 90, "Fetch order history back (days)", 7, 730)
)

# --- buyer messages -------------------------------------------------------------------
MAIL_POLL_MINUTES = declare(
    Setting("mail.poll_minutes", int, 2, "Check mail every (minutes)", 1, 60)
)
NOTIFY_MUTE = declare(
    Setting("notify.mute", bool, False, "Mute desktop notifications of new buyer messages")
)

# --- drafting -------------------------------------------------------------------------
DRAFT_ON_OPEN = declare(
    Setting("drafting.draft_on_open", bool, True, "Draft a reply when a thread is opened")
)
DRAFT_PROVIDER = declare(Setting("drafting.provider", str, "Templates", "Drafting provider (name)"))
#: Opt-in (off by default): keep bought labels for reprinting after a restart, encrypted
#: (AES-GCM, key in the keychain), for this many hours at most.  Off: reprints after a
#: restart download the label from Amazon again.
LABEL_REPRINT_CACHE = declare(
    Setting("labels.reprint_cache", bool, False, "Keep labels for reprinting (encrypted, 24 h)")
)
LABEL_CACHE_HOURS = declare(
    Setting("labels.reprint_cache_hours", int, 24, "Keep labels for reprinting (hours)", 1, 24)
)


def get(conn: Any, setting: Setting[T]) -> T:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (setting.key,)).fetchone()
    if row is None:
        return setting.default
    try:
        return setting.validate(json.loads(row[0]))
    except ValueError:
        return setting.default


def put(conn: Any, setting: Setting[T], value: Any, *, now: datetime) -> T:
    """Validate and store; returns the stored value.  Raises ``ValueError`` for the UI."""
    checked = setting.validate(value)
    conn.execute(
        "INSERT INTO settings(key, value, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (setting.key, json.dumps(checked), now.isoformat()),
    )
    return checked


# --- privacy (issue 14) ------------------------------------------------------------------
#: Buyer PII is erased this many days after delivery (the policy promises 30 at most).
PII_RETENTION_DAYS = declare(
    Setting("privacy.retention_days", int, 30, "Erase buyer data after delivery (days)", 1, 30)
)
PURGE_INTERVAL_MINUTES = declare(
    Setting(
        "privacy.purge_interval_minutes", int, 60, "Run the privacy purge every (minutes)", 5, 1440
    )
)
#: Amazon's own deletion requests are due this many hours after they arrive.
AMAZON_REQUEST_HOURS = declare(
    Setting(
        "privacy.amazon_request_hours", int, 72, "Amazon's deletion requests due in (hours)", 1, 720
    )
)
