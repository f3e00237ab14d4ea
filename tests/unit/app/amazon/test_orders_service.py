"""The orders door: reads bound to the caller as stored now, one DB job per read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.amazon import orders_repo
from app.amazon.orders_repo import OrderQuery
from app.amazon.orders_service import OrdersReader, OrdersService
from app.auth.models import Actor
from app.auth.rbac import Role
from app.errors import NetworkDown, PermissionDenied
from app.jobs import JobHost
from app.vault import Vault
from tests.helpers.orders import T0, make


def _add_operator(
    conn: Any, op_id: int, role: Role, stores: tuple[int, ...] = (), disabled: bool = False
) -> None:
    conn.execute(
        "INSERT INTO operators(id, username, display_name, email, role, disabled, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            op_id,
            f"op{op_id}",
            f"Op {op_id}",
            f"op{op_id}@example.com",
            role,
            disabled,
            "2026-01-01T00:00:00Z",
        ),
    )
    for sid in stores:
        conn.execute(
            "INSERT INTO operator_stores(operator_id, store_id) VALUES (?, ?)", (op_id, sid)
        )


ADMIN = Actor(1, "op1", "Op 1", Role.ADMIN)
AGENT = Actor(2, "op2", "Op 2", Role.AGENT, frozenset({1}))
DISABLED = Actor(3, "op3", "Op 3", Role.AGENT, frozenset({1}))


class _NoSync:
    def fetch_order_now(self, actor: Actor, store_id: int, order_id: str) -> None:
        raise AssertionError("a stored order is not fetched from Amazon")


@pytest.fixture
def service(vault: Vault) -> Iterator[OrdersService]:
    def seed(conn: Any) -> None:
        conn.execute(
            "INSERT INTO stores(id, name, created_at) VALUES (1, 'Beta', '2026-01-01T00:00:00Z')"
        )
        conn.execute(
            "INSERT INTO stores(id, name, created_at) VALUES (2, 'Alpha', '2026-01-01T00:00:00Z')"
        )
        _add_operator(conn, 1, Role.ADMIN)
        _add_operator(conn, 2, Role.AGENT, (1,))
        _add_operator(conn, 3, Role.AGENT, (1,), disabled=True)
        other = make(99, store_id=2, marketplace_id="A1PA6795UKMFR9", marketplace_name="DE")
        orders_repo.upsert_orders(conn, [make(1), make(2), other], now=T0)

    vault.call_write(seed)
    jobs = JobHost()
    yield OrdersService(vault=vault, sync=_NoSync(), jobs=jobs)  # type: ignore[arg-type]
    jobs.shutdown()


def test_agent_reads_only_its_stores(service: OrdersService) -> None:
    ids = service.search_ids(AGENT, OrderQuery()).result(5)
    assert set(ids) == {make(1).order_id, make(2).order_id}
    stores, markets = service.stores_and_marketplaces(AGENT).result(5)
    assert [s.id for s in stores] == [1]
    assert markets == [("ATVPDKIKX0DER", "Amazon.com")]
    assert [c.store_id for c in service.counts(AGENT).result(5)] == [1]
    with pytest.raises(PermissionDenied):
        service.get_order(AGENT, make(99).order_id).result(5)


def test_rows_leave_out_orders_of_stores_the_caller_may_not_see(service: OrdersService) -> None:
    wanted = [make(1).order_id, make(99).order_id]
    rows = service.read(AGENT, lambda r: r.rows(wanted)).result(5)
    assert [r.order_id for r in rows] == [make(1).order_id]
    rows = service.read(ADMIN, lambda r: r.rows(wanted)).result(5)
    assert [r.order_id for r in rows] == wanted


def test_admin_sees_every_store_by_name(service: OrdersService) -> None:
    stores, _markets = service.stores_and_marketplaces(ADMIN).result(5)
    assert [s.name for s in stores] == ["Alpha", "Beta"]


def test_search_and_rows_in_one_job(service: OrdersService) -> None:
    def first_page(reader: OrdersReader) -> list[str]:
        return [r.order_id for r in reader.rows(reader.search_ids(OrderQuery())[:1])]

    assert service.read(ADMIN, first_page).result(5) == [make(99).order_id]


def test_forged_and_stale_actors_get_what_the_database_says(service: OrdersService) -> None:
    forged = Actor(2, "op2", "Op 2", Role.ADMIN, frozenset({1, 2}))  # agent 2 claims admin
    ids = service.search_ids(forged, OrderQuery()).result(5)
    assert make(99).order_id not in ids
    with pytest.raises(PermissionDenied):
        service.get_order(forged, make(99).order_id).result(5)
    # Removed from store 1 after sign-in: the old Actor no longer shows its orders.
    service.vault.call_write(lambda c: c.execute("DELETE FROM operator_stores WHERE operator_id=2"))
    assert service.search_ids(AGENT, OrderQuery()).result(5) == []
    assert service.stores_and_marketplaces(AGENT).result(5) == ([], [])


def test_disabled_and_unknown_operators_are_refused(service: OrdersService) -> None:
    ghost = Actor(42, "ghost", "Ghost", Role.ADMIN)
    for actor in (DISABLED, ghost):
        with pytest.raises(PermissionDenied):
            service.search_ids(actor, OrderQuery()).result(5)
        with pytest.raises(PermissionDenied):
            service.read(actor, lambda r: r.rows([make(1).order_id])).result(5)


def test_open_order_returns_a_stored_order_without_asking_amazon(
    service: OrdersService,
) -> None:
    order = service.open_order(AGENT, 1, make(1).order_id).result(5)
    assert order is not None and order.order_id == make(1).order_id
    with pytest.raises(PermissionDenied):
        service.open_order(AGENT, 2, make(99).order_id).result(5)


class _Sync:
    """getOrder's stand-in: the full copy of an order, or Amazon unreachable."""

    def __init__(self, vault: Vault, fail: bool = False) -> None:
        self.vault, self.fail, self.asked = vault, fail, 0

    def fetch_order_now(self, actor: Actor, store_id: int, order_id: str) -> Any:
        self.asked += 1
        if self.fail:
            raise NetworkDown()
        full = make(3)
        self.vault.call_write(lambda c: orders_repo.upsert_orders(c, [full], now=T0))
        return self.vault.call(lambda c: orders_repo.get_order(c, actor, order_id))


@pytest.mark.parametrize("fail", [False, True])
def test_open_order_fetches_the_details_of_an_order_from_a_report(
    vault: Vault, service: OrdersService, fail: bool
) -> None:
    report_copy = make(3, packages=(), details_pending=True)
    vault.call_write(lambda c: orders_repo.upsert_orders(c, [report_copy], now=T0))
    sync = _Sync(vault, fail)
    service.sync = sync  # type: ignore[assignment]
    order = service.open_order(AGENT, 1, make(3).order_id).result(5)
    assert sync.asked == 1
    assert order is not None
    if fail:  # Amazon unreachable: the report's copy, still marked
        assert order.details_pending and order.packages == ()
    else:
        assert not order.details_pending and order.packages
