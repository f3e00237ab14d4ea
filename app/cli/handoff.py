"""Handing a command's work to the app that has the profile open.

The app listens on a local socket per profile (``ui/single_instance.py``, a
QLocalServer named :func:`server_name`).  On Linux and macOS that is a Unix socket at
:func:`socket_path` (Qt puts a plain name in ``QDir::tempPath()``: ``$TMPDIR`` or
``/tmp``), so a command without Qt reaches it with :mod:`socket`.  On Windows it is a
named pipe: not supported yet, the command then meets the profile lock as before.

The protocol is one line each way, the values JSON strings::

    sync "<store name>"          ->  ok "<store name as the app knows it>"
                                 or  refused "<message for the seller>"
    purge ""                     ->  ok "<what the app does>"  or  refused "<message>"
    history "<store name>" [days] ->  ok "<store name>"  or  refused "<message>"
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from app.errors import DatabaseInUse
from app.paths import Profile
from app.vault.lock import ProfileLock

#: How long a command waits for the app's answer (the app reads one DB row).
ANSWER_TIMEOUT = 10.0


def server_name(profile: Profile) -> str:
    """The app's local server name for ``profile`` (one running window per profile).

    Named by the folder's resolved path, not by ``profile.ident``: the app listens before
    it creates ``profile.json`` on a first start, and the id in it would then name
    another socket for every later process."""
    digest = hashlib.sha256(str(profile.root.resolve()).encode()).hexdigest()[:16]
    return f"muttefik-desk-{digest}"


def socket_path(profile: Profile) -> Path | None:
    """Where the app's server listens, or None where a command cannot reach it yet."""
    if os.name == "nt":
        return None
    return Path(os.path.normpath(os.environ.get("TMPDIR") or "/tmp")) / server_name(profile)


class Answer(NamedTuple):
    accepted: bool
    text: str  # the store's name if accepted, else the app's message


#: What a command can hand to the app.
SYNC = "sync"
PURGE = "purge"
HISTORY = "history"
_VERBS = (SYNC, PURGE, HISTORY)


class Request(NamedTuple):
    verb: str  # SYNC, PURGE or HISTORY
    value: str  # the store's name (sync, history); "" (purge)
    days: int | None = None  # history: the window asked for; None: resume or the setting


def encode_request(store_name: str, verb: str = SYNC, days: int | None = None) -> bytes:
    tail = b"" if days is None else b" " + str(int(days)).encode()
    return verb.encode() + b" " + json.dumps(store_name).encode() + tail + b"\n"


def decode_request(line: bytes) -> Request | None:
    """A ``sync``, ``purge`` or ``history`` line, or None for anything else."""
    verb, _, rest = line.strip().partition(b" ")
    if verb.decode(errors="replace") not in _VERBS:
        return None
    try:
        value, end = json.JSONDecoder().raw_decode(rest.decode())
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(value, str):
        return None
    tail = rest.decode()[end:].strip()
    if not tail:
        return Request(verb.decode(), value)
    if verb != HISTORY.encode() or not tail.isdigit() or len(tail) > 4:
        return None
    return Request(verb.decode(), value, int(tail))


def encode_answer(accepted: bool, text: str) -> bytes:
    return (b"ok " if accepted else b"refused ") + json.dumps(text).encode() + b"\n"


def ask_app_to_sync(
    profile: Profile, store_name: str, timeout: float = ANSWER_TIMEOUT
) -> Answer | None:
    """Ask the running app to sync ``store_name`` now; None if no app answers (none
    runs, a stale socket, Windows), so the caller does the work itself."""
    return _ask(profile, encode_request(store_name), timeout)


def ask_app_to_load_history(
    profile: Profile, store_name: str, days: int | None, timeout: float = ANSWER_TIMEOUT
) -> Answer | None:
    """Ask the running app to load ``store_name``'s order history through Amazon's order
    reports (``days``; None: resume, or the setting); None if no app answers."""
    return _ask(profile, encode_request(store_name, HISTORY, days), timeout)


def ask_app_to_purge(profile: Profile, timeout: float = ANSWER_TIMEOUT) -> Answer | None:
    """Ask the running app to run its privacy purge now (its scheduled job, as the
    system); None if no app answers, so the caller purges itself."""
    return _ask(profile, encode_request("", PURGE), timeout)


def _ask(profile: Profile, request: bytes, timeout: float) -> Answer | None:
    path = socket_path(profile)
    if path is None:
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
            sock.sendall(request)
            data = b""
            while b"\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        except OSError:  # no app, a stale socket, or no answer in time
            return None
    verb, _, rest = data.partition(b" ")
    try:
        text = json.loads(rest)
    except ValueError:
        return None
    if verb not in (b"ok", b"refused") or not isinstance(text, str):
        return None
    return Answer(verb == b"ok", text)


# --- the other way: the app opening while a command holds the profile -----------------
#
# A command that holds the profile lock for long (``muttefik sync``) listens on a socket
# of its own beside the app's, :func:`release_path` (the app, starting, takes over its
# own path, and a command there would look like a running app).  The app asks
# ``release`` and reads ``ok``; the command stops between pages, and the connection
# ends when its process has let the lock go.

#: How long the app waits for a command to stop and let the profile go.
RELEASE_TIMEOUT = 30.0


def release_path(profile: Profile) -> Path | None:
    """Where a command holding ``profile`` listens for the app, or None (Windows)."""
    path = socket_path(profile)
    return None if path is None else path.with_name(path.name + "-command")


def ask_command_to_release(profile: Profile, timeout: float = RELEASE_TIMEOUT) -> bool | None:
    """Ask the command holding ``profile`` to stop.  True once it agreed and its side
    of the connection closed (after it let the lock go); False if it did not within
    ``timeout``; None if no command listens.  Blocks: never on the GUI thread."""
    path = release_path(profile)
    if path is None:
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except OSError:  # no command, or a stale socket
            return None
        data = b""
        try:
            sock.sendall(b"release\n")
            while chunk := sock.recv(4096):  # until the command's side is closed
                data += chunk
        except OSError:  # not let go in time
            return False
    return data.startswith(b"ok")


class ReleaseListener:
    """In a command that holds the profile lock: when the app asks, ``on_release()``
    (e.g. set the sync's cancel event) and :attr:`asked` is set.  :meth:`start` once
    the lock is held; :meth:`close` after it was released (it ends the app's wait)."""

    def __init__(self, profile: Profile, on_release: Callable[[], None]) -> None:
        self.path = release_path(profile)
        self.on_release = on_release
        self.asked = threading.Event()
        self._server: socket.socket | None = None
        self._peers: list[socket.socket] = []

    def start(self) -> None:
        if self.path is None:
            return
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.path.unlink(missing_ok=True)  # we hold the lock: a leftover is stale
            server.bind(str(self.path))
            server.listen(4)
        except OSError:
            server.close()  # the app then cannot ask: it tells the seller, as before
            return
        self._server = server
        threading.Thread(target=self._serve, name="release-listener", daemon=True).start()

    def _serve(self) -> None:
        server = self._server
        assert server is not None
        while True:
            try:
                peer, _ = server.accept()
            except OSError:
                return  # closed
            try:
                peer.settimeout(5)
                request = peer.recv(64)
            except OSError:
                peer.close()
                continue
            if not request.startswith(b"release"):
                peer.close()
                continue
            self.asked.set()
            self.on_release()
            try:
                peer.sendall(b"ok\n")
            except OSError:
                peer.close()
                continue
            self._peers.append(peer)  # closed by close(), once the lock is let go

    def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            with contextlib.suppress(OSError):
                server.shutdown(socket.SHUT_RDWR)  # wakes the accept() under way (Linux)
            server.close()
            if self.path is not None:
                self.path.unlink(missing_ok=True)
        for peer in self._peers:
            peer.close()
        self._peers.clear()

    def __enter__(self) -> ReleaseListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def take_profile_lock(profile: Profile, timeout: float | None = None) -> ProfileLock:
    """The profile lock for the app: if a command holds it, ask that command to stop and
    take the lock once it let go.  Raises :class:`DatabaseInUse` (saying a command did
    not let go, when one was asked).  Blocks up to ``timeout`` (default
    :data:`RELEASE_TIMEOUT`): a worker thread only."""
    lock = ProfileLock(profile.lock_path)
    try:
        lock.acquire()
        return lock
    except DatabaseInUse:
        wait = RELEASE_TIMEOUT if timeout is None else timeout
        released = ask_command_to_release(profile, wait)
        if released is None:  # the app, or a command that cannot be asked
            raise
    try:
        lock.acquire()  # the command's connection ended after it let the lock go
    except DatabaseInUse as exc:
        raise DatabaseInUse(
            "A `muttefik` command has this profile open and did not stop when asked. "
            "Wait for it to finish, or stop it (Ctrl-C), then try again."
        ) from exc
    return lock


@contextlib.contextmanager
def windows_lock_hint(windows: bool = os.name == "nt") -> Iterator[None]:
    """Around a command's open: on Windows, where the app cannot be asked yet, a profile
    lock failure says so (elsewhere the app took the work or was asked first)."""
    try:
        yield
    except DatabaseInUse as exc:
        if not windows:
            raise
        raise DatabaseInUse(
            f"{exc.message} Handing the work to the running app is not supported on "
            "Windows yet: close the app first.",
            detail=exc.detail,
        ) from exc
