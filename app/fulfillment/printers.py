"""Printer backends without Qt: CUPS by pipe (``lp``/``lpstat``) and raw TCP (port 9100).

Label documents are buyer PII (``app/amazon/spapi/shipping.py``): they reach a printer
from memory only.  :func:`print_cups` pipes the bytes to ``lp`` on its standard input,
never through a file, and the command line carries the queue, the caller's job title
(the order id only) and options, never the document; :func:`send_zpl_tcp` writes them to
the printer's socket.  Nothing here logs document bytes or a buyer's name.

CUPS is asked in the C locale (its messages are parsed); a job's state comes from the
scheduler itself by IPP Get-Job-Attributes (:mod:`app.fulfillment.cups_ipp`), because
``lpstat`` prints a cancelled job just like a completed one; ``lpstat``'s job lists are
the fallback.  Every function here blocks: call them off the GUI thread.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from app.amazon.spapi.shipping import LabelFormat
from app.errors import UserError
from app.fulfillment import cups_ipp
from app.fulfillment.cups_ipp import JobState

__all__ = [
    "DEFAULT_ZPL_PORT",
    "JobState",
    "Orientation",
    "Paper",
    "PrintFailed",
    "PrintSettings",
    "PrintSystemMissing",
    "PrinterAddressInvalid",
    "PrinterInfo",
    "PrinterKind",
    "PrinterNotFound",
    "PrinterOffline",
    "PrinterState",
    "cups_options",
    "job_state",
    "list_cups_printers",
    "lp_command",
    "parse_printer_address",
    "print_cups",
    "printer_status",
    "send_zpl_tcp",
    "wait_for_job",
]

log = logging.getLogger("muttefik.printing")

DEFAULT_ZPL_PORT = 9100
LPSTAT_TIMEOUT = 10.0

# CUPS destination names: printable, no space, "/", "#", "\" or quotes (cupsd's rule),
# and never starting with "-" (it would read as an option of lp).
_QUEUE_NAME = re.compile(r"[^\s/#\\'\"-][^\s/#\\'\"]{0,126}")
# An option's key and value go to lp as one "-o key=value" word: no spaces or quotes,
# which lp would split or interpret.
_OPTION_KEY = re.compile(r"[a-z0-9][a-z0-9-]*")
_OPTION_VALUE = re.compile(r"[^\s'\"\\]*")
_JOB_ID = re.compile(r"request id is (\S+-\d+)")


# --- errors --------------------------------------------------------------------------


class PrinterOffline(UserError):
    title = "Printer not ready"
    message = (
        "The printer is off, paused or not reachable. Turn it on or resume it, then print "
        "again. The label is kept; nothing is bought again."
    )


class PrinterNotFound(UserError):
    title = "Printer not found"
    message = (
        "That printer is not set up on this computer. Choose another printer, or add it "
        "in your printer settings, then print again. The label is kept; nothing is "
        "bought again."
    )


class PrintFailed(UserError):
    title = "Printing failed"
    message = (
        "The printing system did not take the label. Check the printer, then print "
        "again. The label is kept; nothing is bought again."
    )


class PrintSystemMissing(UserError):
    title = "Printing system not available"
    message = (
        "This computer's printing system (CUPS) is not installed or not running. Install "
        "or start it (your printer settings do), then print again. The label is kept; "
        "nothing is bought again."
    )


class PrinterAddressInvalid(UserError):
    title = "Check the printer's address"
    message = (
        "Enter the label printer's network address as a host name or IP address, "
        "optionally followed by a colon and a port, such as 192.168.1.50 or "
        "zebra.local:9100."
    )


# --- printers ------------------------------------------------------------------------


class PrinterKind(StrEnum):
    CUPS = "cups"  # a queue of this computer's printing system
    ZPL_TCP = "zpl_tcp"  # a thermal printer's raw port, by host and port


class PrinterState(StrEnum):
    IDLE = "idle"
    PRINTING = "printing"
    STOPPED = "stopped"  # disabled/paused in CUPS
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class PrinterInfo:
    name: str
    kind: PrinterKind
    state: PrinterState
    accepting: bool
    is_default: bool
    description: str
    #: A queue without a driver (no PPD): it passes bytes through, as ZPL needs.
    raw: bool

    @property
    def ready(self) -> bool:
        return self.accepting and self.state is not PrinterState.STOPPED


def _env() -> dict[str, str]:
    return {**os.environ, "LANG": "C", "LC_ALL": "C", "LANGUAGE": "C"}


def _lpstat(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``lpstat`` in the C locale; :class:`PrintSystemMissing` without it."""
    binary = shutil.which("lpstat")
    if binary is None:
        raise PrintSystemMissing(detail="lpstat not found on PATH")
    try:
        return subprocess.run(
            [binary, *args],
            capture_output=True,
            text=True,
            env=_env(),
            timeout=LPSTAT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise PrintSystemMissing(detail=f"lpstat {' '.join(args)} timed out") from e


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _parse_lpstat(out: str) -> list[PrinterInfo]:
    """Printers from ``lpstat -l -p -a -d`` (C locale), in the order listed."""
    states: dict[str, PrinterState] = {}
    descriptions: dict[str, str] = {}
    has_driver: set[str] = set()
    accepting: dict[str, bool] = {}
    default = ""
    current: str | None = None  # the printer whose "-l" detail lines follow
    for line in out.splitlines():
        if line.startswith("\t"):
            key, _, value = line.strip().partition(":")
            if current is not None and key == "Description":
                descriptions[current] = value.strip()
            elif current is not None and key == "Interface":
                has_driver.add(current)
            continue
        current = None
        words = line.split()
        if len(words) >= 3 and words[0] == "printer":
            current = words[1]
            if words[2] == "disabled":
                states[current] = PrinterState.STOPPED
            elif words[2] == "now":
                states[current] = PrinterState.PRINTING
            elif words[2:4] == ["is", "idle."]:
                states[current] = PrinterState.IDLE
            else:
                states[current] = PrinterState.UNKNOWN
        elif len(words) >= 3 and words[1:3] == ["accepting", "requests"]:
            accepting[words[0]] = True
        elif len(words) >= 4 and words[1:4] == ["not", "accepting", "requests"]:
            accepting[words[0]] = False
        elif line.startswith("system default destination:"):
            default = line.split(":", 1)[1].strip()
    return [
        PrinterInfo(
            name=name,
            kind=PrinterKind.CUPS,
            state=state,
            accepting=accepting.get(name, False),
            is_default=name == default,
            description=descriptions.get(name, "") or name,
            raw=name not in has_driver,
        )
        for name, state in states.items()
    ]


def list_cups_printers() -> list[PrinterInfo]:
    """This computer's CUPS queues; ``[]`` when CUPS is absent, not running, or has none."""
    try:
        done = _lpstat("-l", "-p", "-a", "-d")
    except PrintSystemMissing as e:
        log.info("no CUPS printers listed: %s", e.detail)
        return []
    if done.returncode != 0 and not done.stdout:
        log.info("no CUPS printers listed: %s", _first_line(done.stderr))
        return []
    return _parse_lpstat(done.stdout)


def printer_status(name: str) -> PrinterInfo:
    """One CUPS queue's state: :class:`PrinterNotFound` for an unknown name,
    :class:`PrintSystemMissing` when CUPS is absent or its scheduler is not running."""
    if not _QUEUE_NAME.fullmatch(name):
        raise PrinterNotFound(
            f"“{name}” is not a printer name this computer knows. Choose a printer from "
            "the list, then print again. The label is kept; nothing is bought again.",
            detail="not a valid CUPS destination name",
        )
    done = _lpstat("-l", "-p", name, "-a", name, "-d")
    found = [p for p in _parse_lpstat(done.stdout) if p.name == name]
    if found:
        return found[0]
    error = _first_line(done.stderr)
    if "Invalid destination name" in error or "No destinations added" in error:
        raise PrinterNotFound(
            f"The printer “{name}” is not set up on this computer. Choose another "
            "printer, or add it in your printer settings, then print again. The label is "
            "kept; nothing is bought again.",
            detail=f"lpstat exit {done.returncode}: {error}",
        )
    raise PrintSystemMissing(detail=f"lpstat exit {done.returncode}: {error}")


def _offline(name: str, info: PrinterInfo) -> PrinterOffline:
    why = "paused" if info.state is PrinterState.STOPPED else "not accepting jobs"
    return PrinterOffline(
        f"The printer “{name}” is off or paused. Turn it on or resume it in your printer "
        "settings, then print again. The label is kept; nothing is bought again.",
        detail=f"CUPS queue {name} is {why}",
    )


# --- printing through CUPS -----------------------------------------------------------


def lp_command(
    lp: str, queue: str, *, title: str, options: Mapping[str, str] = {}, raw: bool = False
) -> list[str]:
    """The argv that :func:`print_cups` runs: queue, title and options, never the data
    (``lp`` reads it from its standard input).  Raises ``ValueError`` for an option
    ``lp`` would split or misread, and for a title with control characters."""
    if not title or any(ord(c) < 32 or ord(c) == 127 for c in title):
        raise ValueError("a print job title is one line of printable text")
    argv = [lp, "-d", queue, "-t", title]
    for key, value in options.items():
        if not _OPTION_KEY.fullmatch(key) or not _OPTION_VALUE.fullmatch(value):
            raise ValueError(f"CUPS option {key!r} has a form lp cannot take")
        argv += ["-o", f"{key}={value}"]
    if raw:
        argv += ["-o", "raw"]
    return argv


def print_cups(
    queue: str,
    data: bytes,
    *,
    title: str,
    options: Mapping[str, str] = {},
    raw: bool = False,
    timeout: float = 30,
) -> str:
    """Pipe ``data`` to ``lp`` for ``queue``; returns the CUPS job id (``Queue-123``).

    ``title`` is the job's name as others see it in the queue: the order id only.
    ``raw`` sends the bytes unfiltered (ZPL to a thermal printer's queue).  The queue is
    checked first: unknown → :class:`PrinterNotFound`, paused or refusing jobs →
    :class:`PrinterOffline`; no ``lp`` → :class:`PrintSystemMissing`; ``lp`` failing →
    :class:`PrintFailed`.
    """
    info = printer_status(queue)
    if not info.ready:
        raise _offline(queue, info)
    lp = shutil.which("lp")
    if lp is None:
        raise PrintSystemMissing(detail="lp not found on PATH (cups-client)")
    argv = lp_command(lp, queue, title=title, options=options, raw=raw)
    try:
        done = subprocess.run(
            argv,
            input=data,
            capture_output=True,
            env=_env(),
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise PrintFailed(detail=f"lp did not finish within {timeout:g} s") from e
    stdout = done.stdout.decode("utf-8", "replace")
    stderr = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0:
        error = _first_line(stderr)
        if "not accepting jobs" in error:
            raise _offline(queue, info)
        raise PrintFailed(detail=f"lp exit {done.returncode}: {error}")
    match = _JOB_ID.search(stdout)
    if match is None:
        raise PrintFailed(detail=f"lp gave no job id: {_first_line(stdout)}")
    job_id = match.group(1)
    log.info("print job %s sent to %s (%d bytes%s)", job_id, queue, len(data), ", raw" * raw)
    return job_id


# --- job state -----------------------------------------------------------------------


def _job_state_from_lpstat(job_id: str) -> JobState:
    """The fallback: ``lpstat`` lists tell open from finished, nothing finer."""
    for which, state in (("not-completed", JobState.PENDING), ("completed", JobState.COMPLETED)):
        try:
            done = _lpstat("-l", "-W", which, "-o")
        except PrintSystemMissing:
            return JobState.UNKNOWN
        lines = done.stdout.splitlines()
        for i, line in enumerate(lines):
            if line.split()[:1] == [job_id]:
                detail = "\n".join(lines[i + 1 : i + 4])
                if state is JobState.PENDING and "job-hold-until" in detail:
                    return JobState.HELD
                if state is JobState.PENDING and "job-printing" in detail:
                    return JobState.PROCESSING
                return state
    return JobState.UNKNOWN


def job_state(job_id: str) -> JobState:
    """The state of the CUPS job ``job_id`` (``Queue-123``, as :func:`print_cups` returns);
    :attr:`JobState.UNKNOWN` when the scheduler does not know it (any more)."""
    number = job_id.rsplit("-", 1)[-1]
    if not number.isdigit():
        return JobState.UNKNOWN
    try:
        server = _first_line(_lpstat("-H").stdout)
    except PrintSystemMissing:
        return JobState.UNKNOWN
    try:
        return cups_ipp.get_job_state(server, int(number), timeout=LPSTAT_TIMEOUT)
    except cups_ipp.IppUnavailable as e:
        log.info("job state of %s by lpstat (IPP: %s)", job_id, e)
        return _job_state_from_lpstat(job_id)


def wait_for_job(job_id: str, *, timeout: float, cancel: threading.Event | None = None) -> JobState:
    """Poll :func:`job_state` with a short back-off until the job has finished
    (completed, cancelled or aborted), ``cancel`` is set, or ``timeout`` seconds passed;
    returns the last state seen (the caller decides what to tell the seller)."""
    cancel = cancel or threading.Event()
    deadline = time.monotonic() + timeout
    delay = 0.1
    while True:
        state = job_state(job_id)
        left = deadline - time.monotonic()
        if state.finished or left <= 0 or cancel.is_set():
            return state
        if cancel.wait(min(delay, left)):
            return state
        delay = min(delay * 1.5, 1.0)


# --- raw TCP (port 9100) -------------------------------------------------------------

_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    name = host.removesuffix(".")
    return 0 < len(name) <= 253 and all(_HOST_LABEL.fullmatch(p) for p in name.split("."))


def parse_printer_address(text: str) -> tuple[str, int]:
    """``"host[:port]"`` (IPv6 as ``[addr]:port``) → ``(host, port)``, port 9100 by
    default; :class:`PrinterAddressInvalid` in plain words otherwise."""
    text = text.strip()
    host, port_text = text, ""
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            host = ""
        port_text = rest[1:]
        if not isinstance(_ip_or_none(host), ipaddress.IPv6Address):
            host = ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    elif text.count(":") > 1 and isinstance(_ip_or_none(text), ipaddress.IPv6Address):
        host = text  # a bare IPv6 address: no port
    if not host or not _valid_host(host):
        raise PrinterAddressInvalid(detail="host part missing or not a host name/IP")
    port = DEFAULT_ZPL_PORT
    if port_text or text.endswith(":"):
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise PrinterAddressInvalid(
                f"“{port_text}” is not a port number. A port is a number from 1 to 65535; "
                "label printers usually listen on 9100.",
                detail="port not a number in 1..65535",
            )
        port = int(port_text)
    return host, port


def _ip_or_none(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def send_zpl_tcp(host: str, port: int, data: bytes, *, timeout: float = 10.0) -> None:
    """Send ``data`` to the printer's raw port: connect, send all, close our side
    (``SHUT_WR``: the printer sees the end of the job), close.  Refused, timed out or
    unreachable → :class:`PrinterOffline` naming ``host:port`` (an address, not PII)."""
    where = _where(host, port)
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)
    except socket.gaierror as e:
        raise PrinterOffline(
            f"The printer name “{host}” could not be found on the network. Check the "
            "address in the printer's settings, then print again. The label is kept; "
            "nothing is bought again.",
            detail=f"resolving {host}: {e.strerror}",
        ) from e
    except (TimeoutError, OSError) as e:
        raise PrinterOffline(
            f"The label printer at {where} did not answer. Check that it is on and "
            "connected to the network and that the address is right, then print again. "
            "The label is kept; nothing is bought again.",
            detail=f"sending to {where}: {type(e).__name__}: {e.strerror or e}",
        ) from e
    log.info("label sent to %s (%d bytes)", where, len(data))


# --- print settings ------------------------------------------------------------------


class Paper(StrEnum):
    LABEL_4X6 = "4x6"  # a 4x6 in label roll or sheet
    A6 = "A6"
    LETTER_2UP = "Letter-2up"  # two labels on a Letter sheet
    A4_2UP = "A4-2up"


class Orientation(StrEnum):
    AUTO = "auto"
    PORTRAIT = "portrait"
    LANDSCAPE = "landscape"


_MEDIA = {
    Paper.LABEL_4X6: "Custom.4x6in",
    Paper.A6: "A6",
    Paper.LETTER_2UP: "Letter",
    Paper.A4_2UP: "A4",
}


@dataclass(frozen=True)
class PrintSettings:
    """A printer's preset (kept per printer by the caller, as JSON)."""

    paper: Paper = Paper.LABEL_4X6
    orientation: Orientation = Orientation.AUTO
    scale_to_fit: bool = False
    dpi: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "paper", Paper(self.paper))
        object.__setattr__(self, "orientation", Orientation(self.orientation))
        if self.dpi is not None and (
            isinstance(self.dpi, bool) or not isinstance(self.dpi, int) or self.dpi <= 0
        ):
            raise ValueError(f"dpi must be a positive whole number, not {self.dpi!r}")

    @property
    def two_up(self) -> bool:
        return self.paper in (Paper.LETTER_2UP, Paper.A4_2UP)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> PrintSettings:
        """Raises ``ValueError`` for anything that is not a preset this version writes."""
        data: Any = json.loads(text)
        if not isinstance(data, dict) or set(data) - {
            "paper",
            "orientation",
            "scale_to_fit",
            "dpi",
        }:
            raise ValueError("not a print preset")
        if not isinstance(data.get("scale_to_fit", False), bool):
            raise ValueError("scale_to_fit must be true or false")
        return cls(**data)


def cups_options(settings: PrintSettings, fmt: LabelFormat) -> dict[str, str]:
    """CUPS job options for a label of format ``fmt`` printed with ``settings``.

    PDF and PNG go to CUPS as Amazon's own bytes (a PDF stays vector: sharp, text stays
    text); CUPS places them on the paper by these options.  ZPL is sent raw, which no
    option applies to: ``{}``.
    """
    if fmt is LabelFormat.ZPL:
        return {}
    options = {"media": _MEDIA[settings.paper]}
    if settings.two_up:
        options["number-up"] = "2"
    if settings.orientation is Orientation.PORTRAIT:
        options["orientation-requested"] = "3"
    elif settings.orientation is Orientation.LANDSCAPE:
        options["orientation-requested"] = "4"
    # A PNG's own resolution is whatever its file says (often none, or 96 dpi: CUPS then
    # crops a 203 dpi label to a quarter), so a picture label is always fitted to the
    # paper; a 4x6 label on 4x6 paper is then its true size.
    if settings.scale_to_fit or fmt is LabelFormat.PNG:
        options["fit-to-page"] = "true"
        options["print-scaling"] = "fit"
    else:
        # A label prints at its true size (a scaled barcode may not scan).
        options["print-scaling"] = "none"
    if settings.dpi is not None:
        options["printer-resolution"] = f"{settings.dpi}dpi"
    return options
