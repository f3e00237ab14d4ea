"""Store settings from a seller: every refusal is a StoreSettingsInvalid naming the field.

Runs the real :class:`StoreService` on a temp vault; a refused draft leaves nothing
behind (no row, no audit entry, no keychain entry).
"""

from __future__ import annotations

from typing import Any

import pytest

from app.amazon.models import Credentials, Region, StoreDraft
from app.amazon.stores import StoreService, load_stores, read_credentials, secret_name
from app.auth.models import Actor
from app.auth.rbac import Role
from app.errors import InsecureEndpoint, StoreSettingsInvalid, UserError
from app.services import Core, build_services
from app.vault import Vault
from tests.helpers.operators import put_operator
from tests.support import MemoryKeyring

ADMIN = Actor(id=1, username="admin", display_name="Admin", role=Role.ADMIN)
DE = "A1PA6795UKMFR9"
CREDS = Credentials("amzn1.oa2-cs.v1.secret", "Atzr|token")


@pytest.fixture
def stores(core: Core) -> StoreService:
    put_operator(core.vault, ADMIN)
    return build_services(core).stores  # wired as in the app (audit log and its key)


def draft(**kw: Any) -> StoreDraft:
    values: dict[str, Any] = {
        "name": "My EU shop",
        "region": Region.EU,
        "marketplace_ids": (DE,),
        "lwa_client_id": "amzn1.application-oa2-client.abc",
    }
    values.update(kw)
    return StoreDraft(**values)


def audit_count(vault: Vault) -> int:
    return int(vault.call(lambda c: c.execute("SELECT count(*) FROM audit_log").fetchone()[0]))


def assert_refused(
    stores: StoreService,
    vault: Vault,
    memory_keyring: MemoryKeyring,
    bad: StoreDraft,
    field: str,
    *words: str,
    creds: Credentials = CREDS,
) -> UserError:
    before = audit_count(vault)
    with pytest.raises(UserError) as info:
        stores.create_store(ADMIN, bad, creds)
    error = info.value
    assert getattr(error, "field", None) == field
    for word in words:
        assert word in error.message, error.message
    assert len(error.message) < 400  # the seller's input is not echoed back
    assert vault.call(load_stores) == []
    assert audit_count(vault) == before
    assert not [k for k in memory_keyring.store if k[1].startswith("store:")]
    return error


BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068"]
BIDI += ["\u2069", "\u200e", "\u200f", "\u061c"]


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x9b", *BIDI])
def test_control_and_bidi_characters_in_the_name_are_refused(
    stores: StoreService, vault: Vault, memory_keyring: MemoryKeyring, char: str
) -> None:
    assert_refused(
        stores, vault, memory_keyring, draft(name=f"Shop{char}gro"), "name", f"U+{ord(char):04X}"
    )


def test_a_lone_surrogate_in_the_name_is_refused(
    stores: StoreService, vault: Vault, memory_keyring: MemoryKeyring
) -> None:
    assert_refused(stores, vault, memory_keyring, draft(name="Shop\ud800"), "name")


def test_long_names_are_refused_and_the_limit_is_named(
    stores: StoreService, vault: Vault, memory_keyring: MemoryKeyring
) -> None:
    assert_refused(stores, vault, memory_keyring, draft(name="x" * 81), "name", "80 characters")
    assert_refused(stores, vault, memory_keyring, draft(name="x" * 10_000_000), "name", "80")
    assert stores.create_store(ADMIN, draft(name="x" * 80), CREDS).name == "x" * 80


def test_whitespace_in_names_is_still_tidied_and_ordinary_names_survive(
    stores: StoreService,
) -> None:
    store = stores.create_store(ADMIN, draft(name="  Müttefik\tshop  \n İstanbul 🛒 "), CREDS)
    assert store.name == "Müttefik shop İstanbul 🛒"
    family = "👨\u200d👩\u200d👧 store"  # joiners inside an emoji are fine
    assert stores.create_store(ADMIN, draft(name=family), CREDS).name == family


@pytest.mark.parametrize(
    "client_id",
    ["amzn1.client\x00x", "amzn1 client", "amzn1.client\u202e", "amzn1.clïent", "a" * 201],
)
def test_odd_client_ids_are_refused(
    stores: StoreService, vault: Vault, memory_keyring: MemoryKeyring, client_id: str
) -> None:
    assert_refused(
        stores, vault, memory_keyring, draft(lwa_client_id=client_id), "lwa_client_id", "200"
    )


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://[::1", ("not a valid web address",)),
        ("https://[zz]/", ("not a valid web address",)),
        ("http://127.0.0.1:0", ("1 to 65535",)),
        ("http://127.0.0.1:65536", ("1 to 65535",)),
        ("http://127.0.0.1:99999999", ("1 to 65535",)),
        ("http://127.0.0.1:-1", ("1 to 65535",)),
        ("http://127.0.0.1:8x", ("1 to 65535",)),
        ("https://sandbox.example\x00.com", ("letters, digits and punctuation",)),
        ("https://sandbox.example.com/\u202e", ("letters, digits and punctuation",)),
        ("https://sandbox example.com", ("letters, digits and punctuation",)),
        ("https://example.com/" + "a" * 500, ("500 characters",)),
        ("https://user:pw@example.com", ("user name or password",)),
    ],
)
@pytest.mark.parametrize("field", ["sp_api_endpoint", "lwa_endpoint"])
def test_bad_endpoints_are_refused_with_the_field_named(
    stores: StoreService,
    vault: Vault,
    memory_keyring: MemoryKeyring,
    url: str,
    words: tuple[str, ...],
    field: str,
) -> None:
    error = assert_refused(stores, vault, memory_keyring, draft(**{field: url}), field, *words)
    assert isinstance(error, StoreSettingsInvalid)
    label = "SP-API endpoint" if field == "sp_api_endpoint" else "LWA token URL"
    assert label in error.message


def test_plain_http_elsewhere_is_still_an_insecure_endpoint_naming_the_field(
    stores: StoreService, vault: Vault, memory_keyring: MemoryKeyring
) -> None:
    error = assert_refused(
        stores, vault, memory_keyring, draft(lwa_endpoint="http://example.com/t"), "lwa_endpoint"
    )
    assert isinstance(error, InsecureEndpoint)


def test_good_endpoints_are_kept(stores: StoreService) -> None:
    store = stores.create_store(
        ADMIN,
        draft(
            sp_api_endpoint="http://[::1]:8123/",
            lwa_endpoint="https://api.amazon.com/auth/o2/token",
        ),
        CREDS,
    )
    assert store.sp_api_endpoint == "http://[::1]:8123"
    assert store.lwa_endpoint == "https://api.amazon.com/auth/o2/token"


def test_marketplace_ids_are_not_echoed_unbounded(
    stores: StoreService, vault: Vault, memory_keyring: MemoryKeyring
) -> None:
    error = assert_refused(
        stores, vault, memory_keyring, draft(marketplace_ids=("X" * 100_000,)), "marketplace_ids"
    )
    assert "XXXXXXXXXXXXXXXXXXXXX" not in error.message
    assert_refused(
        stores,
        vault,
        memory_keyring,
        draft(marketplace_ids=("A1PA\x006795UKMF",)),
        "marketplace_ids",
    )


@pytest.mark.parametrize(
    "creds",
    [
        Credentials("amzn1.oa2-cs.v1.secret\x00", "Atzr|token"),
        Credentials("amzn1.oa2-cs.v1.secret", "Atzr|tok en"),
        Credentials("amzn1.oa2-cs.v1.secret", "Atzr|" + "t" * 5000),
        Credentials("amzn1.oa2-cs.v1.secret", "Atzr|\u202etoken"),
    ],
)
def test_odd_credentials_refuse_the_whole_store(
    stores: StoreService, vault: Vault, memory_keyring: MemoryKeyring, creds: Credentials
) -> None:
    field = "client_secret" if "\x00" in creds.lwa_client_secret else "refresh_token"
    error = assert_refused(stores, vault, memory_keyring, draft(), field, creds=creds)
    assert creds.refresh_token not in error.message


def test_set_credentials_refuses_odd_secrets_and_keeps_the_stored_ones(
    stores: StoreService, memory_keyring: MemoryKeyring
) -> None:
    store = stores.create_store(ADMIN, draft(), CREDS)
    with pytest.raises(StoreSettingsInvalid) as info:
        stores.set_credentials(ADMIN, store.id, Credentials("new\x00secret", "Atzr|new"))
    assert info.value.field == "client_secret"
    assert read_credentials(stores.secrets, store.id) == CREDS
    assert memory_keyring.store  # untouched entries are still there
    assert secret_name(store.id, "refresh-token") in {k[1] for k in memory_keyring.store}


def test_update_refuses_bad_input_and_changes_nothing(stores: StoreService, vault: Vault) -> None:
    store = stores.create_store(ADMIN, draft(), CREDS)
    before = audit_count(vault)
    with pytest.raises(StoreSettingsInvalid) as info:
        stores.update_store(ADMIN, store.id, draft(name="Evil\u202eshop", sp_api_endpoint="x"))
    assert info.value.field == "name"
    assert vault.call(load_stores)[0].name == "My EU shop"
    assert audit_count(vault) == before


def test_unknown_region_is_a_message_not_a_value_error(
    stores: StoreService, vault: Vault, memory_keyring: MemoryKeyring
) -> None:
    assert_refused(stores, vault, memory_keyring, draft(region="XX"), "region")


def test_test_connection_reports_a_bad_endpoint_without_a_traceback(
    stores: StoreService,
) -> None:
    report = stores.test_connection(ADMIN, draft(sp_api_endpoint="http://[::1"), CREDS)
    assert not report.ok
    assert report.error is not None and getattr(report.error, "field", None) == "sp_api_endpoint"


# The audit head's copy outside the file also goes to the keychain, which is locked.
@pytest.mark.expect_log("muttefik.audit", "WARNING", "could not record the audit head")
def test_a_store_whose_secrets_cannot_be_saved_is_not_left_behind(
    stores: StoreService,
    vault: Vault,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`muttefik stores add` or the dialog on a locked keychain: the seller gets the
    keychain's message, and no store without credentials stays in the list."""
    import keyring.errors

    from app.errors import KeychainLocked

    def locked(service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("Collection is locked")

    monkeypatch.setattr(memory_keyring, "set_password", locked)
    with pytest.raises(KeychainLocked):
        stores.create_store(ADMIN, draft(), CREDS)
    assert vault.call(load_stores) == []
    monkeypatch.undo()  # unlocked: the name is free again, the seller can retry
    assert stores.create_store(ADMIN, draft(), CREDS).name == "My EU shop"
