"""Every secret of the app goes through here, into the OS keychain (keyring).

Backend policy: only real OS keychains are accepted (Secret Service, KWallet, macOS
Keychain, Windows Credential Locker).  Plaintext backends (keyrings.alt and friends),
keyring's ``fail``/``null`` backends and anything unknown are refused, so a secret never
lands unencrypted on disk by accident.

Secrets are namespaced per profile: service ``muttefik-desk:profile:<profile id>`` (the
id in the folder's ``profile.json``) and a name such as ``db-key`` or
``store:3:refresh-token``.  Entries of profiles from before that file are named by the
folder's path; :meth:`SecretStore.get` finds a name missing under the id there and
copies it forward, never deleting the old entry.  Values are only ever held in memory;
each value read is registered with the log filter so it can never be logged.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
from typing import TYPE_CHECKING, Any

from app.errors import KeychainLocked, KeychainRefused, KeychainUnavailable
from app.redact import register_secret

if TYPE_CHECKING:
    import keyring.backend

    from app.paths import Profile

log = logging.getLogger("muttefik.secrets")

# Module prefixes of the OS keychain backends that keep secrets encrypted.
TRUSTED_BACKEND_MODULES = (
    "keyring.backends.SecretService",
    "keyring.backends.libsecret",
    "keyring.backends.kwallet",
    "keyring.backends.macOS",
    "keyring.backends.Windows",
)


# The OS keychain backends per platform, best first.
_PLATFORM_BACKENDS = {
    "darwin": ("keyring.backends.macOS:Keyring",),
    "win32": ("keyring.backends.Windows:WinVaultKeyring",),
}
_FREEDESKTOP_BACKENDS = (
    "keyring.backends.SecretService:Keyring",
    "keyring.backends.kwallet:DBusKeyring",
)


def default_backend() -> Any:
    """This platform's OS keychain backend.

    keyring's own discovery (``keyring.get_keyring()``) scans every installed backend's
    entry point and probes each, which took ~240 ms of every start; since only the OS
    keychains pass our policy anyway, we try those directly.  An explicit choice
    (``PYTHON_KEYRING_BACKEND`` or keyring's config file) is still honoured, and still
    goes through :func:`check_backend`.  Blocks (D-Bus): worker thread.
    """
    import keyring.core

    if os.environ.get("PYTHON_KEYRING_BACKEND"):
        return keyring.get_keyring()
    configured = keyring.core.load_config()
    if configured is not None:
        return configured
    for path in _PLATFORM_BACKENDS.get(sys.platform, _FREEDESKTOP_BACKENDS):
        module, name = path.split(":")
        try:
            cls = getattr(importlib.import_module(module), name)
            if cls.priority <= 0:  # raises when the backend cannot work here
                continue
        except Exception as exc:
            log.info("keychain backend %s not usable: %s", name, type(exc).__name__)
            continue
        return cls()
    from keyring.backends import fail

    return fail.Keyring()  # type: ignore[no-untyped-call]


def backend_name(backend: Any) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _leaves(backend: Any) -> list[Any]:
    """The real backends behind keyring's chainer."""
    from keyring.backends.chainer import ChainerBackend

    if isinstance(backend, ChainerBackend):
        return list(backend.backends)
    return [backend]


def check_backend(backend: Any) -> None:
    """Raise :class:`KeychainRefused`/:class:`KeychainUnavailable` unless trusted."""
    leaves = _leaves(backend)
    if not leaves:
        raise KeychainUnavailable(detail="keyring chainer has no backends")
    for leaf in leaves:
        module = type(leaf).__module__
        if module.startswith("keyring.backends.fail"):
            raise KeychainUnavailable(detail=f"keyring backend {backend_name(leaf)}")
        if not module.startswith(TRUSTED_BACKEND_MODULES):
            raise KeychainRefused(detail=f"refused keyring backend {backend_name(leaf)}")


class SecretStore:
    """Secrets of one profile.

    Thread: any.  Calls may block on D-Bus, so the GUI thread never calls this directly.
    ``enforce_policy=False`` is for unit tests that pass an in-memory backend.
    """

    def __init__(
        self,
        *,
        service: str,
        backend: keyring.backend.KeyringBackend | None = None,
        enforce_policy: bool = True,
    ) -> None:
        self._service = service
        self._profile: Profile | None = None
        self._backend = backend
        self._enforce = enforce_policy
        self._checked = False

    @classmethod
    def for_profile(
        cls,
        profile: Profile,
        *,
        backend: keyring.backend.KeyringBackend | None = None,
        enforce_policy: bool = True,
    ) -> SecretStore:
        """The secrets of ``profile``, named by its id as read at each call (the id is
        written on first open, and replaced when the seller starts a new profile there)."""
        store = cls(service="", backend=backend, enforce_policy=enforce_policy)
        store._profile = profile
        return store

    @property
    def service(self) -> str:
        if self._profile is not None:
            return self._profile.keychain_service
        return self._service

    @property
    def legacy(self) -> tuple[str, ...]:
        """Older service names of the same entries (a profile's path-named service, from
        its id file), searched on a miss."""
        if self._profile is not None:
            identity = self._profile.identity()
            return identity.legacy if identity is not None else ()
        return ()

    @property
    def backend(self) -> keyring.backend.KeyringBackend:
        if self._backend is None:
            self._backend = default_backend()
        if self._enforce and not self._checked:
            check_backend(self._backend)
            self._checked = True
        return self._backend

    def describe(self) -> str:
        return backend_name(self.backend)

    def get(self, name: str) -> str | None:
        service = self.service
        value = self._call("get_password", name, service=service)
        if value is None:
            for old in self.legacy:
                if old == service:
                    continue
                value = self._call("get_password", name, service=old)
                if value is not None:
                    register_secret(value)
                    self._call("set_password", name, value, service=service)
                    log.info("keychain entry %s copied from its path-named service", name)
                    break
        if value is not None:
            register_secret(value)
        return value  # type: ignore[no-any-return]

    def get_in(self, service: str, name: str) -> str | None:
        """``name`` under another service of the same keychain (a retired id of this
        profile's folder), without copying it anywhere."""
        value = self._call("get_password", name, service=service)
        if value is not None:
            register_secret(value)
        return value  # type: ignore[no-any-return]

    def set(self, name: str, value: str) -> None:
        register_secret(value)
        self._call("set_password", name, value)

    def get_public(self, name: str) -> str | None:
        """An entry that is not a secret (the audit head, rewritten at every audit entry):
        not added to the log filter, whose list would otherwise grow without bound."""
        return self._call("get_password", name)  # type: ignore[no-any-return]

    def set_public(self, name: str, value: str) -> None:
        self._call("set_password", name, value)

    def delete(self, name: str) -> None:
        """Delete ``name``, and its path-named copy too (it would come back otherwise)."""
        service = self.service
        for svc in (service, *(s for s in self.legacy if s != service)):
            with contextlib.suppress(_NotFound):
                self._call("delete_password", name, service=svc)

    def probe(self) -> None:
        """Check that the keychain is usable and unlocked (a read of a missing entry)."""
        self._call("get_password", "probe")

    def _call(self, method: str, *args: Any, service: str | None = None) -> Any:
        import keyring.errors

        backend = self.backend
        service = service or self.service
        try:
            return getattr(backend, method)(service, *args)
        except keyring.errors.KeyringLocked as exc:
            raise KeychainLocked(detail=type(exc).__name__) from exc
        except keyring.errors.PasswordDeleteError as exc:
            raise _NotFound() from exc
        except keyring.errors.NoKeyringError as exc:
            raise KeychainUnavailable(detail=type(exc).__name__) from exc
        except keyring.errors.KeyringError as exc:
            if "locked" in str(exc).lower():
                raise KeychainLocked(detail=type(exc).__name__) from exc
            raise KeychainUnavailable(detail=f"{type(exc).__name__}: {exc}") from exc
        except Exception as exc:  # D-Bus and platform errors: not a bug of ours
            if "locked" in str(exc).lower():
                raise KeychainLocked(detail=type(exc).__name__) from exc
            log.warning("keychain call %s failed: %s", method, type(exc).__name__)
            raise KeychainUnavailable(detail=type(exc).__name__) from exc


class _NotFound(Exception):
    pass
