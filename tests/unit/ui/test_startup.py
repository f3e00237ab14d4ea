"""Startup on a temp profile: to the main window, and the error dialogs on the way."""

from __future__ import annotations

import gc
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox
from pytestqt.qtbot import QtBot

from app.bootstrap import open_vault
from app.errors import DatabaseKeyMissing, DatabaseKeyWrong, KeychainLocked
from app.jobs import JobHost, Lane
from app.paths import Profile
from app.secrets import SecretStore
from app.vault import KeyMode, Vault
from app.vault.keys import DB_KEY
from tests.support import MemoryKeyring
from ui import ops
from ui.dialogs.startup_error import show_startup_error
from ui.main import Startup

SHOTS = Path(os.environ.get("MUTTEFIK_SCREENSHOTS", "/tmp/muttefik-shots"))


@pytest.fixture(autouse=True)
def _ops(qapp: QApplication, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    ops.install()
    # Startup hands the job host to the vault's Core, which shuts it down at exit; each
    # test starts with its own.
    monkeypatch.setattr(ops, "_host", JobHost())
    yield


@pytest.fixture
def profile(tmp_path: Path) -> Profile:
    """A temp demo profile (sign-in is automatic there; the rest of startup is the same)."""
    return Profile(tmp_path / "demo-profile", demo=True)


@pytest.fixture
def store(profile: Profile, memory_keyring: MemoryKeyring) -> SecretStore:
    return SecretStore.for_profile(profile, backend=memory_keyring, enforce_policy=False)


def _startup(
    profile: Profile,
    store: SecretStore,
    present_error: Callable[[BaseException], bool],
) -> Startup:
    # The real sign-in stage: a demo profile signs its demo admin in automatically.
    return Startup(profile, secrets=store, present_error=present_error, integrity_check=False)


def _existing_profile(profile: Profile, store: SecretStore) -> bytes:
    vault, key = open_vault(profile, store)
    vault.close()
    return key


def _close(startup: Startup) -> None:
    """Close the window and shut down as the app does, then let this start's background
    work finish and deliver its callbacks here, so any late error fails this test and
    not the next one."""
    jobs = ops.host()  # the host Startup gave the core
    if startup.window is not None:
        startup.window.close()
    startup._shutdown()
    jobs.shutdown()
    jobs.pool(Lane.QUERY).shutdown(wait=True)  # shutdown() does not wait for queries
    QApplication.processEvents()


def _never(exc: BaseException) -> bool:
    raise AssertionError(f"unexpected startup error: {exc!r}")


def _start_and_see_it_end(qtbot: QtBot, startup: Startup) -> None:
    """Start; startup must finish with exit code 1 and never show the main window."""
    with (
        qtbot.waitSignal(startup.finished, timeout=20_000) as finished,
        qtbot.assertNotEmitted(startup.window_shown),
    ):
        startup.start()
    assert finished.args == [1]


def test_starts_to_the_main_window_on_a_temp_profile(
    qtbot: QtBot, profile: Profile, store: SecretStore, memory_keyring: MemoryKeyring
) -> None:
    startup = _startup(profile, store, _never)
    gc.unfreeze()
    try:
        with qtbot.waitSignal(startup.window_shown, timeout=20_000) as shown:
            startup.start()
        window = shown.args[0]
        assert window is startup.window and window.isVisible()
        # What is alive once the window is up stays out of later garbage collections,
        # which would otherwise walk it all with the GIL held (ui.runtime).
        assert gc.get_freeze_count() > 10_000
        assert window.windowTitle() == "Müttefik Desk — Demo"
        assert window.menuBar().actions(), "the main window has a menu"
        labels = {w.objectName(): w.text() for w in window.statusBar().findChildren(QLabel)}
        assert profile.name in labels["profileLabel"]
        assert labels["keyModeLabel"] == "Key: OS keychain"
        assert (profile.keychain_service, DB_KEY) in memory_keyring.store
        assert profile.db_path.exists()
        SHOTS.mkdir(parents=True, exist_ok=True)
        assert window.grab().save(str(SHOTS / "startup_main_window.png"))
    finally:
        _close(startup)
    # closing released the profile: it opens again
    key = bytes.fromhex(memory_keyring.store[(profile.keychain_service, DB_KEY)])
    Vault.open(profile, key, KeyMode.KEYCHAIN).close()


@pytest.mark.parametrize("case", ["wrong_key", "missing_key"])
@pytest.mark.expect_log("muttefik.ui", "ERROR", "startup failed: DatabaseKey(Wrong|Missing)")
def test_key_problems_show_a_startup_error_and_exit(
    qtbot: QtBot,
    profile: Profile,
    store: SecretStore,
    memory_keyring: MemoryKeyring,
    case: str,
) -> None:
    _existing_profile(profile, store)
    if case == "wrong_key":
        memory_keyring.store[(profile.keychain_service, DB_KEY)] = os.urandom(32).hex()
        expected: type[Exception] = DatabaseKeyWrong
    else:
        memory_keyring.store.clear()
        expected = DatabaseKeyMissing
    before = profile.db_path.read_bytes()
    seen: list[dict[str, object]] = []

    def present(exc: BaseException) -> bool:
        def inspect() -> None:
            box = QApplication.activeModalWidget()
            assert isinstance(box, QMessageBox)
            seen.append(
                {
                    "name": box.objectName(),
                    "title": box.windowTitle(),
                    "text": box.text(),
                    "info": box.informativeText(),
                    "retry": bool(box.standardButtons() & QMessageBox.StandardButton.Retry),
                    "exc": exc,
                }
            )
            SHOTS.mkdir(parents=True, exist_ok=True)
            box.grab().save(str(SHOTS / f"startup_error_{case}.png"))
            box.done(QMessageBox.StandardButton.Close)

        QTimer.singleShot(0, inspect)
        return show_startup_error(exc)

    startup = _startup(profile, store, present)
    _start_and_see_it_end(qtbot, startup)
    assert len(seen) == 1
    shown = seen[0]
    assert isinstance(shown["exc"], expected)
    assert shown["name"] == "startupErrorBox"
    assert expected.title in str(shown["title"])
    assert expected.title in str(shown["text"])  # the heading is in the box, not only the bar
    assert shown["info"] == expected.message
    assert shown["retry"] is False
    assert "Traceback" not in str(shown["text"]) + str(shown["info"])
    assert profile.db_path.read_bytes() == before
    assert startup.window is None


@pytest.mark.expect_log("muttefik.ui", "WARNING", "KeychainLocked")
@pytest.mark.expect_log("muttefik.ui", "ERROR", "startup failed: KeychainLocked")
def test_locked_keychain_offers_retry_and_starts_after_unlock(
    qtbot: QtBot, profile: Profile, store: SecretStore, memory_keyring: MemoryKeyring
) -> None:
    memory_keyring.locked = True
    errors: list[BaseException] = []

    def present(exc: BaseException) -> bool:
        errors.append(exc)
        memory_keyring.locked = False  # the seller unlocked the keychain, then chose Retry
        return True

    startup = _startup(profile, store, present)
    try:
        with qtbot.waitSignal(startup.window_shown, timeout=20_000):
            startup.start()
    finally:
        _close(startup)
    assert len(errors) == 1 and isinstance(errors[0], KeychainLocked)


def test_locked_keychain_dialog_has_retry(qtbot: QtBot) -> None:
    seen: list[bool] = []

    def inspect() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        seen.append(bool(box.standardButtons() & QMessageBox.StandardButton.Retry))
        SHOTS.mkdir(parents=True, exist_ok=True)
        box.grab().save(str(SHOTS / "startup_error_locked.png"))
        box.done(QMessageBox.StandardButton.Retry)

    QTimer.singleShot(0, inspect)
    assert show_startup_error(KeychainLocked()) is True
    assert seen == [True]


def _answer_missing_file_dialog(choice: str, seen: list[dict[str, object]]) -> None:
    """Once the missing-file dialog is up, record it and click ``choice`` ("quit" or
    "new"); for "new", confirm in the second box."""

    wanted = ["dataFileMissingBox"] + (["confirmNewProfileBox"] if choice == "new" else [])

    def step() -> None:
        # Look for the box we wait for by name: another test's box may still be around
        # (being deleted), and taking it for ours left this loop stopped for good.
        boxes = [
            w
            for w in QApplication.topLevelWidgets()
            if isinstance(w, QMessageBox) and w.isVisible() and w.objectName() == wanted[0]
        ]
        if not boxes:
            QTimer.singleShot(20, step)
            return
        box = boxes[0]
        wanted.pop(0)
        name = box.objectName()
        buttons = {b.text(): b for b in box.buttons()}
        seen.append(
            {
                "name": name,
                "text": box.text(),
                "info": box.informativeText(),
                "default": box.defaultButton().text() if box.defaultButton() else "",
                "buttons": sorted(buttons),
            }
        )
        if name == "dataFileMissingBox":
            SHOTS.mkdir(parents=True, exist_ok=True)
            box.grab().save(str(SHOTS / "startup_data_file_missing.png"))
            buttons["Quit" if choice == "quit" else "Start a new empty profile…"].click()
            if choice == "new":
                QTimer.singleShot(20, step)
        elif name == "confirmNewProfileBox":
            buttons["Start new profile"].click()
            # The box was the last window: the app must not quit on its closing.
            seen.append({"quit_on_last_window": QApplication.quitOnLastWindowClosed()})

    QTimer.singleShot(0, step)


@pytest.mark.expect_log("muttefik.ui", "ERROR", "startup failed: DataFileMissing")
def test_a_missing_data_file_shows_where_it_was_expected_and_keeps_the_key(
    qtbot: QtBot, profile: Profile, store: SecretStore, memory_keyring: MemoryKeyring
) -> None:
    """Issue 8: a start without vault.db stored a fresh key over db-key and opened an
    empty profile (the first-run wizard)."""
    key = _existing_profile(profile, store)
    profile.db_path.unlink()
    keyring_before = dict(memory_keyring.store)
    seen: list[dict[str, object]] = []
    _answer_missing_file_dialog("quit", seen)
    startup = Startup(profile, secrets=store, present_error=_never, integrity_check=False)
    _start_and_see_it_end(qtbot, startup)
    assert [s["name"] for s in seen] == ["dataFileMissingBox"]
    assert "Data file is missing" in str(seen[0]["text"])
    assert str(profile.db_path) in str(seen[0]["info"])
    assert seen[0]["default"] == "Quit"
    assert seen[0]["buttons"] == ["Quit", "Start a new empty profile…"]
    assert memory_keyring.store == keyring_before
    assert key.hex() in memory_keyring.store.values()
    assert not profile.db_path.exists()
    assert startup.window is None


@pytest.mark.expect_log("muttefik.ui", "ERROR", "startup failed: DataFileMissing")
def test_starting_a_new_empty_profile_is_explicit_and_keeps_the_old_key(
    qtbot: QtBot, profile: Profile, store: SecretStore, memory_keyring: MemoryKeyring
) -> None:
    key = _existing_profile(profile, store)
    old_service = profile.keychain_service
    profile.db_path.unlink()
    seen: list[dict[str, object]] = []
    _answer_missing_file_dialog("new", seen)
    startup = Startup(profile, secrets=store, present_error=_never, integrity_check=False)
    try:
        with qtbot.waitSignal(startup.window_shown, timeout=20_000):
            startup.start()
    finally:
        _close(startup)
    assert [s.get("name") for s in seen] == ["dataFileMissingBox", "confirmNewProfileBox", None]
    assert seen[1]["default"] == "Cancel"
    # Under app.exec() closing the last dialog quit the app before the wizard came up.
    assert seen[2] == {"quit_on_last_window": False}
    assert QApplication.quitOnLastWindowClosed()  # once the window is up, closing it quits
    assert memory_keyring.store[(old_service, DB_KEY)] == key.hex()
    assert profile.keychain_service != old_service
    new_key = memory_keyring.store[(profile.keychain_service, DB_KEY)]
    assert new_key != key.hex()
    assert profile.db_path.stat().st_size > 0


@pytest.mark.expect_log("muttefik.ui", "ERROR", "startup failed: NotAProfile")
def test_a_folder_holding_other_files_is_refused_untouched(
    qtbot: QtBot, tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    """Issue 8: ``--profile ~/Documents`` was chmodded to 0700 and filled with a profile."""
    root = tmp_path / "Documents"
    root.mkdir(mode=0o755)
    (root / "taxes.pdf").write_bytes(b"%PDF")
    folder = Profile(root)
    store = SecretStore.for_profile(folder, backend=memory_keyring, enforce_policy=False)
    errors: list[BaseException] = []

    def present(exc: BaseException) -> bool:
        errors.append(exc)
        return False

    startup = _startup(folder, store, present)
    _start_and_see_it_end(qtbot, startup)
    assert len(errors) == 1 and "not a Müttefik Desk profile" in str(errors[0])
    assert sorted(p.name for p in root.iterdir()) == ["taxes.pdf"]
    assert stat.S_IMODE(root.stat().st_mode) == 0o755
    assert memory_keyring.store == {}


@pytest.mark.expect_log("muttefik.audit", "WARNING", "triggers were missing")
@pytest.mark.expect_log("muttefik.audit", "WARNING", r"mismatch found at open: \['truncated'\]")
def test_audit_entries_deleted_outside_the_app_are_told_after_the_window_shows(
    qtbot: QtBot, profile: Profile, store: SecretStore
) -> None:
    """Someone with the database key drops the append-only trigger and deletes the last
    audit entries; the next start records it and tells the seller once, not silently."""
    from app.audit import Action, make_audit_log
    from app.clock import SystemClock
    from app.vault.connection import open_connection

    vault, key = open_vault(profile, store)
    audit = make_audit_log(vault, store, clock=SystemClock(), key=vault.audit_key)
    for _ in range(3):
        vault.call_write(
            lambda c: audit.append(c, actor_id=None, action=Action.KEY_ROTATED, object_type="vault")
        )
    vault.close()
    conn = open_connection(profile.db_path, key)
    conn.execute("DROP TRIGGER audit_log_no_delete")
    last = conn.execute("SELECT max(seq) FROM audit_log").fetchone()[0]
    conn.execute("DELETE FROM audit_log WHERE seq = ?", (last,))
    conn.close()

    startup = _startup(profile, store, _never)
    try:
        with qtbot.waitSignal(startup.window_shown, timeout=20_000):
            startup.start()

        def box() -> QMessageBox | None:
            found = [
                w
                for w in QApplication.topLevelWidgets()
                if isinstance(w, QMessageBox) and w.objectName() == "auditFindingsBox"
            ]
            return found[0] if found and found[0].isVisible() else None

        qtbot.waitUntil(lambda: box() is not None, timeout=20_000)
        text = box().text() + box().informativeText()  # type: ignore[union-attr]
        assert f"Audit entry {last} is missing" in text or f"entries {last}" in text
        assert "protection against changes had been removed" in text
        assert "tell your administrator" in text
        box().close()  # type: ignore[union-attr]
    finally:
        _close(startup)


@pytest.mark.expect_log("muttefik.ui", "ERROR", "startup failed: (ModuleNotFoundError|ImportError)")
def test_a_sign_in_flow_that_cannot_be_imported_stops_startup_with_an_error(
    qtbot: QtBot, profile: Profile, store: SecretStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fail closed: without the sign-in flow there is no session, so no main window (it
    used to open one with no operator signed in)."""
    import sys

    import ui

    monkeypatch.delattr(ui, "auth_flow", raising=False)
    monkeypatch.setitem(sys.modules, "ui.auth_flow", None)  # import raises ImportError
    shown: list[BaseException] = []

    def present(exc: BaseException) -> bool:
        shown.append(exc)
        return False  # the seller closed the error dialog

    startup = _startup(profile, store, present)
    try:
        _start_and_see_it_end(qtbot, startup)
    finally:
        _close(startup)
    assert [type(e) for e in shown] == [ModuleNotFoundError]
    assert startup.window is None
