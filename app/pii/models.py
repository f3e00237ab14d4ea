"""Types of the PII engine (``app/pii``): what we know about a buyer, what was found."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    NAME = "name"
    ADDRESS = "address"
    PHONE = "phone"
    EMAIL = "email"


#: The placeholder each kind is replaced with.
PLACEHOLDER = {
    Kind.NAME: "[NAME]",
    Kind.ADDRESS: "[ADDRESS]",
    Kind.PHONE: "[PHONE]",
    Kind.EMAIL: "[EMAIL]",
}


@dataclass(frozen=True)
class KnownPII:
    """What we know about one thread's buyer (held in memory only)."""

    names: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()  # the relay alias too

    def __bool__(self) -> bool:
        return bool(self.names or self.addresses or self.phones or self.emails)


#: The default of ``redact(text, known=...)``: nothing known about the buyer.
NOTHING_KNOWN = KnownPII()


@dataclass(frozen=True)
class Found:
    kind: Kind
    start: int  # offsets into the input text
    end: int


@dataclass(frozen=True)
class Redaction:
    text: str  # the input with placeholders
    found: tuple[Found, ...] = ()
