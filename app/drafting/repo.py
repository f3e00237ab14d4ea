"""Stored drafting settings: the seller's templates, AI providers and knowledge base
(tables of migration v0011).  Every function takes ``conn`` and runs on the DB thread
inside the caller's transaction; nothing here checks a caller (the service does).
No buyer PII is stored here; API keys are in the keychain.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from app.amazon.orders_repo import to_db_time
from app.drafting.models import Intent, ProviderConfig, ProviderKind
from app.drafting.prompt import Knowledge
from app.drafting.templates import Template

Conn = Any

_TEMPLATE_COLUMNS = "id, title, intent, language, body, tags"
_PROVIDER_COLUMNS = "name, kind, base_url, model, timeout_seconds, extra"


# --- templates --------------------------------------------------------------------------


def _template(r: Any) -> Template:
    try:
        intent = Intent(r[2])
    except ValueError:
        intent = Intent.OTHER
    return Template(
        id=str(r[0]),
        title=r[1],
        intent=intent,
        language=r[3],
        body=r[4],
        tags=tuple(str(t) for t in json.loads(r[5] or "[]")),
        builtin=False,
    )


def load_templates(conn: Conn) -> list[Template]:
    """The seller's templates, by title."""
    return [
        _template(r)
        for r in conn.execute(
            f"SELECT {_TEMPLATE_COLUMNS} FROM drafting_templates ORDER BY title COLLATE NOCASE, id"
        )
    ]


def load_template(conn: Conn, template_id: str) -> Template | None:
    if not template_id.isdigit():
        return None
    r = conn.execute(
        f"SELECT {_TEMPLATE_COLUMNS} FROM drafting_templates WHERE id = ?", (int(template_id),)
    ).fetchone()
    return None if r is None else _template(r)


def save_template(conn: Conn, template: Template, now: datetime) -> Template | None:
    """Insert (``id`` empty) or update; returns the stored template, ``None`` if the
    id names no stored template."""
    stamp = to_db_time(now)
    values = (
        template.title,
        str(template.intent),
        template.language,
        template.body,
        json.dumps(list(template.tags), ensure_ascii=False),
    )
    if not template.id:
        cur = conn.execute(
            "INSERT INTO drafting_templates(title, intent, language, body, tags, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (*values, stamp, stamp),
        )
        return load_template(conn, str(cur.lastrowid))
    if not template.id.isdigit():
        return None
    cur = conn.execute(
        "UPDATE drafting_templates SET title = ?, intent = ?, language = ?, body = ?, "
        "tags = ?, updated_at = ? WHERE id = ?",
        (*values, stamp, int(template.id)),
    )
    return load_template(conn, template.id) if cur.rowcount else None


def delete_template(conn: Conn, template_id: str) -> bool:
    if not template_id.isdigit():
        return False
    cur = conn.execute("DELETE FROM drafting_templates WHERE id = ?", (int(template_id),))
    return bool(cur.rowcount)


# --- providers --------------------------------------------------------------------------


def _provider(r: Any) -> ProviderConfig:
    return ProviderConfig(
        name=r[0],
        kind=ProviderKind(r[1]),
        base_url=r[2],
        model=r[3],
        timeout_seconds=float(r[4]),
        extra={str(k): str(v) for k, v in json.loads(r[5] or "{}").items()},
    )


def load_providers(conn: Conn) -> list[ProviderConfig]:
    """The seller's providers (not the built-in templates), by name."""
    return [
        _provider(r)
        for r in conn.execute(
            f"SELECT {_PROVIDER_COLUMNS} FROM drafting_providers ORDER BY name COLLATE NOCASE"
        )
    ]


def load_provider(conn: Conn, name: str) -> ProviderConfig | None:
    r = conn.execute(
        f"SELECT {_PROVIDER_COLUMNS} FROM drafting_providers WHERE name = ?", (name,)
    ).fetchone()
    return None if r is None else _provider(r)


def provider_id(conn: Conn, name: str) -> int | None:
    r = conn.execute("SELECT id FROM drafting_providers WHERE name = ?", (name,)).fetchone()
    return None if r is None else int(r[0])


def save_provider(conn: Conn, config: ProviderConfig, now: datetime) -> tuple[int, str]:
    """Insert or update by name (case-insensitive; an update keeps the stored name, which
    names the keychain entry); returns ``(row id, stored name)``."""
    stamp = to_db_time(now)
    values = (
        str(config.kind),
        config.base_url,
        config.model,
        float(config.timeout_seconds),
        json.dumps(dict(config.extra), sort_keys=True),
    )
    old = provider_id(conn, config.name)
    if old is None:
        cur = conn.execute(
            f"INSERT INTO drafting_providers({_PROVIDER_COLUMNS}, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (config.name, *values, stamp, stamp),
        )
        return int(cur.lastrowid), config.name
    conn.execute(
        "UPDATE drafting_providers SET kind = ?, base_url = ?, model = ?, "
        "timeout_seconds = ?, extra = ?, updated_at = ? WHERE id = ?",
        (*values, stamp, old),
    )
    return old, str(
        conn.execute("SELECT name FROM drafting_providers WHERE id = ?", (old,)).fetchone()[0]
    )


def delete_provider(conn: Conn, name: str) -> tuple[int, str] | None:
    """Remove the provider named ``name`` (any case); its row id and stored name, or
    ``None`` if there was none."""
    r = conn.execute("SELECT id, name FROM drafting_providers WHERE name = ?", (name,)).fetchone()
    if r is None:
        return None
    conn.execute("DELETE FROM drafting_providers WHERE id = ?", (r[0],))
    return int(r[0]), str(r[1])


# --- knowledge --------------------------------------------------------------------------


def load_knowledge(conn: Conn) -> Knowledge:
    r = conn.execute("SELECT tone, policies FROM drafting_knowledge WHERE id = 1").fetchone()
    return Knowledge() if r is None else Knowledge(tone=r[0], policies=r[1])


def save_knowledge(conn: Conn, knowledge: Knowledge, now: datetime) -> None:
    conn.execute(
        "INSERT INTO drafting_knowledge(id, tone, policies, updated_at) VALUES (1, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET tone = excluded.tone, policies = excluded.policies, "
        "updated_at = excluded.updated_at",
        (knowledge.tone, knowledge.policies, to_db_time(now)),
    )
