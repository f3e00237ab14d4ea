"""The one lazy table engine: row keys from a search, the shown rows' cells held in C++.

Every table of records (orders, operators, the audit log; threads and shipments next)
is a :class:`LazyTableModel` over a :class:`RowSource`.  Searching returns the ordered
keys of every matching record (one query on the DB thread).  The model is a
``QStandardItemModel`` with one empty row per key.  The rows the view shows are filled
in: the DB thread reads those records and computes every role of every cell as plain
Python values (:class:`Built`); the GUI thread hands each cell to ``setItemData``, which
makes the item in C++.

Why: a repaint of a screenful asks for about 250 cells.  With a Python ``data()`` each
is a call into Python that must take the GIL, and while a sync thread runs Python each
can wait for it (up to ``sys.getswitchinterval()``): repaints stalled for 100 ms and
more.  Items made in Python are no better: PySide keeps their wrappers alive, asks them
for Python overrides under the GIL on first paint, and the garbage collector walks them
all.  Cells made by ``setItemData`` are plain C++, so a repaint runs no Python.
Measured in ``bench/sync_gui.py``.

The view reports the rows it shows through :meth:`LazyTableModel.want_rows` (for a plain
``QTableView``, :func:`follow_view` wires that up); those rows are read at once, then a
page below and a page above them, at most ``max_in_flight`` of these reads ahead at a
time (dropped on arrival if the view has moved far meanwhile).  Up to ``max_loaded``
rows stay filled (the least recently loaded, away from the shown rows, are emptied
again).  A refresh that only adds keys on top or at the end inserts rows, so the view
keeps its scroll position and selection; rows known to have changed reload when shown,
keeping their old contents until then.  Any other new key list resets the model, with
the shown rows read in the same DB job, so that the table never flashes empty.

A new table supplies a source (one ``read(fn)`` that runs ``fn(reader)`` on the DB
thread through its service, the reader offering ``keys(query)`` and ``rows(keys)``) and
a subclass that sets the headers and, for sortable columns, :meth:`sorted_query`.
``ui/models/orders_model.py`` is the example to copy.

Signals:
    ``search_finished(int)``: a search was applied; the argument is the row count.
    ``search_failed(object)``: the search raised (the exception).
    ``rows_loaded(int, int)``: rows ``first..last`` (inclusive) got fresh data.

Thread: GUI only; the source's reads run on the DB thread, and their results come back
through :func:`ui.ops.when_done`.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QTableView

from ui.models.roles import ItemRole
from ui.ops import when_done

log = logging.getLogger("muttefik.ui")

T = TypeVar("T")
Q = TypeVar("Q", contravariant=True)  # the query a table searches by
K = TypeVar("K", bound=Hashable)

Cell = dict[int, Any]  # role -> value, as QStandardItemModel.setItemData takes it

DISPLAY = int(Qt.ItemDataRole.DisplayRole)
TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
ALIGN_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_READ_ONLY = int((Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled).value)
_FLAGS_ROLE = int(Qt.ItemDataRole.UserRole) - 1  # where QStandardItem keeps its flags
_BASE_ROLES = [DISPLAY, TOOLTIP, FOREGROUND, int(ItemRole.KEY), int(ItemRole.LOADED)]


@dataclass(slots=True)
class Built(Generic[K]):
    """One row's cells, built on the DB thread; ``exists`` is false for a record that
    was deleted (or hidden from the caller) after the search found it.  ``record``: the
    row's object, kept while the row is loaded, for a table whose view acts on it (the
    operators); leave it ``None`` for big tables (every kept object costs the garbage
    collector)."""

    key: K
    exists: bool
    cells: list[Cell]
    record: Any = None


def row_cells(key: Hashable, columns: int, loaded: bool = True) -> list[Cell]:
    """``columns`` fresh cells holding the roles every cell of a row has: the row's key,
    whether it loaded, and QStandardItem's flags role (the model stores an item's flags
    among its data; ``setItemData`` replaces them all).  Builders fill in the rest."""
    shared: Cell = {_FLAGS_ROLE: _READ_ONLY, int(ItemRole.KEY): key, int(ItemRole.LOADED): loaded}
    return [dict(shared) for _ in range(columns)]


class RowReader(Protocol[Q, K]):
    """What the engine asks of the data, on the DB thread, inside one read."""

    def keys(self, query: Q) -> list[K]:
        """The keys of every record matching ``query``, in display order."""
        ...

    def rows(self, keys: Sequence[K]) -> list[Built[K]]:
        """The built rows of ``keys``, one per key (missing ones with ``exists=False``)."""
        ...


class RowSource(Protocol[Q, K]):
    """Where a table's data comes from: its service's one-job read."""

    def read(self, fn: Callable[[RowReader[Q, K]], T]) -> Future[T]:
        """Run ``fn(reader)`` on the DB thread (one job); the Future has its result."""
        ...


@dataclass(slots=True)
class _Answer(Generic[K]):
    """A search's result: the keys, their rows, and the shown rows' cells read with them."""

    keys: list[K]
    row_of: dict[K, int]
    built: list[Built[K]]
    shape: tuple[str, int]  # _shape(keys before, keys)


def _shape(old: list[Any], new: list[Any]) -> tuple[str, int]:
    """How ``new`` differs from ``old``: ``same``, ``top`` or ``end`` (that many keys
    added there, the rest unchanged), or ``reset`` (anything else)."""
    added = len(new) - len(old)
    if new == old:
        return "same", 0
    if old and added > 0 and new[added:] == old:
        return "top", added
    if old and added > 0 and new[: len(old)] == old:
        return "end", added
    return "reset", added


class LazyTableModel(QStandardItemModel):
    """See the module docstring.  ``headers``: one title per column; ``right_aligned``:
    the columns whose header is right-aligned (numbers); ``whole``: a table of few rows
    (a team's operators), every row read with the search, none lazily."""

    search_finished = Signal(int)
    search_failed = Signal(object)
    rows_loaded = Signal(int, int)

    #: Roles every dataChanged of loaded rows names; subclasses add their own.
    ROW_ROLES: Sequence[int] = _BASE_ROLES
    #: What the log calls these rows ("order rows"): no PII, the exception type only.
    WHAT = "rows"

    def __init__(
        self,
        *,
        source: RowSource[Any, Any],
        headers: Sequence[str],
        query: Any,
        right_aligned: Iterable[int] = (),
        page_size: int = 50,
        max_loaded: int = 5000,
        max_in_flight: int = 1,
        whole: bool = False,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(0, len(headers), parent)
        self.setHorizontalHeaderLabels(list(headers))
        for column in right_aligned:
            self.setHeaderData(column, Qt.Orientation.Horizontal, ALIGN_RIGHT, ALIGNMENT)
        self._source = source
        self._columns = len(headers)
        self._page_size = page_size
        self._max_loaded = max(max_loaded, 4 * page_size)
        self._max_in_flight = max_in_flight
        self._query = query
        self._whole = whole
        self._keys: list[Any] = []
        self._row_of: dict[Any, int] = {}
        # Rows whose cells are placed, least recently loaded first: key -> whether the
        # record exists (false: deleted after the search found it).
        self._loaded: OrderedDict[Any, bool] = OrderedDict()
        # Placed rows known to have changed: key -> the refresh tick that marked them.
        self._stale: dict[Any, int] = {}
        self._records: dict[Any, Any] = {}  # key -> Built.record, for loaded rows
        self._tick = 0
        self._shown = (0, 0)  # first and last row the view shows
        self._search_serial = 0  # latest search started; older answers are dropped
        self._wanted: list[tuple[int, int]] = []  # row ranges to load, most wanted last
        self._in_flight: set[Any] = set()  # keys being read
        self._requests = 0  # reads under way
        self._searching = False
        self._searched_once = False

    # --- public API ---------------------------------------------------------------

    @property
    def query(self) -> Any:
        return self._query

    @property
    def searching(self) -> bool:
        return self._searching

    @property
    def searched_once(self) -> bool:
        """True once a search result has been applied (the table content is real)."""
        return self._searched_once

    def set_query(self, query: Any) -> Future[Any]:
        """Search with ``query`` (keys on the DB thread); the table updates when done."""
        self._query = query
        return self._search()

    def refresh(self, changed: Iterable[Any] | None = None) -> Future[Any]:
        """Re-run the current query; loaded rows keep their contents until fresh copies
        arrive.

        ``changed``: the records known to have changed; only those rows reload.
        ``None``: any may have changed, every row reloads.
        """
        self._tick += 1
        marked = self._loaded.keys() if changed is None else changed
        for key in marked:
            if key in self._loaded:
                self._stale[key] = self._tick
        return self._search()

    def want_rows(self, first: int, last: int) -> None:
        """The view shows rows ``first..last``: load what they lack (and one page either
        side), the shown rows first."""
        self._shown = (max(0, first), max(0, first, last))
        self._request_shown()

    def key_at(self, row: int) -> Any:
        return self._keys[row] if 0 <= row < len(self._keys) else None

    def row_of(self, key: Any) -> int | None:
        return self._row_of.get(key)

    def keys(self) -> list[Any]:
        return list(self._keys)

    def record(self, key: Any) -> Any:
        """The loaded row's :attr:`Built.record` (``None`` if not loaded or none)."""
        return self._records.get(key)

    def sorted_query(self, column: int, descending: bool) -> Any:
        """The query that sorts by ``column``, or ``None`` if it does not sort."""
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorting is a new query (SQL orders the keys); the items are never moved."""
        if not 0 <= column < self._columns:
            return
        query = self.sorted_query(column, order == Qt.SortOrder.DescendingOrder)
        if query is not None and query != self._query:
            self.set_query(query)

    # --- searching ----------------------------------------------------------------

    def _search(self) -> Future[Any]:
        self._search_serial += 1
        serial = self._search_serial
        self._searching = True
        query = self._query
        old = self._keys  # replaced, never changed in place: safe to read on the DB thread
        fresh = frozenset(key for key in self._loaded if key not in self._stale)
        first, last = self._shown
        everything = self._whole

        def run(reader: RowReader[Any, Any]) -> _Answer[Any]:
            keys = reader.keys(query)
            # Built here, not on the GUI thread (100k keys: ~10 ms of Python).
            row_of = dict(zip(keys, range(len(keys)), strict=True))
            # The shown rows' cells, read now so that the table never shows them empty:
            # after a reset every row is empty, otherwise only new and changed ones.
            shape = _shape(old, keys)
            keep = frozenset() if shape[0] == "reset" else fresh
            shown = keys if everything else keys[first : last + 1]
            wanted = [key for key in shown if key not in keep]
            built = reader.rows(wanted) if wanted else []
            return _Answer(keys, row_of, built, shape)

        future: Future[_Answer[Any]] = self._source.read(run)

        def applied(answer: _Answer[Any]) -> None:
            if serial != self._search_serial:
                return  # a newer search is under way; its answer wins
            self._searching = False
            self._apply(answer, loaded_at=self._tick)

        def failed(exc: BaseException) -> None:
            if serial != self._search_serial:
                return
            self._searching = False
            log.warning("%s search failed: %s", self.WHAT, type(exc).__name__)
            self.search_failed.emit(exc)

        when_done(future, applied, failed, parent=self)
        return future

    def _apply(self, answer: _Answer[Any], *, loaded_at: int) -> None:
        keys = answer.keys
        # Compared on the DB thread against the keys of when the search started: they
        # are still the current ones, as only the latest search's answer is applied.
        kind, added = answer.shape
        if kind == "reset":
            self.beginResetModel()
            # Emptying and re-growing the rows emits per-row signals that a reset makes
            # redundant; the view hears the reset, and finds the shown rows filled.
            self.blockSignals(True)
            try:
                self.setRowCount(0)
                self.setRowCount(len(keys))
                self._set_keys(answer)
                self._loaded.clear()
                self._stale.clear()
                self._records.clear()
                rows = self._put(answer.built, loaded_at)
            finally:
                self.blockSignals(False)
            self.endResetModel()
            self._announce(rows)
        else:
            self._set_keys(answer)
            if kind != "same":
                # New records on top (newest first) or at the end (a backfill): the
                # view keeps its rows, selection and scroll position.
                self.insertRows(0 if kind == "top" else len(keys) - added, added)
            self._place(answer.built, loaded_at)
        self._searched_once = True
        self.search_finished.emit(len(keys))
        self._request_shown()

    def _set_keys(self, answer: _Answer[Any]) -> None:
        self._keys = answer.keys
        self._row_of = answer.row_of
        self._wanted.clear()

    # --- loading rows -------------------------------------------------------------

    def _needs(self, key: Any) -> bool:
        """Whether a row must (re)load: never loaded, or changed since (a search under
        way will reload it anyway), and not being read already."""
        if key in self._in_flight:
            return False
        return key not in self._loaded or (key in self._stale and not self._searching)

    def _request_shown(self) -> None:
        count = len(self._keys)
        if not count:
            self._wanted.clear()
            return
        page = self._page_size
        last = min(self._shown[1], count - 1)
        first = min(self._shown[0], last)
        # Served from the end: the shown rows first (a small read, so they appear soon),
        # then a page below them, then a page above.  What an earlier call wanted but is
        # no longer near the view (a fast scroll) is dropped.
        self._wanted = [
            (max(0, first - page), first),
            (last + 1, min(count, last + 1 + page)),
            (first, last + 1),
        ]
        self._pump()

    def _pump(self) -> None:
        # The DB thread serves in order, so a read-ahead already queued delays the rows
        # the seller is looking at: the shown rows go at once, reads ahead one at a time.
        while self._wanted:
            first, end = self._wanted[-1]
            shown = len(self._wanted) == 3
            if not shown and self._requests >= self._max_in_flight:
                return
            self._wanted.pop()
            keys = [key for key in self._keys[first:end] if self._needs(key)]
            if keys:
                self._start_fetch(keys, ahead=not shown)

    def _near_view(self, row: int) -> bool:
        first, last = self._shown
        return first - 2 * self._page_size <= row <= last + 2 * self._page_size

    def _start_fetch(self, keys: list[Any], *, ahead: bool = False) -> None:
        """Read ``keys`` on the DB thread and place them; ``ahead``: rows read before
        they are shown, which are dropped on arrival if the view has moved far."""
        self._in_flight.update(keys)
        self._requests += 1
        tick = self._tick
        future: Future[list[Built[Any]]] = self._source.read(lambda reader: reader.rows(keys))

        def settled() -> None:
            self._in_flight.difference_update(keys)
            self._requests -= 1

        def arrived(built: list[Built[Any]]) -> None:
            settled()
            if ahead:
                row_of = self._row_of
                built = [b for b in built if self._near_view(row_of.get(b.key, -1))]
            self._place(built, tick)
            self._pump()

        def failed(exc: BaseException) -> None:
            settled()
            # Not a dialog: the rows stay empty and load again when next shown; the log
            # keeps the cause (no PII: the exception type only).
            log.warning("loading %s failed: %s", self.WHAT, type(exc).__name__)

        when_done(future, arrived, failed, parent=self)

    def _place(self, built: list[Built[Any]], loaded_at: int) -> None:
        """Put arrived rows' cells into the model and announce them."""
        self.blockSignals(True)
        try:
            rows = self._put(built, loaded_at)
        finally:
            self.blockSignals(False)
        self._announce(rows)
        self._evict()

    def _put(self, built: list[Built[Any]], loaded_at: int) -> list[int]:
        """Set the cells of arrived rows (by key: rows may have moved since); the rows
        set.  Signals must be blocked: one dataChanged per run of rows follows, instead
        of one per cell.

        ``setItemData`` makes the items in C++: no Python object per cell stays alive
        (an item made in Python keeps its wrapper, which the garbage collector then
        walks: 40k of them took 40 ms a collection), and painting asks no Python.

        ``loaded_at``: the refresh tick when the rows were requested; a row marked stale
        by a later refresh stays stale (it may have been read before the change).
        """
        rows: list[int] = []
        for b in built:
            row = self._row_of.get(b.key)
            if row is None:
                continue  # no longer in the list
            for column, cell in enumerate(b.cells):
                self.setItemData(self.index(row, column), cell)
            self._loaded[b.key] = b.exists
            self._loaded.move_to_end(b.key)
            if b.record is not None:
                self._records[b.key] = b.record
            else:  # a row that reloaded as deleted keeps no earlier record
                self._records.pop(b.key, None)
            if self._stale.get(b.key, loaded_at) <= loaded_at:
                self._stale.pop(b.key, None)
            rows.append(row)
        return rows

    def _announce(self, rows: list[int]) -> None:
        last_column = self._columns - 1
        for first, last in _runs(sorted(rows)):
            self.dataChanged.emit(
                self.index(first, 0), self.index(last, last_column), list(self.ROW_ROLES)
            )
            self.rows_loaded.emit(first, last)

    def _evict(self) -> None:
        """Empty the least recently loaded rows beyond ``max_loaded``, except near the
        shown rows, so that scrolling through 100k records does not keep them all."""
        excess = len(self._loaded) - self._max_loaded
        if excess <= 0:
            return
        near = range(self._shown[0] - self._page_size, self._shown[1] + self._page_size + 1)
        victims: list[Any] = []
        for key in self._loaded:
            if len(victims) >= excess:
                break
            row = self._row_of.get(key)
            if row is None or row not in near:
                victims.append(key)
        rows: list[int] = []
        self.blockSignals(True)
        try:
            for key in victims:
                del self._loaded[key]
                self._stale.pop(key, None)
                self._records.pop(key, None)
                row = self._row_of.get(key)
                if row is not None:
                    for column in range(self._columns):
                        self.takeItem(row, column)  # the item is deleted with its wrapper
                    rows.append(row)
        finally:
            self.blockSignals(False)
        last_column = self._columns - 1
        for first, last in _runs(sorted(rows)):
            self.dataChanged.emit(
                self.index(first, 0), self.index(last, last_column), list(self.ROW_ROLES)
            )


def follow_view(table: QTableView, model: LazyTableModel) -> None:
    """Tell ``model`` which rows ``table`` shows after every scroll, resize and change
    of rows (coalesced to once per event-loop turn; a scroll asks at once, so the read
    is under way while the view paints the new position)."""
    timer = QTimer(table)
    timer.setSingleShot(True)
    timer.setInterval(0)
    viewport = table.viewport()

    def report() -> None:
        count = model.rowCount()
        if not count:
            return
        first = max(0, table.rowAt(0))
        last = table.rowAt(viewport.height() - 1)
        model.want_rows(first, last if last >= 0 else count - 1)

    timer.timeout.connect(report)
    table.verticalScrollBar().valueChanged.connect(lambda _v: report())
    for signal in (model.modelReset, model.rowsInserted, model.rowsRemoved):
        signal.connect(lambda *_a: timer.start())
    # On the table, not its viewport: the viewport's events include every paint.
    table.installEventFilter(_ResizeWatch(table, timer.start))


class _ResizeWatch(QObject):
    """Calls ``on_resize`` when the watched widget is resized or shown."""

    def __init__(self, parent: QObject, on_resize: Callable[[], None]) -> None:
        super().__init__(parent)
        self._on_resize = on_resize

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            self._on_resize()
        return False


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """Contiguous runs of sorted row numbers: [1,2,3,7,8] -> [(1,3),(7,8)]."""
    out: list[tuple[int, int]] = []
    for r in rows:
        if out and r == out[-1][1] + 1:
            out[-1] = (out[-1][0], r)
        elif not out or r != out[-1][1]:
            out.append((r, r))
    return out
