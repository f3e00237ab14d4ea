"""One running window per profile (QLocalServer).  A second launch raises the first;
``muttefik sync`` hands its store's sync, ``muttefik purge`` the privacy purge, to the
running app (``app/cli/handoff.py``)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from app.cli.handoff import HISTORY, PURGE, decode_request, encode_answer, server_name
from app.paths import Profile

log = logging.getLogger("muttefik.ui")

__all__ = ["Reply", "SingleInstance", "server_name"]

#: ``reply(accepted, text)`` answers a hand-off once: the store's name, or a message.
Reply = Callable[[bool, str], None]


class SingleInstance(QObject):
    """Signals: ``raise_requested`` when another launch asked us to come forward;
    ``sync_requested(store_name, reply)`` when a command handed us a store's sync,
    ``purge_requested(reply)`` the privacy purge, ``history_requested(store_name, days,
    reply)`` a store's order history load (``days`` 0: resume or the setting) (the
    receiver calls ``reply`` once, on the GUI thread, without waiting on anything)."""

    raise_requested = Signal()
    sync_requested = Signal(str, object)
    purge_requested = Signal(object)
    history_requested = Signal(str, int, object)

    def __init__(self, profile: Profile) -> None:
        super().__init__()
        self.name = server_name(profile)
        self.server: QLocalServer | None = None

    def notify_running(self, timeout_ms: int = 500) -> bool:
        """If another instance runs, ask it to raise its window and return True."""
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(timeout_ms):
            return False
        socket.write(b"raise\n")
        socket.waitForBytesWritten(timeout_ms)
        socket.disconnectFromServer()
        return True

    def listen(self) -> bool:
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            # A stale socket from a crashed run: remove it and try once more.
            QLocalServer.removeServer(self.name)
            if not server.listen(self.name):
                log.warning("single-instance server failed: %s", server.errorString())
                return False
        server.newConnection.connect(self._on_connection)
        self.server = server
        return True

    def _on_connection(self) -> None:
        assert self.server is not None
        while (socket := self.server.nextPendingConnection()) is not None:
            pending = bytearray()  # a request line may arrive in pieces
            socket.readyRead.connect(lambda s=socket, p=pending: self._read(s, p))

    def _read(self, socket: QLocalSocket, pending: bytearray) -> None:
        pending += bytes(socket.readAll().data())
        data = bytes(pending)
        if data.startswith(b"raise"):
            self.raise_requested.emit()
            socket.disconnectFromServer()
            return
        if b"\n" not in data:
            return
        socket.readyRead.disconnect()
        request = decode_request(data.split(b"\n", 1)[0])
        if request is None:
            socket.disconnectFromServer()
            return
        answered = False

        def reply(accepted: bool, text: str) -> None:
            nonlocal answered
            if answered:
                return
            answered = True
            # Written without waiting: the socket sends it from the event loop.
            socket.write(encode_answer(accepted, text))
            socket.disconnectFromServer()

        if request.verb == PURGE:
            log.info("a command handed the privacy purge to the app")
            self.purge_requested.emit(reply)
            return
        if request.verb == HISTORY:
            log.info("a command handed a store's order history load to the app")
            self.history_requested.emit(request.value, request.days or 0, reply)
            return
        log.info("a command handed a store's sync to the app")
        self.sync_requested.emit(request.value, reply)
