"""Every password rule, named in plain words."""

from __future__ import annotations

import pytest

from app import settings
from app.auth import password_policy as pp
from app.clock import FakeClock
from app.errors import PasswordRejected
from app.vault import Vault
from tests.helpers.world import ADMIN_PW, NEW_PW, World, make_world

GOOD = "Velvet-Orbit-73-Lantern!"


@pytest.fixture
def world(vault: Vault, clock: FakeClock) -> World:
    return make_world(vault, clock)


def rules_broken(password: str, **kw: object) -> set[str]:
    args: dict[str, object] = {"username": "ayse", "display_name": "Ayse Yilmaz"}
    args.update(kw)
    return {p.rule for p in pp.problems(password, **args)}  # type: ignore[arg-type]


def test_good_password_passes() -> None:
    assert pp.problems(GOOD, username="ayse", display_name="Ayse Yilmaz") == []


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("Vel-Orb-73!", "min_length"),
        ("Aa1!" + "x7Qz#kP2" * 16, "max_length"),
        ("velvet-orbit-73-lantern!", "upper"),
        ("VELVET-ORBIT-73-LANTERN!", "lower"),
        ("Velvet-Orbit-Sx-Lantern!", "digit"),
        ("VelvetOrbit73LanternQ", "symbol"),
        ("Velvet-AYSE-73-Lantern!", "username"),
        ("Velvet-yilmaz-73-Lantern!", "name"),
        ("Password123!", "guessable"),
        ("Qwertyuiop1!", "guessable"),
    ],
)
def test_each_rule_is_enforced(password: str, rule: str) -> None:
    assert rule in rules_broken(password)


def test_every_message_is_plain_words() -> None:
    found = pp.problems("abc", username="ayse", display_name="Ayse Yilmaz")
    text = pp.message(found)
    assert "at least 12 characters" in text
    assert "capital letter" in text and "digit" in text and "symbol" in text


def test_unicode_is_allowed_and_counts() -> None:
    assert pp.problems("Gülümseyen-Çınar-84-Kedi!", username="ayse", display_name="Ayşe") == []
    # A non-Latin symbol counts as a symbol.
    assert "symbol" not in rules_broken("Velvet§Orbit73Lantern")


def test_short_name_parts_do_not_forbid_everything() -> None:
    assert "name" not in rules_broken(GOOD, display_name="Li Ve")


def test_email_words_are_hints_for_guessability() -> None:
    assert "guessable" in rules_broken("Qwertzuiop12!", email="qwertzuiop12@example.com")


def test_minimum_length_cannot_go_below_twelve() -> None:
    assert "min_length" in rules_broken("Vel-Orb-73!x", min_length=4) | rules_broken(
        "Vel-Orb-73!", min_length=4
    )


def test_rules_list_names_every_rule() -> None:
    text = " ".join(pp.rules(14))
    for words in ("14 characters", "capital", "username", "guess", "last 10", "once a day"):
        assert words in text


def test_setting_raises_minimum_length(world: World) -> None:
    world.vault.call_write(
        lambda conn: settings.put(conn, settings.PASSWORD_MIN_LENGTH, 30, now=world.clock.now())
    )
    problems = world.auth.password_problems(GOOD, username="x1y", display_name="Q")
    assert any("30 characters" in p for p in problems)
    with pytest.raises(PasswordRejected, match="30 characters"):
        world.auth.begin_first_admin("admin", "Ayse Yilmaz", "a@example.com", GOOD)


def test_history_min_age_and_max_age(world: World) -> None:
    session, secret, _ = world.create_admin()
    # Minimum age: not within a day of the last change.
    with pytest.raises(PasswordRejected, match="less than a day"):
        world.auth.change_password(session.actor, ADMIN_PW, NEW_PW)
    world.clock.advance(86400)
    world.auth.change_password(session.actor, ADMIN_PW, NEW_PW)
    world.clock.advance(86400)
    # History: the previous password is refused.
    with pytest.raises(PasswordRejected, match="last 10"):
        world.auth.change_password(session.actor, NEW_PW, ADMIN_PW)
    # Maximum age: a year later sign-in demands a change.
    world.clock.advance(365 * 86400)
    later = world.sign_in("admin", NEW_PW, secret)
    assert later.password_expired and later.needs_password_change


def test_only_the_last_ten_passwords_are_remembered(world: World) -> None:
    session, _, _ = world.create_admin()
    passwords = [f"Velvet-Orbit-{n}-Lantern!" for n in range(10, 21)]
    current = ADMIN_PW
    for pw in passwords:
        world.clock.advance(86400)
        world.auth.change_password(session.actor, current, pw)
        current = pw
    world.clock.advance(86400)
    # ADMIN_PW is now 12 passwords back: allowed again; passwords[2] is within 10: refused.
    with pytest.raises(PasswordRejected):
        world.auth.change_password(session.actor, current, passwords[2])
    world.auth.change_password(session.actor, current, ADMIN_PW)


# --- predictable patterns a scorer alone lets through -----------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "Summer2026!!",
        "Winter-2025-!!",
        "December2026#",
        "Sept2026!!!!!",
        "Ağustos2026!!",
        "Sonbahar2026.",
        "Kış2026!!Kış",
        "$umm3r2026!!",
    ],
)
def test_season_or_month_with_a_year_is_refused(password: str) -> None:
    assert "season_year" in rules_broken(password)


@pytest.mark.parametrize(
    "password", ["Muttefik2026!", "Müttefik-Desk-1!", "MUTT3F1K#2026x", "Desk2026!!Desk"]
)
def test_the_apps_name_is_refused(password: str) -> None:
    assert "app_name" in rules_broken(password)


def test_the_stores_names_are_refused() -> None:
    stores = ["Anadolu Baharat", "EU shop"]
    assert "store_name" in rules_broken("Baharat-Kedi-2026!x", store_names=stores)
    assert "store_name" in rules_broken("Eushop#Velvet73", store_names=stores)
    assert "store_name" not in rules_broken(GOOD, store_names=stores)


@pytest.mark.parametrize(
    "password",
    [
        "Qwerty123456!",
        "Asdfgh2026!!",
        "1qaz2wsx!QAZ",
        "Zaq12wsx!!Xsw2",
        "Qwertz2026!!",
        "Uıopğü2026!!!",  # Turkish Q: the right end of the top row
        "Şlkjhg2026!!!",  # Turkish Q: the home row backwards
        "Fgğıod2026!!!",  # Turkish F: the top row
    ],
)
def test_keyboard_walks_are_refused(password: str) -> None:
    assert "keyboard" in rules_broken(password)


@pytest.mark.parametrize(
    "password",
    ["Velvet-Summer-73-Lantern!", "Marble-Orbit-2026-Kettle!", "Gülümseyen-Çınar-84-Kedi!"],
)
def test_words_around_a_pattern_still_pass(password: str) -> None:
    assert rules_broken(password) == set()


def test_pattern_messages_name_the_rule_in_plain_words() -> None:
    def text(pw: str, **kw: object) -> str:
        args: dict[str, object] = {"username": "ayse", "display_name": "Ayse Yilmaz"}
        args.update(kw)
        return pp.message(pp.problems(pw, **args))  # type: ignore[arg-type]

    assert "season or month" in text("Summer2026!!")
    assert "Müttefik Desk" in text("Muttefik2026!")
    assert "store" in text("Baharat-Kedi-2026!x", store_names=["Anadolu Baharat"])
    assert "keyboard" in text("Qwerty123456!")
    assert any("season" in r for r in pp.rules()) and any("keyboard" in r for r in pp.rules())


def test_the_service_passes_store_names_to_the_policy(world: World) -> None:
    world.add_store("Anadolu Baharat")
    with pytest.raises(PasswordRejected, match="store"):
        world.auth.begin_first_admin("admin", "Ayse Yilmaz", "a@example.com", "Baharat-Kedi-2026!x")
    problems = world.auth.password_problems("Baharat-Kedi-2026!x", username="x1y", display_name="Q")
    assert any("store" in p for p in problems)
