"""The dialog shown when a profile's data file is missing: Quit, or (a separate, confirmed
choice) start a new, empty profile in its place.  The old key is kept either way."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from app.errors import DataFileMissing

_Role = QMessageBox.ButtonRole


def ask_start_new_profile(exc: DataFileMissing, parent: QWidget | None = None) -> bool:
    """Show where the file was expected; True only if the seller chose and confirmed
    "Start a new empty profile…".  Quit is the default."""
    chose_new = _ask(
        parent,
        QMessageBox.Icon.Critical,
        exc.title,
        f"<b>{exc.title}</b>",
        "dataFileMissingBox",
        f"Müttefik Desk expected your data file at:\n{exc.path}\n\n"
        "It is not there, or it is empty. Nothing was changed, and the key that opens it "
        "is still kept in your keychain.\n\n"
        "If the file is on a disk that is not connected, or a restore or sync is still "
        "copying it, quit, put the file back there and start Müttefik Desk again.",
        safe=("Quit", _Role.RejectRole),
        other=("Start a new empty profile…", _Role.DestructiveRole, "startNewProfileButton"),
    )
    return chose_new and _confirm(parent)


def _confirm(parent: QWidget | None) -> bool:
    return _ask(
        parent,
        QMessageBox.Icon.Warning,
        "Start a new empty profile?",
        "<b>Start a new, empty profile?</b>",
        "confirmNewProfileBox",
        "The new profile has no orders, messages, stores or operators. The missing data "
        "file's key stays in your keychain, and profile.json in the folder records which "
        "entry it is, so that file can still be opened if it turns up.",
        safe=("Cancel", _Role.RejectRole),
        other=("Start new profile", _Role.AcceptRole, "confirmStartNewProfileButton"),
    )


def _ask(
    parent: QWidget | None,
    icon: QMessageBox.Icon,
    title: str,
    heading: str,
    name: str,
    text: str,
    *,
    safe: tuple[str, QMessageBox.ButtonRole],
    other: tuple[str, QMessageBox.ButtonRole, str],
) -> bool:
    """A box with two choices, the safe one the default and the Escape key; True only if
    the seller clicked the other.  The heading goes inside the box: many desktops show no
    title on dialogs."""
    box = QMessageBox(icon, title, heading, parent=parent)
    box.setObjectName(name)
    box.setWindowTitle(f"Müttefik Desk — {title}")
    box.setInformativeText(text)
    safe_button = box.addButton(*safe)
    label, role, button_name = other
    other_button = box.addButton(label, role)
    other_button.setObjectName(button_name)
    box.setDefaultButton(safe_button)
    box.setEscapeButton(safe_button)
    box.exec()
    return box.clickedButton() is other_button
