"""Printing labels and packing slips from memory (the Qt side of ``app/fulfillment``).

A label document is buyer PII: it goes from memory to the printer and nowhere else.
PDF and PNG labels go to a CUPS queue as Amazon's own bytes, piped to ``lp`` with the
printer preset's options (:func:`app.fulfillment.printers.cups_options`); ZPL goes raw to
a thermal printer's TCP port or to a CUPS raw queue.  The packing slip is drawn by Qt
(:class:`QTextDocument` on a :class:`QPdfWriter` writing into a :class:`QBuffer`: vector
text, no file) and printed through the same pipe.  Job titles are ``Order <id>``.

Thread: :func:`print_label`, :func:`print_packing_slip` block (subprocess, socket): run
them in an ``Op`` on ``Lane.NET``.  :func:`packing_slip_pdf` paints on a QPdfWriter,
which Qt allows off the GUI thread (QPainter on a QPdfWriter/QImage in another thread);
``tests/unit/ui/test_printing.py`` makes one on a worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QSizeF
from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter, QTextDocument

from app.amazon.spapi.shipping import LabelDocument, LabelFormat
from app.errors import UserError
from app.fulfillment.printers import (
    PrinterKind,
    PrintSettings,
    cups_options,
    parse_printer_address,
    print_cups,
    send_zpl_tcp,
)

__all__ = [
    "SLIP_FORMAT",
    "PrintTarget",
    "WrongPrinter",
    "job_title",
    "packing_slip_pdf",
    "print_label",
    "print_packing_slip",
]

#: The "format" the last printer of packing slips is remembered under.
SLIP_FORMAT = "SLIP"

SlipItem = tuple[str | None, str | None, int]  # (sku, title, quantity)


class WrongPrinter(UserError):
    title = "Choose another printer"
    message = (
        "This printer cannot print this kind of label. ZPL labels go to a thermal "
        "printer (by its network address, or a raw printer queue); PDF and PNG labels and "
        "packing slips go to a regular printer. The label is kept; nothing is bought again."
    )


@dataclass(frozen=True)
class PrintTarget:
    """Where a document can be printed: a CUPS queue (``raw``: a queue without a driver,
    which passes ZPL through) or a thermal printer at ``address`` (host:port)."""

    name: str
    kind: PrinterKind
    address: str | None = None
    raw: bool = False
    ready: bool = True

    def accepts(self, fmt: LabelFormat | str) -> bool:
        """Whether a document of ``fmt`` ("SLIP" for a packing slip) can go here."""
        if fmt == LabelFormat.ZPL:
            return self.kind == PrinterKind.ZPL_TCP or self.raw
        return self.kind == PrinterKind.CUPS and not self.raw


def job_title(order_id: str) -> str:
    """A print job's name as others see it in the queue: the order id only."""
    return f"Order {order_id}"


def print_label(
    target: PrintTarget, document: LabelDocument, settings: PrintSettings, title: str
) -> str:
    """Send ``document`` (from memory) to ``target``; returns the CUPS job id, or
    ``host:port`` for a thermal printer.  Raises :class:`WrongPrinter` for a format
    the target does not take and the printers' ``UserError``s (offline, not found,
    failed).  Blocks: worker thread."""
    if not target.accepts(document.format):
        raise WrongPrinter(detail=f"{document.format} to {target.kind} raw={target.raw}")
    if document.format == LabelFormat.ZPL:
        if target.kind == PrinterKind.ZPL_TCP:
            host, port = parse_printer_address(target.address or "")
            send_zpl_tcp(host, port, document.data)
            return f"{host}:{port}"
        return print_cups(target.name, document.data, title=title, raw=True)
    options = cups_options(settings, document.format)
    if document.format == LabelFormat.PNG and document.dpi and not settings.scale_to_fit:
        # CUPS places an image by its pixels per inch: at the label's dpi it is 4x6 in.
        options["ppi"] = str(document.dpi)
    return print_cups(target.name, document.data, title=title, options=options)


def print_packing_slip(
    target: PrintTarget,
    order_id: str,
    items: Sequence[SlipItem],
    settings: PrintSettings,
) -> str:
    """Draw the packing slip and print it on ``target`` (a regular CUPS printer).
    Worker thread."""
    if not target.accepts(SLIP_FORMAT):
        raise WrongPrinter(
            "A packing slip needs a regular printer, not a thermal label printer. "
            "Choose another printer.",
            detail=f"slip to {target.kind} raw={target.raw}",
        )
    data = packing_slip_pdf(order_id, items)
    options = cups_options(PrintSettings(paper=settings.paper, scale_to_fit=True), LabelFormat.PDF)
    options.pop("number-up", None)  # a slip is one page of its own
    return print_cups(target.name, data, title=job_title(order_id), options=options)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def packing_slip_pdf(order_id: str, items: Sequence[SlipItem]) -> bytes:
    """A 4x6 in packing slip: the order id and each item's SKU, title and quantity.

    No recipient: the app never fetches the buyer's name (the label, which Amazon made,
    carries it).  Painted into memory; the bytes are returned, nothing is written."""
    rows = "".join(
        f"<tr><td>{_esc(sku or '—')}</td><td>{_esc(title or '')}</td>"
        f"<td align='right'>{int(qty)}</td></tr>"
        for sku, title, qty in items
    )
    units = sum(int(qty) for _sku, _title, qty in items)
    html = (
        "<h2>Packing slip</h2>"
        f"<p><b>Order {_esc(order_id)}</b></p>"
        "<table width='100%' cellspacing='0' cellpadding='3' border='1'>"
        "<tr><th align='left'>SKU</th><th align='left'>Item</th><th>Qty</th></tr>"
        f"{rows}</table>"
        f"<p>{units} item{'s' if units != 1 else ''} in total.</p>"
    )
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setTitle(job_title(order_id))
    writer.setCreator("Müttefik Desk")
    writer.setResolution(300)
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QSizeF(4, 6), QPageSize.Unit.Inch, "4x6 in"),
            QPageLayout.Orientation.Portrait,
            QMarginsF(6, 6, 6, 6),
            QPageLayout.Unit.Millimeter,
        )
    )
    doc = QTextDocument()
    doc.setDocumentMargin(0)
    doc.setHtml(html)
    from PySide6.QtGui import QPainter

    painter = QPainter(writer)
    try:
        area = writer.pageLayout().paintRectPixels(writer.resolution())
        # Lay the text out at the page's width in points, then scale to the device.
        scale = writer.resolution() / 72
        doc.setPageSize(QSizeF(area.width() / scale, area.height() / scale))
        painter.scale(scale, scale)
        doc.drawContents(painter)
    finally:
        painter.end()
    buffer.close()
    return bytes(data.data())
