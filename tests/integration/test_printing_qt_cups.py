"""ui/printing.py through a real print system: a PDF label from memory to the cups-pdf
queue comes out as a PDF whose text holds the tracking number; a PNG label made by Qt
comes out at its true size (4x6 in at its dpi); the packing slip Qt draws into memory
comes out with the order id; ZPL reaches a raw queue and a TCP printer byte for byte;
a label for a printer that cannot take it is refused before anything is sent."""

from __future__ import annotations

import shutil
import subprocess
import time
from typing import Any

import pytest
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QFont, QImage, QPainter

from app.amazon.spapi.shipping import DocumentType, LabelDocument, LabelFormat
from app.fulfillment.printers import Paper, PrinterKind, PrintSettings
from tests.helpers.cups import Cups, ZplListener, pdf_text, tiny_pdf, wait_for_pdf, zpl_label
from tests.support import service_missing
from ui.printing import (
    PrintTarget,
    WrongPrinter,
    job_title,
    packing_slip_pdf,
    print_label,
    print_packing_slip,
)

pytestmark = pytest.mark.integration

ORDER_ID = "113-7654321-0000042"
TRACKING = "1ZQTCUPS000000042"
LABEL_4X6 = PrintSettings(paper=Paper.LABEL_4X6)


def _png_label(dpi: int) -> bytes:
    image = QImage(4 * dpi, 6 * dpi, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.white)
    image.setDotsPerMeterX(round(dpi / 0.0254))
    image.setDotsPerMeterY(round(dpi / 0.0254))
    painter = QPainter(image)
    painter.setFont(QFont("Sans", 24))
    painter.drawText(40, 120, f"Tracking {TRACKING}")
    painter.fillRect(40, 300, 8 * dpi // 10, 2 * dpi, Qt.GlobalColor.black)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]
    return bytes(data.data())


def test_a_pdf_label_prints_from_memory_and_its_tracking_number_reads_back(
    cups: Cups,
) -> None:
    since = time.time()
    doc = LabelDocument(
        DocumentType.LABEL, LabelFormat.PDF, tiny_pdf(f"Order {ORDER_ID}", TRACKING)
    )
    target = PrintTarget(cups.pdf_queue, PrinterKind.CUPS)
    job = print_label(target, doc, LABEL_4X6, job_title(ORDER_ID))
    assert job.startswith(f"{cups.pdf_queue}-")
    out = wait_for_pdf(since, f"Order {ORDER_ID}")
    assert TRACKING in pdf_text(out)


def test_a_png_label_prints_at_its_true_size(qapp: Any, cups: Cups) -> None:
    if shutil.which("pdfinfo") is None:
        service_missing("pdfinfo not installed (apt-get install poppler-utils)")
    since = time.time()
    doc = LabelDocument(DocumentType.LABEL, LabelFormat.PNG, _png_label(203), dpi=203)
    order_id = "113-7654321-0000043"
    print_label(PrintTarget(cups.pdf_queue, PrinterKind.CUPS), doc, LABEL_4X6, job_title(order_id))
    out = wait_for_pdf(since, f"Order {order_id}")
    images = subprocess.run(
        ["pdfimages", "-list", str(out)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    assert images, "the PNG did not reach the PDF as an image"
    # columns: page num type width height color comp bpc enc interp object ID x-ppi y-ppi
    x_ppi = [int(line.split()[12]) for line in images]
    assert max(x_ppi) == pytest.approx(203, abs=3), images


def _ink(pdf: bytes) -> tuple[int, int, int, int, int]:
    """The first page at 30 dpi: the box around its ink (top, bottom, left, right) and how
    many pixel rows hold ink."""
    if shutil.which("pdftoppm") is None:
        service_missing("pdftoppm not installed (apt-get install poppler-utils)")
    png = subprocess.run(
        ["pdftoppm", "-r", "30", "-gray", "-png", "-singlefile", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout
    image = QImage.fromData(png)
    dark = [
        (x, y)
        for y in range(image.height())
        for x in range(image.width())
        if image.pixelColor(x, y).value() < 160
    ]
    assert dark, "a blank page"
    ys, xs = {y for _x, y in dark}, {x for x, _y in dark}
    return min(ys), max(ys), min(xs), max(xs), len(ys)


def test_the_packing_slip_drawn_in_memory_prints_with_the_order_id(qapp: Any, cups: Cups) -> None:
    """Qt embeds its fonts as CID TrueType; CUPS's PDF → PostScript → cups-pdf chain turns
    them into Type 3 glyphs without their Unicode names, so pdftotext reads the order id
    in the bytes sent (Qt's vector text) and the printed page is checked by its ink: the
    same lines in the same place."""
    since = time.time()
    order_id = "113-7654321-0000044"
    items = [("LANTERN-2", "Trail lantern", 2), ("BAT-9", "Spare battery", 1)]
    sent = packing_slip_pdf(order_id, items)
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=sent, capture_output=True, check=True
    ).stdout.decode()
    assert order_id in text and "LANTERN-2" in text and "Spare battery" in text
    target = PrintTarget(cups.pdf_queue, PrinterKind.CUPS)
    print_packing_slip(target, order_id, items, LABEL_4X6)
    printed = wait_for_pdf(since, f"Order {order_id}").read_bytes()
    for want, got in zip(_ink(sent), _ink(printed), strict=True):
        assert abs(want - got) <= 2, (_ink(sent), _ink(printed))


def test_zpl_goes_byte_for_byte_to_a_raw_queue_and_to_a_tcp_printer(
    cups: Cups, zpl_listener: ZplListener
) -> None:
    data = zpl_label(ORDER_ID, TRACKING)
    doc = LabelDocument(DocumentType.LABEL, LabelFormat.ZPL, data, dpi=203)
    print_label(
        PrintTarget(cups.raw_queue, PrinterKind.CUPS, raw=True), doc, LABEL_4X6, job_title(ORDER_ID)
    )
    assert cups.raw_listener.next_job() == data
    tcp = PrintTarget("Zebra", PrinterKind.ZPL_TCP, address=zpl_listener.address)
    assert print_label(tcp, doc, LABEL_4X6, job_title(ORDER_ID)) == zpl_listener.address
    assert zpl_listener.next_job() == data


def test_a_label_the_printer_cannot_take_is_refused_before_sending(
    cups: Cups, zpl_listener: ZplListener
) -> None:
    zpl = LabelDocument(DocumentType.LABEL, LabelFormat.ZPL, zpl_label(ORDER_ID, TRACKING))
    pdf = LabelDocument(DocumentType.LABEL, LabelFormat.PDF, tiny_pdf(TRACKING))
    with pytest.raises(WrongPrinter):
        print_label(PrintTarget(cups.pdf_queue, PrinterKind.CUPS), zpl, LABEL_4X6, "Order 1")
    with pytest.raises(WrongPrinter):
        tcp = PrintTarget("Zebra", PrinterKind.ZPL_TCP, address=zpl_listener.address)
        print_label(tcp, pdf, LABEL_4X6, "Order 1")
    assert zpl_listener.jobs.empty()
