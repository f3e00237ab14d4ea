"""The access/portability export against a real vault: the JSON holds the order with
its items, the messages and the reply, the shipment (never a label), deletion requests
and the audit entries about the order; the HTML escapes everything (a buyer's
``<script>`` stays text); the files are 0600 in the chosen folder and never replace one;
the export is audited without PII."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.audit import AuditFilter, make_audit_log
from app.auth.models import Actor
from app.auth.rbac import Role
from app.privacy import export, subjects
from app.privacy.models import RequestSource, Subject, SubjectKind
from app.privacy.subjects import SubjectService
from app.services import Core
from tests.helpers.emails import relay_alias
from tests.helpers.inbox import add_store, put_buyer_message, put_seller_reply
from tests.helpers.labels import put_order
from tests.helpers.operators import put_operator

ADMIN = Actor(id=1, username="ada", display_name="Ada", role=Role.ADMIN)
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ORDER = "111-0000001-0000001"
ALIAS = "qzexportbuyer"
SCRIPT = "<script>alert('x')</script>"


@pytest.fixture
def service(core: Core) -> SubjectService:
    add_store(core.vault)
    put_operator(core.vault, ADMIN)
    audit = make_audit_log(
        core.vault, core.secrets, clock=core.clock, key=core.vault.audit_key, notices=core.notices
    )
    put_order(core.vault, ORDER)
    put_order(core.vault, "111-0000009-0000009")  # another buyer's: not exported
    put_buyer_message(
        core.vault,
        now=NOW,
        received=NOW - timedelta(hours=2),
        alias=ALIAS,
        order_id=ORDER,
        text=f"My parcel? {SCRIPT} & more",
        buyer="Quintessa",
    )
    put_seller_reply(
        core.vault,
        now=NOW,
        sent=NOW - timedelta(hours=1),
        alias=ALIAS,
        order_id=ORDER,
        text="It left today.",
    )

    def shipment(conn: Any) -> None:
        conn.execute(
            "INSERT INTO shipments(store_id, order_id, state, carrier, tracking_id, "
            "label_format, created_at) VALUES (1, ?, 'bought', 'USPS', 'TRK123', 'PDF', "
            "'2026-11-01T00:00:00Z')",
            (ORDER,),
        )
        audit.append(conn, actor_id=1, action="label_printed", object_type="order", object_id=ORDER)

    core.vault.call_write(shipment)
    return SubjectService(
        vault=core.vault, clock=core.clock, notices=core.notices, audit=audit, secrets=core.secrets
    )


def test_export_of_an_order_holds_order_messages_shipments_requests_and_audit(
    service: SubjectService,
) -> None:
    order = Subject(SubjectKind.ORDER, ORDER)
    service.register(ADMIN, RequestSource.BUYER, order, NOW)
    data = service.export(ADMIN, order)

    assert data["format"] == export.FORMAT
    assert [o["order_id"] for o in data["orders"]] == [ORDER]
    assert data["orders"][0]["items"][0]["sku"] == "MUG-BLUE"
    (thread,) = data["threads"]
    assert thread["alias"] == relay_alias(ALIAS)
    assert [m["direction"] for m in thread["messages"]] == ["in", "out"]
    assert SCRIPT in thread["messages"][0]["body"]
    assert thread["messages"][1]["body"].startswith("It left today.")
    assert [s["tracking_id"] for s in data["shipments"]] == ["TRK123"]
    assert [r["source"] for r in data["deletion_requests"]] == ["buyer"]
    actions = [e["action"] for e in data["audit_entries"]]
    assert "label_printed" in actions and "deletion_request_registered" in actions
    json.dumps(data)  # JSON-ready as it is


def test_export_by_alias_finds_its_orders_and_its_done_requests(service: SubjectService) -> None:
    alias = Subject(SubjectKind.ALIAS, relay_alias(ALIAS))
    request = service.register(ADMIN, RequestSource.BUYER, alias, NOW, including_messages=True)
    data = service.export(ADMIN, alias)
    assert [o["order_id"] for o in data["orders"]] == [ORDER]
    assert [r["id"] for r in data["deletion_requests"]] == [request.id]

    service.execute(ADMIN, request.id)
    after = service.export(ADMIN, alias)
    assert after["threads"] == [] and after["orders"] == []
    # The done request keeps only the alias's keyed hash, and is still found by it.
    (done,) = after["deletion_requests"]
    assert done["state"] == "done" and done["subject"].startswith(subjects.HASH_PREFIX)


def test_write_export_files_are_private_escaped_and_audited(
    service: SubjectService, tmp_path: Path
) -> None:
    folder = tmp_path / "answers"
    folder.mkdir()
    written = service.write_export(ADMIN, Subject(SubjectKind.ORDER, ORDER), folder)

    assert [p.name for p in written] == ["export.json", "export.html"]
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(written[0].read_text(encoding="utf-8"))
    assert data["orders"][0]["order_id"] == ORDER
    page = written[1].read_text(encoding="utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in page
    assert "default-src 'none'" in page
    assert sorted(p.name for p in folder.iterdir()) == ["export.html", "export.json"]

    entries = service.vault.call(
        lambda c: service.audit.entries(
            c, service.audit.seqs(c, AuditFilter(action=subjects.SUBJECT_EXPORTED))
        )
    )
    assert [(e.object_id, e.details) for e in entries] == [
        (ORDER, {"kind": "order", "format": "files", "files": 2})
    ]


def test_write_export_never_replaces_a_file_and_needs_a_folder(
    service: SubjectService, tmp_path: Path
) -> None:
    order = Subject(SubjectKind.ORDER, ORDER)
    (tmp_path / "export.html").write_text("mine")
    with pytest.raises(export.ExportExists):
        service.write_export(ADMIN, order, tmp_path)
    assert (tmp_path / "export.html").read_text() == "mine"
    assert not (tmp_path / "export.json").exists()  # the half-done export is gone
    with pytest.raises(export.ExportFolderInvalid):
        service.write_export(ADMIN, order, tmp_path / "missing")
    entries = service.vault.call(
        lambda c: service.audit.seqs(c, AuditFilter(action=subjects.SUBJECT_EXPORTED))
    )
    assert entries == []  # nothing handed out, nothing audited
