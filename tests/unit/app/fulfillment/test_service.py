"""The label service against a scripted Shipping client and a real vault: never buying
twice (a live label, a purchase in flight, an uncertain one), re-rating expired rates,
documents from memory / the opt-in encrypted cache / Amazon, void, tracking, batch."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import Decimal

import pytest

from app import settings
from app.amazon.models import OrderStatus
from app.amazon.spapi.shipping import AddressInvalid, DocumentSpec, LabelFormat
from app.audit import Action, make_audit_log
from app.auth.models import Actor
from app.auth.rbac import Role
from app.errors import NetworkDown
from app.fulfillment import repo
from app.fulfillment.models import BatchState, ShipmentState, ShippingDefaults
from app.fulfillment.service import (
    AlreadyBought,
    LabelService,
    NotShippable,
    PriceChanged,
    PurchaseInProgress,
    PurchaseUncertain,
    ShipFromMissing,
)
from app.notices import ShipmentsChanged
from app.services import Core
from tests.helpers.labels import (
    BOX,
    RECIPIENT,
    SHIP_FROM,
    ScriptedShipping,
    every_value,
    put_order,
)
from tests.helpers.operators import put_operator

ADMIN = Actor(id=1, username="ada", display_name="Ada", role=Role.ADMIN)
ORDER = "111-0000001-0000001"


@pytest.fixture
def amazon() -> ScriptedShipping:
    return ScriptedShipping()


def _service(core: Core, amazon: ScriptedShipping) -> LabelService:
    audit = make_audit_log(
        core.vault, core.secrets, clock=core.clock, key=core.vault.audit_key, notices=core.notices
    )
    service = LabelService(
        vault=core.vault,
        secrets=core.secrets,
        clock=core.clock,
        notices=core.notices,
        audit=audit,
        client_factory=amazon.factory,
        retry_base=0.001,
    )
    return service


@pytest.fixture
def labels(core: Core, amazon: ScriptedShipping) -> LabelService:
    core.vault.call_write(
        lambda c: c.execute(
            "INSERT INTO stores(id, name, created_at) VALUES (1, 'Acme', '2026-01-01T00:00:00Z')"
        )
    )
    for which in ("lwa-client-secret", "refresh-token"):
        core.secrets.set(f"store:1:{which}", "x")
    put_operator(core.vault, ADMIN)
    service = _service(core, amazon)
    service.save_defaults(ADMIN, ShippingDefaults(store_id=1, ship_from=SHIP_FROM))
    put_order(core.vault, ORDER)
    return service


def _buy(labels: LabelService, order_id: str = ORDER, **kw: object):  # type: ignore[no-untyped-def]
    quote = labels.get_rates(ADMIN, order_id, BOX)
    cheapest = min(quote.rates, key=lambda r: r.total.amount)
    return labels.buy(ADMIN, order_id, quote, cheapest.rate_id, **kw)  # type: ignore[arg-type]


def _actions(core: Core) -> list[str]:
    return [
        r[0]
        for r in core.vault.call(
            lambda c: c.execute("SELECT action FROM audit_log ORDER BY seq").fetchall()
        )
    ]


def test_rates_carry_the_seller_address_and_the_order_items_not_the_buyer(
    labels: LabelService, amazon: ScriptedShipping
) -> None:
    quote = labels.get_rates(ADMIN, ORDER, BOX)
    assert [r.service_id for r in quote.rates] == ["UPS_GROUND", "USPS_PRIORITY"]
    request = amazon.rate_requests[0]
    assert request.ship_from == SHIP_FROM
    assert request.parcel.items[0].quantity == 2
    assert request.parcel.declared_value is not None
    assert request.parcel.declared_value.amount == Decimal("25.00")


def test_a_purchase_is_recorded_without_the_label_and_kept_in_memory(
    labels: LabelService, amazon: ScriptedShipping, core: Core
) -> None:
    seen: list[ShipmentsChanged] = []
    core.notices.subscribe(ShipmentsChanged, seen.append)
    bought = _buy(labels)
    assert bought.shipment.state is ShipmentState.BOUGHT
    assert bought.shipment.tracking_id == "1ZTEST00000001"
    assert bought.shipment.cost is not None and bought.shipment.cost.amount == Decimal("7.45")
    assert RECIPIENT.encode() in bought.label.data
    docs, source = labels.documents(ADMIN, bought.shipment.id)
    assert (docs, source) == (bought.documents, "memory")
    assert amazon.downloads == 0
    assert Action.LABEL_BOUGHT in _actions(core)
    assert any(ORDER in n.order_ids for n in seen)
    # Nothing of the label in any table.
    dump = core.vault.call(every_value)
    assert RECIPIENT not in dump and "%PDF" not in dump


def test_a_purchase_answer_without_the_label_downloads_it(
    labels: LabelService, amazon: ScriptedShipping
) -> None:
    amazon.no_label_once = True
    bought = _buy(labels)
    assert amazon.downloads == 1
    assert RECIPIENT.encode() in bought.label.data
    assert labels.documents(ADMIN, bought.shipment.id)[1] == "memory"


def test_a_purchase_asks_for_the_store_to_be_synced(
    labels: LabelService, amazon: ScriptedShipping
) -> None:
    asked: list[int] = []
    labels.after_purchase = asked.append  # Amazon now shows the order shipped
    amazon.fail[ORDER] = AddressInvalid()
    with pytest.raises(AddressInvalid):
        _buy(labels)
    assert asked == []
    del amazon.fail[ORDER]
    _buy(labels)
    assert asked == [1]


def test_an_order_with_a_live_label_is_not_bought_again_unless_asked(
    labels: LabelService, amazon: ScriptedShipping
) -> None:
    first = _buy(labels)
    with pytest.raises(AlreadyBought) as caught:
        _buy(labels)
    assert caught.value.shipment.id == first.shipment.id
    assert len(amazon.purchases) == 1
    second = _buy(labels, another=True)
    assert second.shipment.id != first.shipment.id
    assert len(amazon.purchases) == 2


def test_two_purchases_at_once_buy_one_label(
    labels: LabelService, amazon: ScriptedShipping
) -> None:
    amazon.hold = threading.Event()
    quote = labels.get_rates(ADMIN, ORDER, BOX)
    rate_id = quote.rates[0].rate_id
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(labels.buy, ADMIN, ORDER, quote, rate_id)
        # The second starts while the first is at Amazon (its row says "buying").
        while not labels.vault.call(lambda c: repo.active_shipment(c, ORDER)):
            threading.Event().wait(0.01)
        with pytest.raises(PurchaseInProgress):
            labels.buy(ADMIN, ORDER, quote, rate_id)
        amazon.hold.set()
        first.result(10)
    assert len(amazon.purchases) == 1


def test_expired_rates_are_asked_again_and_the_same_price_is_bought(
    labels: LabelService, amazon: ScriptedShipping
) -> None:
    amazon.expire_once = True
    bought = _buy(labels)
    assert bought.shipment.state is ShipmentState.BOUGHT
    assert len(amazon.rate_requests) == 2  # the re-rate
    assert amazon.purchases[0][1].startswith("tok-2-")  # bought with the new token


def test_a_changed_price_is_shown_before_buying(
    labels: LabelService, amazon: ScriptedShipping, core: Core
) -> None:
    amazon.expire_once = True
    amazon.price_after_expiry = Decimal("8.05")
    with pytest.raises(PriceChanged) as caught:
        _buy(labels)
    assert amazon.purchases == []
    assert "8.05" in caught.value.message and "7.45" in caught.value.message
    assert labels.vault.call(lambda c: repo.active_shipment(c, ORDER)) is None
    bought = labels.buy(ADMIN, ORDER, caught.value.quote, caught.value.rate_id)
    assert bought.shipment.cost is not None and bought.shipment.cost.amount == Decimal("8.05")


def test_a_refused_purchase_leaves_no_record_and_is_audited(
    labels: LabelService, amazon: ScriptedShipping, core: Core
) -> None:
    amazon.fail[ORDER] = AddressInvalid()
    with pytest.raises(AddressInvalid):
        _buy(labels)
    assert labels.vault.call(lambda c: repo.active_shipment(c, ORDER)) is None
    assert Action.LABEL_NOT_BOUGHT in _actions(core)
    del amazon.fail[ORDER]
    assert _buy(labels).shipment.state is ShipmentState.BOUGHT


def test_an_uncertain_purchase_blocks_buying_until_the_seller_says_it_did_not_happen(
    labels: LabelService, amazon: ScriptedShipping
) -> None:
    amazon.fail[ORDER] = NetworkDown()
    with pytest.raises(PurchaseUncertain) as caught:
        _buy(labels)
    assert caught.value.shipment is not None
    assert caught.value.shipment.state is ShipmentState.UNCERTAIN
    del amazon.fail[ORDER]
    with pytest.raises(PurchaseUncertain):
        _buy(labels)
    with pytest.raises(PurchaseUncertain):
        _buy(labels, another=True)
    labels.forget_uncertain(ADMIN, caught.value.shipment.id)
    assert _buy(labels).shipment.state is ShipmentState.BOUGHT


def test_a_purchase_left_half_done_by_a_killed_run_is_uncertain(
    labels: LabelService, amazon: ScriptedShipping, core: Core
) -> None:
    quote = labels.get_rates(ADMIN, ORDER, BOX)
    rate = quote.rates[0]
    core.vault.call_write(  # the row a run wrote before it was killed at Amazon
        lambda c: repo.begin_purchase(
            c, store_id=1, order_id=ORDER, operator_id=1, label_format=LabelFormat.PDF, dpi=None,
            preset=None, carrier_id=rate.carrier_id, carrier=rate.carrier_name,
            service=rate.service_name, cost=rate.total, now=core.clock.now(),
        )
    )  # fmt: skip
    restarted = _service(core, amazon)
    (shown,) = restarted.shipments(ADMIN, [ORDER]).result()
    assert shown.state is ShipmentState.UNCERTAIN  # what the order's Shipping section says
    with pytest.raises(PurchaseUncertain) as caught:
        restarted.buy(ADMIN, ORDER, quote, rate.rate_id)
    assert caught.value.shipment is not None
    assert caught.value.shipment.state is ShipmentState.UNCERTAIN
    assert amazon.purchases == []
    restarted.forget_uncertain(ADMIN, shown.id)  # the seller checked: not bought
    assert restarted.buy(ADMIN, ORDER, quote, rate.rate_id).shipment.state is ShipmentState.BOUGHT


@pytest.mark.expect_log("muttefik.labels", "ERROR", "bought but not recorded")
def test_a_label_sold_but_not_recorded_is_kept_and_blocks_buying_again(
    labels: LabelService, amazon: ScriptedShipping, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    def disk_full(*args: object, **kw: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(repo, "finish_purchase", disk_full)
    with pytest.raises(PurchaseUncertain, match="could not record it"):
        _buy(labels)
    monkeypatch.undo()
    found = labels.vault.call(lambda c: repo.active_shipment(c, ORDER))
    assert found is not None and found.state is ShipmentState.UNCERTAIN
    assert found.id in labels.memory
    with pytest.raises(PurchaseUncertain):
        _buy(labels)
    assert len(amazon.purchases) == 1


def test_after_a_restart_a_reprint_downloads_the_label_again(
    labels: LabelService, amazon: ScriptedShipping, core: Core
) -> None:
    bought = _buy(labels)
    restarted = _service(core, amazon)
    docs, source = restarted.documents(ADMIN, bought.shipment.id)
    assert source == "amazon"
    assert docs[0].data == bought.label.data
    assert amazon.downloads == 1
    assert restarted.documents(ADMIN, bought.shipment.id)[1] == "memory"


def test_the_opt_in_reprint_cache_is_encrypted_and_expires(
    labels: LabelService, amazon: ScriptedShipping, core: Core
) -> None:
    core.vault.call_write(
        lambda c: settings.put(c, settings.LABEL_REPRINT_CACHE, True, now=core.clock.now())
    )
    bought = _buy(labels)
    rows = core.vault.call(lambda c: c.execute("SELECT ciphertext FROM label_cache").fetchall())
    assert len(rows) == 1
    assert RECIPIENT.encode() not in bytes(rows[0][0])
    restarted = _service(core, amazon)
    docs, source = restarted.documents(ADMIN, bought.shipment.id)
    assert (source, docs[0].data) == ("cache", bought.label.data)
    core.clock.advance(24 * 3600 + 1)  # type: ignore[attr-defined]
    again = _service(core, amazon)
    assert again.documents(ADMIN, bought.shipment.id)[1] == "amazon"  # and cached anew
    assert again.purge_reprint_cache(ADMIN) == 0
    core.clock.advance(24 * 3600 + 1)  # type: ignore[attr-defined]
    assert again.purge_reprint_cache(ADMIN) == 1


def test_an_expired_cached_label_goes_when_the_next_one_is_cached(
    labels: LabelService, core: Core
) -> None:
    core.vault.call_write(
        lambda c: settings.put(c, settings.LABEL_REPRINT_CACHE, True, now=core.clock.now())
    )
    first = _buy(labels)
    core.clock.advance(24 * 3600 + 1)  # type: ignore[attr-defined]
    put_order(core.vault, "111-0000099-0000099")
    _buy(labels, "111-0000099-0000099")
    cached = core.vault.call(
        lambda c: [r[0] for r in c.execute("SELECT shipment FROM label_cache").fetchall()]
    )
    assert first.shipment.id not in cached and len(cached) == 1


def test_voiding_forgets_the_label_and_allows_a_new_one(
    labels: LabelService, amazon: ScriptedShipping
) -> None:
    bought = _buy(labels)
    voided = labels.void(ADMIN, bought.shipment.id)
    assert voided.state is ShipmentState.VOIDED
    assert amazon.cancelled == ["shp-1"]
    assert bought.shipment.id not in labels.memory
    assert _buy(labels).shipment.state is ShipmentState.BOUGHT


def test_a_delivery_seen_in_tracking_dates_the_order(
    labels: LabelService, amazon: ScriptedShipping, core: Core
) -> None:
    bought = _buy(labels)
    amazon.delivered = True
    updated = labels.refresh_tracking(ADMIN, bought.shipment.id)
    assert updated.tracking_status == "Delivered"
    assert updated.delivered_at is not None
    stored = core.vault.call(
        lambda c: c.execute(
            "SELECT delivered_at FROM orders WHERE order_id = ?", (ORDER,)
        ).fetchone()
    )
    assert stored[0].startswith("2026-12-03")


def test_fba_shipped_and_unknown_orders_are_not_shippable(labels: LabelService, core: Core) -> None:
    put_order(core.vault, "111-0000002-0000002", channel="AFN")
    put_order(core.vault, "111-0000003-0000003", status=OrderStatus.SHIPPED)
    for order_id in ("111-0000002-0000002", "111-0000003-0000003", "999-0000000-0000000"):
        with pytest.raises(NotShippable):
            labels.get_rates(ADMIN, order_id, BOX)


def test_rates_need_the_ship_from_address(labels: LabelService) -> None:
    labels.save_defaults(ADMIN, ShippingDefaults(store_id=1))
    with pytest.raises(ShipFromMissing):
        labels.get_rates(ADMIN, ORDER, BOX)


def test_a_batch_reports_the_failing_order_and_never_buys_twice(
    labels: LabelService, amazon: ScriptedShipping, core: Core
) -> None:
    labels.save_preset(ADMIN, BOX)
    orders = [put_order(core.vault, f"111-0000010-00000{n:02d}") for n in range(5)]
    amazon.fail[orders[2]] = AddressInvalid()
    lines = labels.batch_rates(ADMIN, orders)
    assert [line.state for line in lines] == [BatchState.RATED] * 5
    assert all(line.rate is not None and line.rate.protected for line in lines)
    done = labels.batch_buy(ADMIN, lines, spec=DocumentSpec(format=LabelFormat.ZPL, dpi=203))
    assert [line.state for line in done] == [
        BatchState.BOUGHT,
        BatchState.BOUGHT,
        BatchState.FAILED,
        BatchState.BOUGHT,
        BatchState.BOUGHT,
    ]
    assert done[2].message == AddressInvalid.message
    assert done[0].shipment is not None and done[0].shipment.label_format is LabelFormat.ZPL
    assert len(amazon.purchases) == 4
    # Buying the same lines again buys nothing; rating again skips the bought orders.
    again = labels.batch_buy(ADMIN, lines)
    assert len(amazon.purchases) == 4
    assert [line.state for line in again].count(BatchState.SKIPPED) == 4
    assert again[2].state is BatchState.FAILED


def test_a_batch_order_without_a_package_fails_alone(labels: LabelService, core: Core) -> None:
    other = put_order(core.vault, "111-0000020-0000001", sku="NO-PRESET")
    labels.save_preset(ADMIN, replace(BOX, sku="MUG-BLUE", name="Mug box"))
    lines = labels.batch_rates(ADMIN, [ORDER, other])
    assert [line.state for line in lines] == [BatchState.RATED, BatchState.FAILED]
    assert "package" in (lines[1].message or "").lower()
