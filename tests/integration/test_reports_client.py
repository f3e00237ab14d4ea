"""The real Reports client (python-amazon-sp-api's ReportsV2 through the shared factory,
and our own download) over HTTP against the fake SP-API: create, poll, document,
download (plain and gzip, each charset), FATAL, CANCELLED, a download cut short, an
expired URL, throttling."""

from __future__ import annotations

import gzip
import json
import logging
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from app.amazon.models import Credentials, Region, Store
from app.amazon.spapi import ThrottledError, clear_token_cache
from app.amazon.spapi.reports import (
    CREATE_REPORT,
    GET_REPORT_DOCUMENT,
    DocumentDownloadFailed,
    DocumentUrlExpired,
    DownloadCutShort,
    ProcessingStatus,
    ReportDocument,
    ReportNotFound,
    ReportsApi,
    SpApiReportsClient,
    real_client_factory,
)
from app.clock import FakeClock
from app.demo import FakeSpApi, Fault
from app.demo.fake_spapi_faults import DOWNLOAD_REPORT
from app.errors import AmazonBadResponse, NetworkDown
from tests.helpers.fake_spapi import fake_store

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
US, DE, JP, BR = "ATVPDKIKX0DER", "A1PA6795UKMFR9", "A1VC38T7YXB528", "A2Q3Y263D00KWC"
CODECS = {"UTF-8": "utf-8", "Cp1252": "cp1252", "Shift_JIS": "cp932"}


@pytest.fixture(autouse=True)
def _fresh_token_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("SP_API_DEFAULT_MARKETPLACE", raising=False)
    clear_token_cache()
    yield
    clear_token_cache()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def srv(clock: FakeClock) -> Iterator[FakeSpApi]:
    with FakeSpApi(orders=2000, seed=6, speed=1.0, clock=clock, report_delay=(90, 90)) as server:
        yield server


def store_for(srv: FakeSpApi, marketplace_id: str) -> tuple[Store, Credentials]:
    if marketplace_id in (JP, BR):  # marketplaces the seeded orders do not use
        region = Region.FE if marketplace_id == JP else Region.NA
        store, credentials = fake_store(srv, US)
        return replace(store, region=region, marketplace_ids=(marketplace_id,)), credentials
    return fake_store(srv, marketplace_id)


@pytest.fixture
def client(srv: FakeSpApi) -> Iterator[SpApiReportsClient]:
    store, credentials = store_for(srv, US)
    api = SpApiReportsClient(store, credentials, timeout=5)
    yield api
    api.close()


def done_document(
    client: ReportsApi, clock: FakeClock, marketplace: str = US, days: float = 3
) -> ReportDocument:
    report_id, _ = client.create_report([marketplace], NOW - timedelta(days=days), NOW)
    clock.advance(90)
    report = client.get_report(report_id)
    assert report.status is ProcessingStatus.DONE
    assert report.document_id is not None
    return client.get_report_document(report.document_id)


def read_all(client: ReportsApi, document: ReportDocument) -> tuple[str, bytes]:
    with client.open_document(document) as stream:
        return stream.charset, b"".join(stream.chunks)


def test_create_poll_done_document_and_download(
    client: SpApiReportsClient, srv: FakeSpApi, clock: FakeClock
) -> None:
    start, end = NOW - timedelta(days=3), NOW
    report_id, rate = client.create_report([US], start, end)
    assert rate == 0.0167
    first = client.get_report(report_id)
    assert first.status is ProcessingStatus.IN_QUEUE
    assert first.document_id is None
    assert (first.data_start, first.data_end) == (start, end)
    assert first.rate_limit == 2.0
    clock.advance(30)
    assert client.get_report(report_id).status is ProcessingStatus.IN_PROGRESS
    clock.advance(60)
    done = client.get_report(report_id)
    assert done.status is ProcessingStatus.DONE
    assert done.document_id is not None
    document = client.get_report_document(done.document_id)
    assert document.compression is None
    assert document.rate_limit == 0.0167
    assert document.url not in repr(document)
    charset, body = read_all(client, document)
    assert charset == "UTF-8"
    text = body.decode("utf-8")
    assert text.startswith("amazon-order-id\tmerchant-order-id\tpurchase-date\t")
    ids = {line.split("\t")[0] for line in text.splitlines()[1:]}
    created = {
        oid
        for oid in srv.order_ids()
        if (rec := srv.store.get(oid)) is not None
        and rec.mkt.marketplace_id == US
        and start.timestamp() <= rec.created <= end.timestamp()
    }
    assert ids == created
    assert srv.request_count(DOWNLOAD_REPORT) == 1


def test_a_large_document_comes_gzip_compressed_as_downloaded(
    client: SpApiReportsClient, clock: FakeClock
) -> None:
    document = done_document(client, clock, US, days=30)
    assert document.compression == "GZIP"
    charset, body = read_all(client, document)
    text = gzip.decompress(body).decode(charset)
    assert text.count("\n") > 300


@pytest.mark.parametrize(
    ("marketplace", "charset", "sample"),
    [
        (US, "UTF-8", "Amazon.com"),
        (DE, "Cp1252", "für Küche, Büro & Reise (Größe M)"),
        (JP, "Shift_JIS", "【国内正規品】"),
        (BR, "UTF-8", "edição nacional, proteção extra"),
    ],
)
def test_each_marketplace_charset_comes_as_amazon_names_it(
    srv: FakeSpApi, clock: FakeClock, marketplace: str, charset: str, sample: str
) -> None:
    if marketplace != US:
        srv.add_localized_orders(marketplace, 3)
    store, credentials = store_for(srv, marketplace)
    client = real_client_factory(timeout=5)(store, credentials)
    try:
        document = done_document(client, clock, marketplace, days=1)
        with client.open_document(document) as stream:
            assert stream.charset == charset
            body = b"".join(stream.chunks)
    finally:
        client.close()
    text = body.decode(CODECS[charset])
    assert sample in text


def test_a_fatal_report_points_at_amazons_error_document(
    client: SpApiReportsClient, clock: FakeClock
) -> None:
    report_id, _ = client.create_report([US], NOW - timedelta(days=31), NOW)
    clock.advance(90)
    report = client.get_report(report_id)
    assert report.status is ProcessingStatus.FATAL
    assert report.document_id is not None
    charset, body = read_all(client, client.get_report_document(report.document_id))
    assert "exceeds 30 days" in json.loads(body.decode(charset))["errorDetails"]


def test_the_fatal_fault_and_the_cancelled_report(
    client: SpApiReportsClient, srv: FakeSpApi, clock: FakeClock
) -> None:
    srv.faults.set(Fault.REPORT_FATAL, count=1)
    fatal_id, _ = client.create_report([US], NOW - timedelta(days=2), NOW)
    empty_id, _ = client.create_report([US], NOW - timedelta(days=400), NOW - timedelta(days=390))
    clock.advance(90)
    assert client.get_report(fatal_id).status is ProcessingStatus.FATAL
    cancelled = client.get_report(empty_id)
    assert cancelled.status is ProcessingStatus.CANCELLED
    assert cancelled.document_id is None


def test_a_download_cut_short_is_download_cut_short(
    client: SpApiReportsClient, srv: FakeSpApi, clock: FakeClock
) -> None:
    document = done_document(client, clock, US, days=30)
    srv.faults.set(Fault.TRUNCATED_DOCUMENT, count=1)
    with pytest.raises(DownloadCutShort) as caught, client.open_document(document) as stream:
        b"".join(stream.chunks)
    assert document.document_id in str(caught.value.detail)
    _, body = read_all(client, document)  # the URL still serves the whole
    assert gzip.decompress(body)


def test_an_expired_url_is_document_url_expired_and_a_new_one_works(
    client: SpApiReportsClient, srv: FakeSpApi, clock: FakeClock
) -> None:
    document = done_document(client, clock)
    clock.advance(301)
    with pytest.raises(DocumentUrlExpired) as caught, client.open_document(document):
        pass
    assert caught.value.detail is not None
    assert document.url not in caught.value.detail
    srv.faults.set(Fault.EXPIRED_DOCUMENT_URL, count=1)
    born_expired = client.get_report_document(document.document_id)
    with pytest.raises(DocumentUrlExpired), client.open_document(born_expired):
        pass
    fresh = client.get_report_document(document.document_id)
    _, body = read_all(client, fresh)
    assert body.startswith(b"amazon-order-id\t")


def test_another_refusal_of_the_url_is_a_download_failure(
    client: SpApiReportsClient, clock: FakeClock
) -> None:
    document = done_document(client, clock)
    forged = replace(document, url=document.url[:-4] + "0000")
    with pytest.raises(DocumentDownloadFailed), client.open_document(forged):
        pass
    gone = replace(document, url=document.url.replace("/report-documents/", "/report-documents/x"))
    with pytest.raises(DocumentDownloadFailed), client.open_document(gone):
        pass


def test_a_document_url_off_this_computer_over_plain_http_is_refused(
    client: SpApiReportsClient, clock: FakeClock
) -> None:
    document = done_document(client, clock)
    remote = replace(document, url="http://example.com/report-documents/abc?X-Amz-Signature=1")
    with pytest.raises(AmazonBadResponse), client.open_document(remote):
        pass


def test_throttling_is_throttled_error_with_the_rate(
    client: SpApiReportsClient, srv: FakeSpApi, clock: FakeClock
) -> None:
    srv.faults.set(Fault.THROTTLE, count=1, operation=CREATE_REPORT)
    with pytest.raises(ThrottledError) as caught:
        client.create_report([US], NOW - timedelta(days=1), NOW)
    assert caught.value.rate_limit == 0.0167
    document = done_document(client, clock)
    srv.drain(GET_REPORT_DOCUMENT)
    with pytest.raises(ThrottledError) as again:
        client.get_report_document(document.document_id)
    assert again.value.rate_limit == 0.0167


def test_an_unknown_report_is_report_not_found(client: SpApiReportsClient) -> None:
    with pytest.raises(ReportNotFound):
        client.get_report("123")
    with pytest.raises(ReportNotFound):
        client.get_report_document("amzn1.spdoc.1.4.na.nothing")


def test_no_log_line_of_ours_holds_the_url_or_the_document(
    client: SpApiReportsClient, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="muttefik")
    document = done_document(client, clock)
    _, body = read_all(client, document)
    clock.advance(301)
    with pytest.raises(DocumentUrlExpired), client.open_document(document):
        pass
    signature = document.url.rsplit("=", 1)[1]
    first_row = body.split(b"\n")[1].decode()
    for record in caplog.records:
        if record.name.startswith("muttefik"):
            message = record.getMessage()
            assert signature not in message
            assert first_row.split("\t")[23] not in message  # ship-city marker


def test_a_document_host_that_does_not_answer_is_network_down(
    client: SpApiReportsClient, clock: FakeClock
) -> None:
    document = done_document(client, clock)
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    parts = urlsplit(document.url)
    dead = replace(document, url=parts._replace(netloc=f"127.0.0.1:{port}").geturl())
    with pytest.raises(NetworkDown), client.open_document(dead):
        pass
