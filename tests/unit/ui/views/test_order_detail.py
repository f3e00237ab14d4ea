"""The order detail panel (ui/views/order_detail.py)."""

from __future__ import annotations

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
