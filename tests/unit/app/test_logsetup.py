"""Log files stay private across rotation; every library's records pass the redaction."""

from __future__ import annotations

import logging
import logging.handlers
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.logsetup import setup_logging
from app.redact import register_secret

EMAIL = "jane.buyer+amz@marketplace.amazon.de"
SECRET = "Lwa-Client-Secret-For-Logsetup-77"
LOGGERS = ("muttefik", "")  # the app's and the root logger: what setup_logging changes


@pytest.fixture
def restore_logging() -> Iterator[None]:
    saved = {
        name: (list(lg.handlers), lg.level, lg.propagate)
        for name in LOGGERS
        for lg in [logging.getLogger(name)]
    }
    yield
    for name, (handlers, level, propagate) in saved.items():
        lg = logging.getLogger(name)
        for handler in list(lg.handlers):
            if handler not in handlers:
                lg.removeHandler(handler)
                handler.close()
        lg.handlers[:], lg.level, lg.propagate = handlers, level, propagate


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask: without care a new file would be 0644 (world-readable)."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _file_handler() -> logging.handlers.RotatingFileHandler:
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.handlers.RotatingFileHandler):
            return handler
    raise AssertionError("no file handler")


def test_log_files_stay_0600_after_a_real_rotation(
    tmp_path: Path, restore_logging: None, umask_022: None
) -> None:
    log_dir = tmp_path / "logs"
    setup_logging(log_dir, level=logging.DEBUG, stderr=False)
    handler = _file_handler()
    handler.maxBytes = 4096  # rotate after a few lines instead of 2 MB
    log = logging.getLogger("muttefik.sync")
    for n in range(200):  # about 3 rotations
        log.info("synced page %d of the order history %s", n, "x" * 60)
    handler.flush()
    files = sorted(log_dir.iterdir())
    names = [p.name for p in files]
    assert "muttefik.log" in names and "muttefik.log.1" in names and "muttefik.log.3" in names
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert "synced page 199" in (log_dir / "muttefik.log").read_text()


def test_a_new_log_file_is_0600_from_its_first_byte(
    tmp_path: Path, restore_logging: None, umask_022: None
) -> None:
    setup_logging(tmp_path / "logs", stderr=False)
    path = tmp_path / "logs" / "muttefik.log"
    assert path.exists()  # created at setup, private from the start
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_existing_world_readable_log_files_are_made_private(
    tmp_path: Path, restore_logging: None
) -> None:
    """Older versions left rotated files 0644; the next start makes them 0600."""
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    names = ["muttefik.log", "muttefik.log.1", "muttefik.log.5"]
    for name in names:
        (log_dir / name).write_text("old line\n")
        os.chmod(log_dir / name, 0o644)
    (log_dir / "notes.txt").write_text("not ours\n")
    os.chmod(log_dir / "notes.txt", 0o644)
    setup_logging(log_dir, stderr=False)
    for name in names:
        assert stat.S_IMODE((log_dir / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE((log_dir / "notes.txt").stat().st_mode) == 0o644


@pytest.mark.parametrize("name", ["httpx", "httpcore", "sp_api.base.client", "keyring", "urllib3"])
def test_library_records_reach_the_file_redacted(
    tmp_path: Path, restore_logging: None, name: str
) -> None:
    register_secret(SECRET)
    setup_logging(tmp_path / "logs", level=logging.DEBUG, stderr=False)
    logging.getLogger(name).warning("request for %s failed with token %s", EMAIL, SECRET)
    _file_handler().flush()
    text = (tmp_path / "logs" / "muttefik.log").read_text()
    assert f"{name}: request for [email] failed with token [secret]" in text
    assert EMAIL not in text and SECRET not in text


def test_root_logger_records_reach_the_file_redacted(tmp_path: Path, restore_logging: None) -> None:
    setup_logging(tmp_path / "logs", level=logging.DEBUG, stderr=False)
    logging.getLogger().error("unhandled: %s", EMAIL)
    _file_handler().flush()
    text = (tmp_path / "logs" / "muttefik.log").read_text()
    assert "root: unhandled: [email]" in text and EMAIL not in text


def test_library_records_on_stderr_are_redacted(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging(None, stderr=True)
    logging.getLogger("httpx").warning("buyer %s", EMAIL)
    err = capsys.readouterr().err
    assert "[email]" in err and EMAIL not in err


def test_library_chatter_below_warning_stays_out_even_at_debug(
    tmp_path: Path, restore_logging: None
) -> None:
    """httpx/sp_api log requests, headers and bodies at DEBUG/INFO: never written."""
    setup_logging(tmp_path / "logs", level=logging.DEBUG, stderr=False)
    logging.getLogger("httpx").info("HTTP Request: GET https://example.com/orders")
    logging.getLogger("sp_api.base.client").debug("Request Headers: {...}")
    logging.getLogger("muttefik.sync").debug("app debug line")
    _file_handler().flush()
    text = (tmp_path / "logs" / "muttefik.log").read_text()
    assert "app debug line" in text
    assert "HTTP Request" not in text and "Request Headers" not in text


def test_setting_up_twice_leaves_one_set_of_handlers(tmp_path: Path, restore_logging: None) -> None:
    before = len(logging.getLogger().handlers)
    setup_logging(tmp_path / "logs", stderr=True)
    setup_logging(tmp_path / "logs", stderr=True)
    assert len(logging.getLogger().handlers) == before + 2
    assert logging.getLogger("muttefik").handlers == []  # its records propagate to the root
    logging.getLogger("httpx").warning("once")
    _file_handler().flush()
    assert (tmp_path / "logs" / "muttefik.log").read_text().count("httpx: once") == 1
