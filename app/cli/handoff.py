"""Handing a command's work to the app that has the profile open.

The app listens on a local socket per profile (``ui/single_instance.py``, a
QLocalServer named :func:`server_name`).  On Linux and macOS that is a Unix socket at
:func:`socket_path` (Qt puts a plain name in ``QDir::tempPath()``: ``$TMPDIR`` or
``/tmp``), so a command without Qt reaches it with :mod:`socket`.  On Windows it is a
named pipe: not supported yet, the command then meets the profile lock as before.

The protocol is one line each way, the values JSON strings::

    sync "<store name>"          ->  ok "<store name as the app knows it>"
                                 or  refused "<message for the seller>"
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from pathlib import Path
from typing import NamedTuple

from app.paths import Profile

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


def encode_request(store_name: str) -> bytes:
    return b"sync " + json.dumps(store_name).encode() + b"\n"


def decode_request(line: bytes) -> str | None:
    """The store name of a ``sync`` line, or None for anything else."""
    verb, _, rest = line.strip().partition(b" ")
    if verb != b"sync":
        return None
    try:
        name = json.loads(rest)
    except ValueError:
        return None
    return name if isinstance(name, str) else None


def encode_answer(accepted: bool, text: str) -> bytes:
    return (b"ok " if accepted else b"refused ") + json.dumps(text).encode() + b"\n"


def ask_app_to_sync(
    profile: Profile, store_name: str, timeout: float = ANSWER_TIMEOUT
) -> Answer | None:
    """Ask the running app to sync ``store_name`` now; None if no app answers (none
    runs, a stale socket, Windows), so the caller does the work itself."""
    path = socket_path(profile)
    if path is None:
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
            sock.sendall(encode_request(store_name))
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
