"""Real label and packing-slip documents for the fake Shipping API: PDF, PNG and ZPL.

What Amazon hands back after a purchase is a file a printer takes as it is; so are
these: a hand-written PDF 1.4 page of 4x6 in (288x432 pt) with Helvetica text (so
``pdftotext`` reads it) and a barcode drawn with rectangles; a grey PNG of 4x6 in at the
dpi asked for (stdlib zlib + struct); ZPL II for a 203 or 300 dpi thermal printer.  Each
carries the order id, the tracking id and the fake recipient's name and address: like
Amazon's, these documents are buyer data (fake here), which is what the store-nothing
tests look for.  Output is deterministic: the same inputs give the same bytes.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

LABEL = "LABEL"
PACKSLIP = "PACKSLIP"
FORMATS = ("PDF", "PNG", "ZPL")
DPIS = (203, 300)
PAGE_POINTS = (288, 432)  # 4 x 6 in at 72 pt/in


@dataclass(frozen=True)
class FakeRecipient:
    """The fake buyer a label is addressed to (from the fake order's RECIPIENT data)."""

    name: str
    address_line1: str
    city: str
    state_or_region: str
    postal_code: str
    country_code: str

    def lines(self) -> tuple[str, ...]:
        place = " ".join(p for p in (self.city, self.state_or_region, self.postal_code) if p)
        return (self.name, self.address_line1, place, self.country_code)

    def strings(self) -> tuple[str, ...]:
        """What a scan for leaked recipient data looks for."""
        return (self.name, self.address_line1)


@dataclass(frozen=True)
class PackedItem:
    sku: str
    title: str
    quantity: int


@dataclass(frozen=True)
class LabelContent:
    order_id: str
    tracking_id: str
    carrier_name: str
    service_name: str
    recipient: FakeRecipient
    ship_from: tuple[str, ...]  # the seller's warehouse, one line each
    items: tuple[PackedItem, ...] = ()
    weight: str = ""  # "1.2 KILOGRAM", as printed


def render(content: LabelContent, doc_type: str, fmt: str, dpi: int | None = None) -> bytes:
    """The document ``doc_type`` (LABEL / PACKSLIP) in ``fmt`` (PDF / PNG / ZPL).
    ``dpi`` matters for PNG and ZPL (203 when not given)."""
    if doc_type not in (LABEL, PACKSLIP):
        raise ValueError(f"unknown document type {doc_type!r}")
    lines = label_lines(content) if doc_type == LABEL else packslip_lines(content)
    barcode = content.tracking_id if doc_type == LABEL else None
    title = f"{doc_type} {content.order_id}"
    if fmt == "PDF":
        return pdf(lines, barcode, title=title)
    if fmt == "PNG":
        return png(lines, barcode, dpi=dpi or 203, title=title)
    if fmt == "ZPL":
        return zpl(lines, barcode, dpi=dpi or 203)
    raise ValueError(f"unknown format {fmt!r}")


def label_lines(content: LabelContent) -> list[str]:
    return [
        f"{content.carrier_name} - {content.service_name}",
        "FROM:",
        *content.ship_from,
        "",
        "SHIP TO:",
        *content.recipient.lines(),
        "",
        f"Order {content.order_id}",
        f"Weight {content.weight}" if content.weight else "",
        f"Tracking {content.tracking_id}",
    ]


def packslip_lines(content: LabelContent) -> list[str]:
    lines = ["PACKING SLIP", f"Order {content.order_id}", "Ship to:"]
    lines += list(content.recipient.lines())
    lines += ["", "Qty  Item"]
    for item in content.items:
        lines.append(f"{item.quantity} x {item.sku}")
        lines.append(f"    {item.title[:44]}")
    return lines


def bar_widths(code: str) -> list[tuple[int, int]]:
    """A simple barcode for ``code``: (bar, gap) widths in modules, 1-3 each, with start
    and stop guards.  Looks like a linear barcode and is unique per code; not Code 128."""
    widths = [(2, 1), (1, 1)]
    for ch in code.encode("ascii", "replace"):
        widths.append((1 + (ch >> 4) % 3, 1 + (ch >> 2) % 2))
        widths.append((1 + ch % 3, 1 + (ch >> 6) % 2))
    widths += [(2, 1), (1, 1), (2, 0)]
    return widths


# --- PDF ---------------------------------------------------------------------------------


def _pdf_text(text: str) -> bytes:
    raw = text.encode("cp1252", "replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def pdf(lines: Sequence[str], barcode: str | None, *, title: str) -> bytes:
    """One 4x6 in page: ``lines`` in Helvetica from the top, the barcode at the bottom."""
    width, height = PAGE_POINTS
    ops: list[bytes] = [b"0.8 w 6 6 276 420 re S"]
    y = height - 24
    for i, line in enumerate(lines):
        size = 12 if i == 0 else 10
        if line:
            ops.append(b"BT /F1 %d Tf 14 %d Td (%s) Tj ET" % (size, y, _pdf_text(line)))
        y -= size + 4
    if barcode:
        x, module = 18.0, 1.2
        for bar, gap in bar_widths(barcode):
            ops.append(b"%.2f 40 %.2f 70 re f" % (x, bar * module))
            x += (bar + gap) * module
        ops.append(b"BT /F1 9 Tf 18 28 Td (%s) Tj ET" % _pdf_text(barcode))
    stream = b"\n".join(ops) + b"\n"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>" % (width, height),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n%sendstream" % (len(stream), stream),
        b"<< /Title (%s) /Producer (Muttefik Desk demo) >>" % _pdf_text(title),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        len(objects),
        xref,
    )
    return bytes(out)


# --- PNG ---------------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png(lines: Sequence[str], barcode: str | None, *, dpi: int, title: str) -> bytes:
    """A 4x6 in greyscale image at ``dpi``: border, one dark block per text line (length
    by the text; a thermal label has no anti-aliasing either), the barcode.  The text
    itself travels in tEXt chunks (``Title``, ``Description``)."""
    if dpi not in DPIS:
        raise ValueError(f"unsupported dpi {dpi}")
    width, height = 4 * dpi, 6 * dpi
    unit = dpi / 72  # pixels per point
    white = b"\xff" * width
    rows = [bytearray(white) for _ in range(height)]

    def fill(x0: float, y0: float, x1: float, y1: float) -> None:
        a, b = max(0, int(x0)), min(width, int(x1))
        if b <= a:
            return
        black = bytes(b - a)
        for row in rows[max(0, int(y0)) : min(height, int(y1))]:
            row[a:b] = black

    border = max(2, int(unit))
    fill(0, 0, width, border)
    fill(0, height - border, width, height)
    fill(0, 0, border, height)
    fill(width - border, 0, width, height)
    y = 14 * unit
    for i, line in enumerate(lines):
        size = (12 if i == 0 else 10) * unit
        if line:
            fill(14 * unit, y, 14 * unit + len(line) * size * 0.5, y + size * 0.7)
        y += size + 4 * unit
    if barcode:
        x, module = 18 * unit, 1.2 * unit
        top = height - 110 * unit
        for bar, gap in bar_widths(barcode):
            fill(x, top, x + bar * module, top + 70 * unit)
            x += (bar + gap) * module
    raw = b"".join(b"\x00" + bytes(row) for row in rows)
    ppm = round(dpi / 0.0254)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)),
            _chunk(b"pHYs", struct.pack(">IIB", ppm, ppm, 1)),
            _chunk(b"tEXt", b"Title\x00" + title.encode("latin-1", "replace")),
            _chunk(
                b"tEXt",
                b"Description\x00" + "\n".join(lines).encode("latin-1", "replace"),
            ),
            _chunk(b"IDAT", zlib.compress(raw, 9)),
            _chunk(b"IEND", b""),
        )
    )


# --- ZPL ---------------------------------------------------------------------------------


def _zpl_text(text: str) -> str:
    # ^ and ~ start commands; the field data may hold neither.
    return text.replace("^", " ").replace("~", " ")


def zpl(lines: Sequence[str], barcode: str | None, *, dpi: int) -> bytes:
    """ZPL II for a 4x6 in label at ``dpi`` (UTF-8 text with ^CI28)."""
    if dpi not in DPIS:
        raise ValueError(f"unsupported dpi {dpi}")

    def dots(points: float) -> int:
        return round(points * dpi / 72)

    out = ["^XA", "^CI28", f"^PW{4 * dpi}", f"^LL{6 * dpi}", "^LH0,0"]
    out.append(f"^FO{dots(6)},{dots(6)}^GB{dots(276)},{dots(420)},{max(2, dots(1))}^FS")
    y = 14.0
    for i, line in enumerate(lines):
        size = 12 if i == 0 else 10
        if line:
            h = dots(size)
            out.append(f"^FO{dots(14)},{dots(y)}^A0N,{h},{h}^FD{_zpl_text(line)}^FS")
        y += size + 4
    if barcode:
        out.append(f"^FO{dots(18)},{dots(432 - 110)}^BY{max(2, dots(1.2))}")
        out.append(f"^BCN,{dots(70)},Y,N,N^FD{_zpl_text(barcode)}^FS")
    out.append("^XZ")
    return ("\n".join(out) + "\n").encode("utf-8")


def fingerprint(data: bytes) -> str:
    """A short digest of a document (tests compare re-downloads by it)."""
    return hashlib.sha256(data).hexdigest()[:16]
