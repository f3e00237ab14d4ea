"""The access and portability export: everything the app holds about one data subject
(an order, or a buyer's relay alias) as ``export.json`` and a readable ``export.html``.

:func:`collect` reads it in one DB hop (the order with its items, packages and
shipments — never a label —, the threads with their messages and replies, attachment
metadata, deletion requests, and the audit entries about the order, its threads and its
requests).  :func:`write` puts the two files into the folder the seller chose, created
0600 and never over an existing file; nothing goes through a temp file.  The HTML
escapes every value and forbids scripts by its content security policy.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from app.amazon.orders_repo import to_db_time
from app.audit import AuditLog
from app.errors import UserError
from app.privacy.models import Subject, SubjectKind

Conn = Any

FORMAT = "muttefik-subject-export/1"
FILE_NAMES = ("export.json", "export.html")


class ExportFolderInvalid(UserError):
    title = "Folder not found"
    message = "The export folder does not exist or is not a folder. Choose another one."


class ExportExists(UserError):
    title = "Export already there"
    message = (
        "The folder already holds an export.json or export.html. Choose an empty folder, "
        "or move the earlier export first."
    )


def _rows(conn: Conn, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    cur = conn.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [
        {n: (v.hex() if isinstance(v, bytes) else v) for n, v in zip(names, row, strict=True)}
        for row in cur.fetchall()
    ]


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))


def collect(
    conn: Conn,
    audit: AuditLog,
    subject: Subject,
    *,
    thread_ids: Sequence[int],
    now: datetime,
    hashed: str | None = None,
) -> dict[str, Any]:
    """What the app holds about ``subject`` (DB thread; the caller checked the
    permission).  ``thread_ids``: the subject's threads; ``hashed``: an alias's
    ``alias-hash:…``, to find its completed deletion requests."""
    threads = _rows(
        conn, f"SELECT * FROM threads WHERE id IN ({_marks(thread_ids)}) ORDER BY id", thread_ids
    )
    for thread in threads:
        messages = _rows(
            conn,
            "SELECT * FROM messages WHERE thread_id = ? ORDER BY received_at, id",
            (thread["id"],),
        )
        for message in messages:
            message["attachments"] = _rows(
                conn,
                "SELECT part, filename, content_type, size FROM attachments "
                "WHERE message_rowid = ? ORDER BY part",
                (message["id"],),
            )
        thread["messages"] = messages
    if subject.kind is SubjectKind.ORDER:
        order_ids = [subject.value]
    else:
        order_ids = sorted({t["order_id"] for t in threads if t["order_id"]})
    orders = _rows(
        conn,
        f"SELECT * FROM orders WHERE order_id IN ({_marks(order_ids)}) ORDER BY order_id",
        order_ids,
    )
    for order in orders:
        order["items"] = _rows(
            conn,
            "SELECT * FROM order_items WHERE order_rowid = ? ORDER BY position",
            (order["id"],),
        )
        packages = _rows(
            conn,
            "SELECT * FROM packages WHERE order_rowid = ? ORDER BY package_ref",
            (order["id"],),
        )
        for package in packages:
            package["items"] = _rows(
                conn,
                "SELECT position, order_item_id, quantity FROM package_items "
                "WHERE order_rowid = ? AND package_ref = ? ORDER BY position",
                (order["id"], package["package_ref"]),
            )
        order["packages"] = packages
    shipments = _rows(
        conn,
        f"SELECT * FROM shipments WHERE order_id IN ({_marks(order_ids)}) ORDER BY id",
        order_ids,
    )
    aliases = sorted(
        {t["alias"] for t in threads}
        | ({subject.value} if subject.kind is SubjectKind.ALIAS else set())
    )
    if hashed:
        aliases.append(hashed)
    requests = _rows(
        conn,
        "SELECT * FROM deletion_requests WHERE "
        f"(subject_kind = 'order' AND subject IN ({_marks(order_ids)})) OR "
        f"(subject_kind = 'alias' AND subject IN ({_marks(aliases)})) ORDER BY id",
        [*order_ids, *aliases],
    )
    about = (
        [("order", o) for o in order_ids]
        + [("thread", str(t["id"])) for t in threads]
        + [("deletion_request", str(r["id"])) for r in requests]
        + [("message", str(m["id"])) for t in threads for m in t["messages"]]
    )
    seqs: list[int] = []
    for kind, object_id in about:
        seqs.extend(
            int(r[0])
            for r in conn.execute(
                "SELECT seq FROM audit_log WHERE object_type = ? AND object_id = ?",
                (kind, object_id),
            )
        )
    entries = [
        {
            "seq": e.seq,
            "at": to_db_time(e.at),
            "action": e.action,
            "label": e.label,
            "by": e.actor_username or ("system" if e.actor_id is None else e.actor_id),
            "object_type": e.object_type,
            "object_id": e.object_id,
            "details": e.details,
        }
        for e in sorted(audit.entries(conn, set(seqs)), key=lambda e: e.seq)
    ]
    return {
        "format": FORMAT,
        "exported_at": to_db_time(now),
        "subject": {"kind": str(subject.kind), "value": subject.value},
        "orders": orders,
        "shipments": shipments,
        "threads": threads,
        "deletion_requests": requests,
        "audit_entries": entries,
    }


# --- files ------------------------------------------------------------------------------


def write(data: dict[str, Any], folder: Path) -> list[Path]:
    """``export.json`` and ``export.html`` in ``folder`` (0600, never replacing a file;
    on failure nothing is left behind).  Returns their paths."""
    if not folder.is_dir():
        raise ExportFolderInvalid(detail="export folder missing")
    contents = {
        "export.json": json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n",
        "export.html": render_html(data),
    }
    written: list[Path] = []
    try:
        for name in FILE_NAMES:
            path = folder / name
            _write_private(path, contents[name].encode("utf-8"))
            written.append(path)
    except FileExistsError:
        _remove(written)
        raise ExportExists(detail="export file exists") from None
    except BaseException:
        _remove(written)
        raise
    return written


def _write_private(path: Path, data: bytes) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


# --- the readable copy ------------------------------------------------------------------

_STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:60em}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}"
    "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}"
    ".text{white-space:pre-wrap;border-left:3px solid #ccc;padding-left:.7em}"
)
_SECTIONS = (
    ("orders", "Orders"),
    ("shipments", "Shipments (labels are never kept)"),
    ("threads", "Messages"),
    ("deletion_requests", "Deletion requests"),
    ("audit_entries", "Activity recorded about it"),
)


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _table(record: dict[str, Any]) -> str:
    rows = []
    for key, value in record.items():
        if isinstance(value, list) or key == "body":
            continue  # nested records get their own section, a message's text its block
        shown = json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else value
        rows.append(f"<tr><th>{_e(key)}</th><td>{_e(shown)}</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


def _record(record: dict[str, Any], level: int) -> str:
    parts = [_table(record)]
    for key, value in record.items():
        if isinstance(value, list) and value:
            parts.append(f"<h{level}>{_e(key.replace('_', ' ').capitalize())}</h{level}>")
            parts.extend(_record(item, min(level + 1, 6)) for item in value)
        if key == "body" and value:
            parts.append(f'<div class="text">{_e(value)}</div>')
    return "".join(parts)


def render_html(data: dict[str, Any]) -> str:
    """The export as one HTML page; every value escaped, no script allowed to run."""
    subject = data["subject"]
    what = "order " if subject["kind"] == "order" else "relay address "
    out = [
        '<!DOCTYPE html><html><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">",
        f"<title>Data held about {_e(what + subject['value'])}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Data held about {_e(what + subject['value'])}</h1>",
        f"<p>Exported {_e(data['exported_at'])} by Müttefik Desk.</p>",
    ]
    for key, title in _SECTIONS:
        items = data.get(key) or []
        out.append(f"<h2>{_e(title)}</h2>")
        if not items:
            out.append("<p>None.</p>")
        out.extend(_record(item, 3) for item in items)
    out.append("</body></html>\n")
    return "".join(out)
