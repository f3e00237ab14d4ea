"""The one factory of outbound HTTP clients: TLS context and loopback policy.

Every httpx client the app opens to a server it does not run itself is built here (the
AI providers through :func:`client`; the SP-API clients share :func:`tls_context`
through :mod:`app.amazon.spapi.factory`).  The policy, in one place:

- certificates and host names are always verified, with one TLS context per process;
- plain ``http://`` only to this computer (loopback: the demo, tests, a local model
  server such as Ollama); any other scheme or plain http elsewhere is refused, for the
  base address and again for every request (an absolute URL cannot slip past);
- a loopback client ignores proxy settings from the environment (a proxy would carry
  the request off this computer); a remote one honours them (corporate proxies);
- redirects are never followed (a redirect could leave https or the provider).

httpx takes a while to import, so it is imported only when a client or the TLS context
is built (this module stays off the app's startup path).
"""

from __future__ import annotations

import ipaddress
import ssl
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from app.errors import UserError

if TYPE_CHECKING:
    import httpx

_LOOPBACK_NAMES = frozenset({"localhost"})
#: Seconds to wait for a connection, at most (a dead host should not take the full timeout).
CONNECT_TIMEOUT = 10.0

_tls_lock = threading.Lock()
_tls: ssl.SSLContext | None = None


class AddressNotAllowed(UserError):
    title = "Address not allowed"
    message = (
        "That address is not a secure (https) address. Müttefik Desk sends requests only "
        "over https; plain http is allowed only to this computer."
    )


def tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every outbound connection of the process.

    Each httpx client otherwise builds its own, and loading the CA bundle holds the GIL
    for ~50 ms: a visible hitch in the GUI at the start of every sync.  Same settings as
    httpx's default (certifi's bundle, SSL_CERT_FILE/SSL_CERT_DIR honoured); certificate
    and host name checks stay on.
    """
    global _tls
    with _tls_lock:
        if _tls is None:
            import httpx

            _tls = httpx.create_ssl_context(verify=True)
        return _tls


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback IP address (``127.0.0.0/8``, ``::1``)."""
    if host.lower().rstrip(".") in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> str:
    """The host of ``url`` if the policy allows a request there: https anywhere, plain
    http only to loopback; no user name or password in the address.  Else
    :class:`AddressNotAllowed`."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        raise AddressNotAllowed(
            "That is not a valid web address. Check it and try again.", detail="unparsable URL"
        ) from None
    if parts.username is not None or parts.password is not None:
        raise AddressNotAllowed(
            "The address must not hold a user name or password (the part before '@').",
            detail="credentials in URL",
        )
    if not host or parts.scheme not in ("https", "http"):
        raise AddressNotAllowed(detail=f"not an http(s) URL: {parts.scheme or '?'}://")
    if parts.scheme == "http" and not is_loopback(host):
        raise AddressNotAllowed(detail=f"plain http to {host}")
    return host


def _check_request(request: httpx.Request) -> None:
    check_url(str(request.url))


def client(
    *,
    base_url: str,
    timeout: float,
    headers: Mapping[str, str] | None = None,
    request_hooks: Sequence[Callable[[httpx.Request], None]] = (),
) -> httpx.Client:
    """An httpx client for ``base_url`` under the policy above.  ``timeout`` (seconds)
    bounds each read and write; connecting takes at most :data:`CONNECT_TIMEOUT`.
    ``request_hooks`` run on every request after the address check, before any byte
    is sent: an exception there stops the request."""
    import httpx

    loopback = is_loopback(check_url(base_url))
    hooks: dict[str, list[Callable[..., Any]]] = {
        "request": [_check_request, *request_hooks],
        "response": [],
    }
    return httpx.Client(
        base_url=base_url.strip(),
        timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)),
        verify=tls_context(),
        trust_env=not loopback,
        follow_redirects=False,
        headers=dict(headers or {}),
        event_hooks=hooks,
    )
