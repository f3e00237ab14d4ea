"""Add or edit a store: name, region, marketplaces, LWA credentials, endpoint override.

The fields are checked first, on the GUI thread (``validate_draft`` is pure); a field
at fault is marked and its message shown right under it.  "Test connection" and "Save"
then run on the network pool (:class:`ui.ops.Op`); the outcome appears inside the dialog
in a seller's words, with the fields to check highlighted.
The client secret and refresh token go to the system keychain through the store service;
when editing, empty secret fields keep the stored ones.

A NEW store's order history load (Amazon's order reports) starts as soon as it is saved,
if ``history`` is given (``services.history``); its progress shows in the status bar.

Signals: ``store_saved(object)`` with the saved :class:`~app.amazon.models.Store`.
Thread: GUI only.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.amazon.models import Credentials, Region, Store, StoreDraft
from app.amazon.stores import validate_credentials, validate_draft
from app.auth.models import Actor
from app.errors import (
    AmazonAuthFailed,
    AmazonGrantInvalid,
    AmazonRoleMissing,
    InsecureEndpoint,
    NetworkDown,
    StoreCredentialsMissing,
    StoreNameTaken,
    StoreSettingsInvalid,
    TlsFailure,
    UserError,
)
from ui.dialogs.forms import (
    BAD_FIELD,
    BUSY_STYLE,
    ERR_STYLE,
    OK_STYLE,
    esc,
    field_error_label,
    result_label,
)
from ui.ops import Job, Lane, Op

log = logging.getLogger("muttefik.ui")

# Marketplaces per region (id, label), in Seller Central's order.
MARKETPLACES: dict[Region, list[tuple[str, str]]] = {
    Region.NA: [
        ("ATVPDKIKX0DER", "United States"),
        ("A2EUQ1WTGCTBG2", "Canada"),
        ("A1AM78C64UM0Y8", "Mexico"),
        ("A2Q3Y263D00KWC", "Brazil"),
    ],
    Region.EU: [
        ("A1F83G8C2ARO7P", "United Kingdom"),
        ("A1PA6795UKMFR9", "Germany"),
        ("A13V1IB3VIYZZH", "France"),
        ("APJ6JRA9NG5V4", "Italy"),
        ("A1RKKUPIHCS9HS", "Spain"),
        ("A1805IZSGTT6HS", "Netherlands"),
        ("A2NODRKZP88ZB9", "Sweden"),
        ("A1C3SOZRARQ6R3", "Poland"),
        ("AMEN7PMS3EDWL", "Belgium"),
        ("A33AVAJ2PDY3EV", "Türkiye"),
        ("A21TJRUUN4KGV", "India"),
        ("A2VIGQ35RCS4UG", "United Arab Emirates"),
        ("A17E79C6D8DWNP", "Saudi Arabia"),
    ],
    Region.FE: [
        ("A1VC38T7YXB528", "Japan"),
        ("A39IBJ37TRP1C6", "Australia"),
        ("A19VAU5U5O7RUS", "Singapore"),
    ],
}

REGION_LABELS = {
    Region.NA: "North America (NA)",
    Region.EU: "Europe, Middle East, India (EU)",
    Region.FE: "Far East (FE)",
}


class StoreServiceLike(Protocol):
    """The part of :class:`app.amazon.stores.StoreService` the dialog uses."""

    def test_connection(
        self,
        actor: Actor,
        store: Store | StoreDraft,
        credentials: Credentials | None = None,
        *,
        stored_for: int | None = None,
    ) -> Any: ...

    def create_store(
        self, actor: Actor, draft: StoreDraft, credentials: Credentials | None = None
    ) -> Store: ...

    def update_store(self, actor: Actor, store_id: int, draft: StoreDraft) -> Store: ...

    def set_credentials(self, actor: Actor, store_id: int, credentials: Credentials) -> None: ...


class HistoryStarter(Protocol):
    """``HistoryService.start``: returns at once (the load runs on the long lane)."""

    def start(self, actor: Actor, store_id: int, days: int | None = None) -> Any: ...


class StoreDialog(QDialog):
    store_saved = Signal(object)

    def __init__(
        self,
        *,
        store_service: StoreServiceLike,
        actor: Actor,
        store: Store | None = None,
        history: HistoryStarter | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("storeDialog")
        self._service = store_service
        self._history = history
        self._actor = actor
        self._store = store
        self._busy = False
        self.last_error: UserError | None = None
        self.setWindowTitle("Edit store" if store else "Connect your Amazon store")
        self.setMinimumWidth(600)

        outer = QVBoxLayout(self)
        intro = QLabel(
            "Enter your Selling Partner API app's details from Seller Central "
            "(Apps and Services → Develop Apps). Müttefik Desk reads orders only; it never "
            "requests buyer names or addresses during sync."
        )
        intro.setWordWrap(True)
        outer.addWidget(intro)

        form = QFormLayout()
        self.name = QLineEdit(store.name if store else "")
        self.name.setObjectName("storeName")
        self.name.setPlaceholderText("e.g. My shop EU")
        form.addRow("Store name:", self.name)
        # Messages shown right under the field at fault, by StoreSettingsInvalid.field.
        self.field_errors: dict[str, QLabel] = {}
        self._field_widgets: dict[str, QWidget] = {}
        self._field_forms: dict[str, QFormLayout] = {}
        self._add_field_error(form, "name", self.name)
        self.region = QComboBox()
        self.region.setObjectName("storeRegion")
        for region in Region:
            self.region.addItem(REGION_LABELS[region], region)
        if store:
            self.region.setCurrentIndex(self.region.findData(store.region))
        self.region.currentIndexChanged.connect(lambda _i: self._fill_marketplaces())
        form.addRow("Region:", self.region)
        self._add_field_error(form, "region", self.region)
        self.market_box = QWidget()
        self.market_grid = QGridLayout(self.market_box)
        self.market_grid.setContentsMargins(0, 0, 0, 0)
        self.market_grid.setVerticalSpacing(6)
        self.market_checks: dict[str, QCheckBox] = {}
        form.addRow("Marketplaces:", self.market_box)
        self._add_field_error(form, "marketplace_ids", self.market_box)
        outer.addLayout(form)

        creds = QGroupBox("Amazon app credentials")
        cform = QFormLayout(creds)
        self.client_id = QLineEdit(store.lwa_client_id if store else "")
        self.client_id.setObjectName("lwaClientId")
        self.client_id.setPlaceholderText("amzn1.application-oa2-client.…")
        cform.addRow("LWA client id:", self.client_id)
        self._add_field_error(cform, "lwa_client_id", self.client_id)
        keep = "stored in your keychain: leave empty to keep" if store else ""
        self.client_secret = QLineEdit()
        self.client_secret.setObjectName("lwaClientSecret")
        self.client_secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.client_secret.setPlaceholderText(keep or "amzn1.oa2-cs.v1.…")
        cform.addRow("Client secret:", self.client_secret)
        self._add_field_error(cform, "client_secret", self.client_secret)
        self.refresh_token = QLineEdit()
        self.refresh_token.setObjectName("refreshToken")
        self.refresh_token.setEchoMode(QLineEdit.EchoMode.Password)
        self.refresh_token.setPlaceholderText(keep or "Atzr|…")
        cform.addRow("Refresh token:", self.refresh_token)
        self._add_field_error(cform, "refresh_token", self.refresh_token)
        note = QLabel(
            "The client secret and refresh token are stored in your system keychain, "
            "never in Müttefik Desk's data file."
        )
        note.setObjectName("keychainNote")
        note.setWordWrap(True)
        note.setMinimumHeight(2 * note.fontMetrics().lineSpacing() + 4)
        note.setStyleSheet("color: #555;")
        cform.addRow(note)
        outer.addWidget(creds)

        self.advanced = QGroupBox(
            "Advanced: use a different endpoint (sandbox or local test server)"
        )
        self.advanced.setObjectName("advancedEndpoints")
        self.advanced.setCheckable(True)
        has_override = bool(store and (store.sp_api_endpoint or store.lwa_endpoint))
        self.advanced.setChecked(has_override)
        aform = QFormLayout(self.advanced)
        self.sp_endpoint = QLineEdit(store.sp_api_endpoint or "" if store else "")
        self.sp_endpoint.setObjectName("spApiEndpoint")
        self.sp_endpoint.setPlaceholderText("https://sandbox.sellingpartnerapi-eu.amazon.com")
        aform.addRow("SP-API endpoint:", self.sp_endpoint)
        self._add_field_error(aform, "sp_api_endpoint", self.sp_endpoint)
        self.lwa_endpoint = QLineEdit(store.lwa_endpoint or "" if store else "")
        self.lwa_endpoint.setObjectName("lwaEndpoint")
        self.lwa_endpoint.setPlaceholderText("https://api.amazon.com/auth/o2/token")
        aform.addRow("LWA token URL:", self.lwa_endpoint)
        self._add_field_error(aform, "lwa_endpoint", self.lwa_endpoint)
        hint = QLabel(
            "Leave empty for Amazon's production servers. Plain http is allowed only "
            "to this computer."
        )
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #555;")
        aform.addRow(hint)
        self.advanced.toggled.connect(self._toggle_advanced)
        self._toggle_advanced(has_override)
        outer.addWidget(self.advanced)

        test_row = QHBoxLayout()
        self.test_button = QPushButton("Test connection")
        self.test_button.setObjectName("testConnection")
        self.test_button.clicked.connect(self.test_connection)
        test_row.addWidget(self.test_button)
        test_row.addStretch(1)
        outer.addLayout(test_row)
        self.result_label = result_label("testResult")
        outer.addWidget(self.result_label)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        outer.addWidget(self.buttons)
        self._fill_marketplaces(store.marketplace_ids if store else ())

    # --- form -----------------------------------------------------------------------

    def _add_field_error(self, form: QFormLayout, field: str, widget: QWidget) -> None:
        label = field_error_label(form, field)
        self.field_errors[field] = label
        self._field_widgets[field] = widget
        self._field_forms[field] = form

    def _toggle_advanced(self, on: bool) -> None:
        for w in (self.sp_endpoint, self.lwa_endpoint):
            w.setVisible(on)
            label = self.advanced.layout()
            assert isinstance(label, QFormLayout)
            lab = label.labelForField(w)
            if lab is not None:
                lab.setVisible(on)

    def _fill_marketplaces(self, checked: tuple[str, ...] | None = None) -> None:
        previous = checked if checked is not None else self.marketplace_ids()
        for box in self.market_checks.values():
            self.market_grid.removeWidget(box)
            box.deleteLater()
        self.market_checks.clear()
        region = self.region.currentData()
        for n, (mid, label) in enumerate(MARKETPLACES[region]):
            box = QCheckBox(label)
            box.setToolTip(mid)
            box.setChecked(mid in previous)
            self.market_grid.addWidget(box, n // 3, n % 3)
            self.market_checks[mid] = box

    def marketplace_ids(self) -> tuple[str, ...]:
        return tuple(mid for mid, box in self.market_checks.items() if box.isChecked())

    def draft(self) -> StoreDraft:
        advanced = self.advanced.isChecked()
        return StoreDraft(
            name=self.name.text(),
            region=self.region.currentData(),
            marketplace_ids=self.marketplace_ids(),
            lwa_client_id=self.client_id.text().strip(),
            sp_api_endpoint=(self.sp_endpoint.text().strip() or None) if advanced else None,
            lwa_endpoint=(self.lwa_endpoint.text().strip() or None) if advanced else None,
        )

    def entered_credentials(self) -> Credentials | None:
        """The secrets typed in, or ``None`` if both are empty (keep the stored ones)."""
        secret, token = self.client_secret.text().strip(), self.refresh_token.text().strip()
        if not secret and not token:
            return None
        return Credentials(lwa_client_secret=secret, refresh_token=token)

    def _checked(self, draft: StoreDraft, creds: Credentials | None) -> bool:
        """Check the fields here (pure, instant) so a typo never starts background work
        and an edit is never saved without its secrets; shows what is wrong."""
        try:
            validate_draft(draft)
            if creds is not None:
                validate_credentials(creds)
        except UserError as exc:
            self._show_error(exc)
            return False
        return True

    # --- test connection ------------------------------------------------------------

    def test_connection(self) -> None:
        if self._busy:
            return
        draft, creds = self.draft(), self.entered_credentials()
        existing = self._store
        service, actor = self._service, self._actor
        if creds is None and existing is None:
            self._show_error(
                StoreCredentialsMissing(
                    "Enter the LWA client secret and the refresh token to test the connection."
                )
            )
            return
        if not self._checked(draft, creds):
            return

        def work(_job: Job) -> Any:
            # No secrets typed: the service tests with the store's saved ones.
            saved = existing.id if creds is None and existing is not None else None
            return service.test_connection(actor, draft, creds, stored_for=saved)

        self._set_busy(True, "Testing: asking Amazon for a token and one page of orders…")
        Op(self, work, lane=Lane.NET).on_success(self._tested).on_failure(self._failed).run()

    def _tested(self, report: Any) -> None:
        self._set_busy(False)
        if report.ok:
            self.last_error = None
            self._mark_fields(None)
            self.result_label.setStyleSheet(OK_STYLE)
            self.result_label.setText(f"<b>✔ {esc(report.title)}</b><br>{esc(report.message)}")
            self.result_label.setVisible(True)
        else:
            self._show_error(report.error or UserError(report.message))

    def _failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        if isinstance(exc, UserError):
            self._show_error(exc)
        else:
            from ui.errors import show_error

            show_error(self, exc)

    def _show_error(self, error: UserError) -> None:
        self.last_error = error
        self._mark_fields(error)
        self.result_label.setStyleSheet(ERR_STYLE)
        self.result_label.setText(f"<b>✖ {esc(error.title)}</b><br>{esc(error.message)}")
        self.result_label.setVisible(True)

    def _mark_fields(self, error: UserError | None) -> None:
        suspects: list[QWidget] = []
        field: str | None = getattr(error, "field", None)
        for name, label in self.field_errors.items():
            shown = error is not None and name == field
            label.setText(error.message if error is not None and shown else "")
            self._field_forms[name].setRowVisible(label, shown)
        if field in self._field_widgets:
            suspects = [self._field_widgets[field]]
        elif isinstance(error, AmazonAuthFailed):
            suspects = [self.client_id, self.client_secret]
        elif isinstance(error, AmazonGrantInvalid):
            suspects = [self.refresh_token, self.region]
        elif isinstance(error, StoreCredentialsMissing):
            suspects = [self.client_secret, self.refresh_token]
        elif isinstance(error, InsecureEndpoint | TlsFailure | NetworkDown) and (
            self.advanced.isChecked()
        ):
            suspects = [self.sp_endpoint, self.lwa_endpoint]
        elif isinstance(error, StoreNameTaken):
            suspects = [self.name]
        elif isinstance(error, StoreSettingsInvalid) and not self.marketplace_ids():
            suspects = [self.market_box]
        elif isinstance(error, AmazonRoleMissing):
            suspects = []
        for w in (
            self.name,
            self.client_id,
            self.client_secret,
            self.refresh_token,
            self.region,
            self.sp_endpoint,
            self.lwa_endpoint,
            self.market_box,
        ):
            w.setStyleSheet(BAD_FIELD if w in suspects else "")

    def _set_busy(self, busy: bool, text: str = "") -> None:
        self._busy = busy
        self.test_button.setEnabled(not busy)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(not busy)
        if busy:
            self.result_label.setStyleSheet(BUSY_STYLE)
            self.result_label.setText(esc(text))
            self.result_label.setVisible(True)

    # --- save -----------------------------------------------------------------------

    def save(self) -> None:
        if self._busy:
            return
        draft, creds = self.draft(), self.entered_credentials()
        existing = self._store
        service, actor = self._service, self._actor
        if creds is not None and not (creds.lwa_client_secret and creds.refresh_token):
            self._show_error(
                StoreSettingsInvalid(
                    "Enter both the LWA client secret and the refresh token (or leave both empty "
                    "to keep the stored ones).",
                    field="refresh_token" if creds.lwa_client_secret else "client_secret",
                )
            )
            return
        if not self._checked(draft, creds):
            return

        def work(_job: Job) -> Store:
            if existing is None:
                return service.create_store(actor, draft, creds)
            store = service.update_store(actor, existing.id, draft)
            if creds is not None:
                service.set_credentials(actor, existing.id, creds)
            return store

        self._set_busy(True, "Saving…")
        Op(self, work).on_success(self._saved).on_failure(self._failed).run()

    def _saved(self, store: Store) -> None:
        self._set_busy(False)
        created = self._store is None
        self._store = store
        if created:
            self._start_history(store)
        self.client_secret.clear()
        self.refresh_token.clear()
        self.store_saved.emit(store)
        self.accept()

    def _start_history(self, store: Store) -> None:
        """A new store's order history loads at once (minutes, through Amazon's order
        reports), beside the scheduled sync that keeps its newest orders fresh.  Its
        progress and outcome show in the status bar; starting returns at once."""
        if self._history is None:
            return
        try:
            self._history.start(self._actor, store.id)
        except Exception as exc:  # the job host is closing, or one runs already
            log.warning(
                "order history of new store %d not started: %s", store.id, type(exc).__name__
            )
