"""No secret or buyer PII reaches a log file; order ids and ordinary text do."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.logsetup import setup_logging
from app.redact import redact_text, register_secret

EMAIL = "jane.buyer+amz@marketplace.amazon.de"
PHONES = ["+49 30 1234 5678", "(555) 123-4567", "0176/98765432"]
ORDER_ID = "302-1234567-7654321"
HEX_KEY = "9f" * 32
SECRET = "Lwa-Client-Secret-Value-123"


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    root = logging.getLogger("muttefik")
    saved = (list(root.handlers), root.level, root.propagate)
    setup_logging(tmp_path / "logs", level=logging.DEBUG, stderr=False)
    yield tmp_path / "logs" / "muttefik.log"
    setup_logging(None, stderr=False)  # takes its handlers off the root logger too
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.handlers[:], root.level, root.propagate = saved[0], saved[1], saved[2]


def _flush() -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()


@pytest.mark.expect_log("muttefik.mail", "WARNING", "buyer phone")
@pytest.mark.expect_log("muttefik.mail", "ERROR", "sync failed")
def test_log_file_never_holds_pii_or_secrets(log_file: Path) -> None:
    register_secret(SECRET)
    log = logging.getLogger("muttefik.mail")
    log.info("message from %s about order %s", EMAIL, ORDER_ID)
    for phone in PHONES:
        log.warning("buyer phone %s for %s", phone, ORDER_ID)
    log.info("db key x'%s'", HEX_KEY)
    log.info("lwa secret=" + SECRET)  # already formatted: the filter still catches it
    log.debug("args dict %(who)s", {"who": EMAIL})
    try:
        raise RuntimeError(f"token {SECRET} refused for {EMAIL}")
    except RuntimeError:
        log.exception("sync failed")
    _flush()
    text = log_file.read_text()
    for leaked in [EMAIL, HEX_KEY, SECRET, *PHONES]:
        assert leaked not in text, leaked
    assert "jane.buyer" not in text
    assert text.count(ORDER_ID) == 1 + len(PHONES)
    assert "[email]" in text and "[phone]" in text and "[secret]" in text
    assert "sync failed" in text and "RuntimeError" in text  # the traceback is kept, redacted


def test_log_file_is_private(log_file: Path) -> None:
    logging.getLogger("muttefik.db").info("hello")
    _flush()
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(log_file.parent.stat().st_mode) == 0o700


@pytest.mark.expect_log("muttefik.sync", "WARNING", "buyer")
def test_stderr_handler_is_redacted_too(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root = logging.getLogger("muttefik")
    saved = (list(root.handlers), root.level, root.propagate)
    try:
        setup_logging(None, stderr=True)
        logging.getLogger("muttefik.sync").warning("buyer %s", EMAIL)
    finally:
        setup_logging(None, stderr=False)
        for handler in list(root.handlers):
            root.removeHandler(handler)
        root.handlers[:], root.level, root.propagate = saved[0], saved[1], saved[2]
    err = capsys.readouterr().err
    assert EMAIL not in err and "[email]" in err


@pytest.mark.parametrize(
    "text",
    [
        f"order {ORDER_ID} shipped",
        "synced 120 orders in 3.5 s",
        "page 42 of 100",
        "started 2026-11-01T12:00:00+00:00",
        "ASIN B0C1234567 restocked",
    ],
)
def test_ordinary_text_survives(text: str) -> None:
    assert redact_text(text) == text


def test_registered_secret_is_replaced_wherever_it_appears() -> None:
    value = os.urandom(6).hex() + "-pw"
    register_secret(value)
    assert redact_text(f"a{value}b and {value}") == "a[secret]b and [secret]"


def test_too_short_values_are_not_registered() -> None:
    register_secret("ab")
    assert redact_text("about a table") == "about a table"


def test_dates_and_times_survive_but_phones_next_to_them_do_not() -> None:
    from app.redact import redact_text

    line = "sync at 2026-11-01 12:00:05,123 for 2026-10-31T23:59:59+00:00, call +1 206 555 0100"
    out = redact_text(line)
    assert "2026-11-01 12:00:05,123" in out
    assert "2026-10-31T23:59:59+00:00" in out
    assert "555 0100" not in out and "[phone]" in out


@pytest.mark.parametrize(
    "text",
    [
        "fake SP-API at http://127.0.0.1:8123/orders/2026-01-01/orders",
        "connect to 127.0.0.1 failed",
        "listening on 192.168.100.200:8080",
        "proxy 10.0.0.1:3128 refused",
        "server 255.255.255.255 and 0.0.0.0:65535",
        "peer 127.0.0.1.",
    ],
)
def test_ip_addresses_and_ports_are_not_phone_numbers(text: str) -> None:
    assert redact_text(text) == text


@pytest.mark.parametrize(
    "phone",
    [
        "+49 30 1234 5678",
        "(555) 123-4567",
        "0176/98765432",
        "555.123.4567",
        "06.12.34.56.78",
        "01.23.45.67",
        "+1.206.555.0100",
        "1.800.555.1234",
        "0176.98.76.54",
        "+49 30 123.45.67.89",
        "030 123.45.67.89",
        "12.34.56.78 90",
    ],
)
def test_phone_numbers_with_dots_are_still_redacted(phone: str) -> None:
    out = redact_text(f"call {phone} today, server 127.0.0.1:8080")
    assert phone not in out and "[phone]" in out
    assert out.endswith("server 127.0.0.1:8080")
