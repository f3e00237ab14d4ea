"""The order detail panel (ui/views/order_detail.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from app.amazon import orders_repo
from app.amazon.models import OrderItem, OrderStatus, Package, PackageItem
from app.services import Core, Services, build_services
from app.vault import Vault
from tests.helpers.operators import put_operator
from tests.helpers.orders import ADMIN, NOW, make
from ui.views.order_detail import OrderDetailPanel


@pytest.fixture(autouse=True)
def ops_bridge(qapp: Any) -> None:
    from ui import ops

    ops.install()


@pytest.fixture
def services(core: Core) -> Services:
    return build_services(core)


def _form(panel: OrderDetailPanel) -> dict[str, str]:
    from PySide6.QtWidgets import QFormLayout, QLabel

    form = panel.fulfillment
    pairs = {}
    for r in range(form.rowCount()):
        label = form.itemAt(r, QFormLayout.ItemRole.LabelRole).widget()
        field = form.itemAt(r, QFormLayout.ItemRole.FieldRole).widget()
        assert isinstance(label, QLabel) and isinstance(field, QLabel)
        pairs[label.text()] = field.text()
    return pairs


def test_each_package_says_which_items_it_holds(
    qtbot: Any, vault: Vault, services: Services
) -> None:
    order = make(
        1,
        status=OrderStatus.PARTIALLY_SHIPPED,
        items=(
            OrderItem("i1", "B0ASIN0001", "LANTERN-2", "Trail lantern", 3, None),
            OrderItem("i2", "B0ASIN0002", None, "Spare battery", 1, None),
        ),
        packages=(
            Package("p1", "UPS", "1Z1", "DELIVERED", items=(PackageItem("i1", 2),)),
            Package(
                "p2",
                "UPS",
                "1Z2",
                "IN_TRANSIT",
                items=(PackageItem("i1", 1), PackageItem("i2", 1), PackageItem("gone", 1)),
            ),
            Package("p3", "DHL", "JD3", "IN_TRANSIT"),  # contents not known
        ),
    )

    def write(conn: Any) -> None:
        conn.execute("INSERT INTO stores(id, name, created_at) VALUES (1, 'S', 'x')")
        orders_repo.upsert_orders(conn, [order], now=NOW)

    vault.call_write(write)
    panel = OrderDetailPanel(services=services, actor=put_operator(vault, ADMIN))
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.order_loaded, timeout=3000):
        panel.show_order(order.order_id)
    rows = _form(panel)
    # Items by SKU, else ASIN; an id the order does not list shows as it came.
    assert rows["Package 1:"].endswith("\nContains 2× LANTERN-2")
    assert rows["Package 2:"].endswith("\nContains 1× LANTERN-2, 1× B0ASIN0002, 1× gone")
    assert "Contains" not in rows["Package 3:"]


def test_an_order_needing_attention_says_what_and_where_to_check(
    qtbot: Any, vault: Vault, services: Services
) -> None:
    """An odd order (stored by the sync with the reason) says so in the panel, not only in
    the table's tooltip; a normal order shows no such line."""
    odd = make(1, attention="Amazon sent a status this app does not know (ON_HOLD).")
    plain = make(2)

    def write(conn: Any) -> None:
        conn.execute("INSERT INTO stores(id, name, created_at) VALUES (1, 'S', 'x')")
        orders_repo.upsert_orders(conn, [odd, plain], now=NOW)

    vault.call_write(write)
    panel = OrderDetailPanel(services=services, actor=put_operator(vault, ADMIN))
    qtbot.addWidget(panel)
    panel.show()
    with qtbot.waitSignal(panel.order_loaded, timeout=3000):
        panel.show_order(odd.order_id)
    assert panel.status_chip.text() == "Needs attention"
    assert panel.attention.isVisibleTo(panel)
    assert "ON_HOLD" in panel.attention.text() and "Seller Central" in panel.attention.text()
    with qtbot.waitSignal(panel.order_loaded, timeout=3000):
        panel.show_order(plain.order_id)
    assert not panel.attention.isVisibleTo(panel)
    assert panel.status_chip.text() != "Needs attention"


class _Counted:
    """``services.orders.open_order`` counted (the real one runs)."""

    def __init__(self, services: Services) -> None:
        self.real = services.orders.open_order
        self.calls: list[tuple[int, str]] = []

    def __call__(self, actor: Any, store_id: int, order_id: str) -> Any:
        self.calls.append((store_id, order_id))
        return self.real(actor, store_id, order_id)


def _report_store(services: Services) -> int:
    from app.amazon.models import Region, StoreDraft

    draft = StoreDraft(
        name="Main US",
        region=Region.NA,
        marketplace_ids=("ATVPDKIKX0DER",),
        lwa_client_id="amzn1.application-oa2-client.x",
    )
    return services.stores.create_store(ADMIN, draft).id  # no credentials: Amazon unreachable


def test_a_report_order_asks_amazon_once_and_says_when_it_could_not(
    qtbot: Any, vault: Vault, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An order from Amazon's order report says what it lacks and asks Amazon for its
    details once; Amazon unreachable (here: no credentials): the report's copy stays,
    and the panel says when packages and tracking come."""
    from ui.views.order_detail import DETAILS_LOADING_TEXT, DETAILS_UNREACHABLE_TEXT

    put_operator(vault, ADMIN)
    store_id = _report_store(services)
    order = make(1, store_id=store_id, packages=(), ship_by_latest=None, details_pending=True)
    vault.call_write(lambda conn: orders_repo.upsert_orders(conn, [order], now=NOW))
    counted = _Counted(services)
    monkeypatch.setattr(services.orders, "open_order", counted)
    panel = OrderDetailPanel(services=services, actor=ADMIN)
    qtbot.addWidget(panel)
    panel.show()
    with qtbot.waitSignal(panel.order_loaded, timeout=3000):
        panel.show_order(order.order_id)
    assert panel.report_note.text() in (DETAILS_LOADING_TEXT, DETAILS_UNREACHABLE_TEXT)
    qtbot.waitUntil(lambda: panel.report_note.text() == DETAILS_UNREACHABLE_TEXT, timeout=5000)
    assert panel.report_note.isVisibleTo(panel)
    assert counted.calls == [(store_id, order.order_id)]
    with qtbot.waitSignal(panel.order_loaded, timeout=3000):
        panel.reload()
    assert panel.report_note.text() == DETAILS_UNREACHABLE_TEXT
    assert counted.calls == [(store_id, order.order_id)]  # once


def test_a_report_order_shows_its_details_once_amazon_gave_them(
    qtbot: Any, vault: Vault, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from ui.views.order_detail import DETAILS_LOADING_TEXT

    put_operator(vault, ADMIN)
    store_id = _report_store(services)
    report = make(3, store_id=store_id, packages=(), ship_by_latest=None, details_pending=True)
    full = make(3, store_id=store_id, last_updated=report.last_updated + timedelta(hours=1))
    vault.call_write(lambda conn: orders_repo.upsert_orders(conn, [report], now=NOW))
    release = threading.Event()

    def get_order(actor: Any, sid: int, order_id: str, **kw: Any) -> Any:
        assert release.wait(5)  # Amazon answers once the test looked at "being loaded"
        vault.call_write(lambda conn: orders_repo.upsert_orders(conn, [full], now=NOW))
        return vault.call(lambda conn: orders_repo.get_order(conn, ADMIN, order_id))

    monkeypatch.setattr(services.sync, "fetch_order_now", get_order)
    panel = OrderDetailPanel(services=services, actor=ADMIN)
    qtbot.addWidget(panel)
    panel.show()
    with qtbot.waitSignal(panel.order_loaded, timeout=3000):
        panel.show_order(report.order_id)
    assert panel.report_note.text() == DETAILS_LOADING_TEXT
    assert panel.report_note.isVisibleTo(panel)
    assert _form(panel)["Tracking:"] == "—"
    with qtbot.waitSignal(panel.order_loaded, timeout=5000):
        release.set()
    assert not panel.report_note.isVisibleTo(panel)
    assert panel.order is not None and not panel.order.details_pending
    assert _form(panel)["Tracking:"].startswith("UPS 1Z3")
