"""The orders model: ids from a search, the shown rows' cells placed in pages."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt

from app.amazon import orders_repo
from app.amazon.models import (
    OrderStatus,
)
from app.amazon.orders_repo import OrderQuery, SortColumn
from app.amazon.orders_service import OrdersService
from app.auth.models import Actor
from app.auth.rbac import Role as AuthRole
from app.clock import FakeClock
from app.vault import Vault
from tests.helpers.operators import put_operator
from tests.helpers.orders import ADMIN, NOW, make_order, seed
from ui.models.orders_model import REMOVED_TEXT, Column, OrdersModel
from ui.models.roles import ItemRole


@pytest.fixture(autouse=True)
def ops_bridge(qapp: Any) -> None:
    """Create ui.ops' bridge on the GUI thread (a lazy install from a worker would not)."""
    from ui import ops

    ops.install()


def make_model(vault: Vault, actor: Actor = ADMIN, **kw: Any) -> OrdersModel:
    """A model reading through the real OrdersService, as ``actor`` (now stored)."""
    put_operator(vault, actor)
    service = OrdersService(vault=vault, sync=None, jobs=None)  # type: ignore[arg-type]
    return OrdersModel(service=service, actor=actor, clock=FakeClock(NOW), **kw)


@pytest.fixture
def model(qtbot: Any, vault: Vault) -> OrdersModel:
    return make_model(vault, page_size=50)


def _search(qtbot: Any, model: OrdersModel, query: OrderQuery | None = None) -> int:
    with qtbot.waitSignal(model.search_finished, timeout=5000) as blocker:
        if query is None:
            model.refresh()
        else:
            model.set_query(query)
    return int(blocker.args[0])


def _loaded(model: OrdersModel, row: int) -> bool:
    return model.data(model.index(row, 0), ItemRole.LOADED) is True


def _load_all(qtbot: Any, model: OrdersModel) -> None:
    model.want_rows(0, model.rowCount() - 1)
    qtbot.waitUntil(lambda: all(_loaded(model, r) for r in range(model.rowCount())), timeout=5000)


def test_search_returns_newest_first_and_rows_load_when_shown(
    qtbot: Any, vault: Vault, model: OrdersModel
) -> None:
    orders = seed(vault, 160)
    assert _search(qtbot, model, OrderQuery()) == 160
    assert [model.order_id(r) for r in range(3)] == [o.order_id for o in orders[:3]]
    # The shown rows (a new view's first) were read with the search itself, so that they
    # never show empty.
    assert _loaded(model, 0) and not _loaded(model, 1)
    assert model.data(model.index(0, Column.ORDER_ID)) == orders[0].order_id
    assert model.data(model.index(0, Column.STATUS), ItemRole.KEY) == orders[0].order_id
    # A page below them is read next; rows further down stay empty until shown.
    qtbot.waitUntil(lambda: all(_loaded(model, r) for r in range(51)), timeout=5000)
    assert model.data(model.index(120, Column.STATUS)) is None
    assert model.data(model.index(120, Column.STATUS), ItemRole.LOADED) is None
    # Showing rows 120..125 reads exactly those first, then a page below (clipped at the
    # end) and a page above; each read is announced once, with explicit roles.
    changes: list[tuple[int, int, int, int, list[int]]] = []
    model.dataChanged.connect(
        lambda tl, br, roles: changes.append((tl.row(), br.row(), tl.column(), br.column(), roles))
    )
    model.want_rows(120, 125)
    qtbot.waitUntil(lambda: all(_loaded(model, r) for r in range(70, 160)), timeout=5000)
    assert [(first, last) for first, last, *_ in changes] == [(120, 125), (126, 159), (70, 119)]
    assert not _loaded(model, 60)
    assert all((c0, c1) == (0, len(Column) - 1) for _, _, c0, c1, _ in changes)
    assert all(int(Qt.ItemDataRole.DisplayRole) in roles for *_, roles in changes)


def test_cells_are_read_only(qtbot: Any, vault: Vault, model: OrdersModel) -> None:
    seed(vault, 3)
    _search(qtbot, model, OrderQuery())
    flags = model.flags(model.index(0, Column.TOTAL))
    assert flags & Qt.ItemFlag.ItemIsSelectable
    assert not flags & Qt.ItemFlag.ItemIsEditable


def test_display_values(qtbot: Any, vault: Vault, model: OrdersModel) -> None:
    orders = seed(vault, 10)
    _search(qtbot, model, OrderQuery())
    _load_all(qtbot, model)
    o = orders[3]
    row = model.row_of(o.order_id)
    assert row is not None
    assert o.total is not None
    assert model.data(model.index(row, Column.TOTAL)) == f"{o.total.amount:.2f} {o.total.currency}"
    assert model.data(model.index(row, Column.MARKETPLACE)) == o.marketplace_name
    assert model.data(model.index(row, Column.STATUS), ItemRole.STATUS) == str(o.status)
    assert o.items[0].title is not None
    assert o.items[0].title[:10] in model.data(model.index(row, Column.ITEMS))


def test_late_to_ship_is_flagged(qtbot: Any, vault: Vault, model: OrdersModel) -> None:
    orders = seed(vault, 60)
    _search(qtbot, model, OrderQuery(late_to_ship=True))
    _load_all(qtbot, model)
    late = [o for o in orders if o.needs_shipping and o.ship_by_latest and o.ship_by_latest < NOW]
    assert late, "fixture must contain late orders"
    assert model.rowCount() == len(late)
    for r in range(model.rowCount()):
        assert model.data(model.index(r, Column.DELIVERY)) == "Late to ship"
        assert model.data(model.index(r, Column.SHIP_BY), ItemRole.LATE) is True
        assert model.data(model.index(r, Column.SHIP_BY), Qt.ItemDataRole.ForegroundRole)


def test_sort_requeries_ids_in_sql(qtbot: Any, vault: Vault, model: OrdersModel) -> None:
    orders = seed(vault, 40)
    _search(qtbot, model, OrderQuery())
    with qtbot.waitSignal(model.search_finished, timeout=5000):
        model.sort(Column.TOTAL, Qt.SortOrder.AscendingOrder)
    assert model.query.sort == SortColumn.TOTAL and not model.query.descending
    cheapest = min(orders, key=lambda o: (o.total.amount if o.total else 0, o.order_id))
    assert model.order_id(0) == cheapest.order_id


def test_search_text_filters_by_sku(qtbot: Any, vault: Vault, model: OrdersModel) -> None:
    orders = seed(vault, 80)
    sku = orders[5].items[0].sku
    assert sku is not None
    n = _search(qtbot, model, OrderQuery(text=sku))
    expected = {o.order_id for o in orders if any(i.sku == sku for i in o.items)}
    assert n == len(expected)
    assert set(model.ids()) == expected


def test_refresh_keeps_stale_rows_visible_and_updates_only_arrived_rows(
    qtbot: Any, vault: Vault, model: OrdersModel
) -> None:
    seed(vault, 30)
    _search(qtbot, model, OrderQuery())
    _load_all(qtbot, model)
    before = model.data(model.index(0, Column.ORDER_ID))
    # A newer order arrives (sync); refresh puts it on top.
    newest = make_order(-5)
    vault.call_write(lambda conn: orders_repo.upsert_orders(conn, [newest], now=NOW))
    _search(qtbot, model)
    assert model.order_id(0) == newest.order_id
    # The old first row is now row 1, and the new row 0 was read with the search.
    assert model.data(model.index(1, Column.ORDER_ID)) == before
    assert _loaded(model, 0) and _loaded(model, 1)
    assert model.data(model.index(0, Column.ORDER_ID)) == newest.order_id


def test_refresh_with_new_orders_on_top_inserts_rows_and_reloads_only_changed(
    qtbot: Any, vault: Vault, model: OrdersModel
) -> None:
    seed(vault, 30)
    _search(qtbot, model, OrderQuery())
    _load_all(qtbot, model)
    resets: list[int] = []
    inserted: list[tuple[int, int]] = []
    loaded: list[tuple[int, int]] = []
    model.modelReset.connect(lambda: resets.append(1))
    model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    model.rows_loaded.connect(lambda first, last: loaded.append((first, last)))
    newest = [make_order(-5), make_order(-6)]
    vault.call_write(lambda conn: orders_repo.upsert_orders(conn, newest, now=NOW))
    with qtbot.waitSignal(model.search_finished, timeout=5000):
        model.refresh(changed=[o.order_id for o in newest])
    assert not resets and inserted == [(0, 1)]  # rows kept, two inserted on top
    assert model.rowCount() == 32
    model.want_rows(0, 31)
    qtbot.waitUntil(lambda: all(_loaded(model, r) for r in range(32)), timeout=5000)
    assert loaded == [(0, 1)]  # the 30 unchanged rows were not reloaded
    assert model.data(model.index(2, Column.ORDER_ID), ItemRole.LOADED) is True


def test_stale_search_answers_are_dropped(qtbot: Any, vault: Vault, model: OrdersModel) -> None:
    orders = seed(vault, 20)
    model.set_query(OrderQuery(text="no-such-order-anywhere"))
    with qtbot.waitSignal(model.search_finished, timeout=5000) as blocker:
        model.set_query(OrderQuery())
    assert blocker.args == [len(orders)]
    assert model.rowCount() == len(orders)


def test_changed_order_reloads_only_its_row(qtbot: Any, vault: Vault, model: OrdersModel) -> None:
    orders = seed(vault, 40)
    _search(qtbot, model, OrderQuery())
    _load_all(qtbot, model)
    target = next(o for o in orders if o.status == OrderStatus.UNSHIPPED)
    row = model.row_of(target.order_id)
    assert row is not None
    assert model.data(model.index(row, Column.STATUS)) == "Unshipped"
    vault.call_write(
        lambda conn: conn.execute(
            "UPDATE orders SET status = ? WHERE order_id = ?",
            (str(OrderStatus.SHIPPED), target.order_id),
        )
    )
    loaded: list[tuple[int, int]] = []
    model.rows_loaded.connect(lambda first, last: loaded.append((first, last)))
    with qtbot.assertNotEmitted(model.modelReset, wait=0):
        _search(qtbot, model, model.query)  # the same ids: no reset, nothing reloads
    model.refresh(changed=[target.order_id])
    qtbot.waitUntil(lambda: model.data(model.index(row, Column.STATUS)) == "Shipped", timeout=5000)
    assert loaded == [(row, row)]


def test_removed_order_shows_removed(qtbot: Any, vault: Vault) -> None:
    orders = seed(vault, 60)
    model = make_model(vault, page_size=20)
    _search(qtbot, model, OrderQuery())  # reads row 0, then rows 1..20 ahead
    qtbot.waitUntil(lambda: _loaded(model, 20), timeout=5000)
    gone = orders[55]
    assert model.row_of(gone.order_id) == 55 and not _loaded(model, 55)
    vault.call_write(
        lambda conn: conn.execute("DELETE FROM orders WHERE order_id = ?", (gone.order_id,))
    )
    model.want_rows(55, 55)
    qtbot.waitUntil(
        lambda: model.data(model.index(55, Column.STATUS)) == REMOVED_TEXT, timeout=5000
    )
    assert model.data(model.index(55, Column.ORDER_ID)) == gone.order_id
    assert model.data(model.index(55, Column.STATUS), ItemRole.LOADED) is False


def test_rows_far_from_the_view_are_emptied_beyond_the_limit(qtbot: Any, vault: Vault) -> None:
    seed(vault, 300)
    model = make_model(vault, page_size=20, max_loaded=80)
    _search(qtbot, model, OrderQuery())
    for first in range(0, 300, 20):  # the seller scrolls to the bottom
        model.want_rows(first, first + 9)
        qtbot.waitUntil(lambda f=first: _loaded(model, f), timeout=5000)
    qtbot.waitUntil(lambda: _loaded(model, 299), timeout=5000)
    loaded = [r for r in range(300) if _loaded(model, r)]
    assert len(loaded) <= 80
    assert loaded[-1] == 299 and not _loaded(model, 0)
    assert model.data(model.index(0, Column.STATUS)) is None
    # Scrolling back loads them again.
    model.want_rows(0, 9)
    qtbot.waitUntil(lambda: _loaded(model, 0), timeout=5000)
    assert model.data(model.index(0, Column.STATUS)) is not None


def test_agent_sees_only_member_stores(qtbot: Any, vault: Vault) -> None:
    seed(vault, 10, store_id=1, store_name="A")
    seed(vault, 0, store_id=2, store_name="B")
    other = make_order(500, store_id=2)
    vault.call_write(lambda conn: orders_repo.upsert_orders(conn, [other], now=NOW))
    agent = Actor(
        id=2,
        username="agent",
        display_name="Agent",
        role=AuthRole.AGENT,
        store_ids=frozenset({2}),
    )
    m = make_model(vault, agent)
    assert _search(qtbot, m, OrderQuery()) == 1
    assert m.order_id(0) == other.order_id


def test_qtmodeltester(qtbot: Any, qtmodeltester: Any, vault: Vault, model: OrdersModel) -> None:
    seed(vault, 130)
    _search(qtbot, model, OrderQuery())
    qtmodeltester.check(model)
    # Pages requested by the tester arrive while the tester keeps watching the model.
    _load_all(qtbot, model)
    _search(qtbot, model, OrderQuery(statuses=frozenset({OrderStatus.SHIPPED})))
    assert model.rowCount() > 0
    assert not model.index(0, 0).parent().isValid()
    assert model.rowCount(model.index(0, 0)) == 0
    assert model.columnCount(QModelIndex()) == len(Column)


def test_odd_order_reads_needs_attention(qtbot: Any, vault: Vault, model: OrdersModel) -> None:
    from dataclasses import replace
    from datetime import timedelta

    orders = seed(vault, 3)
    odd = replace(
        orders[1],
        attention="An item has no ASIN.",
        last_updated=orders[1].last_updated + timedelta(seconds=1),
    )
    vault.call_write(lambda c: orders_repo.upsert_orders(c, [odd], now=NOW))
    _search(qtbot, model, OrderQuery())
    _load_all(qtbot, model)
    row = model.row_of(odd.order_id)
    assert row is not None
    assert model.data(model.index(row, Column.STATUS)) == "Needs attention"
    tip = model.data(model.index(row, Column.STATUS), Qt.ItemDataRole.ToolTipRole)
    assert "An item has no ASIN." in tip
    normal = model.row_of(orders[0].order_id)
    assert normal is not None
    assert model.data(model.index(normal, Column.STATUS)) != "Needs attention"
