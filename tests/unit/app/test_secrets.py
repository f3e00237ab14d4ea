"""SecretStore: backend policy (fake backends), errors, namespacing, redaction of values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keyring.errors
import pytest
from keyring.backends import SecretService
from keyring.backends.chainer import ChainerBackend
from keyring.backends.fail import Keyring as FailKeyring
from keyring.backends.null import Keyring as NullKeyring

from app.errors import KeychainLocked, KeychainRefused, KeychainUnavailable
from app.redact import redact_text
from app.secrets import SecretStore, check_backend
from tests.support import MemoryKeyring


class RecordingKeyring(MemoryKeyring):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def get_password(self, service: str, username: str) -> str | None:
        self.calls.append("get")
        return super().get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self.calls.append("set")
        super().set_password(service, username, password)


def _backend_in(module: str, name: str) -> RecordingKeyring:
    """A working in-memory backend that claims to live in ``module`` (like a real plugin)."""
    cls = type(name, (RecordingKeyring,), {"__module__": module})
    backend: RecordingKeyring = cls()
    return backend


def _chainer(*leaves: Any) -> ChainerBackend:
    cls = type("Chainer", (ChainerBackend,), {"backends": list(leaves)})
    chainer: ChainerBackend = cls()
    return chainer


PLAINTEXT = [
    ("keyrings.alt.file", "PlaintextKeyring"),
    ("keyrings.alt.file", "EncryptedKeyring"),  # weak: a file plus a password we'd have to ask
    ("keyrings.alt.Gnome", "Keyring"),
    ("keyrings.cryptfile.cryptfile", "CryptFileKeyring"),
    ("my_company.keyring", "Keyring"),  # anything unknown
]

TRUSTED = [
    ("keyring.backends.SecretService", "Keyring"),
    ("keyring.backends.libsecret", "Keyring"),
    ("keyring.backends.kwallet", "DBusKeyring"),
    ("keyring.backends.macOS", "Keyring"),
    ("keyring.backends.Windows", "WinVaultKeyring"),
]


@pytest.mark.parametrize(("module", "name"), PLAINTEXT)
def test_plaintext_and_unknown_backends_are_refused(module: str, name: str) -> None:
    backend = _backend_in(module, name)
    with pytest.raises(KeychainRefused) as info:
        check_backend(backend)
    assert module in (info.value.detail or "")
    store = SecretStore(service="muttefik-desk:/p", backend=backend)
    with pytest.raises(KeychainRefused):
        store.set("db-key", "00" * 32)
    with pytest.raises(KeychainRefused):
        store.get("db-key")
    assert backend.calls == []  # refused before a single secret went near it
    assert backend.store == {}


@pytest.mark.parametrize(("module", "name"), TRUSTED)
def test_os_keychains_are_accepted(module: str, name: str) -> None:
    backend = _backend_in(module, name)
    check_backend(backend)
    store = SecretStore(service="muttefik-desk:/p", backend=backend)
    store.set("db-key", "ab" * 32)
    assert store.get("db-key") == "ab" * 32
    assert backend.calls == ["set", "get"]


def test_the_real_secret_service_class_is_accepted() -> None:
    check_backend(SecretService.Keyring())


def test_fail_backend_is_unavailable_not_refused() -> None:
    with pytest.raises(KeychainUnavailable) as info:
        check_backend(FailKeyring())
    assert not isinstance(info.value, KeychainRefused)


def test_null_backend_is_refused() -> None:
    with pytest.raises(KeychainRefused):
        check_backend(NullKeyring())


def test_chainer_with_only_os_keychains_is_accepted() -> None:
    check_backend(_chainer(SecretService.Keyring(), _backend_in("keyring.backends.kwallet", "K")))


def test_chainer_with_a_plaintext_member_is_refused() -> None:
    chainer = _chainer(
        SecretService.Keyring(), _backend_in("keyrings.alt.file", "PlaintextKeyring")
    )
    with pytest.raises(KeychainRefused):
        check_backend(chainer)


def test_empty_chainer_is_unavailable() -> None:
    with pytest.raises(KeychainUnavailable):
        check_backend(_chainer())


def test_explicitly_chosen_backend_is_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    plaintext = _backend_in("keyrings.alt.file", "PlaintextKeyring")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setattr(keyring, "get_keyring", lambda: plaintext)
    store = SecretStore(service="muttefik-desk:/p")
    with pytest.raises(KeychainRefused):
        store.probe()
    assert plaintext.calls == []


def test_backend_from_keyring_config_file_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring.core

    plaintext = _backend_in("keyrings.alt.file", "PlaintextKeyring")
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setattr(keyring.core, "load_config", lambda: plaintext)
    with pytest.raises(KeychainRefused):
        SecretStore(service="muttefik-desk:/p").probe()
    assert plaintext.calls == []


def test_no_session_bus_means_no_keychain(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without D-Bus neither Secret Service nor KWallet works: passphrase mode follows."""
    import keyring.core

    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setattr(keyring.core, "load_config", lambda: None)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
    with pytest.raises(KeychainUnavailable):
        SecretStore(service="muttefik-desk:/p").probe()


def test_locked_keyring_is_keychain_locked(memory_keyring: MemoryKeyring) -> None:
    store = SecretStore(service="s", backend=memory_keyring, enforce_policy=False)
    memory_keyring.locked = True
    for action in (store.probe, lambda: store.get("db-key"), lambda: store.set("db-key", "v" * 8)):
        with pytest.raises(KeychainLocked) as info:
            action()
        assert isinstance(info.value.__cause__, keyring.errors.KeyringLocked)


def test_no_keyring_is_keychain_unavailable() -> None:
    store = SecretStore(service="s", backend=FailKeyring(), enforce_policy=False)
    with pytest.raises(KeychainUnavailable):
        store.set("db-key", "x" * 8)


class ExplodingKeyring(MemoryKeyring):
    def __init__(self, exc: Exception) -> None:
        super().__init__()
        self.exc = exc

    def get_password(self, service: str, username: str) -> str | None:
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (keyring.errors.InitError("dbus went away"), KeychainUnavailable),
        (RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown"), KeychainUnavailable),
        (RuntimeError("Collection is locked"), KeychainLocked),
    ],
)
@pytest.mark.expect_log("muttefik.secrets", "WARNING", "keychain call get_password failed")
def test_backend_errors_become_user_errors(exc: Exception, expected: type[Exception]) -> None:
    store = SecretStore(service="s", backend=ExplodingKeyring(exc), enforce_policy=False)
    with pytest.raises(expected):
        store.get("db-key")


def test_secrets_are_namespaced_per_service(memory_keyring: MemoryKeyring) -> None:
    a = SecretStore(service="muttefik-desk:/a", backend=memory_keyring, enforce_policy=False)
    b = SecretStore(service="muttefik-desk:/b", backend=memory_keyring, enforce_policy=False)
    a.set("db-key", "value-of-a-1234")
    assert b.get("db-key") is None
    assert a.get("db-key") == "value-of-a-1234"


def test_delete_of_a_missing_secret_is_fine(memory_keyring: MemoryKeyring) -> None:
    store = SecretStore(service="s", backend=memory_keyring, enforce_policy=False)
    store.delete("never-set")
    store.set("x", "something-secret")
    store.delete("x")
    assert store.get("x") is None


def test_values_read_or_written_are_registered_with_the_log_filter(
    memory_keyring: MemoryKeyring,
) -> None:
    store = SecretStore(service="s", backend=memory_keyring, enforce_policy=False)
    store.set("refresh-token", "Not-Hex-Secret-Value-1")
    memory_keyring.store[("s", "other")] = "Another-Secret-Value-2"
    assert store.get("other") == "Another-Secret-Value-2"
    text = redact_text("tokens: Not-Hex-Secret-Value-1 and Another-Secret-Value-2")
    assert "Not-Hex" not in text and "Another-Secret" not in text
    assert text.count("[secret]") == 2


def test_a_profile_store_finds_path_named_entries_copies_them_forward_and_keeps_them(
    tmp_path: Path,
) -> None:
    from app.paths import Identity, Profile
    from tests.support import MemoryKeyring

    profile = Profile(tmp_path / "p")
    profile.ensure()
    legacy = profile.legacy_service
    profile.write_identity(Identity.new(legacy=(legacy,)))
    keyring = MemoryKeyring()
    keyring.store[(legacy, "store:1:refresh-token")] = "Atzr|old"
    keyring.store[(legacy, "store:2:refresh-token")] = "Atzr|gone"
    store = SecretStore.for_profile(profile, backend=keyring, enforce_policy=False)
    assert store.service == f"muttefik-desk:profile:{profile.ident}"
    assert store.get("store:1:refresh-token") == "Atzr|old"
    assert keyring.store[(store.service, "store:1:refresh-token")] == "Atzr|old"
    assert keyring.store[(legacy, "store:1:refresh-token")] == "Atzr|old"
    assert store.get("nothing") is None
    # a deleted secret does not come back from its old name
    store.delete("store:2:refresh-token")
    assert store.get("store:2:refresh-token") is None
    # a new profile (no legacy names) never reads another profile's path-named entries
    profile.write_identity(Identity.new())
    assert store.get("store:1:refresh-token") is None
