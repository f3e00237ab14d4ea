"""Tools → Amazon stores: list, edit and remove stores through the real store service."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox

from app.amazon.models import Credentials, Region, StoreDraft
from app.amazon.stores import StoreService
from app.audit import AuditLog
from tests.helpers.operators import put_operator
from tests.helpers.orders import ADMIN
from tests.support import AUDIT_TEST_KEY
from ui.dialogs.store import StoreDialog
from ui.dialogs.stores import StoresDialog


@pytest.fixture
def stores(core: Any) -> StoreService:
    put_operator(core.vault, ADMIN)
    service = StoreService(
        vault=core.vault,
        secrets=core.secrets,
        clock=core.clock,
        audit=AuditLog(clock=core.clock, key=AUDIT_TEST_KEY),
    )
    for name in ("Main US", "Europe"):
        service.create_store(
            ADMIN,
            StoreDraft(
                name=name,
                region=Region.NA,
                marketplace_ids=("ATVPDKIKX0DER",),
                lwa_client_id="amzn1.application-oa2-client.x",
            ),
            Credentials(lwa_client_secret="s" * 20, refresh_token="Atzr|" + "t" * 20),
        )
    return service


def test_lists_stores_and_edit_opens_the_store(qtbot: Any, stores: StoreService) -> None:
    dialog = StoresDialog(store_service=stores, actor=ADMIN)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.list.count() == 2)
    assert not dialog.empty.isVisible()
    names = sorted(dialog.list.item(i).text().splitlines()[0] for i in range(2))
    assert names == ["Europe", "Main US"]
    edit = dialog._open_store_dialog(dialog.selected())
    qtbot.addWidget(edit)
    assert isinstance(edit, StoreDialog) and edit.windowTitle() == "Edit store"


def test_remove_after_confirmation_deletes_store_and_its_secrets(
    qtbot: Any, stores: StoreService, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialog = StoresDialog(store_service=stores, actor=ADMIN)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.list.count() == 2)
    doomed = dialog.selected()
    assert doomed is not None and stores.has_credentials(ADMIN, doomed.id)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    dialog.remove()
    qtbot.waitUntil(lambda: dialog.list.count() == 1)
    assert doomed.name not in [s.name for s in stores.list_stores(ADMIN).result()]
    assert not stores.has_credentials(ADMIN, doomed.id)


def test_remove_cancelled_keeps_store(
    qtbot: Any, stores: StoreService, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialog = StoresDialog(store_service=stores, actor=ADMIN)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.list.count() == 2)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    dialog.remove()
    assert len(stores.list_stores(ADMIN).result()) == 2


def test_load_order_history_opens_for_the_selected_store(
    qtbot: Any, stores: StoreService, core: Any
) -> None:
    from app.amazon.history import HistoryService
    from app.services import build_services
    from ui.dialogs.history import HistoryDialog

    services = build_services(core)
    history: HistoryService = services.history
    dialog = StoresDialog(
        store_service=stores, actor=ADMIN, history=history, settings_service=services.settings
    )
    qtbot.addWidget(dialog)
    assert not dialog.history_button.isEnabled()  # nothing selected yet
    qtbot.waitUntil(lambda: dialog.list.count() == 2)
    assert dialog.history_button.isVisibleTo(dialog) and dialog.history_button.isEnabled()
    store = dialog.selected()
    assert store is not None
    opened = dialog.load_history()
    assert isinstance(opened, HistoryDialog)
    assert opened.windowTitle() == f"Load order history: {store.name}"
    qtbot.waitUntil(lambda: opened.state_known, timeout=3000)
    assert opened.state_label.text().startswith("No order history")
    # The store dialog it opens starts a new store's history load.
    edit = dialog._open_store_dialog(None)
    qtbot.addWidget(edit)
    assert edit._history is history


def test_without_the_history_service_there_is_no_history_button(
    qtbot: Any, stores: StoreService
) -> None:
    dialog = StoresDialog(store_service=stores, actor=ADMIN)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.list.count() == 2)
    assert not dialog.history_button.isVisibleTo(dialog)
    assert dialog.load_history() is None
