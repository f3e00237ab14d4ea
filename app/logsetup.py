"""Logging: named loggers per area, rotating files, and the redaction filter.

Areas: ``muttefik.db``, ``.secrets``, ``.sync``, ``.amazon``, ``.auth``, ``.audit``,
``.mail``, ``.ai``, ``.purge``, ``.ui``, ``.qt``.  Every handler carries the
:class:`~app.redact.RedactingFilter`, so no secret or buyer PII reaches a log line.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

from app.redact import RedactingFilter

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(log_dir: Path | None, *, level: int = logging.INFO, stderr: bool = True) -> None:
    root = logging.getLogger("muttefik")
    root.setLevel(level)
    root.propagate = False
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    redactor = RedactingFilter()
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = log_dir / "muttefik.log"
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=2_000_000, backupCount=5, encoding="utf-8"
        )
        if os.name == "posix" and path.exists():
            os.chmod(path, 0o600)
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(redactor)
        root.addHandler(handler)
    if stderr:
        console = logging.StreamHandler()
        console.setLevel(logging.WARNING)
        console.setFormatter(logging.Formatter(FORMAT))
        console.addFilter(redactor)
        root.addHandler(console)
