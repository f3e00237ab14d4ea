"""Privacy tab (admins): what the app keeps of buyers and for how long, in plain words;
the last and next purge with "Purge now"; buyer data held by age (overdue in red, with
why); open deletion requests with "Carry out"; erasing and exporting one buyer's data.

Reads are Futures of ``services.privacy`` / ``services.subjects`` / ``services.settings``
delivered with :func:`~ui.ops.when_done`; writes run in :class:`~ui.ops.Op` workers (the
purge on ``Lane.LONG`` with progress and Cancel).  Nothing on the GUI thread waits.
The tab reloads (throttled, and only while shown) on ``ThreadsChanged`` and
``AuditAppended``: a purge, an erase or a new request announces both.

The alias of an open request is shown (it is how the seller recognises it); a done
request is not listed here.  Nothing of a subject is logged.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.auth.models import Actor
from app.clock import Clock, SystemClock
from app.errors import UserError
from app.jobs import Job, Lane
from app.notices import AuditAppended, ThreadsChanged
from app.privacy.models import (
    DeletionRequest,
    PiiAge,
    PurgeCounts,
    PurgeRun,
    RequestSource,
    RunState,
    Subject,
    SubjectKind,
)
from app.settings import AMAZON_REQUEST_HOURS, PII_RETENTION_DAYS, PURGE_INTERVAL_MINUTES
from ui.dialogs.forms import ask_confirm
from ui.events import QtEvents
from ui.ops import Op, when_done

#: A deletion request is due this long after it arrived (Amazon's: a setting).
REQUEST_DAYS = 30
RED = QColor("#b3261e")
WARN_STYLE = "color: #b3261e;"
ERROR_BOX = (
    "background: #fdecea; color: #8a1c14; border: 1px solid #f3b8b2; border-radius: 4px;"
    " padding: 6px;"
)
INFO_BOX = (
    "background: #e8f3ea; color: #1b4d20; border: 1px solid #b5dcb9; border-radius: 4px;"
    " padding: 6px;"
)
REFRESH_MS = 300
STOPPED = "The purge was stopped; what it finished is erased, the next run continues."

Status = tuple[PurgeRun | None, datetime | None, PiiAge]


class PrivacyApi(Protocol):
    """What this view uses of ``PrivacyService`` (app/privacy/service.py)."""

    def status(self, actor: Actor) -> Future[Status]: ...

    def purge(self, actor: Actor, *, dry_run: bool = ..., job: Job | None = ...) -> Any: ...


class SubjectsApi(Protocol):
    """What this view uses of ``SubjectService`` (app/privacy/subjects.py)."""

    def requests(self, actor: Actor, *, open_only: bool = ...) -> Future[list[DeletionRequest]]: ...

    def register(
        self,
        actor: Actor,
        *,
        source: RequestSource,
        subject: Subject,
        received_at: datetime,
        including_messages: bool = ...,
    ) -> Any: ...

    def execute(self, actor: Actor, request_id: int) -> Any: ...

    def erase(self, actor: Actor, subject: Subject, *, including_messages: bool = ...) -> Any: ...

    def write_export(self, actor: Actor, subject: Subject, folder: Path) -> Any: ...


# --- words ---------------------------------------------------------------------------


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def interval_words(minutes: int) -> str:
    if minutes % 1440 == 0:
        return "once a day" if minutes == 1440 else f"every {minutes // 1440} days"
    if minutes % 60 == 0:
        return "every hour" if minutes == 60 else f"every {minutes // 60} hours"
    return f"every {minutes} minutes"


def summary_text(settings: dict[str, Any]) -> str:
    """The retention settings in plain words (rich text)."""
    days = int(settings.get(PII_RETENTION_DAYS.key, PII_RETENTION_DAYS.default))
    minutes = int(settings.get(PURGE_INTERVAL_MINUTES.key, PURGE_INTERVAL_MINUTES.default))
    hours = int(settings.get(AMAZON_REQUEST_HOURS.key, AMAZON_REQUEST_HOURS.default))
    n = _plural(days, "day")
    return (
        f"<p>Buyer names, relay addresses and message texts are erased <b>{n} after "
        f"delivery</b> (an order not marked delivered: {n} after the end of its delivery "
        f"window; a cancelled order: {n} after it was cancelled; a conversation without "
        f"an order: {n} after its last message). Messages stay readable with the buyer's "
        "details blanked out; orders themselves hold no buyer data and are kept.</p>"
        f"<p>The purge runs when the app starts and then {interval_words(minutes)}. "
        f"A deletion request is carried out within {REQUEST_DAYS} days of arriving; one "
        f"from Amazon within {_plural(hours, 'hour')}.</p>"
    )


def when_text(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def counts_text(counts: PurgeCounts, empty: str = "nothing was due") -> str:
    parts: list[tuple[int, str, str | None]] = [
        (counts.threads, "conversation", None),
        (counts.messages, "message", None),
        (counts.drafts, "draft", None),
        (counts.attachments, "attachment name", None),
        (counts.label_cache, "cached label", None),
        (counts.audit_entries, "old audit entry", "old audit entries"),
        (counts.messages_deleted, "message deleted", "messages deleted"),
    ]
    said = [_plural(n, one, many) for n, one, many in parts if n]
    return ", ".join(said) if said else empty


def time_left(due: datetime, now: datetime) -> tuple[str, bool]:
    """("3 days 4 hours left" | "overdue by 2 hours", overdue)."""
    delta = due - now
    overdue = delta.total_seconds() < 0
    delta = abs(delta)
    days, hours = delta.days, delta.seconds // 3600
    if days:
        span = _plural(days, "day") + (f" {_plural(hours, 'hour')}" if hours else "")
    elif hours:
        span = _plural(hours, "hour")
    else:
        span = _plural(delta.seconds // 60, "minute")
    return (f"overdue by {span}" if overdue else f"{span} left"), overdue


def subject_text(subject: Subject) -> str:
    return f"order {subject.value}" if subject.kind == SubjectKind.ORDER else subject.value


SOURCE_TEXT = {
    RequestSource.AMAZON: "Amazon",
    RequestSource.SELLER: "Seller",
    RequestSource.BUYER: "Buyer (via you)",
}


def run_text(run: PurgeRun | None) -> tuple[str, bool]:
    """The last purge in words, and whether it is a failure (shown red)."""
    if run is None:
        return "No purge has run yet.", False
    when = when_text(run.finished_at or run.started_at)
    if run.state == RunState.FAILED:
        return f"Last purge failed ({when}): {run.error or 'no reason recorded'}", True
    if run.state == RunState.CANCELLED:
        return (
            f"Last purge stopped before it finished ({when}); it had done: "
            f"{counts_text(run.counts)}. The next purge continues.",
            False,
        )
    if run.state == RunState.RUNNING:
        return f"A purge is running (started {when_text(run.started_at)}).", False
    return f"Last purge: {when}, {counts_text(run.counts)}.", False


def _counts_of(result: Any) -> PurgeCounts | None:
    if isinstance(result, PurgeCounts):
        return result
    counts = getattr(result, "counts", None)
    return counts if isinstance(counts, PurgeCounts) else None


# --- dialogs -------------------------------------------------------------------------


class SubjectForm(QWidget):
    """Order id or relay address, as a :class:`Subject`."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = QComboBox()
        self.kind.setObjectName("subjectKind")
        self.kind.addItem("Order id", SubjectKind.ORDER)
        self.kind.addItem("Relay address", SubjectKind.ALIAS)
        self.value = QLineEdit()
        self.value.setObjectName("subjectValue")
        self.value.setPlaceholderText("123-1234567-1234567")
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.value.textChanged.connect(lambda _t: self.changed.emit())
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.kind)
        row.addWidget(self.value, 1)

    def _kind_changed(self) -> None:
        alias = SubjectKind(self.kind.currentData()) == SubjectKind.ALIAS
        self.value.setPlaceholderText(
            "abc123@marketplace.amazon.com" if alias else "123-1234567-1234567"
        )
        self.changed.emit()

    def subject(self) -> Subject | None:
        value = self.value.text().strip()
        return Subject(SubjectKind(self.kind.currentData()), value) if value else None


class _SubjectDialog(QDialog):
    def __init__(self, title: str, text: str, ok: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(460)
        self.subject_form = SubjectForm()
        self.form = QFormLayout()
        self.form.addRow("Buyer:", self.subject_form)
        note = QLabel(text)
        note.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(ok)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.subject_form.changed.connect(self._update_ok)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addLayout(self.form)
        layout.addWidget(self.buttons)
        self._update_ok()

    def _update_ok(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(self.subject_form.subject() is not None)

    def subject(self) -> Subject | None:
        return self.subject_form.subject()


class NewRequestDialog(_SubjectDialog):
    """Source, order id or alias, received date, including messages."""

    def __init__(self, today: date, parent: QWidget | None = None) -> None:
        super().__init__(
            "New deletion request",
            "Record a request to delete a buyer's data. It is listed here with its due "
            "date until you carry it out.",
            "Add",
            parent,
        )
        self.setObjectName("newRequestDialog")
        self.source = QComboBox()
        self.source.setObjectName("requestSource")
        for source in (RequestSource.AMAZON, RequestSource.BUYER, RequestSource.SELLER):
            self.source.addItem(SOURCE_TEXT[source], source)
        self.received = QDateEdit(QDate(today.year, today.month, today.day))
        self.received.setObjectName("requestReceived")
        self.received.setCalendarPopup(True)
        self.received.setDisplayFormat("yyyy-MM-dd")
        self.received.setMaximumDate(QDate(today.year, today.month, today.day))
        self.including_messages = QCheckBox("Delete the messages themselves too")
        self.including_messages.setObjectName("requestIncludingMessages")
        self.form.insertRow(0, "From:", self.source)
        self.form.addRow("Received:", self.received)
        self.form.addRow("", self.including_messages)

    def values(self) -> dict[str, Any]:
        day = self.received.date()
        picked = date(day.year(), day.month(), day.day())
        now = datetime.now().astimezone()
        # Received today: now (noon could be hours ahead, and the due time with it); an
        # earlier day: its noon, as the day is all the seller knows.
        received = now if picked >= now.date() else datetime.combine(picked, time(12))
        return {
            "source": RequestSource(self.source.currentData()),
            "subject": self.subject(),
            "received_at": received.astimezone().astimezone(UTC),
            "including_messages": self.including_messages.isChecked(),
        }


class EraseDialog(_SubjectDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            "Erase a buyer's data",
            "Erase everything this app holds about one buyer now, without waiting for "
            "the retention period.",
            "Continue…",
            parent,
        )
        self.setObjectName("eraseDialog")
        self.including_messages = QCheckBox("Delete the messages themselves too")
        self.including_messages.setObjectName("eraseIncludingMessages")
        self.form.addRow("", self.including_messages)


class ExportDialog(_SubjectDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            "Export a buyer's data",
            "Everything this app holds about one buyer (order, messages, replies sent, "
            "shipments, deletion requests, audit entries) as JSON and a readable HTML "
            "file, for answering their request through Amazon. You choose the folder next.",
            "Choose folder…",
            parent,
        )
        self.setObjectName("exportDialog")


def choose_folder(parent: QWidget) -> Path | None:
    folder = QFileDialog.getExistingDirectory(parent, "Export the buyer's data to")
    return Path(folder) if folder else None


# --- the view ------------------------------------------------------------------------


class PrivacyView(QWidget):
    """Signals: ``loaded`` after status, requests and settings were (re)read;
    ``purged(object)`` with the purge's result; ``changed(str)`` after a request was
    added or carried out, an erase or an export (the message shown).  ``confirm`` and
    ``choose_folder`` are replaceable (tests); ``open_dialog`` is the dialog an action
    opened.  Thread: GUI."""

    loaded = Signal()
    purged = Signal(object)
    changed = Signal(str)

    COLUMNS = ("Source", "Buyer", "Received", "Due", "Time left", "")

    def __init__(
        self,
        services: Any,
        actor: Actor,
        qt_events: QtEvents | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("privacyView")
        self._privacy: PrivacyApi = services.privacy
        self._subjects: SubjectsApi = services.subjects
        self._settings = services.settings
        core = getattr(services, "core", None)
        self._clock: Clock = getattr(core, "clock", None) or SystemClock()
        self._actor = actor
        self._pending = 0
        self._stale = False
        self.requests: list[DeletionRequest] = []
        self.confirm: Callable[[str, str], bool] = lambda t, x: ask_confirm(self, t, x)
        self.choose_folder: Callable[[QWidget], Path | None] = choose_folder
        self.open_dialog: QDialog | None = None

        self.summary = QLabel()
        self.summary.setObjectName("privacySummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)

        self.last_run = QLabel("Loading…")
        self.last_run.setObjectName("privacyLastRun")
        self.last_run.setWordWrap(True)
        self.next_run = QLabel()
        self.next_run.setObjectName("privacyNextRun")
        self.purge_button = QPushButton("Purge now")
        self.purge_button.setObjectName("privacyPurgeNow")
        self.purge_button.setToolTip("Erase all buyer data past its deadline now")
        self.purge_button.clicked.connect(self.purge_now)
        purge_box = QGroupBox("Automatic purge")
        purge_layout = QVBoxLayout(purge_box)
        purge_layout.addWidget(self.last_run)
        purge_row = QHBoxLayout()
        purge_row.addWidget(self.next_run, 1)
        purge_row.addWidget(self.purge_button)
        purge_layout.addLayout(purge_row)

        self.age = QLabel()
        self.age.setObjectName("privacyAge")
        self.age.setWordWrap(True)
        self.overdue = QLabel()
        self.overdue.setObjectName("privacyOverdue")
        self.overdue.setWordWrap(True)
        self.overdue.setStyleSheet(WARN_STYLE)
        self.overdue.hide()
        age_box = QGroupBox("Buyer data held")
        age_layout = QVBoxLayout(age_box)
        age_layout.addWidget(self.age)
        age_layout.addWidget(self.overdue)

        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setObjectName("privacyRequests")
        self.table.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.no_requests = QLabel("No open deletion requests.")
        self.no_requests.setObjectName("privacyNoRequests")
        self.new_request_button = QPushButton("New request…")
        self.new_request_button.setObjectName("privacyNewRequest")
        self.new_request_button.clicked.connect(self.new_request)
        requests_box = QGroupBox("Deletion requests")
        requests_layout = QVBoxLayout(requests_box)
        requests_layout.addWidget(self.table, 1)
        requests_row = QHBoxLayout()
        requests_row.addWidget(self.no_requests, 1)
        requests_row.addWidget(self.new_request_button)
        requests_layout.addLayout(requests_row)

        self.erase_button = QPushButton("Erase a buyer's data…")
        self.erase_button.setObjectName("privacyErase")
        self.erase_button.clicked.connect(self.erase)
        self.export_button = QPushButton("Export a buyer's data…")
        self.export_button.setObjectName("privacyExport")
        self.export_button.clicked.connect(self.export)
        actions = QHBoxLayout()
        actions.addWidget(self.export_button)
        actions.addWidget(self.erase_button)
        actions.addStretch(1)

        self.message = QLabel()
        self.message.setObjectName("privacyMessage")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.hide()

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.message)
        layout.addWidget(purge_box)
        layout.addWidget(age_box)
        layout.addWidget(requests_box, 1)
        layout.addLayout(actions)

        # Notices come in bursts (a purge announces each batch): one reload per 300 ms,
        # and none while the tab is hidden (it reloads when shown again).
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(REFRESH_MS)
        self._refresh.timeout.connect(self.reload)
        if qt_events is not None:
            qt_events.on(ThreadsChanged, lambda _n: self._changed_elsewhere(), owner=self)
            qt_events.on(AuditAppended, lambda _n: self._changed_elsewhere(), owner=self)
        self.reload()

    # --- loading ----------------------------------------------------------------------

    def _changed_elsewhere(self) -> None:
        if not self.isVisible():
            self._stale = True
        elif not self._refresh.isActive():
            self._refresh.start()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self.reload()

    def reload(self) -> None:
        """Read the settings, the purge status and the open requests (three Futures)."""
        actor = self._actor
        self._pending = 3
        when_done(self._settings.all(actor), self._settings_loaded, self._failed, parent=self)
        when_done(self._privacy.status(actor), self._status_loaded, self._failed, parent=self)
        when_done(
            self._subjects.requests(actor, open_only=True),
            self._requests_loaded,
            self._failed,
            parent=self,
        )

    def _one_loaded(self) -> None:
        self._pending -= 1
        if self._pending == 0:
            self.loaded.emit()

    def _settings_loaded(self, settings: dict[str, Any]) -> None:
        self.summary.setText(summary_text(settings))
        self._one_loaded()

    def _status_loaded(self, status: Status) -> None:
        run, next_due, age = status
        text, failed = run_text(run)
        self.last_run.setText(text)
        self.last_run.setStyleSheet(WARN_STYLE if failed else "")
        self.next_run.setText(
            f"Next purge: {when_text(next_due) if next_due is not None else 'not scheduled'}"
        )
        oldest = (
            f" The oldest is due for erasing on {when_text(age.oldest_deadline)}."
            if age.oldest_deadline is not None
            else ""
        )
        held = age.due_in_7_days + age.due_later + age.overdue
        self.age.setText(
            "No buyer data is held."
            if held == 0
            else f"Conversations holding buyer data: {age.due_in_7_days} to be erased "
            f"within 7 days, {age.due_later} later.{oldest}"
        )
        if age.overdue:
            why = (
                f" The last purge failed: {run.error or 'no reason recorded'}"
                if run is not None and run.state == RunState.FAILED
                else " The next purge erases it; if this stays, use Purge now and see the log."
            )
            self.overdue.setText(
                f"{_plural(age.overdue, 'conversation holds', 'conversations hold')} "
                f"buyer data past its deadline.{why}"
            )
        self.overdue.setVisible(bool(age.overdue))
        self._one_loaded()

    def _requests_loaded(self, requests: list[DeletionRequest]) -> None:
        now = self._clock.now()
        self.requests = sorted(requests, key=lambda r: r.due_at)
        self.table.setRowCount(len(self.requests))
        for row, request in enumerate(self.requests):
            left, overdue = time_left(request.due_at, now)
            cells = (
                SOURCE_TEXT.get(request.source, str(request.source)),
                subject_text(request.subject),
                when_text(request.received_at),
                when_text(request.due_at),
                left,
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if overdue:
                    item.setForeground(QBrush(RED))
                self.table.setItem(row, column, item)
            button = QPushButton("Carry out…")
            button.setObjectName(f"carryOut{request.id}")
            button.clicked.connect(lambda _c=False, r=request: self.carry_out(r))
            self.table.setCellWidget(row, len(self.COLUMNS) - 1, button)
        self.no_requests.setText(
            "No open deletion requests."
            if not requests
            else _plural(len(requests), "open request")
            + (f", {sum(1 for r in requests if r.due_at < now)} overdue" if requests else "")
        )
        self._one_loaded()

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, UserError):
            self._say(exc.message, error=True)
            return
        from ui.errors import show_error

        show_error(self, exc)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(ERROR_BOX if error else INFO_BOX)
        self.message.show()

    def _open(self, dialog: QDialog, accepted: Callable[[], None]) -> None:
        self.open_dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def finished(result: int) -> None:
            if self.open_dialog is dialog:
                self.open_dialog = None
            if result == QDialog.DialogCode.Accepted:
                accepted()

        dialog.finished.connect(finished)
        dialog.open()

    def _run(self, fn: Callable[[Job], Any], label: str, done: Callable[[Any], None]) -> None:
        def failed(exc: BaseException) -> None:
            self._failed(exc)
            self.reload()

        Op(self, fn).on_success(done).on_failure(failed).with_progress(label).run()

    # --- purge ------------------------------------------------------------------------

    def purge_now(self) -> None:
        privacy, actor = self._privacy, self._actor
        self.purge_button.setEnabled(False)

        def done(result: Any) -> None:
            self.purge_button.setEnabled(True)
            counts = _counts_of(result)
            if isinstance(result, PurgeRun) and result.state == RunState.FAILED:
                self._say(f"The purge failed: {result.error or 'no reason recorded'}", error=True)
            elif isinstance(result, PurgeRun) and result.state == RunState.CANCELLED:
                self._say(STOPPED)
            else:
                said = (
                    counts_text(counts, "no conversation held this buyer's data")
                    if counts is not None
                    else "done"
                )
                self._say(f"Purge finished: {said}.")
            self.purged.emit(result)
            self.reload()

        def stopped() -> None:
            self.purge_button.setEnabled(True)
            self._say(STOPPED)
            self.reload()

        def failed(exc: BaseException) -> None:
            self.purge_button.setEnabled(True)
            self._failed(exc)
            self.reload()

        Op(self, lambda job: privacy.purge(actor, job=job), lane=Lane.LONG).on_success(
            done
        ).on_failure(failed).on_cancelled(stopped).with_progress(
            "Erasing buyer data past its deadline…"
        ).run()

    # --- deletion requests -----------------------------------------------------------

    def new_request(self) -> None:
        dialog = NewRequestDialog(self._clock.now().astimezone().date(), self)
        subjects, actor = self._subjects, self._actor

        def accepted() -> None:
            values = dialog.values()
            self._run(
                lambda job: subjects.register(actor, **values),
                "Recording the request…",
                lambda _r: self._done("Request recorded."),
            )

        self._open(dialog, accepted)

    def carry_out(self, request: DeletionRequest) -> None:
        extra = " and the messages themselves" if request.including_messages else ""
        if not self.confirm(
            "Carry out deletion request",
            f"Erase all buyer data of {subject_text(request.subject)}{extra} now? Buyer "
            "names, relay addresses and the buyer's details in messages are erased for "
            "good; the order and the request's record stay. This cannot be undone.",
        ):
            return
        subjects, actor, rid = self._subjects, self._actor, request.id
        self._run(
            lambda job: subjects.execute(actor, rid),
            "Erasing the buyer's data…",
            lambda result: self._done(self._erased_text(result)),
        )

    def _erased_text(self, result: Any) -> str:
        counts = _counts_of(result)
        if counts is None:
            return "Erased."
        return "Erased: " + counts_text(counts, "no conversation held this buyer's data") + "."

    def _done(self, text: str) -> None:
        self._say(text)
        self.changed.emit(text)
        self.reload()

    # --- erase and export ------------------------------------------------------------

    def erase(self) -> None:
        dialog = EraseDialog(self)
        subjects, actor = self._subjects, self._actor

        def accepted() -> None:
            subject = dialog.subject()
            including = dialog.including_messages.isChecked()
            if subject is None:
                return
            extra = (
                " The messages themselves are deleted too."
                if including
                else " The messages stay, with the buyer's details blanked out."
            )
            if not self.confirm(
                "Erase a buyer's data",
                f"Erase all buyer data of {subject_text(subject)} now? Buyer names, relay "
                f"addresses and the buyer's details in messages are erased for good.{extra} "
                "The order stays. You can no longer find these conversations by the "
                "buyer's name. This cannot be undone.",
            ):
                return
            self._run(
                lambda job: subjects.erase(actor, subject, including_messages=including),
                "Erasing the buyer's data…",
                lambda result: self._done(self._erased_text(result)),
            )

        self._open(dialog, accepted)

    def export(self) -> None:
        dialog = ExportDialog(self)
        subjects, actor = self._subjects, self._actor

        def accepted() -> None:
            subject = dialog.subject()
            folder = self.choose_folder(self) if subject is not None else None
            if subject is None or folder is None:
                return
            self._run(
                lambda job: subjects.write_export(actor, subject, folder),
                "Exporting the buyer's data…",
                lambda _r: self._done(f"The buyer's data was written to {folder}."),
            )

        self._open(dialog, accepted)


def make_tab(window: Any) -> QWidget:
    """Tab factory for ``ui.tabs`` (admins only)."""
    return PrivacyView(window.services, window.session.actor, window.qt_events)
