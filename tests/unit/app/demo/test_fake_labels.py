"""The fake label documents are real files: pdftotext reads the PDF, Qt opens the PDF
and the PNG, the ZPL is one label per format."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib

import pytest
from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QImage
from PySide6.QtPdf import QPdfDocument

from app.demo import fake_labels
from app.demo.fake_labels import FakeRecipient, LabelContent, PackedItem, render
from tests.support import service_missing

RECIPIENT = FakeRecipient("Erika Musterfrau", "42 Demo Street", "Köln", "NRW", "50667", "DE")
CONTENT = LabelContent(
    order_id="302-1234567-7654321",
    tracking_id="00340434161234567890",
    carrier_name="DHL",
    service_name="DHL Paket",
    recipient=RECIPIENT,
    ship_from=("Demo Seller Warehouse", "1 Demo Street", "Leipzig 04109 DE"),
    items=(PackedItem("KST-FP-12-DE", "Kestrel Pan (12 in) \\ induction", 2),),
    weight="1.5 KILOGRAM",
)


def pdftotext(data: bytes) -> str:
    """The text of a PDF, piped through stdin and stdout (no temp file)."""
    if shutil.which("pdftotext") is None:
        service_missing("pdftotext (poppler-utils) is not installed")
    done = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    )
    return done.stdout.decode("utf-8")


def test_pdf_label_text_reads_back_with_pdftotext() -> None:
    text = pdftotext(render(CONTENT, "LABEL", "PDF"))
    for expected in (
        CONTENT.order_id,
        CONTENT.tracking_id,
        "Erika Musterfrau",
        "42 Demo Street",
        "Köln",
        "DHL Paket",
    ):
        assert expected in text


def test_pdf_packing_slip_lists_items_and_escapes_brackets() -> None:
    text = pdftotext(render(CONTENT, "PACKSLIP", "PDF"))
    assert "PACKING SLIP" in text
    assert CONTENT.order_id in text
    assert "2 x KST-FP-12-DE" in text
    assert "Kestrel Pan (12 in) \\ induction" in text


def test_pdf_opens_in_qtpdf_from_memory_at_4_by_6_inches() -> None:
    data = QByteArray(render(CONTENT, "LABEL", "PDF"))
    buffer = QBuffer(data)
    assert buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    doc = QPdfDocument()
    doc.load(buffer)
    assert doc.status() == QPdfDocument.Status.Ready
    assert doc.pageCount() == 1
    size = doc.pagePointSize(0)
    assert (size.width(), size.height()) == (288, 432)
    doc.close()


def test_pdf_cross_reference_offsets_point_at_their_objects() -> None:
    data = render(CONTENT, "LABEL", "PDF")
    start = int(data.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    table = data[start:].split(b"\n")
    assert table[0] == b"xref"
    count = int(table[1].split()[1])
    for number in range(1, count):
        offset = int(table[2 + number][:10])
        assert data[offset:].startswith(b"%d 0 obj" % number)


@pytest.mark.parametrize(("dpi", "size"), [(203, (812, 1218)), (300, (1200, 1800))])
def test_png_is_4_by_6_inches_at_the_dpi_and_decodes_in_qt(dpi: int, size: tuple[int, int]) -> None:
    data = render(CONTENT, "LABEL", "PNG", dpi)
    image = QImage.fromData(data)
    assert not image.isNull()
    assert (image.width(), image.height()) == size
    assert round(image.dotsPerMeterX() * 0.0254) == dpi
    assert CONTENT.order_id in image.text("Title")
    assert CONTENT.tracking_id in image.text("Description")
    # Black bars on white: both colours are there.
    colours = {image.pixelColor(x, image.height() - int(80 * dpi / 72)).value() for x in
               range(image.width())}  # fmt: skip
    assert colours == {0, 255}


def test_png_chunks_have_valid_crcs() -> None:
    data = render(CONTENT, "PACKSLIP", "PNG", 203)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    pos, kinds = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        kinds.append(kind)
        pos += 12 + length
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"


@pytest.mark.parametrize(("dpi", "width", "length"), [(203, 812, 1218), (300, 1200, 1800)])
def test_zpl_is_one_label_sized_for_the_dpi(dpi: int, width: int, length: int) -> None:
    text = render(CONTENT, "LABEL", "ZPL", dpi).decode("utf-8")
    assert text.startswith("^XA") and text.rstrip().endswith("^XZ")
    assert text.count("^XA") == text.count("^XZ") == 1
    assert f"^PW{width}" in text and f"^LL{length}" in text
    assert f"^FD{CONTENT.tracking_id}^FS" in text  # the barcode's data
    assert "^BC" in text
    assert f"Order {CONTENT.order_id}" in text
    assert "Erika Musterfrau" in text


def test_zpl_field_data_cannot_inject_commands() -> None:
    odd = FakeRecipient("A^XZ~JA Name", "1 St", "X", "", "1", "US")
    text = render(
        LabelContent("111-1-1", "T1", "UPS", "Ground", odd, ("S",)), "LABEL", "ZPL"
    ).decode()
    assert text.count("^XZ") == 1
    assert "~JA" not in text


@pytest.mark.parametrize("fmt", ["PDF", "PNG", "ZPL"])
def test_documents_are_deterministic(fmt: str) -> None:
    assert render(CONTENT, "LABEL", fmt, 300) == render(CONTENT, "LABEL", fmt, 300)
    assert render(CONTENT, "LABEL", fmt, 300) != render(CONTENT, "PACKSLIP", fmt, 300)


def test_unknown_type_format_or_dpi_is_refused() -> None:
    with pytest.raises(ValueError, match="document type"):
        render(CONTENT, "RECEIPT", "PDF")
    with pytest.raises(ValueError, match="format"):
        render(CONTENT, "LABEL", "GIF")
    with pytest.raises(ValueError, match="dpi"):
        render(CONTENT, "LABEL", "PNG", 150)


def test_barcode_differs_per_code() -> None:
    assert fake_labels.bar_widths("1Z999") != fake_labels.bar_widths("1Z998")
