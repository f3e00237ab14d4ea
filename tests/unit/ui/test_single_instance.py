"""The app's local server and the command side of the hand-off (app/cli/handoff.py)."""

from __future__ import annotations

import socket
import sys
import threading
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.cli.handoff import (
    Answer,
    Request,
    ask_app_to_load_history,
    ask_app_to_purge,
    ask_app_to_sync,
    decode_request,
    encode_request,
    socket_path,
)
from app.paths import Profile
from ui.single_instance import SingleInstance

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Unix sockets only")


def test_a_command_finds_the_apps_socket_and_gets_its_answer(qtbot: QtBot, tmp_path: Path) -> None:
    # A profile not created yet (a first start): the app listens before profile.json exists.
    profile = Profile(tmp_path / "p")
    instance = SingleInstance(profile)
    assert instance.listen()
    assert instance.server is not None
    try:
        assert instance.server.fullServerName() == str(socket_path(profile))
        profile.ensure()  # profile.json now exists: the command still finds the same socket
        asked: list[str] = []

        def answer(store_name: str, reply: object) -> None:
            asked.append(store_name)
            reply(True, "Main")  # type: ignore[operator]

        instance.sync_requested.connect(answer)
        result: list[Answer | None] = []
        done = threading.Event()

        def command() -> None:  # a thread: the app's event loop must run meanwhile
            result.append(ask_app_to_sync(profile, "main  ", timeout=10))
            done.set()

        threading.Thread(target=command, daemon=True).start()
        qtbot.waitUntil(done.is_set, timeout=10_000)
        assert asked == ["main  "]
        assert result == [Answer(True, "Main")]
    finally:
        instance.server.close()


def test_a_command_hands_the_purge_to_the_app(qtbot: QtBot, tmp_path: Path) -> None:
    profile = Profile(tmp_path / "p")
    instance = SingleInstance(profile)
    assert instance.listen()
    assert instance.server is not None
    try:
        syncs: list[str] = []
        instance.sync_requested.connect(lambda name, reply: syncs.append(name))
        instance.purge_requested.connect(lambda reply: reply(False, "not now"))
        result: list[Answer | None] = []
        done = threading.Event()

        def command() -> None:
            result.append(ask_app_to_purge(profile, timeout=10))
            done.set()

        threading.Thread(target=command, daemon=True).start()
        qtbot.waitUntil(done.is_set, timeout=10_000)
        assert result == [Answer(False, "not now")]
        assert syncs == []  # a purge is not taken for a store's sync
    finally:
        instance.server.close()


def test_a_command_hands_a_history_load_to_the_app(qtbot: QtBot, tmp_path: Path) -> None:
    profile = Profile(tmp_path / "p")
    instance = SingleInstance(profile)
    assert instance.listen()
    assert instance.server is not None
    try:
        asked: list[tuple[str, int]] = []

        def answer(name: str, days: int, reply: object) -> None:
            asked.append((name, days))
            reply(True, "Main")  # type: ignore[operator]

        instance.history_requested.connect(answer)
        result: list[Answer | None] = []
        done = threading.Event()

        def command() -> None:
            result.append(ask_app_to_load_history(profile, "main", 45, timeout=10))
            result.append(ask_app_to_load_history(profile, "main", None, timeout=10))
            done.set()

        threading.Thread(target=command, daemon=True).start()
        qtbot.waitUntil(done.is_set, timeout=10_000)
        assert asked == [("main", 45), ("main", 0)]  # 0: resume, or the setting
        assert result == [Answer(True, "Main"), Answer(True, "Main")]
    finally:
        instance.server.close()


def test_request_lines_round_trip_and_odd_ones_are_refused() -> None:
    assert decode_request(encode_request("A b", "history", 30)) == Request("history", "A b", 30)
    assert decode_request(encode_request("A b")) == Request("sync", "A b")
    assert decode_request(b'sync "Main" 30') is None  # days only for a history load
    assert decode_request(b'history "Main" -1') is None
    assert decode_request(b'history "Main" 99999') is None
    assert decode_request(b"wipe everything") is None


def test_no_app_or_a_stale_socket_means_the_command_does_the_work(tmp_path: Path) -> None:
    profile = Profile(tmp_path / "p")
    path = socket_path(profile)
    assert path is not None
    assert ask_app_to_sync(profile, "Main", timeout=2) is None  # no socket
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))  # bound, never listening: what a crashed app leaves
    try:
        assert ask_app_to_sync(profile, "Main", timeout=2) is None
    finally:
        stale.close()
        path.unlink()


def test_a_second_launch_still_raises_the_first(qtbot: QtBot, tmp_path: Path) -> None:
    profile = Profile(tmp_path / "p")
    first = SingleInstance(profile)
    assert first.listen()
    try:
        with qtbot.waitSignal(first.raise_requested, timeout=10_000):
            assert SingleInstance(profile).notify_running()
    finally:
        assert first.server is not None
        first.server.close()
