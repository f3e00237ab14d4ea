"""The order detail's Shipping section (ui/views/order_shipping.py) through the real
label service: "Buy label…" only while the order can be shipped with no live label,
the shipment's record after a purchase (refreshed by ShipmentsChanged), Print again
from memory without buying, Void after a confirm, Refresh tracking, and no section for
an FBA order."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QLabel, QPushButton

from app.fulfillment.models import ShipmentState
from app.services import Core, Services
from tests.helpers.label_dialogs import (
    FBA_ORDER,
    ORDER,
    RATES,
    TRACKING,
    ScriptedShipping,
    label_world,
)
from tests.helpers.orders import ADMIN
from tests.helpers.windows import windows_go_before_the_vault  # noqa: F401
from ui.dialogs.label_buy import BuyLabelDialog
from ui.dialogs.label_preview import LabelPreviewDialog
from ui.events import QtEvents
from ui.views.order_detail import OrderDetailPanel


@pytest.fixture
def world(core: Core) -> tuple[Services, ScriptedShipping]:
    return label_world(core)


def _panel(qtbot: Any, core: Core, services: Services) -> OrderDetailPanel:
    events = QtEvents(core.notices)
    panel = OrderDetailPanel(services=services, actor=ADMIN, qt_events=events)
    events.setParent(panel)
    qtbot.addWidget(panel)
    panel.show()
    with qtbot.waitSignal(panel.shipping.shipping_loaded, timeout=5000):
        panel.show_order(ORDER.order_id)
    return panel


def _buy(services: Services) -> None:
    found = services.labels.shippable(ADMIN, [ORDER.order_id]).result(timeout=5)
    assert found[0].preset is not None
    quote = services.labels.get_rates(ADMIN, ORDER.order_id, found[0].preset)
    services.labels.buy(ADMIN, ORDER.order_id, quote, RATES[1].rate_id)


def _button(panel: OrderDetailPanel, name: str) -> QPushButton:
    button = panel.shipping.findChild(QPushButton, name)
    assert button is not None, name
    return button


def _state(panel: OrderDetailPanel) -> ShipmentState | None:
    shipments = panel.shipping.shipments
    return shipments[0].state if shipments else None


def _texts(panel: OrderDetailPanel) -> list[str]:
    return [w.text() for w in panel.shipping.findChildren(QLabel, "shipmentText")]


def test_buy_label_is_offered_until_a_label_is_bought_then_the_record_shows(
    qtbot: Any, core: Core, world: tuple[Services, ScriptedShipping]
) -> None:
    services, _client = world
    panel = _panel(qtbot, core, services)
    section = panel.shipping
    assert section.isVisibleTo(panel)
    assert section.buy_button.isVisibleTo(panel)
    assert section.note.text() == "No label bought yet."
    section.buy_button.click()
    assert isinstance(section.buy_dialog, BuyLabelDialog)
    section.buy_dialog.close()

    with qtbot.waitSignal(section.shipping_loaded, timeout=5000):
        _buy(services)  # ShipmentsChanged reloads the section
    assert not section.buy_button.isVisibleTo(panel)
    [text] = _texts(panel)
    assert "USPS Ground Advantage · 7.45 USD" in text
    assert f"Tracking {TRACKING}" in text and "not printed yet" in text
    assert "Bought by" in text


def test_print_again_opens_the_preview_from_memory_without_buying(
    qtbot: Any, core: Core, world: tuple[Services, ScriptedShipping]
) -> None:
    services, client = world
    _buy(services)
    panel = _panel(qtbot, core, services)
    row_id = panel.shipping.shipments[0].id
    _button(panel, f"printAgain-{row_id}").click()
    qtbot.waitUntil(lambda: panel.shipping.preview is not None, timeout=5000)
    preview = panel.shipping.preview
    assert isinstance(preview, LabelPreviewDialog)
    qtbot.addWidget(preview)
    assert client.purchases == 1 and client.document_calls == 0


def test_void_asks_first_then_voids_and_offers_buying_again(
    qtbot: Any, core: Core, world: tuple[Services, ScriptedShipping]
) -> None:
    services, _client = world
    _buy(services)
    panel = _panel(qtbot, core, services)
    section = panel.shipping
    row_id = section.shipments[0].id
    _button(panel, f"void-{row_id}").click()
    box = section.question
    assert box is not None and "Void the" in box.text()
    keep = next(b for b in box.buttons() if b.text() == "Keep it")
    keep.click()
    assert _state(panel) is ShipmentState.BOUGHT

    _button(panel, f"void-{row_id}").click()
    box = section.question
    assert box is not None
    void = next(b for b in box.buttons() if b.text() == "Void label")
    void.click()
    qtbot.waitUntil(
        lambda: _state(panel) is ShipmentState.VOIDED,
        timeout=5000,
    )
    assert section.buy_button.isVisibleTo(panel)
    assert "Voided" in _texts(panel)[0]


def test_refresh_tracking_shows_the_delivery(
    qtbot: Any, core: Core, world: tuple[Services, ScriptedShipping]
) -> None:
    services, _client = world
    _buy(services)
    panel = _panel(qtbot, core, services)
    row_id = panel.shipping.shipments[0].id
    _button(panel, f"refreshTracking-{row_id}").click()
    qtbot.waitUntil(lambda: "Delivered" in " ".join(_texts(panel)), timeout=5000)


def test_an_fba_order_has_no_shipping_section(
    qtbot: Any, core: Core, world: tuple[Services, ScriptedShipping]
) -> None:
    services, _client = world
    panel = OrderDetailPanel(services=services, actor=ADMIN)
    qtbot.addWidget(panel)
    panel.show()
    with qtbot.waitSignal(panel.order_loaded, timeout=5000):
        panel.show_order(FBA_ORDER.order_id)
    assert not panel.shipping.isVisibleTo(panel)
