"""The operators tab: the model passes qtmodeltester: ModelTester, each admin action reaches the
service and updates its row, one-time secrets are shown once, refusals in plain words."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.auth.rbac import Role
from app.clock import FakeClock
from app.errors import LastAdmin
from tests.unit.ui.auth_fakes import NOW, FakeAuth, FakeOperators
from ui import ops
from ui.models.operators_model import Column, OperatorsModel
from ui.models.roles import ItemRole
from ui.views.operators import (
    AddOperatorDialog,
    AssignStoresDialog,
    OneTimeSecretDialog,
    OperatorsView,
)

PW = "Admin-password-2026!"


@pytest.fixture(autouse=True)
def _bridge(qapp: object) -> Iterator[None]:
    ops.install()
    yield


@pytest.fixture
def auth() -> FakeAuth:
    fake = FakeAuth()
    fake.add("admin", PW)
    fake.add("bora", PW, role=Role.AGENT, store_ids=frozenset({1}), locked=True, failures=10)
    return fake


@pytest.fixture
def view(qtbot: QtBot, auth: FakeAuth) -> OperatorsView:
    v = OperatorsView(
        service=FakeOperators(auth),
        actor=auth.accounts["admin"].actor(),
        clock=FakeClock(NOW),
    )
    v.confirm = lambda title, text: True
    qtbot.addWidget(v)
    with qtbot.waitSignal(v.loaded):
        v.show()
    return v


def cell(view: OperatorsView, username: str, column: Column) -> str:
    row = next(
        r for r in range(view.model.rowCount())
        if view.model.operator_at(r).username == username  # type: ignore[union-attr]
    )  # fmt: skip
    return str(view.model.index(row, column).data())


def select(view: OperatorsView, auth: FakeAuth, username: str) -> None:
    view.select(auth.accounts[username].id)
    selected = view.selected()
    assert selected is not None and selected.username == username


def test_model_passes_modeltester(qtbot: QtBot, qtmodeltester: ModelTester, auth: FakeAuth) -> None:
    service = FakeOperators(auth)
    model = OperatorsModel(
        service=service, actor=auth.accounts["admin"].actor(), clock=FakeClock(NOW)
    )
    with qtbot.waitSignal(model.search_finished):
        model.refresh()
    qtmodeltester.check(model)  # type: ignore[no-untyped-call]
    assert model.rowCount() == 2  # every row built with the search (a small table)
    assert all(model.index(r, 0).data(ItemRole.LOADED) for r in range(2))
    changed = auth.accounts["bora"]
    changed.disabled = True
    resets: list[int] = []
    model.modelReset.connect(lambda: resets.append(1))
    with qtbot.waitSignal(model.rows_loaded) as loaded:
        model.refresh(changed=[changed.id])
    assert loaded.args == [1, 1] and not resets  # only bora's row, no reset
    qtmodeltester.check(model)  # type: ignore[no-untyped-call]
    assert model.index(1, Column.DISABLED).data() == "Disabled"
    assert model.index(1, 0).data(ItemRole.KEY) == changed.id
    assert model.operator_at(1) == changed.operator()


def test_list_shows_every_column(view: OperatorsView) -> None:
    assert view.model.rowCount() == 2
    assert cell(view, "admin", Column.ROLE) == "Administrator"
    assert cell(view, "admin", Column.STORES) == "All stores"
    assert cell(view, "bora", Column.STORES) == "EU main"
    assert cell(view, "bora", Column.MFA) == "On"
    assert cell(view, "bora", Column.LOCKED).startswith("until ")
    assert cell(view, "bora", Column.DISABLED) == "Active"
    assert cell(view, "bora", Column.LAST_SIGN_IN) == "never"


def test_disable_and_enable(qtbot: QtBot, auth: FakeAuth, view: OperatorsView) -> None:
    select(view, auth, "bora")
    assert view.buttons["disable"].text() == "Disable"
    with qtbot.waitSignal(view.operator_changed):
        view.buttons["disable"].click()
    assert auth.accounts["bora"].disabled
    assert cell(view, "bora", Column.DISABLED) == "Disabled"
    assert view.buttons["disable"].text() == "Enable"
    with qtbot.waitSignal(view.operator_changed):
        view.buttons["disable"].click()
    assert not auth.accounts["bora"].disabled


def test_last_admin_refusal_in_plain_words(
    qtbot: QtBot, auth: FakeAuth, view: OperatorsView
) -> None:
    select(view, auth, "admin")
    view.buttons["disable"].click()
    qtbot.waitUntil(view.message.isVisible)
    assert view.message.text() == LastAdmin.message
    assert view.message.property("error") is True
    assert not auth.accounts["admin"].disabled
    view.buttons["role"].click()  # demoting the last admin: refused too
    qtbot.waitUntil(lambda: view.message.isVisible() and view.message.text() == LastAdmin.message)
    assert auth.accounts["admin"].role is Role.ADMIN


def test_declined_confirmation_changes_nothing(
    qtbot: QtBot, auth: FakeAuth, view: OperatorsView
) -> None:
    view.confirm = lambda title, text: False
    select(view, auth, "bora")
    with qtbot.assertNotEmitted(view.operator_changed, wait=100):
        view.buttons["reset_mfa"].click()
    assert auth.accounts["bora"].secret is not None


def test_add_operator_shows_the_setup_code_once(
    qtbot: QtBot, auth: FakeAuth, view: OperatorsView
) -> None:
    view.buttons["add"].click()
    dialog = view.open_dialog
    assert isinstance(dialog, AddOperatorDialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled()
    dialog.username.setText("cem")
    dialog.display_name.setText("Cem Kaya")
    dialog.email.setText("cem@example.com")
    dialog.stores.item(1).setCheckState(Qt.CheckState.Checked)
    ok.click()
    qtbot.waitUntil(lambda: isinstance(view.open_dialog, OneTimeSecretDialog))
    secret_dialog = view.open_dialog
    assert isinstance(secret_dialog, OneTimeSecretDialog)
    assert secret_dialog.secret() == "SETUP-CODE-0001"
    account = auth.accounts["cem"]
    assert account.role is Role.AGENT and account.store_ids == frozenset({2})
    qtbot.waitUntil(lambda: view.model.rowCount() == 3)
    assert cell(view, "cem", Column.MFA) == "Awaiting setup"
    secret_dialog.accept()
    assert view.open_dialog is None


def test_reset_password_shows_temporary_password(
    qtbot: QtBot, auth: FakeAuth, view: OperatorsView
) -> None:
    select(view, auth, "bora")
    view.buttons["reset_password"].click()
    qtbot.waitUntil(lambda: isinstance(view.open_dialog, OneTimeSecretDialog))
    assert view.open_dialog.secret() == auth.accounts["bora"].password  # type: ignore[union-attr]
    assert auth.accounts["bora"].must_change


def test_reset_mfa_unlock_role_and_stores(
    qtbot: QtBot, auth: FakeAuth, view: OperatorsView
) -> None:
    bora = auth.accounts["bora"]
    select(view, auth, "bora")
    assert view.buttons["unlock"].isEnabled()
    with qtbot.waitSignal(view.operator_changed):
        view.buttons["unlock"].click()
    assert not bora.locked and cell(view, "bora", Column.LOCKED) == ""

    with qtbot.waitSignal(view.operator_changed):
        view.buttons["reset_mfa"].click()
    assert bora.secret is None and cell(view, "bora", Column.MFA) == "Not set up"

    view.buttons["stores"].click()
    stores = view.open_dialog
    assert isinstance(stores, AssignStoresDialog)
    stores.stores.item(0).setCheckState(Qt.CheckState.Unchecked)
    stores.stores.item(1).setCheckState(Qt.CheckState.Checked)
    with qtbot.waitSignal(view.operator_changed):
        stores.accept()
    assert bora.store_ids == frozenset({2})
    assert cell(view, "bora", Column.STORES) == "US outlet"

    assert view.buttons["role"].text() == "Make administrator"
    with qtbot.waitSignal(view.operator_changed):
        view.buttons["role"].click()
    assert bora.role is Role.ADMIN and cell(view, "bora", Column.ROLE) == "Administrator"
    assert not view.buttons["stores"].isEnabled()  # admins see every store


def test_agents_do_not_get_the_tabs() -> None:
    from ui.tabs import TABS

    specs = {spec.key: spec for spec in TABS}
    assert specs["operators"].admin_only
    assert specs["audit"].admin_only
