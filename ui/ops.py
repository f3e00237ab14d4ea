"""Background work for the GUI (after Anki's ``aqt/operations``).

The GUI starts work with :class:`Op`; the work function runs on a worker pool and gets
a :class:`Job` (cancel event + progress reporter), never widgets.  Results, failures and
progress come back on the GUI thread through one QObject with a queued signal.

    Op(parent, lambda job: services.sync.sync_store(...)) \\
        .on_success(show).on_failure(show_error).with_progress("Syncing orders…").run()

For DB reads use :func:`when_done` on the Future that ``vault.run`` returns.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QProgressDialog, QWidget

from app.errors import OperationCancelled

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
        except Exception:
            log.exception("GUI callback failed")
            from ui.errors import report_exception

            report_exception(*_exc_info())


def _exc_info() -> tuple[Any, Any, Any]:
    import sys

    return sys.exc_info()


_bridge: _Bridge | None = None
_bridge_lock = threading.Lock()
_default_pool: Executor | None = None


def install(pool: Executor | None = None) -> None:
    """Create the bridge (startup calls this on the GUI thread once the app exists)."""
    global _default_pool
    _ensure_bridge()
    if pool is not None:
        _default_pool = pool


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


def default_pool() -> Executor:
    global _default_pool
    if _default_pool is None:
        _default_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="muttefik-net")
    return _default_pool


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


class Job:
    """Handed to the work function: check ``cancelled`` between batches, report progress."""

    def __init__(self, on_progress: Callable[[int, int, str], None] | None = None) -> None:
        self.cancel = threading.Event()
        self._on_progress = on_progress

    @property
    def cancelled(self) -> bool:
        return self.cancel.is_set()

    def check(self) -> None:
        if self.cancel.is_set():
            raise OperationCancelled()

    def progress(self, done: int, total: int = 0, text: str = "") -> None:
        """Thread: worker.  Throttling is the receiver's job."""
        if self._on_progress is not None:
            self._on_progress(done, total, text)


class Op(Generic[T]):
    """Builder for one background operation started from the GUI."""

    def __init__(
        self,
        parent: QWidget | None,
        fn: Callable[[Job], T],
        *,
        pool: Executor | None = None,
    ) -> None:
        self._parent = parent
        self._fn = fn
        self._pool = pool
        self._success: Callable[[T], None] | None = None
        self._failure: Callable[[BaseException], None] | None = None
        self._progress_label: str | None = None
        self._cancellable = True
        self.job: Job | None = None

    def on_success(self, fn: Callable[[T], None]) -> Op[T]:
        self._success = fn
        return self

    def on_failure(self, fn: Callable[[BaseException], None]) -> Op[T]:
        self._failure = fn
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
        future = (self._pool or default_pool()).submit(self._fn, job)

        def finish_success(result: T) -> None:
            _close(dialog)
            if self._success is not None:
                self._success(result)

        def finish_failure(exc: BaseException) -> None:
            _close(dialog)
            if isinstance(exc, OperationCancelled) and job.cancelled:
                return
            if self._failure is not None:
                self._failure(exc)
            else:
                from ui.errors import show_error

                show_error(self._parent, exc)

        when_done(future, finish_success, finish_failure)
        return future


def _close(dialog: QProgressDialog | None) -> None:
    if dialog is not None and shiboken6.isValid(dialog):
        dialog.close()
        dialog.deleteLater()
