"""The label service with the real Shipping v2 client against the fake SP-API over HTTP:
expired rates bought again at the same price, a purchase whose answer is lost kept as
uncertain and never bought again, and a batch of 20 with one injected failure, printed
as ZPL to a thermal printer's port (19 labels arrive, the failure is reported)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest

from app.amazon.spapi import clear_token_cache
from app.amazon.spapi.shipping import DocumentSpec, LabelFormat
from app.auth.models import Actor
from app.auth.rbac import Role
from app.demo.fake_spapi import FakeSpApi
from app.demo.fake_spapi_faults import PURCHASE_SHIPMENT, Fault
from app.fulfillment.models import BatchState, ShipmentState, ShippingDefaults
from app.fulfillment.printers import PrinterKind, PrintSettings
from app.fulfillment.printing import PrintTarget, job_title, print_label
from app.fulfillment.service import PurchaseUncertain
from app.services import Core, Services, build_services
from tests.helpers.cups import ZplListener
from tests.helpers.fake_spapi import fake_store
from tests.helpers.labels import BOX, SHIP_FROM
from tests.helpers.operators import put_operator

pytestmark = pytest.mark.integration

ADMIN = Actor(id=1, username="ada", display_name="Ada", role=Role.ADMIN)


@pytest.fixture
def shop(core: Core) -> Iterator[tuple[Services, FakeSpApi, list[str]]]:
    """A store on the fake with its orders synced (new ones placed, so that at least 20
    are unshipped and merchant-fulfilled), a ship-from address and a default box."""
    clear_token_cache()
    with FakeSpApi(orders=40, seed=21, speed=None, settle_seconds=0) as server:
        store, credentials = fake_store(server)
        core.vault.call_write(
            lambda c: c.execute(
                "INSERT INTO stores(id, name, region, marketplace_ids, lwa_client_id, "
                "sp_api_endpoint, lwa_endpoint, demo, created_at, updated_at) VALUES "
                "(1, 'Main', 'NA', '[\"ATVPDKIKX0DER\"]', ?, ?, ?, 0, "
                "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
                (store.lwa_client_id, store.sp_api_endpoint, store.lwa_endpoint),
            )
        )
        core.secrets.set("store:1:lwa-client-secret", credentials.lwa_client_secret)
        core.secrets.set("store:1:refresh-token", credentials.refresh_token)
        put_operator(core.vault, ADMIN)
        services = build_services(core)
        services.labels.save_defaults(ADMIN, ShippingDefaults(store_id=1, ship_from=SHIP_FROM))
        services.labels.save_preset(ADMIN, BOX)
        eligible: list[str] = []
        for _ in range(10):  # new orders (some on amazon.com, unshipped, MFN) until 20+
            services.sync.sync_store(ADMIN, 1, threading.Event())
            stored = set(
                core.vault.call(lambda c: [r[0] for r in c.execute("SELECT order_id FROM orders")])
            )
            eligible = [o for o in server.shipping.eligible_order_ids() if o in stored]
            if len(eligible) >= 21:
                break
            server.add_orders(40)
        assert len(eligible) >= 21
        yield services, server, eligible
    clear_token_cache()


def test_expired_rates_are_bought_again_at_the_same_price(
    shop: tuple[Services, FakeSpApi, list[str]],
) -> None:
    services, server, orders = shop
    quote = services.labels.get_rates(ADMIN, orders[0], BOX)
    rate = min(quote.rates, key=lambda r: r.total.amount)
    server.expire_rate_tokens()
    bought = services.labels.buy(ADMIN, orders[0], quote, rate.rate_id)
    assert bought.shipment.state is ShipmentState.BOUGHT
    assert bought.shipment.cost == rate.total
    assert server.purchase_count(orders[0]) == 1
    assert server.request_count("getRates") == 2


def test_a_lost_purchase_answer_is_uncertain_and_never_bought_again(
    shop: tuple[Services, FakeSpApi, list[str]],
) -> None:
    services, server, orders = shop
    quote = services.labels.get_rates(ADMIN, orders[0], BOX)
    server.faults.set(Fault.DISCONNECT, count=1, operation=PURCHASE_SHIPMENT)
    with pytest.raises(PurchaseUncertain):
        services.labels.buy(ADMIN, orders[0], quote, quote.rates[0].rate_id)
    assert server.purchase_count(orders[0]) == 1  # Amazon did buy it
    with pytest.raises(PurchaseUncertain):  # refused here, before Amazon is asked
        services.labels.buy(ADMIN, orders[0], quote, quote.rates[1].rate_id)
    assert server.purchase_count(orders[0]) == 1
    # Amazon confirmed the order as shipped: it offers no rates for it any more.
    assert services.labels.get_rates(ADMIN, orders[0], BOX).rates == ()


def test_a_batch_of_20_with_one_failure_buys_and_prints_19(
    shop: tuple[Services, FakeSpApi, list[str]], zpl_listener: ZplListener
) -> None:
    services, server, orders = shop
    batch = orders[:20]
    lines = services.labels.batch_rates(ADMIN, batch)
    assert [line.state for line in lines] == [BatchState.RATED] * 20
    server.faults.set(Fault.ADDRESS_INVALID, count=1, operation=PURCHASE_SHIPMENT)
    done = services.labels.batch_buy(
        ADMIN, lines, spec=DocumentSpec(format=LabelFormat.ZPL, dpi=203)
    )
    failed = [line for line in done if line.state is BatchState.FAILED]
    bought = [line for line in done if line.state is BatchState.BOUGHT]
    assert (len(bought), len(failed)) == (19, 1)
    assert "address" in (failed[0].message or "").lower()
    assert sum(server.purchase_count(o) for o in batch) == 19

    printer = PrintTarget("Zebra", PrinterKind.ZPL_TCP, zpl_listener.address)
    for line in bought:
        assert line.shipment is not None
        documents, source = services.labels.documents(ADMIN, line.shipment.id)
        assert source == "memory"
        print_label(printer, documents[0], PrintSettings(), job_title(line.order_id))
        services.labels.record_printed(
            ADMIN, line.shipment.id, printer=printer.name, label_format="ZPL"
        )
    jobs = [zpl_listener.next_job() for _ in bought]
    assert all(job.startswith(b"^XA") for job in jobs)
    assert {line.order_id for line in bought} == {
        o for o in batch for job in jobs if o.encode() in job
    }
    # The batch again: every bought order is skipped, nothing is bought twice.
    again = services.labels.batch_buy(ADMIN, lines)
    assert [line.state for line in again].count(BatchState.SKIPPED) == 19
    assert sum(server.purchase_count(line.order_id) for line in bought) == 19


def test_the_buyer_s_name_for_a_packing_slip_is_asked_only_when_turned_on(
    shop: tuple[Services, FakeSpApi, list[str]], core: Core
) -> None:
    services, server, orders = shop
    before = server.request_count("getOrder")
    assert services.labels.slip_recipient(ADMIN, orders[0]) is None
    assert server.request_count("getOrder") == before  # off: Amazon not asked
    defaults = services.labels.read(ADMIN, lambda r: r.defaults(1)).result()
    services.labels.save_defaults(ADMIN, replace(defaults, slip_shows_name=True))
    name = services.labels.slip_recipient(ADMIN, orders[0])
    assert name == server.recipient(orders[0]).name
    (asked,) = [r for r in server.requests if r.operation == "getOrder"][before:]
    assert asked.included_data == frozenset({"RECIPIENT"})
    audited = core.vault.call(
        lambda c: c.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'recipient_name_read'"
        ).fetchone()[0]
    )
    assert audited == 1
