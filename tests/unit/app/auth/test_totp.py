"""TOTP: ±1 time step accepted, ±2 rejected, a used step never accepted again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from app.auth import totp
from app.clock import FakeClock
from app.errors import CodeRejected
from app.vault import Vault
from tests.helpers.world import ADMIN_PW, World, make_world

NOW = datetime(2026, 11, 1, 12, 0, 10, tzinfo=UTC)
# Fixed, so the codes of neighbouring steps are known to differ (a random secret collides
# about once in 300,000 runs, and a test must not depend on luck).
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
def world(vault: Vault, clock: FakeClock) -> World:
    return make_world(vault, clock)


def at(steps: int) -> str:
    return totp.code_at(SECRET, NOW + timedelta(seconds=30 * steps))


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_neighbouring_steps_are_accepted(offset: int) -> None:
    verdict, step = totp.check(SECRET, at(offset), NOW, None)
    assert verdict is totp.CodeCheck.OK
    assert step == totp.time_step(NOW) + offset


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_two_steps_away_is_rejected(offset: int) -> None:
    assert at(offset) not in {at(-1), at(0), at(1)}  # the fixture itself is sound
    assert totp.check(SECRET, at(offset), NOW, None)[0] is totp.CodeCheck.WRONG


def test_used_step_and_older_steps_are_replays() -> None:
    current = totp.time_step(NOW)
    assert totp.check(SECRET, at(0), NOW, current)[0] is totp.CodeCheck.REPLAYED
    assert totp.check(SECRET, at(-1), NOW, current)[0] is totp.CodeCheck.REPLAYED
    assert totp.check(SECRET, at(1), NOW, current)[0] is totp.CodeCheck.OK


def test_matches_pyotp_reference_and_rfc_shape() -> None:
    assert pyotp.TOTP(SECRET).verify(at(0), for_time=NOW)
    assert len(SECRET) == 32 and pyotp.utils.strings_equal(SECRET, SECRET.upper())
    uri = totp.provisioning_uri(SECRET, "ayse")
    assert uri.startswith("otpauth://totp/") and "ayse" in uri and f"secret={SECRET}" in uri
    assert "issuer=M%C3%BCttefik%20Desk" in uri


def test_garbage_is_never_a_code() -> None:
    for code in ("", "12345", "1234567", "abcdef", "١٢٣٤٥٦"):
        assert totp.matching_step(SECRET, code, NOW) is None


def test_service_rejects_a_replayed_code(world: World) -> None:
    _, secret, _ = world.create_admin()
    world.clock.advance(30)
    step = world.auth.check_password("admin", ADMIN_PW)
    code = world.code(secret)
    world.auth.check_second_factor(step, code)
    again = world.auth.check_password("admin", ADMIN_PW)
    with pytest.raises(CodeRejected):
        world.auth.check_second_factor(again, code)
    rows = world.audit_rows()
    assert rows[-1][3] == "sign_in_failed" and '"reason":"replayed_code"' in str(rows[-1][6])
    # The next time step's code works.
    world.clock.advance(30)
    assert world.auth.check_second_factor(again, world.code(secret)).actor.username == "admin"


def test_service_accepts_previous_step_but_not_two_back(world: World) -> None:
    _, secret, _ = world.create_admin()
    world.clock.advance(300)
    old = totp.code_at(secret, world.clock.now() - timedelta(seconds=60))
    step = world.auth.check_password("admin", ADMIN_PW)
    if old not in {world.code(secret)}:
        with pytest.raises(CodeRejected):
            world.auth.check_second_factor(step, old)
    prev = totp.code_at(secret, world.clock.now() - timedelta(seconds=30))
    assert world.auth.check_second_factor(step, prev).actor.username == "admin"
