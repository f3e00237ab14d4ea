"""Buying one label (ui/dialogs/label_buy.py) through the real LabelService on a temp
vault, with a scripted Shipping client: rates sorted by price with the ineligible ones
greyed, Buy opens the preview with the bought label, a changed price is asked about, a
label bought already offers a reprint (nothing bought again), an uncertain purchase is
forgotten only after a confirm, and an FBA order offers no rates."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from PySide6.QtCore import Qt

from app.amazon.models import Money
from app.amazon.spapi.shipping import RateExpired
from app.errors import NetworkDown
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


@pytest.fixture
def world(core: Core) -> tuple[Services, ScriptedShipping]:
    return label_world(core)


def _dialog(qtbot: Any, services: Services, order_id: str = ORDER.order_id) -> BuyLabelDialog:
    dialog = BuyLabelDialog(services, ADMIN, order_id)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.loaded is not None, timeout=5000)
    return dialog


def _rates(qtbot: Any, dialog: BuyLabelDialog) -> None:
    dialog.rates_button.click()
    qtbot.waitUntil(lambda: dialog.quote is not None and not dialog.busy, timeout=5000)


def _item(dialog: BuyLabelDialog, row: int, column: int) -> Any:
    item = dialog.rates.item(row, column)
    assert item is not None
    return item


def _cells(dialog: BuyLabelDialog) -> list[list[str]]:
    table = dialog.rates
    return [
        [_item(dialog, r, c).text() for c in range(table.columnCount())]
        for r in range(table.rowCount())
    ]


def _answer(qtbot: Any, dialog: BuyLabelDialog, choice: str) -> None:
    qtbot.waitUntil(
        lambda: dialog.question is not None and dialog.question.isVisible(), timeout=5000
    )
    box = dialog.question
    assert box is not None
    button = next(b for b in box.buttons() if b.text() == choice)
    dialog.question = None
    button.click()


def _active(services: Services) -> list[Any]:
    shipments = services.labels.shipments(ADMIN, [ORDER.order_id]).result(timeout=5)
    return [s for s in shipments if s.active]


def test_rates_sorted_by_price_and_buy_opens_the_preview_with_the_label(
    qtbot: Any, world: tuple[Services, ScriptedShipping]
) -> None:
    services, client = world
    dialog = _dialog(qtbot, services)
    assert "Lantern box" in dialog.preset.currentText()  # the SKU's preset, preselected
    assert dialog.length_spin.value() == 10 and dialog.weight_spin.value() == 1.5
    assert dialog.remember.text() == "Remember for SKU LANTERN-2"
    _rates(qtbot, dialog)
    rows = _cells(dialog)
    assert [r[2] for r in rows[:3]] == ["7.45 USD", "9.10 USD", "21.30 USD"]
    assert rows[0][:2] == ["USPS", "Ground Advantage"] and rows[0][4] == "✓"
    assert rows[2][4] == ""  # FedEx 2Day is not claims-protected
    assert rows[3][0] == "DHL" and "too heavy" in rows[3][3]
    assert not _item(dialog, 3, 0).flags() & Qt.ItemFlag.ItemIsSelectable
    assert dialog.buy_button.text() == "Buy for 7.45 USD"
    assert dialog.buy_button.isDefault()

    with qtbot.waitSignal(dialog.label_bought, timeout=5000) as bought:
        dialog.buy_button.click()
    assert client.purchases == 1
    preview = dialog.preview
    assert isinstance(preview, LabelPreviewDialog)
    qtbot.addWidget(preview)
    assert preview.document.data == bought.args[0].label.data
    assert bought.args[0].shipment.tracking_id == TRACKING
    assert [s.state for s in _active(services)] == [ShipmentState.BOUGHT]


def test_a_changed_price_is_asked_about_and_bought_at_the_new_price(
    qtbot: Any, world: tuple[Services, ScriptedShipping]
) -> None:
    services, client = world
    dialog = _dialog(qtbot, services)
    _rates(qtbot, dialog)
    # The token expires; asked again, Amazon quotes USPS higher.
    client.purchase_errors.append(RateExpired())
    client.rates = (
        RATES[0],
        RATES[1].__class__(**{**RATES[1].__dict__, "total": Money(Decimal("8.05"), "USD")}),
        RATES[2],
    )
    dialog.buy_button.click()
    qtbot.waitUntil(lambda: dialog.question is not None, timeout=5000)
    assert dialog.question is not None
    assert "8.05 USD" in dialog.question.text() and "7.45 USD" in dialog.question.text()
    assert client.purchases == 0
    with qtbot.waitSignal(dialog.label_bought, timeout=5000) as bought:
        _answer(qtbot, dialog, "Buy for 8.05 USD")
    assert client.purchases == 1
    assert bought.args[0].shipment.cost == Money(Decimal("8.05"), "USD")


def test_a_label_bought_already_is_reprinted_not_bought_again(
    qtbot: Any, world: tuple[Services, ScriptedShipping]
) -> None:
    services, client = world
    first = _dialog(qtbot, services)
    _rates(qtbot, first)
    with qtbot.waitSignal(first.label_bought, timeout=5000):
        first.buy_button.click()
    assert client.purchases == 1

    dialog = _dialog(qtbot, services)
    assert "bought for this order already" in dialog.answer.text()
    _rates(qtbot, dialog)
    dialog.buy_button.click()
    with qtbot.waitSignal(dialog.label_bought, timeout=5000) as reprinted:
        _answer(qtbot, dialog, "Reprint")
    assert client.purchases == 1  # from memory: nothing bought, nothing downloaded
    assert client.document_calls == 0
    assert reprinted.args[0].shipment.tracking_id == TRACKING
    assert isinstance(dialog.preview, LabelPreviewDialog)
    qtbot.addWidget(dialog.preview)


def test_buy_another_label_buys_a_second_one(
    qtbot: Any, world: tuple[Services, ScriptedShipping]
) -> None:
    services, client = world
    first = _dialog(qtbot, services)
    _rates(qtbot, first)
    with qtbot.waitSignal(first.label_bought, timeout=5000):
        first.buy_button.click()
    dialog = _dialog(qtbot, services)
    _rates(qtbot, dialog)
    dialog.buy_button.click()
    with qtbot.waitSignal(dialog.label_bought, timeout=5000):
        _answer(qtbot, dialog, "Buy another label")
    assert client.purchases == 2
    assert len(_active(services)) == 2


def test_an_uncertain_purchase_is_forgotten_only_after_a_confirm(
    qtbot: Any, world: tuple[Services, ScriptedShipping]
) -> None:
    services, client = world
    dialog = _dialog(qtbot, services)
    _rates(qtbot, dialog)
    client.purchase_errors.append(NetworkDown(detail="connection reset"))
    dialog.buy_button.click()
    qtbot.waitUntil(lambda: dialog.question is not None, timeout=5000)
    assert "Seller Central" in dialog.answer.text()
    assert [s.state for s in _active(services)] == [ShipmentState.UNCERTAIN]
    _answer(qtbot, dialog, "It was not bought")
    # A second question: only if Seller Central shows no label.
    _answer(qtbot, dialog, "Cancel")
    assert [s.state for s in _active(services)] == [ShipmentState.UNCERTAIN]

    dialog.buy_button.click()  # refused again: still uncertain, nothing bought
    _answer(qtbot, dialog, "It was not bought")
    _answer(qtbot, dialog, "Yes, it was not bought")
    qtbot.waitUntil(lambda: "buy the label now" in dialog.answer.text(), timeout=5000)
    assert _active(services) == [] and client.purchases == 0
    with qtbot.waitSignal(dialog.label_bought, timeout=5000):
        dialog.buy_button.click()
    assert client.purchases == 1


def test_an_fba_order_says_why_and_offers_no_rates(
    qtbot: Any, world: tuple[Services, ScriptedShipping]
) -> None:
    services, client = world
    dialog = _dialog(qtbot, services, FBA_ORDER.order_id)
    assert dialog.blocked.isVisibleTo(dialog)
    assert "Fulfilled by Amazon" in dialog.blocked.text()
    assert not dialog.rates_button.isVisibleTo(dialog)
    assert client.rate_calls == 0


def test_a_missing_ship_from_address_is_said_inline(
    qtbot: Any, world: tuple[Services, ScriptedShipping]
) -> None:
    from app.fulfillment.models import ShippingDefaults

    services, client = world
    services.labels.save_defaults(ADMIN, ShippingDefaults(store_id=1))
    dialog = _dialog(qtbot, services)
    dialog.rates_button.click()
    qtbot.waitUntil(lambda: "Ship-from address missing" in dialog.answer.text(), timeout=5000)
    assert "Tools → Shipping" in dialog.answer.text()
    assert client.rate_calls == 0 and not dialog.buy_button.isEnabled()


def test_a_second_buy_press_while_buying_buys_nothing(
    qtbot: Any, world: tuple[Services, ScriptedShipping]
) -> None:
    """Enter (the default button) buys once: while buying, Buy is disabled and ignored."""
    services, client = world
    dialog = _dialog(qtbot, services)
    _rates(qtbot, dialog)
    with qtbot.waitSignal(dialog.label_bought, timeout=5000):
        dialog.buy_button.click()
        assert not dialog.buy_button.isEnabled()
        dialog.buy()  # a second press while buying does nothing
    assert client.purchases == 1


def test_the_chosen_format_is_bought_and_previewed(
    qtbot: Any, world: tuple[Services, ScriptedShipping]
) -> None:
    from app.amazon.spapi.shipping import LabelFormat

    services, client = world
    client.label = b"^XA^FO40,40^FDSHIP TO^FS^XZ"
    dialog = _dialog(qtbot, services)
    dialog.format.setCurrentText("ZPL 300 dpi")
    _rates(qtbot, dialog)
    with qtbot.waitSignal(dialog.label_bought, timeout=5000) as bought:
        dialog.buy_button.click()
    shipment = bought.args[0].shipment
    assert (shipment.label_format, shipment.dpi) == (LabelFormat.ZPL, 300)
    preview = dialog.preview
    assert isinstance(preview, LabelPreviewDialog)
    qtbot.addWidget(preview)
    assert preview.document.format is LabelFormat.ZPL
    assert preview.zpl_box.toPlainText() == "SHIP TO"
