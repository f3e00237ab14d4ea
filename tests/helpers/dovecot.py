"""A real IMAP server (dovecot) on loopback for integration tests, and its fixtures.

After the recipe in ``../shared/reference/test-services.md``: a self-contained config in
a temp folder (o+x, so dovecot's own users can reach it), a static passdb, a free
port, ``dovecot -c`` (it daemonizes) and ``kill <master.pid>`` to stop.  Runs as root
(here and on CI); when dovecot is absent, :func:`tests.support.service_missing`.

Fixtures (registered in ``tests/conftest.py``):

- ``dovecot`` (session): plain IMAP on 127.0.0.1; ``imap_mailbox``: a fresh user on it
  per test, so tests never see each other's mail.
- ``dovecot_tls`` (session): ``ssl = required``, STARTTLS on ``port`` and implicit TLS on
  ``tls_port``, with a certificate from ``mail_ca`` (``tests/helpers/certs.py``);
  ``imap_tls_mailbox``: a fresh user on it.
- ``own_dovecot``: a server of the test's own that it may stop or kill mid-test, or send
  a wrong password to (dovecot then delays every login from 127.0.0.1 for a few seconds).

:class:`CuttingProxy` forwards a port to the server and cuts the connection as soon as
the server starts answering a FETCH: "the server went away mid-fetch", every time.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient

from app.mail.models import MailAccount, MailboxKind, Security
from tests.helpers.certs import TestCA, make_test_ca
from tests.support import service_missing

DOVECOT = "/usr/sbin/dovecot"
HOST = "127.0.0.1"
PASSWORD = "imap-test-password"
STARTUP_SECONDS = 15.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _dovecot_binary() -> str:
    found = shutil.which("dovecot") or (DOVECOT if os.path.exists(DOVECOT) else None)
    if found is None:
        service_missing("dovecot not installed (apt-get install dovecot-imapd)")
    try:
        pwd.getpwnam("dovecot")
        pwd.getpwnam("dovenull")
    except KeyError:
        service_missing("the dovecot and dovenull users are missing (install dovecot-imapd)")
    if os.geteuid() != 0:
        service_missing("dovecot test servers run as root (as on CI)")
    assert found is not None
    return found


CONFIG = """\
protocols = imap
listen = {host}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
disable_plaintext_auth = no
first_valid_uid = 1
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:{root}/mail/%u
mail_max_userip_connections = 200
mailbox_idle_check_interval = 1 secs
shutdown_clients = yes
# a wrong password is answered at once (its penalty on the next logins from the same
# address stays: test wrong passwords on own_dovecot)
auth_failure_delay = 0 secs
{ssl}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/mail/%u
}}
namespace inbox {{
  inbox = yes
  mailbox Sent {{
    special_use = \\Sent
    auto = create
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {tls_port}
    ssl = yes
  }}
}}
"""


@dataclass
class DovecotServer:
    """One dovecot instance in ``root`` (``tls``: ssl = required with the CA's cert)."""

    root: Path
    tls: TestCA | None = None
    port: int = 0
    tls_port: int = 0
    host: str = HOST
    _users: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> DovecotServer:
        binary = _dovecot_binary()
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o711)
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir(exist_ok=True)
        dovecot = pwd.getpwnam("dovecot")
        os.chown(self.root / "mail", dovecot.pw_uid, dovecot.pw_gid)
        self.port = self.port or free_port()
        self.tls_port = self.tls_port or free_port()
        if self.tls is not None:
            ssl = (
                f"ssl = required\nssl_cert = <{self.tls.server_cert}\n"
                f"ssl_key = <{self.tls.server_key}"
            )
        else:
            ssl = "ssl = no"
        conf = self.root / "dovecot.conf"
        conf.write_text(
            CONFIG.format(
                host=self.host,
                root=self.root,
                port=self.port,
                tls_port=self.tls_port,
                ssl=ssl,
                password=PASSWORD,
            )
        )
        # It daemonizes: its output goes to a file, or a pipe would stay open with it.
        errors = self.root / "start.err"
        with errors.open("wb") as err:
            result = subprocess.run(
                [binary, "-c", str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                check=False,
            )
        if result.returncode != 0:
            pytest.fail(f"dovecot did not start: {errors.read_text(errors='replace')}")
        self._wait_listening()
        return self

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.host, self.port), timeout=1) as s,
            ):
                if s.recv(64).startswith(b"* OK"):
                    return
            time.sleep(0.02)  # an external process starting: nothing to await but polling
        self.kill()
        pytest.fail(f"dovecot did not answer on {self.host}:{self.port} in {STARTUP_SECONDS} s")

    @property
    def master_pid(self) -> int | None:
        try:
            return int((self.root / "run" / "master.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def running(self) -> bool:
        pid = self.master_pid
        return pid is not None and _alive(pid)

    def stop(self) -> None:
        """Stop the server as an admin would: clients are disconnected."""
        pid = self.master_pid
        if pid is None or not self.running():
            return
        pids = [pid, *_children(pid)]
        os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pids, seconds=3):
            # dovecot's master may wait ~10 s on a child serving a client: finish it off
            for p in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p, signal.SIGKILL)
            _wait_gone(pids)

    def kill(self) -> None:
        """SIGKILL the master and the processes it started (the server vanishes)."""
        pid = self.master_pid
        if pid is None or not self.running():
            return
        pids = [pid, *_children(pid)]
        for p in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
        _wait_gone(pids)
        with contextlib.suppress(FileNotFoundError):
            (self.root / "run" / "master.pid").unlink()

    def log_text(self) -> str:
        try:
            return (self.root / "dovecot.log").read_text(errors="replace")
        except OSError:
            return ""

    # --- users ---------------------------------------------------------------------

    def new_user(self) -> ImapMailbox:
        """A new user with an empty mailbox.  The passdb is static (every user name has
        the password ``PASSWORD``; a wrong one is refused), so a user needs no file
        change: dovecot's passwd-file is not re-read within the same second."""
        with self._lock:
            user = f"seller{next(self._users)}@example.com"
        return ImapMailbox(server=self, user=user, password=PASSWORD)


@dataclass
class ImapMailbox:
    """One user's mailbox on a :class:`DovecotServer`, with admin helpers."""

    server: DovecotServer
    user: str
    password: str

    def account(self, security: Security | None = None, **overrides: Any) -> MailAccount:
        """A MailAccount for this mailbox: PLAIN on a plain server; STARTTLS on the TLS
        server's ``port``, TLS on its ``tls_port``."""
        tls = self.server.tls is not None
        security = security or (Security.STARTTLS if tls else Security.PLAIN)
        port = self.server.tls_port if security is Security.TLS else self.server.port
        account = MailAccount(
            store_id=1,
            kind=MailboxKind.IMAP,
            from_address="seller@example.com",
            imap_host=self.server.host,
            imap_port=port,
            imap_security=security,
            imap_user=self.user,
        )
        return replace(account, **overrides)

    @contextlib.contextmanager
    def client(self) -> Iterator[Any]:
        """An admin IMAP connection as this user (IMAPClient, UIDs)."""
        tls = self.server.tls
        if tls is not None:
            c = IMAPClient(
                self.server.host,
                port=self.server.tls_port,
                ssl=True,
                ssl_context=tls.client_context(),
                timeout=10,
            )
        else:
            c = IMAPClient(self.server.host, port=self.server.port, ssl=False, timeout=10)
        try:
            c.login(self.user, self.password)
            yield c
        finally:
            with contextlib.suppress(Exception):
                c.logout()

    def append(self, raw: bytes, folder: str = "INBOX", *, seen: bool = False) -> int:
        """APPEND ``raw`` to ``folder``; returns its UID (from APPENDUID)."""
        with self.client() as c:
            answer = c.append(folder, raw, flags=(b"\\Seen",) if seen else ())
        # b"[APPENDUID <validity> <uid>] Append completed."
        text = answer.decode() if isinstance(answer, bytes) else str(answer)
        return int(text.split("]", 1)[0].split()[-1])

    def create_folder(self, folder: str) -> None:
        with self.client() as c:
            if not c.folder_exists(folder):
                c.create_folder(folder)

    def delete_folder(self, folder: str) -> None:
        with self.client() as c:
            c.delete_folder(folder)

    def reset_folder(self, folder: str) -> int:
        """Delete and recreate ``folder`` (not INBOX): its UIDVALIDITY changes and its
        messages are gone.  Returns the new UIDVALIDITY."""
        with self.client() as c:
            old = c.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"]
            c.delete_folder(folder)
            c.create_folder(folder)
            new = c.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"]
        assert new != old, "dovecot gave the recreated folder the same UIDVALIDITY"
        return int(new)

    def uidvalidity(self, folder: str = "INBOX") -> int:
        with self.client() as c:
            return int(c.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])

    def unseen(self, folder: str = "INBOX") -> list[int]:
        with self.client() as c:
            c.select_folder(folder, readonly=True)
            return sorted(c.search(["UNSEEN"]))


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (dovecot's imap, auth, login … processes)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid …: comm may hold spaces, so split after the last ")"
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _wait_gone(pids: list[int], seconds: float = 10) -> bool:
    """Whether all of ``pids`` ended within ``seconds``."""
    deadline = time.monotonic() + seconds
    for pid in pids:
        while _alive(pid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)  # another process exiting: nothing to await but polling
    return True


def _alive(pid: int) -> bool:
    """Running (a zombie nobody reaps, as under a container's minimal init, is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class CuttingProxy:
    """A TCP relay to ``target`` that closes the client's connection once the server's
    answer contains ``marker`` (after the bytes before it were passed on)."""

    def __init__(self, target: tuple[str, int], marker: bytes = b" FETCH (") -> None:
        self.target = target
        self.marker = marker
        self.cut = threading.Event()  # set once a connection was cut
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind((HOST, 0))
        self._listener.listen(8)
        self.port = int(self._listener.getsockname()[1])
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._start(self._accept)

    def _start(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target, timeout=10)
            self._sockets += [client, server]
            self._start(self._pump, client, server, False)
            self._start(self._pump, server, client, True)

    def _pump(self, src: socket.socket, dst: socket.socket, watch: bool) -> None:
        tail = b""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if watch:
                    seen = tail + data
                    at = seen.find(self.marker)
                    if at >= 0:
                        dst.sendall(seen[len(tail) : max(at, len(tail))])
                        self.cut.set()
                        break
                    tail = seen[-len(self.marker) :]
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        with contextlib.suppress(OSError):
            self._listener.close()
        for s in self._sockets:
            with contextlib.suppress(OSError):
                s.close()
        for t in self._threads:
            t.join(timeout=5)


# --- fixtures ----------------------------------------------------------------------


@contextlib.contextmanager
def running_dovecot(tls: TestCA | None = None) -> Iterator[DovecotServer]:
    """A started server in a fresh 0711 folder under /tmp, stopped and removed after."""
    root = Path(tempfile.mkdtemp(prefix="muttefik-dovecot-"))
    server = DovecotServer(root=root, tls=tls)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        server.kill()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def mail_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    """A throwaway CA and a server certificate for localhost / 127.0.0.1."""
    return make_test_ca(tmp_path_factory.mktemp("mail-ca"))


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    with running_dovecot() as server:
        yield server


@pytest.fixture(scope="session")
def dovecot_tls(mail_ca: TestCA) -> Iterator[DovecotServer]:
    with running_dovecot(tls=mail_ca) as server:
        yield server


@pytest.fixture
def imap_mailbox(dovecot: DovecotServer) -> ImapMailbox:
    return dovecot.new_user()


@pytest.fixture
def imap_tls_mailbox(dovecot_tls: DovecotServer) -> ImapMailbox:
    return dovecot_tls.new_user()


@pytest.fixture
def own_dovecot() -> Iterator[DovecotServer]:
    """A server for this test alone: it may stop or kill it."""
    with running_dovecot() as server:
        yield server
