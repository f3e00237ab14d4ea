"""app/fulfillment/printers.py against fake ``lp``/``lpstat`` programs on PATH (what they
print is CUPS 2.4's own C-locale output) and loopback sockets.  The real CUPS is
tests/integration/test_printing_cups.py."""

from __future__ import annotations

import socket
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.amazon.spapi.shipping import LabelFormat
from app.fulfillment import printers
from app.fulfillment.printers import (
    JobState,
    Orientation,
    Paper,
    PrinterAddressInvalid,
    PrinterKind,
    PrinterNotFound,
    PrinterOffline,
    PrinterState,
    PrintFailed,
    PrintSettings,
    PrintSystemMissing,
    cups_options,
    list_cups_printers,
    lp_command,
    parse_printer_address,
    print_cups,
    printer_status,
    send_zpl_tcp,
    wait_for_job,
)
from tests.helpers.cups import ZplListener

LPSTAT_ALL = """\
printer LabelPDF is idle.  enabled since Tue Dec  1 00:35:07 2026
\tForm mounted:
\tContent types: any
\tDescription: Label printer (PDF)
\tAlerts: none
\tInterface: /etc/cups/ppd/LabelPDF.ppd
\tOn fault: no alert
printer Zebra now printing Zebra-7.  enabled since Tue Dec  1 00:35:35 2026
\tDescription: Zebra GK420d
\tConnection: direct
printer Office disabled since Tue Dec  1 00:35:35 2026 -
\tPaused
\tDescription: Office
\tInterface: /etc/cups/ppd/Office.ppd
LabelPDF accepting requests since Tue Dec  1 00:35:07 2026
Zebra accepting requests since Tue Dec  1 00:35:35 2026
Office not accepting requests since Tue Dec  1 00:35:35 2026 -
\tRejecting Jobs
system default destination: Zebra
"""

LABEL_PDF_ONLY = """\
printer LabelPDF is idle.  enabled since Tue Dec  1 00:35:07 2026
\tDescription: LabelPDF
\tInterface: /etc/cups/ppd/LabelPDF.ppd
LabelPDF accepting requests since Tue Dec  1 00:35:07 2026
no system default destination
"""

LABEL_PDF_PAUSED = LABEL_PDF_ONLY.replace("is idle.  enabled", "disabled").replace(
    "2026\n\tDescription", "2026 -\n\tPaused\n\tDescription", 1
)
LABEL_PDF_REJECTING = LABEL_PDF_ONLY.replace(
    "LabelPDF accepting requests since Tue Dec  1 00:35:07 2026",
    "LabelPDF not accepting requests since Tue Dec  1 00:35:07 2026 -\n\tRejecting Jobs",
)
UNKNOWN = 'lpstat: Invalid destination name in list "Nope".\n'

# The fake programs: what they print comes from files in the fake's folder; lp writes
# down its argv, its standard input, and what its fd 0 is (a pipe, not a file).
FAKE_LPSTAT = """#!/bin/sh
/bin/cat "{d}/lpstat.out"
/bin/cat "{d}/lpstat.err" >&2
exit $(/bin/cat "{d}/lpstat.rc")
"""
FAKE_LP = """#!/bin/sh
for a in "$@"; do printf '%s\\n' "$a"; done > "{d}/lp.argv"
/bin/readlink /proc/$$/fd/0 > "{d}/lp.fd0"
/bin/cat > "{d}/lp.stdin"
/bin/cat "{d}/lp.out"
/bin/cat "{d}/lp.err" >&2
exit $(/bin/cat "{d}/lp.rc")
"""


@dataclass
class FakeCups:
    folder: Path

    def lpstat(self, out: str, err: str = "", rc: int = 0) -> None:
        (self.folder / "lpstat.out").write_text(out)
        (self.folder / "lpstat.err").write_text(err)
        (self.folder / "lpstat.rc").write_text(str(rc))

    def lp(self, out: str = "", err: str = "", rc: int = 0) -> None:
        (self.folder / "lp.out").write_text(out)
        (self.folder / "lp.err").write_text(err)
        (self.folder / "lp.rc").write_text(str(rc))

    def remove(self, program: str) -> None:
        (self.folder / "bin" / program).unlink()

    def read(self, name: str) -> bytes:
        return (self.folder / name).read_bytes()

    def ran_lp(self) -> bool:
        return (self.folder / "lp.argv").exists()


@pytest.fixture
def fake_cups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCups:
    folder = tmp_path / "fake-cups"
    (folder / "bin").mkdir(parents=True)
    for name, script in (("lpstat", FAKE_LPSTAT), ("lp", FAKE_LP)):
        path = folder / "bin" / name
        path.write_text(script.format(d=folder))
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(folder / "bin"))
    fake = FakeCups(folder)
    fake.lpstat(LABEL_PDF_ONLY)
    fake.lp(out="request id is LabelPDF-42 (0 file(s))\n")
    return fake


# --- listing and status --------------------------------------------------------------


def test_list_reads_state_accepting_default_description_and_raw(fake_cups: FakeCups) -> None:
    fake_cups.lpstat(LPSTAT_ALL)
    found = {p.name: p for p in list_cups_printers()}
    assert list(found) == ["LabelPDF", "Zebra", "Office"]
    pdf, zebra, office = found["LabelPDF"], found["Zebra"], found["Office"]
    assert (pdf.state, pdf.accepting, pdf.is_default, pdf.raw) == (
        PrinterState.IDLE,
        True,
        False,
        False,
    )
    assert pdf.description == "Label printer (PDF)" and pdf.kind is PrinterKind.CUPS
    assert (zebra.state, zebra.is_default, zebra.raw) == (PrinterState.PRINTING, True, True)
    assert (office.state, office.accepting, office.ready) == (PrinterState.STOPPED, False, False)
    assert pdf.ready and zebra.ready


def test_list_is_empty_without_cups_or_without_printers(fake_cups: FakeCups) -> None:
    fake_cups.lpstat("", "lpstat: No destinations added.\n", rc=1)
    assert list_cups_printers() == []
    fake_cups.lpstat("", "lpstat: Bad file descriptor\n", rc=1)  # scheduler not running
    assert list_cups_printers() == []
    fake_cups.remove("lpstat")
    assert list_cups_printers() == []


def test_status_of_an_unknown_queue_is_printer_not_found(fake_cups: FakeCups) -> None:
    fake_cups.lpstat("", UNKNOWN, rc=1)
    with pytest.raises(PrinterNotFound, match="“Nope”"):
        printer_status("Nope")
    with pytest.raises(PrinterNotFound):
        printer_status("-h evil")  # never reaches lpstat as an option


def test_status_without_a_scheduler_is_print_system_missing(fake_cups: FakeCups) -> None:
    fake_cups.lpstat("", "lpstat: Bad file descriptor\n", rc=1)
    with pytest.raises(PrintSystemMissing):
        printer_status("LabelPDF")
    fake_cups.remove("lpstat")
    with pytest.raises(PrintSystemMissing):
        printer_status("LabelPDF")


# --- print_cups ----------------------------------------------------------------------

LABEL = b"%PDF-1.4 label for Jane Tester, 1 Test Way"


def test_print_pipes_the_bytes_to_lp_and_returns_the_job_id(fake_cups: FakeCups) -> None:
    job = print_cups(
        "LabelPDF",
        LABEL,
        title="Order 111-2223334-4445556",
        options={"media": "Custom.4x6in", "number-up": "2"},
    )
    assert job == "LabelPDF-42"
    argv = fake_cups.read("lp.argv").decode().splitlines()
    assert argv == [
        "-d",
        "LabelPDF",
        "-t",
        "Order 111-2223334-4445556",
        "-o",
        "media=Custom.4x6in",
        "-o",
        "number-up=2",
    ]
    # The document came on standard input, through a pipe; the command line has none of it.
    assert fake_cups.read("lp.stdin") == LABEL
    assert fake_cups.read("lp.fd0").startswith(b"pipe:")
    assert not any("Jane" in a or "%PDF" in a for a in argv)


def test_raw_adds_the_raw_option(fake_cups: FakeCups) -> None:
    print_cups("LabelPDF", b"^XA^XZ", title="Order 1", raw=True)
    assert fake_cups.read("lp.argv").decode().splitlines()[-2:] == ["-o", "raw"]


def test_a_paused_or_refusing_queue_is_offline_and_lp_never_runs(fake_cups: FakeCups) -> None:
    for listing in (LABEL_PDF_PAUSED, LABEL_PDF_REJECTING):
        fake_cups.lpstat(listing)
        with pytest.raises(PrinterOffline, match="“LabelPDF” is off or paused") as caught:
            print_cups("LabelPDF", LABEL, title="Order 1")
        assert "nothing is bought again" in caught.value.message
    assert not fake_cups.ran_lp()


def test_an_unknown_queue_is_not_found(fake_cups: FakeCups) -> None:
    fake_cups.lpstat("", UNKNOWN, rc=1)
    with pytest.raises(PrinterNotFound):
        print_cups("Nope", LABEL, title="Order 1")
    assert not fake_cups.ran_lp()


def test_no_lp_is_print_system_missing(fake_cups: FakeCups) -> None:
    fake_cups.remove("lp")
    with pytest.raises(PrintSystemMissing):
        print_cups("LabelPDF", LABEL, title="Order 1")


def test_lp_failing_is_print_failed_with_exit_code_and_first_line(fake_cups: FakeCups) -> None:
    fake_cups.lp(err="lp: Error - unable to queue\nsecond line\n", rc=3)
    with pytest.raises(PrintFailed) as caught:
        print_cups("LabelPDF", LABEL, title="Order 1")
    assert caught.value.detail == "lp exit 3: lp: Error - unable to queue"
    assert "Jane" not in str(caught.value) and "Jane" not in (caught.value.detail or "")


def test_lp_refusing_the_job_is_offline(fake_cups: FakeCups) -> None:
    fake_cups.lp(err='lp: Destination "LabelPDF" is not accepting jobs.\n', rc=1)
    with pytest.raises(PrinterOffline):
        print_cups("LabelPDF", LABEL, title="Order 1")


def test_lp_without_a_job_id_is_print_failed(fake_cups: FakeCups) -> None:
    fake_cups.lp(out="something else\n")
    with pytest.raises(PrintFailed, match="did not take"):
        print_cups("LabelPDF", LABEL, title="Order 1")


def test_options_lp_would_split_are_refused() -> None:
    with pytest.raises(ValueError):
        lp_command("lp", "Q", title="Order 1", options={"media": "A4 number-up=4"})
    with pytest.raises(ValueError):
        lp_command("lp", "Q", title="Order 1", options={"-x y": "1"})
    with pytest.raises(ValueError):
        lp_command("lp", "Q", title="Order 1\nJane Tester")
    assert lp_command("lp", "Q", title="Order 1", raw=True) == [
        *("lp", "-d", "Q", "-t", "Order 1", "-o", "raw")
    ]


# --- job state -----------------------------------------------------------------------


def test_wait_for_job_polls_until_the_job_finished(monkeypatch: pytest.MonkeyPatch) -> None:
    states = iter([JobState.PENDING, JobState.PROCESSING, JobState.COMPLETED, JobState.UNKNOWN])
    asked: list[str] = []

    def job_state(job: str) -> JobState:
        asked.append(job)
        return next(states)

    monkeypatch.setattr(printers, "job_state", job_state)
    assert wait_for_job("Q-1", timeout=30) is JobState.COMPLETED
    assert asked == ["Q-1"] * 3


def test_wait_for_job_gives_the_last_state_on_timeout_or_cancel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(printers, "job_state", lambda job: JobState.HELD)
    assert wait_for_job("Q-1", timeout=0) is JobState.HELD
    cancel = threading.Event()
    cancel.set()
    assert wait_for_job("Q-1", timeout=30, cancel=cancel) is JobState.HELD


def test_job_state_of_a_malformed_id_is_unknown(fake_cups: FakeCups) -> None:
    assert printers.job_state("no-number-here") is JobState.UNKNOWN


def test_job_state_falls_back_to_lpstat_lists(fake_cups: FakeCups) -> None:
    # lpstat -H names a socket nobody listens on: the job lists are read instead.
    fake_cups.lpstat(
        "/nonexistent/cups.sock\nQ-5              root   1024   Tue Dec  1 00:35:23 2026\n"
        "\tAlerts: job-hold-until-specified\n"
    )
    assert printers.job_state("Q-5") is JobState.HELD
    assert printers.job_state("Q-6") is JobState.UNKNOWN


# --- raw TCP -------------------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[ZplListener]:
    zpl = ZplListener()
    yield zpl
    zpl.close()


def test_send_zpl_tcp_delivers_the_bytes_and_ends_the_job(listener: ZplListener) -> None:
    label = b"^XA^FO50,50^FDOrder 1^FS^XZ" * 1000
    send_zpl_tcp("127.0.0.1", listener.port, label)
    assert listener.next_job() == label  # read to EOF: our side was shut down


def test_send_zpl_tcp_to_a_closed_port_is_offline_naming_the_address() -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    with pytest.raises(PrinterOffline, match=f"127.0.0.1:{port}"):
        send_zpl_tcp("127.0.0.1", port, b"^XA^XZ", timeout=5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.168.1.50", ("192.168.1.50", 9100)),
        (" zebra.local:9101 ", ("zebra.local", 9101)),
        ("printer-1", ("printer-1", 9100)),
        ("[fe80::1]:6101", ("fe80::1", 6101)),
        ("::1", ("::1", 9100)),
    ],
)
def test_parse_printer_address(text: str, expected: tuple[str, int]) -> None:
    assert parse_printer_address(text) == expected


@pytest.mark.parametrize(
    "text", ["", ":9100", "zebra:", "zebra:0", "zebra:70000", "zebra:abc", "a b", "-x", "[::1"]
)
def test_parse_printer_address_refuses_in_plain_words(text: str) -> None:
    with pytest.raises(PrinterAddressInvalid) as caught:
        parse_printer_address(text)
    assert caught.value.message and "Traceback" not in caught.value.message


# --- settings ------------------------------------------------------------------------


def test_cups_options_per_paper_orientation_scaling_and_dpi() -> None:
    assert cups_options(PrintSettings(), LabelFormat.PDF) == {
        "media": "Custom.4x6in",
        "print-scaling": "none",
    }
    assert cups_options(
        PrintSettings(Paper.LETTER_2UP, Orientation.LANDSCAPE, scale_to_fit=True, dpi=203),
        LabelFormat.PNG,
    ) == {
        "media": "Letter",
        "number-up": "2",
        "orientation-requested": "4",
        "fit-to-page": "true",
        "print-scaling": "fit",
        "printer-resolution": "203dpi",
    }
    a4 = cups_options(PrintSettings(Paper.A4_2UP, Orientation.PORTRAIT), LabelFormat.PDF)
    assert (a4["media"], a4["number-up"], a4["orientation-requested"]) == ("A4", "2", "3")
    assert cups_options(PrintSettings(Paper.A6), LabelFormat.PDF)["media"] == "A6"
    # A PNG is always fitted: its own resolution is unreliable (CUPS cropped one at 96 dpi).
    assert cups_options(PrintSettings(), LabelFormat.PNG) == {
        "media": "Custom.4x6in",
        "fit-to-page": "true",
        "print-scaling": "fit",
    }
    assert cups_options(PrintSettings(Paper.A6, dpi=300), LabelFormat.ZPL) == {}


def test_every_option_passes_lp_command() -> None:
    for paper in Paper:
        for orientation in Orientation:
            settings = PrintSettings(paper, orientation, scale_to_fit=True, dpi=300)
            lp_command("lp", "Q", title="Order 1", options=cups_options(settings, LabelFormat.PDF))


def test_print_settings_round_trip_through_json() -> None:
    settings = PrintSettings(Paper.A4_2UP, Orientation.LANDSCAPE, scale_to_fit=True, dpi=300)
    text = settings.to_json()
    assert PrintSettings.from_json(text) == settings
    assert '"paper": "A4-2up"' in text
    assert PrintSettings.from_json("{}") == PrintSettings()


@pytest.mark.parametrize(
    "text",
    [
        '{"paper": "A3"}',
        '{"orientation": "diagonal"}',
        '{"dpi": -1}',
        '{"dpi": true}',
        '{"scale_to_fit": "yes"}',
        '{"colour": "red"}',
        "[]",
    ],
)
def test_print_settings_from_json_refuses_what_it_never_wrote(text: str) -> None:
    with pytest.raises(ValueError):
        PrintSettings.from_json(text)
