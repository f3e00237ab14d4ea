"""Types of reply drafting (``app/drafting``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Intent(StrEnum):
    WHERE_IS_MY_ORDER = "where_is_my_order"
    DELIVERY_PROBLEM = "delivery_problem"
    DAMAGED = "damaged"  # damaged or defective
    RETURN_REFUND = "return_refund"
    EXCHANGE_SIZE = "exchange_size"
    PRODUCT_QUESTION = "product_question"
    CANCELLATION = "cancellation"
    ADDRESS_CHANGE = "address_change"
    INVOICE_VAT = "invoice_vat"
    OTHER = "other"


class ProviderKind(StrEnum):
    TEMPLATES = "templates"  # built in, offline
    OPENAI = "openai"  # OpenAI-compatible chat completions (OpenAI, Azure, Ollama, …)
    ANTHROPIC = "anthropic"  # Anthropic Messages API


@dataclass(frozen=True)
class ProviderConfig:
    """A configured drafting provider (the API key lives in the keychain)."""

    name: str  # the seller's label, unique
    kind: ProviderKind
    base_url: str = ""
    model: str = ""
    timeout_seconds: float = 60.0
    extra: dict[str, str] = field(default_factory=dict)  # e.g. Azure api-version


@dataclass(frozen=True)
class OrderContext:
    """What a draft may know of the order: no buyer PII (no name, address, phone)."""

    order_id: str | None = None
    marketplace: str = ""  # e.g. "amazon.co.uk"
    status: str = ""
    items: tuple[str, ...] = ()  # titles
    skus: tuple[str, ...] = ()
    asins: tuple[str, ...] = ()
    purchase_date: str = ""
    ship_date: str = ""
    delivery_window: str = ""
    delivered_date: str = ""
    carrier: str = ""
    tracking: str = ""
    fulfillment: str = ""  # "Amazon" / "you"


@dataclass(frozen=True)
class Draft:
    text: str
    provider: str  # the provider's name ("Templates" for the built-in one)
    intent: Intent = Intent.OTHER
    language: str = "en"
    template_id: str | None = None
    placeholders: tuple[str, ...] = ()  # e.g. "[NAME]", "{buyer_first_name}" left in text
