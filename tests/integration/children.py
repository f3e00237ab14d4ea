"""Child processes for the crash tests: started with stdout piped, read line by line
with a timeout (a stuck child fails the test), killed and cleaned up whatever happens."""

from __future__ import annotations

import os
import selectors
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINE_TIMEOUT = 30.0


class LineReader:
    """Reads whole lines from a pipe with select, so a stuck child fails the test."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        self.fd = proc.stdout.fileno()
        self.buffer = b""
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.fd, selectors.EVENT_READ)

    def readline(self) -> str | None:
        while b"\n" not in self.buffer:
            if not self.selector.select(timeout=LINE_TIMEOUT):
                raise AssertionError(f"child wrote no line in {LINE_TIMEOUT} s")
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()

    def rest(self) -> list[str]:
        """Every complete line left in the pipe (after the child died)."""
        lines = []
        while (line := self.readline()) is not None:
            lines.append(line)
        return lines

    def close(self) -> None:
        self.selector.close()


@contextmanager
def reading_child(
    args: list[str], env: dict[str, str]
) -> Iterator[tuple[subprocess.Popen[bytes], LineReader]]:
    """Start ``args`` in the repository (on PYTHONPATH) with stdout piped; on leaving,
    kill the child if it still runs and close the pipe."""
    child = subprocess.Popen(
        args, stdout=subprocess.PIPE, env=dict(env, PYTHONPATH=str(ROOT)), cwd=ROOT
    )
    reader = LineReader(child)
    try:
        yield child, reader
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        reader.close()
        assert child.stdout is not None
        child.stdout.close()
