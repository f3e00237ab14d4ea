"""The label preview: the label at true size, the printer and its preset, Print.

A label document is buyer PII held in memory (``app/fulfillment``): a PDF is opened by
:class:`QPdfDocument` from a :class:`QBuffer` over its bytes and a PNG by
``QImage.fromData``, never through a file; a ZPL label is shown as its text (no network
renderer).  "True size" renders at the screen's ``physicalDotsPerInch``, so a 4x6 in
label is 4x6 in on the screen; "Fit window" fits it into the dialog.

Printing goes through :mod:`ui.printing` on the network lane and is then counted by
``LabelService.record_printed``.  A printer that is off or refuses the job leaves the
label here with a "Try again" that prints the same bytes again: nothing is ever bought
from this dialog.  The printer list (``lpstat``) is read on a worker; saved thermal
printers and presets come from ``LabelsReader.printers()``.

Signals: ``label_printed(str)`` with the printer's name, after the print was recorded.
Thread: GUI only; printing and the printer list run on workers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize, QSizeF, Qt, Signal
from PySide6.QtGui import QFontDatabase, QImage, QPainter, QPixmap, QStandardItemModel
from PySide6.QtPdf import QPdfDocument
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.amazon.spapi.shipping import DocumentType, LabelDocument, LabelFormat
from app.auth.models import Actor
from app.auth.rbac import Permission, allowed
from app.errors import UserError
from app.fulfillment.models import Shipment
from app.fulfillment.printers import (
    Orientation,
    Paper,
    PrinterInfo,
    PrinterKind,
    PrintSettings,
    list_cups_printers,
)
from app.fulfillment.printing import label_of, print_shipment
from app.fulfillment.zpl import zpl_text
from ui.dialogs.forms import BUSY_STYLE, ERR_STYLE, OK_STYLE, esc, result_label
from ui.ops import Lane, Op, when_done
from ui.printing import (
    SLIP_FORMAT,
    PrintTarget,
    SlipItem,
    WrongPrinter,
    job_title,
    print_label,
    print_packing_slip,
)

PrintFn = Callable[[PrintTarget, LabelDocument, PrintSettings, str], str]
SlipFn = Callable[[PrintTarget, str, Sequence[SlipItem], PrintSettings, str | None], str]

LABEL_INCHES = (4.0, 6.0)
PAPER_TEXT = {
    Paper.LABEL_4X6: "4×6 in label",
    Paper.A6: "A6",
    Paper.LETTER_2UP: "Letter, 2 labels",
    Paper.A4_2UP: "A4, 2 labels",
}
ORIENTATION_TEXT = {
    Orientation.AUTO: "Automatic",
    Orientation.PORTRAIT: "Portrait",
    Orientation.LANDSCAPE: "Landscape",
}
DPIS = (None, 203, 300, 600)
ZPL_NOTE = "ZPL: sent to the printer as is; this is its text."


class LabelUnreadable(UserError):
    title = "Label cannot be shown"
    message = (
        "Amazon's label could not be opened for the preview. You can still print it; "
        "if it prints wrong, print it again from the order."
    )


# --- true size ----------------------------------------------------------------------


def true_size(points: QSizeF, dpi: float) -> QSize:
    """Pixels of a page of ``points`` (1/72 in) shown at ``dpi`` pixels per inch."""
    return QSize(round(points.width() * dpi / 72), round(points.height() * dpi / 72))


def render_pdf(data: bytes, dpi: float) -> QImage:
    """The PDF's first page rendered at ``dpi`` (from memory: a QBuffer over ``data``)."""
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    document = QPdfDocument()
    try:
        document.load(buffer)
        if document.status() != QPdfDocument.Status.Ready or document.pageCount() < 1:
            raise LabelUnreadable(detail=f"QPdfDocument status {document.status().name}")
        page = document.render(0, true_size(document.pagePointSize(0), dpi))
        # A PDF page has no background of its own: paper is white.
        paper = QImage(page.size(), QImage.Format.Format_RGB32)
        paper.fill(Qt.GlobalColor.white)
        painter = QPainter(paper)
        painter.drawImage(0, 0, page)
        painter.end()
        return paper
    finally:
        document.close()
        buffer.close()


def image_dpi(image: QImage, fallback: int | None) -> float:
    """A PNG's own resolution (its pHYs), else the dpi Amazon made it at, else 203."""
    if fallback:
        return float(fallback)
    per_metre = image.dotsPerMeterX()
    return per_metre * 0.0254 if per_metre > 0 else 203.0


def screen_dpi(widget: QWidget) -> float:
    screen = widget.screen()
    dpi = screen.physicalDotsPerInch() if screen is not None else 0.0
    return dpi if dpi > 10 else 96.0


class LabelPreviewDialog(QDialog):
    """The label of ``shipment`` (``documents`` from the purchase or ``documents()``)."""

    label_printed = Signal(str)

    def __init__(
        self,
        *,
        labels: Any,
        actor: Actor,
        shipment: Shipment,
        documents: Sequence[LabelDocument],
        source: str = "memory",
        items: Sequence[SlipItem] = (),
        parent: QWidget | None = None,
        list_printers: Callable[[], list[PrinterInfo]] = list_cups_printers,
        print_fn: PrintFn = print_label,
        slip_fn: SlipFn = print_packing_slip,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("labelPreviewDialog")
        self.setWindowTitle(f"Label for order {shipment.order_id}")
        self._labels = labels
        self._actor = actor
        self._shipment = shipment
        label = label_of(documents)
        self.documents = tuple(documents)
        # The format as the enum (the checks below compare by identity).
        self.document = replace(label, format=LabelFormat(label.format))
        self._source = source
        self._items = tuple(items)
        self._list_printers = list_printers
        self._print_fn = print_fn
        self._slip_fn = slip_fn
        self._targets: list[PrintTarget] = []
        self._presets: dict[str, PrintSettings] = {}
        self._image: QImage | None = None
        self.printing = False

        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        zoom_row = QHBoxLayout()
        zoom_row.addWidget(QLabel(f"{self.document.format} label"))
        zoom_row.addStretch(1)
        self.zoom = QComboBox()
        self.zoom.setObjectName("zoomCombo")
        self.zoom.addItems(["True size", "Fit window"])
        self.zoom.currentIndexChanged.connect(lambda _i: self._render())
        zoom_row.addWidget(self.zoom)
        left.addLayout(zoom_row)
        self.scroll_area = QScrollArea()
        self.scroll_area.setObjectName("labelScroll")
        self.scroll_area.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.scroll_area.setStyleSheet("QScrollArea { background: #888; }")
        self.picture = QLabel()
        self.picture.setObjectName("labelPicture")
        self.zpl_box = QPlainTextEdit()
        self.zpl_box.setObjectName("zplText")
        self.zpl_box.setReadOnly(True)
        self.zpl_box.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.zpl_box.setStyleSheet("background: white; color: black; border: 1px solid #333;")
        left.addWidget(self.scroll_area, 1)
        self.zpl_note = QLabel(ZPL_NOTE)
        self.zpl_note.setObjectName("zplNote")
        self.zpl_note.setStyleSheet("color: #555;")
        self.zpl_note.setVisible(self.document.format is LabelFormat.ZPL)
        left.addWidget(self.zpl_note)
        layout.addLayout(left, 1)
        layout.addWidget(self._side_panel())
        self.resize(900, 720)
        self._prepare_document()
        self._render()
        self._load_printers()

    # --- the side panel -----------------------------------------------------------

    def _side_panel(self) -> QWidget:
        side = QWidget()
        side.setFixedWidth(300)
        v = QVBoxLayout(side)
        s = self._shipment
        info = QLabel(
            f"<b>Order {esc(s.order_id)}</b><br>"
            + esc(s.service_text if (s.carrier or s.service) else "")
            + (f"<br>Tracking {esc(s.tracking_id)}" if s.tracking_id else "")
        )
        info.setObjectName("shipmentInfo")
        info.setWordWrap(True)
        v.addWidget(info)

        box = QGroupBox("Printer")
        form = QFormLayout(box)
        self.printer = QComboBox()
        self.printer.setObjectName("printerCombo")
        self.printer.addItem("Looking for printers…")
        self.printer.setEnabled(False)
        self.printer.currentIndexChanged.connect(lambda _i: self._printer_changed())
        form.addRow("Printer:", self.printer)
        self.paper = QComboBox()
        self.paper.setObjectName("paperCombo")
        for paper, text in PAPER_TEXT.items():
            self.paper.addItem(text, paper)
        form.addRow("Paper:", self.paper)
        self.orientation = QComboBox()
        self.orientation.setObjectName("orientationCombo")
        for orientation, text in ORIENTATION_TEXT.items():
            self.orientation.addItem(text, orientation)
        form.addRow("Orientation:", self.orientation)
        self.scale_to_fit = QCheckBox("Scale to fit the paper")
        self.scale_to_fit.setObjectName("scaleToFit")
        form.addRow("", self.scale_to_fit)
        self.dpi = QComboBox()
        self.dpi.setObjectName("dpiCombo")
        for dpi in DPIS:
            self.dpi.addItem("Printer's default" if dpi is None else f"{dpi} dpi", dpi)
        form.addRow("Resolution:", self.dpi)
        self.save_preset_button = QPushButton("Save for this printer")
        self.save_preset_button.setObjectName("savePresetButton")
        self.can_save_presets = allowed(self._actor, Permission.MANAGE_SETTINGS)
        if not self.can_save_presets:
            self.save_preset_button.setToolTip("Only an administrator can save a printer's preset.")
        self.save_preset_button.setEnabled(False)
        self.save_preset_button.clicked.connect(self.save_preset)
        form.addRow("", self.save_preset_button)
        v.addWidget(box)

        self.print_button = QPushButton("Print label")
        self.print_button.setObjectName("printButton")
        self.print_button.setDefault(True)
        self.print_button.setEnabled(False)
        self.print_button.clicked.connect(self.print_label)
        v.addWidget(self.print_button)
        self.answer = result_label("printAnswer")
        v.addWidget(self.answer)
        self.retry_button = QPushButton("Try again")
        self.retry_button.setObjectName("retryButton")
        self.retry_button.setVisible(False)
        self.retry_button.clicked.connect(self.print_label)
        v.addWidget(self.retry_button)

        slip = QGroupBox("Packing slip")
        slip_form = QVBoxLayout(slip)
        self.slip_printer = QComboBox()
        self.slip_printer.setObjectName("slipPrinterCombo")
        slip_form.addWidget(self.slip_printer)
        self.slip_button = QPushButton("Print packing slip")
        self.slip_button.setObjectName("slipButton")
        self.slip_button.setEnabled(False)
        self.slip_button.clicked.connect(self.print_slip)
        slip_form.addWidget(self.slip_button)
        note = QLabel(
            "Order id, items and quantities; the buyer's name only if it is turned on "
            "(Tools → Shipping…)."
        )
        note.setWordWrap(True)
        note.setStyleSheet("color: #555;")
        slip_form.addWidget(note)
        slip.setVisible(bool(self._items))
        v.addWidget(slip)
        v.addStretch(1)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        v.addWidget(close)
        return side

    # --- the label --------------------------------------------------------------------

    def _prepare_document(self) -> None:
        doc = self.document
        if doc.format is LabelFormat.PNG:
            image = QImage.fromData(doc.data)
            self._image = None if image.isNull() else image
        elif doc.format is LabelFormat.ZPL:
            self.zpl_box.setPlainText("\n".join(zpl_text(doc.data)))

    def display_size(self) -> QSize:
        """The label's size on screen in logical pixels (true size: inches × dpi)."""
        dpi = screen_dpi(self)
        doc = self.document
        if doc.format is LabelFormat.PNG and self._image is not None:
            factor = dpi / image_dpi(self._image, doc.dpi)
            size = QSize(round(self._image.width() * factor), round(self._image.height() * factor))
        else:
            size = QSize(round(LABEL_INCHES[0] * dpi), round(LABEL_INCHES[1] * dpi))
        if self.zoom.currentIndex() == 1:
            room = self.scroll_area.viewport().size() - QSize(16, 16)
            if room.width() > 50 and room.height() > 50:
                size = size.scaled(room, Qt.AspectRatioMode.KeepAspectRatio)
        return size

    def _render(self) -> None:
        doc = self.document
        size = self.display_size()
        if doc.format is LabelFormat.ZPL:
            self.zpl_box.setFixedSize(size)
            if self.scroll_area.widget() is not self.zpl_box:
                self.scroll_area.takeWidget()
                self.scroll_area.setWidget(self.zpl_box)
            return
        ratio = self.devicePixelRatioF()
        try:
            if doc.format is LabelFormat.PDF:
                scale = size.width() / round(LABEL_INCHES[0] * screen_dpi(self))
                image = render_pdf(doc.data, screen_dpi(self) * scale * ratio)
            elif self._image is not None:
                image = self._image.scaled(
                    size * ratio,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            else:
                raise LabelUnreadable(detail="PNG label QImage.fromData failed")
        except LabelUnreadable as exc:
            self.picture.setText(exc.message)
            self.picture.setWordWrap(True)
        else:
            pixmap = QPixmap.fromImage(image)
            pixmap.setDevicePixelRatio(ratio)
            self.picture.setPixmap(pixmap)
            self.picture.setFixedSize(pixmap.deviceIndependentSize().toSize())
        if self.scroll_area.widget() is not self.picture:
            self.scroll_area.takeWidget()
            self.scroll_area.setWidget(self.picture)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if self.zoom.currentIndex() == 1:
            self._render()

    # --- printers ---------------------------------------------------------------------

    def _load_printers(self) -> None:
        found: dict[str, Any] = {}

        def both() -> None:
            if "cups" in found and "saved" in found:
                self._fill_printers(found["cups"], *found["saved"])

        def cups_done(printers: list[PrinterInfo]) -> None:
            found["cups"] = printers
            both()

        def saved_done(saved: tuple[Any, dict[str, str]]) -> None:
            found["saved"] = saved
            both()

        Op(self, lambda _job: self._list_printers(), lane=Lane.NET).on_success(cups_done).run()
        when_done(
            self._labels.read(self._actor, lambda r: (r.printers(), r.last_printers())),
            saved_done,
            parent=self,
        )

    def _fill_printers(
        self,
        cups: list[PrinterInfo],
        saved: list[tuple[str, str, str | None, str]],
        last: dict[str, str],
    ) -> None:
        targets = [PrintTarget(p.name, PrinterKind.CUPS, raw=p.raw, ready=p.ready) for p in cups]
        for name, kind, address, settings_json in saved:
            # A preset this version cannot read: the defaults, as for a new printer.
            with contextlib.suppress(ValueError, TypeError):
                self._presets[name] = PrintSettings.from_json(settings_json)
            if kind == PrinterKind.ZPL_TCP:
                targets.append(PrintTarget(name, PrinterKind.ZPL_TCP, address=address))
        self._targets = targets
        fmt = self.document.format
        self.printer.blockSignals(True)
        self.printer.clear()
        model = self.printer.model()
        assert isinstance(model, QStandardItemModel)
        for target in targets:
            text = target.name
            if target.kind is PrinterKind.ZPL_TCP:
                text += f" (thermal, {target.address})"
            elif not target.ready:
                text += " (paused)"
            if not target.accepts(fmt):
                text += " — cannot print " + ("ZPL" if fmt is LabelFormat.ZPL else str(fmt))
            self.printer.addItem(text, target.name)
            if not target.accepts(fmt):
                item = model.item(self.printer.count() - 1)
                item.setEnabled(False)
        usable = [t.name for t in targets if t.accepts(fmt)]
        pick = last.get(str(fmt))
        if pick not in usable:
            pick = usable[0] if usable else None
        if pick is not None:
            self.printer.setCurrentIndex(self.printer.findData(pick))
        elif not targets:
            self.printer.addItem("No printer found")
        self.printer.blockSignals(False)
        self.printer.setEnabled(bool(usable))
        self.print_button.setEnabled(bool(usable))
        if not usable:
            self._say(
                ERR_STYLE,
                "No printer here can print this label. "
                + (
                    "Add the thermal printer's address (Tools → Shipping…)."
                    if fmt is LabelFormat.ZPL
                    else "Add a printer in your system's printer settings."
                ),
            )
        self._printer_changed()
        slips = [t.name for t in targets if t.accepts(SLIP_FORMAT)]
        self.slip_printer.clear()
        self.slip_printer.addItems(slips)
        if last.get(SLIP_FORMAT) in slips:
            self.slip_printer.setCurrentText(last[SLIP_FORMAT])
        self.slip_button.setEnabled(bool(slips))

    def current_target(self) -> PrintTarget | None:
        name = self.printer.currentData()
        return next((t for t in self._targets if t.name == name), None)

    def _printer_changed(self) -> None:
        target = self.current_target()
        self.save_preset_button.setEnabled(target is not None and self.can_save_presets)
        if target is None:
            return
        self.set_settings(self._presets.get(target.name, PrintSettings()))

    def set_settings(self, settings: PrintSettings) -> None:
        self.paper.setCurrentIndex(self.paper.findData(settings.paper))
        self.orientation.setCurrentIndex(self.orientation.findData(settings.orientation))
        self.scale_to_fit.setChecked(settings.scale_to_fit)
        index = self.dpi.findData(settings.dpi)
        if index < 0:
            self.dpi.addItem(f"{settings.dpi} dpi", settings.dpi)
            index = self.dpi.count() - 1
        self.dpi.setCurrentIndex(index)

    def settings(self) -> PrintSettings:
        return PrintSettings(
            paper=Paper(self.paper.currentData()),
            orientation=Orientation(self.orientation.currentData()),
            scale_to_fit=self.scale_to_fit.isChecked(),
            dpi=self.dpi.currentData(),
        )

    def save_preset(self) -> None:
        target = self.current_target()
        if target is None or not self.can_save_presets:
            return
        settings = self.settings()
        self.save_preset_button.setEnabled(False)

        def saved(_none: None) -> None:
            self._presets[target.name] = settings
            self.save_preset_button.setEnabled(True)
            self._say(OK_STYLE, f"Saved as the preset of {target.name}.")

        def failed(exc: BaseException) -> None:
            self.save_preset_button.setEnabled(True)
            self._failed(exc, retry=False)

        Op(
            self,
            lambda _job: self._labels.save_printer(
                self._actor, target.name, str(target.kind), target.address, settings.to_json()
            ),
        ).on_success(saved).on_failure(failed).run()

    # --- printing ---------------------------------------------------------------------

    def _say(self, style: str, text: str) -> None:
        self.answer.setStyleSheet(style)
        self.answer.setText(text)
        self.answer.setVisible(True)

    def _busy(self, busy: bool) -> None:
        self.printing = busy
        self.print_button.setEnabled(not busy and self.current_target() is not None)
        self.retry_button.setEnabled(not busy)
        self.slip_button.setEnabled(not busy and self.slip_printer.count() > 0)

    def _failed(self, exc: BaseException, *, retry: bool) -> None:
        self._busy(False)
        if not isinstance(exc, UserError):
            from ui.errors import show_error

            show_error(self, exc)
            return
        self._say(ERR_STYLE, f"<b>{esc(exc.title)}</b><br>{esc(exc.message)}")
        self.retry_button.setVisible(retry)

    def print_label(self) -> None:
        """Print the label in memory on the chosen printer (also "Try again")."""
        target = self.current_target()
        if target is None or self.printing:
            return
        document = self.document
        documents = (document, *(d for d in self.documents if d.type is not DocumentType.LABEL))
        if not target.accepts(document.format):
            self._failed(WrongPrinter(), retry=False)
            return
        settings = self.settings()
        self._busy(True)
        self.retry_button.setVisible(False)
        self._say(BUSY_STYLE, f"Printing on {esc(target.name)}…")
        title = job_title(self._shipment.order_id)
        Op(
            self,
            # The label, then Amazon's packing slip if it was bought with one.
            lambda _job: print_shipment(target, documents, settings, title, self._print_fn),
            lane=Lane.NET,
        ).on_success(lambda job_id: self._record(target, job_id)).on_failure(
            lambda exc: self._failed(exc, retry=True)
        ).run()

    def _record(self, target: PrintTarget, job_id: str) -> None:
        def recorded(shipment: Shipment) -> None:
            self._shipment = shipment
            self._busy(False)
            self._say(OK_STYLE, f"Sent to {esc(target.name)} ({esc(job_id)}).")
            self.label_printed.emit(target.name)

        Op(
            self,
            lambda _job: self._labels.record_printed(
                self._actor,
                self._shipment.id,
                printer=target.name,
                label_format=str(self.document.format),
                source=self._source,
            ),
        ).on_success(recorded).on_failure(lambda exc: self._failed(exc, retry=False)).run()

    def print_slip(self) -> None:
        name = self.slip_printer.currentText()
        target = next((t for t in self._targets if t.name == name), None)
        if target is None or self.printing:
            return
        settings = self._presets.get(name, PrintSettings())
        order_id, items = self._shipment.order_id, self._items
        self._busy(True)
        self._say(BUSY_STYLE, f"Printing the packing slip on {esc(name)}…")

        def work(job: Any) -> str:
            # The buyer's name only if the store's shipping settings put it on the slip.
            recipient = self._labels.slip_recipient(self._actor, order_id, cancel=job.cancel)
            job_id = self._slip_fn(target, order_id, items, settings, recipient)
            self._labels.remember_printer(self._actor, SLIP_FORMAT, name)
            return job_id

        def done(job_id: str) -> None:
            self._busy(False)
            self._say(OK_STYLE, f"Packing slip sent to {esc(name)} ({esc(job_id)}).")

        Op(self, work, lane=Lane.NET).on_success(done).on_failure(
            lambda exc: self._failed(exc, retry=False)
        ).run()
