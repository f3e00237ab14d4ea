"""The log guard: a WARNING or ERROR from the app's loggers fails the test that caused it.

Every record at WARNING or above from ``muttefik`` or a logger below it is collected,
whichever thread logged it and whatever handlers, levels or ``propagate`` flags the app's
logging setup left behind (``Logger.handle`` is wrapped, so a CLI run that replaces the
``muttefik`` handlers mid-test is still seen).  A test that provokes such a record on
purpose declares it, and the record then passes:

    @pytest.mark.expect_log("muttefik.sync", "ERROR", r"sync of store \\d+ failed")
    def test_...

or, when the expectation depends on the test's own data, through the fixture:

    def test_...(expected_logs: LogGuard) -> None:
        expected_logs.expect("muttefik.ui", "WARNING", "PermissionDenied")

A declaration matches a record from the named logger or one below it, at exactly that
level, whose formatted message contains a match for the regular expression.  Undeclared
records fail the test with a list of them.  ``expected_logs.records`` holds everything
collected, so a test can also assert that a record was written.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

APP_LOGGER = "muttefik"
#: Records at this level and above are checked.
GUARDED_LEVEL = logging.WARNING


@dataclass(frozen=True)
class Expectation:
    logger: str
    level: int
    pattern: re.Pattern[str]

    def matches(self, record: logging.LogRecord) -> bool:
        in_tree = record.name == self.logger or record.name.startswith(self.logger + ".")
        return (
            in_tree
            and record.levelno == self.level
            and self.pattern.search(record.getMessage()) is not None
        )


def expectation(logger: str, level: str | int, pattern: str = "") -> Expectation:
    """``level``: a name such as ``"ERROR"`` or a number; ``pattern``: a regular
    expression searched in the formatted message (empty: any message)."""
    number = logging.getLevelName(level) if isinstance(level, str) else level
    if not isinstance(number, int):
        raise ValueError(f"unknown log level {level!r}")
    if not (logger == APP_LOGGER or logger.startswith(APP_LOGGER + ".")):
        raise ValueError(f"only the app's loggers are guarded, not {logger!r}")
    return Expectation(logger, number, re.compile(pattern))


class LogGuard:
    """Collects the app's WARNING and ERROR records for one test; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[logging.LogRecord] = []
        self._expected: list[Expectation] = []

    def expect(self, logger: str, level: str | int, pattern: str = "") -> None:
        """Declare a record this test produces on purpose."""
        self._expected.append(expectation(logger, level, pattern))

    def add(self, item: Expectation) -> None:
        self._expected.append(item)

    @property
    def records(self) -> list[logging.LogRecord]:
        with self._lock:
            return list(self._records)

    def messages(self, logger: str = APP_LOGGER) -> list[str]:
        """The formatted messages collected from ``logger`` and the loggers below it."""
        return [
            r.getMessage()
            for r in self.records
            if r.name == logger or r.name.startswith(logger + ".")
        ]

    def collect(self, record: logging.LogRecord) -> None:
        if record.levelno < GUARDED_LEVEL:
            return
        if record.name != APP_LOGGER and not record.name.startswith(APP_LOGGER + "."):
            return
        with self._lock:
            self._records.append(record)

    def unexpected(self) -> list[logging.LogRecord]:
        return [r for r in self.records if not any(e.matches(r) for e in self._expected)]

    def report(self) -> str:
        lines = ["the app logged records this test did not declare (see tests/helpers/logs.py):"]
        for r in self.unexpected():
            lines.append(f"  {r.levelname} {r.name} [{r.threadName}]: {r.getMessage()}")
            if r.exc_info and r.exc_info[1] is not None:
                lines.append(f"    {type(r.exc_info[1]).__name__}: {r.exc_info[1]}")
        lines.append(
            'Declare an expected one with @pytest.mark.expect_log("muttefik.x", "ERROR", '
            '"pattern") or expected_logs.expect(...); otherwise fix its cause.'
        )
        return "\n".join(lines)


@contextmanager
def guarding(guard: LogGuard) -> Iterator[None]:
    """Route every record the loggers handle to ``guard`` too, for the ``with`` body.

    ``Logger.handle`` is where every record passes after the level check, on the logger
    that made it, before handlers and ``propagate`` decide where it goes.
    """
    original = logging.Logger.handle

    def handle(self: logging.Logger, record: logging.LogRecord) -> None:
        guard.collect(record)
        original(self, record)

    logging.Logger.handle = handle  # type: ignore[method-assign]
    try:
        yield
    finally:
        logging.Logger.handle = original  # type: ignore[method-assign]


@dataclass
class _LoggerState:
    level: int
    propagate: bool
    disabled: bool
    handlers: list[logging.Handler]
    filters: list[Any]  # Filter objects or callables


@contextmanager
def logging_restored(*names: str) -> Iterator[None]:
    """Put the named loggers (``""``: the root) back as they were after the body:
    handlers a test or a CLI run's ``setup_logging`` added (a log file, stderr) go, and
    level, ``propagate`` and ``disabled`` return, so no test's logging setup decides what
    a later test's caplog sees.
    """
    loggers = [logging.getLogger(n) if n else logging.getLogger() for n in names]
    states = [
        _LoggerState(lg.level, lg.propagate, lg.disabled, list(lg.handlers), list(lg.filters))
        for lg in loggers
    ]
    try:
        yield
    finally:
        for lg, st in zip(loggers, states, strict=True):
            for h in lg.handlers[:]:
                if h not in st.handlers:
                    lg.removeHandler(h)
                    if not type(h).__module__.startswith("_pytest"):
                        h.close()  # the app's own (a log file, stderr); pytest's are not ours
            for h in st.handlers:
                if h not in lg.handlers:
                    lg.addHandler(h)
            lg.filters[:] = st.filters
            lg.setLevel(st.level)
            lg.propagate = st.propagate
            lg.disabled = st.disabled
