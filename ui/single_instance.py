"""One running window per profile (QLocalServer).  A second launch raises the first."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from app.paths import Profile

log = logging.getLogger("muttefik.ui")


def server_name(profile: Profile) -> str:
    return f"muttefik-desk-{profile.ident}"


class SingleInstance(QObject):
    """Signals: ``raise_requested`` when another launch asked us to come forward."""

    raise_requested = Signal()

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
            socket.readyRead.connect(lambda s=socket: self._read(s))

    def _read(self, socket: QLocalSocket) -> None:
        data = bytes(socket.readAll().data())
        if b"raise" in data:
            self.raise_requested.emit()
        socket.disconnectFromServer()
