"""The audit log for operators: view (by sequence number), export, verify.

Kept apart from :mod:`app.audit` (the log itself), so that the log, which every service
writes to, imports nothing of auth: the permission rule lives here.

Reads go through :meth:`AuditService.read`: one DB job that first checks the caller
(:func:`app.access.current`, ``VIEW_AUDIT``) and then runs the caller's function with an
:class:`AuditReader`::

    future = service.read(actor, lambda r: r.entries(r.seqs(AuditFilter(), limit=50)))

The audit view pages by sequence number (``seqs`` newest first, ``entries`` by seq), not
by OFFSET: entries appended while it is open go on top and shift nothing below.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TextIO, TypeVar

from app import access
from app.audit import (
    ACTIONS,
    Action,
    ActionSpec,
    AuditEntry,
    AuditFilter,
    AuditLog,
    VerifyResult,
    format_time,
)
from app.auth.models import Actor
from app.auth.rbac import Permission

if TYPE_CHECKING:
    from app.vault import Vault

Conn = Any
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AuditReader:
    """The audit log's reads, bound to one DB job of a caller allowed to view it.

    Thread: DB thread (only inside the function given to :meth:`AuditService.read`).
    """

    conn: Conn
    log: AuditLog

    def seqs(
        self, filt: AuditFilter, *, below: int | None = None, limit: int | None = None
    ) -> list[int]:
        """Sequence numbers of matching entries, newest first (see :meth:`AuditLog.seqs`)."""
        return self.log.seqs(self.conn, filt, below=below, limit=limit)

    def entries(self, seqs: Sequence[int]) -> list[AuditEntry]:
        """The entries with these sequence numbers that still exist, newest first."""
        return self.log.entries(self.conn, seqs)


class AuditService:
    """Thread: any.  ``read`` returns a Future; ``export`` and ``verify`` block (run them
    on a worker or in the CLI)."""

    def __init__(self, *, vault: Vault, audit: AuditLog) -> None:
        self.vault = vault
        self.audit = audit

    def read(self, actor: Actor, fn: Callable[[AuditReader], T]) -> Future[T]:
        """Run ``fn(reader)`` on the DB thread, in one job, for an operator who may view
        the log (admins); raises ``PermissionDenied`` through the Future otherwise."""
        audit = self.audit

        def do(conn: Conn) -> T:
            access.current(conn, actor, Permission.VIEW_AUDIT)
            return fn(AuditReader(conn, audit))

        return self.vault.run(do)

    def export(
        self, actor: Actor, filt: AuditFilter, fmt: Literal["csv", "jsonl"], out: TextIO
    ) -> int:
        """Write the matching entries to ``out`` (admins only); the export is audited.
        ``out`` is written on the DB thread: pass a file, not a widget."""

        def do(conn: Conn) -> int:
            current = access.current(conn, actor, Permission.EXPORT_AUDIT)
            count = self.audit.export(conn, filt, fmt, out)
            self.audit.append(
                conn,
                actor_id=access.audit_actor_id(current),
                action=Action.AUDIT_EXPORTED,
                object_type="audit",
                details={
                    "format": fmt,
                    "since": format_time(filt.since) if filt.since else None,
                    "count": count,
                },
            )
            return count

        return self.vault.call_write(do)

    def verify(self) -> VerifyResult:
        """Walk the whole chain and compare its end with the record outside the file
        (reveals nothing, so no permission needed)."""
        return self.vault.call(self.audit.verify)

    def verify_against(self, lines: Iterable[str]) -> VerifyResult:
        """:meth:`AuditLog.verify_against` an export's lines (read by the caller)."""
        return self.vault.call(lambda conn: self.audit.verify_against(conn, lines))

    def actions(self) -> list[ActionSpec]:
        """Every known action, for the audit view's filter (no data: no permission)."""
        return sorted(ACTIONS.values(), key=lambda s: s.label)
