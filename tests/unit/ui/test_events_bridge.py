"""ui.events.QtEvents: every notice reaches the GUI thread, and nothing after close()."""

from __future__ import annotations

import threading

import shiboken6
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from app.jobs import JobChanged, JobStatus
from app.notices import Notice, Notices, OrdersChanged, StoresChanged
from ui.events import QtEvents


def test_notice_from_worker_thread_arrives_on_gui(qtbot) -> None:
    notices = Notices()
    bridge = QtEvents(notices)
    got: list[tuple[OrdersChanged, bool]] = []
    gui = QApplication.instance().thread()
    bridge.on(OrdersChanged, lambda n: got.append((n, QThread.currentThread() is gui)))
    notice = OrdersChanged(frozenset({3}), ("A-1",), new=1)
    thread = threading.Thread(target=lambda: notices.publish(notice))
    with qtbot.waitSignal(bridge.published, timeout=2000):
        thread.start()
    thread.join()
    assert got == [(notice, True)]
    bridge.close()


def test_every_notice_is_forwarded_and_slots_get_only_their_class(qtbot) -> None:
    """No list of forwarded names: a notice class the bridge never heard of arrives too."""
    notices = Notices()
    bridge = QtEvents(notices)
    stores: list[Notice] = []
    everything: list[Notice] = []
    bridge.on(StoresChanged, stores.append)
    bridge.on(Notice, everything.append)
    job = JobChanged(JobStatus(name="Order sync"))
    notices.publish(job)
    notices.publish(StoresChanged(frozenset({1})))
    qtbot.waitUntil(lambda: len(everything) == 2, timeout=2000)
    assert stores == [StoresChanged(frozenset({1}))]
    assert everything == [job, StoresChanged(frozenset({1}))]
    bridge.close()


def test_queued_notice_is_dropped_after_close(qtbot) -> None:
    """A notice already queued when shutdown closes the bridge must not reach views."""
    notices = Notices()
    bridge = QtEvents(notices)
    got: list[Notice] = []
    bridge.on(StoresChanged, got.append)
    with qtbot.assertNotEmitted(bridge.published, wait=100):
        notices.publish(StoresChanged(frozenset({1})))  # queued, not yet delivered
        bridge.close()
        notices.publish(StoresChanged(frozenset({2})))  # after close: not even queued
    assert got == []


def test_a_deleted_owner_is_no_longer_called(qtbot) -> None:
    """A tab rebuilt after a role change is deleted; notices must not reach its slots
    (calling into a deleted C++ object raised in the GUI's event loop)."""
    from PySide6.QtWidgets import QWidget

    notices = Notices()
    bridge = QtEvents(notices)

    class View(QWidget):
        def __init__(self) -> None:
            super().__init__()
            self.got: list[Notice] = []

        def changed(self, notice: Notice) -> None:
            self.setWindowTitle("refreshed")  # touches the C++ object
            self.got.append(notice)

    view, other = View(), View()
    bridge.on(StoresChanged, view.changed)  # owner: the bound method's widget
    bridge.on(StoresChanged, lambda n: other.changed(n), owner=other)
    kept: list[Notice] = []
    bridge.on(StoresChanged, kept.append)
    view.deleteLater()
    other.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(view) and not shiboken6.isValid(other))
    notices.publish(StoresChanged(frozenset({1})))
    qtbot.waitUntil(lambda: bool(kept), timeout=2000)
    assert kept == [StoresChanged(frozenset({1}))]
    bridge.close()
