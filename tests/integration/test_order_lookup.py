"""Looking up an order not stored yet: the orders view fetches it from Amazon at once
(getOrder through the real client over HTTP, ahead of any backfill)."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from app.amazon.models import Credentials, Region, StoreDraft
from app.amazon.spapi import clear_token_cache
from app.demo.fake_spapi import FakeSpApi
from app.services import Core, build_services
from tests.helpers.operators import put_operator
from tests.helpers.orders import ADMIN
from ui.views.orders import OrdersView

pytestmark = pytest.mark.integration


@pytest.fixture
def server() -> Any:
    clear_token_cache()
    with FakeSpApi(orders=40, seed=5, speed=None, settle_seconds=0) as srv:
        yield srv
    clear_token_cache()


def test_complete_order_id_not_stored_is_fetched_on_request(
    qtbot: Any, core: Core, server: Any
) -> None:
    services = build_services(core)
    put_operator(core.vault, ADMIN)
    services.stores.create_store(
        ADMIN,
        StoreDraft(
            name="Main",
            region=Region.NA,
            marketplace_ids=("ATVPDKIKX0DER",),
            lwa_client_id=server.client_id,
            sp_api_endpoint=server.base_url,
            lwa_endpoint=server.lwa_url,
        ),
        Credentials(lwa_client_secret=server.client_secret, refresh_token=server.refresh_token),
    )
    wanted = server.order_ids()[7]
    view = OrdersView(services=services, actor=ADMIN)
    qtbot.addWidget(view)
    view.resize(1100, 600)
    view.show()
    qtbot.waitUntil(lambda: view.model.searched_once and view._stores_known, timeout=5000)

    view.search.setText(wanted)
    qtbot.waitUntil(lambda: view.stack.currentWidget() is view.no_match, timeout=5000)
    assert view.lookup_button.isVisible()
    assert wanted in view.lookup_button.text()
    assert server.request_count("getOrder") == 0

    qtbot.mouseClick(view.lookup_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=10_000)
    assert view.model.order_id(0) == wanted
    assert server.request_count("getOrder") == 1
    assert server.request_count("searchOrders") == 0  # fetched alone, not by a sync
    assert view.stack.currentWidget() is view.table


def test_lookup_is_offered_only_for_a_complete_order_id(qtbot: Any, core: Core) -> None:
    view = OrdersView(services=build_services(core), actor=put_operator(core.vault, ADMIN))
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.model.searched_once, timeout=5000)
    view.search.setText("113-45043")
    view.apply_filters()
    qtbot.waitUntil(lambda: view.stack.currentWidget() is view.no_match, timeout=5000)
    assert not view.lookup_button.isVisible()
