"""A CUPS job's state by IPP Get-Job-Attributes (RFC 8011), with the standard library.

``lpstat`` lists a cancelled or aborted job among the completed ones and prints no state,
so :func:`app.fulfillment.printers.job_state` asks the scheduler (the address
``lpstat -H`` names: its local socket, or host:port) for the one attribute ``job-state``.
The request carries a job number and the user name, nothing of the document.
"""

from __future__ import annotations

import getpass
import http.client
import socket
import struct
from enum import StrEnum

GET_JOB_ATTRIBUTES = 0x0009
_NOT_FOUND = 0x0406  # client-error-not-found
_TAG_OPERATION, _TAG_END = 0x01, 0x03
_ENUM, _KEYWORD, _URI, _CHARSET, _LANGUAGE, _NAME = 0x23, 0x44, 0x45, 0x47, 0x48, 0x42


class JobState(StrEnum):
    PENDING = "pending"
    HELD = "held"
    PROCESSING = "processing"
    STOPPED = "stopped"
    CANCELLED = "cancelled"
    ABORTED = "aborted"
    COMPLETED = "completed"
    UNKNOWN = "unknown"

    @property
    def finished(self) -> bool:
        """The job is over: it will not print (any more) without a new job."""
        return self in (JobState.CANCELLED, JobState.ABORTED, JobState.COMPLETED)


_BY_NUMBER = {
    3: JobState.PENDING,
    4: JobState.HELD,
    5: JobState.PROCESSING,
    6: JobState.STOPPED,
    7: JobState.CANCELLED,
    8: JobState.ABORTED,
    9: JobState.COMPLETED,
}


class IppUnavailable(Exception):
    """The scheduler could not be asked (not reachable, refused, an unreadable answer)."""


def _attribute(tag: int, name: str, value: bytes) -> bytes:
    encoded = name.encode("ascii")
    return struct.pack(">BH", tag, len(encoded)) + encoded + struct.pack(">H", len(value)) + value


def encode_request(job_id: int, *, user: str, request_id: int = 1) -> bytes:
    """A Get-Job-Attributes request for ``job-state`` of job ``job_id``."""
    return b"".join(
        [
            struct.pack(">BBHI", 1, 1, GET_JOB_ATTRIBUTES, request_id),
            bytes([_TAG_OPERATION]),
            _attribute(_CHARSET, "attributes-charset", b"utf-8"),
            _attribute(_LANGUAGE, "attributes-natural-language", b"en"),
            _attribute(_URI, "job-uri", f"ipp://localhost/jobs/{job_id}".encode()),
            _attribute(_NAME, "requesting-user-name", user.encode("utf-8")[:255]),
            _attribute(_KEYWORD, "requested-attributes", b"job-state"),
            bytes([_TAG_END]),
        ]
    )


def decode_job_state(body: bytes) -> JobState:
    """The ``job-state`` of a Get-Job-Attributes answer; UNKNOWN for "not found"."""
    try:
        _version, status, _request = struct.unpack_from(">HHI", body, 0)
        if status == _NOT_FOUND:
            return JobState.UNKNOWN
        if status > 0x00FF:
            raise IppUnavailable(f"IPP status 0x{status:04x}")
        pos = 8
        while pos < len(body):
            tag = body[pos]
            pos += 1
            if tag == _TAG_END:
                break
            if tag < 0x10:  # the start of another attribute group
                continue
            (name_length,) = struct.unpack_from(">H", body, pos)
            name = body[pos + 2 : pos + 2 + name_length]
            pos += 2 + name_length
            (value_length,) = struct.unpack_from(">H", body, pos)
            value = body[pos + 2 : pos + 2 + value_length]
            pos += 2 + value_length
            if name == b"job-state" and tag == _ENUM and len(value) == 4:
                return _BY_NUMBER.get(struct.unpack(">i", value)[0], JobState.UNKNOWN)
    except struct.error as e:
        raise IppUnavailable("truncated IPP answer") from e
    raise IppUnavailable("IPP answer without job-state")


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def _connection(server: str, timeout: float) -> http.client.HTTPConnection:
    if server.startswith("/"):
        return _UnixConnection(server, timeout)
    host, port = server, 631
    if server.startswith("["):
        host, _, rest = server[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else 631
    elif server.count(":") == 1:
        host, _, text = server.partition(":")
        port = int(text)
    return http.client.HTTPConnection(host, port, timeout=timeout)


def get_job_state(server: str, job_id: int, *, timeout: float = 10.0) -> JobState:
    """Ask the CUPS scheduler at ``server`` (a socket path or ``host[:port]``, as
    ``lpstat -H`` prints it) for job ``job_id``'s state; :class:`IppUnavailable` when it
    cannot be asked."""
    try:
        conn = _connection(server, timeout)
    except ValueError as e:
        raise IppUnavailable(f"server address {server!r} not understood") from e
    try:
        conn.request(
            "POST",
            "/jobs/",
            body=encode_request(job_id, user=getpass.getuser()),
            headers={"Content-Type": "application/ipp"},
        )
        answer = conn.getresponse()
        body = answer.read()
    except (OSError, http.client.HTTPException) as e:
        raise IppUnavailable(f"{type(e).__name__}: {e}") from e
    finally:
        conn.close()
    if answer.status != 200:
        raise IppUnavailable(f"HTTP {answer.status}")
    return decode_job_state(body)
