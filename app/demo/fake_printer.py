"""A stand-in thermal printer for the demo: a raw port on loopback that takes ZPL jobs
the way a Zebra's port 9100 does, and keeps only how many it took and their sizes (the
labels themselves carry a fake buyer's address: they are read and dropped)."""

from __future__ import annotations

import logging
import socket
import threading

log = logging.getLogger("muttefik.demo")


class FakeZplPrinter:
    """``start()`` listens on 127.0.0.1 (a free port); ``address`` is "127.0.0.1:PORT";
    ``jobs`` counts the connections that sent bytes; ``close()`` stops it."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self.job_sizes: list[int] = []
        self.received = threading.Event()

    def start(self) -> FakeZplPrinter:
        sock = socket.create_server(("127.0.0.1", 0))
        sock.settimeout(0.2)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, name="demo-zpl-printer", daemon=True)
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        assert self._sock is not None
        return int(self._sock.getsockname()[1])

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def jobs(self) -> int:
        with self._lock:
            return len(self.job_sizes)

    def _serve(self) -> None:
        assert self._sock is not None
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                size = 0
                try:
                    while chunk := conn.recv(65536):
                        size += len(chunk)
                except OSError:
                    pass
            if size:
                with self._lock:
                    self.job_sizes.append(size)
                self.received.set()
                log.info("demo thermal printer took a job of %d bytes", size)

    def close(self) -> None:
        self._closed.set()
        if self._sock is not None:
            self._sock.close()
        if self._thread is not None:
            self._thread.join(2)
