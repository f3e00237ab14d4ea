"""A real print system (CUPS) for integration tests, a raw TCP "printer", and test labels.

After the recipe in ``../shared/reference/test-services.md``: the ``cups`` session
fixture makes sure a scheduler runs (it starts ``cupsd`` when it is root and none runs:
CI's container has no init system; a developer's running CUPS is used as it is) and that
the queues exist:

- ``LabelPDF``: cups-pdf, whose PDFs land in the folder its ``Out`` setting names
  (``${HOME}/PDF`` of the job's user: /root/PDF for root); :func:`wait_for_pdf` waits for
  one.  Shared with other sessions and left in place.
- a raw queue (no driver: ``lpadmin -m raw``, deprecated by CUPS 2.4 with a warning, but
  it works) to ``socket://`` a :class:`ZplListener` of the session;
- a second raw queue the tests may pause (``cupsdisable``) without touching the others.

The last two are named per fixture instance (``MuttefikRaw<port>``) and deleted at its
end, so two test runs never point each other's queue somewhere else.  When CUPS or cups-pdf is
missing, :func:`tests.support.service_missing`.

Fixtures (a test module imports them, or a conftest lists this module in
``pytest_plugins``): ``cups`` (session) and ``zpl_listener`` (a fresh raw "printer"
per test).
"""

from __future__ import annotations

import os
import pwd
import queue
import re
import shutil
import socket
import struct
import subprocess
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import service_missing

HOST = "127.0.0.1"
PDF_QUEUE = "LabelPDF"
CUPS_PDF_PPD = "lsb/usr/cups-pdf/CUPS-PDF_opt.ppd"
CUPS_PDF_CONF = Path("/etc/cups/cups-pdf.conf")
STARTUP_SECONDS = 20.0
ENV = {**os.environ, "LANG": "C", "LC_ALL": "C"}


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, env=ENV, check=check, timeout=30)


class ZplListener:
    """A thermal printer's raw port on loopback: each connection is one job, whose bytes
    (read to the end) are put on :attr:`jobs`; :meth:`next_job` awaits the next one."""

    def __init__(self) -> None:
        self._server = socket.create_server((HOST, 0))
        self.port: int = self._server.getsockname()[1]
        self.jobs: queue.Queue[bytes] = queue.Queue()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="zpl-listener", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def _serve(self) -> None:
        while True:
            conn, _ = self._server.accept()
            if self._stopping.is_set():
                conn.close()
                return
            with conn:
                conn.settimeout(30)
                chunks = []
                try:
                    while chunk := conn.recv(65536):
                        chunks.append(chunk)
                except OSError:
                    pass
            self.jobs.put(b"".join(chunks))

    def next_job(self, timeout: float = 30.0) -> bytes:
        """The bytes of the next job received (fails the test after ``timeout``)."""
        try:
            return self.jobs.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no job reached the listener on {self.address} in {timeout:g} s")

    def close(self) -> None:
        self._stopping.set()
        with socket.create_connection((HOST, self.port), timeout=5):
            pass  # wakes accept(), which sees the stop flag
        self._thread.join(timeout=10)
        self._server.close()


@dataclass(frozen=True)
class Cups:
    pdf_queue: str  # cups-pdf: what is printed there becomes a PDF in pdf_dir
    pdf_dir: Path
    raw_queue: str  # raw (no driver) to raw_listener
    raw_listener: ZplListener
    pausable_queue: str  # raw, for tests that pause and resume a queue


def scheduler_running() -> bool:
    return (
        shutil.which("lpstat") is not None
        and "is running" in _run("lpstat", "-r", check=False).stdout
    )


def _start_scheduler() -> None:
    cupsd = shutil.which("cupsd") or (
        "/usr/sbin/cupsd" if os.path.exists("/usr/sbin/cupsd") else None
    )
    if cupsd is None or shutil.which("lpstat") is None:
        service_missing("CUPS not installed (apt-get install cups cups-client cups-bsd)")
    if os.geteuid() != 0:
        service_missing("the CUPS scheduler is not running and only root may start it here")
    assert cupsd is not None
    # Its socket's folder, which an init system would make (a container has none).
    Path("/run/cups").mkdir(mode=0o755, exist_ok=True)
    # cupsd daemonizes; its output goes nowhere so no pipe of ours stays open.
    started = subprocess.run(
        [cupsd],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
        timeout=30,
    )
    if started.returncode != 0:
        pytest.fail(f"cupsd exited with {started.returncode}: see /var/log/cups/error_log")
    deadline = time.monotonic() + STARTUP_SECONDS
    while not scheduler_running():  # no event to await: cupsd says nothing when ready
        if time.monotonic() > deadline:
            pytest.fail(f"cupsd started but lpstat -r did not see it in {STARTUP_SECONDS:g} s")
        time.sleep(0.1)


def _queue_exists(name: str) -> bool:
    return _run("lpstat", "-p", name, check=False).returncode == 0


def _ensure_pdf_queue() -> None:
    if not _queue_exists(PDF_QUEUE):
        if _run("lpinfo", "-m", check=False).stdout.find(CUPS_PDF_PPD) < 0:
            service_missing("cups-pdf not installed (apt-get install printer-driver-cups-pdf)")
        _run("lpadmin", "-p", PDF_QUEUE, "-E", "-v", "cups-pdf:/", "-m", CUPS_PDF_PPD)
    # A run that died mid-test may have left it paused.
    _run("cupsenable", PDF_QUEUE)
    _run("cupsaccept", PDF_QUEUE)


def add_raw_queue(name: str, port: int) -> None:
    """A raw queue (no driver) sending its jobs to 127.0.0.1:``port``."""
    done = _run(
        "lpadmin", "-p", name, "-E", "-v", f"socket://{HOST}:{port}", "-m", "raw", check=False
    )
    if done.returncode != 0:  # a CUPS without raw queues: none here yet (2.4 only warns)
        pytest.fail(f"lpadmin refused the raw queue {name}: {done.stderr.strip()}")


def cups_pdf_dir(user: str = "root") -> Path:
    """Where cups-pdf writes the PDFs of ``user``'s jobs (its ``Out`` setting)."""
    out = "${HOME}/PDF"
    if CUPS_PDF_CONF.exists():
        for line in CUPS_PDF_CONF.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("Out ") or line.startswith("Out\t"):
                out = line.split(None, 1)[1].strip()
    home = pwd.getpwnam(user).pw_dir
    return Path(out.replace("${HOME}", home).replace("${USER}", user))


def wait_for_pdf(
    since: float, title_part: str, timeout: float = 60.0, *, folder: Path | None = None
) -> Path:
    """The PDF cups-pdf wrote after ``since`` (a ``time.time()``) for a job whose title
    contains ``title_part`` (cups-pdf turns spaces into "_" in the file name), once it is
    complete (ends with %%EOF).  Polls the folder: cups-pdf tells no one."""
    folder = folder or cups_pdf_dir()
    wanted = re.sub(r"\s", "_", title_part)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if folder.is_dir():
            for path in sorted(folder.glob("*.pdf")):
                try:
                    fresh = wanted in path.name and path.stat().st_mtime >= since - 1
                    if fresh and path.read_bytes().rstrip().endswith(b"%%EOF"):
                        return path
                except FileNotFoundError:
                    continue
        time.sleep(0.1)
    pytest.fail(f"no PDF for {title_part!r} appeared in {folder} within {timeout:g} s")


def pdf_text(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        service_missing("pdftotext not installed (apt-get install poppler-utils)")
    return _run("pdftotext", str(path), "-").stdout


def tiny_pdf(*lines: str, width: int = 288, height: int = 432) -> bytes:
    """A valid one-page PDF (4x6 in by default) with ``lines`` as real text (Helvetica),
    so pdftotext reads them back."""
    safe = [line.replace("(", "[").replace(")", "]") for line in lines]
    text = " ".join(
        f"BT /F1 14 Tf 18 {height - 36 - 20 * i} Td ({line}) Tj ET" for i, line in enumerate(safe)
    ).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>" % (width, height),
        b"<< /Length %d >>\nstream\n%b\nendstream" % (len(text), text),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%b\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def tiny_png(width: int = 812, height: int = 1218) -> bytes:
    """A grey-scale PNG (a 4x6 in label at 203 dpi by default) with a black frame and no
    resolution chunk, as some carriers' labels come."""
    white, black = b"\xff", b"\x00"
    edge = b"\x00" + black * width
    middle = b"\x00" + black + white * (width - 2) + black
    raw = edge + middle * (height - 2) + edge

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def pdf_images(path: Path) -> list[tuple[int, int]]:
    """(width, height) in pixels of each image in the PDF (pdfimages -list)."""
    if shutil.which("pdfimages") is None:
        service_missing("pdfimages not installed (apt-get install poppler-utils)")
    out = _run("pdfimages", "-list", str(path)).stdout.splitlines()[2:]
    return [(int(line.split()[3]), int(line.split()[4])) for line in out if line.strip()]


def pdf_page_size(path: Path) -> str:
    """pdfinfo's "Page size" value, e.g. "288 x 432 pts"."""
    for line in _run("pdfinfo", str(path)).stdout.splitlines():
        if line.startswith("Page size:"):
            return line.split(":", 1)[1].strip()
    return ""


def zpl_label(order_id: str, tracking: str) -> bytes:
    """A small ZPL label like a carrier's (fake recipient), ^CI28 UTF-8."""
    return (
        "^XA^CI28\n^FX test label\n"
        "^CF0,30^FO40,40^FDSHIP TO:^FS\n"
        "^FO40,80^FB700,3,0,L^FDJane Tester\\&1 Test Way\\&Springfield IL 62701^FS\n"
        f"^FO40,300^FH^FDOrder_3A {order_id}^FS\n"
        f"^BY3^FO40,400^BCN,200,Y,N,N^FD{tracking}^FS\n"
        "^XZ\n"
    ).encode()


@pytest.fixture(scope="session")
def cups() -> Iterator[Cups]:
    if not scheduler_running():
        _start_scheduler()
    _ensure_pdf_queue()
    listener = ZplListener()
    # Named by the listener's port: unique while it listens, even when two test modules
    # each import this fixture (pytest then makes one instance per module).
    raw_queue, pausable = f"MuttefikRaw{listener.port}", f"MuttefikPaused{listener.port}"
    add_raw_queue(raw_queue, listener.port)
    add_raw_queue(pausable, listener.port)
    try:
        yield Cups(PDF_QUEUE, cups_pdf_dir(), raw_queue, listener, pausable)
    finally:
        for name in (raw_queue, pausable):
            _run("cancel", "-a", name, check=False)
            _run("lpadmin", "-x", name, check=False)
        listener.close()


@pytest.fixture
def zpl_listener() -> Iterator[ZplListener]:
    listener = ZplListener()
    yield listener
    listener.close()
