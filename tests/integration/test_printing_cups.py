"""app/fulfillment/printers.py through a real print system: CUPS with a cups-pdf queue
(its PDF read back with pdftotext), raw queues to a loopback "thermal printer", and raw
TCP straight to it (tests/helpers/cups.py)."""

from __future__ import annotations

import secrets
import socket
import subprocess
import time

import pytest

from app.amazon.spapi.shipping import LabelFormat
from app.demo.fake_labels import FakeRecipient, LabelContent, render
from app.fulfillment.printers import (
    JobState,
    Paper,
    PrinterNotFound,
    PrinterOffline,
    PrinterState,
    PrintSettings,
    cups_options,
    job_state,
    list_cups_printers,
    parse_printer_address,
    print_cups,
    printer_status,
    send_zpl_tcp,
    wait_for_job,
)
from app.fulfillment.zpl import zpl_text
from tests.helpers.cups import (
    ENV,
    Cups,
    ZplListener,
    pdf_images,
    pdf_page_size,
    pdf_text,
    tiny_pdf,
    tiny_png,
    wait_for_pdf,
    zpl_label,
)

# The fixtures, by name (tests/conftest.py does not list tests.helpers.cups as a plugin).
from tests.helpers.cups import cups as cups
from tests.helpers.cups import zpl_listener as zpl_listener

pytestmark = pytest.mark.integration


def new_order_id() -> str:
    """Unique per test, so one run's output never matches another's."""
    middle, last = secrets.randbelow(10**7), secrets.randbelow(10**7)
    return f"{secrets.randbelow(900) + 100}-{middle:07d}-{last:07d}"


def new_tracking() -> str:
    return f"1Z{secrets.token_hex(8).upper()}"


def test_a_pdf_label_prints_to_cups_pdf_and_its_text_reads_back(cups: Cups) -> None:
    order, tracking = new_order_id(), new_tracking()
    label = tiny_pdf("SHIP TO: Jane Tester", f"Order {order}", f"TRACKING {tracking}")
    since = time.time()
    job = print_cups(
        cups.pdf_queue,
        label,
        title=f"Order {order}",
        options=cups_options(PrintSettings(Paper.LABEL_4X6), LabelFormat.PDF),
    )
    assert job.startswith(f"{cups.pdf_queue}-")
    assert wait_for_job(job, timeout=60) is JobState.COMPLETED
    text = pdf_text(wait_for_pdf(since, f"Order {order}", timeout=60))
    assert f"TRACKING {tracking}" in text
    assert f"Order {order}" in text


def test_a_png_label_prints_whole_on_4x6_paper(cups: Cups) -> None:
    order = new_order_id()
    since = time.time()
    job = print_cups(
        cups.pdf_queue,
        tiny_png(812, 1218),
        title=f"Order {order}",
        options=cups_options(PrintSettings(Paper.LABEL_4X6), LabelFormat.PNG),
    )
    assert wait_for_job(job, timeout=60) is JobState.COMPLETED
    output = wait_for_pdf(since, f"Order {order}", timeout=60)
    assert pdf_page_size(output).startswith("288 x 432 pts")
    assert pdf_images(output) == [(812, 1218)]  # every pixel: not cropped, not resampled


def fake_label(fmt: LabelFormat) -> tuple[LabelContent, bytes]:
    """A label of the kind the fake SP-API sells (app/demo/fake_labels.py)."""
    content = LabelContent(
        order_id=new_order_id(),
        tracking_id=new_tracking(),
        carrier_name="UPS",
        service_name="Ground",
        recipient=FakeRecipient("Jane Tester", "1 Test Way", "Springfield", "IL", "62701", "US"),
        ship_from=("Warehouse", "2 Depot Rd"),
    )
    return content, render(content, "LABEL", fmt.value, dpi=203)


@pytest.mark.parametrize("fmt", [LabelFormat.PDF, LabelFormat.PNG])
def test_the_fake_sp_api_labels_print_through_cups(cups: Cups, fmt: LabelFormat) -> None:
    content, label = fake_label(fmt)
    since = time.time()
    job = print_cups(
        cups.pdf_queue,
        label,
        title=f"Order {content.order_id}",
        options=cups_options(PrintSettings(), fmt),
    )
    assert wait_for_job(job, timeout=60) is JobState.COMPLETED
    output = wait_for_pdf(since, f"Order {content.order_id}", timeout=60)
    assert pdf_page_size(output).startswith("288 x 432 pts")
    if fmt is LabelFormat.PDF:  # vector: the text stays text
        assert f"Tracking {content.tracking_id}" in pdf_text(output)
    else:
        assert pdf_images(output) == [(812, 1218)]


def test_the_fake_sp_api_zpl_label_reaches_the_printer_and_reads(cups: Cups) -> None:
    content, label = fake_label(LabelFormat.ZPL)
    print_cups(cups.raw_queue, label, title=f"Order {content.order_id}", raw=True)
    received = cups.raw_listener.next_job(timeout=60)
    assert received == label
    assert f"[barcode] {content.tracking_id}" in zpl_text(received)


def test_zpl_to_a_raw_cups_queue_arrives_byte_for_byte(cups: Cups) -> None:
    label = zpl_label(new_order_id(), new_tracking())
    job = print_cups(cups.raw_queue, label, title="Order raw", raw=True)
    assert cups.raw_listener.next_job(timeout=60) == label
    assert wait_for_job(job, timeout=60) is JobState.COMPLETED


def test_a_paused_or_refusing_queue_is_offline_until_resumed(cups: Cups) -> None:
    queue = cups.pausable_queue
    label = zpl_label(new_order_id(), new_tracking())
    subprocess.run(["cupsdisable", queue], env=ENV, check=True)
    try:
        assert printer_status(queue).state is PrinterState.STOPPED
        with pytest.raises(PrinterOffline, match=f"“{queue}” is off or paused"):
            print_cups(queue, label, title="Order paused", raw=True)
    finally:
        subprocess.run(["cupsenable", queue], env=ENV, check=True)
    subprocess.run(["cupsreject", queue], env=ENV, check=True)
    try:
        assert not printer_status(queue).accepting
        with pytest.raises(PrinterOffline):
            print_cups(queue, label, title="Order rejecting", raw=True)
    finally:
        subprocess.run(["cupsaccept", queue], env=ENV, check=True)
    # Nothing was queued while it was off; printed again now, it arrives once.
    print_cups(queue, label, title="Order resumed", raw=True)
    assert cups.raw_listener.next_job(timeout=60) == label
    assert cups.raw_listener.jobs.empty()


def test_an_unknown_queue_is_not_found(cups: Cups) -> None:
    with pytest.raises(PrinterNotFound, match="NoSuchQueue"):
        print_cups("NoSuchQueue", b"%PDF-1.4", title="Order 1")


def test_the_queues_are_listed_with_their_driver_kind(cups: Cups) -> None:
    found = {p.name: p for p in list_cups_printers()}
    assert found[cups.pdf_queue].raw is False
    assert found[cups.raw_queue].raw is True
    assert found[cups.raw_queue].ready


def test_a_held_job_is_held_and_a_cancelled_one_cancelled(cups: Cups) -> None:
    job = print_cups(
        cups.pdf_queue,
        tiny_pdf("held"),
        title="Order held",
        options={"job-hold-until": "indefinite"},
    )
    try:
        assert job_state(job) is JobState.HELD
    finally:
        subprocess.run(["cancel", job], env=ENV, check=True)
    assert wait_for_job(job, timeout=30) is JobState.CANCELLED


def test_send_zpl_tcp_delivers_the_label(zpl_listener: ZplListener) -> None:
    label = zpl_label(new_order_id(), new_tracking())
    send_zpl_tcp(*parse_printer_address(zpl_listener.address), label)
    received = zpl_listener.next_job()
    assert received == label
    assert "Jane Tester" in zpl_text(received)


def test_send_zpl_tcp_to_a_closed_port_is_offline() -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    with pytest.raises(PrinterOffline, match=f"127.0.0.1:{port}"):
        send_zpl_tcp("127.0.0.1", port, b"^XA^XZ", timeout=5)
