"""The dialog shown when a startup stage fails: a clear message, never a traceback."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from app.errors import KeychainLocked, UserError


def show_startup_error(exc: BaseException, parent: QWidget | None = None) -> bool:
    """Show the error; return True if the seller chose Retry (only offered when useful)."""
    retryable = isinstance(exc, KeychainLocked)
    if isinstance(exc, UserError):
        title, text, detail = exc.title, exc.message, exc.detail
    else:
        title = "Müttefik Desk could not start"
        text = (
            "An unexpected problem stopped Müttefik Desk from starting. Your data was not "
            "changed. The details help us fix it."
        )
        import traceback

        from app.redact import redact_text

        detail = redact_text("".join(traceback.format_exception(exc)))
    # Desktops often hide a dialog's window title: the heading goes in the box itself.
    box = QMessageBox(QMessageBox.Icon.Critical, title, f"<b>{title}</b>", parent=parent)
    box.setInformativeText(text)
    box.setObjectName("startupErrorBox")
    box.setWindowTitle(f"Müttefik Desk — {title}")
    if detail:
        box.setDetailedText(detail)
    if retryable:
        box.setStandardButtons(QMessageBox.StandardButton.Retry | QMessageBox.StandardButton.Close)
        box.setDefaultButton(QMessageBox.StandardButton.Retry)
    else:
        box.setStandardButtons(QMessageBox.StandardButton.Close)
    return box.exec() == QMessageBox.StandardButton.Retry
