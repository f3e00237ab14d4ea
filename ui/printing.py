"""Printing labels and packing slips from memory (the Qt side of ``app/fulfillment``).

Labels go through :func:`app.fulfillment.printing.print_label` (re-exported here with
the target and error types), the dispatch the CLI uses too.  The packing slip is drawn by Qt
(:class:`QTextDocument` on a :class:`QPdfWriter` writing into a :class:`QBuffer`: vector
text, no file) and printed through the same pipe.  Job titles are ``Order <id>``.

Thread: :func:`print_label`, :func:`print_packing_slip` block (subprocess, socket): run
them in an ``Op`` on ``Lane.NET``.  :func:`packing_slip_pdf` paints on a QPdfWriter,
which Qt allows off the GUI thread (QPainter on a QPdfWriter/QImage in another thread);
``tests/unit/ui/test_printing.py`` makes one on a worker.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QSizeF
from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter, QTextDocument

from app.amazon.spapi.shipping import LabelFormat
from app.fulfillment.printers import PrintSettings, cups_options, print_cups
from app.fulfillment.printing import (
    SLIP_FORMAT,
    PrintTarget,
    WrongPrinter,
    job_title,
    print_label,
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

SlipItem = tuple[str | None, str | None, int]  # (sku, title, quantity)


def print_packing_slip(
    target: PrintTarget,
    order_id: str,
    items: Sequence[SlipItem],
    settings: PrintSettings,
    recipient: str | None = None,
) -> str:
    """Draw the packing slip and print it on ``target`` (a regular CUPS printer).
    Worker thread."""
    if not target.accepts(SLIP_FORMAT):
        raise WrongPrinter(
            "A packing slip needs a regular printer, not a thermal label printer. "
            "Choose another printer.",
            detail=f"slip to {target.kind} raw={target.raw}",
        )
    data = packing_slip_pdf(order_id, items, recipient)
    options = cups_options(PrintSettings(paper=settings.paper, scale_to_fit=True), LabelFormat.PDF)
    options.pop("number-up", None)  # a slip is one page of its own
    return print_cups(target.name, data, title=job_title(order_id), options=options)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def packing_slip_pdf(
    order_id: str, items: Sequence[SlipItem], recipient: str | None = None
) -> bytes:
    """A 4x6 in packing slip: the order id, the buyer's name if given (only when the
    seller turned it on: ``LabelService.slip_recipient``), each item's SKU, title and
    quantity.  Painted into memory; the bytes are returned, nothing is written."""
    rows = "".join(
        f"<tr><td>{_esc(sku or '—')}</td><td>{_esc(title or '')}</td>"
        f"<td align='right'>{int(qty)}</td></tr>"
        for sku, title, qty in items
    )
    units = sum(int(qty) for _sku, _title, qty in items)
    html = (
        "<h2>Packing slip</h2>"
        f"<p><b>Order {_esc(order_id)}</b></p>"
        + (f"<p>For: {_esc(recipient)}</p>" if recipient else "")
        + "<table width='100%' cellspacing='0' cellpadding='3' border='1'>"
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
