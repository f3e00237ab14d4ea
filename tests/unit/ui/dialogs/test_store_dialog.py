"""The store dialog: test connection in the background, error states, saving."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from PySide6.QtWidgets import QDialogButtonBox

from app.amazon.models import Credentials, Region, Store, StoreDraft
from app.amazon.stores import ConnectionReport
from app.errors import (
    AmazonAuthFailed,
    AmazonGrantInvalid,
    AmazonRoleMissing,
    NetworkDown,
    StoreNameTaken,
    StoreSettingsInvalid,
    TlsFailure,
    UserError,
)
from tests.helpers.orders import ADMIN
from ui.dialogs.store import StoreDialog


@pytest.fixture(autouse=True)
def ops_bridge(qapp: Any) -> None:
    from ui import ops

    ops.install()


@dataclass
class FakeStores:
    error: UserError | None = None
    save_error: UserError | None = None
    tested: list[tuple[StoreDraft, Credentials | None]] = field(default_factory=list)
    created: list[tuple[StoreDraft, Credentials | None]] = field(default_factory=list)
    updated: list[StoreDraft] = field(default_factory=list)
    creds_set: list[Credentials] = field(default_factory=list)
    stored: Credentials = field(default_factory=lambda: Credentials("stored-secret", "Atzr|old"))

    def test_connection(
        self, actor: Any, store: Any, credentials: Any = None, *, stored_for: int | None = None
    ) -> ConnectionReport:
        if credentials is None and stored_for is not None:
            credentials = self.stored  # the service reads the store's saved secrets
        self.tested.append((store, credentials))
        if self.error is not None:
            return ConnectionReport(False, self.error.title, self.error.message, error=self.error)
        return ConnectionReport(True, "Connected", "Amazon accepted the credentials.", 3)

    def create_store(self, actor: Any, draft: StoreDraft, credentials: Any = None) -> Store:
        if self.save_error is not None:
            raise self.save_error
        self.created.append((draft, credentials))
        return Store(7, draft.name, draft.region, draft.marketplace_ids, draft.lwa_client_id)

    def update_store(self, actor: Any, store_id: int, draft: StoreDraft) -> Store:
        self.updated.append(draft)
        return Store(store_id, draft.name, draft.region, draft.marketplace_ids)

    def set_credentials(self, actor: Any, store_id: int, credentials: Credentials) -> None:
        self.creds_set.append(credentials)


def _fill(d: StoreDialog) -> None:
    d.name.setText("My EU shop")
    d.region.setCurrentIndex(d.region.findData(Region.EU))
    d.market_checks["A1PA6795UKMFR9"].setChecked(True)
    d.client_id.setText("amzn1.application-oa2-client.abc")
    d.client_secret.setText("amzn1.oa2-cs.v1.secret")
    d.refresh_token.setText("Atzr|token")


def _test(qtbot: Any, d: StoreDialog) -> None:
    d.test_connection()
    assert not d.test_button.isEnabled()  # runs in the background
    qtbot.waitUntil(lambda: d.test_button.isEnabled(), timeout=5000)


def test_secret_fields_are_password_fields_and_keychain_note(qtbot: Any) -> None:
    d = StoreDialog(store_service=FakeStores(), actor=ADMIN)
    qtbot.addWidget(d)
    assert d.client_secret.echoMode() == d.client_secret.EchoMode.Password
    assert d.refresh_token.echoMode() == d.refresh_token.EchoMode.Password
    assert "system keychain" in d.findChild(type(d.result_label), "keychainNote").text()


def test_region_switch_offers_that_regions_marketplaces(qtbot: Any) -> None:
    d = StoreDialog(store_service=FakeStores(), actor=ADMIN)
    qtbot.addWidget(d)
    d.region.setCurrentIndex(d.region.findData(Region.FE))
    assert "A1VC38T7YXB528" in d.market_checks
    assert "ATVPDKIKX0DER" not in d.market_checks


def test_connection_ok(qtbot: Any) -> None:
    fake = FakeStores()
    d = StoreDialog(store_service=fake, actor=ADMIN)
    qtbot.addWidget(d)
    _fill(d)
    _test(qtbot, d)
    assert "Connected" in d.result_label.text()
    draft, creds = fake.tested[0]
    assert draft.marketplace_ids == ("A1PA6795UKMFR9",)
    assert creds is not None and creds.refresh_token == "Atzr|token"
    assert draft.sp_api_endpoint is None  # advanced section off


@pytest.mark.parametrize(
    ("error", "suspect"),
    [
        (AmazonAuthFailed(), "client_secret"),
        (AmazonGrantInvalid(), "refresh_token"),
        (AmazonRoleMissing(), None),
        (NetworkDown(), None),
        (TlsFailure(), None),
    ],
)
def test_connection_error_states(qtbot: Any, error: UserError, suspect: str | None) -> None:
    d = StoreDialog(store_service=FakeStores(error=error), actor=ADMIN)
    qtbot.addWidget(d)
    _fill(d)
    _test(qtbot, d)
    assert d.last_error is error
    assert error.title in d.result_label.text()
    assert error.message.split(".")[0] in d.result_label.text()
    if suspect is not None:
        assert "c62828" in getattr(d, suspect).styleSheet()


def test_missing_secrets_for_new_store_is_caught_without_network(qtbot: Any) -> None:
    fake = FakeStores()
    d = StoreDialog(store_service=fake, actor=ADMIN)
    qtbot.addWidget(d)
    d.test_connection()
    assert fake.tested == []
    assert d.last_error is not None and "refresh token" in d.result_label.text()


def test_advanced_endpoint_override_is_submitted(qtbot: Any) -> None:
    fake = FakeStores()
    d = StoreDialog(store_service=fake, actor=ADMIN)
    qtbot.addWidget(d)
    _fill(d)
    d.advanced.setChecked(True)
    d.sp_endpoint.setText("http://127.0.0.1:8123")
    d.lwa_endpoint.setText("http://127.0.0.1:8123/auth/o2/token")
    _test(qtbot, d)
    draft, _ = fake.tested[0]
    assert draft.sp_api_endpoint == "http://127.0.0.1:8123"
    assert draft.lwa_endpoint == "http://127.0.0.1:8123/auth/o2/token"


def test_save_creates_store_with_credentials(qtbot: Any) -> None:
    fake = FakeStores()
    d = StoreDialog(store_service=fake, actor=ADMIN)
    qtbot.addWidget(d)
    _fill(d)
    with qtbot.waitSignal(d.store_saved, timeout=5000) as blocker:
        d.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert blocker.args[0].id == 7
    draft, creds = fake.created[0]
    assert draft.name == "My EU shop" and creds is not None
    assert d.client_secret.text() == ""  # secrets do not linger in the widget


def test_save_error_is_shown_inline(qtbot: Any) -> None:
    d = StoreDialog(store_service=FakeStores(save_error=StoreNameTaken()), actor=ADMIN)
    qtbot.addWidget(d)
    _fill(d)
    d.save()
    qtbot.waitUntil(lambda: d.last_error is not None, timeout=5000)
    assert "Name already used" in d.result_label.text()
    assert "c62828" in d.name.styleSheet()


def test_edit_keeps_stored_secrets_when_left_empty(qtbot: Any) -> None:
    fake = FakeStores()
    store = Store(3, "Old", Region.NA, ("ATVPDKIKX0DER",), "amzn1.client")
    d = StoreDialog(store_service=fake, actor=ADMIN, store=store)
    qtbot.addWidget(d)
    assert "keep" in d.client_secret.placeholderText()
    assert d.market_checks["ATVPDKIKX0DER"].isChecked()
    _test(qtbot, d)
    assert fake.tested[0][1] == fake.stored  # tested with the keychain's secrets
    with qtbot.waitSignal(d.store_saved, timeout=5000):
        d.save()
    assert fake.updated and fake.creds_set == []


def _field_error(d: StoreDialog, field: str) -> str:
    """The message shown right under ``field`` ("" when hidden)."""
    label = d.field_errors[field]
    return label.text() if label.isVisibleTo(d) else ""


@pytest.mark.parametrize(
    ("field", "widget", "value", "words"),
    [
        ("sp_api_endpoint", "sp_endpoint", "http://[::1", "not a valid web address"),
        ("lwa_endpoint", "lwa_endpoint", "http://127.0.0.1:99999999/t", "1 to 65535"),
        ("lwa_endpoint", "lwa_endpoint", "http://127.0.0.1:0/t", "1 to 65535"),
        ("name", "name", "Shop\u202egro", "U+202E"),
        ("name", "name", "Shop\x00", "U+0000"),
        ("name", "name", "x" * 81, "80 characters"),
        ("lwa_client_id", "client_id", "amzn1.client\x00", "200 characters"),
        ("lwa_client_id", "client_id", "a" * 201, "200 characters"),
    ],
)
@pytest.mark.parametrize("action", ["test", "save"])
def test_bad_field_is_refused_before_any_work_with_the_message_next_to_it(
    qtbot: Any, field: str, widget: str, value: str, words: str, action: str
) -> None:
    fake = FakeStores()
    d = StoreDialog(store_service=fake, actor=ADMIN)
    qtbot.addWidget(d)
    d.show()
    _fill(d)
    d.advanced.setChecked(True)
    getattr(d, widget).setText(value)
    d.test_connection() if action == "test" else d.save()
    assert d.test_button.isEnabled()  # nothing was started in the background
    assert fake.tested == [] and fake.created == []
    assert d.last_error is not None and getattr(d.last_error, "field", None) == field
    assert words in _field_error(d, field)
    assert "c62828" in getattr(d, widget).styleSheet()
    others = [f for f in d.field_errors if f != field]
    assert all(_field_error(d, f) == "" for f in others)
    # Fixing the field and trying again clears the message.
    getattr(d, widget).setText("http://127.0.0.1:8123" if "endpoint" in field else "Fine")
    d.test_connection()
    qtbot.waitUntil(lambda: d.test_button.isEnabled(), timeout=5000)
    assert _field_error(d, field) == ""
    assert "c62828" not in getattr(d, widget).styleSheet()


def test_odd_secret_is_refused_next_to_its_field(qtbot: Any) -> None:
    fake = FakeStores()
    d = StoreDialog(store_service=fake, actor=ADMIN)
    qtbot.addWidget(d)
    d.show()
    _fill(d)
    d.refresh_token.setText("Atzr|tok\u202een")
    d.save()
    assert fake.created == []
    assert "refresh token" in _field_error(d, "refresh_token")


def test_edit_with_an_odd_secret_saves_nothing_at_all(qtbot: Any) -> None:
    fake = FakeStores()
    store = Store(3, "Old", Region.NA, ("ATVPDKIKX0DER",), "amzn1.client")
    d = StoreDialog(store_service=fake, actor=ADMIN, store=store)
    qtbot.addWidget(d)
    d.name.setText("New name")
    d.client_secret.setText("amzn1.oa2-cs.v1.secret")
    d.refresh_token.setText("Atzr|token\x00")
    d.save()
    assert fake.updated == [] and fake.creds_set == []  # not the name without the secrets
    assert d.last_error is not None


def test_a_field_error_from_the_service_is_shown_next_to_the_field(qtbot: Any) -> None:
    error = StoreSettingsInvalid("The LWA client id is not right.", field="lwa_client_id")
    d = StoreDialog(store_service=FakeStores(save_error=error), actor=ADMIN)
    qtbot.addWidget(d)
    d.show()
    _fill(d)
    d.save()
    qtbot.waitUntil(lambda: d.last_error is not None, timeout=5000)
    assert "is not right" in _field_error(d, "lwa_client_id")
    assert "c62828" in d.client_id.styleSheet()


@dataclass
class FakeHistory:
    """``HistoryService.start`` recorded (it returns at once; the load is not ours here)."""

    started: list[tuple[Any, int, int | None]] = field(default_factory=list)

    def start(self, actor: Any, store_id: int, days: int | None = None) -> None:
        self.started.append((actor, store_id, days))


def test_a_new_store_starts_loading_its_order_history(qtbot: Any) -> None:
    history = FakeHistory()
    d = StoreDialog(store_service=FakeStores(), actor=ADMIN, history=history)
    qtbot.addWidget(d)
    _fill(d)
    with qtbot.waitSignal(d.store_saved, timeout=5000):
        d.save()
    assert history.started == [(ADMIN, 7, None)]  # the setting's days


def test_editing_a_store_does_not_load_its_history_again(qtbot: Any) -> None:
    history = FakeHistory()
    store = Store(3, "Old", Region.NA, ("ATVPDKIKX0DER",), "amzn1.client")
    d = StoreDialog(store_service=FakeStores(), actor=ADMIN, store=store, history=history)
    qtbot.addWidget(d)
    with qtbot.waitSignal(d.store_saved, timeout=5000):
        d.save()
    assert history.started == []
