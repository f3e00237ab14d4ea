"""The full integrity check, run in the background after the window is shown.

It also reports, once, any change log (WAL) kept at open because replaying it would have
dropped saved changes (:mod:`app.vault.wal`): the seller learns that recent changes may
be lost, and where the copy is.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.audit import VerifyResult
from app.vault.check import CheckResult
from ui.ops import Job, Lane, Op

if TYPE_CHECKING:
    from ui.main_window import MainWindow


def start_integrity_check(window: MainWindow, *, interactive: bool = False) -> None:
    core = window.services.core
    window.integrity_label.setText("Checking data file…")

    def work(job: Job) -> CheckResult:
        return core.check_integrity()

    def done(result: CheckResult) -> None:
        if result.wal_losses:
            _show(
                window,
                QMessageBox.Icon.Warning,
                "Recent changes may be lost",
                "\n\n".join(loss.message() for loss in result.wal_losses),
                "walLossBox",
            )
        tooltip = "\n".join([result.summary(), *result.notes])
        if result.ok:
            window.integrity_label.setText("Data file OK")
            window.integrity_label.setToolTip(tooltip)
            if interactive:
                QMessageBox.information(window, "Data file checked", tooltip)
            return
        window.integrity_label.setText("⚠ Data file damaged")
        window.integrity_label.setToolTip(tooltip)
        details = result.problems[:50]
        if result.echoes:
            details.append(f"({result.echoes} further findings follow from the damaged pages.)")
        _show(
            window,
            QMessageBox.Icon.Critical,
            "Data file is damaged",
            result.summary()
            + "\n\nWhat to do: keep working only if you must. Close Müttefik Desk, copy the "
            "profile folder somewhere safe, and restore the data file from a backup.",
            "integrityFailedBox",
            details="\n".join(details),
        )

    def failed(exc: BaseException) -> None:
        window.integrity_label.setText("")
        from ui.errors import show_error

        show_error(window, exc)

    # Reads every page (long for a large file): the long lane, not a query worker.
    op = Op(window, work, lane=Lane.LONG).on_success(done).on_failure(failed)
    if interactive:
        op.with_progress("Checking every page of the data file…", cancellable=False)
    op.run()


def show_audit_findings(window: MainWindow) -> None:
    """Opening the profile found the audit log changed outside the app (and recorded
    it): say what verify now finds, once, after the window is shown."""
    audit = window.services.audit

    def done(result: VerifyResult) -> None:
        if result.ok:
            return
        _show(
            window,
            QMessageBox.Icon.Warning,
            "The audit log was changed outside Müttefik Desk",
            result.summary()
            + "\n\nThis is now part of the audit log, and every later check shows it. If "
            "nobody here restored a backup or moved the files on purpose, someone with "
            "access to this computer may have changed the data file: keep a copy of the "
            "profile folder and tell your administrator.",
            "auditFindingsBox",
        )

    Op(window, lambda job: audit.verify(), lane=Lane.LONG).on_success(done).run()


def _show(
    window: MainWindow,
    icon: QMessageBox.Icon,
    title: str,
    text: str,
    name: str,
    *,
    details: str = "",
) -> None:
    """Window-modal, without a nested event loop (see ui.errors._present)."""
    # The heading goes inside the box: many desktops show no title on dialogs.
    box = QMessageBox(icon, title, f"<b>{html.escape(title)}</b>", parent=window)
    box.setInformativeText(text)
    box.setObjectName(name)
    if details:
        box.setDetailedText(details)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
