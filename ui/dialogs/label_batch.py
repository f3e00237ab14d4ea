"""Labels for many orders at once: rates → review → buy → print.

1. "Get rates" runs ``labels.batch_rates`` (``Lane.LONG``, progress and Cancel): each
   order is rated with its package preset and the cheapest claims-protected service is
   picked.
2. The review table shows each order's package, a service combo (the quote's rates, the
   picked one selected), price, delivery and its state: failed orders in red with the
   reason, skipped ones (a label bought already, shipped, FBA) in grey.  A row can be
   left out with its checkbox.  The total is given per currency and the Buy button says
   what it spends ("Buy 4 labels for 29.80 USD"), after a confirmation.
3. ``labels.batch_buy`` buys the ticked lines (``Lane.LONG``; Cancel stops between
   orders).  The service never buys an order twice: a bought row can never be bought
   again from here, and a new batch shows it as "Label bought already".
4. "Print all" prints each bought label on the chosen printer (the label format's last
   printer preselected): ``labels.documents`` (from memory), :func:`ui.printing.print_label`,
   then ``labels.record_printed``.  A printer failure is shown per row; "Retry failed"
   prints the same in-memory labels again and never buys.

Label documents carry the buyer's address: they stay in this process's memory (here and
in the label service), never in a file or a log.

While work runs the dialog closes only through the progress window's Cancel.
Signals: ``lines_changed`` after rates, a purchase or printing.  Thread: GUI only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QCloseEvent, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.amazon.models import Money
from app.amazon.spapi.shipping import DocumentType, LabelDocument, LabelFormat, Rate
from app.auth.models import Actor
from app.errors import UserError
from app.fulfillment.models import BatchLine, BatchState, service_text
from app.fulfillment.printers import (
    PrinterInfo,
    PrinterKind,
    PrintSettings,
    list_cups_printers,
)
from app.fulfillment.printing import label_of, print_shipment
from ui.ops import Job, Lane, Op, when_done
from ui.printing import PrintTarget, job_title, print_label

PrintFn = Callable[[PrintTarget, LabelDocument, PrintSettings, str], str]


class Column:
    ORDER = 0
    PACKAGE = 1
    SERVICE = 2
    PRICE = 3
    DELIVERY = 4
    STATE = 5


HEADERS = ("Order", "Package", "Service", "Price", "Delivery", "State")
RED = QColor("#c62828")
GREY = QColor("#6c757d")
GREEN = QColor("#2e7d32")
AMBER = QColor("#8a6d00")


@dataclass(frozen=True)
class Printed:
    """How printing one order's label went (``error``: plain words, or None)."""

    order_id: str
    row_id: int
    document: LabelDocument | None
    error: str | None = None
    note: str | None = None


def rate_text(rate: Rate) -> str:
    protected = " ✓" if rate.protected else ""
    return f"{service_text(rate.carrier_name, rate.service_name)}{protected} — {rate.total}"


def delivery_text(rate: Rate | None) -> str:
    if rate is None or (rate.delivery_start is None and rate.delivery_end is None):
        return "—"
    start, end = rate.delivery_start, rate.delivery_end
    if start is not None and end is not None and start.date() != end.date():
        return f"{start:%d %b}–{end:%d %b}"
    day = end or start
    assert day is not None
    return f"by {day:%a %d %b}"


def totals(lines: Sequence[BatchLine]) -> list[Money]:
    """The sum of the lines' chosen rates, one per currency (sorted by currency)."""
    return _sum_money([line.rate.total for line in lines if line.rate is not None])


def money_text(amounts: Sequence[Money]) -> str:
    return " + ".join(str(m) for m in amounts) if amounts else "nothing"


def target_text(target: PrintTarget) -> str:
    if target.kind is PrinterKind.ZPL_TCP:
        where = f"thermal printer at {target.address}"
    elif target.raw:
        where = "raw queue, for ZPL"
    else:
        where = "this computer"
    return f"{target.name} ({where}{'' if target.ready else ', not ready'})"


class BatchLabelDialog(QDialog):
    """Rates, purchase and printing for several orders (see the module docstring)."""

    lines_changed = Signal()

    def __init__(
        self,
        services: Any,
        actor: Actor,
        order_ids: Sequence[str],
        parent: QWidget | None = None,
        *,
        print_fn: PrintFn = print_label,
        list_printers: Callable[[], list[PrinterInfo]] = list_cups_printers,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("batchLabelDialog")

        self.setMinimumSize(900, 520)
        self._labels = services.labels
        self._actor = actor
        self._print_fn = print_fn
        self._list_printers = list_printers
        self.order_ids = list(dict.fromkeys(order_ids))
        self.setWindowTitle(f"Shipping labels for {len(self.order_ids)} orders")
        self.lines: list[BatchLine] = [BatchLine(oid, 0) for oid in self.order_ids]
        self.left_out: set[str] = set()
        #: The label of each bought shipment row printed or fetched here (memory only).
        self._documents: dict[int, LabelDocument] = {}
        self.printed: dict[str, str] = {}  # order id → printer
        self.print_errors: dict[str, str] = {}
        self.targets: list[PrintTarget] = []
        self._printer_settings: dict[str, PrintSettings] = {}
        self._last_printers: dict[str, str] = {}
        self._saved_targets: list[PrintTarget] = []
        self._cups_targets: list[PrintTarget] = []
        self.busy = False
        self.current_op: Op[Any] | None = None
        self.bought_now = 0

        layout = QVBoxLayout(self)
        self.intro = QLabel(
            f"{len(self.order_ids)} orders. Müttefik Desk asks Amazon for each order's "
            "rates with its package preset and picks the cheapest claims-protected "
            "service; you check the list before anything is bought."
        )
        self.intro.setWordWrap(True)
        layout.addWidget(self.intro)
        self.table = QTableWidget(len(self.lines), len(HEADERS))
        self.table.setObjectName("batchTable")
        self.table.setHorizontalHeaderLabels(list(HEADERS))
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(Column.SERVICE, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.setColumnWidth(Column.SERVICE, self.fontMetrics().horizontalAdvance("M" * 26))
        self.table.itemChanged.connect(self._item_changed)
        layout.addWidget(self.table, 1)

        self.total_label = QLabel("")
        self.total_label.setObjectName("batchTotal")
        self.total_label.setStyleSheet("font-weight: 600;")
        layout.addWidget(self.total_label)
        self.summary = QLabel("")
        self.summary.setObjectName("batchSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.summary)

        print_row = QHBoxLayout()
        print_row.addWidget(QLabel("Printer"))
        self.printer_combo = QComboBox()
        self.printer_combo.setObjectName("batchPrinter")
        self.printer_combo.setMinimumWidth(320)
        print_row.addWidget(self.printer_combo, 1)
        self.print_button = QPushButton("Print all")
        self.print_button.setObjectName("printAll")
        self.print_button.clicked.connect(self.print_all)
        self.retry_button = QPushButton("Retry failed")
        self.retry_button.setObjectName("retryFailed")
        self.retry_button.clicked.connect(self.retry_failed)
        print_row.addWidget(self.print_button)
        print_row.addWidget(self.retry_button)
        self.print_box = QWidget()
        self.print_box.setLayout(print_row)
        print_row.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.print_box)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.rates_button = QPushButton(f"Get rates for {len(self.order_ids)} orders")
        self.rates_button.setObjectName("getRates")
        self.rates_button.clicked.connect(self.get_rates)
        self.buy_button = QPushButton("Buy")
        self.buy_button.setObjectName("buyLabels")
        self.buy_button.clicked.connect(self.buy)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        for b in (self.rates_button, self.buy_button, self.close_button):
            buttons.addWidget(b)
        layout.addLayout(buttons)

        self.rates_button.setDefault(True)
        self._render()
        self._load_printers()

    # --- step 1: rates ---------------------------------------------------------------------

    def get_rates(self) -> None:
        if self.busy:
            return
        labels, actor, ids = self._labels, self._actor, list(self.order_ids)
        self._start(
            Op(
                self,
                lambda job: labels.batch_rates(actor, ids, job=job),
                lane=Lane.LONG,
            )
            .with_progress("Getting Amazon's rates…")
            .on_success(self._rated)
            .on_cancelled(
                lambda: self._stopped("Stopped: no rates were kept. Get the rates again.")
            )
        )

    def _rated(self, lines: list[BatchLine]) -> None:
        self._finish()
        self.lines = lines
        self.left_out.clear()
        self.summary.setText(self._rates_summary())
        self._render()
        self.lines_changed.emit()

    def _rates_summary(self) -> str:
        rated = sum(1 for li in self.lines if li.state is BatchState.RATED)
        parts = [f"{rated} ready to buy"]
        parts += self._counted(BatchState.SKIPPED, "skipped")
        parts += self._counted(BatchState.FAILED, "without rates")
        return "; ".join(parts) + "."

    def _counted(self, state: BatchState, words: str) -> list[str]:
        lines = [li for li in self.lines if li.state is state]
        if not lines:
            return []
        # The first sentence of each reason: the row's tooltip has all of it.
        reasons = ", ".join(
            f"{li.order_id}: {(li.message or '').split('. ')[0]}".rstrip(": .") for li in lines[:3]
        )
        more = f" and {len(lines) - 3} more" if len(lines) > 3 else ""
        return [f"{len(lines)} {words} ({reasons}{more})"]

    # --- step 2: review ----------------------------------------------------------------------

    def to_buy(self) -> list[BatchLine]:
        """The lines the Buy button buys: rated and not left out."""
        return [
            li
            for li in self.lines
            if li.state is BatchState.RATED and li.order_id not in self.left_out
        ]

    def choose_rate(self, order_id: str, rate_id: str) -> None:
        """Pick another of the order's services (the row's combo does this)."""
        for index, line in enumerate(self.lines):
            if line.order_id == order_id and line.quote is not None:
                rate = line.quote.rate(rate_id)
                if rate is not None and rate != line.rate:
                    self.lines[index] = replace(line, rate=rate, message=None)
                    self._render_row(index)
                    self._render_totals()

    def set_left_out(self, order_id: str, left_out: bool) -> None:
        if left_out:
            self.left_out.add(order_id)
        else:
            self.left_out.discard(order_id)
        index = self.order_ids.index(order_id)
        self._render_row(index)
        self._render_totals()

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() != Column.ORDER or not item.flags() & Qt.ItemFlag.ItemIsUserCheckable:
            return
        order_id = item.data(int(Qt.ItemDataRole.UserRole))
        wanted = item.checkState() == Qt.CheckState.Checked
        if order_id and wanted == (order_id in self.left_out):
            self.set_left_out(str(order_id), not wanted)

    # --- step 3: buy -----------------------------------------------------------------------

    def buy(self) -> None:
        if self.busy:
            return
        lines = self.to_buy()
        if not lines:
            return
        spend = money_text(totals(lines))
        answer = QMessageBox.question(
            self,
            "Buy labels",
            f"Buy {_labels_text(len(lines))} for {spend}? Amazon charges your Seller "
            "Central account for each label.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        labels, actor = self._labels, self._actor
        self._start(
            Op(
                self,
                lambda job: labels.batch_buy(actor, lines, job=job),
                lane=Lane.LONG,
            )
            .with_progress("Buying labels…")
            .on_success(self._bought)
            .on_cancelled(lambda: self._stopped("Stopped before any label was bought."))
        )

    def _bought(self, results: list[BatchLine]) -> None:
        self._finish()
        by_order = {li.order_id: li for li in results}
        newly = [
            li
            for li in results
            if li.state is BatchState.BOUGHT
            and next((o for o in self.lines if o.order_id == li.order_id), li).state
            is not BatchState.BOUGHT
        ]
        self.bought_now += len(newly)
        self.lines = [by_order.get(li.order_id, li) for li in self.lines]
        self.summary.setText(self._buy_summary())
        self._render()
        self._preselect_printer()
        self.lines_changed.emit()

    def _buy_summary(self) -> str:
        bought = [li for li in self.lines if li.state is BatchState.BOUGHT]
        parts = [f"{len(bought)} bought"]
        parts += self._counted(BatchState.FAILED, "failed")
        parts += self._counted(BatchState.SKIPPED, "skipped")
        waiting = [li for li in self.lines if li.state is BatchState.RATED]
        if waiting:
            parts.append(f"{len(waiting)} not bought yet")
        return "; ".join(parts) + "."

    # --- step 4: print ---------------------------------------------------------------------

    def _load_printers(self) -> None:
        when_done(
            self._labels.read(self._actor, lambda r: (r.printers(), r.last_printers())),
            self._printers_read,
            parent=self,
        )
        listing = self._list_printers
        Op(self, lambda _job: listing(), lane=Lane.NET).on_success(self._queues_listed).on_failure(
            lambda _exc: self._queues_listed([])
        ).run()

    def _printers_read(
        self, got: tuple[list[tuple[str, str, str | None, str]], dict[str, str]]
    ) -> None:
        rows, last = got
        self._last_printers = last
        self._saved_targets = []
        for name, kind, address, text in rows:
            try:
                self._printer_settings[name] = PrintSettings.from_json(text)
            except ValueError:
                self._printer_settings[name] = PrintSettings()
            if kind == PrinterKind.ZPL_TCP:
                self._saved_targets.append(PrintTarget(name, PrinterKind.ZPL_TCP, address))
            else:
                self._saved_targets.append(PrintTarget(name, PrinterKind.CUPS))
        self._fill_printers()

    def _queues_listed(self, printers: list[PrinterInfo]) -> None:
        self._cups_targets = [
            PrintTarget(p.name, PrinterKind.CUPS, raw=p.raw, ready=p.ready) for p in printers
        ]
        self._fill_printers()

    def _fill_printers(self) -> None:
        """The computer's queues first, then saved printers it does not list (thermal
        printers on the network, or a queue CUPS did not report)."""
        listed = {t.name for t in self._cups_targets}
        self.targets = self._cups_targets + [
            t for t in self._saved_targets if t.kind is PrinterKind.ZPL_TCP or t.name not in listed
        ]
        current = self.printer_combo.currentData()
        self.printer_combo.clear()
        for index, target in enumerate(self.targets):
            self.printer_combo.addItem(target_text(target), index)
        if current is not None and current < len(self.targets):
            self.printer_combo.setCurrentIndex(current)
        self._preselect_printer()
        self._render_buttons()

    def label_format(self) -> LabelFormat | None:
        """The format of the bought labels (the first's)."""
        for line in self.lines:
            if line.state is BatchState.BOUGHT and line.shipment is not None:
                return line.shipment.label_format
        return None

    def _preselect_printer(self) -> None:
        fmt = self.label_format()
        if fmt is None:
            return
        last = self._last_printers.get(str(fmt))
        names = [t.name for t in self.targets]
        if last in names:
            self.printer_combo.setCurrentIndex(names.index(last))
            return
        fitting = next((i for i, t in enumerate(self.targets) if t.accepts(fmt)), None)
        if fitting is not None:
            self.printer_combo.setCurrentIndex(fitting)

    def chosen_target(self) -> PrintTarget | None:
        index = self.printer_combo.currentIndex()
        return self.targets[index] if 0 <= index < len(self.targets) else None

    def to_print(self, *, failed_only: bool) -> list[BatchLine]:
        lines = [
            li for li in self.lines if li.state is BatchState.BOUGHT and li.shipment is not None
        ]
        if failed_only:
            return [li for li in lines if li.order_id in self.print_errors]
        # Not tried yet: a failed one is "Retry failed"'s.
        return [
            li
            for li in lines
            if li.order_id not in self.printed and li.order_id not in self.print_errors
        ]

    def print_all(self) -> None:
        self._print(self.to_print(failed_only=False))

    def retry_failed(self) -> None:
        self._print(self.to_print(failed_only=True))

    def _print(self, lines: list[BatchLine]) -> None:
        target = self.chosen_target()
        if self.busy or not lines or target is None:
            return
        settings = self._printer_settings.get(target.name, PrintSettings())
        labels, actor, print_fn = self._labels, self._actor, self._print_fn
        todo = [(li.order_id, li.shipment.id) for li in lines if li.shipment is not None]
        known = dict(self._documents)

        def work(job: Job) -> list[Printed]:
            out: list[Printed] = []
            for done, (order_id, row_id) in enumerate(todo):
                if job.cancelled:
                    break
                job.progress(done, len(todo), f"Printing the label of order {order_id}…")
                out.append(
                    _print_one(labels, actor, print_fn, target, settings, order_id, row_id, known)
                )
            job.progress(len(todo), len(todo), "")
            return out

        self._start(
            Op(self, work, lane=Lane.LONG)
            .with_progress("Printing labels…")
            .on_success(self._printed)
        )

    def _printed(self, results: list[Printed]) -> None:
        self._finish()
        target = self.chosen_target()
        for result in results:
            if result.document is not None:
                self._documents[result.row_id] = result.document
            if result.error is None:
                self.print_errors.pop(result.order_id, None)
                self.printed[result.order_id] = target.name if target else ""
            else:
                self.print_errors[result.order_id] = result.error
        self.summary.setText(self._print_summary())
        self._render()
        self.lines_changed.emit()

    def _print_summary(self) -> str:
        bought = [li for li in self.lines if li.state is BatchState.BOUGHT]
        printed = sum(1 for li in bought if li.order_id in self.printed)
        text = f"{printed} of {len(bought)} labels printed"
        if self.print_errors:
            first_id, first = next(iter(self.print_errors.items()))
            text += f", {len(self.print_errors)} failed ({first_id}: {first})"
            text += " Fix the printer, then “Retry failed”: the same labels print again."
            return text
        return text + "."

    # --- running work ------------------------------------------------------------------------

    def _start(self, op: Op[Any]) -> None:
        self.busy = True
        self.current_op = op
        self._render_buttons()
        op.on_failure(self._failed).run()

    def _finish(self) -> None:
        self.busy = False
        self._render_buttons()

    def _stopped(self, text: str) -> None:
        self._finish()
        self.summary.setText(text)
        self._render()

    def _failed(self, exc: BaseException) -> None:
        self._finish()
        from ui.errors import show_error

        show_error(self, exc)

    def reject(self) -> None:
        if self.busy:  # only the progress window's Cancel stops the work
            return
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.busy:
            event.ignore()
            return
        super().closeEvent(event)

    # --- rendering ---------------------------------------------------------------------------

    def _render(self) -> None:
        self.table.blockSignals(True)
        for index in range(len(self.lines)):
            self._render_row(index)
        self.table.blockSignals(False)
        self._render_totals()

    def _render_row(self, index: int) -> None:
        line = self.lines[index]
        blocked = self.table.signalsBlocked()
        self.table.blockSignals(True)
        rated = line.state is BatchState.RATED
        left_out = line.order_id in self.left_out
        order = QTableWidgetItem(line.order_id)
        order.setData(int(Qt.ItemDataRole.UserRole), line.order_id)
        if rated:
            order.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            order.setCheckState(Qt.CheckState.Unchecked if left_out else Qt.CheckState.Checked)
            order.setToolTip("Untick to leave this order out of the purchase.")
        else:
            order.setFlags(Qt.ItemFlag.ItemIsEnabled)
        self.table.setItem(index, Column.ORDER, order)
        package = line.preset.name if line.preset is not None else "—"
        self.table.setItem(
            index, Column.PACKAGE, _item(package, line.preset.describe() if line.preset else None)
        )

        self.table.removeCellWidget(index, Column.SERVICE)
        if rated and line.quote is not None and line.rate is not None and not self.busy:
            combo = QComboBox()
            combo.setObjectName(f"service_{line.order_id}")
            for rate in sorted(line.quote.rates, key=lambda r: (r.total.amount, r.carrier_name)):
                combo.addItem(rate_text(rate), rate.rate_id)
            combo.setCurrentIndex(combo.findData(line.rate.rate_id))
            combo.setEnabled(not left_out)
            order_id = line.order_id
            combo.currentIndexChanged.connect(
                lambda _i, c=combo, o=order_id: self.choose_rate(o, str(c.currentData()))
            )
            self.table.setItem(index, Column.SERVICE, _item(""))
            self.table.setCellWidget(index, Column.SERVICE, combo)
        elif line.shipment is not None and line.state is BatchState.BOUGHT:
            shipment = line.shipment
            self.table.setItem(
                index, Column.SERVICE, _item(service_text(shipment.carrier, shipment.service))
            )
        elif line.rate is not None:
            self.table.setItem(index, Column.SERVICE, _item(rate_text(line.rate)))
        else:
            self.table.setItem(index, Column.SERVICE, _item("—"))

        cost = line.shipment.cost if line.state is BatchState.BOUGHT and line.shipment else None
        price = cost or (line.rate.total if line.rate else None)
        self.table.setItem(index, Column.PRICE, _item(str(price) if price else "—"))
        self.table.setItem(index, Column.DELIVERY, _item(delivery_text(line.rate)))
        text, color = self._state_text(line)
        state = _item(text, text)
        if color is not None:
            state.setForeground(QBrush(color))
        self.table.setItem(index, Column.STATE, state)
        self.table.blockSignals(blocked)

    def _state_text(self, line: BatchLine) -> tuple[str, QColor | None]:
        if line.state is BatchState.PENDING:
            return "Waiting for rates", GREY
        if line.state is BatchState.RATED:
            if line.order_id in self.left_out:
                return "Left out", GREY
            if line.message:
                return line.message, AMBER
            return "Ready to buy", None
        if line.state is BatchState.BOUGHT:
            tracking = line.shipment.tracking_id if line.shipment else None
            bought = f"Bought{f', tracking {tracking}' if tracking else ''}"
            if line.order_id in self.print_errors:
                return f"{bought}. Not printed: {self.print_errors[line.order_id]}", RED
            if line.order_id in self.printed:
                return f"{bought}, printed", GREEN
            return bought, GREEN
        if line.state is BatchState.SKIPPED:
            return line.message or "Skipped", GREY
        return f"Failed: {line.message or 'no reason given'}", RED

    def _render_totals(self) -> None:
        lines = self.to_buy()
        if lines:
            self.total_label.setText(f"Total: {money_text(totals(lines))}")
        else:
            bought = [li for li in self.lines if li.state is BatchState.BOUGHT]
            costs = [li.shipment.cost for li in bought if li.shipment and li.shipment.cost]
            spent = _sum_money(costs)
            self.total_label.setText(
                f"Bought: {_labels_text(len(bought))} for {money_text(spent)}" if bought else ""
            )
        self._render_buttons()

    def _render_buttons(self) -> None:
        lines = self.to_buy()
        rated_once = any(li.state is not BatchState.PENDING for li in self.lines)
        self.rates_button.setVisible(not rated_once)
        self.rates_button.setEnabled(not self.busy)
        self.buy_button.setVisible(rated_once)
        self.buy_button.setEnabled(bool(lines) and not self.busy)
        self.buy_button.setText(
            f"Buy {_labels_text(len(lines))} for {money_text(totals(lines))}" if lines else "Buy"
        )
        if lines:
            self.buy_button.setDefault(True)
        printable = self.to_print(failed_only=False)
        failed = self.to_print(failed_only=True)
        self.print_box.setVisible(any(li.state is BatchState.BOUGHT for li in self.lines))
        has_target = self.chosen_target() is not None
        self.print_button.setEnabled(bool(printable) and has_target and not self.busy)
        self.print_button.setText(
            f"Print {_labels_text(len(printable))}" if printable else "Print all"
        )
        self.retry_button.setVisible(bool(failed))
        self.retry_button.setEnabled(bool(failed) and has_target and not self.busy)
        self.close_button.setEnabled(not self.busy)
        layout = self.layout()
        if layout is not None:  # the buttons' new texts get their width now
            layout.activate()


def _print_one(
    labels: Any,
    actor: Actor,
    print_fn: PrintFn,
    target: PrintTarget,
    settings: PrintSettings,
    order_id: str,
    row_id: int,
    known: dict[int, LabelDocument],
) -> Printed:
    """Print one bought label (worker thread): the label printed before if there is one,
    else the service's (memory, the opt-in cache, or Amazon again)."""
    document = known.get(row_id)
    source = "memory"
    try:
        documents, source = labels.documents(actor, row_id)  # from memory after a purchase
        if document is None:
            document = label_of(documents)
        extra = tuple(d for d in documents if d.type is not DocumentType.LABEL)
        # The label, then Amazon's packing slip if it was bought with one.
        print_shipment(target, (document, *extra), settings, job_title(order_id), print_fn)
    except UserError as exc:
        return Printed(order_id, row_id, document, exc.message)
    try:
        labels.record_printed(
            actor, row_id, printer=target.name, label_format=str(document.format), source=source
        )
    except UserError as exc:  # printed all the same: never print it twice for this
        return Printed(order_id, row_id, document, note=exc.message)
    return Printed(order_id, row_id, document)


def _item(text: str, tooltip: str | None = None) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled)
    if tooltip:
        item.setToolTip(tooltip)
    return item


def _labels_text(count: int) -> str:
    return f"{count} label{'s' if count != 1 else ''}"


def _sum_money(amounts: Sequence[Money]) -> list[Money]:
    sums: dict[str, Decimal] = {}
    for money in amounts:
        sums[money.currency] = sums.get(money.currency, Decimal(0)) + money.amount
    return [Money(amount, currency) for currency, amount in sorted(sums.items())]
