"""ui/printing.py through a real print system: a PDF label from memory to the cups-pdf
queue comes out as a PDF whose text holds the tracking number; a PNG label made by Qt
comes out at its true size (4x6 in at its dpi); the packing slip Qt draws into memory
comes out with the order id; ZPL reaches a raw queue and a TCP printer byte for byte;
a label for a printer that cannot take it is refused before anything is sent; and the
buy dialog's whole path: rates and a purchase over HTTP against the fake SP-API, the
preview at true size, Print to cups-pdf, bought once."""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize, Qt
from PySide6.QtGui import QFont, QImage, QPainter

from app.amazon.models import Credentials, Region, StoreDraft
from app.amazon.spapi.shipping import DocumentType, LabelDocument, LabelFormat
from app.demo.fake_spapi import FakeSpApi
from app.fulfillment.models import ShippingDefaults
from app.fulfillment.printers import Paper, PrinterKind, PrintSettings
from app.services import Core, Services, build_services
from tests.helpers.cups import Cups, ZplListener, pdf_text, tiny_pdf, wait_for_pdf, zpl_label
from tests.helpers.labels import BOX, SHIP_FROM, assert_nothing_kept, every_value
from tests.helpers.operators import put_operator
from tests.helpers.orders import ADMIN
from tests.helpers.windows import windows_go_before_the_vault  # noqa: F401
from tests.support import service_missing
from ui.dialogs.label_buy import BuyLabelDialog
from ui.dialogs.label_preview import LabelPreviewDialog, screen_dpi
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


@pytest.fixture
def fake_shop(core: Core) -> Iterator[tuple[Services, FakeSpApi, str]]:
    """Store 1 on the fake SP-API over HTTP (the real Shipping client), its orders synced,
    a ship-from address and a default box; an unshipped merchant-fulfilled order."""
    from app.amazon.spapi import clear_token_cache

    clear_token_cache()
    put_operator(core.vault, ADMIN)
    with FakeSpApi(orders=40, seed=5, speed=None, settle_seconds=0) as server:
        server.add_orders(12)
        services = build_services(core)
        draft = StoreDraft(
            "Main", Region.NA, ("ATVPDKIKX0DER",), server.client_id, server.base_url, server.lwa_url
        )
        services.stores.create_store(
            ADMIN, draft, Credentials(server.client_secret, server.refresh_token)
        )
        services.sync.sync_store(ADMIN, 1, threading.Event())
        services.labels.save_defaults(ADMIN, ShippingDefaults(store_id=1, ship_from=SHIP_FROM))
        services.labels.save_preset(ADMIN, BOX)
        stored = set(
            core.vault.call(lambda c: [r[0] for r in c.execute("SELECT order_id FROM orders")])
        )
        eligible = [o for o in server.shipping.eligible_order_ids() if o in stored]
        assert eligible, "the fake has no unshipped merchant-fulfilled order"
        yield services, server, eligible[0]
    clear_token_cache()


def test_the_buy_dialog_buys_over_http_and_the_preview_prints_to_cups(
    qtbot: Any,
    cups: Cups,
    fake_shop: tuple[Services, FakeSpApi, str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The demo's path: rates and a purchase through the real Shipping client against
    the fake SP-API, the preview at true size, Print to the cups-pdf queue (the tracking
    number read back), bought once."""
    from ui import ops

    ops.install()
    services, server, order_id = fake_shop
    tmp_temp = tmp_path / "tmp"  # everything written to the temp folder lands here
    tmp_temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_temp))
    monkeypatch.setattr(tempfile, "tempdir", None)
    caplog.set_level(logging.DEBUG, logger="muttefik")
    dialog = BuyLabelDialog(services, ADMIN, order_id)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.loaded is not None, timeout=10000)
    dialog.rates_button.click()
    qtbot.waitUntil(lambda: dialog.quote is not None and not dialog.busy, timeout=30000)
    assert dialog.rates.rowCount() > 1 and dialog.buy_button.text().startswith("Buy for ")
    with qtbot.waitSignal(dialog.label_bought, timeout=30000) as bought:
        dialog.buy_button.click()
    shipment = bought.args[0].shipment
    assert shipment.tracking_id and [s.order_id for s in server.shipping.shipments] == [order_id]
    preview = dialog.preview
    assert isinstance(preview, LabelPreviewDialog)
    qtbot.addWidget(preview)
    dpi = screen_dpi(preview)
    assert preview.display_size() == QSize(round(4 * dpi), round(6 * dpi))
    qtbot.waitUntil(lambda: preview.printer.findData(cups.pdf_queue) >= 0, timeout=20000)
    preview.printer.setCurrentIndex(preview.printer.findData(cups.pdf_queue))
    since = time.time()
    with qtbot.waitSignal(preview.label_printed, timeout=30000):
        preview.print_button.click()
    assert shipment.tracking_id in pdf_text(wait_for_pdf(since, f"Order {order_id}"))
    assert len(server.shipping.shipments) == 1
    # Store-nothing on the app's path too: previewed and printed from memory only.
    recipient = server.recipient(order_id).strings()
    assert recipient[0].encode() in preview.document.data  # the label does carry it
    dump = services.core.vault.call(every_value)
    log_text = "\n".join(r.getMessage() for r in caplog.records)
    assert_nothing_kept(
        [services.core.profile.root, tmp_temp],
        recipient,
        label=preview.document.data,
        data_file_text=dump,
        log_text=log_text,
    )
