"""app/fulfillment/zpl.py: the text of ZPL labels for the preview."""

from __future__ import annotations

import pytest

from app.fulfillment.zpl import looks_like_zpl, zpl_text
from tests.helpers.cups import tiny_pdf, zpl_label

# Labelary's well-known example label, shortened (the shape carriers' labels have).
SHIPPING = b"""^XA
^FX Top section with logo, name and address.
^CF0,60
^FO50,50^GB100,100,100^FS
^FO220,50^FDIntershipping, Inc.^FS
^CF0,30
^FO220,115^FD1000 Shipping Lane^FS
^FO50,250^GB700,3,3^FS
^FX Second section with recipient address and permit information.
^CFA,30
^FO50,300^FDJohn Doe^FS
^FO50,340^FD100 Main Street^FS
^FX Third section with bar code.
^BY5,2,270
^FO100,550^BC^FD12345678^FS
^XZ"""


def test_fields_in_order_comments_and_graphics_left_out() -> None:
    assert zpl_text(SHIPPING) == [
        "Intershipping, Inc.",
        "1000 Shipping Lane",
        "John Doe",
        "100 Main Street",
        "[barcode] 12345678",
    ]


def test_hex_escapes_are_decoded_with_the_fh_indicator() -> None:
    label = "^XA^CI28^FO1,1^FH^FDM_C3_BCller_20GmbH^FS^FO1,2^FH\\^FDA\\5EB^FS^FO1,3^FDa_20b^FS^XZ"
    # ^FH applies to its own field only; the third keeps its underscore.
    assert zpl_text(label.encode()) == ["Müller GmbH", "A^B", "a_20b"]


def test_utf8_and_default_code_page_text() -> None:
    assert zpl_text("^XA^CI28^FO1,1^FDŁódź 90-001^FS^XZ".encode()) == ["Łódź 90-001"]
    assert zpl_text("^XA^FO1,1^FDStraße^FS^XZ".encode("cp1252")) == ["Straße"]


def test_barcodes_are_marked_and_qr_mode_prefix_dropped() -> None:
    label = (
        b"^XA^BY3^FO1,1^BCN,100,Y,N,N^FD1Z999AA10123456784^FS"
        b"^FO1,2^BQN,2,6^FDQA,112-0000000-0000001^FS"
        b"^FO1,3^BXN,5,200^FDMAXI DATA^FS^FO1,4^FDplain after barcodes^FS^XZ"
    )
    assert zpl_text(label) == [
        "[barcode] 1Z999AA10123456784",
        "[barcode] 112-0000000-0000001",
        "[barcode] MAXI DATA",
        "plain after barcodes",
    ]


def test_field_blocks_split_into_lines_and_line_breaks_ignored() -> None:
    label = zpl_label("112-1111111-2222222", "TBA123456789000")
    assert zpl_text(label) == [
        "SHIP TO:",
        "Jane Tester",
        "1 Test Way",
        "Springfield IL 62701",
        "Order: 112-1111111-2222222",
        "[barcode] TBA123456789000",
    ]
    wrapped = b"^XA^FO1,1^FDline\r\n continues^FS\r\n^XZ"
    assert zpl_text(wrapped) == ["line continues"]


def test_tilde_commands_and_empty_fields_are_skipped() -> None:
    label = b"~TA000~JSN^XA^FO1,1^FD^FS^FO1,2^FD   ^FS^FO1,3^FDkept^FS^XZ~JUS"
    assert zpl_text(label) == ["kept"]


def test_multiple_labels_in_one_document() -> None:
    assert zpl_text(b"^XA^FO1,1^FDone^FS^XZ\n^XA^FO1,1^FDtwo^FS^XZ") == ["one", "two"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (SHIPPING, True),
        (b"\xef\xbb\xbf  ^xa^fo1,1^fdlower case^fs^xz", True),
        (b"~DGR:LOGO.GRF,4,1,FFFF\n^XA^XGR:LOGO.GRF^FS^XZ", True),
        (tiny_pdf("^XA ^XZ"), False),
        (b"\x89PNG\r\n\x1a\n^XA^XZ", False),
        (b"^XZ then ^XA", False),
        (b"plain text", False),
        (b"", False),
    ],
)
def test_looks_like_zpl(data: bytes, expected: bool) -> None:
    assert looks_like_zpl(data) is expected
