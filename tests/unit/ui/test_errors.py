"""The one error presentation path: a UserError's box, the crash box, the crash hook.

These run the real ``ui.errors.report_exception`` (the UI conftest replaces it with a
recorder for every other test) and check what the seller sees, what can be copied for a
report, and what reaches the log: never a buyer's email or phone number.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget
from pytestqt.qtbot import QtBot

import ui.errors
from app.errors import DiskFull, PermissionDenied, UserError
from tests.helpers.logs import LogGuard
from ui.errors import install_crash_hook, report_exception, show_error

# Captured at import, before the UI conftest's fixture swaps in its recorder.
REAL_REPORT = report_exception
BUYER_EMAIL = "jane.buyer@example.com"
BUYER_PHONE = "+49 170 1234567"


@pytest.fixture(autouse=True)
def real_reporting(
    monkeypatch: pytest.MonkeyPatch, fail_on_unexpected_errors: list[str]
) -> Iterator[None]:
    """The real report_exception, a fresh 'already shown' set, and no box left open."""
    monkeypatch.setattr(ui.errors, "report_exception", REAL_REPORT)
    monkeypatch.setattr(ui.errors, "_seen", set())
    yield
    for box in list(ui.errors._open_boxes):
        box.done(0)
    assert ui.errors._open_boxes == []


def _raised(exc: BaseException) -> BaseException:
    """``exc`` with a traceback, as an operation's failure hands it over."""
    try:
        raise exc
    except BaseException as caught:
        return caught


def _buyer_bug() -> BaseException:
    return _raised(ValueError(f"cannot parse address of {BUYER_EMAIL}, phone {BUYER_PHONE}"))


def test_a_user_error_shows_its_title_and_message_with_the_detail_folded(
    qtbot: QtBot, expected_logs: LogGuard
) -> None:
    expected_logs.expect("muttefik.ui", "WARNING", "DiskFull: no space left on /dev/sda1")
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.show()
    show_error(parent, DiskFull(detail="no space left on /dev/sda1"))
    box = parent.findChild(QMessageBox, "userErrorBox")
    assert box is not None
    qtbot.waitUntil(box.isVisible)
    assert box.windowTitle() == DiskFull.title
    assert box.text() == DiskFull.message
    assert box.icon() is QMessageBox.Icon.Warning
    assert box.detailedText() == "no space left on /dev/sda1"
    assert box.windowModality() is Qt.WindowModality.WindowModal  # only this window waits
    assert [r.getMessage() for r in expected_logs.records] == [
        "DiskFull: no space left on /dev/sda1"
    ]


def test_permission_denied_is_a_plain_refusal_without_details(
    qtbot: QtBot, expected_logs: LogGuard
) -> None:
    expected_logs.expect("muttefik.ui", "WARNING", "PermissionDenied")
    parent = QWidget()
    qtbot.addWidget(parent)
    show_error(parent, PermissionDenied())
    box = parent.findChild(QMessageBox, "userErrorBox")
    assert box is not None
    assert box.windowTitle() == "Not allowed"
    assert box.text() == PermissionDenied.message
    assert box.detailedText() == ""
    assert parent.findChild(QMessageBox, "crashBox") is None
    assert expected_logs.messages("muttefik.ui") == [
        f"PermissionDenied: {PermissionDenied.message}"
    ]


def test_an_unexpected_exception_opens_the_crash_box_without_buyer_data(
    qtbot: QtBot, expected_logs: LogGuard
) -> None:
    expected_logs.expect("muttefik.ui", "ERROR", "unexpected error")
    parent = QWidget()
    qtbot.addWidget(parent)
    show_error(parent, _buyer_bug())
    box = parent.findChild(QMessageBox, "crashBox")
    assert box is not None
    assert box.windowTitle() == "Unexpected error"
    assert box.icon() is QMessageBox.Icon.Critical
    assert "Your data is safe" in box.text()
    details = box.detailedText()
    assert "Traceback (most recent call last)" in details
    assert "ValueError: cannot parse address of [email], phone [phone]" in details
    assert "test_errors.py" in details  # where it happened, for the report
    assert BUYER_EMAIL not in details and "1234567" not in details
    (logged,) = expected_logs.records
    assert "ValueError: cannot parse address of [email]" in logged.getMessage()
    assert BUYER_EMAIL not in logged.getMessage() and "1234567" not in logged.getMessage()


def test_copying_the_crash_box_gives_the_details_for_a_report(
    qtbot: QtBot, expected_logs: LogGuard
) -> None:
    expected_logs.expect("muttefik.ui", "ERROR", "unexpected error")
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.show()
    show_error(parent, _buyer_bug())
    box = parent.findChild(QMessageBox, "crashBox")
    assert box is not None
    qtbot.waitUntil(box.isVisible)
    clipboard = QGuiApplication.clipboard()
    clipboard.clear()
    button = box.findChild(QPushButton, "copyDetails")
    assert button is not None and button.text() == "Copy details"
    button.click()
    assert box.isVisible()  # copying does not close the box
    copied = clipboard.text()
    assert "Traceback (most recent call last)" in copied
    assert "ValueError: cannot parse address of [email], phone [phone]" in copied
    assert BUYER_EMAIL not in copied and "1234567" not in copied


def test_the_same_crash_is_shown_once_and_logged_each_time(
    qtbot: QtBot, expected_logs: LogGuard
) -> None:
    expected_logs.expect("muttefik.ui", "ERROR", "unexpected error")
    parent = QWidget()
    qtbot.addWidget(parent)
    exc = _raised(RuntimeError("worker state lost"))
    show_error(parent, exc)
    show_error(parent, exc)
    assert len(parent.findChildren(QMessageBox, "crashBox")) == 1
    assert len(expected_logs.records) == 2
    show_error(parent, _raised(RuntimeError("another state lost")))
    assert len(parent.findChildren(QMessageBox, "crashBox")) == 2


def test_without_a_parent_the_box_is_application_modal_and_kept_until_closed(
    qtbot: QtBot, expected_logs: LogGuard
) -> None:
    expected_logs.expect("muttefik.ui", "WARNING", "UserError")
    show_error(None, UserError("The file could not be read."))
    (box,) = ui.errors._open_boxes
    assert box.objectName() == "userErrorBox"
    assert box.windowModality() is Qt.WindowModality.ApplicationModal
    qtbot.waitUntil(box.isVisible)
    box.done(0)  # the seller closes it: released and deleted
    qtbot.waitUntil(lambda: not shiboken6.isValid(box))
    assert ui.errors._open_boxes == []


def test_a_box_goes_with_its_parent_window(qtbot: QtBot, expected_logs: LogGuard) -> None:
    expected_logs.expect("muttefik.ui", "ERROR", "unexpected error")
    parent = QWidget()
    parent.show()
    show_error(parent, _raised(KeyError("missing")))
    box = parent.findChild(QMessageBox, "crashBox")
    assert box is not None
    parent.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(box))
    assert ui.errors._open_boxes == []  # a parented box is never held here


def test_the_crash_hook_brings_a_worker_thread_crash_to_the_gui_thread(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, expected_logs: LogGuard
) -> None:
    expected_logs.expect("muttefik.ui", "ERROR", "ZeroDivisionError")
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    install_crash_hook()
    gui = threading.get_ident()
    seen_on: list[int] = []
    real = ui.errors.report_exception

    def spy(*args: Any, **kw: Any) -> None:
        seen_on.append(threading.get_ident())
        real(*args, **kw)

    monkeypatch.setattr(ui.errors, "report_exception", spy)
    worker = threading.Thread(target=lambda: 1 / 0, name="crashing-worker")
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: len(ui.errors._open_boxes) == 1)
    assert seen_on == [gui]
    (box,) = ui.errors._open_boxes
    assert box.objectName() == "crashBox"
    assert "ZeroDivisionError: division by zero" in box.detailedText()


def test_the_crash_hook_leaves_ctrl_c_to_python(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    passed_on: list[type[BaseException]] = []
    monkeypatch.setattr(sys, "__excepthook__", lambda etype, value, tb: passed_on.append(etype))
    install_crash_hook()
    sys.excepthook(KeyboardInterrupt, KeyboardInterrupt(), None)
    assert passed_on == [KeyboardInterrupt]
    assert ui.errors._open_boxes == []
