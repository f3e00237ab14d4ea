"""Tools → Shipping… (admins): per store the ship-from address and label defaults, the
package presets, and this computer's label printers and the reprint cache.

Everything is read through ``services.labels.read`` (one DB hop, :func:`ui.ops.when_done`)
and saved through :class:`ui.ops.Op` (``save_defaults``, ``save_preset``,
``delete_preset``, ``save_printer``, ``remove_printer``; the reprint cache through
``services.settings``).  Fields are checked here first: a field at fault gets its message
under it, is marked, and nothing is saved.  The CUPS queues are listed by ``lpstat`` on a
worker (a subprocess never runs on the GUI thread).

The ship-from address is the seller's own; no buyer data is shown or kept here.

Signals: ``ShippingDialog.defaults_saved(object)`` (:class:`ShippingDefaults`),
``PresetDialog.preset_saved(object)``, ``PrinterDialog.printer_saved(str)``.
Thread: GUI only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app import settings as app_settings
from app.amazon.models import Store
from app.amazon.spapi.shipping import Address, DimensionUnit, LabelFormat, WeightUnit
from app.auth.models import Actor
from app.errors import UserError
from app.fulfillment.models import PackagePreset, ShippingDefaults
from app.fulfillment.printers import (
    Orientation,
    Paper,
    PrinterInfo,
    PrinterKind,
    PrinterState,
    PrintSettings,
    list_cups_printers,
    parse_printer_address,
)
from ui.dialogs.forms import BAD_FIELD, ERR_STYLE, OK_STYLE, esc, field_error_label, result_label
from ui.ops import Job, Lane, Op, when_done

#: Label formats offered as the store default: (text, format, dpi).
FORMATS: tuple[tuple[str, LabelFormat, int | None], ...] = (
    ("PDF (any printer)", LabelFormat.PDF, None),
    ("PNG 203 dpi", LabelFormat.PNG, 203),
    ("PNG 300 dpi", LabelFormat.PNG, 300),
    ("ZPL 203 dpi (thermal printer)", LabelFormat.ZPL, 203),
    ("ZPL 300 dpi (thermal printer)", LabelFormat.ZPL, 300),
)
PAPER_TEXT = {
    Paper.LABEL_4X6: "4×6 in label",
    Paper.A6: "A6",
    Paper.LETTER_2UP: "Letter, 2 labels a sheet",
    Paper.A4_2UP: "A4, 2 labels a sheet",
}
ORIENTATION_TEXT = {
    Orientation.AUTO: "Automatic",
    Orientation.PORTRAIT: "Portrait",
    Orientation.LANDSCAPE: "Landscape",
}
DIMENSION_TEXT = {DimensionUnit.CENTIMETER: "cm", DimensionUnit.INCH: "in"}
WEIGHT_TEXT = {
    WeightUnit.KILOGRAM: "kg",
    WeightUnit.GRAM: "g",
    WeightUnit.POUND: "lb",
    WeightUnit.OUNCE: "oz",
}
STATE_TEXT = {
    PrinterState.IDLE: "Ready",
    PrinterState.PRINTING: "Printing",
    PrinterState.STOPPED: "Paused",
    PrinterState.UNKNOWN: "State unknown",
}
CACHE_TEXT = "Keep labels for reprinting after a restart (encrypted, deleted after 24 hours)"
CACHE_NOTE = (
    "Off by default. A label carries the buyer's name and address, so Müttefik Desk keeps "
    "it only in memory while it runs; after a restart a reprint downloads it from Amazon "
    "again. Turn this on only if you often reprint without a connection: labels are then "
    "kept encrypted in your data file for at most 24 hours. Turning it off deletes them."
)
_DATA = int(Qt.ItemDataRole.UserRole)


@dataclass(frozen=True)
class SavedPrinter:
    """A label printer set up in Tools → Shipping (as ``LabelsReader.printers`` reads it)."""

    name: str
    kind: PrinterKind
    address: str | None
    settings: PrintSettings

    @classmethod
    def from_row(cls, row: tuple[str, str, str | None, str]) -> SavedPrinter:
        name, kind, address, text = row
        try:
            settings = PrintSettings.from_json(text)
        except ValueError:  # written by another version: show the defaults
            settings = PrintSettings()
        return cls(name, PrinterKind(kind), address, settings)


def describe_settings(settings: PrintSettings) -> str:
    parts = [PAPER_TEXT[settings.paper]]
    if settings.orientation is not Orientation.AUTO:
        parts.append(ORIENTATION_TEXT[settings.orientation].lower())
    parts.append("scaled to fit" if settings.scale_to_fit else "true size")
    if settings.dpi:
        parts.append(f"{settings.dpi} dpi")
    return ", ".join(parts)


def describe_printer_info(info: PrinterInfo) -> str:
    state = STATE_TEXT[info.state] if info.accepting else "Not taking jobs"
    extra = []
    if info.raw:
        extra.append("raw: for ZPL")
    if info.is_default:
        extra.append("default")
    tail = f" ({', '.join(extra)})" if extra else ""
    return f"{info.name}: {state}{tail}"


def parse_amount(text: str) -> Decimal | None:
    """A size or weight typed in ("1.5" or "1,5"); None unless a number above zero."""
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        return None
    if not value.is_finite() or value <= 0 or value > 10000:
        return None
    return value


class _FieldErrors:
    """A message under each field at fault and the field marked; the mailbox form's way."""

    def __init__(self) -> None:
        self.labels: dict[str, QLabel] = {}
        self.widgets: dict[str, QWidget] = {}
        self._forms: dict[str, QFormLayout] = {}

    def add(self, form: QFormLayout, field: str, widget: QWidget) -> None:
        label = field_error_label(form, field)
        self.labels[field] = label
        self.widgets[field] = widget
        self._forms[field] = form

    def show(self, errors: dict[str, str]) -> None:
        for name, label in self.labels.items():
            text = errors.get(name, "")
            label.setText(text)
            # A wrapped label in a form gets the height of its narrowest layout: ask for
            # the lines it needs at the field's width, or the message is cut off.
            width = max(self.widgets[name].width() - 16, 220)
            label.setMinimumHeight(label.heightForWidth(width) + 4 if text else 0)
            self._forms[name].setRowVisible(label, bool(text))
            self.widgets[name].setStyleSheet(BAD_FIELD if text else "")
        first = next((self.widgets[n] for n in self.labels if n in errors), None)
        if first is not None:
            first.setFocus()

    def shown(self) -> list[str]:
        return [n for n, label in self.labels.items() if label.text()]


def _combo(items: Sequence[tuple[str, Any]], name: str) -> QComboBox:
    combo = QComboBox()
    combo.setObjectName(name)
    for text, data in items:
        combo.addItem(text, data)
    return combo


# --- package preset form ---------------------------------------------------------------


class _SaveDialog(QDialog):
    """A small form that saves through the label service on a worker: Save is off while
    it runs; a refusal is shown under the fields (an Op delivers nothing once closed)."""

    buttons: QDialogButtonBox
    result_label: QLabel
    _busy: bool

    def _save_done(self) -> None:
        self._busy = False
        self.buttons.setEnabled(True)

    def _failed(self, exc: BaseException) -> None:
        self._save_done()
        _show_failure(self, self.result_label, exc)


class PresetDialog(_SaveDialog):
    """Add or edit one package preset of a store (``save_preset``)."""

    preset_saved = Signal(object)

    def __init__(
        self,
        *,
        labels: Any,
        actor: Actor,
        store_id: int,
        preset: PackagePreset | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("presetDialog")
        self.setWindowTitle("Edit package" if preset else "Add a package")
        self.setMinimumWidth(460)
        self._labels = labels
        self._actor = actor
        self._store_id = store_id
        self._preset = preset
        self._busy = False
        layout = QVBoxLayout(self)
        hint = QLabel(
            "The size and weight of the packed parcel. With a SKU, orders of that product "
            "use it; without one, it is the store's default package."
        )
        hint.setWordWrap(True)
        layout.addWidget(hint)
        form = QFormLayout()
        self.errors = _FieldErrors()
        self.name = QLineEdit(preset.name if preset else "")
        self.name.setObjectName("presetName")
        self.name.setPlaceholderText("e.g. Small box")
        form.addRow("Name", self.name)
        self.errors.add(form, "name", self.name)
        self.sku = QLineEdit((preset.sku or "") if preset else "")
        self.sku.setObjectName("presetSku")
        self.sku.setPlaceholderText("empty: the store's default package")
        form.addRow("SKU", self.sku)
        size_row = QHBoxLayout()
        self.length_edit, self.width_edit, self.height_edit = (
            QLineEdit(),
            QLineEdit(),
            QLineEdit(),
        )
        for edit, field, value in (
            (self.length_edit, "length", preset.length if preset else None),
            (self.width_edit, "width", preset.width if preset else None),
            (self.height_edit, "height", preset.height if preset else None),
        ):
            edit.setObjectName(f"preset{field.title()}")
            edit.setPlaceholderText(field)
            edit.setMaximumWidth(90)
            if value is not None:
                edit.setText(_plain(value))
            size_row.addWidget(edit)
            if field != "height":
                size_row.addWidget(QLabel("×"))
        self.dimension_unit = _combo(
            [(t, u) for u, t in DIMENSION_TEXT.items()], "presetDimensionUnit"
        )
        if preset:
            self.dimension_unit.setCurrentIndex(self.dimension_unit.findData(preset.dimension_unit))
        size_row.addWidget(self.dimension_unit)
        size_row.addStretch(1)
        size_box = QWidget()
        size_box.setLayout(size_row)
        size_row.setContentsMargins(0, 0, 0, 0)
        form.addRow("Length × width × height", size_box)
        self.errors.add(form, "size", size_box)
        weight_row = QHBoxLayout()
        weight_row.setContentsMargins(0, 0, 0, 0)
        self.weight = QLineEdit(_plain(preset.weight) if preset else "")
        self.weight.setObjectName("presetWeight")
        self.weight.setMaximumWidth(90)
        weight_row.addWidget(self.weight)
        self.weight_unit = _combo([(t, u) for u, t in WEIGHT_TEXT.items()], "presetWeightUnit")
        if preset:
            self.weight_unit.setCurrentIndex(self.weight_unit.findData(preset.weight_unit))
        weight_row.addWidget(self.weight_unit)
        weight_row.addStretch(1)
        weight_box = QWidget()
        weight_box.setLayout(weight_row)
        form.addRow("Weight, packed", weight_box)
        self.errors.add(form, "weight", self.weight)
        layout.addLayout(form)
        self.result_label = result_label("presetResult")
        layout.addWidget(self.result_label)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def checked(self) -> PackagePreset | None:
        """The preset as entered, or None with the fields at fault marked."""
        errors: dict[str, str] = {}
        name = self.name.text().strip()
        if not name:
            errors["name"] = "Give the package a name, such as “Small box”."
        sizes = [
            parse_amount(e.text()) for e in (self.length_edit, self.width_edit, self.height_edit)
        ]
        if any(v is None for v in sizes):
            errors["size"] = "Enter the length, width and height as numbers above zero."
        weight = parse_amount(self.weight.text())
        if weight is None:
            errors["weight"] = "Enter the packed weight as a number above zero."
        self.errors.show(errors)
        if errors:
            return None
        length, width, height = (v for v in sizes if v is not None)
        assert weight is not None
        return PackagePreset(
            store_id=self._store_id,
            name=name,
            length=length,
            width=width,
            height=height,
            dimension_unit=DimensionUnit(self.dimension_unit.currentData()),
            weight=weight,
            weight_unit=WeightUnit(self.weight_unit.currentData()),
            sku=self.sku.text().strip() or None,
            id=self._preset.id if self._preset else None,
        )

    def save(self) -> None:
        if self._busy:
            return
        preset = self.checked()
        if preset is None:
            return
        labels, actor = self._labels, self._actor
        self._busy = True
        self.buttons.setEnabled(False)

        def work(_job: Job) -> PackagePreset:
            saved: PackagePreset = labels.save_preset(actor, preset)
            return saved

        Op(self, work).on_success(self._saved).on_failure(self._failed).run()

    def _saved(self, preset: PackagePreset) -> None:
        self._save_done()
        self.preset_saved.emit(preset)
        self.accept()


# --- printer form ------------------------------------------------------------------------


class PrinterDialog(_SaveDialog):
    """A label printer and its preset: a CUPS queue of this computer (name fixed) or a
    thermal printer on the network (name and host:port)."""

    printer_saved = Signal(str)

    def __init__(
        self,
        *,
        labels: Any,
        actor: Actor,
        kind: PrinterKind,
        printer: SavedPrinter | None = None,
        queue: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("printerDialog")
        self._labels = labels
        self._actor = actor
        self._kind = kind
        self._busy = False
        network = kind is PrinterKind.ZPL_TCP
        self.setWindowTitle(
            "Thermal printer on the network" if network else "Label printer on this computer"
        )
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        if network:
            hint = QLabel(
                "A thermal label printer (Zebra and compatibles) that takes ZPL labels on "
                "its network port. Labels are sent to it as they come from Amazon."
            )
            hint.setWordWrap(True)
            layout.addWidget(hint)
        form = QFormLayout()
        self.errors = _FieldErrors()
        self.name = QLineEdit(printer.name if printer else (queue or ""))
        self.name.setObjectName("printerName")
        self.name.setReadOnly(not network or printer is not None)
        self.name.setPlaceholderText("e.g. Zebra at the packing table")
        form.addRow("Name", self.name)
        self.errors.add(form, "name", self.name)
        self.address = QLineEdit((printer.address or "") if printer else "")
        self.address.setObjectName("printerAddress")
        self.address.setPlaceholderText("192.168.1.50:9100")
        if network:
            form.addRow("Address", self.address)
            self.errors.add(form, "address", self.address)
        settings = printer.settings if printer else PrintSettings()
        self.paper = _combo([(t, p) for p, t in PAPER_TEXT.items()], "printerPaper")
        self.paper.setCurrentIndex(self.paper.findData(settings.paper))
        self.orientation = _combo(
            [(t, o) for o, t in ORIENTATION_TEXT.items()], "printerOrientation"
        )
        self.orientation.setCurrentIndex(self.orientation.findData(settings.orientation))
        self.scale = QCheckBox("Scale the label to fit the paper")
        self.scale.setObjectName("printerScale")
        self.scale.setChecked(settings.scale_to_fit)
        self.scale.setToolTip("Off: labels print at their true size, so barcodes scan.")
        self.dpi = _combo(
            [("Printer's own", None), ("203 dpi", 203), ("300 dpi", 300)], "printerDpi"
        )
        self.dpi.setCurrentIndex(max(0, self.dpi.findData(settings.dpi)))
        if not network:
            form.addRow("Paper", self.paper)
            form.addRow("Orientation", self.orientation)
            form.addRow("", self.scale)
        form.addRow("Resolution", self.dpi)
        layout.addLayout(form)
        self.result_label = result_label("printerResult")
        layout.addWidget(self.result_label)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def checked(self) -> tuple[str, str | None, PrintSettings] | None:
        errors: dict[str, str] = {}
        name = self.name.text().strip()
        if not name:
            errors["name"] = "Give the printer a name you will recognise."
        address: str | None = None
        if self._kind is PrinterKind.ZPL_TCP:
            try:
                host, port = parse_printer_address(self.address.text())
                address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            except UserError as exc:
                errors["address"] = exc.message
        self.errors.show(errors)
        if errors:
            return None
        settings = PrintSettings(
            paper=Paper(self.paper.currentData()),
            orientation=Orientation(self.orientation.currentData()),
            scale_to_fit=self.scale.isChecked(),
            dpi=self.dpi.currentData(),
        )
        return name, address, settings

    def save(self) -> None:
        if self._busy:
            return
        checked = self.checked()
        if checked is None:
            return
        name, address, settings = checked
        labels, actor, kind = self._labels, self._actor, str(self._kind)
        self._busy = True
        self.buttons.setEnabled(False)

        def work(_job: Job) -> str:
            labels.save_printer(actor, name, kind, address, settings.to_json())
            return name

        Op(self, work).on_success(self._saved).on_failure(self._failed).run()

    def _saved(self, name: str) -> None:
        self._save_done()
        self.printer_saved.emit(name)
        self.accept()


def _show_failure(parent: QWidget, label: QLabel, exc: BaseException) -> None:
    if isinstance(exc, UserError):
        label.setStyleSheet(ERR_STYLE)
        label.setText(f"<b>✖ {esc(exc.title)}</b><br>{esc(exc.message)}")
        label.setVisible(True)
        return
    from ui.errors import show_error

    show_error(parent, exc)


def _plain(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# --- the dialog -----------------------------------------------------------------------------


class ShippingDialog(QDialog):
    """Tools → Shipping… (admins).  Tabs: "Ship from and labels" and "Packages" for the
    store chosen on top, "Printers" for this computer."""

    defaults_saved = Signal(object)
    store_loaded = Signal(int)

    def __init__(
        self,
        *,
        services: Any,
        actor: Actor,
        parent: QWidget | None = None,
        list_printers: Callable[[], list[PrinterInfo]] = list_cups_printers,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("shippingDialog")
        self.setWindowTitle("Shipping")
        self.setMinimumSize(760, 660)
        self._labels = services.labels
        self._settings = services.settings
        self._actor = actor
        self._list_printers = list_printers
        self._stores: list[Store] = []
        self._defaults: ShippingDefaults | None = None
        self.presets: list[PackagePreset] = []
        self.saved_printers: list[SavedPrinter] = []
        self.detected: list[PrinterInfo] = []
        self._busy = False
        self._loading_cache = True
        #: The store whose settings the tabs show (None until read): Save waits for it.
        self.loaded_store: int | None = None

        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(QLabel("Store"))
        self.store_combo = QComboBox()
        self.store_combo.setObjectName("shippingStore")
        self.store_combo.currentIndexChanged.connect(lambda _i: self.load_store())
        top.addWidget(self.store_combo, 1)
        layout.addLayout(top)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_defaults_tab(), "Ship from and labels")
        self.tabs.addTab(self._build_presets_tab(), "Packages")
        self.tabs.addTab(self._build_printers_tab(), "Printers")
        layout.addWidget(self.tabs, 1)
        # Printers and the reprint cache belong to this computer, not to a store.
        self.tabs.currentChanged.connect(lambda i: self.store_combo.setEnabled(i != 2))
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout.addWidget(close)

        self._render_save()
        self.reload_stores()
        self.reload_printers()
        self.detect_printers()
        self._read_cache_setting()

    # --- building ----------------------------------------------------------------------

    def _build_defaults_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        intro = QLabel(
            "Where your parcels leave from: your own address, as Amazon and the carriers "
            "should see it. Amazon fills in the buyer's address itself."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.errors = _FieldErrors()
        self.address_fields: dict[str, QLineEdit] = {}
        for field, label, hint in (
            ("name", "Name", "you or your business"),
            ("company_name", "Company", "optional"),
            ("address_line1", "Street", ""),
            ("address_line2", "Street, line 2", "optional"),
            ("city", "City", ""),
            ("state_or_region", "State or region", "if your country uses one"),
            ("postal_code", "Postcode", ""),
            ("country_code", "Country code", "two letters, such as US, DE, GB"),
            ("phone", "Phone", "for the carrier, optional"),
        ):
            edit = QLineEdit()
            edit.setObjectName(f"shipFrom_{field}")
            edit.setPlaceholderText(hint)
            if field == "country_code":
                edit.setMaxLength(2)
                edit.setMaximumWidth(80)
            form.addRow(label, edit)
            self.address_fields[field] = edit
            if field in ("name", "address_line1", "city", "postal_code", "country_code"):
                self.errors.add(form, field, edit)
        self.format_combo = QComboBox()
        self.format_combo.setObjectName("labelFormat")
        for text, fmt, dpi in FORMATS:
            self.format_combo.addItem(text, (fmt, dpi))
        form.addRow("Label format", self.format_combo)
        self.packing_slip = QCheckBox("Print Amazon's packing slip with each label")
        self.packing_slip.setObjectName("amazonPackingSlip")
        form.addRow("", self.packing_slip)
        self.slip_name = QCheckBox("Put the recipient's name on our packing slip")
        self.slip_name.setObjectName("slipShowsName")
        self.slip_name.setToolTip("Off by default: the name is buyer data on paper.")
        form.addRow("", self.slip_name)
        layout.addLayout(form)
        self.defaults_result = result_label("defaultsResult")
        layout.addWidget(self.defaults_result)
        row = QHBoxLayout()
        row.addStretch(1)
        self.save_defaults_button = QPushButton("Save")
        self.save_defaults_button.setObjectName("saveDefaults")
        self.save_defaults_button.clicked.connect(self.save_defaults)
        row.addWidget(self.save_defaults_button)
        layout.addLayout(row)
        layout.addStretch(1)
        return page

    def _build_presets_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        intro = QLabel(
            "Package sizes and weights: per product (SKU), and a default package for the "
            "rest. Rates and batches use them."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        body = QHBoxLayout()
        self.preset_table = QTableWidget(0, 4)
        self.preset_table.setObjectName("presetTable")
        self.preset_table.setHorizontalHeaderLabels(["Name", "For", "Size", "Weight"])
        _table_look(self.preset_table)
        self.preset_table.itemDoubleClicked.connect(lambda _i: self.edit_preset())
        self.preset_table.itemSelectionChanged.connect(self._update_buttons)
        body.addWidget(self.preset_table, 1)
        buttons = QVBoxLayout()
        self.add_preset_button = QPushButton("Add…")
        self.add_preset_button.setObjectName("addPreset")
        self.add_preset_button.clicked.connect(self.add_preset)
        self.edit_preset_button = QPushButton("Edit…")
        self.edit_preset_button.clicked.connect(self.edit_preset)
        self.delete_preset_button = QPushButton("Delete")
        self.delete_preset_button.clicked.connect(self.delete_preset)
        for b in (self.add_preset_button, self.edit_preset_button, self.delete_preset_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        body.addLayout(buttons)
        layout.addLayout(body, 1)
        return page

    def _build_printers_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        detected_box = QGroupBox("Printers of this computer")
        detected_layout = QVBoxLayout(detected_box)
        self.detected_table = QTableWidget(0, 2)
        self.detected_table.setObjectName("detectedPrinters")
        self.detected_table.setHorizontalHeaderLabels(["Printer", "State"])
        _table_look(self.detected_table)
        self.detected_table.itemSelectionChanged.connect(self._update_buttons)
        self.detected_table.setMinimumHeight(100)
        self.detected_table.setMaximumHeight(130)
        detected_layout.addWidget(self.detected_table)
        self.detected_note = QLabel("Looking for printers…")
        self.detected_note.setObjectName("detectedNote")
        self.detected_note.setWordWrap(True)
        self.detected_note.setStyleSheet("color: #555;")
        detected_layout.addWidget(self.detected_note)
        row = QHBoxLayout()
        self.use_queue_button = QPushButton("Use for labels…")
        self.use_queue_button.setObjectName("useQueue")
        self.use_queue_button.clicked.connect(self.use_selected_queue)
        self.refresh_printers_button = QPushButton("Look again")
        self.refresh_printers_button.clicked.connect(self.detect_printers)
        row.addWidget(self.use_queue_button)
        row.addWidget(self.refresh_printers_button)
        row.addStretch(1)
        detected_layout.addLayout(row)
        layout.addWidget(detected_box)

        saved_box = QGroupBox("Label printers")
        saved_layout = QVBoxLayout(saved_box)
        self.printer_table = QTableWidget(0, 3)
        self.printer_table.setObjectName("labelPrinters")
        self.printer_table.setHorizontalHeaderLabels(["Name", "Where", "Print preset"])
        _table_look(self.printer_table)
        self.printer_table.itemDoubleClicked.connect(lambda _i: self.edit_printer())
        self.printer_table.itemSelectionChanged.connect(self._update_buttons)
        saved_layout.addWidget(self.printer_table)
        row = QHBoxLayout()
        self.add_network_button = QPushButton("Add thermal printer (network)…")
        self.add_network_button.setObjectName("addNetworkPrinter")
        self.add_network_button.clicked.connect(self.add_network_printer)
        self.edit_printer_button = QPushButton("Edit…")
        self.edit_printer_button.clicked.connect(self.edit_printer)
        self.remove_printer_button = QPushButton("Remove")
        self.remove_printer_button.clicked.connect(self.remove_printer)
        for b in (self.add_network_button, self.edit_printer_button, self.remove_printer_button):
            row.addWidget(b)
        row.addStretch(1)
        saved_layout.addLayout(row)
        layout.addWidget(saved_box, 1)

        cache_box = QGroupBox("Reprints")
        cache_layout = QVBoxLayout(cache_box)
        self.cache_check = QCheckBox(CACHE_TEXT)
        self.cache_check.setObjectName("reprintCache")
        self.cache_check.setEnabled(False)
        self.cache_check.toggled.connect(self._cache_toggled)
        cache_layout.addWidget(self.cache_check)
        note = QLabel(CACHE_NOTE)
        note.setObjectName("reprintCacheNote")
        note.setWordWrap(True)
        note.setStyleSheet("color: #555;")
        cache_layout.addWidget(note)
        layout.addWidget(cache_box)
        return page

    # --- stores, defaults and presets ------------------------------------------------------

    def reload_stores(self) -> None:
        when_done(
            self._labels.read(self._actor, lambda r: r.stores()), self._stores_read, parent=self
        )

    def _stores_read(self, stores: list[Store]) -> None:
        self._stores = stores
        current = self.store_combo.currentData()
        self.store_combo.blockSignals(True)
        self.store_combo.clear()
        for store in stores:
            self.store_combo.addItem(store.name, store.id)
        self.store_combo.setCurrentIndex(max(0, self.store_combo.findData(current)))
        self.store_combo.blockSignals(False)
        self.tabs.setTabEnabled(0, bool(stores))
        self.tabs.setTabEnabled(1, bool(stores))
        if not stores:
            self.tabs.setCurrentIndex(2)
        self.load_store()

    def store_id(self) -> int | None:
        data = self.store_combo.currentData()
        return int(data) if data is not None else None

    def load_store(self) -> None:
        store_id = self.store_id()
        if store_id is None:
            return
        self.loaded_store = None
        self._render_save()
        when_done(
            self._labels.read(self._actor, lambda r: (r.defaults(store_id), r.presets(store_id))),
            lambda got: self._store_read(store_id, *got),
            parent=self,
        )

    def _store_read(
        self, store_id: int, defaults: ShippingDefaults, presets: list[PackagePreset]
    ) -> None:
        if store_id != self.store_id():
            return
        self._defaults = defaults
        address = defaults.ship_from
        for field, edit in self.address_fields.items():
            edit.setText(getattr(address, field) if address else "")
        self.errors.show({})
        index = self.format_combo.findData((defaults.label_format, defaults.dpi))
        if index < 0:  # a format without a listed dpi: the first of that format
            index = next(
                (i for i, (_t, f, _d) in enumerate(FORMATS) if f is defaults.label_format), 0
            )
        self.format_combo.setCurrentIndex(index)
        self.packing_slip.setChecked(defaults.packing_slip)
        self.slip_name.setChecked(defaults.slip_shows_name)
        self.defaults_result.setVisible(False)
        self._show_presets(presets)
        self.loaded_store = store_id
        self._render_save()
        self.store_loaded.emit(store_id)

    def entered_defaults(self) -> ShippingDefaults | None:
        """The tab's settings, or None with the address fields at fault marked."""
        store_id = self.store_id()
        if store_id is None or store_id != self.loaded_store:
            return None
        values = {f: e.text().strip() for f, e in self.address_fields.items()}
        errors: dict[str, str] = {}
        for field, words in (
            ("name", "Enter the sender's name (you or your business)."),
            ("address_line1", "Enter the street and number."),
            ("city", "Enter the city."),
            ("postal_code", "Enter the postcode."),
        ):
            if not values[field]:
                errors[field] = words
        values["country_code"] = values["country_code"].upper()
        code = values["country_code"]
        if len(code) != 2 or not code.isascii() or not code.isalpha():
            errors["country_code"] = "Enter the two-letter country code, such as US or DE."
        self.errors.show(errors)
        if errors:
            return None
        fmt, dpi = self.format_combo.currentData()
        return ShippingDefaults(
            store_id=store_id,
            ship_from=Address(**values),
            label_format=LabelFormat(fmt),
            dpi=dpi,
            packing_slip=self.packing_slip.isChecked(),
            slip_shows_name=self.slip_name.isChecked(),
        )

    def save_defaults(self) -> None:
        if self._busy:
            return
        defaults = self.entered_defaults()
        if defaults is None:
            return
        labels, actor = self._labels, self._actor
        self._set_busy(True)

        def work(_job: Job) -> ShippingDefaults:
            labels.save_defaults(actor, defaults)
            return defaults

        Op(self, work).on_success(self._defaults_saved).on_failure(self._defaults_failed).run()

    def _defaults_saved(self, defaults: ShippingDefaults) -> None:
        self._set_busy(False)
        self._defaults = defaults
        self.defaults_result.setStyleSheet(OK_STYLE)
        self.defaults_result.setText("<b>✔ Saved</b>")
        self.defaults_result.setVisible(True)
        self.defaults_saved.emit(defaults)

    def _defaults_failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        _show_failure(self, self.defaults_result, exc)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._render_save()

    def _render_save(self) -> None:
        loaded = self.loaded_store is not None and self.loaded_store == self.store_id()
        self.save_defaults_button.setEnabled(loaded and not self._busy)
        self.add_preset_button.setEnabled(loaded)

    def _show_presets(self, presets: list[PackagePreset]) -> None:
        self.presets = sorted(presets, key=lambda p: (p.sku is not None, p.name.lower()))
        table = self.preset_table
        table.setRowCount(len(self.presets))
        for row, preset in enumerate(self.presets):
            cells = (
                preset.name,
                preset.sku or "Default package",
                _size_text(preset),
                f"{_plain(preset.weight)} {WEIGHT_TEXT[preset.weight_unit]}",
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(_DATA, row)
                table.setItem(row, column, item)
        self._update_buttons()

    def _selected_preset(self) -> PackagePreset | None:
        rows = {i.row() for i in self.preset_table.selectedItems()}
        return self.presets[min(rows)] if rows else None

    def add_preset(self) -> PresetDialog | None:
        return self._open_preset(None)

    def edit_preset(self) -> PresetDialog | None:
        preset = self._selected_preset()
        return self._open_preset(preset) if preset is not None else None

    def _open_preset(self, preset: PackagePreset | None) -> PresetDialog | None:
        store_id = self.store_id()
        if store_id is None:
            return None
        dialog = PresetDialog(
            labels=self._labels, actor=self._actor, store_id=store_id, preset=preset, parent=self
        )
        dialog.preset_saved.connect(lambda _p: self.load_store())
        dialog.open()
        return dialog

    def delete_preset(self) -> None:
        preset, store_id = self._selected_preset(), self.store_id()
        if preset is None or preset.id is None or store_id is None:
            return
        answer = QMessageBox.question(
            self,
            "Delete package",
            f"Delete the package “{preset.name}”? Orders of its product then use the "
            "store's default package.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        labels, actor, preset_id = self._labels, self._actor, preset.id
        Op(self, lambda _job: labels.delete_preset(actor, store_id, preset_id)).on_success(
            lambda _r: self.load_store()
        ).run()

    # --- printers ---------------------------------------------------------------------------

    def detect_printers(self) -> None:
        """List this computer's CUPS queues (``lpstat`` on a worker)."""
        self.refresh_printers_button.setEnabled(False)
        self.detected_note.setText("Looking for printers…")
        listing = self._list_printers
        # A bounded call outside the process (lpstat, 10 s at most): the network lane.
        Op(self, lambda _job: listing(), lane=Lane.NET).on_success(self._detected).on_failure(
            self._detect_failed
        ).run()

    def _detected(self, printers: list[PrinterInfo]) -> None:
        self.refresh_printers_button.setEnabled(True)
        self.detected = printers
        table = self.detected_table
        table.setRowCount(len(printers))
        for row, info in enumerate(printers):
            name = QTableWidgetItem(info.name)
            name.setToolTip(info.description)
            table.setItem(row, 0, name)
            table.setItem(row, 1, QTableWidgetItem(describe_printer_info(info).split(": ", 1)[1]))
        self.detected_note.setText(
            "Choose one and “Use for labels…” to give it a label preset (paper, true size). "
            "The computer's printing system (CUPS) may keep a copy of each printed job for "
            "a while (a day by default; its PreserveJobFiles setting); a thermal printer "
            "added below by its network address gets labels directly."
            if printers
            else "No printers found. Set up the printer in your computer's printer "
            "settings (CUPS), then “Look again”. A thermal printer on the network can be "
            "added below without that."
        )
        self._update_buttons()

    def _detect_failed(self, exc: BaseException) -> None:
        self.refresh_printers_button.setEnabled(True)
        self.detected_note.setText(
            exc.message if isinstance(exc, UserError) else "The printers could not be listed."
        )
        if not isinstance(exc, UserError):
            from ui.errors import show_error

            show_error(self, exc)

    def reload_printers(self) -> None:
        when_done(
            self._labels.read(self._actor, lambda r: r.printers()),
            self._printers_read,
            parent=self,
        )

    def _printers_read(self, rows: list[tuple[str, str, str | None, str]]) -> None:
        self.saved_printers = [SavedPrinter.from_row(r) for r in rows]
        table = self.printer_table
        table.setRowCount(len(self.saved_printers))
        for row, printer in enumerate(self.saved_printers):
            where = (
                f"Network, {printer.address}"
                if printer.kind is PrinterKind.ZPL_TCP
                else "This computer"
            )
            for column, text in enumerate(
                (printer.name, where, describe_settings(printer.settings))
            ):
                table.setItem(row, column, QTableWidgetItem(text))
        self._update_buttons()

    def _selected_printer(self) -> SavedPrinter | None:
        rows = {i.row() for i in self.printer_table.selectedItems()}
        return self.saved_printers[min(rows)] if rows else None

    def use_selected_queue(self) -> PrinterDialog | None:
        rows = {i.row() for i in self.detected_table.selectedItems()}
        if not rows:
            return None
        queue = self.detected[min(rows)].name
        known = next(
            (p for p in self.saved_printers if p.name == queue and p.kind is PrinterKind.CUPS),
            None,
        )
        return self._open_printer(PrinterKind.CUPS, known, queue)

    def add_network_printer(self) -> PrinterDialog:
        return self._open_printer(PrinterKind.ZPL_TCP, None, None)

    def edit_printer(self) -> PrinterDialog | None:
        printer = self._selected_printer()
        if printer is None:
            return None
        return self._open_printer(printer.kind, printer, printer.name)

    def _open_printer(
        self, kind: PrinterKind, printer: SavedPrinter | None, queue: str | None
    ) -> PrinterDialog:
        dialog = PrinterDialog(
            labels=self._labels,
            actor=self._actor,
            kind=kind,
            printer=printer,
            queue=queue,
            parent=self,
        )
        dialog.printer_saved.connect(lambda _n: self.reload_printers())
        dialog.open()
        return dialog

    def remove_printer(self) -> None:
        printer = self._selected_printer()
        if printer is None:
            return
        answer = QMessageBox.question(
            self,
            "Remove label printer",
            f"Remove “{printer.name}” from the label printers? "
            + (
                "The printer itself stays set up on this computer."
                if printer.kind is PrinterKind.CUPS
                else ""
            ),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        labels, actor, name = self._labels, self._actor, printer.name
        Op(self, lambda _job: labels.remove_printer(actor, name)).on_success(
            lambda _r: self.reload_printers()
        ).run()

    def _update_buttons(self) -> None:
        has_preset = self._selected_preset() is not None
        self.edit_preset_button.setEnabled(has_preset)
        self.delete_preset_button.setEnabled(has_preset)
        self.use_queue_button.setEnabled(bool(self.detected_table.selectedItems()))
        has_printer = self._selected_printer() is not None
        self.edit_printer_button.setEnabled(has_printer)
        self.remove_printer_button.setEnabled(has_printer)

    # --- the reprint cache ----------------------------------------------------------------

    def _read_cache_setting(self) -> None:
        def read(on: Any) -> None:
            self._loading_cache = True
            self.cache_check.setChecked(bool(on))
            self.cache_check.setEnabled(True)
            self._loading_cache = False

        when_done(
            self._settings.read(self._actor, app_settings.LABEL_REPRINT_CACHE), read, parent=self
        )

    def _cache_toggled(self, on: bool) -> None:
        if self._loading_cache:
            return
        settings_service, labels, actor = self._settings, self._labels, self._actor
        self.cache_check.setEnabled(False)

        def work(_job: Job) -> None:
            settings_service.set(actor, app_settings.LABEL_REPRINT_CACHE, on)
            if not on:  # what was kept goes now, not in 24 hours
                labels.purge_reprint_cache(actor, everything=True)

        def done(_r: None) -> None:
            self.cache_check.setEnabled(True)

        def failed(exc: BaseException) -> None:
            self._loading_cache = True
            self.cache_check.setChecked(not on)
            self._loading_cache = False
            self.cache_check.setEnabled(True)
            from ui.errors import show_error

            show_error(self, exc)

        self.cache_future = Op(self, work).on_success(done).on_failure(failed).run()


def _size_text(preset: PackagePreset) -> str:
    unit = DIMENSION_TEXT[preset.dimension_unit]
    return f"{_plain(preset.length)} × {_plain(preset.width)} × {_plain(preset.height)} {unit}"


def _table_look(table: QTableWidget) -> None:
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.setAlternatingRowColors(True)
    header = table.horizontalHeader()
    header.setStretchLastSection(True)
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
