"""ui.ops: work runs on the job host's lanes; results reach the GUI thread; cancel and
failures behave."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
import shiboken6
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from app.errors import OperationCancelled, VaultClosed
from app.jobs import JobHost, Lane
from ui import ops


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    executor = ThreadPoolExecutor(max_workers=2)
    yield executor
    executor.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(autouse=True)
def jobs(monkeypatch: pytest.MonkeyPatch) -> Iterator[JobHost]:
    """The host Op submits to, as startup installs the app's."""
    host = JobHost()
    monkeypatch.setattr(ops, "_host", None)
    ops.install(host)
    yield host
    host.shutdown()


def _on_gui_thread() -> bool:
    return QThread.currentThread() is QApplication.instance().thread()


def test_success_runs_on_gui_thread(qtbot) -> None:
    worker_thread: list[int] = []
    seen: list[tuple[int, bool]] = []

    def work(job: ops.Job) -> int:
        worker_thread.append(threading.get_ident())
        return 42

    ops.Op(None, work).on_success(lambda r: seen.append((r, _on_gui_thread()))).run()
    qtbot.waitUntil(lambda: bool(seen))
    assert seen == [(42, True)]
    assert worker_thread[0] != threading.get_ident()


@pytest.mark.parametrize("lane", list(Lane))
def test_op_runs_on_the_lane_it_names(qtbot, lane: Lane) -> None:
    """Queries by default (sign-in's Argon2 among them): never the network lane."""
    names: list[str] = []

    def work(job: ops.Job) -> None:
        names.append(threading.current_thread().name)

    op = ops.Op(None, work) if lane is Lane.QUERY else ops.Op(None, work, lane=lane)
    op.run().result(5)
    assert names[0].startswith(f"muttefik-{lane}")


def test_a_shut_down_host_is_replaced_on_next_use(jobs: JobHost) -> None:
    """Core.close shuts the installed host down; a later start (tests) gets a new one."""
    assert ops.host() is jobs
    jobs.shutdown()
    fresh = ops.host()
    try:
        assert fresh is not jobs and not fresh.closed
    finally:
        fresh.shutdown()


def test_failure_goes_to_failure_callback(qtbot) -> None:
    errors: list[BaseException] = []

    def work(job: ops.Job) -> None:
        raise ValueError("boom")

    ops.Op(None, work).on_failure(errors.append).run()
    qtbot.waitUntil(lambda: bool(errors))
    assert isinstance(errors[0], ValueError)


def test_cancel_sets_event_and_suppresses_failure(qtbot) -> None:
    started = threading.Event()
    failures: list[BaseException] = []

    def work(job: ops.Job) -> None:
        started.set()
        job.cancel.wait(5)
        job.check()

    op = ops.Op(None, work).on_failure(failures.append)
    future = op.run()
    assert started.wait(5)
    assert op.job is not None
    op.job.cancel.set()
    with pytest.raises(OperationCancelled):
        future.result(5)
    qtbot.wait(50)  # let a (wrong) failure callback arrive if it were going to
    assert failures == []


def test_when_done_first_use_from_worker_thread_still_delivers(qtbot, pool) -> None:
    """The bridge must live on the GUI thread even if a worker creates it."""
    ops._bridge = None  # simulate a fresh start
    results: list[bool] = []
    future: Future[int] = pool.submit(lambda: 7)
    future.result()
    # Attach from a worker thread: the done-callback runs there and creates the bridge.
    pool.submit(lambda: ops.when_done(future, lambda r: results.append(_on_gui_thread()))).result()
    qtbot.waitUntil(lambda: bool(results))
    assert results == [True]


@pytest.mark.skipif(
    sys.version_info >= (3, 12),
    reason="None is immortal from Python 3.12 on (PEP 683); the lost references cannot free it",
)
def test_many_calls_do_not_corrupt_the_interpreter(qtbot) -> None:
    """PySide6 6.12.0 dropped one reference to None per processEvents() call (the
    interpreter aborted after a few thousand).  500 calls must not lose 250."""
    import gc

    count = [0]
    for _ in range(3000):
        ops.on_gui(lambda: count.__setitem__(0, count[0] + 1))
    qtbot.waitUntil(lambda: count[0] == 3000)
    gc.collect()
    before = sys.getrefcount(None)
    for _ in range(500):
        QApplication.processEvents()
    assert before - sys.getrefcount(None) < 250


def test_a_callback_after_the_data_file_closed_is_dropped_without_an_error_box(
    qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Quitting right after start: a table's next read landed after Core.close; the
    # error box it raised kept the app from exiting (seen with the startup bench).
    reported: list[object] = []
    monkeypatch.setattr("ui.errors.report_exception", lambda *a, **k: reported.append(a))
    ran = threading.Event()

    def late() -> None:
        ran.set()
        raise VaultClosed()

    ops.on_gui(late)
    qtbot.waitUntil(ran.is_set, timeout=2000)
    QApplication.processEvents()
    assert reported == []


def test_a_closed_dialog_gets_no_late_answer(qtbot) -> None:
    """An answer that comes after the Op's parent was deleted (a closed dialog) is
    dropped instead of reaching deleted widgets."""
    import threading

    from PySide6.QtWidgets import QWidget

    from ui import ops

    widget = QWidget()
    gate = threading.Event()
    got: list[object] = []
    future = ops.Op(widget, lambda _job: gate.wait(5)).on_success(got.append).run()
    widget.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(widget), timeout=5000)
    gate.set()
    future.result(timeout=5)
    flushed: list[bool] = []
    ops.on_gui(lambda: flushed.append(True))  # queued after the answer
    qtbot.waitUntil(lambda: bool(flushed), timeout=5000)
    assert got == []
