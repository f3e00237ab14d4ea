"""The Reports API 2021-06-30 (``ReportsV2``): its contract and its real client.

The order history backfill asks Amazon for the order report by purchase date
(:data:`REPORT_TYPE`) one range of at most :data:`MAX_RANGE` at a time: createReport,
getReport until the report is DONE, CANCELLED (also Amazon's answer for a range without
orders) or FATAL (its ``reportDocumentId``, when there is one, is Amazon's error
document), getReportDocument, then the download from the document's pre-signed URL.

The download is ours, not the library's (python-amazon-sp-api 2.1.35 does not check the
HTTP status and writes to files): one streaming GET through :func:`app.net.client`
(verified TLS, plain http only to loopback, no proxy for loopback, no redirects).
:meth:`SpApiReportsClient.open_document` hands the body over chunk by chunk, still
compressed when the document is GZIP, and never keeps, writes or logs it.  The URL is a
bearer credential for the document: it is never logged and kept out of ``repr``; the
document id may be logged.

Errors: those of every SP-API call (:func:`app.amazon.spapi.factory.call`: a 429 is
:class:`~app.amazon.spapi.ThrottledError` with the live rate, 5xx
:class:`~app.errors.AmazonServerError`, 403 refreshes the token once), and for the
download :class:`DocumentUrlExpired` (ask getReportDocument again),
:class:`DownloadCutShort` (the body ended early) and :class:`DocumentDownloadFailed`
(another HTTP status).  sp_api and httpx are imported only when a client is built.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from app.amazon.models import Credentials, Store
from app.amazon.spapi import DEFAULT_TIMEOUT, NotFoundAtAmazon, parse_time
from app.errors import AmazonBadResponse, AmazonError, UserError

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    import httpx
    from sp_api.api import ReportsV2

log = logging.getLogger("muttefik.sync")

REPORT_TYPE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
#: The longest range Amazon accepts for :data:`REPORT_TYPE`; a longer one ends FATAL.
MAX_RANGE = timedelta(days=30)
CREATE_REPORT, GET_REPORT, GET_REPORT_DOCUMENT = "createReport", "getReport", "getReportDocument"

#: Bytes of an error reply read to tell an expired URL from other refusals.
_ERROR_BODY_LIMIT = 16_384
_CHUNK = 65_536


class ProcessingStatus(StrEnum):
    IN_QUEUE = "IN_QUEUE"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    CANCELLED = "CANCELLED"
    FATAL = "FATAL"


@dataclass(frozen=True)
class Report:
    """A getReport answer.  ``document_id`` is the report's document when DONE, or
    Amazon's error document when FATAL (when Amazon made one)."""

    report_id: str
    status: ProcessingStatus
    document_id: str | None
    data_start: datetime | None
    data_end: datetime | None
    rate_limit: float | None


@dataclass(frozen=True)
class ReportDocument:
    """A getReportDocument answer.  ``url`` is valid for about five minutes and is a
    credential: never log it."""

    document_id: str
    url: str = field(repr=False)
    compression: str | None  # "GZIP" or None
    rate_limit: float | None


@dataclass
class DocumentStream:
    """What :meth:`ReportsApi.open_document` yields."""

    #: From the Content-Type header as Amazon wrote it ("UTF-8", "Cp1252",
    #: "Shift_JIS"...); "utf-8" when it names none.
    charset: str
    #: The body as downloaded, still compressed when the document is GZIP.
    chunks: Iterator[bytes]


class ReportNotFound(NotFoundAtAmazon):
    title = "Report not found"
    message = "Amazon does not know this report or its document (it may have expired)."


class ReportRequestRefused(AmazonError):
    title = "Amazon refused the report request"
    message = (
        "Amazon did not accept the request for an order report (its dates or marketplace). "
        "Müttefik Desk hit a problem it cannot fix by trying again."
    )


class DocumentUrlExpired(AmazonError):
    """The document's URL expired before or during the download: ask getReportDocument
    for a fresh one."""

    title = "Report download link expired"
    message = "Amazon's link to the order report expired. The app asks for a new one."


class DownloadCutShort(AmazonBadResponse):
    """The document's body ended before its Content-Length (or the connection broke
    mid-body): download it again."""

    title = "Report download interrupted"
    message = "The order report's download was cut short. The app downloads it again."


class DocumentDownloadFailed(AmazonBadResponse):
    """The document URL answered an HTTP error other than an expired link."""

    title = "Report download failed"
    message = "Amazon's storage did not hand over the order report. The app tries again."


class ReportsApi(Protocol):
    """What the history backfill needs from a Reports client (real one below; tests may
    fake it)."""

    def create_report(
        self, marketplace_ids: Sequence[str], start: datetime, end: datetime
    ) -> tuple[str, float | None]: ...

    def get_report(self, report_id: str) -> Report: ...

    def get_report_document(self, document_id: str) -> ReportDocument: ...

    def open_document(self, document: ReportDocument) -> AbstractContextManager[DocumentStream]: ...

    def close(self) -> None: ...


ReportsFactory = Callable[[Store, Credentials], ReportsApi]


def real_client_factory(timeout: float = DEFAULT_TIMEOUT) -> ReportsFactory:
    def build(store: Store, credentials: Credentials) -> ReportsApi:
        return SpApiReportsClient(store, credentials, timeout=timeout)

    return build


def _refused(status: int, code: str | None) -> UserError | None:
    """A 400 is Amazon saying no to what we asked: retrying the same cannot help."""
    if status == 400:
        return ReportRequestRefused(detail=f"SP-API 400 {code}")
    return None


def _amazon_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("report ranges need timezone-aware datetimes")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def charset_of(content_type: str | None) -> str:
    """The ``charset`` parameter of a Content-Type header as written ("Cp1252"),
    or "utf-8" when there is none."""
    for part in (content_type or "").split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"'):
            return value.strip().strip('"')
    return "utf-8"


class SpApiReportsClient:
    """``ReportsV2`` for one store, and the document download.  Not thread-safe: one
    per worker thread."""

    def __init__(
        self, store: Store, credentials: Credentials, *, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        from sp_api.api import ReportsV2

        from app.amazon.spapi import factory

        self._factory = factory
        self._timeout = timeout
        self._api: ReportsV2 = factory.build(ReportsV2, store, credentials, timeout=timeout)

    def create_report(
        self, marketplace_ids: Sequence[str], start: datetime, end: datetime
    ) -> tuple[str, float | None]:
        """Ask for the order report of purchases in ``[start, end]``; returns the report
        id and the live rate.  A range over :data:`MAX_RANGE` is accepted here and ends
        FATAL at Amazon."""
        if not marketplace_ids:
            raise ValueError("a report needs at least one marketplace")
        body = {
            "reportType": REPORT_TYPE,
            "marketplaceIds": list(marketplace_ids),
            "dataStartTime": _amazon_time(start),
            "dataEndTime": _amazon_time(end),
        }
        response = self._factory.call(
            self._api,
            lambda: self._api.create_report(**body),
            not_found=ReportNotFound,
            bad_request=_refused,
        )
        payload = response.payload
        report_id = payload.get("reportId") if isinstance(payload, dict) else None
        if not isinstance(report_id, str) or not report_id:
            raise AmazonBadResponse(detail="createReport reply without a reportId")
        return report_id, self._factory.rate_from(response.headers)

    def get_report(self, report_id: str) -> Report:
        response = self._factory.call(
            self._api,
            lambda: self._api.get_report(report_id),
            not_found=ReportNotFound,
            bad_request=_refused,
        )
        payload = response.payload
        if not isinstance(payload, dict):
            raise AmazonBadResponse(detail="getReport reply is not an object")
        try:
            status = ProcessingStatus(str(payload.get("processingStatus")))
        except ValueError:
            raise AmazonBadResponse(
                detail=f"getReport {report_id}: processingStatus "
                f"{str(payload.get('processingStatus'))[:40]!r}"
            ) from None
        document_id = payload.get("reportDocumentId")
        if status is ProcessingStatus.DONE and not isinstance(document_id, str):
            raise AmazonBadResponse(detail=f"getReport {report_id}: DONE without a document")
        return Report(
            report_id=str(payload.get("reportId") or report_id),
            status=status,
            document_id=document_id if isinstance(document_id, str) and document_id else None,
            data_start=parse_time(payload.get("dataStartTime")),
            data_end=parse_time(payload.get("dataEndTime")),
            rate_limit=self._factory.rate_from(response.headers),
        )

    def get_report_document(self, document_id: str) -> ReportDocument:
        response = self._factory.call(
            self._api,
            lambda: self._api.get_report_document(document_id),
            not_found=ReportNotFound,
            bad_request=_refused,
        )
        payload = response.payload
        url = payload.get("url") if isinstance(payload, dict) else None
        if not isinstance(url, str) or not url:
            raise AmazonBadResponse(detail=f"getReportDocument {document_id}: no url")
        compression = payload.get("compressionAlgorithm")
        if compression not in (None, "GZIP"):
            raise AmazonBadResponse(
                detail=f"getReportDocument {document_id}: compression {str(compression)[:20]!r}"
            )
        return ReportDocument(
            document_id=str(payload.get("reportDocumentId") or document_id),
            url=url,
            compression=compression,
            rate_limit=self._factory.rate_from(response.headers),
        )

    @contextmanager
    def open_document(self, document: ReportDocument) -> Iterator[DocumentStream]:
        """Stream the document's body (one GET of its URL).  Raises
        :class:`DocumentUrlExpired`, :class:`DocumentDownloadFailed`, the network errors
        of :func:`~app.amazon.spapi.factory.classify` here, and :class:`DownloadCutShort`
        from the chunks when the body ends early."""
        from app import net

        parts = urlsplit(document.url)
        try:
            net.check_url(document.url)
        except UserError as exc:
            raise AmazonBadResponse(
                detail=f"report document {document.document_id}: URL refused ({exc.detail})"
            ) from None
        client = net.client(base_url=f"{parts.scheme}://{parts.netloc}", timeout=self._timeout)
        try:
            try:
                response = client.send(client.build_request("GET", document.url), stream=True)
            except Exception as exc:
                raise self._factory.classify(exc) from None
            try:
                self._check_status(document, response)
                yield DocumentStream(
                    charset=charset_of(response.headers.get("content-type")),
                    chunks=self._chunks(document, response),
                )
            finally:
                response.close()
        finally:
            client.close()

    def _check_status(self, document: ReportDocument, response: httpx.Response) -> None:
        if response.status_code == 200:
            return
        head = b""
        try:
            for chunk in response.iter_raw(_CHUNK):
                head += chunk
                if len(head) >= _ERROR_BODY_LIMIT:
                    break
        except Exception:  # an error reply cut short says no more than its status
            log.debug("error reply of report document %s unreadable", document.document_id)
        status = response.status_code
        what = f"report document {document.document_id}: HTTP {status}"
        if status in (400, 403) and b"expired" in head.lower():
            raise DocumentUrlExpired(detail=f"{what}, URL expired")
        raise DocumentDownloadFailed(detail=what)

    def _chunks(self, document: ReportDocument, response: httpx.Response) -> Iterator[bytes]:
        import httpx

        expected = response.headers.get("content-length")
        received = 0
        try:
            for chunk in response.iter_raw(_CHUNK):
                received += len(chunk)
                yield chunk
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise DownloadCutShort(
                detail=f"report document {document.document_id}: {type(exc).__name__} "
                f"after {received} bytes"
            ) from None
        except httpx.HTTPError as exc:
            raise self._factory.classify(exc) from None
        if expected is not None and expected.isdigit() and received < int(expected):
            raise DownloadCutShort(
                detail=f"report document {document.document_id}: {received} of {expected} bytes"
            )

    def close(self) -> None:
        self._factory.close(self._api)
