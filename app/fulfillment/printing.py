"""Sending a label document to a printer target, from memory: the one dispatch the CLI
and the app's print dialogs share (no Qt).

A target is a CUPS queue (PDF and PNG go as Amazon's own bytes, placed on the paper by
the printer's preset; ZPL goes raw) or a thermal printer's raw port (ZPL only).  The
job title is "Order <id>": never a name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


class WrongPrinterForFormat(UserError):
    title = "This printer cannot take this label"


@dataclass(frozen=True)
class PrintTarget:
    """Where a label goes: a CUPS queue by name, or a thermal printer at host:port."""

    name: str
    kind: PrinterKind = PrinterKind.CUPS
    address: str | None = None  # "host:port" for ZPL_TCP
    settings: PrintSettings = field(default_factory=PrintSettings)
    #: A CUPS queue without a driver (passes ZPL through).
    raw: bool = False

    @classmethod
    def from_saved(cls, name: str, kind: str, address: str | None, settings: str) -> PrintTarget:
        """A printer as the label service keeps it (``LabelsReader.printers()``)."""
        try:
            preset = PrintSettings.from_json(settings) if settings.strip("{} ") else PrintSettings()
        except ValueError:
            preset = PrintSettings()
        return cls(name=name, kind=PrinterKind(kind), address=address, settings=preset)

    def describe(self) -> str:
        return f"{self.name} ({self.address})" if self.address else self.name


def job_title(order_id: str, what: str = "") -> str:
    return f"Order {order_id}{' ' + what if what else ''}"


def print_label(target: PrintTarget, document: LabelDocument, *, title: str) -> str | None:
    """Print ``document`` on ``target``; returns the CUPS job id (None for a raw port).
    Raises the printer errors of :mod:`app.fulfillment.printers` in plain words, and
    :class:`WrongPrinterForFormat`.  Blocks (subprocess, socket): worker thread."""
    if target.kind is PrinterKind.ZPL_TCP:
        if document.format is not LabelFormat.ZPL:
            raise WrongPrinterForFormat(
                f"“{target.name}” is a thermal printer that takes ZPL labels only; this "
                f"label is {document.format}. Choose another printer, or buy ZPL labels "
                "for it (Tools → Shipping…)."
            )
        host, port = parse_printer_address(target.address or "")
        send_zpl_tcp(host, port, document.data)
        return None
    if document.format is LabelFormat.ZPL:
        return print_cups(target.name, document.data, title=title, raw=True)
    return print_cups(
        target.name,
        document.data,
        title=title,
        options=cups_options(target.settings, document.format),
    )
