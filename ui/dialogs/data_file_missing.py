"""The dialog shown when a profile's data file is missing: Quit, or (a separate, confirmed
choice) start a new, empty profile in its place.  The old key is kept either way."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from app.errors import DataFileMissing


def ask_start_new_profile(exc: DataFileMissing, parent: QWidget | None = None) -> bool:
    """Show where the file was expected; True only if the seller chose and confirmed
    "Start a new empty profile…".  Quit is the default."""
    box = QMessageBox(QMessageBox.Icon.Critical, exc.title, f"<b>{exc.title}</b>", parent=parent)
    box.setObjectName("dataFileMissingBox")
    box.setWindowTitle(f"Müttefik Desk — {exc.title}")
    box.setInformativeText(
        f"Müttefik Desk expected your data file at:\n{exc.path}\n\n"
        "It is not there, or it is empty. Nothing was changed, and the key that opens it "
        "is still kept in your keychain.\n\n"
        "If the file is on a disk that is not connected, or a restore or sync is still "
        "copying it, quit, put the file back there and start Müttefik Desk again."
    )
    quit_button = box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
    new_button = box.addButton("Start a new empty profile…", QMessageBox.ButtonRole.DestructiveRole)
    new_button.setObjectName("startNewProfileButton")
    box.setDefaultButton(quit_button)
    box.setEscapeButton(quit_button)
    box.exec()
    if box.clickedButton() is not new_button:
        return False
    return _confirm(parent)


def _confirm(parent: QWidget | None) -> bool:
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        "Start a new empty profile?",
        "<b>Start a new, empty profile?</b>",
        parent=parent,
    )
    box.setObjectName("confirmNewProfileBox")
    box.setWindowTitle("Müttefik Desk — Start a new empty profile?")
    box.setInformativeText(
        "The new profile has no orders, messages, stores or operators. The missing data "
        "file's key stays in your keychain, and profile.json in the folder records which "
        "entry it is, so that file can still be opened if it turns up."
    )
    cancel = box.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)
    start = box.addButton("Start new profile", QMessageBox.ButtonRole.AcceptRole)
    start.setObjectName("confirmStartNewProfileButton")
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    box.exec()
    return box.clickedButton() is start
