"""Settings: declared once, validated, stored in the vault, defaults when absent/invalid."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app import settings
from app.clock import FakeClock
from app.settings import REGISTRY, Setting
from app.vault import Vault


def test_every_declared_setting_has_a_valid_default_and_description() -> None:
    assert REGISTRY
    for key, setting in REGISTRY.items():
        assert setting.key == key
        assert setting.description
        assert setting.validate(setting.default) == setting.default


def test_declaring_a_key_twice_is_an_error() -> None:
    existing = next(iter(REGISTRY.values()))
    with pytest.raises(RuntimeError, match="declared twice"):
        settings.declare(Setting(existing.key, int, 1, "again"))


def test_validate_bounds_and_types() -> None:
    s = Setting("test.minutes", int, 10, "Minutes", 2, 60)
    assert s.validate("15") == 15
    with pytest.raises(ValueError, match="at least 2"):
        s.validate(1)
    with pytest.raises(ValueError, match="at most 60"):
        s.validate(61)
    with pytest.raises(ValueError, match="whole number"):
        s.validate(True)
    with pytest.raises(ValueError, match="expected int"):
        s.validate("ten")


def test_get_returns_default_then_stored_value(vault: Vault, clock: FakeClock) -> None:
    interval = settings.SYNC_INTERVAL_MINUTES
    assert vault.call(lambda c: settings.get(c, interval)) == interval.default
    vault.call_write(lambda c: settings.put(c, interval, 30, now=clock.now()))
    assert vault.call(lambda c: settings.get(c, interval)) == 30
    row = vault.call(
        lambda c: c.execute(
            "SELECT value, updated_at FROM settings WHERE key = ?", (interval.key,)
        ).fetchone()
    )
    assert json.loads(row[0]) == 30 and row[1] == clock.now().isoformat()


def test_put_refuses_invalid_values_and_keeps_the_old_one(vault: Vault, clock: FakeClock) -> None:
    interval = settings.SYNC_INTERVAL_MINUTES
    vault.call_write(lambda c: settings.put(c, interval, 20, now=clock.now()))
    with pytest.raises(ValueError):
        vault.call_write(lambda c: settings.put(c, interval, 1, now=clock.now()))
    assert vault.call(lambda c: settings.get(c, interval)) == 20


def test_a_stored_value_out_of_bounds_reads_as_the_default(vault: Vault) -> None:
    interval = settings.SYNC_INTERVAL_MINUTES

    def corrupt(conn: Any) -> None:
        conn.execute(
            "INSERT INTO settings(key, value, updated_at) VALUES (?, ?, 'x')",
            (interval.key, json.dumps(0)),
        )

    vault.call_write(corrupt)
    assert vault.call(lambda c: settings.get(c, interval)) == interval.default
