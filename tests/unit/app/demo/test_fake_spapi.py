"""The fake SP-API server over real HTTP (httpx), without python-amazon-sp-api."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.clock import FakeClock
from app.demo import GET_ORDER, SEARCH_ORDERS, FakeSpApi
from app.demo.fake_spapi_faults import TokenBucket
from tests.helpers.fake_spapi import SEARCH, START, Api

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def srv(clock: FakeClock) -> Iterator[FakeSpApi]:
    with FakeSpApi(orders=300, seed=11, speed=1000, clock=clock) as server:
        yield server


@pytest.fixture
def api(srv: FakeSpApi) -> Iterator[Api]:
    client = Api(srv)
    yield client
    client.http.close()


def errors(reply: httpx.Response) -> list[dict[str, str]]:
    body: list[dict[str, str]] = reply.json()["errors"]
    return body


# --- searchOrders / getOrder --------------------------------------------------------


def test_pagination_returns_every_order_exactly_once_in_ascending_order(api: Api) -> None:
    orders, pages = api.walk(createdAfter=START, maxResultsPerPage=37)
    ids = [o["orderId"] for o in orders]
    assert len(ids) == len(set(ids)) == 300
    assert set(ids) == set(api.srv.order_ids())
    assert pages == 9  # ceil(300 / 37)
    keys = [(o["createdTime"], o["orderId"]) for o in orders]
    assert keys == sorted(keys)


def test_default_page_is_100_and_echoes_upper_bound(api: Api) -> None:
    body = api.search(createdAfter=START).json()
    assert len(body["orders"]) == 100
    assert body["createdBefore"] == "2026-11-01T11:58:00Z"  # now minus two minutes
    assert "lastUpdatedBefore" not in body


def test_last_updated_after_filters_and_sorts_by_update_time(api: Api) -> None:
    since = "2026-10-15T00:00:00Z"
    orders, _ = api.walk(lastUpdatedAfter=since)
    cutoff = int(datetime(2026, 10, 15, tzinfo=UTC).timestamp())
    records = [api.srv.store.get(oid) for oid in api.srv.order_ids()]
    expected = {rec.order_id for rec in records if rec and rec.updated >= cutoff}
    assert 0 < len(expected) < 300
    assert {o["orderId"] for o in orders} == expected
    stamps = [o["lastUpdatedTime"] for o in orders]
    assert stamps == sorted(stamps) and stamps[0] >= since


def test_filters_marketplace_status_and_channel(api: Api) -> None:
    orders, _ = api.walk(
        createdAfter=START,
        marketplaceIds="A1PA6795UKMFR9,A1F83G8C2ARO7P",
        fulfillmentStatuses="SHIPPED",
        fulfilledBy="MERCHANT",
        includedData="FULFILLMENT",
    )
    assert orders
    for o in orders:
        assert o["salesChannel"]["marketplaceId"] in ("A1PA6795UKMFR9", "A1F83G8C2ARO7P")
        assert o["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
        assert o["fulfillment"]["fulfilledBy"] == "MERCHANT"


def test_repeated_keys_work_like_commas(api: Api) -> None:
    a = api.search(createdAfter=START, marketplaceIds="ATVPDKIKX0DER,A2EUQ1WTGCTBG2").json()
    b = api.search(createdAfter=START, marketplaceIds=["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"]).json()
    assert a["orders"] == b["orders"]


def test_pagination_is_stable_while_orders_change(api: Api, clock: FakeClock) -> None:
    srv = api.srv
    first = api.search(lastUpdatedAfter=START, maxResultsPerPage=50).json()
    seen = [o["orderId"] for o in first["orders"]]
    bound = first["lastUpdatedBefore"]
    unseen = [oid for oid in srv.order_ids() if oid not in seen]
    clock.advance(10)
    srv.update_order(seen[0], fulfillment_status="CANCELLED")  # already returned
    srv.update_order(unseen[0], package_status="DELIVERED")  # not returned yet
    token = first["pagination"]["nextToken"]
    while token:
        body = api.search(lastUpdatedAfter=START, paginationToken=token, maxResultsPerPage=50)
        seen += [o["orderId"] for o in body.json()["orders"]]
        token = body.json().get("pagination", {}).get("nextToken")
    assert len(seen) == len(set(seen))  # nothing repeated
    assert set(seen) == set(srv.order_ids()) - {unseen[0]}  # only the moved one is left
    clock.advance(180)  # past the two-minute settle window
    later, _ = api.walk(lastUpdatedAfter=bound, includedData="PACKAGES,FULFILLMENT")
    assert {o["orderId"] for o in later} == {seen[0], unseen[0]}


def test_update_bumps_last_updated_time(api: Api, clock: FakeClock) -> None:
    order_id = api.srv.order_ids()[0]
    clock.advance(5)
    new = api.srv.update_order(order_id, fulfillment_status="SHIPPED")
    assert new == clock.now()
    order = api.get(f"{SEARCH}/{order_id}", includedData="FULFILLMENT").json()["order"]
    assert order["lastUpdatedTime"] == "2026-11-01T12:00:05Z"
    assert order["fulfillment"]["fulfillmentStatus"] == "SHIPPED"


def test_removed_order_is_gone(api: Api) -> None:
    order_id = api.srv.order_ids()[3]
    assert api.get(f"{SEARCH}/{order_id}").status_code == 200
    api.srv.remove_order(order_id)
    reply = api.get(f"{SEARCH}/{order_id}")
    assert reply.status_code == 404 and errors(reply)[0]["code"] == "NotFound"
    orders, _ = api.walk(createdAfter=START)
    assert order_id not in {o["orderId"] for o in orders} and len(orders) == 299


def test_added_orders_appear_after_settle_window(api: Api, clock: FakeClock) -> None:
    added = api.srv.add_orders(4)
    assert len(api.walk(createdAfter=START)[0]) == 300  # too new for Amazon to return
    clock.advance(121)
    orders, _ = api.walk(createdAfter=START)
    assert set(added) <= {o["orderId"] for o in orders}


def test_included_data_is_honoured_and_recorded(api: Api) -> None:
    plain = api.search(createdAfter=START, maxResultsPerPage=20).json()["orders"]
    assert not any({"buyer", "recipient", "fulfillment", "packages"} & set(o) for o in plain)
    rich = api.search(
        createdAfter=START, maxResultsPerPage=20, includedData="FULFILLMENT,PACKAGES,PROCEEDS"
    ).json()["orders"]
    assert all("fulfillment" in o for o in rich)
    assert not any("buyer" in o or "recipient" in o for o in rich)
    order_id = plain[0]["orderId"]
    got = api.get(f"{SEARCH}/{order_id}", includedData="BUYER,RECIPIENT").json()["order"]
    assert "buyer" in got and "recipient" in got and "fulfillment" not in got
    asked = [(r.operation, r.included_data) for r in api.srv.requests if r.operation != "lwaToken"]
    assert asked == [
        (SEARCH_ORDERS, frozenset()),
        (SEARCH_ORDERS, frozenset({"FULFILLMENT", "PACKAGES", "PROCEEDS"})),
        (GET_ORDER, frozenset({"BUYER", "RECIPIENT"})),
    ]


@pytest.mark.parametrize(
    "params",
    [
        {},  # neither createdAfter nor lastUpdatedAfter
        {"createdAfter": START, "lastUpdatedAfter": START},
        {"createdAfter": START, "lastUpdatedBefore": "2026-02-01T00:00:00Z"},
        {"createdAfter": "yesterday"},
        {"createdAfter": START, "createdBefore": "2025-01-01T00:00:00Z"},
        {"createdAfter": START, "createdBefore": "2026-11-01T11:59:00Z"},  # < 2 min ago
        {"createdAfter": START, "maxResultsPerPage": "0"},
        {"createdAfter": START, "maxResultsPerPage": "101"},
        {"createdAfter": START, "maxResultsPerPage": "ten"},
        {"createdAfter": START, "includedData": "BUYER,EVERYTHING"},
        {"createdAfter": START, "fulfillmentStatuses": "DELIVERED"},
        {"createdAfter": START, "paginationToken": "not-a-token"},
    ],
)
def test_invalid_search_input_is_400(api: Api, params: dict[str, str]) -> None:
    reply = api.search(**params)
    assert reply.status_code == 400
    assert errors(reply)[0]["code"] == "InvalidInput"
    assert reply.headers["x-amzn-RateLimit-Limit"]


def test_token_must_come_with_the_same_filters(api: Api) -> None:
    token = api.search(createdAfter=START).json()["pagination"]["nextToken"]
    assert api.search(createdAfter=START, paginationToken=token).status_code == 200
    assert api.search(createdAfter=START, paginationToken=token, maxResultsPerPage=5).is_success
    other = api.search(createdAfter="2026-02-01T00:00:00Z", paginationToken=token)
    assert other.status_code == 400
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert api.search(createdAfter=START, paginationToken=tampered).status_code == 400


def test_pagination_token_expires_after_24_hours(api: Api, clock: FakeClock) -> None:
    token = api.search(createdAfter=START).json()["pagination"]["nextToken"]
    clock.advance(24 * 3600 + 1)
    api.token = api.get_token().json()["access_token"]  # the access token expired too
    reply = api.search(createdAfter=START, paginationToken=token)
    assert reply.status_code == 400 and "expired" in errors(reply)[0]["message"]


def test_get_order_errors(api: Api) -> None:
    assert api.get(f"{SEARCH}/111-0000000-0000000").status_code == 404
    assert api.get(f"{SEARCH}/not-an-order").status_code == 400
    order_id = api.srv.order_ids()[0]
    bad = api.get(f"{SEARCH}/{order_id}", includedData="NOPE")
    assert bad.status_code == 400 and errors(bad)[0]["code"] == "InvalidInput"


# --- LWA and access tokens ---------------------------------------------------------------


def test_lwa_token_shape(api: Api) -> None:
    body = api.get_token().json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["refresh_token"] == api.srv.refresh_token and body["access_token"]


def test_lwa_rejects_wrong_client_and_unknown_refresh_token(api: Api) -> None:
    wrong = api.get_token(client_secret="nope")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert "error_description" in wrong.json()
    unknown = api.get_token(refresh_token="Atzr|unknown")
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_grant"
    assert api.get_token(grant_type="password").json()["error"] == "unsupported_grant_type"
    assert api.get_token(client_id="").json()["error"] == "invalid_request"


def test_revoked_refresh_token_gets_invalid_grant(api: Api) -> None:
    api.srv.revoke_refresh_token()
    assert api.get_token().json()["error"] == "invalid_grant"


def test_lwa_log_has_no_secrets(api: Api) -> None:
    record = next(r for r in api.srv.requests if r.operation == "lwaToken")
    assert record.query["client_secret"] == ["***"] and record.query["refresh_token"] == ["***"]


@pytest.mark.parametrize("token", ["", "Atza|made-up"])
def test_api_needs_an_issued_token(api: Api, token: str) -> None:
    reply = api.search(token=token, createdAfter=START)
    assert reply.status_code == 403 and errors(reply)[0]["code"] == "Unauthorized"


def test_access_token_expires_after_an_hour(api: Api, clock: FakeClock) -> None:
    assert api.search(createdAfter=START).status_code == 200
    clock.advance(3601)
    reply = api.search(createdAfter=START)
    assert reply.status_code == 403 and "expired" in errors(reply)[0]["details"]


def test_expire_tokens(api: Api) -> None:
    api.srv.expire_tokens()
    assert api.search(createdAfter=START).status_code == 403


# --- rate limits ----------------------------------------------------------------


def test_search_burst_then_429_then_refill(api: Api, clock: FakeClock) -> None:
    codes = [api.search(createdAfter=START, maxResultsPerPage=1).status_code for _ in range(21)]
    assert codes == [200] * 20 + [429]
    throttled = api.search(createdAfter=START)
    assert throttled.status_code == 429
    assert throttled.json() == {
        "errors": [
            {
                "code": "QuotaExceeded",
                "message": "You exceeded your quota for the requested resource.",
                "details": "",
            }
        ]
    }
    assert throttled.headers["x-amzn-RateLimit-Limit"] == "5.6"  # 0.0056/s x speed 1000
    clock.advance(1 / 5.6)
    assert api.search(createdAfter=START).status_code == 200
    assert api.search(createdAfter=START).status_code == 429
    assert api.srv.throttled_count(SEARCH_ORDERS) == 3
    assert api.srv.request_count(SEARCH_ORDERS) == 24


def test_get_order_has_its_own_bucket_of_30(api: Api) -> None:
    api.srv.drain(SEARCH_ORDERS)
    order_id = api.srv.order_ids()[0]
    codes = [api.get(f"{SEARCH}/{order_id}").status_code for _ in range(31)]
    assert codes == [200] * 30 + [429]
    assert api.search(createdAfter=START).status_code == 429


def test_speed_none_means_unlimited(clock: FakeClock) -> None:
    with FakeSpApi(orders=20, seed=1, speed=None, clock=clock) as srv:
        api = Api(srv)
        replies = [api.search(createdAfter=START) for _ in range(40)]
        assert {r.status_code for r in replies} == {200}
        # a client adopting the live rate must not slow itself to Amazon's pace
        assert {r.headers["x-amzn-RateLimit-Limit"] for r in replies} == {"1000"}
        api.http.close()


def test_token_bucket_refills_at_rate_up_to_burst(clock: FakeClock) -> None:
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    assert [bucket.try_acquire() for _ in range(4)] == [True, True, True, False]
    clock.advance(0.5)
    assert bucket.try_acquire() and not bucket.try_acquire()
    clock.advance(100)
    assert [bucket.try_acquire() for _ in range(4)] == [True, True, True, False]


def test_server_starts_fast_and_reports_port() -> None:
    started = datetime.now(UTC)
    with FakeSpApi(orders=2000, seed=1) as srv:
        assert srv.base_url.startswith("http://127.0.0.1:") and srv.port > 0
        assert srv.lwa_url == srv.base_url + "/auth/o2/token"
    assert datetime.now(UTC) - started < timedelta(seconds=0.5)
