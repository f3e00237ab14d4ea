"""The full integrity check, run in the background after the window is shown."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox

from app.vault.check import CheckResult
from ui.ops import Job, Op

if TYPE_CHECKING:
    from ui.main_window import MainWindow


def start_integrity_check(window: MainWindow, *, interactive: bool = False) -> None:
    vault = window.services.core.vault
    events = window.services.core.events
    window.integrity_label.setText("Checking data file…")

    def work(job: Job) -> CheckResult:
        return vault.integrity_check()

    def done(result: CheckResult) -> None:
        events.publish("integrity_checked", ok=result.ok, page=result.first_bad_page)
        if result.ok:
            window.integrity_label.setText("Data file OK")
            window.integrity_label.setToolTip(result.summary())
            if interactive:
                QMessageBox.information(window, "Data file checked", result.summary())
            return
        window.integrity_label.setText("⚠ Data file damaged")
        window.integrity_label.setToolTip(result.summary())
        box = QMessageBox(
            QMessageBox.Icon.Critical,
            "Data file is damaged",
            result.summary()
            + "\n\nWhat to do: keep working only if you must. Close Müttefik Desk, copy the "
            "profile folder somewhere safe, and restore the data file from a backup.",
            parent=window,
        )
        box.setObjectName("integrityFailedBox")
        box.setDetailedText("\n".join(result.problems[:50]))
        box.exec()

    def failed(exc: BaseException) -> None:
        window.integrity_label.setText("")
        from ui.errors import show_error

        show_error(window, exc)

    op = Op(window, work).on_success(done).on_failure(failed)
    if interactive:
        op.with_progress("Checking every page of the data file…", cancellable=False)
    op.run()
