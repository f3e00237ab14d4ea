"""Tools → Shipping… through the real label and settings services on a temp vault: the
ship-from address saved and shown again, fields at fault marked with nothing saved, a
package preset added and deleted, a thermal printer on the network and a CUPS queue saved
with their presets, the reprint cache turned on and off."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox

from app import settings as app_settings
from app.amazon.spapi.shipping import DimensionUnit, LabelFormat, WeightUnit
from app.fulfillment.models import PackagePreset, ShippingDefaults
from app.fulfillment.printers import (
    Orientation,
    Paper,
    PrinterInfo,
    PrinterKind,
    PrinterState,
    PrintSettings,
)
from app.services import Core, Services, build_services
from tests.helpers.inbox import add_store
from tests.helpers.operators import put_operator
from tests.helpers.orders import ADMIN
from tests.helpers.windows import windows_go_before_the_vault  # noqa: F401
from ui.dialogs.shipping import CACHE_TEXT, PresetDialog, PrinterDialog, ShippingDialog

QUEUES = [
    PrinterInfo("LabelPDF", PrinterKind.CUPS, PrinterState.IDLE, True, True, "Label PDF", False),
    PrinterInfo("Office", PrinterKind.CUPS, PrinterState.STOPPED, True, False, "Office", False),
]
ADDRESS = {
    "name": "Acme Kitchen",
    "company_name": "Acme Kitchen LLC",
    "address_line1": "1 Dock Road",
    "address_line2": "Unit 4",
    "city": "Seattle",
    "state_or_region": "WA",
    "postal_code": "98101",
    "country_code": "us",
    "phone": "+1 206 555 0100",
}


@pytest.fixture
def services(core: Core) -> Services:
    put_operator(core.vault, ADMIN)
    add_store(core.vault, 1, "Acme Kitchen")
    add_store(core.vault, 2, "Acme Garden")
    return build_services(core)


@pytest.fixture(autouse=True)
def yes_to_confirmations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)


def _dialog(qtbot: Any, services: Services) -> ShippingDialog:
    dialog = ShippingDialog(services=services, actor=ADMIN, list_printers=lambda: list(QUEUES))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(
        lambda: (
            dialog.store_combo.count() == 2
            and dialog.detected_table.rowCount() == 2
            and dialog.cache_check.isEnabled()
        ),
        timeout=5000,
    )
    # Stores are listed by name: Acme Garden (2) comes first; the tests work on store 1.
    assert dialog.store_combo.itemText(0) == "Acme Garden"
    with qtbot.waitSignal(dialog.store_loaded, timeout=5000, check_params_cb=lambda i: i == 1):
        dialog.store_combo.setCurrentIndex(dialog.store_combo.findData(1))
    return dialog


def _defaults(services: Services, store_id: int = 1) -> ShippingDefaults:
    return services.labels.read(ADMIN, lambda r: r.defaults(store_id)).result(timeout=5)


def _text(table: Any, row: int) -> list[str]:
    return [table.item(row, c).text() for c in range(table.columnCount())]


def test_ship_from_is_saved_and_shown_again(qtbot: Any, services: Services) -> None:
    dialog = _dialog(qtbot, services)
    for field, value in ADDRESS.items():
        dialog.address_fields[field].setText(value)
    dialog.format_combo.setCurrentIndex(
        dialog.format_combo.findText("ZPL 203 dpi", flags=_starts())
    )
    dialog.packing_slip.setChecked(True)
    with qtbot.waitSignal(dialog.defaults_saved, timeout=5000):
        dialog.save_defaults_button.click()
    assert "Saved" in dialog.defaults_result.text()

    saved = _defaults(services)
    assert saved.ship_from is not None
    assert saved.ship_from.country_code == "US"  # typed in lower case
    assert saved.ship_from.address_line2 == "Unit 4" and saved.ship_from.phone.endswith("0100")
    assert (saved.label_format, saved.dpi) == (LabelFormat.ZPL, 203)
    assert saved.packing_slip and not saved.slip_shows_name
    assert _defaults(services, 2).ship_from is None  # the other store is untouched

    again = _dialog(qtbot, services)
    qtbot.waitUntil(lambda: again.address_fields["city"].text() == "Seattle", timeout=5000)
    assert again.address_fields["company_name"].text() == "Acme Kitchen LLC"
    assert again.format_combo.currentText().startswith("ZPL 203 dpi")
    assert again.packing_slip.isChecked()
    again.store_combo.setCurrentIndex(again.store_combo.findText("Acme Garden"))
    qtbot.waitUntil(lambda: again.address_fields["city"].text() == "", timeout=5000)


def test_ship_from_fields_at_fault_are_marked_and_nothing_is_saved(
    qtbot: Any, services: Services
) -> None:
    dialog = _dialog(qtbot, services)
    for field, value in ADDRESS.items():
        dialog.address_fields[field].setText(value)
    dialog.address_fields["city"].setText(" ")
    dialog.address_fields["country_code"].setText("U1")
    with qtbot.assertNotEmitted(dialog.defaults_saved, wait=200):
        dialog.save_defaults_button.click()
    assert dialog.errors.shown() == ["city", "country_code"]
    assert dialog.errors.labels["country_code"].text().startswith("Enter the two-letter")
    assert dialog.errors.labels["city"].isVisibleTo(dialog)
    assert "c62828" in dialog.address_fields["city"].styleSheet()
    assert not dialog.errors.labels["name"].isVisibleTo(dialog)
    assert _defaults(services).ship_from is None

    dialog.address_fields["city"].setText("Seattle")
    dialog.address_fields["country_code"].setText("US")
    with qtbot.waitSignal(dialog.defaults_saved, timeout=5000):
        dialog.save_defaults_button.click()
    assert dialog.errors.shown() == []
    assert dialog.address_fields["city"].styleSheet() == ""


def test_a_package_preset_is_checked_added_and_deleted(qtbot: Any, services: Services) -> None:
    dialog = _dialog(qtbot, services)
    dialog.tabs.setCurrentIndex(1)
    form = dialog.add_preset()
    assert isinstance(form, PresetDialog)
    form.length_edit.setText("30")
    form.width_edit.setText("0")
    form.height_edit.setText("ten")
    form.weight.setText("0,8")
    with qtbot.assertNotEmitted(form.preset_saved, wait=200):
        form.buttons.button(form.buttons.StandardButton.Save).click()
    assert form.errors.shown() == ["name", "size"]
    form.name.setText("Small box")
    form.width_edit.setText("20")
    form.height_edit.setText("10")
    form.weight_unit.setCurrentIndex(form.weight_unit.findText("kg"))
    with qtbot.waitSignal(form.preset_saved, timeout=5000) as saved:
        form.buttons.button(form.buttons.StandardButton.Save).click()
    preset = saved.args[0]
    assert isinstance(preset, PackagePreset) and preset.id is not None
    assert (preset.weight, preset.weight_unit, preset.sku) == (
        Decimal("0.8"),
        WeightUnit.KILOGRAM,
        None,
    )
    qtbot.waitUntil(lambda: dialog.preset_table.rowCount() == 1, timeout=5000)
    assert _text(dialog.preset_table, 0) == [
        "Small box",
        "Default package",
        "30 × 20 × 10 cm",
        "0.8 kg",
    ]
    services.labels.save_preset(
        ADMIN,
        PackagePreset(1, "Mug box", Decimal(6), Decimal(6), Decimal(6), DimensionUnit.INCH,
                      Decimal(12), WeightUnit.OUNCE, sku="MUG-1"),
    )  # fmt: skip
    dialog.load_store()
    qtbot.waitUntil(lambda: dialog.preset_table.rowCount() == 2, timeout=5000)
    assert _text(dialog.preset_table, 1) == ["Mug box", "MUG-1", "6 × 6 × 6 in", "12 oz"]

    dialog.preset_table.selectRow(0)
    dialog.delete_preset()
    qtbot.waitUntil(lambda: dialog.preset_table.rowCount() == 1, timeout=5000)
    left = services.labels.read(ADMIN, lambda r: r.presets(1)).result(timeout=5)
    assert [p.name for p in left] == ["Mug box"]


def test_a_network_thermal_printer_is_checked_saved_and_removed(
    qtbot: Any, services: Services
) -> None:
    dialog = _dialog(qtbot, services)
    form = dialog.add_network_printer()
    assert isinstance(form, PrinterDialog)
    form.address.setText("zebra.local:99999")
    with qtbot.assertNotEmitted(form.printer_saved, wait=200):
        form.buttons.button(form.buttons.StandardButton.Save).click()
    assert form.errors.shown() == ["name", "address"]
    assert "not a port number" in form.errors.labels["address"].text()
    form.name.setText("Zebra at the packing table")
    form.address.setText("192.168.1.50")
    form.dpi.setCurrentIndex(form.dpi.findData(300))
    with qtbot.waitSignal(form.printer_saved, timeout=5000):
        form.buttons.button(form.buttons.StandardButton.Save).click()
    rows = services.labels.read(ADMIN, lambda r: r.printers()).result(timeout=5)
    assert [(n, k, a) for n, k, a, _s in rows] == [
        ("Zebra at the packing table", "zpl_tcp", "192.168.1.50:9100")
    ]
    assert PrintSettings.from_json(rows[0][3]).dpi == 300
    qtbot.waitUntil(lambda: dialog.printer_table.rowCount() == 1, timeout=5000)
    assert _text(dialog.printer_table, 0)[:2] == [
        "Zebra at the packing table",
        "Network, 192.168.1.50:9100",
    ]

    dialog.printer_table.selectRow(0)
    dialog.remove_printer()
    qtbot.waitUntil(lambda: dialog.printer_table.rowCount() == 0, timeout=5000)
    assert services.labels.read(ADMIN, lambda r: r.printers()).result(timeout=5) == []


def test_a_queue_of_this_computer_gets_a_label_preset(qtbot: Any, services: Services) -> None:
    dialog = _dialog(qtbot, services)
    assert _text(dialog.detected_table, 0) == ["LabelPDF", "Ready (default)"]
    assert _text(dialog.detected_table, 1) == ["Office", "Paused"]
    assert not dialog.use_queue_button.isEnabled()
    dialog.detected_table.selectRow(0)
    form = dialog.use_selected_queue()
    assert isinstance(form, PrinterDialog)
    assert form.name.text() == "LabelPDF" and form.name.isReadOnly()
    form.paper.setCurrentIndex(form.paper.findData(Paper.A6))
    form.orientation.setCurrentIndex(form.orientation.findData(Orientation.LANDSCAPE))
    with qtbot.waitSignal(form.printer_saved, timeout=5000):
        form.buttons.button(form.buttons.StandardButton.Save).click()
    qtbot.waitUntil(lambda: dialog.printer_table.rowCount() == 1, timeout=5000)
    assert _text(dialog.printer_table, 0) == [
        "LabelPDF",
        "This computer",
        "A6, landscape, true size",
    ]


def test_the_reprint_cache_is_off_by_default_and_turned_on_and_off(
    qtbot: Any, services: Services
) -> None:
    dialog = _dialog(qtbot, services)
    assert dialog.cache_check.text() == CACHE_TEXT and not dialog.cache_check.isChecked()

    def stored() -> bool:
        value = services.settings.read(ADMIN, app_settings.LABEL_REPRINT_CACHE).result(timeout=5)
        return bool(value)

    dialog.cache_check.setChecked(True)
    qtbot.waitUntil(lambda: dialog.cache_check.isEnabled(), timeout=5000)
    assert stored()
    dialog.cache_check.setChecked(False)
    qtbot.waitUntil(lambda: dialog.cache_check.isEnabled(), timeout=5000)
    assert not stored()


def _starts() -> Any:
    from PySide6.QtCore import Qt

    return Qt.MatchFlag.MatchStartsWith
