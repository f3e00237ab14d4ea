"""Rendering one demo order as an Orders API v2026-01-01 ``Order`` object.

Everything but the mutable state (status, times, package status) is drawn from a
random stream seeded by ``(seed, idx)``, in the same sequence whatever ``includedData``
asks for, so a group's content never depends on which other groups were requested.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any

from app.demo.fake_spapi_catalog import BUYER_NAMES, CANCEL_REASONS, CATALOG, tracking_number

if TYPE_CHECKING:
    from app.demo.seed_orders import OrderRecord

JSON = dict[str, Any]
DAY = 86_400


def iso(epoch: int) -> str:
    """Amazon's timestamp format: ``2026-01-31T12:00:00Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _money(cents: int, currency: str) -> JSON:
    return {"amount": f"{cents // 100}.{cents % 100:02d}", "currencyCode": currency}


def _end_of_day(epoch: int) -> int:
    return epoch - epoch % DAY + DAY - 1


def render_order(
    seed: int,
    rec: OrderRecord,
    status: str,
    updated: int,
    ship_time: int | None,
    pkg_status: str | None,
    included: frozenset[str],
) -> JSON:
    rng = random.Random(seed * 1_000_003 + rec.idx)
    mkt = rec.mkt
    cur = mkt.currency
    shipped_count = 1 if status == "PARTIALLY_SHIPPED" else rec.n_items
    is_shipped = status in ("SHIPPED", "PARTIALLY_SHIPPED")
    cancelled = status == "CANCELLED"

    items: list[JSON] = []
    item_total = tax_total = 0
    for pos, product_idx in enumerate(rng.sample(range(len(CATALOG)), rec.n_items)):
        product = CATALOG[product_idx]
        qty = 1 if rng.random() < 0.82 else rng.randint(2, 3)
        unit = int(product.price_usd * mkt.fx) * 100 + 99
        tax = round(unit * qty * mkt.sales_tax)
        item_id = f"{rng.randrange(10**13, 10**14)}"
        promo = rng.random() < 0.1
        requested_by_buyer = rng.random() < 0.6
        item: JSON = {
            "orderItemId": item_id,
            "quantityOrdered": qty,
            "product": {
                "asin": product.asin,
                "title": product.title,
                "sellerSku": f"{product.sku}-{mkt.country}",
                "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
                "price": {"unitPrice": _money(unit, cur)},
            },
        }
        if "PROCEEDS" in included and not cancelled:
            breakdowns: list[JSON] = [{"type": "ITEM", "subtotal": _money(unit * qty, cur)}]
            if tax:
                breakdowns.append(
                    {
                        "type": "TAX",
                        "subtotal": _money(tax, cur),
                        "detailedBreakdowns": [{"subtype": "ITEM", "value": _money(tax, cur)}],
                    }
                )
            item["proceeds"] = {
                "proceedsTotal": _money(unit * qty + tax, cur),
                "breakdowns": breakdowns,
            }
        if "PROMOTION" in included and promo:
            item["promotion"] = {"breakdowns": [{"promotionId": f"DEMO-PROMO-{product.sku}"}]}
        if "CANCELLATION" in included and cancelled:
            reason = CANCEL_REASONS[product_idx % len(CANCEL_REASONS)]
            cancellation: JSON = {
                "cancellationExecution": {
                    "cancelledBy": "BUYER" if requested_by_buyer else "MERCHANT",
                    "cancelReason": reason,
                }
            }
            if requested_by_buyer:
                cancellation["cancellationRequest"] = {"requester": "BUYER", "cancelReason": reason}
            item["cancellation"] = cancellation
        if "FULFILLMENT" in included:
            done = qty if is_shipped and pos < shipped_count else 0
            item["fulfillment"] = {
                "quantityFulfilled": done,
                "quantityUnfulfilled": 0 if cancelled else qty - done,
            }
        if "TAX" in included:
            item["tax"] = {
                "taxCollections": [
                    {"model": "MARKETPLACE_FACILITATOR", "responsibleParty": mkt.tax_party}
                ]
            }
        items.append(item)
        item_total += unit * qty
        tax_total += tax

    handling_days = 1 if rec.afn or rec.prime else 2 + int(rng.random() * 2)
    transit_min = 1 if rec.prime else 2 + int(rng.random() * 2)
    transit_max = transit_min + (1 if rec.prime else 3)
    level = "NEXT_DAY" if rec.prime and rng.random() < 0.3 else None
    level = level or ("SECOND_DAY" if rec.prime else ("EXPEDITED" if rng.random() < 0.1 else None))
    level = level or "STANDARD"
    shipping_fee = 0 if rec.prime or rec.afn else int(mkt.fx * 4) * 100 + 99
    carrier, service, fmt = mkt.carriers[int(rng.random() * len(mkt.carriers))]
    tracking = tracking_number(fmt, rng, mkt.country)
    buyer_name = BUYER_NAMES[int(rng.random() * len(BUYER_NAMES))]
    city, region, postal = mkt.cities[int(rng.random() * len(mkt.cities))]
    house = rng.randint(1, 999)
    alias = f"{rng.getrandbits(56):014x}"
    phone_tail = rng.randint(0, 99)
    package_ref = f"{rng.randrange(10**8, 10**9)}"

    order: JSON = {"orderId": rec.order_id, "createdTime": iso(rec.created)}
    order["lastUpdatedTime"] = iso(updated)
    programs = [
        name
        for name, on in (
            ("PRIME", rec.prime),
            ("AMAZON_BUSINESS", rec.business),
            ("PREORDER", rec.preorder),
        )
        if on
    ]
    if programs:
        order["programs"] = programs
    order["salesChannel"] = {
        "channelName": "AMAZON",
        "marketplaceId": mkt.marketplace_id,
        "marketplaceName": mkt.name,
    }
    if "BUYER" in included:
        buyer: JSON = {"buyerName": buyer_name}
        if not rec.afn and status in ("UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED"):
            buyer["buyerEmail"] = f"{alias}@{mkt.email_domain}"
        if rec.business:
            buyer["buyerCompanyName"] = "Demo Trading Ltd"
            buyer["buyerPurchaseOrderNumber"] = f"PO-DEMO-{rec.idx:06d}"
        order["buyer"] = buyer
    if "RECIPIENT" in included:
        address: JSON = {"name": buyer_name}
        if rec.business:
            address["companyName"] = "Demo Trading Ltd"
        address.update(
            addressLine1=f"{house} Demo Street",
            city=city,
            stateOrRegion=region,
            postalCode=postal,
            countryCode=mkt.country,
        )
        if not rec.afn:
            address["phone"] = f"{mkt.fake_phone}{phone_tail:02d}"
        address["addressType"] = "COMMERCIAL" if rec.business else "RESIDENTIAL"
        order["recipient"] = {"deliveryAddress": address}
    if "PROCEEDS" in included and status not in ("CANCELLED", "PENDING"):
        breakdowns = [{"type": "ITEM", "subtotal": _money(item_total, cur)}]
        if shipping_fee:
            breakdowns.append({"type": "SHIPPING", "subtotal": _money(shipping_fee, cur)})
        if tax_total:
            breakdowns.append({"type": "TAX", "subtotal": _money(tax_total, cur)})
        order["proceeds"] = {
            "grandTotal": _money(item_total + shipping_fee + tax_total, cur),
            "breakdowns": breakdowns,
        }
    if "FULFILLMENT" in included:
        ship_by = _end_of_day(rec.created + handling_days * DAY)
        fulfillment: JSON = {
            "fulfillmentStatus": status,
            "fulfilledBy": "AMAZON" if rec.afn else "MERCHANT",
            "fulfillmentServiceLevel": level,
        }
        if status != "PENDING_AVAILABILITY":
            fulfillment["shipByWindow"] = {
                "earliestDateTime": iso(rec.created),
                "latestDateTime": iso(ship_by),
            }
            fulfillment["deliverByWindow"] = {
                "earliestDateTime": iso(ship_by + 1 + (transit_min - 1) * DAY),
                "latestDateTime": iso(ship_by + transit_max * DAY),
            }
        order["fulfillment"] = fulfillment
    order["orderItems"] = items
    if "PACKAGES" in included and not rec.afn and ship_time is not None:
        order["packages"] = [
            {
                "packageReferenceId": package_ref,
                "createdTime": iso(ship_time - 3600),
                "packageStatus": {
                    "status": pkg_status or "IN_TRANSIT",
                    "detailedStatus": "DELIVERED" if pkg_status == "DELIVERED" else "PICKED_UP",
                },
                "carrier": carrier,
                "shipTime": iso(ship_time),
                "shippingService": service,
                "trackingNumber": tracking,
                "shipFromAddress": mkt.warehouse,
                "packageItems": [
                    {"orderItemId": it["orderItemId"], "quantity": it["quantityOrdered"]}
                    for it in items[:shipped_count]
                ],
            }
        ]
    return order


def make_odd(payload: JSON) -> JSON:
    """``payload`` (a searchOrders or getOrder reply) with its first order made odd: a
    fulfillment status Amazon may add one day and an item without its ASIN
    (:attr:`~app.demo.fake_spapi_faults.Fault.ODD_ORDER`)."""
    orders = payload.get("orders") or [payload.get("order")]
    if orders and isinstance(orders[0], dict):
        odd = orders[0]
        odd.setdefault("fulfillment", {})["fulfillmentStatus"] = "ON_HOLD_FOR_REVIEW"
        items = odd.get("orderItems") or []
        if items:
            items[0].get("product", {}).pop("asin", None)
    return payload
