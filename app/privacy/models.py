"""What the privacy engine records and hands out.  None of it holds buyer PII (an open
deletion request's alias is the one exception, until it is carried out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class RunKind(StrEnum):
    PURGE = "purge"
    ERASE = "erase"


class RunState(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class PurgeCounts:
    """What one purge (or erase) changed, by kind.  Also the dry run's "would change"."""

    threads: int = 0  # threads whose buyer PII was erased
    messages: int = 0  # message subjects/bodies re-written (redacted)
    drafts: int = 0  # thread drafts cleared or redacted
    attachments: int = 0  # attachment rows whose file name was removed
    label_cache: int = 0  # cached (encrypted) label documents deleted
    audit_entries: int = 0  # audit entries past their retention
    messages_deleted: int = 0  # messages deleted (a deletion request that asks for it)

    def total(self) -> int:
        return sum(vars(self).values())

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


@dataclass(frozen=True)
class PurgeRun:
    id: int
    kind: RunKind
    started_at: datetime
    as_of: datetime
    state: RunState
    dry_run: bool = False
    finished_at: datetime | None = None
    counts: PurgeCounts = field(default_factory=PurgeCounts)
    error: str | None = None


@dataclass(frozen=True)
class PiiAge:
    """Buyer PII still held, for the privacy view: how many threads by age band, and
    the one due first."""

    due_in_7_days: int = 0
    due_later: int = 0
    overdue: int = 0  # past its deadline: the purge has not erased it (the view warns)
    oldest_deadline: datetime | None = None


class RequestSource(StrEnum):
    AMAZON = "amazon"  # Amazon forwarded a buyer's request (due in 72 h by default)
    SELLER = "seller"  # the seller's own decision
    BUYER = "buyer"  # a buyer asked the seller directly


class SubjectKind(StrEnum):
    ORDER = "order"
    ALIAS = "alias"


@dataclass(frozen=True)
class Subject:
    kind: SubjectKind
    value: str = field(repr=False)  # an order id, or a relay alias (PII)


class RequestState(StrEnum):
    OPEN = "open"
    DONE = "done"


@dataclass(frozen=True)
class DeletionRequest:
    id: int
    source: RequestSource
    subject: Subject  # the alias is replaced by a keyed hash once done
    received_at: datetime
    due_at: datetime
    including_messages: bool
    state: RequestState
    store_id: int | None = None
    completed_at: datetime | None = None
    counts: PurgeCounts | None = None
    note: str = ""
