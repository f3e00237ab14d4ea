"""app/net.py: the one outbound client factory (TLS, loopback policy, proxies)."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator

import httpx
import pytest

from app import net
from app.amazon.spapi import factory
from app.demo.fake_ai import FakeAI


class _ProxyListener:
    """A loopback socket that records the first line each connection sends (a proxy
    would see ``CONNECT host:443``) and then hangs up."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.lines: list[bytes] = []
        self.got = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                with contextlib.suppress(OSError):
                    self.lines.append(conn.recv(4096).split(b"\r\n", 1)[0])
                self.got.set()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes accept() (close alone does not)
        self.sock.close()
        self.thread.join(timeout=5)


@pytest.fixture
def proxy() -> Iterator[_ProxyListener]:
    listener = _ProxyListener()
    yield listener
    listener.close()


@pytest.fixture
def env_proxy(monkeypatch: pytest.MonkeyPatch, proxy: _ProxyListener) -> _ProxyListener:
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, proxy.url)
    return proxy


def test_one_verifying_tls_context_shared_with_the_amazon_clients() -> None:
    ctx = net.tls_context()
    assert ctx.verify_mode is ssl.CERT_REQUIRED
    assert ctx.check_hostname is True
    assert net.tls_context() is ctx
    assert factory.tls_context is net.tls_context  # the SP-API side uses the same function


@pytest.mark.parametrize(
    "url",
    [
        "https://api.openai.com/v1",
        "https://example.com:8443/x",
        "http://127.0.0.1:11434/v1",
        "http://localhost:1234",
        "http://[::1]:8080",
        "http://127.5.6.7",
    ],
)
def test_https_anywhere_and_plain_http_to_this_computer_are_allowed(url: str) -> None:
    assert net.check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://api.openai.com/v1",
        "http://192.168.1.20:11434",
        "http://localhost.example.com",
        "ftp://127.0.0.1/",
        "file:///etc/passwd",
        "https://user:pass@example.com",
        "https://example.com:99999",
        "not a url",
        "",
    ],
)
def test_other_addresses_are_refused(url: str) -> None:
    with pytest.raises(net.AddressNotAllowed):
        net.check_url(url)


def test_client_refuses_a_plain_http_base_url_elsewhere() -> None:
    with pytest.raises(net.AddressNotAllowed):
        net.client(base_url="http://example.com/v1", timeout=5)


def test_client_verifies_with_the_shared_context_and_follows_no_redirect() -> None:
    with net.client(base_url="https://example.com", timeout=5) as client:
        assert client._transport._pool._ssl_context is net.tls_context()  # type: ignore[attr-defined]
        assert client.follow_redirects is False


def test_every_request_is_checked_not_only_the_base_url() -> None:
    """An absolute URL in a request cannot leave the policy (refused before sending)."""
    with (
        FakeAI() as server,
        net.client(base_url=server.base_url, timeout=5) as client,
        pytest.raises(net.AddressNotAllowed),
    ):
        client.get("http://example.com/steal")
    assert server.connections == 0


def test_request_hooks_run_before_anything_is_sent() -> None:
    class Stop(Exception):
        pass

    def stop(request: httpx.Request) -> None:
        raise Stop

    with (
        FakeAI() as server,
        net.client(base_url=server.base_url, timeout=5, request_hooks=[stop]) as client,
    ):
        with pytest.raises(Stop):
            client.post("/v1/chat/completions", json={"messages": []})
        assert server.connections == 0 and server.requests == []


def test_loopback_ignores_proxies_from_the_environment(env_proxy: _ProxyListener) -> None:
    with FakeAI() as server, net.client(base_url=server.base_url, timeout=5) as client:
        assert client.trust_env is False
        reply = client.post("/v1/chat/completions", json={"messages": []})
        assert reply.status_code == 200
        assert len(server.requests) == 1
    assert env_proxy.lines == []


def test_remote_hosts_go_through_the_environments_proxy(env_proxy: _ProxyListener) -> None:
    """A corporate proxy is honoured for remote providers (TLS still verified end to end
    through the CONNECT tunnel, with the shared context)."""
    with net.client(base_url="https://api.example.com", timeout=5) as client:
        for transport in client._mounts.values():
            assert transport._pool._ssl_context is net.tls_context()  # type: ignore[union-attr]
        with pytest.raises(httpx.TransportError):
            client.get("/v1/models")
    assert env_proxy.got.wait(5)
    assert env_proxy.lines[0].startswith(b"CONNECT api.example.com:443")
