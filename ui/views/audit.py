"""Audit tab (admins): the sealed log, filtered by operator, action and date,
exportable as CSV or JSON Lines to a file the admin chooses, and verifiable.

Rows load lazily through :class:`~ui.models.audit_model.AuditModel` (the table engine,
by sequence number); entries appended while the tab is open (``AuditAppended``) go on
top.  The export runs on the DB thread through ``AuditService.export`` (which audits the
export itself); Verify runs ``AuditService.verify`` on a worker and shows what it found,
in plain words.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal

from PySide6.QtCore import QDate, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.audit import AuditFilter, VerifyResult
from app.audit_service import AuditService
from app.auth.models import Actor, Operator
from app.auth.service import OperatorService
from app.errors import UserError
from app.notices import AuditAppended
from ui.events import QtEvents
from ui.models.audit_model import AuditModel, Column
from ui.models.table_engine import follow_view
from ui.ops import Op, when_done

ExportFormat = Literal["csv", "jsonl"]
CSV_FILTER = "CSV (*.csv)"
JSONL_FILTER = "JSON Lines (*.jsonl)"


def local_day_start(day: QDate) -> datetime:
    """Midnight of ``day`` in local time, as aware UTC."""
    naive = datetime.combine(date(day.year(), day.month(), day.day()), time.min)
    return naive.astimezone().astimezone(UTC)


def export_to_file(
    service: AuditService, actor: Actor, filt: AuditFilter, fmt: ExportFormat, path: str
) -> int:
    """Thread: worker.  Owner-only permissions: the log names operators."""
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
        return service.export(actor, filt, fmt, out)


def choose_export_path(parent: QWidget) -> tuple[str, ExportFormat] | None:
    path, chosen = QFileDialog.getSaveFileName(
        parent, "Export audit log", "muttefik-audit.csv", f"{CSV_FILTER};;{JSONL_FILTER}"
    )
    if not path:
        return None
    fmt: ExportFormat = "jsonl" if chosen == JSONL_FILTER or path.endswith(".jsonl") else "csv"
    if not Path(path).suffix:
        path += "." + fmt
    return path, fmt


class AuditView(QWidget):
    """Signals: ``exported(int, str)`` (count, path), ``verified(VerifyResult)``.
    ``choose_path`` is replaceable (tests).  Thread: GUI."""

    exported = Signal(int, str)
    verified = Signal(object)

    def __init__(
        self,
        *,
        service: AuditService,
        operators: OperatorService,
        actor: Actor,
        page_size: int = 200,
        qt_events: QtEvents | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._operators = operators
        self._actor = actor
        self.choose_path: Callable[[QWidget], tuple[str, ExportFormat] | None] = choose_export_path
        self.setObjectName("auditView")

        self.model = AuditModel(service=service, actor=actor, page_size=page_size, parent=self)
        self.model.search_finished.connect(self._count_loaded)
        self.model.search_failed.connect(self._failed)
        # Entries appended meanwhile: one refresh per event-loop turn, however many.
        self._appended = QTimer(self)
        self._appended.setSingleShot(True)
        self._appended.setInterval(0)
        self._appended.timeout.connect(self.model.append_arrived)
        if qt_events is not None:
            qt_events.on(AuditAppended, lambda _n: self._appended.start(), owner=self)

        self.operator = QComboBox()
        self.operator.setObjectName("auditOperator")
        self.operator.addItem("Everyone", None)
        self.operator.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.action = QComboBox()
        self.action.setObjectName("auditAction")
        self.action.addItem("All actions", None)
        for spec in service.actions():
            self.action.addItem(spec.label, spec.name)
        today = QDate.currentDate()
        self.use_from = QCheckBox("From")
        self.date_from = QDateEdit(today.addDays(-30))
        self.use_to = QCheckBox("to")
        self.date_to = QDateEdit(today)
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setEnabled(False)
        self.date_from.setObjectName("auditFrom")
        self.date_to.setObjectName("auditTo")
        self.use_from.toggled.connect(self.date_from.setEnabled)
        self.use_to.toggled.connect(self.date_to.setEnabled)
        for signal in (
            self.operator.currentIndexChanged,
            self.action.currentIndexChanged,
            self.use_from.toggled,
            self.use_to.toggled,
            self.date_from.dateChanged,
            self.date_to.dateChanged,
        ):
            signal.connect(self.apply_filter)

        self.export_button = QPushButton("Export…")
        self.export_button.setObjectName("auditExport")
        self.export_button.clicked.connect(self.export)
        self.verify_button = QPushButton("Verify")
        self.verify_button.setObjectName("auditVerify")
        self.verify_button.setToolTip(
            "Check every entry's seal and compare the log with the record kept outside "
            "the data file"
        )
        self.verify_button.clicked.connect(self.verify)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.model.append_arrived)

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Operator:"))
        bar.addWidget(self.operator)
        bar.addWidget(QLabel("Action:"))
        bar.addWidget(self.action)
        bar.addSpacing(8)
        bar.addWidget(self.use_from)
        bar.addWidget(self.date_from)
        bar.addWidget(self.use_to)
        bar.addWidget(self.date_to)
        bar.addStretch(1)
        bar.addWidget(refresh)
        bar.addWidget(self.verify_button)
        bar.addWidget(self.export_button)

        self.table = QTableView()
        self.table.setObjectName("auditTable")
        self.table.setModel(self.model)
        follow_view(self.table, self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in ((Column.SEQ, 60), (Column.TIME, 150), (Column.OPERATOR, 120),
                              (Column.ACTION, 190), (Column.OBJECT, 120)):  # fmt: skip
            self.table.setColumnWidth(column, width)

        self.status = QLabel()
        self.status.setObjectName("auditStatus")
        self.status.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)

        self._load_operators()
        self.apply_filter()

    # --- filter -----------------------------------------------------------------------

    def current_filter(self) -> AuditFilter:
        since = local_day_start(self.date_from.date()) if self.use_from.isChecked() else None
        until = (
            local_day_start(self.date_to.date()) + timedelta(days=1)
            if self.use_to.isChecked()
            else None
        )
        return AuditFilter(
            actor_id=self.operator.currentData(),
            action=self.action.currentData(),
            since=since,
            until=until,
        )

    def apply_filter(self) -> None:
        self.status.setText("Loading…")
        self.model.set_filter(self.current_filter())

    def _count_loaded(self, count: int) -> None:
        self.status.setText(f"{count} entr{'y' if count == 1 else 'ies'}")

    def _load_operators(self) -> None:
        operators, actor = self._operators, self._actor
        when_done(
            operators.list_operators(actor), self._operators_loaded, self._failed, parent=self
        )

    def _operators_loaded(self, ops: list[Operator]) -> None:
        current = self.operator.currentData()
        self.operator.blockSignals(True)
        for op in sorted(ops, key=lambda o: o.username.casefold()):
            self.operator.addItem(f"{op.username} ({op.display_name})", op.id)
        index = self.operator.findData(current)
        self.operator.setCurrentIndex(max(index, 0))
        self.operator.blockSignals(False)

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, UserError):
            self.status.setText(exc.message)
            return
        from ui.errors import show_error

        show_error(self, exc)

    # --- export -----------------------------------------------------------------------

    def export(self) -> None:
        chosen = self.choose_path(self)
        if chosen is None:
            return
        path, fmt = chosen
        service, actor, filt = self._service, self._actor, self.current_filter()
        self.export_button.setEnabled(False)

        def done(count: int) -> None:
            self.export_button.setEnabled(True)
            self.status.setText(f"Exported {count} entries to {path}.")
            self.exported.emit(count, path)
            self.model.append_arrived()  # the export itself is now in the log

        def failed(exc: BaseException) -> None:
            self.export_button.setEnabled(True)
            self._failed(exc)

        Op(self, lambda job: export_to_file(service, actor, filt, fmt, path)).on_success(
            done
        ).on_failure(failed).with_progress("Exporting the audit log…").run()

    # --- verify -----------------------------------------------------------------------

    def verify(self) -> None:
        service = self._service
        self.verify_button.setEnabled(False)

        def done(result: VerifyResult) -> None:
            self.verify_button.setEnabled(True)
            self.status.setText(result.summary())
            self.verified.emit(result)

        def failed(exc: BaseException) -> None:
            self.verify_button.setEnabled(True)
            self._failed(exc)

        Op(self, lambda job: service.verify()).on_success(done).on_failure(failed).with_progress(
            "Verifying the audit log…"
        ).run()


def make_tab(window: Any) -> QWidget:
    """Tab factory for ``ui.tabs`` (admins only)."""
    return AuditView(
        service=window.services.audit,
        operators=window.services.operators,
        actor=window.session.actor,
        qt_events=window.qt_events,
    )
