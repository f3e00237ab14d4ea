"""Sending a label document to a printer, from memory: the one dispatch the CLI and the
app's print dialogs share (no Qt; ``ui/printing.py`` adds the packing slip Qt draws).

A label document is buyer PII: it goes from memory to the printer and nowhere else.
PDF and PNG labels go to a CUPS queue as Amazon's own bytes, piped to ``lp`` with the
printer preset's options (:func:`app.fulfillment.printers.cups_options`); ZPL goes raw
to a thermal printer's TCP port or to a CUPS raw queue.  Job titles are ``Order <id>``.

Thread: :func:`print_label` blocks (subprocess, socket): a worker (``Lane.NET``) or the CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.amazon.spapi.shipping import DocumentType, LabelDocument, LabelFormat
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
    "print_label",
    "print_shipment",
    "saved_settings",
]

#: The "format" the last printer of packing slips is remembered under.
SLIP_FORMAT = "SLIP"


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
    kind: PrinterKind = PrinterKind.CUPS
    address: str | None = None
    raw: bool = False
    ready: bool = True

    def accepts(self, fmt: LabelFormat | str) -> bool:
        """Whether a document of ``fmt`` ("SLIP" for a packing slip) can go here."""
        if fmt == LabelFormat.ZPL:
            return self.kind == PrinterKind.ZPL_TCP or self.raw
        return self.kind == PrinterKind.CUPS and not self.raw

    def describe(self) -> str:
        return f"{self.name} ({self.address})" if self.address else self.name


def job_title(order_id: str) -> str:
    """A print job's name as others see it in the queue: the order id only."""
    return f"Order {order_id}"


def saved_settings(settings_json: str) -> PrintSettings:
    """A printer's saved preset (``LabelsReader.printers()``); the defaults if unreadable."""
    try:
        return (
            PrintSettings.from_json(settings_json)
            if settings_json.strip("{} ")
            else (PrintSettings())
        )
    except ValueError:
        return PrintSettings()


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


PrintFn = Callable[[PrintTarget, LabelDocument, PrintSettings, str], str]


def label_of(documents: Sequence[LabelDocument]) -> LabelDocument:
    """The label among a shipment's documents (the first document if none says so)."""
    return next((d for d in documents if d.type is DocumentType.LABEL), documents[0])


def print_shipment(
    target: PrintTarget,
    documents: Sequence[LabelDocument],
    settings: PrintSettings,
    title: str,
    print_fn: PrintFn = print_label,
) -> str:
    """Print a shipment's label and, right after it on the same printer, Amazon's packing
    slip if the label was bought with one (the store's "Print Amazon's packing slip with
    each label"; it comes in the label's format).  Returns the job ids.  Worker thread."""
    label = label_of(documents)
    jobs = [print_fn(target, label, settings, title)]
    for doc in documents:
        if doc.type is DocumentType.PACKSLIP:
            jobs.append(print_fn(target, doc, settings, title))
    return ", ".join(jobs)
