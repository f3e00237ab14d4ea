"""The Orders tab: filters, debounced search, empty states, detail panel, refreshes."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel

from app.amazon import orders_repo
from app.amazon.models import OrderStatus
from app.auth.models import Actor
from app.auth.rbac import Role as AuthRole
from app.clock import FakeClock
from app.notices import Notices, OrdersChanged, SyncProgressed
from app.services import Core, Services, build_services
from app.vault import Vault
from tests.helpers.operators import put_operator
from tests.helpers.orders import ADMIN, NOW, make_order, seed
from tests.helpers.windows import windows_go_before_the_vault  # noqa: F401
from ui.events import QtEvents
from ui.models.roles import ItemRole
from ui.views import orders as orders_view
from ui.views.orders import OrdersView


@pytest.fixture(autouse=True)
def ops_bridge(qapp: Any) -> None:
    from ui import ops

    ops.install()


@pytest.fixture
def services(core: Core) -> Services:
    return build_services(core)


def _view(qtbot: Any, services: Services, **kw: Any) -> OrdersView:
    """The view as ``actor`` (default ADMIN), that operator stored now."""
    actor = put_operator(services.core.vault, kw.pop("actor", ADMIN))
    v = OrdersView(services=services, actor=actor, clock=FakeClock(NOW), **kw)
    qtbot.addWidget(v)
    v.resize(1200, 600)
    v.show()
    qtbot.waitUntil(lambda: v.model.searched_once and v._stores_known, timeout=5000)
    return v


def test_no_store_state_offers_connect_to_admins_only(
    qtbot: Any, vault: Vault, services: Services
) -> None:
    v = _view(qtbot, services)
    assert v.stack.currentWidget() is v.no_store
    assert v.no_store.button.isVisibleTo(v)
    with qtbot.waitSignal(v.connect_store_requested, timeout=1000):
        v.no_store.button.click()
    agent = Actor(id=2, username="a", display_name="A", role=AuthRole.AGENT)
    w = _view(qtbot, services, actor=agent)
    assert w.stack.currentWidget() is w.no_store
    assert not w.no_store.button.isVisibleTo(w)
    assert "administrator" in w.no_store.text.text()


def test_populated_then_debounced_search_then_no_match(
    qtbot: Any, vault: Vault, services: Services
) -> None:
    orders = seed(vault, 40)
    v = _view(qtbot, services)
    assert v.stack.currentWidget() is v.table
    assert v.model.rowCount() == 40 and v.count_label.text() == "40 orders"
    with qtbot.assertNotEmitted(v.model.search_finished, wait=100):
        v.search.setText(orders[0].order_id[:6])  # typing: nothing before the debounce
    with qtbot.waitSignal(v.model.search_finished, timeout=3000):
        v.search.setText(orders[0].order_id)
    assert v.model.ids() == [orders[0].order_id]
    with qtbot.waitSignal(v.model.search_finished, timeout=3000):
        v.search.setText("definitely-not-here")
    assert v.stack.currentWidget() is v.no_match
    with qtbot.waitSignal(v.model.search_finished, timeout=3000):
        v.no_match.button.click()
    assert v.search.text() == "" and v.model.rowCount() == 40


def test_filters_build_the_query(qtbot: Any, vault: Vault, services: Services) -> None:
    orders = seed(vault, 60)
    v = _view(qtbot, services)
    with qtbot.waitSignal(v.model.search_finished, timeout=3000):
        v.status_combo.setCurrentIndex(v.status_combo.findData(OrderStatus.CANCELLED))
    cancelled = {o.order_id for o in orders if o.status == OrderStatus.CANCELLED}
    assert set(v.model.ids()) == cancelled
    with qtbot.waitSignal(v.model.search_finished, timeout=3000):
        v.needs_shipping.setChecked(True)
    assert v.model.query.needs_shipping and v.model.rowCount() == 0
    assert v.stack.currentWidget() is v.no_match
    v.clear_filters()
    qtbot.waitUntil(lambda: v.model.rowCount() == 60, timeout=3000)
    with qtbot.waitSignal(v.model.search_finished, timeout=3000):
        v.date_combo.setCurrentIndex(v.date_combo.findData(0))  # today
    assert v.model.query.date_from is not None
    mkt_index = v.store_combo.findData("mkt:A1PA6795UKMFR9")
    assert mkt_index > 0
    with qtbot.waitSignal(v.model.search_finished, timeout=3000):
        v.store_combo.setCurrentIndex(mkt_index)
    assert v.model.query.marketplace_ids == frozenset({"A1PA6795UKMFR9"})


def test_selecting_a_row_shows_details(qtbot: Any, vault: Vault, services: Services) -> None:
    orders = seed(vault, 10)
    v = _view(qtbot, services)
    with qtbot.waitSignal(v.detail.order_loaded, timeout=3000) as blocker:
        _select_row(v, 2)
    assert blocker.args == [orders[2].order_id]
    assert v.detail.items_table.rowCount() == len(orders[2].items)
    first = v.detail.items_table.item(0, 0)
    assert first is not None
    assert f"ASIN {orders[2].items[0].asin}" in first.text()
    assert (orders[2].items[0].title or "?") in first.text()
    assert v.detail.stack.currentWidget() is v.detail.detail_page


def test_seller_central_link(
    qtbot: Any, vault: Vault, services: Services, monkeypatch: Any
) -> None:
    orders = seed(vault, 3)
    v = _view(qtbot, services)
    opened: list[str] = []
    monkeypatch.setattr(
        "ui.views.order_detail.QDesktopServices.openUrl", lambda url: opened.append(url.toString())
    )
    with qtbot.waitSignal(v.detail.order_loaded, timeout=3000):
        _select_row(v, 0)
    v.detail.seller_central.click()
    assert opened == [orders_repo.seller_central_url(orders[0])]
    assert opened[0].startswith("https://sellercentral.amazon.com/orders-v3/order/")


def test_order_not_stored_yet_fetches_now(
    qtbot: Any, vault: Vault, services: Services, monkeypatch: Any
) -> None:
    seed(vault, 1)
    missing = make_order(900)
    fetched: list[str] = []

    def fetch_order(actor: Any, order_id: str) -> None:  # Amazon answers: now it is stored
        fetched.append(order_id)
        vault.call_write(lambda conn: orders_repo.upsert_orders(conn, [missing], now=NOW))

    monkeypatch.setattr(services.sync, "fetch_order", fetch_order)
    v = _view(qtbot, services)
    with qtbot.waitSignal(v.detail.order_missing, timeout=3000):
        v.detail.show_order(missing.order_id)
    assert "not stored yet" in v.detail.missing_label.text()
    with qtbot.waitSignal(v.detail.order_loaded, timeout=5000):
        v.detail.fetch_button.click()
    assert fetched == [missing.order_id]


def _select_row(v: Any, row: int) -> None:
    """Select one row as a click does, whatever keyboard modifiers Qt believes are held
    (``QTableView.selectRow`` reads them: a Ctrl left "down" by another test's key
    chord toggles instead of selecting)."""
    sm = v.table.selectionModel()
    flags = QItemSelectionModel.SelectionFlag
    sm.setCurrentIndex(v.model.index(row, 0), flags.ClearAndSelect | flags.Rows)


def test_synced_refresh_is_throttled_and_keeps_selection(
    qtbot: Any, vault: Vault, services: Services, monkeypatch: Any
) -> None:
    monkeypatch.setattr(orders_view, "REFRESH_MIN_MS", 300)
    orders = seed(vault, 20)
    bus = Notices()
    events = QtEvents(bus)
    v = _view(qtbot, services, qt_events=events)
    _select_row(v, 3)
    chosen = orders[3].order_id
    newest = make_order(-3)
    vault.call_write(lambda conn: orders_repo.upsert_orders(conn, [newest], now=NOW))
    with qtbot.waitSignal(v.model.search_finished, timeout=3000):
        for _ in range(5):  # a burst of pages: one refresh
            bus.publish(OrdersChanged(frozenset({1}), (), new=1))
    assert v.refresh_count == 1
    assert v.model.order_id(0) == newest.order_id
    assert v.selected_order_ids() == [chosen]
    # Hidden: deferred until shown again.
    v.hide()
    bus.publish(OrdersChanged(frozenset({1}), (), new=0))
    qtbot.wait(50)
    with qtbot.assertNotEmitted(v.model.search_finished, wait=400):
        pass
    assert v.refresh_count == 1
    with qtbot.waitSignal(v.model.search_finished, timeout=3000):
        v.show()
    assert v.refresh_count == 2
    events.close()


def test_first_sync_state(qtbot: Any, vault: Vault, services: Services) -> None:
    from app.amazon.models import SyncPhase, SyncProgress

    vault.call_write(
        lambda c: c.execute(
            "INSERT INTO stores(id, name, created_at) VALUES (1, 'S', '2026-01-01T00:00:00Z')"
        )
    )
    bus = Notices()
    events = QtEvents(bus)
    v = _view(qtbot, services, qt_events=events)
    assert v.stack.currentWidget() is v.no_orders
    progress = SyncProgress(1, SyncPhase.BACKFILL, pages=2, orders=200, eta_seconds=600)
    with qtbot.waitSignal(events.published, timeout=2000):
        bus.publish(SyncProgressed(progress))
    assert v.stack.currentWidget() is v.first_sync
    assert "200 orders so far" in v.first_sync.text.text()
    events.close()


def test_painting_the_table_runs_no_python(qtbot: Any, vault: Vault, services: Services) -> None:
    """The cells live in C++ (ui.models.orders_model): a repaint must not call into
    Python, where each call could wait for the GIL while a sync thread runs."""
    import gc
    import sys

    from PySide6.QtGui import QStandardItem

    seed(vault, 60)
    v = _view(qtbot, services)
    model = v.model
    shown = range(v.table.rowAt(0), v.table.rowAt(v.table.viewport().height() - 1) + 1)
    assert len(shown) > 10
    qtbot.waitUntil(
        lambda: all(model.data(model.index(r, 0), ItemRole.LOADED) for r in shown), timeout=5000
    )
    calls: list[str] = []

    def profile(frame: Any, event: str, _arg: Any) -> None:
        if event == "call":
            calls.append(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        image = v.table.viewport().grab().toImage()
        v.table.viewport().repaint()
    finally:
        sys.setprofile(None)
    assert calls == []
    assert image.width() > 100
    # No Python object per cell is kept alive for the garbage collector to walk.
    gc.collect()
    assert not [o for o in gc.get_objects() if isinstance(o, QStandardItem) and o.model() is model]


def test_store_filter_offers_only_the_agents_stores_as_stored_now(
    qtbot: Any, vault: Vault, services: Services
) -> None:
    for sid, name in ((1, "One"), (2, "Two"), (3, "Three")):
        seed(vault, 3, store_id=sid, store_name=name)
    put_operator(vault, Actor(5, "ag", "Ag", AuthRole.AGENT, frozenset({1, 2})))
    # The session's Actor claims store 3 too; the database says stores 1 and 2.
    claimed = Actor(5, "ag", "Ag", AuthRole.AGENT, frozenset({1, 2, 3}))
    v = OrdersView(services=services, actor=claimed, clock=FakeClock(NOW))
    qtbot.addWidget(v)
    v.show()
    qtbot.waitUntil(lambda: v.model.searched_once and v._stores_known, timeout=5000)
    stores = [v.store_combo.itemData(i) for i in range(v.store_combo.count())]
    assert [s for s in stores if str(s).startswith("store:")] == ["store:1", "store:2"]


def test_a_marketplace_first_seen_in_a_sync_joins_the_filter(
    qtbot: Any, vault: Vault, services: Services
) -> None:
    """The filter was filled once: a marketplace whose first orders arrived in a later
    sync (the demo's second marketplace, a seller's new EU country) never appeared."""
    seed(vault, 1)  # order 0: Amazon.com only
    bus = Notices()
    events = QtEvents(bus)
    v = _view(qtbot, services, qt_events=events)
    assert v.store_combo.findData("mkt:A1PA6795UKMFR9") == -1
    assert v.store_combo.findData("mkt:ATVPDKIKX0DER") != -1
    german = make_order(1)  # Amazon.de
    vault.call_write(lambda conn: orders_repo.upsert_orders(conn, [german], now=NOW))
    bus.publish(OrdersChanged(frozenset({1}), (german.order_id,), new=1))
    qtbot.waitUntil(lambda: v.store_combo.findData("mkt:A1PA6795UKMFR9") != -1, timeout=3000)
    events.close()


def test_an_order_not_delivered_yet_shows_its_delivery_state_not_delivered(
    qtbot: Any, vault: Vault, services: Services
) -> None:
    """The dates said "Delivered: To ship" for an order still to ship."""
    from PySide6.QtWidgets import QFormLayout, QLabel

    orders = seed(vault, 10)
    row = next(i for i, o in enumerate(orders) if o.delivered_at is None)
    v = _view(qtbot, services)
    with qtbot.waitSignal(v.detail.order_loaded, timeout=3000):
        _select_row(v, row)
    form = v.detail.dates
    pairs = {}
    for r in range(form.rowCount()):
        label = form.itemAt(r, QFormLayout.ItemRole.LabelRole).widget()
        field = form.itemAt(r, QFormLayout.ItemRole.FieldRole).widget()
        assert isinstance(label, QLabel) and isinstance(field, QLabel)
        pairs[label.text()] = field.text()
    assert "Delivered:" not in pairs
    from ui.models.orders_model import DELIVERY_TEXT

    assert pairs["Delivery:"] == DELIVERY_TEXT[orders[row].delivery_state]


def _select_rows(v: Any, rows: list[int]) -> None:
    sm = v.table.selectionModel()
    flags = QItemSelectionModel.SelectionFlag
    sm.clearSelection()
    for row in rows:
        sm.select(v.model.index(row, 0), flags.Select | flags.Rows)


def test_buy_label_opens_the_one_order_dialog_or_the_batch(
    qtbot: Any, vault: Vault, services: Services
) -> None:
    from ui.dialogs.label_batch import BatchLabelDialog
    from ui.dialogs.label_buy import BuyLabelDialog

    seed(vault, 6)
    v = _view(qtbot, services)
    action = v.buy_label_action
    assert action.isVisible() and v.buy_label_button.isVisibleTo(v)
    assert action.shortcut().toString() == "Ctrl+Shift+L"
    assert action in v.table.actions()  # the table's context menu
    assert not action.isEnabled() and v.buy_labels() is None  # nothing selected

    _select_rows(v, [2])
    assert action.isEnabled() and action.toolTip().startswith("Rates and a label for the")
    one = v.buy_labels()
    assert isinstance(one, BuyLabelDialog) and one.order_id == v.model.order_id(2)
    one.reject()

    _select_rows(v, [0, 1, 3])
    assert action.toolTip().startswith("Rates, review and labels for the 3 selected")
    action.trigger()
    batches = [w for w in v.findChildren(BatchLabelDialog) if w.isVisible()]
    assert len(batches) == 1
    assert sorted(batches[0].order_ids) == sorted(str(v.model.order_id(r)) for r in (0, 1, 3))
    batches[0].reject()


def test_buy_label_is_hidden_from_an_operator_who_may_ship_for_no_store(
    qtbot: Any, vault: Vault, services: Services
) -> None:
    seed(vault, 3)
    stranger = Actor(id=2, username="s", display_name="S", role=AuthRole.AGENT)
    v = _view(qtbot, services, actor=stranger)
    assert not v.buy_label_action.isVisible() and not v.buy_label_button.isVisibleTo(v)
    assert v.buy_labels() is None
    member = Actor(
        id=3, username="m", display_name="M", role=AuthRole.AGENT, store_ids=frozenset({1})
    )
    w = _view(qtbot, services, actor=member)
    assert w.model.rowCount() == 3
    assert w.buy_label_action.isVisible()
    _select_rows(w, [0])
    assert w.buy_label_action.isEnabled()
