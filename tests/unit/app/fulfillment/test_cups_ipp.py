"""app/fulfillment/cups_ipp.py: the Get-Job-Attributes request and answer, and the HTTP
exchange with a loopback stand-in for cupsd (the real one:
tests/integration/test_printing_cups.py)."""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.fulfillment import cups_ipp
from app.fulfillment.cups_ipp import IppUnavailable, JobState, decode_job_state, encode_request


def _attr(tag: int, name: bytes, value: bytes) -> bytes:
    return struct.pack(">BH", tag, len(name)) + name + struct.pack(">H", len(value)) + value


def answer(state: int | None, status: int = 0) -> bytes:
    """An IPP answer as cupsd sends it: operation group, then the job group."""
    body = struct.pack(">BBHI", 2, 0, status, 1) + b"\x01"
    body += _attr(0x47, b"attributes-charset", b"utf-8")
    body += _attr(0x48, b"attributes-natural-language", b"en")
    if state is not None:
        body += b"\x02" + _attr(0x23, b"job-state", struct.pack(">i", state))
        body += _attr(0x44, b"", b"second-value-of-a-set")  # additional value: no name
    return body + b"\x03"


@pytest.mark.parametrize(
    ("number", "state"),
    [
        (3, JobState.PENDING),
        (4, JobState.HELD),
        (5, JobState.PROCESSING),
        (6, JobState.STOPPED),
        (7, JobState.CANCELLED),
        (8, JobState.ABORTED),
        (9, JobState.COMPLETED),
        (42, JobState.UNKNOWN),
    ],
)
def test_decode_job_state(number: int, state: JobState) -> None:
    assert decode_job_state(answer(number)) is state


def test_finished_states() -> None:
    assert {s for s in JobState if s.finished} == {
        JobState.CANCELLED,
        JobState.ABORTED,
        JobState.COMPLETED,
    }


def test_not_found_is_unknown_and_other_errors_or_garbage_are_unavailable() -> None:
    assert decode_job_state(answer(None, status=0x0406)) is JobState.UNKNOWN
    with pytest.raises(IppUnavailable, match="0x0401"):
        decode_job_state(answer(None, status=0x0401))
    with pytest.raises(IppUnavailable):
        decode_job_state(answer(None))
    with pytest.raises(IppUnavailable):
        decode_job_state(answer(9)[:-29])  # cut inside job-state
    with pytest.raises(IppUnavailable):
        decode_job_state(b"\x02")


def test_the_request_names_the_job_and_asks_for_job_state_only() -> None:
    request = encode_request(17, user="seller")
    assert request[:8] == struct.pack(">BBHI", 1, 1, 0x0009, 1)
    assert _attr(0x45, b"job-uri", b"ipp://localhost/jobs/17") in request
    assert _attr(0x44, b"requested-attributes", b"job-state") in request
    assert _attr(0x42, b"requesting-user-name", b"seller") in request
    assert request.endswith(b"\x03")


class _Cupsd(BaseHTTPRequestHandler):
    reply = answer(9)
    received: list[tuple[str, str, bytes]] = []  # noqa: RUF012 - per test, reset below

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/ipp")
        self.send_header("Content-Length", str(len(self.reply)))
        self.end_headers()
        self.wfile.write(self.reply)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def cupsd() -> Iterator[ThreadingHTTPServer]:
    _Cupsd.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Cupsd)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_get_job_state_posts_ipp_to_the_scheduler(cupsd: ThreadingHTTPServer) -> None:
    port = cupsd.server_address[1]
    assert cups_ipp.get_job_state(f"127.0.0.1:{port}", 5) is JobState.COMPLETED
    [(path, content_type, body)] = _Cupsd.received
    assert (path, content_type) == ("/jobs/", "application/ipp")
    assert b"ipp://localhost/jobs/5" in body


def test_get_job_state_unreachable_is_unavailable(cupsd: ThreadingHTTPServer) -> None:
    port = cupsd.server_address[1]
    cupsd.shutdown()
    cupsd.server_close()
    with pytest.raises(IppUnavailable):
        cups_ipp.get_job_state(f"127.0.0.1:{port}", 5, timeout=5)
    with pytest.raises(IppUnavailable):
        cups_ipp.get_job_state("/nonexistent/cups.sock", 5)
    with pytest.raises(IppUnavailable):
        cups_ipp.get_job_state("localhost:notaport", 5)
