"""The label dialogs' package box (ui/dialogs/package_box.py): the chosen preset is what
is rated while its numbers are unchanged; a size typed over it is a "Custom size"."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.amazon.spapi.shipping import DimensionUnit, WeightUnit
from app.fulfillment.models import PackagePreset
from ui.dialogs.package_box import CUSTOM, PackageBox

BOX = PackagePreset(
    1,
    "Mug box",
    Decimal(8),
    Decimal(6),
    Decimal(6),
    DimensionUnit.INCH,
    Decimal(2),
    WeightUnit.POUND,
    sku="MUG-1",
    id=7,
)
DEFAULT = PackagePreset(
    1,
    "Default",
    Decimal(30),
    Decimal(20),
    Decimal(10),
    DimensionUnit.CENTIMETER,
    Decimal(500),
    WeightUnit.GRAM,
    id=3,
)


def test_the_preset_is_kept_until_its_numbers_change(qtbot: Any) -> None:
    box = PackageBox()
    qtbot.addWidget(box)
    box.show_presets([DEFAULT, BOX], BOX)
    assert box.preset.currentData() == BOX
    assert box.package(1) == BOX
    box.preset.setCurrentIndex(box.preset.findText(f"Default — {DEFAULT.describe()}"))
    assert box.package(1) == DEFAULT
    assert box.weight_unit.currentData() == WeightUnit.GRAM
    box.weight_spin.setValue(650)
    typed = box.package(1)
    assert typed.name == CUSTOM and typed.weight == Decimal(650) and typed.id is None
    assert (typed.length, typed.dimension_unit) == (Decimal(30), DimensionUnit.CENTIMETER)


def test_without_a_preset_the_form_starts_custom(qtbot: Any) -> None:
    box = PackageBox()
    qtbot.addWidget(box)
    box.show_presets([BOX], None)
    assert box.preset.currentText() == CUSTOM
    assert box.package(1).name == CUSTOM
