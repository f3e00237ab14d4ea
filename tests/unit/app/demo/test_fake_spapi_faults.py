"""Each switchable fault of the fake SP-API, seen over real HTTP."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from app.clock import FakeClock
from app.demo import GET_ORDER, SEARCH_ORDERS, FakeSpApi, Fault
from app.demo.fake_spapi_faults import Faults
from tests.helpers.fake_spapi import START, Api

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def api() -> Iterator[Api]:
    with FakeSpApi(orders=50, seed=3, speed=1000, clock=FakeClock(NOW)) as srv:
        client = Api(srv)
        yield client
        client.http.close()


def order_path(api: Api) -> str:
    return f"/orders/2026-01-01/orders/{api.srv.order_ids()[0]}"


def test_faults_fire_count_times_then_disarm() -> None:
    faults = Faults()
    faults.set(Fault.THROTTLE, count=2)
    assert faults.take(Fault.THROTTLE, SEARCH_ORDERS) == 0.0
    assert faults.take(Fault.THROTTLE, GET_ORDER) == 0.0
    assert faults.take(Fault.THROTTLE, GET_ORDER) is None
    assert faults.fired(Fault.THROTTLE) == 2 and not faults.is_set(Fault.THROTTLE)


def test_faults_without_count_last_until_cleared_and_respect_operation() -> None:
    faults = Faults()
    faults.set("server_error", operation=GET_ORDER)
    assert faults.take(Fault.SERVER_ERROR, SEARCH_ORDERS) is None
    assert all(faults.take(Fault.SERVER_ERROR, GET_ORDER) == 0.0 for _ in range(5))
    faults.clear(Fault.SERVER_ERROR)
    assert faults.take(Fault.SERVER_ERROR, GET_ORDER) is None


def test_fault_arguments_are_checked() -> None:
    faults = Faults()
    with pytest.raises(ValueError):
        faults.set(Fault.SLOW)  # needs a delay
    with pytest.raises(ValueError):
        faults.set(Fault.THROTTLE, count=0)
    with pytest.raises(ValueError):
        faults.set(Fault.THROTTLE, operation="getOrders")
    with pytest.raises(ValueError):
        faults.set("meteor_strike")


def test_faults_are_thread_safe() -> None:
    faults = Faults()
    faults.set(Fault.THROTTLE, count=500)
    hits: list[int] = []

    def worker() -> None:
        hits.append(sum(faults.take(Fault.THROTTLE, GET_ORDER) is not None for _ in range(200)))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(hits) == 500


def test_throttle_storm(api: Api) -> None:
    api.srv.faults.set(Fault.THROTTLE, count=3)
    codes = [api.search(createdAfter=START).status_code for _ in range(4)]
    assert codes == [429, 429, 429, 200]
    assert api.srv.throttled_count() == 3


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [(Fault.SERVER_ERROR, 500, "InternalFailure"), (Fault.UNAVAILABLE, 503, "ServiceUnavailable")],
)
def test_server_errors_carry_errors_body(api: Api, fault: Fault, status: int, code: str) -> None:
    api.srv.faults.set(fault, count=1, operation=GET_ORDER)
    assert api.search(createdAfter=START).status_code == 200  # other operation untouched
    reply = api.get(order_path(api))
    assert reply.status_code == status and reply.json()["errors"][0]["code"] == code
    assert reply.headers["x-amzn-RateLimit-Limit"] == "500"
    assert api.get(order_path(api)).status_code == 200


def test_slow_reply(api: Api) -> None:
    api.srv.faults.set(Fault.SLOW, delay=0.3, count=1)
    assert api.search(createdAfter=START).status_code == 200
    assert api.srv.faults.fired(Fault.SLOW) == 1  # held back, then answered
    assert api.search(createdAfter=START).status_code == 200
    assert api.srv.faults.fired(Fault.SLOW) == 1  # count=1: the next reply is not held


def test_slow_reply_past_client_timeout(api: Api) -> None:
    api.srv.faults.set(Fault.SLOW, delay=2.0, count=1)
    with pytest.raises(httpx.ReadTimeout):
        api.http.get(
            "/orders/2026-01-01/orders",
            params={"createdAfter": START},
            headers={"x-amz-access-token": api.token},
            timeout=0.2,
        )


def test_close_wakes_slow_replies() -> None:
    srv = FakeSpApi(orders=5, seed=1, speed=None).start()
    api = Api(srv)
    srv.faults.set(Fault.SLOW, delay=30)
    done = threading.Event()

    def call() -> None:
        with contextlib.suppress(httpx.HTTPError):
            api.search(createdAfter=START)
        done.set()

    threading.Thread(target=call, daemon=True).start()
    deadline = time.monotonic() + 5
    while not srv.faults.fired(Fault.SLOW) and time.monotonic() < deadline:
        time.sleep(0.01)  # the server exposes no event for "request arrived"
    assert not done.is_set()
    srv.close()
    assert done.wait(5)
    api.http.close()


def test_malformed_json(api: Api) -> None:
    api.srv.faults.set(Fault.MALFORMED_JSON, count=1)
    reply = api.get(order_path(api))
    assert reply.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        reply.json()
    assert api.get(order_path(api)).json()["order"]


def test_truncated_json(api: Api) -> None:
    api.srv.faults.set(Fault.TRUNCATED_JSON, count=1)
    reply = api.search(createdAfter=START)
    assert reply.status_code == 200 and reply.text.startswith('{"orders":[')
    with pytest.raises(json.JSONDecodeError):
        reply.json()


def test_disconnect_mid_body(api: Api) -> None:
    api.srv.faults.set(Fault.DISCONNECT, count=1)
    with pytest.raises(httpx.RemoteProtocolError):
        api.search(createdAfter=START)
    assert api.search(createdAfter=START).status_code == 200  # client reconnects


def test_missing_role_for_one_operation(api: Api) -> None:
    api.srv.faults.set(Fault.MISSING_ROLE, operation=SEARCH_ORDERS)
    reply = api.search(createdAfter=START)
    assert reply.status_code == 403
    assert reply.json()["errors"][0] == {
        "code": "Unauthorized",
        "message": "Access to requested resource is denied.",
        "details": "",
    }
    assert api.get(order_path(api)).status_code == 200
    api.srv.faults.clear()
    assert api.search(createdAfter=START).status_code == 200


def test_expired_token_fault(api: Api) -> None:
    api.srv.faults.set(Fault.EXPIRED_TOKEN, count=1)
    stale = api.get_token().json()
    assert stale["expires_in"] == 3600  # LWA does not say it is stale
    reply = api.search(token=stale["access_token"], createdAfter=START)
    assert reply.status_code == 403 and "expired" in reply.json()["errors"][0]["details"]
    fresh = api.get_token().json()["access_token"]
    assert api.search(token=fresh, createdAfter=START).status_code == 200


def test_invalid_client_fault(api: Api) -> None:
    api.srv.faults.set(Fault.INVALID_CLIENT, count=1)
    reply = api.get_token()
    assert reply.status_code == 401
    assert reply.json() == {
        "error_description": "Client authentication failed",
        "error": "invalid_client",
    }
    assert api.get_token().status_code == 200


def test_invalid_grant_fault_until_cleared(api: Api) -> None:
    api.srv.faults.set(Fault.INVALID_GRANT)
    assert [api.get_token().status_code for _ in range(3)] == [400] * 3
    assert api.get_token().json()["error"] == "invalid_grant"
    api.srv.faults.clear(Fault.INVALID_GRANT)
    assert api.get_token().status_code == 200
