"""Logging: named loggers per area, rotating files, and the redaction filter.

Areas: ``muttefik.db``, ``.secrets``, ``.sync``, ``.amazon``, ``.auth``, ``.audit``,
``.mail``, ``.ai``, ``.purge``, ``.ui``, ``.qt``.  Every handler carries the
:class:`~app.redact.RedactingFilter`, so no secret or buyer PII reaches a log line.

The handlers sit on the root logger only: the app's records propagate to them, and the
libraries' records (httpx, httpcore, sp_api, keyring, urllib3, …) pass the same filter
instead of Python's unfiltered last-resort handler.  Handlers that others added (a
test's caplog) stay and keep seeing the app's records.  Libraries log at WARNING and
above only, whatever ``level``: below that they write requests, headers and bodies.
Log files are created 0600 and each file a rotation starts is too (not left to the
umask).
"""

from __future__ import annotations

import contextlib
import io
import logging
import logging.handlers
import os
import stat
import sys
from pathlib import Path
from typing import Any

from app.redact import RedactingFilter

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
#: Library loggers set to LIBRARY_LEVEL explicitly, in case something set them lower.
LIBRARY_LOGGERS = ("httpx", "httpcore", "sp_api", "keyring", "urllib3", "asyncio", "imapclient")
LIBRARY_LEVEL = logging.WARNING

# The handlers the last setup_logging call installed (on the root).
_installed: list[logging.Handler] = []


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating file handler whose files are owner-only (0600) on POSIX.

    ``RotatingFileHandler`` opens every new file (the first and each one a rollover
    starts) with plain ``open``, so its mode came from the umask: usually 0644.
    """

    def _open(self) -> io.TextIOWrapper:
        def opener(path: str, flags: int) -> int:
            fd = os.open(path, flags, 0o600)
            if os.name == "posix":
                os.fchmod(fd, 0o600)  # an existing file keeps its mode through open()
            return fd

        stream = open(  # noqa: SIM115 - the handler keeps the stream and closes it
            self.baseFilename, self.mode, encoding=self.encoding, errors=self.errors, opener=opener
        )
        assert isinstance(stream, io.TextIOWrapper)  # text mode, as the base class opens it
        return stream


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of each record (tests and the
    GUI replace it), not to the stream that was current at setup."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def _make_private(log_dir: Path, name: str) -> None:
    """Owner-only mode for the log file and its rotated copies (``name.1`` …), which
    versions before PrivateRotatingFileHandler left as the umask made them."""
    if os.name != "posix":
        return
    for path in log_dir.glob(f"{name}*"):
        suffix = path.name.removeprefix(f"{name}.")
        if path.name == name or (suffix != path.name and suffix.isdigit()):
            with contextlib.suppress(OSError):
                if stat.S_IMODE(path.stat().st_mode) != 0o600:
                    os.chmod(path, 0o600)


def setup_logging(log_dir: Path | None, *, level: int = logging.INFO, stderr: bool = True) -> None:
    """Log the app's records from ``level`` up to ``log_dir/muttefik.log`` (if given)
    and its warnings to stderr (if ``stderr``); replaces what the last call installed."""
    app_logger = logging.getLogger("muttefik")
    root = logging.getLogger()
    app_logger.setLevel(level)
    app_logger.propagate = True
    for handler in _installed:
        root.removeHandler(handler)
        handler.close()
    _installed.clear()
    redactor = RedactingFilter()
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        _make_private(log_dir, "muttefik.log")
        handler = PrivateRotatingFileHandler(
            log_dir / "muttefik.log", maxBytes=2_000_000, backupCount=5, encoding="utf-8"
        )
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(redactor)
        _installed.append(handler)
    if stderr:
        console = _StderrHandler()
        console.setLevel(logging.WARNING)
        console.setFormatter(logging.Formatter(FORMAT))
        console.addFilter(redactor)
        _installed.append(console)
    for handler in _installed:
        root.addHandler(handler)
    root.setLevel(LIBRARY_LEVEL)
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(LIBRARY_LEVEL)
