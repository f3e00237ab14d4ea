"""ui/printing.py without a print system: which printer takes which document, ZPL to a
thermal printer's port byte for byte, the CUPS job's options (a PNG placed by its dpi,
a packing slip scaled onto its paper), and the packing slip drawn into memory on a
worker thread (4x6 in, the order id and the items as text, no recipient)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtPdf import QPdfDocument

import app.fulfillment.printing
import ui.printing
from app.amazon.spapi.shipping import DocumentType, LabelDocument, LabelFormat
from app.fulfillment.printers import Paper, PrinterKind, PrintSettings
from tests.helpers.cups import ZplListener
from ui.printing import (
    SLIP_FORMAT,
    PrintTarget,
    WrongPrinter,
    job_title,
    packing_slip_pdf,
    print_label,
    print_packing_slip,
)

ORDER_ID = "114-1234567-7654321"
OFFICE = PrintTarget("Office", PrinterKind.CUPS)
RAW = PrintTarget("ZebraRaw", PrinterKind.CUPS, raw=True)


@pytest.fixture
def lp_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """``print_cups`` as called (queue, bytes, title, options, raw): no CUPS here."""
    calls: list[dict[str, Any]] = []

    def fake(queue: str, data: bytes, **kw: Any) -> str:
        calls.append({"queue": queue, "data": data, **kw})
        return f"{queue}-{len(calls)}"

    monkeypatch.setattr(ui.printing, "print_cups", fake)  # the packing slip
    monkeypatch.setattr(app.fulfillment.printing, "print_cups", fake)  # labels
    return calls


def test_each_printer_takes_only_what_it_can_print() -> None:
    tcp = PrintTarget("Zebra", PrinterKind.ZPL_TCP, address="10.0.0.9")
    assert [t.accepts(LabelFormat.ZPL) for t in (OFFICE, RAW, tcp)] == [False, True, True]
    for fmt in (LabelFormat.PDF, LabelFormat.PNG, SLIP_FORMAT):
        assert [t.accepts(fmt) for t in (OFFICE, RAW, tcp)] == [True, False, False]


def test_job_titles_carry_the_order_id_only() -> None:
    assert job_title(ORDER_ID) == f"Order {ORDER_ID}"


def test_zpl_reaches_a_thermal_printer_byte_for_byte(lp_calls: list[dict[str, Any]]) -> None:
    data = b"^XA^CI28^FO40,40^FD\xc3\x9cmit Tester^FS^XZ"
    listener = ZplListener()
    try:
        target = PrintTarget("Zebra", PrinterKind.ZPL_TCP, address=listener.address)
        doc = LabelDocument(DocumentType.LABEL, LabelFormat.ZPL, data, dpi=203)
        assert print_label(target, doc, PrintSettings(), job_title(ORDER_ID)) == listener.address
        assert listener.next_job() == data
    finally:
        listener.close()
    assert lp_calls == []


def test_zpl_to_a_raw_queue_is_sent_raw_and_pdf_with_the_preset(
    lp_calls: list[dict[str, Any]],
) -> None:
    zpl = LabelDocument(DocumentType.LABEL, LabelFormat.ZPL, b"^XA^XZ")
    pdf = LabelDocument(DocumentType.LABEL, LabelFormat.PDF, b"%PDF-1.4 label")
    print_label(RAW, zpl, PrintSettings(), job_title(ORDER_ID))
    print_label(OFFICE, pdf, PrintSettings(paper=Paper.LETTER_2UP), job_title(ORDER_ID))
    assert lp_calls[0]["raw"] is True and lp_calls[0]["data"] == b"^XA^XZ"
    assert lp_calls[1]["title"] == f"Order {ORDER_ID}"
    assert lp_calls[1]["options"]["media"] == "Letter"
    assert lp_calls[1]["options"]["number-up"] == "2"
    assert lp_calls[1]["options"]["print-scaling"] == "none"  # true size: barcodes scan


def test_a_png_label_is_placed_by_its_dpi_unless_scaled_to_fit(
    lp_calls: list[dict[str, Any]],
) -> None:
    png = LabelDocument(DocumentType.LABEL, LabelFormat.PNG, b"\x89PNG...", dpi=203)
    print_label(OFFICE, png, PrintSettings(), "Order 1")
    print_label(OFFICE, png, PrintSettings(scale_to_fit=True), "Order 1")
    assert lp_calls[0]["options"]["ppi"] == "203"
    assert "ppi" not in lp_calls[1]["options"]


def test_a_label_a_printer_cannot_take_is_refused_before_sending(
    lp_calls: list[dict[str, Any]],
) -> None:
    with pytest.raises(WrongPrinter):
        print_label(
            OFFICE,
            LabelDocument(DocumentType.LABEL, LabelFormat.ZPL, b"^XA^XZ"),
            PrintSettings(),
            "Order 1",
        )
    with pytest.raises(WrongPrinter):
        print_packing_slip(RAW, ORDER_ID, [("SKU", "Mug", 1)], PrintSettings())
    assert lp_calls == []


def test_the_packing_slip_is_drawn_in_memory_on_a_worker(
    qapp: Any, lp_calls: list[dict[str, Any]]
) -> None:
    items = [("MUG-1", "Ceramic mug <blue>", 2), (None, "Gift wrap", 1)]
    made: list[bytes] = []
    worker = threading.Thread(target=lambda: made.append(packing_slip_pdf(ORDER_ID, items)))
    worker.start()
    worker.join(timeout=30)
    assert made and made[0].startswith(b"%PDF")
    buffer = QBuffer()
    buffer.setData(QByteArray(made[0]))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    doc = QPdfDocument()
    doc.load(buffer)
    assert doc.pageCount() == 1
    size = doc.pagePointSize(0)
    assert (round(size.width()), round(size.height())) == (288, 432)  # 4x6 in
    text = doc.getAllText(0).text()
    for word in (ORDER_ID, "MUG-1", "Ceramic mug <blue>", "Gift wrap", "3 items"):
        assert word in text
    doc.close()

    print_packing_slip(OFFICE, ORDER_ID, items, PrintSettings(paper=Paper.A4_2UP))
    [call] = lp_calls
    assert call["title"] == f"Order {ORDER_ID}" and call["data"].startswith(b"%PDF")
    assert call["options"]["media"] == "A4" and "number-up" not in call["options"]
