"""The one label dispatch: a shipment's label, then Amazon's packing slip on the same
printer; the store's defaults ask Amazon for the slip."""

from __future__ import annotations

from app.amazon.spapi.shipping import DocumentType, LabelDocument, LabelFormat
from app.fulfillment.models import ShippingDefaults
from app.fulfillment.printers import PrintSettings
from app.fulfillment.printing import PrintTarget, label_of, print_shipment

LABEL = LabelDocument(DocumentType.LABEL, LabelFormat.PDF, b"%PDF label")
SLIP = LabelDocument(DocumentType.PACKSLIP, LabelFormat.PDF, b"%PDF slip")


def test_the_label_prints_first_then_amazon_s_packing_slip_on_the_same_printer() -> None:
    sent: list[tuple[str, bytes, str]] = []

    def fake(target: PrintTarget, doc: LabelDocument, settings: PrintSettings, title: str) -> str:
        sent.append((target.name, doc.data, title))
        return f"Office-{len(sent)}"

    jobs = print_shipment(PrintTarget("Office"), (SLIP, LABEL), PrintSettings(), "Order 1", fake)
    assert sent == [("Office", b"%PDF label", "Order 1"), ("Office", b"%PDF slip", "Order 1")]
    assert jobs == "Office-1, Office-2"
    sent.clear()
    print_shipment(PrintTarget("Office"), (LABEL,), PrintSettings(), "Order 1", fake)
    assert [data for _n, data, _t in sent] == [b"%PDF label"]


def test_the_label_is_found_among_the_documents() -> None:
    assert label_of((SLIP, LABEL)) is LABEL


def test_the_store_s_defaults_ask_amazon_for_its_packing_slip() -> None:
    assert not ShippingDefaults(store_id=1).document_spec().packing_slip
    spec = ShippingDefaults(store_id=1, label_format=LabelFormat.ZPL, dpi=300, packing_slip=True)
    assert (spec.document_spec().format, spec.document_spec().dpi) == (LabelFormat.ZPL, 300)
    assert spec.document_spec().packing_slip
