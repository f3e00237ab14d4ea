"""Background work for the GUI (after Anki's ``aqt/operations``).

The GUI starts work with :class:`Op`; the work function runs on a lane of the app's
:class:`~app.jobs.JobHost` (``Lane.QUERY`` unless told otherwise) and gets a
:class:`~app.jobs.Job` (cancel event + progress reporter), never widgets.  Results,
failures and progress come back on the GUI thread through one QObject with a queued
signal.

    Op(parent, lambda job: services.operators.add(...)) \\
        .on_success(show).on_failure(show_error).with_progress("Adding…").run()
    Op(parent, lambda job: services.sync.sync_store(...), lane=Lane.LONG).run()

For service reads use :func:`when_done` on the Future the service returns.

Startup calls :func:`install` with the app's host; until then (tests) a host is made on
first use.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QProgressDialog, QWidget

from app.errors import OperationCancelled, VaultClosed
from app.jobs import Job, JobHost, Lane

__all__ = ["Job", "Lane", "Op", "host", "install", "on_gui", "when_done"]

log = logging.getLogger("muttefik.ui")

T = TypeVar("T")


class _Bridge(QObject):
    """Lives on the GUI thread; ``invoke`` may be emitted from any thread."""

    invoke = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.invoke.connect(self._run, Qt.ConnectionType.QueuedConnection)

    @Slot(object)
    def _run(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except VaultClosed:
            # The app is quitting: a result that lands after the data file closed (a
            # table's next rows) is dropped; an error box here would keep it from exiting.
            log.info("a GUI callback came after the data file closed; dropped")
        except Exception:
            log.exception("GUI callback failed")
            from ui.errors import report_exception

            report_exception(*_exc_info())


def _exc_info() -> tuple[Any, Any, Any]:
    import sys

    return sys.exc_info()


_bridge: _Bridge | None = None
_bridge_lock = threading.Lock()
_host: JobHost | None = None


def install(jobs: JobHost | None = None) -> None:
    """Create the bridge (startup calls this on the GUI thread once the app exists) and
    make ``jobs`` the host that :class:`Op` submits to."""
    global _host
    _ensure_bridge()
    if jobs is not None:
        _host = jobs


def _ensure_bridge() -> _Bridge:
    """The bridge, created on first use and always living on the GUI thread.

    A worker thread may get here first (a Future finishing early); the new object is then
    moved to the application's thread, or its queued slot would run on a thread with no
    event loop and never fire.
    """
    global _bridge
    with _bridge_lock:
        if _bridge is None:
            app = QCoreApplication.instance()
            if app is None:
                raise RuntimeError("ui.ops needs a QApplication")
            bridge = _Bridge()
            if bridge.thread() is not app.thread():
                bridge.moveToThread(app.thread())
            _bridge = bridge
        return _bridge


def host() -> JobHost:
    """The installed job host.  One is made on first use if none was installed, or if
    the installed one was shut down (``Core.close``: tests start the app many times)."""
    global _host
    with _bridge_lock:
        if _host is None or _host.closed:
            _host = JobHost()
        return _host


def on_gui(fn: Callable[[], None]) -> None:
    """Run ``fn`` on the GUI thread (soon, from the event loop).  Thread-safe."""
    _ensure_bridge().invoke.emit(fn)


def _alive(obj: QObject | None) -> bool:
    return obj is None or shiboken6.isValid(obj)


def when_done(
    future: Future[T],
    success: Callable[[T], None],
    failure: Callable[[BaseException], None] | None = None,
    *,
    parent: QObject | None = None,
) -> Future[T]:
    """Call ``success(result)`` or ``failure(exc)`` on the GUI thread when done.

    Nothing is called if ``parent`` was deleted meanwhile (a closed dialog).
    """

    def done(fut: Future[T]) -> None:
        def deliver() -> None:
            if not _alive(parent):
                return
            if fut.cancelled():
                return
            exc = fut.exception()
            if exc is None:
                success(fut.result())
            elif failure is not None:
                failure(exc)
            else:
                from ui.errors import show_error

                show_error(parent if isinstance(parent, QWidget) else None, exc)

        on_gui(deliver)

    future.add_done_callback(done)
    return future


class Op(Generic[T]):
    """Builder for one background operation started from the GUI."""

    def __init__(
        self,
        parent: QWidget | None,
        fn: Callable[[Job], T],
        *,
        lane: Lane = Lane.QUERY,
    ) -> None:
        """``lane``: ``Lane.QUERY`` for what an operator waits for (DB writes, password
        hashing), ``Lane.NET`` for one network call, ``Lane.LONG`` for a sync."""
        self._parent = parent
        self._fn = fn
        self._lane = lane
        self._success: Callable[[T], None] | None = None
        self._failure: Callable[[BaseException], None] | None = None
        self._cancelled: Callable[[], None] | None = None
        self._progress_label: str | None = None
        self._cancellable = True
        self.job: Job | None = None

    def on_success(self, fn: Callable[[T], None]) -> Op[T]:
        self._success = fn
        return self

    def on_failure(self, fn: Callable[[BaseException], None]) -> Op[T]:
        self._failure = fn
        return self

    def on_cancelled(self, fn: Callable[[], None]) -> Op[T]:
        """``fn()`` instead of the failure callback when the job was cancelled (it stopped
        early, or never started)."""
        self._cancelled = fn
        return self

    def with_progress(self, label: str, *, cancellable: bool = True) -> Op[T]:
        self._progress_label = label
        self._cancellable = cancellable
        return self

    def run(self) -> Future[T]:
        dialog: QProgressDialog | None = None
        if self._progress_label is not None:
            dialog = QProgressDialog(self._progress_label, "Cancel", 0, 0, self._parent)
            dialog.setWindowTitle("Müttefik Desk")
            dialog.setWindowModality(Qt.WindowModality.WindowModal)
            dialog.setMinimumDuration(400)
            dialog.setAutoClose(False)
            dialog.setAutoReset(False)
            if not self._cancellable:
                dialog.setCancelButton(None)

        def report(done: int, total: int, text: str) -> None:
            def update() -> None:
                if dialog is not None and shiboken6.isValid(dialog):
                    dialog.setMaximum(max(total, 0))
                    dialog.setValue(min(done, total) if total else 0)
                    if text:
                        dialog.setLabelText(text)

            on_gui(update)

        job = Job(report if dialog is not None else None)
        self.job = job
        if dialog is not None:
            dialog.canceled.connect(job.cancel.set)
        future = host().submit(self._lane, self._fn, job)

        def finish_success(result: T) -> None:
            _close(dialog)
            if self._success is not None:
                self._success(result)

        def finish_failure(exc: BaseException) -> None:
            _close(dialog)
            if isinstance(exc, OperationCancelled) and job.cancelled:
                if self._cancelled is not None:
                    self._cancelled()
                return
            if self._failure is not None:
                self._failure(exc)
            else:
                from ui.errors import show_error

                show_error(self._parent, exc)

        # Nothing is delivered into a parent that was deleted meanwhile (a closed dialog).
        when_done(future, finish_success, finish_failure, parent=self._parent)
        return future


def _close(dialog: QProgressDialog | None) -> None:
    if dialog is not None and shiboken6.isValid(dialog):
        dialog.close()
        dialog.deleteLater()
