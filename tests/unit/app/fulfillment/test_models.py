"""The shipment record's words."""

from __future__ import annotations

from app.fulfillment.models import service_text


def test_a_service_named_after_its_carrier_is_not_named_twice() -> None:
    assert service_text("UPS", "Ground") == "UPS Ground"
    assert service_text("Amazon Shipping", "Amazon Shipping Ground") == "Amazon Shipping Ground"
    assert service_text(None, None) == "—"
