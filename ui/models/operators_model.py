"""The operators table (admins): a :class:`~ui.models.table_engine.LazyTableModel` over
the team's accounts, read through ``OperatorService``.

Operators are few, so the table is ``whole``: every row is built with the search.  Keys
are operator ids, by username; each row keeps its :class:`Operator` (``operator_at``),
which the view's actions need.  A changed operator reloads only its row
(``refresh(changed=[id])``), never a reset.

Thread: GUI only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import datetime
from enum import IntEnum
from typing import Any, Protocol, TypeVar

from PySide6.QtCore import QObject
from PySide6.QtGui import QBrush, QColor

from app.auth.models import Actor, Operator, StoreRef
from app.auth.rbac import Role
from app.clock import Clock
from ui.models.table_engine import (
    DISPLAY,
    FOREGROUND,
    TOOLTIP,
    Built,
    LazyTableModel,
    RowReader,
    row_cells,
)

T = TypeVar("T")


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

_GREY = QBrush(QColor("#808080"))
_RED = QBrush(QColor("#b3261e"))
_AMBER = QBrush(QColor("#a05a00"))


def format_local(at: datetime | None) -> str:
    if at is None:
        return "never"
    return at.astimezone().strftime("%Y-%m-%d %H:%M")


class OperatorReads(Protocol):
    """What the model needs of ``OperatorService``: its list reads (Futures)."""

    def list_operators(self, actor: Actor) -> Future[list[Operator]]: ...

    def list_stores(self, actor: Actor) -> Future[list[StoreRef]]: ...


def build_row(op: Operator, store_names: dict[int, str], now: datetime) -> Built[int]:
    """Every cell of one operator's row."""
    locked = op.is_locked(now)
    cells = row_cells(op.id, len(Column))
    for column, cell in zip(Column, cells, strict=True):
        cell[DISPLAY] = _display(op, column, store_names, locked)
        tip = _tooltip(op, column, locked)
        if tip:
            cell[TOOLTIP] = tip
        if op.disabled:
            cell[FOREGROUND] = _GREY
        elif column == Column.LOCKED and locked:
            cell[FOREGROUND] = _RED
        elif column == Column.MFA and not op.mfa_enrolled:
            cell[FOREGROUND] = _AMBER
    return Built(op.id, True, cells, op)


def build_missing(operator_id: int) -> Built[int]:
    cells = row_cells(operator_id, len(Column), loaded=False)
    cells[Column.USERNAME][DISPLAY] = f"#{operator_id}"
    return Built(operator_id, False, cells)


def _display(op: Operator, column: Column, store_names: dict[int, str], locked: bool) -> str:
    if column == Column.USERNAME:
        return op.username
    if column == Column.NAME:
        return op.display_name
    if column == Column.ROLE:
        return "Administrator" if op.role == Role.ADMIN else "Agent"
    if column == Column.STORES:
        if op.role == Role.ADMIN:
            return "All stores"
        names = [store_names.get(s, f"#{s}") for s in sorted(op.store_ids)]
        return ", ".join(names) if names else "none"
    if column == Column.MFA:
        if op.setup_pending:
            return "Awaiting setup"
        return "On" if op.mfa_enrolled else "Not set up"
    if column == Column.LOCKED:
        if locked and op.locked_until is not None:
            return f"until {op.locked_until.astimezone().strftime('%H:%M')}"
        return ""
    if column == Column.DISABLED:
        return "Disabled" if op.disabled else "Active"
    return format_local(op.last_sign_in_at)


def _tooltip(op: Operator, column: Column, locked: bool) -> str | None:
    if column == Column.NAME:
        return op.email
    if column == Column.LOCKED and locked:
        return f"Locked after {op.failed_attempts} failed sign-ins"
    if column == Column.MFA and op.setup_pending:
        return "Waiting for the operator to use their one-time setup code"
    return None


class _Reader:
    """The engine's reader over one answer of the two list reads."""

    def __init__(self, operators: list[Operator], stores: list[StoreRef], now: datetime) -> None:
        self._by_id = {op.id: op for op in operators}
        self._order = [op.id for op in sorted(operators, key=lambda o: o.username.casefold())]
        self._store_names = {s.id: s.name for s in stores}
        self._now = now

    def keys(self, query: object) -> list[int]:
        return list(self._order)

    def rows(self, keys: Sequence[int]) -> list[Built[int]]:
        by_id, names, now = self._by_id, self._store_names, self._now
        return [build_row(by_id[k], names, now) if k in by_id else build_missing(k) for k in keys]


class OperatorsSource:
    """The operators table's :class:`~ui.models.table_engine.RowSource`: the service's
    operator and store lists (two Futures), then ``fn`` where the second one completes
    (the DB thread)."""

    def __init__(self, service: OperatorReads, actor: Actor, clock: Clock) -> None:
        self._service = service
        self._actor = actor
        self._clock = clock

    def read(self, fn: Callable[[RowReader[object, int]], T]) -> Future[T]:
        out: Future[T] = Future()
        try:
            operators = self._service.list_operators(self._actor)
            stores = self._service.list_stores(self._actor)
        except Exception as exc:  # a read refused at once: delivered like any failure
            out.set_exception(exc)
            return out
        clock = self._clock
        lock = threading.Lock()
        settled = False

        def done(_f: Future[Any]) -> None:
            nonlocal settled
            with lock:
                if settled or not (operators.done() and stores.done()):
                    return
                settled = True
            try:
                reader = _Reader(operators.result(), stores.result(), clock.now())
                out.set_result(fn(reader))
            except BaseException as exc:  # handed to the caller through the Future
                out.set_exception(exc)

        operators.add_done_callback(done)
        stores.add_done_callback(done)
        return out


class OperatorsModel(LazyTableModel):
    """The team's operators by username; keys are operator ids."""

    WHAT = "operators"

    def __init__(
        self,
        *,
        service: OperatorReads,
        actor: Actor,
        clock: Clock,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(
            source=OperatorsSource(service, actor, clock),
            headers=[HEADERS[c] for c in Column],
            query=None,
            whole=True,
            parent=parent,
        )

    def operator_at(self, row: int) -> Operator | None:
        op: Operator | None = self.record(self.key_at(row))
        return op

    def operators(self) -> list[Operator]:
        return [op for op in map(self.record, self.keys()) if op is not None]
