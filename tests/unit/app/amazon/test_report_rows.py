"""read_report: Amazon's order report read row by row, in any chunking, charset and
compression; odd rows kept with attention or counted; the buyer's columns (and unknown
ones) never reach the result, an error or the log."""

from __future__ import annotations

import gzip
import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app.amazon.models import DeliveryState, Money, OrderStatus
from app.amazon.report_rows import (
    PII_COLUMNS,
    READ_COLUMNS,
    REPORT_CHARSETS,
    ReportRead,
    UnreadableReport,
    codec_for,
    read_report,
)
from app.errors import AmazonBadResponse

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

#: Amazon's documented columns, in Amazon's order.
COLUMNS = (
    "amazon-order-id",
    "merchant-order-id",
    "purchase-date",
    "last-updated-date",
    "order-status",
    "fulfillment-channel",
    "sales-channel",
    "order-channel",
    "ship-service-level",
    "product-name",
    "sku",
    "asin",
    "item-status",
    "quantity",
    "currency",
    "item-price",
    "item-tax",
    "shipping-price",
    "shipping-tax",
    "gift-wrap-price",
    "gift-wrap-tax",
    "item-promotion-discount",
    "ship-promotion-discount",
    "ship-city",
    "ship-state",
    "ship-postal-code",
    "ship-country",
    "promotion-ids",
    "cpf",
    "is-business-order",
    "purchase-order-number",
    "price-designation",
)

#: Values no result, error or log line may ever hold (one per buyer column).
MARKERS = {
    "ship-city": "MARKERCITYqz",
    "ship-state": "MARKERSTATEqz",
    "ship-postal-code": "MARKERPOSTALqz",
    "ship-country": "MARKERCOUNTRYqz",
    "cpf": "MARKERCPFqz",
}
UNKNOWN_MARKER = "MARKERUNKNOWNqz"

ORDER = "111-1234567-7654321"


def row(**cells: str) -> dict[str, str]:
    """A report row of a shipped one-item US order; keyword names use ``_`` for ``-``."""
    values = {
        "amazon-order-id": ORDER,
        "merchant-order-id": "",
        "purchase-date": "2026-10-03T14:22:05+00:00",
        "last-updated-date": "2026-10-05T08:00:00+00:00",
        "order-status": "Shipped",
        "fulfillment-channel": "Merchant",
        "sales-channel": "Amazon.com",
        "order-channel": "",
        "ship-service-level": "Standard",
        "product-name": "Stainless Steel Bottle 750 ml",
        "sku": "BOTTLE-750",
        "asin": "B0BOTTLE01",
        "item-status": "Shipped",
        "quantity": "2",
        "currency": "USD",
        "item-price": "39.98",
        "item-tax": "3.20",
        "shipping-price": "4.99",
        "shipping-tax": "0.40",
        "gift-wrap-price": "",
        "gift-wrap-tax": "",
        "item-promotion-discount": "",
        "ship-promotion-discount": "",
        "promotion-ids": "",
        "is-business-order": "false",
        "purchase-order-number": "",
        "price-designation": "",
        **MARKERS,
    }
    values.update({name.replace("_", "-"): value for name, value in cells.items()})
    return values


def document(
    rows: list[dict[str, str]],
    columns: tuple[str, ...] = COLUMNS,
    *,
    newline: str = "\n",
    final_newline: bool = True,
) -> str:
    lines = ["\t".join(columns)]
    lines += ["\t".join(r.get(c, "") for c in columns) for r in rows]
    return newline.join(lines) + (newline if final_newline else "")


def read(
    data: bytes | list[bytes],
    *,
    compression: str | None = None,
    charset: str = "UTF-8",
) -> ReportRead:
    chunks = [data] if isinstance(data, bytes) else data
    return read_report(chunks, compression=compression, charset=charset, store_id=7, now=NOW)


def splits(data: bytes, rnd: random.Random, pieces: int) -> list[bytes]:
    cuts = sorted(rnd.sample(range(1, len(data)), min(pieces, len(data) - 1)))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def one_byte_at_a_time(data: bytes) -> Iterator[bytes]:
    for i in range(len(data)):
        yield data[i : i + 1]


# --- columns ---------------------------------------------------------------------------


def test_every_documented_column_maps_to_the_order() -> None:
    result = read(document([row()]).encode())
    assert (result.rows, result.skipped) == (1, 0)
    [order] = result.orders
    assert order.order_id == ORDER and order.store_id == 7
    assert order.marketplace_id == "ATVPDKIKX0DER" and order.marketplace_name == "Amazon.com"
    assert order.status is OrderStatus.SHIPPED
    assert order.purchase_date == datetime(2026, 10, 3, 14, 22, 5, tzinfo=UTC)
    assert order.last_updated == datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
    assert order.fulfillment_channel == "MFN" and order.service_level == "Standard"
    # What the buyer paid, as the Orders API's grandTotal: item and shipping with taxes.
    assert order.total == Money(Decimal("48.57"), "USD")
    assert not order.is_business and not order.is_prime
    assert order.packages == () and order.deliver_by_latest is None
    assert order.details_pending  # the sync fills packages, tracking and windows
    assert order.delivery_state is DeliveryState.IN_TRANSIT
    assert order.attention is None
    [item] = order.items
    assert item.order_item_id == "report-0-B0BOTTLE01"
    assert (item.asin, item.sku, item.title, item.quantity) == (
        "B0BOTTLE01",
        "BOTTLE-750",
        "Stainless Steel Bottle 750 ml",
        2,
    )
    assert item.unit_price == Money(Decimal("19.99"), "USD")


def test_the_read_columns_hold_none_of_the_buyers() -> None:
    assert not set(READ_COLUMNS) & PII_COLUMNS
    assert set(MARKERS) == PII_COLUMNS


def test_unknown_extra_columns_are_tolerated() -> None:
    columns = ("url", *COLUMNS[:12], "number-of-items", *COLUMNS[12:], "address-type")
    extra = {"url": UNKNOWN_MARKER, "number-of-items": "2", "address-type": "Residential"}
    result = read(document([row(**extra)], columns).encode())
    [order] = result.orders
    assert order.total == Money(Decimal("48.57"), "USD") and order.attention is None
    assert order.items[0].sku == "BOTTLE-750"


def test_missing_optional_columns_read_as_empty() -> None:
    columns = ("amazon-order-id", "purchase-date", "asin", "quantity")
    [order] = read(document([row()], columns).encode()).orders
    assert order.order_id == ORDER and order.items[0].asin == "B0BOTTLE01"
    assert order.items[0].quantity == 2 and order.items[0].unit_price is None
    assert order.total is None and order.fulfillment_channel is None
    assert order.last_updated == order.purchase_date  # no column: the oldest it can be
    assert order.attention is not None and "status" in order.attention


@pytest.mark.parametrize("missing", ["amazon-order-id", "purchase-date"])
def test_a_header_without_the_order_id_or_date_is_unreadable(missing: str) -> None:
    columns = tuple(c for c in COLUMNS if c != missing)
    with pytest.raises(UnreadableReport) as caught:
        read(document([row()], columns).encode())
    assert missing in (caught.value.detail or "")
    assert isinstance(caught.value, AmazonBadResponse)


def test_rows_shorter_or_longer_than_the_header() -> None:
    text = document([row()])
    header, line = text.rstrip("\n").split("\n")
    short = "\t".join(line.split("\t")[:16])  # up to item-price
    long = line + "\t" + UNKNOWN_MARKER
    result = read(f"{header}\n{short}\n{long}\n".replace(ORDER, "X", 1).encode())
    assert [o.order_id for o in result.orders] == ["X", ORDER]
    assert result.orders[0].total == Money(Decimal("39.98"), "USD")
    assert UNKNOWN_MARKER not in repr(result)


def test_an_empty_document_or_a_header_alone_has_no_orders() -> None:
    assert read(b"") == ReportRead(orders=[], rows=0, skipped=0)
    assert read(document([]).encode()) == ReportRead(orders=[], rows=0, skipped=0)


# --- chunks, compression, charsets -------------------------------------------------------


def _doc_of_three_orders() -> str:
    return document(
        [
            row(),
            row(
                amazon_order_id="111-0000000-0000002", asin="B0SECOND01", product_name="Kühltasche"
            ),
            row(asin="B0BOTTLE02", quantity="1", item_price="9.50"),
            row(amazon_order_id="111-0000000-0000003", order_status="Unshipped"),
        ]
    )


def test_gzip_split_at_every_byte_boundary_reads_the_same() -> None:
    data = gzip.compress(_doc_of_three_orders().encode())
    whole = read(data, compression="GZIP")
    assert len(whole.orders) == 3 and whole.rows == 4
    for cut in range(1, len(data)):
        assert read([data[:cut], data[cut:]], compression="GZIP") == whole, cut
    assert read(list(one_byte_at_a_time(data)), compression="gzip") == whole


def test_plain_documents_in_random_chunks_read_the_same() -> None:
    data = _doc_of_three_orders().encode()
    whole = read(data)
    rnd = random.Random(15)
    for _ in range(200):
        assert read(splits(data, rnd, rnd.randint(1, 40))) == whole


def test_a_gzip_stream_of_several_members_is_read_whole() -> None:
    text = _doc_of_three_orders()
    head, tail = text[:200], text[200:]
    data = gzip.compress(head.encode()) + gzip.compress(tail.encode())
    assert read(data, compression="GZIP") == read(text.encode())


def test_a_gzip_stream_cut_short_is_unreadable() -> None:
    data = gzip.compress(_doc_of_three_orders().encode())
    for cut in range(len(data)):  # even 0: an empty gzip document is not a document
        with pytest.raises(UnreadableReport) as caught:
            read([data[:cut]], compression="GZIP")
        assert caught.value.detail == "gzip stream ended early", cut


def test_damaged_gzip_is_unreadable() -> None:
    data = bytearray(gzip.compress(_doc_of_three_orders().encode()))
    data[20] ^= 0xFF
    data[21] ^= 0xFF
    with pytest.raises(UnreadableReport) as caught:
        read(bytes(data), compression="GZIP")
    assert (caught.value.detail or "").startswith(("gzip data damaged", "gzip stream"))


def test_unknown_compression_is_unreadable() -> None:
    with pytest.raises(UnreadableReport):
        read(b"x", compression="ZSTD")


@pytest.mark.parametrize(
    ("charset", "title"),
    [
        ("UTF-8", "Théière en fonte – 1,2 l 🍵"),
        ("Shift_JIS", "ステンレス製ボトル（ブルー）①"),
        ("Windows-31J", "ステンレス製ボトル（ブルー）①"),
        ("MS932", "ステンレス製ボトル"),
        ("EUC-JP", "ステンレス製ボトル"),
    ],
)
def test_multibyte_characters_split_across_chunks(charset: str, title: str) -> None:
    data = document([row(product_name=title)]).encode(codec_for(charset))
    whole = read(data, charset=charset)
    assert whole.orders[0].items[0].title == title
    assert read(list(one_byte_at_a_time(data)), charset=charset) == whole
    gz = gzip.compress(data)
    assert read(list(one_byte_at_a_time(gz)), compression="GZIP", charset=charset) == whole


@pytest.mark.parametrize("charset", ["Cp1252", "cp1252", "ISO-8859-1", "windows-1252"])
def test_cp1252_documents(charset: str) -> None:
    data = document(
        [row(product_name="Théière €12 — café", sales_channel="Amazon.fr", currency="EUR")]
    ).encode("cp1252")
    [order] = read(data, charset=charset).orders
    assert order.items[0].title == "Théière €12 — café"
    assert order.marketplace_id == "A13V1IB3VIYZZH"


def test_undecodable_bytes_do_not_lose_the_report() -> None:
    data = document([row(product_name="Bottle")]).encode().replace(b"Bottle", b"Bo\x81tle")
    [order] = read(data, charset="Cp1252").orders
    assert order.items[0].title == "Bo\ufffdtle"


def test_unknown_charset_is_unreadable() -> None:
    with pytest.raises(UnreadableReport):
        read(b"", charset="KOI8-R")
    assert codec_for(' "utf-8" ') == "utf-8"
    assert set(REPORT_CHARSETS.values()) <= {"utf-8", "cp1252", "cp932", "euc_jp"}


@pytest.mark.parametrize("charset", ["UTF-8", "Cp1252"])
def test_a_bom_at_the_start_is_removed(charset: str) -> None:
    data = b"\xef\xbb\xbf" + document([row()]).encode()
    result = read(list(one_byte_at_a_time(data)), charset=charset)
    assert [o.order_id for o in result.orders] == [ORDER]


def test_crlf_and_a_last_line_without_newline() -> None:
    rows = [row(), row(amazon_order_id="111-0000000-0000002", price_designation="BusinessPrice")]
    expected = read(document(rows).encode())
    for final in (True, False):
        data = document(rows, newline="\r\n", final_newline=final).encode()
        assert read(data) == expected
        assert read(list(one_byte_at_a_time(data))) == expected
        assert read(document(rows, final_newline=final).encode()) == expected
    assert expected.orders[1].is_business  # the last cell, read without its "\r"


def test_a_line_without_end_is_unreadable() -> None:
    data = document([row()]).encode() + b"x" * (1 << 20) + b"y"
    with pytest.raises(UnreadableReport):
        read(splits(data, random.Random(1), 64))


# --- mapping -----------------------------------------------------------------------------


def test_rows_of_one_order_are_grouped_wherever_they_are() -> None:
    other = "111-0000000-0000002"
    rows = [
        row(asin="B0FIRST001", last_updated_date="2026-10-04T00:00:00+00:00"),
        row(amazon_order_id=other),
        row(asin="B0SECOND01", quantity="1", item_price="5.00", shipping_price="0.00"),
        row(asin="B0FIRST001", last_updated_date="2026-10-06T09:30:00+02:00"),
    ]
    result = read(document(rows).encode())
    assert result.rows == 4 and [o.order_id for o in result.orders] == [ORDER, other]
    order = result.orders[0]
    # Stable ids: place among the order's rows and ASIN (the same ASIN twice differs).
    assert [i.order_item_id for i in order.items] == [
        "report-0-B0FIRST001",
        "report-1-B0SECOND01",
        "report-2-B0FIRST001",
    ]
    assert read(document(rows).encode()) == result
    assert order.last_updated == datetime(2026, 10, 6, 7, 30, tzinfo=UTC)  # the newest
    assert order.total == Money(Decimal("48.57") * 2 + 5 + Decimal("3.60"), "USD")


@pytest.mark.parametrize(
    ("word", "status", "state"),
    [
        ("Pending", OrderStatus.PENDING, DeliveryState.PENDING),
        ("Unshipped", OrderStatus.UNSHIPPED, DeliveryState.TO_SHIP),
        ("PartiallyShipped", OrderStatus.PARTIALLY_SHIPPED, DeliveryState.TO_SHIP),
        ("Shipped", OrderStatus.SHIPPED, DeliveryState.IN_TRANSIT),
        ("Shipping", OrderStatus.SHIPPED, DeliveryState.IN_TRANSIT),
        ("Cancelled", OrderStatus.CANCELLED, DeliveryState.CANCELLED),
    ],
)
def test_statuses(word: str, status: OrderStatus, state: DeliveryState) -> None:
    [order] = read(document([row(order_status=word)]).encode()).orders
    assert (order.status, order.delivery_state, order.attention) == (status, state, None)


def test_a_shipped_order_older_than_any_delivery_window_is_delivered() -> None:
    """A report has no delivery window: shipped 45 days ago is not "In transit"."""
    old = "2026-09-17T10:00:00+00:00"  # 45 days before NOW
    [shipped] = read(document([row(purchase_date=old)]).encode()).orders
    assert shipped.delivery_state is DeliveryState.DELIVERED
    [unshipped] = read(document([row(purchase_date=old, order_status="Unshipped")]).encode()).orders
    assert unshipped.delivery_state is DeliveryState.TO_SHIP


@pytest.mark.parametrize("word", ["Pending - Waiting for Pick Up", "OnHold", ""])
def test_an_unknown_status_is_kept_pending_with_attention(word: str) -> None:
    [order] = read(document([row(order_status=word)]).encode()).orders
    assert order.status is OrderStatus.PENDING and order.items
    assert order.attention is not None and "status" in order.attention
    assert word in order.attention


@pytest.mark.parametrize(
    ("channel", "marketplace_id"),
    [
        ("Amazon.de", "A1PA6795UKMFR9"),
        ("Amazon.co.uk", "A1F83G8C2ARO7P"),
        ("Amazon.it", "APJ6JRA9NG5V4"),
        ("Amazon.es", "A1RKKUPIHCS9HS"),
        ("Amazon.ca", "A2EUQ1WTGCTBG2"),
        ("Amazon.com.mx", "A1AM78C64UM0Y8"),
        ("Amazon.com.br", "A2Q3Y263D00KWC"),
        ("Amazon.co.jp", "A1VC38T7YXB528"),
        ("Amazon.com.au", "A39IBJ37TRP1C6"),
    ],
)
def test_sales_channel_gives_the_marketplace(channel: str, marketplace_id: str) -> None:
    [order] = read(document([row(sales_channel=channel)]).encode()).orders
    assert (order.marketplace_id, order.marketplace_name) == (marketplace_id, channel)
    assert order.attention is None


def test_an_unknown_sales_channel_is_kept_with_attention() -> None:
    [order] = read(document([row(sales_channel="Non-Amazon")]).encode()).orders
    assert order.marketplace_id == "" and order.marketplace_name == "Non-Amazon"
    assert order.attention is not None and "Non-Amazon" in order.attention


def test_fulfillment_channel_and_business_orders() -> None:
    rows = [
        row(amazon_order_id="A", fulfillment_channel="Amazon"),
        row(amazon_order_id="B", fulfillment_channel="Merchant", is_business_order="true"),
        row(amazon_order_id="C", fulfillment_channel="AFN", price_designation="BusinessPrice"),
        row(amazon_order_id="D", fulfillment_channel="Elsewhere"),
    ]
    orders = read(document(rows).encode()).orders
    assert [o.fulfillment_channel for o in orders] == ["AFN", "MFN", "AFN", None]
    assert [o.is_business for o in orders] == [False, True, True, False]


def test_totals_subtract_discounts_and_leave_out_cancelled_items() -> None:
    rows = [
        row(
            item_price="30.00",
            item_tax="2.40",
            quantity="3",
            gift_wrap_price="2.50",
            gift_wrap_tax="0.20",
            item_promotion_discount="-5.00",
        ),
        row(
            asin="B0SECOND01",
            item_price="10.00",
            item_tax="0.80",
            quantity="1",
            shipping_tax="",
            ship_promotion_discount="4.99",
        ),
        row(asin="B0GONE0001", item_status="Cancelled", item_price="99.00", quantity="0"),
    ]
    [order] = read(document(rows).encode()).orders
    # 30 + 2.40 + 4.99 + 0.40 + 2.50 + 0.20 - 5  +  10 + 0.80 + 4.99 - 4.99;
    # the cancelled item counts nothing.
    assert order.total == Money(Decimal("46.29"), "USD")
    assert order.items[0].unit_price == Money(Decimal("10.00"), "USD")
    assert order.items[2].quantity == 0 and order.items[2].unit_price is None
    assert len(order.items) == 3 and order.attention is None


def test_unit_price_is_rounded_to_the_prices_places() -> None:
    [order] = read(document([row(item_price="10.00", quantity="3")]).encode()).orders
    assert order.items[0].unit_price == Money(Decimal("3.33"), "USD")
    [order] = read(document([row(item_price="2473", quantity="2", currency="JPY")]).encode()).orders
    assert order.items[0].unit_price == Money(Decimal("1236"), "JPY")


def test_equal_amounts_keep_their_places() -> None:
    rows = [
        row(amazon_order_id="A", item_price="10.0", quantity="1", item_tax="", shipping_tax=""),
        row(amazon_order_id="B", item_price="10.00", quantity="1", item_tax="", shipping_tax=""),
    ]
    prices = [o.items[0].unit_price for o in read(document(rows).encode()).orders]
    assert [str(p.amount) for p in prices if p] == ["10.0", "10.00"]


def test_a_cancelled_order_has_no_total() -> None:
    rows = [row(order_status="Cancelled", item_status="Cancelled", quantity="0", item_price="")]
    [order] = read(document(rows).encode()).orders
    assert order.total is None and order.status is OrderStatus.CANCELLED


def test_an_order_without_prices_has_no_total() -> None:
    cells = {name: "" for name in ("item_price", "item_tax", "shipping_price", "shipping_tax")}
    [order] = read(document([row(order_status="Pending", **cells)]).encode()).orders
    assert order.total is None and order.items[0].unit_price is None
    rows = [row(**cells), row(asin="B0SECOND01")]
    [order] = read(document(rows).encode()).orders
    assert order.total == Money(Decimal("48.57"), "USD")


def test_mixed_currencies_give_no_total() -> None:
    rows = [row(), row(asin="B0SECOND01", currency="EUR")]
    [order] = read(document(rows).encode()).orders
    assert order.total is None
    assert [i.unit_price for i in order.items] == [
        Money(Decimal("19.99"), "USD"),
        Money(Decimal("19.99"), "EUR"),
    ]


@pytest.mark.parametrize(
    ("cells", "words"),
    [
        ({"item_price": "12,50"}, "amount"),
        ({"shipping_price": "n/a"}, "amount"),
        ({"item_price": "NaN"}, "amount"),
        ({"gift_wrap_price": "Infinity"}, "amount"),
        ({"quantity": "two"}, "quantity"),
        ({"quantity": "-1"}, "quantity"),
        ({"asin": ""}, "ASIN"),
        ({"last_updated_date": "yesterday"}, "update time"),
    ],
)
def test_odd_rows_keep_the_order_with_attention(cells: dict[str, str], words: str) -> None:
    result = read(document([row(**cells)]).encode())
    [order] = result.orders
    assert order.attention is not None and words in order.attention
    assert order.attention.endswith(".") and result.skipped == 0
    assert order.order_id == ORDER and len(order.items) == 1
    if words == "amount":
        assert order.total is None


@pytest.mark.expect_log("muttefik.sync", "WARNING", r"^3 rows of an order report left out")
def test_rows_without_id_or_purchase_date_are_skipped_and_counted() -> None:
    rows = [
        row(amazon_order_id=""),
        row(purchase_date=""),
        row(amazon_order_id="111-0000000-0000002", purchase_date="last week"),
        row(amazon_order_id="111-0000000-0000003"),
    ]
    result = read(document(rows).encode())
    assert (result.rows, result.skipped) == (4, 3)
    assert [o.order_id for o in result.orders] == ["111-0000000-0000003"]


@pytest.mark.expect_log("muttefik.sync", "WARNING", r"^1 rows of an order report left out")
def test_a_row_without_purchase_date_is_skipped_but_its_order_kept() -> None:
    rows = [row(), row(asin="B0SECOND01", purchase_date="")]
    result = read(document(rows).encode())
    assert (result.rows, result.skipped) == (2, 1)
    assert [i.asin for i in result.orders[0].items] == ["B0BOTTLE01"]


# --- the buyer's columns -------------------------------------------------------------------


@pytest.mark.expect_log("muttefik.sync", "WARNING", r"^1 rows of an order report left out")
def test_buyer_columns_reach_neither_result_nor_log(caplog: pytest.LogCaptureFixture) -> None:
    """Marker values in every address column, cpf and an unknown column, in odd rows and
    well-formed ones, read whole, in chunks and gzipped: none in the result or the log."""
    caplog.set_level(logging.DEBUG)
    columns = (*COLUMNS, "signature-confirmation-recommended")
    rows = [
        row(signature_confirmation_recommended=UNKNOWN_MARKER),
        row(amazon_order_id="", signature_confirmation_recommended=UNKNOWN_MARKER),
        row(amazon_order_id="111-0000000-0000002", order_status="Strange", asin=""),
        row(amazon_order_id="111-0000000-0000003", sales_channel="Non-Amazon", quantity="x"),
    ]
    text = document(rows, columns)
    assert all(m in text for m in [*MARKERS.values(), UNKNOWN_MARKER])
    data = text.encode()
    results = [
        read(data),
        read(list(one_byte_at_a_time(data))),
        read(list(one_byte_at_a_time(gzip.compress(data))), compression="GZIP"),
        read(text.encode("cp1252"), charset="Cp1252"),
    ]
    assert all(r.skipped == 1 and len(r.orders) == 3 for r in results)
    seen = repr(results) + "\n".join(
        f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records
    )
    assert "left out" in seen  # the log was captured
    for marker in [*MARKERS.values(), UNKNOWN_MARKER]:
        assert marker not in seen


def test_buyer_columns_reach_no_error() -> None:
    data = document([row()], (*COLUMNS[2:], UNKNOWN_MARKER)).encode()
    with pytest.raises(UnreadableReport) as caught:  # no order id column
        read(data)
    gz = gzip.compress(document([row()]).encode())
    with pytest.raises(UnreadableReport) as cut:
        read(gz[:-10], compression="GZIP")
    for error in (caught.value, cut.value):
        text = f"{error} {error.detail} {error.title} {error.message}"
        for marker in [*MARKERS.values(), UNKNOWN_MARKER]:
            assert marker not in text
    assert caught.value.message.startswith("Amazon's order report could not be read")
