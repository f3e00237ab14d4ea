"""The "Package" box of the label dialogs: a preset, or a size and weight typed in.

:meth:`PackageBox.package` gives what the form shows as a
:class:`~app.fulfillment.models.PackagePreset`: the chosen preset itself while its
numbers are unchanged (its name is recorded with the label), else a "Custom size".
Thread: GUI only.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QWidget,
)

from app.amazon.spapi.shipping import DimensionUnit, WeightUnit
from app.fulfillment.models import PackagePreset

CUSTOM = "Custom size"
WEIGHT_UNITS = (
    ("lb", WeightUnit.POUND),
    ("oz", WeightUnit.OUNCE),
    ("kg", WeightUnit.KILOGRAM),
    ("g", WeightUnit.GRAM),
)


def _spin(name: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setObjectName(name)
    spin.setDecimals(2)
    spin.setRange(0, 10000)
    spin.setMinimumWidth(80)
    return spin


class PackageBox(QGroupBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Package", parent)
        form = QFormLayout(self)
        self.preset = QComboBox()
        self.preset.setObjectName("presetCombo")
        self.preset.currentIndexChanged.connect(lambda _i: self._preset_chosen())
        form.addRow("Preset:", self.preset)
        dims = QHBoxLayout()
        self.length_spin = _spin("length")
        self.width_spin = _spin("width")
        self.height_spin = _spin("height")
        dims.addWidget(self.length_spin)
        dims.addWidget(QLabel("×"))
        dims.addWidget(self.width_spin)
        dims.addWidget(QLabel("×"))
        dims.addWidget(self.height_spin)
        self.dim_unit = QComboBox()
        self.dim_unit.setObjectName("dimUnit")
        self.dim_unit.addItem("in", DimensionUnit.INCH)
        self.dim_unit.addItem("cm", DimensionUnit.CENTIMETER)
        dims.addWidget(self.dim_unit)
        dims.addStretch(1)
        form.addRow("Size (L × W × H):", dims)
        weight = QHBoxLayout()
        self.weight_spin = _spin("weight")
        weight.addWidget(self.weight_spin)
        self.weight_unit = QComboBox()
        self.weight_unit.setObjectName("weightUnit")
        for text, unit in WEIGHT_UNITS:
            self.weight_unit.addItem(text, unit)
        weight.addWidget(self.weight_unit)
        weight.addStretch(1)
        form.addRow("Weight:", weight)
        self.remember = QCheckBox()
        self.remember.setObjectName("rememberPreset")
        self.remember.setVisible(False)
        form.addRow("", self.remember)

    def show_presets(self, presets: list[PackagePreset], pick: PackagePreset | None) -> None:
        """Offer ``presets`` (and "Custom size"), ``pick`` chosen and its numbers shown."""
        self.preset.blockSignals(True)
        self.preset.clear()
        self.preset.addItem(CUSTOM, None)
        for preset in presets:
            self.preset.addItem(f"{preset.name} — {preset.describe()}", preset)
        index = next(
            (i for i in range(self.preset.count()) if _same(self.preset.itemData(i), pick)), 0
        )
        self.preset.setCurrentIndex(index)
        self.preset.blockSignals(False)
        self._preset_chosen()

    def _preset_chosen(self) -> None:
        preset = self.preset.currentData()
        if not isinstance(preset, PackagePreset):
            return
        self.length_spin.setValue(float(preset.length))
        self.width_spin.setValue(float(preset.width))
        self.height_spin.setValue(float(preset.height))
        self.weight_spin.setValue(float(preset.weight))
        self.dim_unit.setCurrentIndex(self.dim_unit.findData(preset.dimension_unit))
        self.weight_unit.setCurrentIndex(self.weight_unit.findData(preset.weight_unit))

    def package(self, store_id: int) -> PackagePreset:
        """The package as the form shows it (the preset while its numbers are unchanged)."""
        chosen = self.preset.currentData()
        typed = PackagePreset(
            store_id=store_id,
            name=CUSTOM,
            length=_dec(self.length_spin),
            width=_dec(self.width_spin),
            height=_dec(self.height_spin),
            dimension_unit=DimensionUnit(self.dim_unit.currentData()),
            weight=_dec(self.weight_spin),
            weight_unit=WeightUnit(self.weight_unit.currentData()),
        )
        if isinstance(chosen, PackagePreset) and _same_size(chosen, typed):
            return chosen
        return typed


def _dec(spin: QDoubleSpinBox) -> Decimal:
    return Decimal(str(round(spin.value(), 2)))


def _same_size(a: PackagePreset, b: PackagePreset) -> bool:
    return (a.length, a.width, a.height, a.dimension_unit, a.weight, a.weight_unit) == (
        b.length,
        b.width,
        b.height,
        b.dimension_unit,
        b.weight,
        b.weight_unit,
    )


def _same(data: Any, preset: PackagePreset | None) -> bool:
    if not isinstance(data, PackagePreset) or preset is None:
        return False
    return data.id == preset.id if preset.id is not None else data.name == preset.name
