"""The audit log table (newest first): a :class:`~ui.models.table_engine.LazyTableModel`
keyed by sequence number, read through ``AuditService.read``.

A filter is a search for the matching entries' seqs; the shown entries are read by seq,
never by OFFSET, so entries appended while the view is open (an ``AuditAppended``
notice, then :meth:`AuditModel.append_arrived`) are inserted on top and shift nothing
the seller is looking at.  Entries the app wrote itself (no operator) show as "system";
attempts at a sign-in name with no account, by no one, as "—".

Thread: GUI only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from enum import IntEnum
from typing import Any, TypeVar

from PySide6.QtCore import QObject

from app.audit import Action, AuditEntry, AuditFilter
from app.audit_service import AuditReader, AuditService
from app.auth.models import Actor
from ui.models.table_engine import DISPLAY, TOOLTIP, Built, LazyTableModel, RowReader, row_cells

T = TypeVar("T")

SYSTEM_TEXT = "system"
NO_ONE_TEXT = "—"
# Entries about a sign-in name with no usable account: written by no one, not the system.
_BY_NO_ONE = frozenset({Action.SIGN_IN_FAILURES, Action.SIGN_IN_NAME_LOCKED})
PURGED_TEXT = "(removed by the retention purge)"


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


def operator_text(entry: AuditEntry) -> str:
    """Who acted: the operator's username; "system" for the app's own work (no operator),
    except attempts at a sign-in name with no account, which no one is known to have made."""
    if entry.actor_id is None:
        return NO_ONE_TEXT if entry.action in _BY_NO_ONE else SYSTEM_TEXT
    return entry.actor_username or f"#{entry.actor_id}"


def build_row(entry: AuditEntry) -> Built[int]:
    """Every cell of one entry (DB thread)."""
    cells = row_cells(entry.seq, len(Column))
    texts = {
        Column.SEQ: str(entry.seq),
        Column.TIME: entry.at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
        Column.OPERATOR: operator_text(entry),
        Column.ACTION: entry.label,
        Column.OBJECT: (
            "" if entry.object_type is None
            else f"{entry.object_type} {entry.object_id or ''}".strip()
        ),
        Column.DETAILS: _details_text(entry.details),
    }  # fmt: skip
    for column, text in texts.items():
        cells[column][DISPLAY] = text
    cells[Column.SEQ][TOOLTIP] = f"hash {entry.hash[:16]}…"
    if entry.details:
        cells[Column.DETAILS][TOOLTIP] = json.dumps(entry.details, sort_keys=True, indent=1)
    return Built(entry.seq, True, cells)


def build_missing(seq: int) -> Built[int]:
    cells = row_cells(seq, len(Column), loaded=False)
    cells[Column.SEQ][DISPLAY] = str(seq)
    cells[Column.ACTION][DISPLAY] = PURGED_TEXT
    return Built(seq, False, cells)


class _Reader:
    """The engine's reader over an :class:`AuditReader` (DB thread)."""

    def __init__(self, audit: AuditReader) -> None:
        self._audit = audit

    def keys(self, query: AuditFilter) -> list[int]:
        return self._audit.seqs(query)

    def rows(self, keys: Sequence[int]) -> list[Built[int]]:
        found = {e.seq: e for e in self._audit.entries(keys)}
        return [build_row(found[k]) if k in found else build_missing(k) for k in keys]


class AuditSource:
    """The audit table's :class:`~ui.models.table_engine.RowSource`."""

    def __init__(self, service: AuditService, actor: Actor) -> None:
        self._service = service
        self._actor = actor

    def read(self, fn: Callable[[RowReader[AuditFilter, int]], T]) -> Future[T]:
        return self._service.read(self._actor, lambda audit: fn(_Reader(audit)))


class AuditModel(LazyTableModel):
    """Audit entries by :class:`AuditFilter`; keys are sequence numbers."""

    WHAT = "audit entries"

    def __init__(
        self,
        *,
        service: AuditService,
        actor: Actor,
        page_size: int = 200,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(
            source=AuditSource(service, actor),
            headers=[HEADERS[c] for c in Column],
            query=AuditFilter(),
            page_size=page_size,
            parent=parent,
        )

    @property
    def filter(self) -> AuditFilter:
        filt: AuditFilter = self._query
        return filt

    def set_filter(self, filt: AuditFilter) -> None:
        """Search the entries matching ``filt``; the table updates when done."""
        self.set_query(filt)

    def append_arrived(self) -> None:
        """New entries were committed: add the matching ones on top (entries never
        change, so no loaded row reloads)."""
        self.refresh(changed=())

    def seq_at(self, row: int) -> int | None:
        seq: int | None = self.key_at(row)
        return seq
