"""Amazon's order report (``GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL``) → our
non-PII :class:`~app.amazon.models.Order`, read row by row as the document streams in.

The document is tab-separated text, a header row first, then one row per order ITEM
(the rows of one order need not be adjacent).  :func:`read_report` takes the document's
bytes as they arrive (gzip or plain, in Amazon's charset), never writes them anywhere,
and keeps only small per-order accumulators of the columns the app uses.

Data minimisation: the report carries ``ship-city``, ``ship-state``,
``ship-postal-code``, ``ship-country`` and, in Brazil, ``cpf``.  Cells are read by an
ALLOWLIST of column indexes (:data:`READ_COLUMNS`); those columns, and any column this
module does not know, are never read: each line is split, the allowlisted cells are
picked out of it and the split line is dropped before the next one.  No row, cell or
header name of an unknown column is logged, nor put in an error's ``detail``.

Every order is ``details_pending``: a report has no packages, tracking or ship and
delivery windows, and no order item ids (items get ids from their place in the order's
rows and their ASIN, the same on every run).  The total is what the buyer paid, as the
Orders API's ``grandTotal``: prices and their taxes less discounts, cancelled items left
out.

Odd rows follow :mod:`app.amazon.mapping`: an order with an id and a purchase date is
kept with :attr:`~app.amazon.models.Order.attention` in plain words (an unknown status,
an unknown sales channel, an item without an ASIN, an amount that cannot be read); a
row without an order id or purchase date is left out and counted (logged by count
only).  Only a document that cannot be read as a whole (an unknown charset or
compression, a gzip stream cut short or damaged, a header without the order id or
purchase date columns) raises :class:`UnreadableReport`.
"""

from __future__ import annotations

import codecs
import logging
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from operator import itemgetter

from app.amazon.mapping import _delivery_state
from app.amazon.models import DeliveryState, Money, Order, OrderItem, OrderStatus
from app.amazon.orders_repo import SELLER_CENTRAL_HOSTS, parse_amazon_time
from app.errors import AmazonBadResponse

log = logging.getLogger("muttefik.sync")

#: Amazon's charset names (the document's ``Content-Type``) → Python codecs.  Matched
#: without regard to case.  ISO-8859-1 is read as its superset cp1252, as browsers do:
#: Amazon's EU documents labelled so carry cp1252 bytes such as the euro sign.
REPORT_CHARSETS: dict[str, str] = {
    "UTF-8": "utf-8",
    "UTF8": "utf-8",
    "Cp1252": "cp1252",
    "windows-1252": "cp1252",
    "ISO-8859-1": "cp1252",
    "Shift_JIS": "cp932",
    "Windows-31J": "cp932",
    "MS932": "cp932",
    "EUC-JP": "euc_jp",
}
_CODECS = {name.lower(): codec for name, codec in REPORT_CHARSETS.items()}

#: The only columns ever read (by index), in the order :func:`read_report` unpacks them.
READ_COLUMNS: tuple[str, ...] = (
    "amazon-order-id",
    "purchase-date",
    "last-updated-date",
    "order-status",
    "fulfillment-channel",
    "sales-channel",
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
    "is-business-order",
    "price-designation",
)
#: Columns that carry the buyer's data: never read (documentation and tests).
PII_COLUMNS = frozenset({"ship-city", "ship-state", "ship-postal-code", "ship-country", "cpf"})
_REQUIRED = ("amazon-order-id", "purchase-date")

#: Bytes of decompressed output handed on at a time (bounds memory per gzip chunk).
_PIECE = 1 << 16
#: A line longer than this is not an order report's.
_MAX_LINE = 1 << 20

_STATUSES: dict[str, OrderStatus] = {
    "pending": OrderStatus.PENDING,
    "pendingavailability": OrderStatus.PENDING_AVAILABILITY,
    "unshipped": OrderStatus.UNSHIPPED,
    "partiallyshipped": OrderStatus.PARTIALLY_SHIPPED,
    "shipped": OrderStatus.SHIPPED,
    "shipping": OrderStatus.SHIPPED,
    "complete": OrderStatus.SHIPPED,  # the word in Amazon's own column description
    "cancelled": OrderStatus.CANCELLED,
    "canceled": OrderStatus.CANCELLED,
    "unfulfillable": OrderStatus.UNFULFILLABLE,
}
_CHANNELS = {"amazon": "AFN", "afn": "AFN", "merchant": "MFN", "mfn": "MFN"}
#: "amazon.de" → A1PA6795UKMFR9: the sales-channel column names the marketplace's site.
_MARKETPLACES: dict[str, str] = {
    host.removeprefix("sellercentral.").lower(): marketplace_id
    for marketplace_id, host in SELLER_CENTRAL_HOSTS.items()
}
_ZERO = Decimal(0)
#: A shipped order bought longer ago than this is taken as delivered (see ``order``).
_DELIVERED_AFTER = timedelta(days=30)
_TRUE = frozenset({"true", "1", "yes"})
_CANCELLED = frozenset({"cancelled", "canceled"})

_Pick = Callable[[list[str]], tuple[str, ...]]
#: An item row as kept while reading: asin, sku, title, quantity, unit price, currency.
_Item = tuple[str, str | None, str | None, int, Decimal | None, str]


class UnreadableReport(AmazonBadResponse):
    """The document as a whole cannot be read.  ``detail`` is technical and holds no
    cell value; a gzip stream cut short says so ("gzip stream ended early"): download
    the document again."""

    title = "Amazon's order report could not be read"
    message = (
        "Amazon's order report could not be read. Nothing was lost: Müttefik Desk asks "
        "for it again, and the regular sync brings the same orders in the meantime."
    )


@dataclass(frozen=True)
class ReportRead:
    """What one document gave: its orders (one per ``amazon-order-id``, in the order they
    first appear), how many item rows were read and how many of those were left out
    (no order id or no purchase date)."""

    orders: list[Order]
    rows: int
    skipped: int


def codec_for(charset: str) -> str:
    """The Python codec for Amazon's charset name; :class:`UnreadableReport` if unknown."""
    codec = _CODECS.get(charset.strip().strip("\"'").lower())
    if codec is None:
        raise UnreadableReport(detail=f"unknown report charset {charset[:40]!r}")
    return codec


# --- bytes → lines ---------------------------------------------------------------------


def _gunzipped(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Decompress gzip (one member or several) as it arrives; a stream that stops
    before its end marker raises :class:`UnreadableReport`."""
    member = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        for chunk in chunks:
            data = chunk
            while data:
                if member.eof:  # a further gzip member follows the one that ended
                    member = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
                out = member.decompress(data, _PIECE)
                if out:
                    yield out
                data = member.unconsumed_tail or member.unused_data
                while len(out) == _PIECE and not data:  # output still pending
                    out = member.decompress(b"", _PIECE)
                    if out:
                        yield out
                    data = member.unconsumed_tail or member.unused_data
        out = member.flush()
        if out:
            yield out
    except zlib.error as exc:
        raise UnreadableReport(detail=f"gzip data damaged: {exc}") from None
    if not member.eof:
        raise UnreadableReport(detail="gzip stream ended early")


def _lines(chunks: Iterable[bytes], codec: str) -> Iterator[str]:
    """Decoded lines without their ``\\n`` (a ``\\r`` before it stays); the last may
    lack it.  A chunk may end inside a line or inside a multi-byte character.
    Undecodable bytes become U+FFFD (a title with one odd byte is no reason to lose the
    report).  Only the current chunk's text is held, and each line is let go once
    handed on."""
    decoder = codecs.getincrementaldecoder(codec)(errors="replace")
    rest = ""
    for chunk in chunks:
        text = decoder.decode(chunk)
        if not text:
            continue
        parts = (rest + text).split("\n") if rest else text.split("\n")
        del text
        rest = parts.pop()
        if len(rest) > _MAX_LINE:
            raise UnreadableReport(detail="a line longer than 1 MiB")
        parts.reverse()
        while parts:
            yield parts.pop()
    parts = (rest + decoder.decode(b"", final=True)).split("\n")
    del rest
    parts.reverse()
    while parts:
        yield parts.pop()


# --- rows → orders ---------------------------------------------------------------------


class _Order:
    """One order's non-PII accumulator while the document streams (few objects: a
    large report holds one of these per order)."""

    __slots__ = (
        "amount",
        "business",
        "channel",
        "counted",
        "currency",
        "items",
        "odd",
        "order_id",
        "purchase",
        "sales",
        "service",
        "status",
        "updated",
        "updated_raw",
    )

    def __init__(self, order_id: str, purchase: datetime) -> None:
        self.order_id = order_id
        self.purchase = purchase
        self.updated: datetime | None = None
        self.updated_raw = ""
        self.status = ""
        self.channel = ""
        self.sales = ""
        self.service = ""
        self.business = False
        self.items: list[_Item] = []
        self.amount: Decimal | None = _ZERO  # None once an amount could not be read
        self.currency: str | None = ""  # None once two currencies were seen
        self.counted = False  # a non-cancelled item was added to the total
        self.odd: list[str] | None = None

    def note(self, text: str) -> None:
        if self.odd is None:
            self.odd = [text]
        elif text not in self.odd:
            self.odd.append(text)


def _time(text: str) -> datetime | None:
    if not text:
        return None
    try:
        return parse_amazon_time(text)
    except ValueError:
        try:  # Amazon's own help page writes "2003-07-14T18:53:56+ 00 :00"
            return parse_amazon_time(text.replace(" ", ""))
        except ValueError:
            return None


def _header(line: str) -> tuple[_Pick, int, bool, bool]:
    """Column indexes of :data:`READ_COLUMNS` in the header row: the getter, the
    header's width, whether a read column is missing (its cells then read as empty),
    and whether ``last-updated-date`` is there."""
    names = [name.strip().lower() for name in line.split("\t")]
    if names:
        names[0] = names[0].removeprefix("\ufeff").removeprefix("ï»¿")  # BOM
    width = len(names)
    index = {name: i for i, name in reversed(list(enumerate(names)))}
    missing = [name for name in _REQUIRED if name not in index]
    if missing:
        raise UnreadableReport(detail=f"report header lacks {', '.join(missing)}")
    # A missing optional column points at one empty cell appended after the last.
    positions = [index.get(name, width) for name in READ_COLUMNS]
    return (
        itemgetter(*positions),
        width,
        any(p == width for p in positions),
        "last-updated-date" in index,
    )


def read_report(
    chunks: Iterable[bytes],
    *,
    compression: str | None,
    charset: str,
    store_id: int,
    now: datetime,
) -> ReportRead:
    """Read an order report document as it downloads.

    ``compression`` is getReportDocument's ``compressionAlgorithm`` (``"GZIP"`` or
    ``None``); ``charset`` the document's ``Content-Type`` charset (see
    :data:`REPORT_CHARSETS`).  ``now`` decides the delivery state as the sync's does.
    Raises :class:`UnreadableReport` for a document that cannot be read as a whole.
    """
    codec = codec_for(charset)
    if compression is None or not compression.strip():
        data: Iterable[bytes] = chunks
    elif compression.strip().upper() == "GZIP":
        data = _gunzipped(chunks)
    else:
        raise UnreadableReport(detail=f"unknown report compression {compression[:20]!r}")

    orders: dict[str, _Order] = {}
    rows = skipped = 0
    lines = _lines(data, codec)
    pick: _Pick | None = None
    width = 0
    pad = False
    has_updated = False
    for line in lines:
        if pick is None:
            if line.strip():
                pick, width, pad, has_updated = _header(line)
            continue
        if line[-1:] == "\r":
            line = line[:-1]
        if not line:
            continue
        rows += 1
        cells = line.split("\t")
        del line
        if len(cells) != width:
            if len(cells) > width:
                del cells[width:]  # cells beyond the header's are never read
            else:
                cells.extend([""] * (width - len(cells)))
        if pad:
            cells.append("")
        (
            order_id,
            purchase_date,
            updated_date,
            status,
            channel,
            sales,
            service,
            title,
            sku,
            asin,
            item_status,
            quantity_text,
            currency,
            item_price,
            item_tax,
            shipping_price,
            shipping_tax,
            gift_wrap_price,
            gift_wrap_tax,
            item_discount,
            ship_discount,
            business,
            designation,
        ) = pick(cells)
        del cells  # the split line (with the buyer's columns) goes here, row by row
        if not order_id or not purchase_date:
            skipped += 1
            continue
        order = orders.get(order_id)
        if order is None:
            order_id = order_id.strip()
            purchase = _time(purchase_date)
            if not order_id or purchase is None:
                skipped += 1
                continue
            order = orders.get(order_id)
            if order is None:
                order = orders[order_id] = _Order(order_id, purchase)
        if updated_date != order.updated_raw and updated_date:
            updated = _time(updated_date)
            if updated is not None and (order.updated is None or updated > order.updated):
                order.updated, order.updated_raw = updated, updated_date
        if not order.status:
            order.status = status.strip()
        if not order.sales:
            order.channel = channel.strip()
            order.sales = sales.strip()
            order.service = service.strip()
        if (business and business.strip().lower() in _TRUE) or (
            designation and designation.replace(" ", "").lower() == "businessprice"
        ):
            order.business = True

        asin = asin.strip()
        if not asin:
            order.note("An item has no ASIN")
        quantity = 0
        if quantity_text:
            try:
                quantity = int(quantity_text)
            except ValueError:
                quantity = -1
            if quantity < 0:
                order.note("An item's quantity could not be read")
                quantity = 0
        unit = None
        try:
            price = Decimal(item_price) if item_price else _ZERO
            if not price.is_finite():  # "NaN" and "Infinity" are Decimals too
                raise InvalidOperation
            if quantity > 0 and currency and item_price:
                unit = price if quantity == 1 else (price / quantity).quantize(price)
            # A row without an item price (a pending order: Amazon prices it once the
            # payment is through) adds nothing: no total rather than a total of 0.00.
            if item_price and order.amount is not None and item_status.lower() not in _CANCELLED:
                # What the buyer paid, as the Orders API's grandTotal: prices and their
                # taxes, less discounts (whichever sign Amazon writes them with).
                line_total = price
                for cell in (
                    item_tax,
                    shipping_price,
                    shipping_tax,
                    gift_wrap_price,
                    gift_wrap_tax,
                ):
                    if cell:
                        line_total += Decimal(cell)
                if item_discount:
                    line_total -= abs(Decimal(item_discount))
                if ship_discount:
                    line_total -= abs(Decimal(ship_discount))
                if not line_total.is_finite():
                    raise InvalidOperation
                order.amount += line_total
                order.counted = True
                if currency and order.currency is not None:
                    currency = currency.strip()
                    if not order.currency:
                        order.currency = currency
                    elif order.currency != currency:
                        order.currency = None
        except InvalidOperation:
            order.note("An amount in Amazon's report could not be read")
            order.amount = None
        # Plain values until the end: a tuple of strings and numbers costs the garbage
        # collector nothing once seen, an OrderItem is looked at again and again.
        order.items.append(
            (asin, sku.strip() or None, title.strip() or None, quantity, unit, currency.strip())
        )
    finish = _Finish(store_id, now, has_updated)
    if skipped:
        log.warning("%d rows of an order report left out (no order id or purchase date)", skipped)
    return ReportRead(
        orders=[finish.order(acc) for acc in orders.values()],
        rows=rows,
        skipped=skipped,
    )


class _Finish:
    """Turns accumulators into orders; what orders share is worked out once (a status,
    a sales channel, an amount: equal Money values are one object)."""

    def __init__(self, store_id: int, now: datetime, has_updated: bool) -> None:
        self.store_id = store_id
        self.now = now
        self.has_updated = has_updated
        self.prices: dict[tuple[str, str], Money] = {}
        self.statuses: dict[str, tuple[OrderStatus, DeliveryState, str | None]] = {}
        self.channels: dict[str, tuple[str, str | None]] = {}

    def money(self, amount: Decimal, currency: str) -> Money:
        # By text: Decimal("10.0") == Decimal("10.00"), but each keeps its places.
        key = (str(amount), currency)
        money = self.prices.get(key)
        if money is None:
            money = self.prices[key] = Money(amount, currency)
        return money

    def status(self, raw: str) -> tuple[OrderStatus, DeliveryState, str | None]:
        """The status for the report's word, its delivery state (what the sync derives
        for an order without packages or a delivery window) and what is odd about it."""
        known = self.statuses.get(raw)
        if known is None:
            status = _STATUSES.get(raw.lower().replace(" ", "").replace("_", ""))
            odd = None
            if status is None:
                # Kept as pending (nothing to ship yet) until Amazon says more, as the
                # sync does.
                odd = (
                    f"Amazon sent a status this app does not know ({raw[:40]})"
                    if raw
                    else "Amazon's report gave no status"
                )
                status = OrderStatus.PENDING
            state = _delivery_state(status, (), None, self.now)
            known = self.statuses[raw] = (status, state, odd)
        return known

    def marketplace(self, sales: str) -> tuple[str, str | None]:
        """The marketplace id for the sales channel ("Amazon.de") and what is odd."""
        known = self.channels.get(sales)
        if known is None:
            marketplace_id = _MARKETPLACES.get(sales.lower(), "")
            odd = None
            if not marketplace_id:
                odd = (
                    f"Amazon's report names a sales channel this app does not know ({sales[:40]})"
                    if sales
                    else "Amazon's report gave no sales channel"
                )
            known = self.channels[sales] = (marketplace_id, odd)
        return known

    def order(self, acc: _Order) -> Order:
        status, state, odd_status = self.status(acc.status)
        if state is DeliveryState.IN_TRANSIT and acc.purchase < self.now - _DELIVERED_AFTER:
            # A report has no delivery window: a shipped order older than any window
            # Amazon gives is taken as delivered, as the sync does past the window (not
            # "In transit" for months until the sync passes over it).
            state = DeliveryState.DELIVERED
        marketplace_id, odd_channel = self.marketplace(acc.sales)
        updated = acc.updated
        odd_updated = None
        if updated is None:
            if self.has_updated:
                odd_updated = "Amazon's report gave no update time"
            updated = acc.purchase  # the oldest it can be: never newer than the sync's data
        attention = None
        if odd_status or odd_channel or odd_updated or acc.odd:
            odd = [odd_status, *(acc.odd or ()), odd_channel, odd_updated]
            attention = "; ".join(text for text in odd if text) + "."
        total = None
        if acc.amount is not None and acc.counted and acc.currency:
            total = self.money(acc.amount, acc.currency)
        money = self.money
        return Order(
            order_id=acc.order_id,
            store_id=self.store_id,
            marketplace_id=marketplace_id,
            marketplace_name=acc.sales or None,
            status=status,
            purchase_date=acc.purchase,
            last_updated=updated,
            fulfillment_channel=_CHANNELS.get(acc.channel.lower()),
            service_level=acc.service or None,
            total=total,
            is_business=acc.business,
            items=tuple(
                [
                    OrderItem(
                        # Reports carry no order item id: the item's place in the
                        # order's rows and its ASIN, the same on every run over the
                        # same range.
                        order_item_id=f"report-{position}-{asin}",
                        asin=asin,
                        sku=sku,
                        title=title,
                        quantity=quantity,
                        unit_price=None if unit is None else money(unit, currency),
                    )
                    for position, (asin, sku, title, quantity, unit, currency) in enumerate(
                        acc.items
                    )
                ]
            ),
            packages=(),
            delivery_state=state,
            attention=attention,
            details_pending=True,  # packages, tracking and windows: the sync fills them
        )
