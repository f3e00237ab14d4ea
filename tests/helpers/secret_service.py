"""A private Secret Service (D-Bus session bus and gnome-keyring) for integration tests.

Secret Service: a private ``dbus-daemon --session`` with a temp HOME, and
``gnome-keyring-daemon --foreground --components=secrets`` on it (``--unlock`` with a
password on stdin).  The test process talks to it through ``DBUS_SESSION_BUS_ADDRESS``;
nothing of the developer's own session or keychain is touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import service_missing

KEYRING_PASSWORD = "integration-test-password"
SECRETS_BUS_NAME = "org.freedesktop.secrets"


@dataclass
class SecretServiceSession:
    """One D-Bus session bus with gnome-keyring's Secret Service on it."""

    home: Path
    unlock: bool
    address: str = ""
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        runtime = self.home / "run"
        runtime.mkdir(mode=0o700, exist_ok=True)
        env.update(
            HOME=str(self.home),
            XDG_RUNTIME_DIR=str(runtime),
            XDG_DATA_HOME=str(self.home / "data"),
            XDG_CONFIG_HOME=str(self.home / "config"),
            XDG_CACHE_HOME=str(self.home / "cache"),
        )
        if self.address:
            env["DBUS_SESSION_BUS_ADDRESS"] = self.address
        return env

    def start(self) -> SecretServiceSession:
        for binary in ("dbus-daemon", "gnome-keyring-daemon"):
            if shutil.which(binary) is None:
                service_missing(f"{binary} not installed (apt-get install gnome-keyring dbus)")
        bus = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=self.env(),
        )
        self._procs.append(bus)
        assert bus.stdout is not None
        self.address = bus.stdout.readline().decode().strip()
        if not self.address:
            self.stop()
            service_missing("dbus-daemon did not print its address")
        args = ["gnome-keyring-daemon", "--foreground", "--components=secrets"]
        if self.unlock:
            args.append("--unlock")
        daemon = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self.env(),
        )
        self._procs.append(daemon)
        assert daemon.stdin is not None
        if self.unlock:
            daemon.stdin.write(KEYRING_PASSWORD.encode())
        daemon.stdin.close()
        self._wait_for_secret_service(daemon)
        return self

    def _wait_for_secret_service(self, daemon: subprocess.Popen[bytes]) -> None:
        """Poll NameHasOwner (which, unlike a secrets call, never auto-starts a daemon)."""
        from jeepney import DBus
        from jeepney.io.blocking import open_dbus_connection

        deadline = time.monotonic() + 15
        with open_dbus_connection(bus=self.address) as conn:
            while time.monotonic() < deadline:
                if daemon.poll() is not None:
                    self.stop()
                    service_missing(f"gnome-keyring-daemon exited with {daemon.returncode}")
                reply = conn.send_and_get_reply(DBus().NameHasOwner(SECRETS_BUS_NAME))
                if reply.body[0]:
                    return
                time.sleep(0.02)  # an external process starting: nothing to await but polling
        self.stop()
        service_missing("gnome-keyring-daemon did not register on the session bus in 15 s")

    def stop(self) -> None:
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        self._procs.clear()
