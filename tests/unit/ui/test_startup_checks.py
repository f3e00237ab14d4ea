"""The background integrity check tells the seller about changes a damaged WAL lost."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QApplication, QMessageBox

from app.atomic import write_private
from app.vault import wal
from tests.helpers.windows import shown_admin_window
from ui.startup_checks import start_integrity_check


def _boxes(name: str) -> list[QMessageBox]:
    return [
        w
        for w in QApplication.topLevelWidgets()
        if isinstance(w, QMessageBox) and w.objectName() == name and w.isVisible()
    ]


def _kept_loss(db_path: Path) -> wal.WalLoss:
    """What wal.preserve leaves when it keeps a WAL (the detection is tested in app/)."""
    copy = db_path.with_name(db_path.name + wal.KEPT_SUFFIX + "20260101T120000000000Z")
    write_private(copy, b"encrypted frames")
    loss = wal.WalLoss(
        copy=str(copy),
        when="2026-01-01T12:00:00+00:00",
        first_bad_frame=7,
        lost_commits=3,
        lost_frames=5,
    )
    write_private(copy.with_name(copy.name + ".json"), json.dumps(asdict(loss)).encode())
    return loss


def test_a_kept_wal_is_reported_once_after_the_window_shows(qtbot: Any, core: Any) -> None:
    loss = _kept_loss(core.vault.profile.db_path)
    window, events = shown_admin_window(qtbot, core)

    start_integrity_check(window)
    qtbot.waitUntil(lambda: window.integrity_label.text() == "Data file OK", timeout=30000)
    boxes = _boxes("walLossBox")
    assert len(boxes) == 1
    text = boxes[0].text() + boxes[0].informativeText()
    assert "Recent changes may be lost" in text and "3 saved changes" in text
    assert loss.copy in text and "audit verify" in text
    boxes[0].close()

    start_integrity_check(window)  # the next check does not repeat it
    qtbot.waitUntil(lambda: window.integrity_label.text() == "Data file OK", timeout=30000)
    assert _boxes("walLossBox") == []
    events.close()


def test_after_an_interrupted_rekey_the_background_check_finds_the_data_intact(
    qtbot: Any, profile: Any, memory_keyring: Any, clock: Any
) -> None:
    """A SIGKILL right after PRAGMA rekey committed: the GUI opens and finds no damage."""
    import os

    from app.bootstrap import open_vault
    from app.secrets import SecretStore
    from app.services import Core
    from app.vault.keys import DB_KEY, DB_KEY_PENDING
    from tests.support import REKEY_AND_DIE, run_script

    store = SecretStore.for_profile(profile, backend=memory_keyring, enforce_policy=False)
    vault, old = open_vault(profile, store)
    vault.close()
    new = os.urandom(32)
    store.set(DB_KEY_PENDING, new.hex())
    run_script(REKEY_AND_DIE, str(profile.db_path), old.hex(), new.hex())

    vault, key = open_vault(profile, store)
    assert key == new and store.get(DB_KEY) == new.hex() and store.get(DB_KEY_PENDING) is None
    core = Core(profile=profile, vault=vault, secrets=store, clock=clock)
    window, events = shown_admin_window(qtbot, core)
    start_integrity_check(window)
    qtbot.waitUntil(lambda: window.integrity_label.text() != "Checking data file…", timeout=30000)
    assert window.integrity_label.text() == "Data file OK"
    assert _boxes("integrityFailedBox") == []
    events.close()
    core.close()
