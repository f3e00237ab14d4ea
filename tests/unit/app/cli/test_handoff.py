"""A starting app asks the command holding the profile to let go (app/cli/handoff.py)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from app.cli.handoff import ReleaseListener, take_profile_lock, windows_lock_hint
from app.errors import DatabaseInUse
from app.paths import Profile
from app.vault.lock import ProfileLock

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Unix sockets only")


@pytest.fixture
def held(tmp_path: Path) -> tuple[Profile, ProfileLock]:
    profile = Profile(tmp_path / "p")
    profile.ensure()
    lock = ProfileLock(profile.lock_path)
    lock.acquire()  # as a command's open vault holds it
    return profile, lock


def test_the_command_stops_and_the_app_takes_the_lock(
    held: tuple[Profile, ProfileLock],
) -> None:
    profile, lock = held
    asked = threading.Event()
    listener = ReleaseListener(profile, asked.set)
    listener.start()

    def command() -> None:  # the sync stops between pages, closes its vault, then us
        asked.wait(10)
        lock.release()
        listener.close()

    threading.Thread(target=command, daemon=True).start()
    taken = take_profile_lock(profile, timeout=10)
    try:
        assert listener.asked.is_set()
    finally:
        taken.release()


def test_a_command_that_does_not_let_go_is_named_in_the_message(
    held: tuple[Profile, ProfileLock],
) -> None:
    profile, lock = held
    with ReleaseListener(profile, lambda: None) as listener:
        listener.start()
        with pytest.raises(DatabaseInUse) as caught:
            take_profile_lock(profile, timeout=0.5)
    lock.release()
    assert "did not stop when asked" in caught.value.message


def test_without_a_command_to_ask_the_lock_error_stays(
    held: tuple[Profile, ProfileLock],
) -> None:
    profile, lock = held  # held by someone who does not listen (another app's start)
    with pytest.raises(DatabaseInUse) as caught:
        take_profile_lock(profile, timeout=0.5)
    lock.release()
    assert caught.value.message == DatabaseInUse.message


def test_on_windows_the_lock_message_says_the_app_cannot_be_asked_yet() -> None:
    with pytest.raises(DatabaseInUse) as caught, windows_lock_hint(windows=True):
        raise DatabaseInUse(detail="vault.lock")
    assert "not supported on Windows yet" in caught.value.message
    assert caught.value.detail == "vault.lock"
    with pytest.raises(DatabaseInUse) as caught, windows_lock_hint(windows=False):
        raise DatabaseInUse()
    assert caught.value.message == DatabaseInUse.message
