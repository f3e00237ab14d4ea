"""The operators tab on the real OperatorService (test vault, fast hashing): the model
passes qtmodeltester, each admin action reaches the service and updates its row,
one-time secrets are shown once, refusals in plain words."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.auth.models import Operator
from app.auth.rbac import Role
from app.auth.service import MAX_FAILURES
from app.clock import FakeClock
from app.errors import AccountLocked, AuthenticationFailed, LastAdmin
from app.vault import Vault
from tests.helpers.accounts import AGENT_PW, Accounts, Enrolled
from ui import ops
from ui.models.operators_model import Column, OperatorsModel
from ui.models.roles import ItemRole
from ui.views.operators import (
    AddOperatorDialog,
    AssignStoresDialog,
    OneTimeSecretDialog,
    OperatorsView,
)


@pytest.fixture(autouse=True)
def _bridge(qapp: object) -> Iterator[None]:
    ops.install()
    yield


@pytest.fixture
def accounts(vault: Vault, clock: FakeClock) -> Accounts:
    return Accounts(vault, clock)


@pytest.fixture
def admin(accounts: Accounts) -> Enrolled:
    return accounts.admin()


@pytest.fixture(autouse=True)
def _bora(accounts: Accounts, admin: Enrolled) -> None:
    """Two stores, and the agent bora in "EU main", locked out by failed passwords."""
    world = accounts.world
    assert (world.add_store("EU main"), world.add_store("US outlet")) == (1, 2)
    world.add_operator(admin.session.actor, "bora", stores=frozenset({1}), password=AGENT_PW)
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(AuthenticationFailed):
            accounts.auth.check_password("bora", "Wrong-Password-99!")
    with pytest.raises(AccountLocked):
        accounts.auth.check_password("bora", "Wrong-Password-99!")


def operator(accounts: Accounts, admin: Enrolled, username: str) -> Operator:
    """The operator as the service has it now."""
    everyone = accounts.operators.list_operators(admin.session.actor).result()
    return next(o for o in everyone if o.username == username)


@pytest.fixture
def view(qtbot: QtBot, accounts: Accounts, admin: Enrolled) -> OperatorsView:
    v = OperatorsView(service=accounts.operators, actor=admin.session.actor, clock=accounts.clock)
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


def select(view: OperatorsView, username: str) -> None:
    view.select(next(o.id for o in view.model.operators() if o.username == username))
    selected = view.selected()
    assert selected is not None and selected.username == username


def test_model_passes_modeltester(
    qtbot: QtBot, qtmodeltester: ModelTester, accounts: Accounts, admin: Enrolled
) -> None:
    model = OperatorsModel(
        service=accounts.operators, actor=admin.session.actor, clock=accounts.clock
    )
    with qtbot.waitSignal(model.search_finished):
        model.refresh()
    qtmodeltester.check(model)  # type: ignore[no-untyped-call]
    assert model.rowCount() == 2  # every row built with the search (a small table)
    assert all(model.index(r, 0).data(ItemRole.LOADED) for r in range(2))
    bora = operator(accounts, admin, "bora")
    accounts.operators.disable(admin.session.actor, bora.id)
    resets: list[int] = []
    model.modelReset.connect(lambda: resets.append(1))
    with qtbot.waitSignal(model.rows_loaded) as loaded:
        model.refresh(changed=[bora.id])
    assert loaded.args == [1, 1] and not resets  # only bora's row, no reset
    qtmodeltester.check(model)  # type: ignore[no-untyped-call]
    assert model.index(1, Column.DISABLED).data() == "Disabled"
    assert model.index(1, 0).data(ItemRole.KEY) == bora.id
    assert model.operator_at(1) == operator(accounts, admin, "bora")


def test_list_shows_every_column(accounts: Accounts, admin: Enrolled, view: OperatorsView) -> None:
    assert view.model.rowCount() == 2
    assert cell(view, "admin", Column.ROLE) == "Administrator"
    assert cell(view, "admin", Column.STORES) == "All stores"
    assert cell(view, "bora", Column.STORES) == "EU main"
    assert cell(view, "bora", Column.MFA) == "On"
    assert cell(view, "bora", Column.LOCKED).startswith("until ")
    assert cell(view, "bora", Column.DISABLED) == "Active"
    enrolled = operator(accounts, admin, "bora").last_sign_in_at  # her enrolment
    assert enrolled is not None
    assert cell(view, "bora", Column.LAST_SIGN_IN) == f"{enrolled.astimezone():%Y-%m-%d %H:%M}"


def test_disable_and_enable(
    qtbot: QtBot, accounts: Accounts, admin: Enrolled, view: OperatorsView
) -> None:
    select(view, "bora")
    assert view.buttons["disable"].text() == "Disable"
    with qtbot.waitSignal(view.operator_changed):
        view.buttons["disable"].click()
    assert operator(accounts, admin, "bora").disabled
    assert cell(view, "bora", Column.DISABLED) == "Disabled"
    assert view.buttons["disable"].text() == "Enable"
    with qtbot.waitSignal(view.operator_changed):
        view.buttons["disable"].click()
    assert not operator(accounts, admin, "bora").disabled


def test_last_admin_refusal_in_plain_words(
    qtbot: QtBot, accounts: Accounts, admin: Enrolled, view: OperatorsView
) -> None:
    select(view, "admin")
    view.buttons["disable"].click()
    qtbot.waitUntil(view.message.isVisible)
    assert view.message.text() == LastAdmin.message
    assert view.message.property("error") is True
    assert not operator(accounts, admin, "admin").disabled
    view.buttons["role"].click()  # demoting the last admin: refused too
    qtbot.waitUntil(lambda: view.message.isVisible() and view.message.text() == LastAdmin.message)
    assert operator(accounts, admin, "admin").role is Role.ADMIN


def test_declined_confirmation_changes_nothing(
    qtbot: QtBot, accounts: Accounts, admin: Enrolled, view: OperatorsView
) -> None:
    view.confirm = lambda title, text: False
    select(view, "bora")
    with qtbot.assertNotEmitted(view.operator_changed, wait=100):
        view.buttons["reset_mfa"].click()
    assert operator(accounts, admin, "bora").mfa_enrolled


def test_add_operator_shows_the_setup_code_once(
    qtbot: QtBot, accounts: Accounts, admin: Enrolled, view: OperatorsView
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
    cem = operator(accounts, admin, "cem")
    assert cem.role is Role.AGENT and cem.store_ids == frozenset({2})
    qtbot.waitUntil(lambda: view.model.rowCount() == 3)
    assert cell(view, "cem", Column.MFA) == "Awaiting setup"
    assert cell(view, "cem", Column.LAST_SIGN_IN) == "never"
    secret_dialog.accept()
    assert view.open_dialog is None
    accounts.auth.redeem_setup_code("cem", secret_dialog.secret(), "Amber-Valley-64-Ferry!")


def test_reset_password_shows_temporary_password(
    qtbot: QtBot, accounts: Accounts, admin: Enrolled, view: OperatorsView
) -> None:
    select(view, "bora")
    view.buttons["reset_password"].click()
    qtbot.waitUntil(lambda: isinstance(view.open_dialog, OneTimeSecretDialog))
    temporary = view.open_dialog.secret()  # type: ignore[union-attr]
    bora = operator(accounts, admin, "bora")
    assert bora.must_change_password
    accounts.operators.unlock(admin.session.actor, bora.id)
    assert accounts.password_works("bora", temporary)


def test_reset_mfa_unlock_role_and_stores(
    qtbot: QtBot, accounts: Accounts, admin: Enrolled, view: OperatorsView
) -> None:
    select(view, "bora")
    assert view.buttons["unlock"].isEnabled()
    with qtbot.waitSignal(view.operator_changed):
        view.buttons["unlock"].click()
    assert operator(accounts, admin, "bora").locked_until is None
    assert cell(view, "bora", Column.LOCKED) == ""

    with qtbot.waitSignal(view.operator_changed):
        view.buttons["reset_mfa"].click()
    assert not operator(accounts, admin, "bora").mfa_enrolled
    assert cell(view, "bora", Column.MFA) == "Not set up"

    view.buttons["stores"].click()
    stores = view.open_dialog
    assert isinstance(stores, AssignStoresDialog)
    stores.stores.item(0).setCheckState(Qt.CheckState.Unchecked)
    stores.stores.item(1).setCheckState(Qt.CheckState.Checked)
    with qtbot.waitSignal(view.operator_changed):
        stores.accept()
    assert operator(accounts, admin, "bora").store_ids == frozenset({2})
    assert cell(view, "bora", Column.STORES) == "US outlet"

    assert view.buttons["role"].text() == "Make administrator"
    with qtbot.waitSignal(view.operator_changed):
        view.buttons["role"].click()
    assert operator(accounts, admin, "bora").role is Role.ADMIN
    assert cell(view, "bora", Column.ROLE) == "Administrator"
    assert not view.buttons["stores"].isEnabled()  # admins see every store


def test_agents_do_not_get_the_tabs() -> None:
    from ui.tabs import TABS

    specs = {spec.key: spec for spec in TABS}
    assert specs["operators"].admin_only
    assert specs["audit"].admin_only


def test_the_list_follows_changes_made_elsewhere(
    qtbot: QtBot, accounts: Accounts, admin: Enrolled
) -> None:
    """Operators added by another admin and lockouts from failed sign-ins show up in the
    open tab (through OperatorsChanged), without pressing Refresh."""
    from ui.events import QtEvents

    events = QtEvents(accounts.world.notices)
    v = OperatorsView(
        service=accounts.operators,
        actor=admin.session.actor,
        clock=accounts.clock,
        qt_events=events,
    )
    qtbot.addWidget(v)
    with qtbot.waitSignal(v.loaded):
        v.show()
    assert v.model.rowCount() == 2
    accounts.world.add_operator(admin.session.actor, "cem", password=AGENT_PW)
    qtbot.waitUntil(lambda: v.model.rowCount() == 3, timeout=3000)
    assert cell(v, "cem", Column.LOCKED) == ""
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(AuthenticationFailed):
            accounts.auth.check_password("cem", "Wrong-Password-99!")
    with pytest.raises(AccountLocked):
        accounts.auth.check_password("cem", "Wrong-Password-99!")
    qtbot.waitUntil(lambda: cell(v, "cem", Column.LOCKED).startswith("until "), timeout=3000)
    events.close()
