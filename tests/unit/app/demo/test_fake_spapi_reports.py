"""The fake SP-API's Reports API over real HTTP: processing states on the server's
clock, ranges, the TSV (columns, values agreeing with searchOrders, markers,
charsets, line ends, gzip), the document URL's expiry and the faults."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.clock import FakeClock
from app.demo import FakeSpApi, Fault
from app.demo.fake_spapi_faults import (
    CREATE_REPORT,
    DOWNLOAD_REPORT,
    GET_REPORT,
    GET_REPORT_DOCUMENT,
)
from app.demo.fake_spapi_reports import (
    BY_ORDER_DATE,
    COLUMNS,
    EXTRA_COLUMNS,
    GZIP_OVER,
    PII_COLUMNS,
)
from tests.helpers.fake_spapi import Api

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
REPORTS = "/reports/2021-06-30/reports"
DOCUMENTS = "/reports/2021-06-30/documents"
US, DE, JP, BR = "ATVPDKIKX0DER", "A1PA6795UKMFR9", "A1VC38T7YXB528", "A2Q3Y263D00KWC"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def api(clock: FakeClock) -> Iterator[Api]:
    with FakeSpApi(orders=2000, seed=4, speed=1.0, clock=clock, report_delay=(100, 100)) as srv:
        client = Api(srv)
        yield client
        client.http.close()


def create(api: Api, marketplace: str = US, days: float = 7, end: datetime = NOW) -> str:
    reply = api.post(
        REPORTS,
        {
            "reportType": BY_ORDER_DATE,
            "marketplaceIds": [marketplace],
            "dataStartTime": (end - timedelta(days=days)).isoformat(),
            "dataEndTime": end.isoformat(),
        },
    )
    assert reply.status_code == 202, reply.text
    speed = api.srv.rate_limiter.speed or 1.0
    assert float(reply.headers["x-amzn-RateLimit-Limit"]) == pytest.approx(0.0167 * speed)
    report_id: str = reply.json()["reportId"]
    return report_id


def finished(api: Api, clock: FakeClock, report_id: str) -> dict[str, Any]:
    clock.advance(100)
    reply = api.get(f"{REPORTS}/{report_id}")
    assert reply.status_code == 200, reply.text
    report: dict[str, Any] = reply.json()
    return report


def document(api: Api, document_id: str) -> dict[str, Any]:
    reply = api.get(f"{DOCUMENTS}/{document_id}")
    assert reply.status_code == 200, reply.text
    speed = api.srv.rate_limiter.speed or 1.0
    assert float(reply.headers["x-amzn-RateLimit-Limit"]) == pytest.approx(0.0167 * speed)
    doc: dict[str, Any] = reply.json()
    return doc


def download(api: Api, url: str) -> httpx.Response:
    return api.http.get(url)  # a pre-signed URL: no access token


def text_of(doc: dict[str, Any], reply: httpx.Response, codec: str) -> str:
    body = reply.content
    if doc.get("compressionAlgorithm") == "GZIP":
        body = gzip.decompress(body)
    return body.decode(codec)


def fetch(api: Api, clock: FakeClock, marketplace: str = US, days: float = 7) -> tuple[str, str]:
    """(the document's text, its Content-Type) for a finished report."""
    report = finished(api, clock, create(api, marketplace, days))
    assert report["processingStatus"] == "DONE"
    doc = document(api, report["reportDocumentId"])
    reply = download(api, doc["url"])
    assert reply.status_code == 200
    content_type = reply.headers["content-type"]
    codec = {"UTF-8": "utf-8", "Cp1252": "cp1252", "Shift_JIS": "cp932"}[
        content_type.split("charset=")[1]
    ]
    return text_of(doc, reply, codec), content_type


def rows(text: str) -> list[dict[str, str]]:
    lines = text.splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


def test_a_report_moves_from_queue_to_progress_to_done_on_the_servers_clock(
    api: Api, clock: FakeClock
) -> None:
    report_id = create(api)
    states = []
    for step in (0, 30, 50, 20):
        clock.advance(step)
        reply = api.get(f"{REPORTS}/{report_id}")
        assert reply.headers["x-amzn-RateLimit-Limit"] == "2"
        states.append(reply.json()["processingStatus"])
    assert states == ["IN_QUEUE", "IN_PROGRESS", "IN_PROGRESS", "DONE"]
    done = reply.json()
    assert done["reportType"] == BY_ORDER_DATE
    assert done["marketplaceIds"] == [US]
    assert done["reportDocumentId"].startswith("amzn1.spdoc.1.4.na.")
    assert done["processingEndTime"] == "2026-11-01T12:01:40+00:00"


def test_the_processing_delay_is_drawn_per_report_and_divided_by_speed(
    clock: FakeClock,
) -> None:
    delays = []
    for speed in (1.0, 10.0):
        with FakeSpApi(orders=50, seed=2, speed=speed, clock=FakeClock(NOW)) as srv:
            api = Api(srv)
            for _ in range(3):
                report_id = create(api, days=1)
                delays.append(srv.reports._reports[report_id].delay)
            api.http.close()
    slow, fast = delays[:3], delays[3:]
    assert all(60 <= d <= 180 for d in slow)
    assert len(set(slow)) == 3  # each report its own
    assert fast == pytest.approx([d / 10 for d in slow])  # same draws per seed


def test_a_range_over_30_days_ends_fatal_with_an_error_document(api: Api, clock: FakeClock) -> None:
    report = finished(api, clock, create(api, days=31))
    assert report["processingStatus"] == "FATAL"
    doc = document(api, report["reportDocumentId"])
    assert "compressionAlgorithm" not in doc
    reply = download(api, doc["url"])
    assert "exceeds 30 days" in json.loads(reply.content)["errorDetails"]


def test_exactly_30_days_is_accepted(api: Api, clock: FakeClock) -> None:
    assert finished(api, clock, create(api, days=30))["processingStatus"] == "DONE"


def test_a_range_without_orders_is_cancelled_without_a_document(api: Api, clock: FakeClock) -> None:
    report = finished(api, clock, create(api, days=10, end=NOW - timedelta(days=300)))
    assert report["processingStatus"] == "CANCELLED"
    assert "reportDocumentId" not in report


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"reportType": "GET_NOTHING", "marketplaceIds": [US]}, "reportType"),
        ({"reportType": BY_ORDER_DATE}, "marketplaceIds"),
        ({"reportType": BY_ORDER_DATE, "marketplaceIds": ["XX"]}, "marketplaceIds"),
        (
            {"reportType": BY_ORDER_DATE, "marketplaceIds": [US], "dataStartTime": "yesterday"},
            "ISO 8601",
        ),
        (
            {
                "reportType": BY_ORDER_DATE,
                "marketplaceIds": [US],
                "dataStartTime": "2026-10-20T00:00:00Z",
                "dataEndTime": "2026-10-10T00:00:00Z",
            },
            "precede",
        ),
    ],
)
def test_create_report_refuses_what_amazon_refuses(
    api: Api, body: dict[str, Any], detail: str
) -> None:
    reply = api.post(REPORTS, body)
    assert reply.status_code == 400
    error = reply.json()["errors"][0]
    assert error["code"] == "InvalidInput"
    assert detail in error["details"]


def test_the_reports_api_needs_an_access_token(api: Api) -> None:
    reply = api.post(REPORTS, {"reportType": BY_ORDER_DATE, "marketplaceIds": [US]}, token="x")
    assert reply.status_code == 403
    assert api.get(f"{REPORTS}/123", token="x").status_code == 403


def test_unknown_reports_and_documents_are_404(api: Api) -> None:
    assert api.get(f"{REPORTS}/999").status_code == 404
    assert api.get(f"{DOCUMENTS}/amzn1.spdoc.nothing").status_code == 404
    reply = api.http.get("/report-documents/nothing?X-Amz-Signature=x")
    assert reply.status_code == 404
    assert b"NoSuchKey" in reply.content


def test_the_tsv_has_amazons_columns_one_row_per_item_and_agrees_with_search_orders(
    api: Api, clock: FakeClock
) -> None:
    text, content_type = fetch(api, clock, US, days=7)
    assert content_type == "text/plain;charset=UTF-8"
    assert "\r\n" not in text
    assert text.splitlines()[0].split("\t") == [*COLUMNS, *EXTRA_COLUMNS]
    report_rows = rows(text)
    orders, _ = api.walk(
        createdAfter=(NOW - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        marketplaceIds=US,
        includedData="FULFILLMENT,PROCEEDS",
    )
    orders = [o for o in orders if o["createdTime"] <= "2026-11-01T12:00:00Z"]
    assert {r["amazon-order-id"] for r in report_rows} == {o["orderId"] for o in orders}
    assert len(report_rows) == sum(len(o["orderItems"]) for o in orders)
    by_id = {o["orderId"]: o for o in orders}
    for row in report_rows:
        order = by_id[row["amazon-order-id"]]
        item = next(i for i in order["orderItems"] if i["product"]["sellerSku"] == row["sku"])
        product = item["product"]
        assert row["asin"] == product["asin"]
        assert row["product-name"] == product["title"]
        assert int(row["quantity"]) == item["quantityOrdered"]
        assert row["sales-channel"] == "Amazon.com"
        assert row["currency"] == "USD"
        assert datetime.fromisoformat(row["purchase-date"]) == datetime.fromisoformat(
            order["createdTime"]
        )
        assert datetime.fromisoformat(row["last-updated-date"]) == datetime.fromisoformat(
            order["lastUpdatedTime"]
        )
        assert row["purchase-date"].endswith("+00:00")
        channel = order["fulfillment"]["fulfilledBy"]
        assert row["fulfillment-channel"] == {"AMAZON": "Amazon", "MERCHANT": "Merchant"}[channel]
        status = order["fulfillment"]["fulfillmentStatus"]
        if status == "CANCELLED":
            assert (row["order-status"], row["item-status"], row["item-price"]) == (
                "Cancelled",
                "Cancelled",
                "",
            )
        else:
            unit = product["price"]["unitPrice"]["amount"]
            line = round(float(unit) * item["quantityOrdered"], 2)
            assert float(row["item-price"]) == pytest.approx(line)
        if status == "SHIPPED":
            assert row["order-status"] in ("Shipped", "Shipping")
        business = "AMAZON_BUSINESS" in order.get("programs", ())
        assert row["is-business-order"] == ("true" if business else "false")


def test_every_row_carries_the_orders_markers_in_the_address_columns(
    api: Api, clock: FakeClock
) -> None:
    text, _ = fetch(api, clock, US, days=7)
    for row in rows(text):
        markers = api.srv.report_markers(row["amazon-order-id"])
        assert [row[c] for c in PII_COLUMNS if row[c]] == markers
        assert row["cpf"] == ""  # Brazil only
    assert text.count("MKCITY-") == len(rows(text))


def test_brazil_carries_a_cpf_marker_in_utf8(api: Api, clock: FakeClock) -> None:
    ids = api.srv.add_localized_orders(BR, 3)
    text, content_type = fetch(api, clock, BR, days=1)
    assert content_type == "text/plain;charset=UTF-8"
    found = rows(text)
    assert {r["amazon-order-id"] for r in found} == set(ids)
    for row in found:
        assert row["cpf"] == f"MKCPF-{row['amazon-order-id']}"
        assert row["cpf"] in api.srv.report_markers(row["amazon-order-id"])
        assert "edição nacional, proteção" in row["product-name"]
        assert row["sales-channel"] == "Amazon.com.br"


def test_eu_documents_are_cp1252_with_crlf_and_keep_their_accents(
    api: Api, clock: FakeClock
) -> None:
    ids = api.srv.add_localized_orders(DE, 4)
    text, content_type = fetch(api, clock, DE, days=1)
    assert content_type == "text/plain;charset=Cp1252"
    assert text.count("\r\n") == len(text.splitlines())
    local = [r for r in rows(text) if r["amazon-order-id"] in ids]
    assert local
    title = local[0]["product-name"]
    assert "– für Küche, Büro & Reise (Größe M)" in title
    # searchOrders serves the same title
    order_id = local[0]["amazon-order-id"]
    order = api.get(f"/orders/2026-01-01/orders/{order_id}").json()["order"]
    assert title in {i["product"]["title"] for i in order["orderItems"]}


def test_japanese_documents_are_windows_31j_named_shift_jis(api: Api, clock: FakeClock) -> None:
    api.srv.add_localized_orders(JP, 2)
    report = finished(api, clock, create(api, JP, days=1))
    doc = document(api, report["reportDocumentId"])
    assert ".fe." in doc["reportDocumentId"]
    reply = download(api, doc["url"])
    assert reply.headers["content-type"] == "text/plain;charset=Shift_JIS"
    text = reply.content.decode("cp932")
    assert "【国内正規品】" in text
    assert "～ギフト対応①" in text  # Windows-31J only: strict Shift_JIS cannot read it
    with pytest.raises(UnicodeDecodeError):
        reply.content.decode("shift_jis")


def test_large_documents_are_gzip_and_small_ones_plain(api: Api, clock: FakeClock) -> None:
    small = finished(api, clock, create(api, US, days=1))
    big = finished(api, clock, create(api, US, days=30))
    small_doc = document(api, small["reportDocumentId"])
    big_doc = document(api, big["reportDocumentId"])
    assert "compressionAlgorithm" not in small_doc
    assert big_doc["compressionAlgorithm"] == "GZIP"
    reply = download(api, big_doc["url"])
    assert "content-encoding" not in reply.headers  # the file is gzip, not the transfer
    assert len(gzip.decompress(reply.content)) > GZIP_OVER
    assert int(reply.headers["content-length"]) == len(reply.content)


def test_a_document_url_expires_after_five_minutes_and_a_new_one_can_be_asked(
    api: Api, clock: FakeClock
) -> None:
    report = finished(api, clock, create(api, days=2))
    doc = document(api, report["reportDocumentId"])
    clock.advance(299)
    assert download(api, doc["url"]).status_code == 200
    clock.advance(1)
    reply = download(api, doc["url"])
    assert reply.status_code == 403
    assert b"<Code>AccessDenied</Code><Message>Request has expired</Message>" in reply.content
    fresh = document(api, report["reportDocumentId"])
    assert fresh["url"] != doc["url"]
    assert download(api, fresh["url"]).status_code == 200
    assert api.srv.request_count(DOWNLOAD_REPORT) == 3


def test_a_wrong_signature_is_refused(api: Api, clock: FakeClock) -> None:
    report = finished(api, clock, create(api, days=2))
    url = document(api, report["reportDocumentId"])["url"]
    reply = download(api, url[:-4] + "0000")
    assert reply.status_code == 403
    assert b"SignatureDoesNotMatch" in reply.content


def test_faults_fatal_cancelled_expired_and_truncated(api: Api, clock: FakeClock) -> None:
    api.srv.faults.set(Fault.REPORT_FATAL, count=1)
    fatal = finished(api, clock, create(api, days=2))
    assert fatal["processingStatus"] == "FATAL"
    assert "reportDocumentId" in fatal
    api.srv.faults.set(Fault.REPORT_CANCELLED, count=1)
    assert finished(api, clock, create(api, days=2))["processingStatus"] == "CANCELLED"
    report = finished(api, clock, create(api, days=2))
    assert report["processingStatus"] == "DONE"

    api.srv.faults.set(Fault.EXPIRED_DOCUMENT_URL, count=1)
    born_expired = document(api, report["reportDocumentId"])
    assert download(api, born_expired["url"]).status_code == 403

    doc = document(api, report["reportDocumentId"])
    api.srv.faults.set(Fault.TRUNCATED_DOCUMENT, count=1)
    with pytest.raises(httpx.RemoteProtocolError):
        download(api, doc["url"])
    assert download(api, doc["url"]).status_code == 200  # the fault fired once


def test_the_report_operations_are_rate_limited_and_counted(api: Api, clock: FakeClock) -> None:
    report_id = create(api, days=1)
    api.srv.drain(GET_REPORT)
    reply = api.get(f"{REPORTS}/{report_id}")
    assert reply.status_code == 429
    assert reply.json()["errors"][0]["code"] == "QuotaExceeded"
    clock.advance(0.5)  # 2 per second
    assert api.get(f"{REPORTS}/{report_id}").status_code == 200
    api.srv.faults.set(Fault.THROTTLE, count=1, operation=CREATE_REPORT)
    assert api.post(REPORTS, {"reportType": BY_ORDER_DATE, "marketplaceIds": [US]}).status_code == (
        429
    )
    assert api.srv.request_count(CREATE_REPORT) == 2
    assert api.srv.request_count(GET_REPORT) == 2
    assert api.srv.throttled_count(GET_REPORT_DOCUMENT) == 0


@pytest.mark.parametrize(("speed", "lifetime"), [(10.0, 30.0), (2000.0, 10.0)])
def test_a_sped_up_url_lives_five_minutes_over_speed_but_at_least_ten_seconds(
    speed: float, lifetime: float
) -> None:
    clock = FakeClock(NOW)
    with FakeSpApi(orders=200, seed=4, speed=speed, clock=clock, report_delay=(100, 100)) as srv:
        api = Api(srv)
        report_id = create(api, days=20)
        clock.advance(100 / speed)
        report = api.get(f"{REPORTS}/{report_id}").json()
        url = document(api, report["reportDocumentId"])["url"]
        clock.advance(lifetime - 0.01)
        assert download(api, url).status_code == 200
        clock.advance(0.01)
        assert download(api, url).status_code == 403
        api.http.close()
