"""``muttefik labels …``: Amazon shipping labels from the terminal, for sellers who script
their morning batch, and for checking.

* ``labels rates --order ID [--preset NAME] [--ship-date YYYY-MM-DD]`` prints Amazon's
  rates as JSON lines (``rate_id``, ``service_id``, carrier, service, price, delivery,
  ``protected``); services Amazon declined go to standard error.
* ``labels buy --order ID --rate RATE (--printer QUEUE | --zpl-host HOST[:PORT])
  [--preset NAME] [--format PDF|PNG|ZPL] [--dpi N] [--another]`` gets the rates again
  (a quote lives 10 minutes and only in the process that asked for it), buys the rate
  whose id or service id is RATE, prints the label from memory, and prints the shipment
  record (no PII) as JSON.  A label is never bought twice for an order: ``--another``
  asks for a second parcel's label on purpose.
* ``labels reprint --shipment ID (--printer … | --zpl-host …)`` downloads the label again
  from Amazon (nothing of it was kept) and prints it.
* ``labels void --shipment ID``; ``labels track --shipment ID`` (where the parcel is; a
  delivery dates the order); ``labels list [--order ID]`` (JSON lines).

The label itself (it holds the buyer's address) is never written anywhere: it goes from
Amazon's answer in memory to ``lp``'s standard input or the printer's socket.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from app.amazon.spapi.shipping import DocumentSpec, LabelFormat, Rate, RateQuote
from app.cli.terminal import open_cli_services, sign_in_on_terminal
from app.errors import UserError
from app.fulfillment.models import PackagePreset, Shipment, ShipmentState
from app.fulfillment.printers import PrinterKind, parse_printer_address, printer_status
from app.fulfillment.printing import (
    PrintTarget,
    job_title,
    label_of,
    print_shipment,
    saved_settings,
)
from app.fulfillment.service import AlreadyBought, PurchaseUncertain


def register(sub: Any) -> None:
    parser = sub.add_parser("labels", help="Amazon shipping labels: rates, buy, reprint, void")
    cmds = parser.add_subparsers(dest="labels_command", metavar="ACTION", required=True)

    rates = cmds.add_parser("rates", help="print Amazon's rates for an order (JSON lines)")
    rates.add_argument("--order", required=True, metavar="ID")
    _package_args(rates)
    rates.set_defaults(func=cmd_rates)

    buy = cmds.add_parser("buy", help="buy a label and print it")
    buy.add_argument("--order", required=True, metavar="ID")
    buy.add_argument("--rate", required=True, metavar="RATE", help="rate id or service id")
    _package_args(buy)
    buy.add_argument("--format", choices=[f.value for f in LabelFormat], type=str.upper)
    buy.add_argument("--dpi", type=int, choices=(203, 300), help="ZPL/PNG resolution")
    buy.add_argument("--another", action="store_true", help="buy even though the order has a label")
    _printer_args(buy)
    buy.set_defaults(func=cmd_buy)

    reprint = cmds.add_parser("reprint", help="download a bought label again and print it")
    reprint.add_argument("--shipment", required=True, metavar="ID")
    _printer_args(reprint)
    reprint.set_defaults(func=cmd_reprint)

    void = cmds.add_parser("void", help="void (cancel) a bought label at Amazon")
    void.add_argument("--shipment", required=True, metavar="ID")
    void.set_defaults(func=cmd_void)

    track = cmds.add_parser("track", help="ask Amazon where a parcel is (and when delivered)")
    track.add_argument("--shipment", required=True, metavar="ID")
    track.set_defaults(func=cmd_track)

    listing = cmds.add_parser("list", help="the labels bought (JSON lines, newest first)")
    listing.add_argument("--order", metavar="ID")
    listing.set_defaults(func=cmd_list)


def _package_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--preset", metavar="NAME", help="package preset (default: the SKU's, else the store's)"
    )
    parser.add_argument("--ship-date", type=date.fromisoformat, metavar="YYYY-MM-DD")


def _printer_args(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--printer", metavar="QUEUE", help="a CUPS printer (queue name)")
    where.add_argument(
        "--zpl-host", metavar="HOST[:PORT]", help="a thermal printer's raw port (ZPL)"
    )


# --- commands --------------------------------------------------------------------------


def cmd_rates(args: argparse.Namespace) -> int:
    with open_cli_services(args) as services:
        actor = sign_in_on_terminal(services.auth).actor
        quote = _quote(services, actor, args)
        for rate in sorted(quote.rates, key=lambda r: r.total.amount):
            print(json.dumps(_rate_json(rate), ensure_ascii=False))
        for skipped in quote.ineligible:
            reasons = "; ".join(skipped.reasons) or "no reason given"
            print(
                f"not offered: {skipped.carrier_name} {skipped.service_name} ({reasons})",
                file=sys.stderr,
            )
        if not quote.rates:
            print("Amazon offers no service for this order and package.", file=sys.stderr)
            return 2
        return 0


def cmd_buy(args: argparse.Namespace) -> int:
    target = _target(args)
    with open_cli_services(args) as services:
        actor = sign_in_on_terminal(services.auth).actor
        for order in services.labels.shippable(actor, [args.order]).result():
            # Said before Amazon is asked: once bought, Amazon offers no rates any more.
            if order.existing is not None and order.existing.state is ShipmentState.UNCERTAIN:
                raise PurchaseUncertain(order.existing)
            if order.existing is not None and not args.another:
                raise AlreadyBought(order.existing)
        quote = _quote(services, actor, args)
        rate = next(
            (r for r in quote.rates if args.rate in (r.rate_id, r.service_id)),
            None,
        )
        if rate is None:
            offered = ", ".join(sorted(r.service_id for r in quote.rates)) or "none"
            raise UserError(
                f"Amazon does not offer “{args.rate}” for this order now. Offered: {offered}. "
                "Run `muttefik labels rates` for the current rate ids."
            )
        defaults = services.labels.read(actor, lambda r: r.defaults(_store_of(r, args.order)))
        spec = defaults.result().document_spec()
        if args.format:
            spec = DocumentSpec(
                format=LabelFormat(args.format),
                dpi=args.dpi or spec.dpi,
                packing_slip=spec.packing_slip,
            )
        elif args.dpi:
            spec = replace(spec, dpi=args.dpi)
        bought = services.labels.buy(
            actor,
            args.order,
            quote,
            rate.rate_id,
            spec=spec,
            preset=getattr(args, "preset_used", None),
            another=args.another,
        )
        print(json.dumps(_shipment_json(bought.shipment), ensure_ascii=False))
        sys.stdout.flush()
        documents, source = bought.documents, "memory"
        if not documents:  # bought, but Amazon's answer held no label: download it
            documents, source = services.labels.documents(actor, bought.shipment.id)
        return _print(services, actor, bought.shipment, documents, target, source)


def cmd_reprint(args: argparse.Namespace) -> int:
    target = _target(args)
    with open_cli_services(args) as services:
        actor = sign_in_on_terminal(services.auth).actor
        shipment = _find(services, actor, args.shipment)
        documents, source = services.labels.documents(actor, shipment.id)
        return _print(services, actor, shipment, documents, target, source)


def cmd_void(args: argparse.Namespace) -> int:
    with open_cli_services(args) as services:
        actor = sign_in_on_terminal(services.auth).actor
        shipment = _find(services, actor, args.shipment)
        voided = services.labels.void(actor, shipment.id)
        print(json.dumps(_shipment_json(voided), ensure_ascii=False))
        return 0


def cmd_track(args: argparse.Namespace) -> int:
    with open_cli_services(args) as services:
        actor = sign_in_on_terminal(services.auth).actor
        shipment = _find(services, actor, args.shipment)
        updated = services.labels.refresh_tracking(actor, shipment.id)
        print(json.dumps(_shipment_json(updated), ensure_ascii=False))
        return 0


def cmd_list(args: argparse.Namespace) -> int:
    with open_cli_services(args) as services:
        actor = sign_in_on_terminal(services.auth).actor
        if args.order:
            found = services.labels.shipments(actor, [args.order]).result()
        else:
            found = services.labels.read(actor, lambda r: r.recent(1000)).result()
        for shipment in found:
            print(json.dumps(_shipment_json(shipment), ensure_ascii=False))
        return 0


# --- helpers -----------------------------------------------------------------------------


def _quote(services: Any, actor: Any, args: argparse.Namespace) -> RateQuote:
    def package(reader: Any) -> PackagePreset | None:
        orders = reader.shippable([args.order])
        if not orders:
            return None
        if args.preset:
            return next(
                (
                    p
                    for p in reader.presets(orders[0].store_id)
                    if p.name.casefold() == args.preset.casefold()
                ),
                None,
            )
        return orders[0].preset  # type: ignore[no-any-return]

    preset = services.labels.read(actor, package).result()
    if preset is None:
        if args.preset:
            raise UserError(f"There is no package preset named “{args.preset}” for this store.")
        found = services.labels.shippable(actor, [args.order]).result()
        if not found:
            raise UserError(
                f"Order {args.order} is not in Müttefik Desk (or not in your stores). "
                "Sync first: `muttefik sync`."
            )
        raise UserError(
            "This order has no package preset (none for its SKU, no store default). Give one "
            "with --preset, or save one in the app (Tools → Shipping…)."
        )
    args.preset_used = preset.name
    quote: RateQuote = services.labels.get_rates(
        actor, args.order, preset, ship_date=args.ship_date
    )
    return quote


def _store_of(reader: Any, order_id: str) -> int:
    orders = reader.shippable([order_id])
    return int(orders[0].store_id) if orders else 0


def _find(services: Any, actor: Any, ref: str) -> Shipment:
    found: Shipment | None = services.labels.read(actor, lambda r: r.find(ref)).result()
    if found is None:
        raise UserError(f"No label with shipment id {ref} (see `muttefik labels list`).")
    return found


def _target(args: argparse.Namespace) -> PrintTarget:
    if args.zpl_host:
        host, port = parse_printer_address(args.zpl_host)
        return PrintTarget(name=args.zpl_host, kind=PrinterKind.ZPL_TCP, address=f"{host}:{port}")
    return PrintTarget(name=args.printer)


def _print(
    services: Any,
    actor: Any,
    shipment: Shipment,
    documents: Any,
    target: PrintTarget,
    source: str,
) -> int:
    """Print the label; a printer problem leaves the label bought and says how to retry."""
    saved = {
        name: settings
        for name, _kind, _address, settings in services.labels.read(
            actor, lambda r: r.printers()
        ).result()
    }
    settings = saved_settings(saved.get(target.name, "{}"))  # paper, scale, dpi
    label = label_of(documents)
    retry = (
        f"--zpl-host {target.address}"
        if target.kind is PrinterKind.ZPL_TCP
        else f"--printer {target.name}"
    )
    try:
        if target.kind is PrinterKind.CUPS:  # a raw queue takes ZPL, a regular one PDF/PNG
            target = PrintTarget(target.name, raw=printer_status(target.name).raw)
        job = print_shipment(target, documents, settings, job_title(shipment.order_id))
    except UserError as exc:
        print(
            f"The label is bought but was not printed: {exc.message}\n"
            f"Print it again with: muttefik labels reprint --shipment {shipment.shipment_id} "
            f"{retry}",
            file=sys.stderr,
        )
        return 2
    services.labels.record_printed(
        actor, shipment.id, printer=target.name, label_format=str(label.format), source=source
    )
    print(f"Printed on {target.describe()} ({job}).", file=sys.stderr)
    return 0


def _amount(amount: Decimal, currency: str) -> str:
    """An amount as prices are written: cents always shown ("4.70"), none for yen."""
    return f"{amount:.0f}" if currency == "JPY" else f"{amount:.2f}"


def _rate_json(rate: Rate) -> dict[str, Any]:
    return {
        "rate_id": rate.rate_id,
        "service_id": rate.service_id,
        "carrier": rate.carrier_name,
        "service": rate.service_name,
        "price": _amount(rate.total.amount, rate.total.currency),
        "currency": rate.total.currency,
        "delivery_start": rate.delivery_start.isoformat() if rate.delivery_start else None,
        "delivery_end": rate.delivery_end.isoformat() if rate.delivery_end else None,
        "protected": rate.protected,
        "formats": [str(f) for f in rate.formats],
    }


def _shipment_json(s: Shipment) -> dict[str, Any]:
    return {
        "id": s.id,
        "order_id": s.order_id,
        "shipment_id": s.shipment_id,
        "state": str(s.state),
        "carrier": s.carrier,
        "service": s.service,
        "tracking_id": s.tracking_id,
        "cost": _amount(s.cost.amount, s.cost.currency) if s.cost else None,
        "currency": s.cost.currency if s.cost else None,
        "label_format": str(s.label_format),
        "operator": s.operator_name,
        "created_at": s.created_at.isoformat() if s.created_at else None,
        "voided": s.voided_at is not None,
        "printed": s.printed,
        "tracking_status": s.tracking_status,
        "delivered_at": s.delivered_at.isoformat() if s.delivered_at else None,
    }
