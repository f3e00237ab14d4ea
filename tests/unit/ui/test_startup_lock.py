"""The lock stage of startup (ui/main.py): a command that holds the profile and does not
let go when asked ends startup with a message naming it, after a bounded wait off the
GUI thread."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from app.bootstrap import open_vault
from app.cli import handoff
from app.cli.handoff import ReleaseListener
from app.errors import DatabaseInUse
from app.paths import Profile
from app.secrets import SecretStore
from app.vault.lock import ProfileLock
from tests.support import MemoryKeyring
from ui.main import Startup

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Unix sockets only")


@pytest.mark.expect_log("muttefik.ui", "ERROR", "startup failed: DatabaseInUse")
def test_a_command_that_does_not_let_go_is_told_to_the_seller(
    qtbot: QtBot,
    tmp_path: Path,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile = Profile(tmp_path / "demo-profile", demo=True)
    store = SecretStore.for_profile(profile, backend=memory_keyring, enforce_policy=False)
    vault, _ = open_vault(profile, store)
    vault.close()
    monkeypatch.setattr(handoff, "RELEASE_TIMEOUT", 0.5)
    lock = ProfileLock(profile.lock_path)
    lock.acquire()  # as a running `muttefik sync` holds it
    seen: list[BaseException] = []
    ticks: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))  # the GUI thread runs meanwhile
    timer.start(20)

    def present(exc: BaseException) -> bool:
        seen.append(exc)
        return False  # Quit

    startup = Startup(profile, secrets=store, present_error=present, integrity_check=False)
    with ReleaseListener(profile, lambda: None) as listener:  # agrees, never lets go
        listener.start()
        with qtbot.waitSignal(startup.finished, timeout=20_000) as finished:
            startup.start()
    timer.stop()
    lock.release()
    assert finished.args == [1]
    assert listener.asked.is_set()
    assert len(seen) == 1 and isinstance(seen[0], DatabaseInUse)
    assert "did not stop when asked" in seen[0].message  # type: ignore[attr-defined]
    assert len(ticks) >= 5  # the event loop turned while the worker waited 0.5 s


def test_a_hand_off_before_anyone_signed_in_is_refused_in_plain_words(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    profile = Profile(tmp_path / "demo-profile", demo=True)
    store = SecretStore.for_profile(profile, backend=memory_keyring, enforce_policy=False)
    startup = Startup(profile, secrets=store, integrity_check=False)  # not started yet
    replies: list[tuple[bool, str]] = []
    startup.hand_off_sync("Main", lambda accepted, text: replies.append((accepted, text)))
    assert len(replies) == 1
    assert replies[0][0] is False
    assert "nobody has signed in there yet" in replies[0][1]
