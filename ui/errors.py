"""The one place that presents errors to the seller, and the crash hook.

``UserError``s show their title and message (technical detail folded away); anything
else is a bug: it is logged and shown once per distinct traceback with the traceback
available for a report.  Exceptions from any thread reach the GUI thread here.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import threading
import traceback
from types import TracebackType

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox, QWidget

from app.errors import UserError
from app.redact import redact_text

log = logging.getLogger("muttefik.ui")

_seen: set[str] = set()


def show_error(parent: QWidget | None, exc: BaseException) -> None:
    """Thread: GUI."""
    if isinstance(exc, UserError):
        log.warning("%s: %s", type(exc).__name__, exc.detail or exc.message)
        box = QMessageBox(QMessageBox.Icon.Warning, exc.title, exc.message, parent=parent)
        if exc.detail:
            box.setDetailedText(exc.detail)
        box.setObjectName("userErrorBox")
        _present(box)
        return
    report_exception(type(exc), exc, exc.__traceback__, parent=parent)


def report_exception(
    etype: type[BaseException] | None,
    value: BaseException | None,
    tb: TracebackType | None,
    *,
    parent: QWidget | None = None,
) -> None:
    """Thread: GUI.  Shows each distinct traceback once."""
    text = redact_text("".join(traceback.format_exception(etype, value, tb)))
    digest = hashlib.sha256(text.encode()).hexdigest()
    log.error("unexpected error:\n%s", text)
    if digest in _seen:
        return
    _seen.add(digest)
    box = QMessageBox(
        QMessageBox.Icon.Critical,
        "Unexpected error",
        "Müttefik Desk ran into a problem it did not expect. Your data is safe; the action "
        "may not have completed. The details below help us fix it (they contain no buyer "
        "data or secrets).",
        parent=parent,
    )
    box.setDetailedText(text)
    box.setObjectName("crashBox")
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    copy = box.addButton("Copy details", QMessageBox.ButtonRole.ActionRole)
    copy.setObjectName("copyDetails")
    copy.clicked.disconnect()  # every button of a message box closes it; this one copies
    copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(text))
    _present(box)


def _present(box: QMessageBox) -> None:
    """Show without a nested event loop, returning at once: modal to the parent's
    window, or to the whole application when there is no parent (the crash hook).

    ``exec()`` here would re-enter the event loop from inside a queued callback (an
    operation's result), so other results would be delivered underneath the dialog.
    """
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    if box.parent() is not None:
        box.open()
        return
    # open() would make it window-modal, which without a parent window blocks nothing.
    box.setWindowModality(Qt.WindowModality.ApplicationModal)
    _open_boxes.append(box)  # keep a reference until it closes
    box.finished.connect(lambda _r: _open_boxes.remove(box) if box in _open_boxes else None)
    box.show()


_open_boxes: list[QMessageBox] = []


def install_crash_hook() -> None:
    """Route uncaught exceptions from every thread to one dialog on the GUI thread."""
    from ui.ops import on_gui

    def hook(etype: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if issubclass(etype, KeyboardInterrupt):
            sys.__excepthook__(etype, value, tb)
            return
        on_gui(lambda: report_exception(etype, value, tb))

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None:
            return
        hook(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = hook
    threading.excepthook = thread_hook
