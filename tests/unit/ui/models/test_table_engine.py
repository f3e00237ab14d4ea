"""The table engine on its own, over an in-memory source read on a worker thread (as a
service's read runs on the DB thread): keys from a search, the shown rows' cells in the
same read, insert on top, the cap on filled rows, records, and a view that follows."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableView
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from ui import ops
from ui.models.roles import ItemRole
from ui.models.table_engine import (
    DISPLAY,
    Built,
    LazyTableModel,
    RowReader,
    follow_view,
    row_cells,
)

T = TypeVar("T")


@pytest.fixture(autouse=True)
def _bridge(qapp: object) -> None:
    ops.install()


class Source:
    """Records keyed by int, shown newest (highest) first; ``query`` is a minimum key.
    Counts its reads and the keys whose rows it built."""

    def __init__(self, keys: list[int]) -> None:
        self.records = {k: f"record {k}" for k in keys}
        self.deleted: set[int] = set()  # gone after a search found them
        self.reads = 0
        self.built: list[int] = []
        self.gate = threading.Event()
        self.gate.set()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="test-db")

    def keys(self, query: int) -> list[int]:
        return sorted((k for k in self.records if k >= query), reverse=True)

    def rows(self, keys: Sequence[int]) -> list[Built[int]]:
        self.built.extend(keys)
        out = []
        for k in keys:
            text = None if k in self.deleted else self.records.get(k)
            cells = row_cells(k, 2, loaded=text is not None)
            cells[0][DISPLAY] = str(k)
            cells[1][DISPLAY] = text or "(gone)"
            out.append(Built(k, text is not None, cells, text))
        return out

    def read(self, fn: Callable[[RowReader[int, int]], T]) -> Future[T]:
        self.reads += 1

        def run() -> T:
            self.gate.wait(5)
            return fn(self)

        return self._pool.submit(run)

    def close(self) -> None:
        self.gate.set()
        self._pool.shutdown(wait=True)


@pytest.fixture
def source() -> Iterator[Source]:
    s = Source(list(range(1, 101)))
    yield s
    s.close()


def make(source: Source, **kw: Any) -> LazyTableModel:
    return LazyTableModel(source=source, headers=["Key", "Text"], query=0, **kw)


def loaded(model: LazyTableModel, row: int) -> bool:
    return model.data(model.index(row, 0), ItemRole.LOADED) is True


def search(qtbot: QtBot, model: LazyTableModel, query: int | None = None) -> None:
    with qtbot.waitSignal(model.search_finished, timeout=5000):
        if query is None:
            model.refresh(changed=())
        else:
            model.set_query(query)


def test_search_reads_the_shown_rows_with_the_keys(
    qtbot: QtBot, qtmodeltester: ModelTester, source: Source
) -> None:
    model = make(source, page_size=10)
    model.want_rows(0, 4)  # the view will show five rows
    search(qtbot, model, 0)
    assert model.rowCount() == 100 and model.key_at(0) == 100
    assert source.built[:5] == [100, 99, 98, 97, 96]  # read in the search's own job
    assert all(loaded(model, r) for r in range(5))
    assert model.data(model.index(3, 1)) == "record 97"
    assert model.flags(model.index(0, 1)) & Qt.ItemFlag.ItemIsEditable == Qt.ItemFlag.NoItemFlags
    qtmodeltester.check(model)  # type: ignore[no-untyped-call]
    qtbot.waitUntil(lambda: loaded(model, 14))  # then a page below
    assert not loaded(model, 15)
    assert model.record(97) == "record 97" and model.record(40) is None


def test_new_keys_on_top_are_inserted_and_nothing_else_reloads(
    qtbot: QtBot, source: Source
) -> None:
    model = make(source, page_size=10)
    model.want_rows(0, 9)
    search(qtbot, model, 0)
    qtbot.waitUntil(lambda: all(loaded(model, r) for r in range(20)))
    source.records.update({101: "record 101", 102: "record 102"})
    source.built.clear()
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    with qtbot.assertNotEmitted(model.modelReset, wait=0):
        search(qtbot, model)
    assert inserted == [(0, 1)] and model.key_at(2) == 100
    assert source.built[:2] == [102, 101]  # the new rows only, with the search
    assert model.data(model.index(12, 0)) == "90"  # moved down with its row, not read again
    assert 90 not in source.built


def test_any_other_change_resets_with_the_shown_rows_filled(qtbot: QtBot, source: Source) -> None:
    model = make(source, page_size=10)
    model.want_rows(0, 4)
    search(qtbot, model, 0)
    resets: list[int] = []
    model.modelReset.connect(lambda: resets.append(model.rowCount()))
    search(qtbot, model, 51)
    assert resets == [50] and model.key_at(0) == 100 and model.key_at(49) == 51
    assert all(loaded(model, r) for r in range(5))


def test_older_search_answers_are_dropped(qtbot: QtBot, source: Source) -> None:
    model = make(source)
    source.gate.clear()  # both searches queue behind the gate
    model.set_query(90)
    with qtbot.waitSignal(model.search_finished, timeout=5000) as blocker:
        model.set_query(0)
        source.gate.set()
    assert blocker.args == [100] and model.rowCount() == 100


def test_changed_rows_reload_and_deleted_ones_show_as_gone(qtbot: QtBot, source: Source) -> None:
    model = make(source, page_size=10)
    model.want_rows(0, 4)
    search(qtbot, model, 0)
    source.records[99] = "changed"
    source.deleted.add(98)
    with qtbot.waitSignal(model.search_finished, timeout=5000):
        model.refresh(changed=[99, 98])
    assert model.data(model.index(1, 1)) == "changed"
    assert model.data(model.index(2, 1)) == "(gone)" and not loaded(model, 2)
    assert model.record(98) is None


def test_rows_beyond_the_cap_are_emptied_away_from_the_view(qtbot: QtBot, source: Source) -> None:
    model = make(source, page_size=5, max_loaded=20)
    search(qtbot, model, 0)
    for first in range(0, 100, 10):  # the seller scrolls to the bottom
        model.want_rows(first, first + 4)
        qtbot.waitUntil(lambda f=first: loaded(model, f))
    qtbot.waitUntil(lambda: loaded(model, 99))
    filled = [r for r in range(100) if loaded(model, r)]
    assert len(filled) <= 20 and not loaded(model, 0)
    assert model.record(100) is None  # its record went with its cells
    model.want_rows(0, 4)
    qtbot.waitUntil(lambda: loaded(model, 0))


def test_whole_tables_read_every_row_with_the_search(qtbot: QtBot, source: Source) -> None:
    model = make(source, whole=True)
    search(qtbot, model, 0)
    assert source.reads == 1 and all(loaded(model, r) for r in range(100))


def test_sort_asks_for_a_new_query(qtbot: QtBot, source: Source) -> None:
    class Sorted(LazyTableModel):
        def sorted_query(self, column: int, descending: bool) -> int | None:
            return 50 if descending else None

    model = Sorted(source=source, headers=["Key", "Text"], query=0)
    search(qtbot, model, 0)
    with qtbot.assertNotEmitted(model.search_finished, wait=50):
        model.sort(0, Qt.SortOrder.AscendingOrder)
    with qtbot.waitSignal(model.search_finished, timeout=5000) as blocker:
        model.sort(0, Qt.SortOrder.DescendingOrder)
    assert blocker.args == [51] and model.query == 50


def test_a_followed_view_loads_what_it_shows(qtbot: QtBot, source: Source) -> None:
    model = make(source, page_size=5)
    table = QTableView()
    qtbot.addWidget(table)
    table.setModel(model)
    follow_view(table, model)
    table.resize(400, 300)
    table.show()
    search(qtbot, model, 0)
    qtbot.waitUntil(lambda: loaded(model, table.rowAt(table.viewport().height() - 1)))
    table.scrollToBottom()
    qtbot.waitUntil(lambda: loaded(model, 99))
    assert not loaded(model, 50)  # between the two places shown: never asked for
