"""app/drafting/guard.py: a request holding the buyer's known PII never leaves."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app import net
from app.demo.fake_ai import FakeAI
from app.drafting import guard
from app.drafting.guard import PIIBlocked, guarded_client
from app.pii.models import Kind, KnownPII

KNOWN = KnownPII(
    names=("Zoë Müller-Lüdenscheidt", "Zoë", "Siobhán O'Brien"),
    addresses=("742 Evergreen Terrace, Springfield, IL 62704",),
    phones=("+1 (206) 555-0142",),
    emails=("zoe.mueller@example.org", "3k9x2m4q8r7t5v1@marketplace.amazon.com"),
)

CLEAN = (
    "The buyer asks where order 113-4567890-1234567 is. Item: Merino wool socks, size "
    "M, 2 pairs (ASIN B08N5WRWNW, SKU SOCK-M-2). Shipped 2026-11-20 with UPS, tracking "
    "1Z999AA10123456784, total 24.99 USD. Reply politely in English."
)


@pytest.fixture
def server() -> Iterator[FakeAI]:
    with FakeAI() as srv:
        yield srv


def _send(srv: FakeAI, body: Any, known: KnownPII = KNOWN, **kwargs: Any) -> int:
    with guarded_client(known, base_url=srv.openai_url, timeout=5) as client:
        return client.post("chat/completions", json=body, **kwargs).status_code


def _chat(text: str) -> dict[str, Any]:
    return {
        "model": "fake-model",
        "messages": [
            {"role": "system", "content": "You write replies for a seller."},
            {"role": "user", "content": text},
        ],
    }


BLOCKED = [
    # names: case, accents folded, first name alone, whitespace and line breaks
    (Kind.NAME, "Hello, this is ZOË MÜLLER-LÜDENSCHEIDT writing."),
    (Kind.NAME, "hello, this is zoe muller-ludenscheidt writing."),
    (Kind.NAME, "Best wishes,\nZoe"),
    (Kind.NAME, "Regards, Zoë\n  Müller-Lüdenscheidt"),
    (Kind.NAME, "Thanks — siobhan o'brien"),
    # phone digits with any separators
    (Kind.PHONE, "Call me on (206) 555-0142 please."),
    (Kind.PHONE, "call 206.555.0142"),
    (Kind.PHONE, "my number: 2065550142"),
    (Kind.PHONE, "Phone +1 206 555 0142"),
    (Kind.PHONE, "tel 001-206-555-0142"),
    # emails, any case; the relay alias
    (Kind.EMAIL, "Write to Zoe.Mueller@Example.ORG instead."),
    (Kind.EMAIL, "from 3k9x2m4q8r7t5v1@marketplace.amazon.com"),
    # the address by its street line, in another order, or postcode with city
    (Kind.ADDRESS, "Please send it to 742 Evergreen Terrace."),
    (Kind.ADDRESS, "ship to: 742 EVERGREEN TERRACE\nSPRINGFIELD IL 62704"),
    (Kind.ADDRESS, "Springfield, IL 62704 / 742 Evergreen Terrace"),
]


@pytest.mark.parametrize(("kind", "text"), BLOCKED)
def test_known_pii_in_any_variant_is_blocked_before_sending(
    server: FakeAI, kind: Kind, text: str
) -> None:
    with pytest.raises(PIIBlocked) as caught:
        _send(server, _chat(text))
    assert caught.value.kind is kind
    assert server.connections == 0 and server.requests == []


def test_the_body_is_read_decoded_not_as_escaped_json(server: FakeAI) -> None:
    """``ensure_ascii`` JSON writes Zoë as ``Zo\\u00eb``: the guard reads the strings."""
    raw = json.dumps(_chat("Signed: Zoë Müller-Lüdenscheidt"), ensure_ascii=True)
    assert "Zoë" not in raw
    with pytest.raises(PIIBlocked):
        _send(server, None, content=raw, headers={"content-type": "application/json"})
    assert server.connections == 0


def test_pii_in_a_key_or_a_nested_value_is_found(server: FakeAI) -> None:
    body = _chat(CLEAN)
    body["metadata"] = {"notes": [{"to": "zoe.mueller@example.org"}]}
    with pytest.raises(PIIBlocked) as caught:
        _send(server, body)
    assert caught.value.kind is Kind.EMAIL
    with pytest.raises(PIIBlocked):
        _send(server, {**_chat(CLEAN), "Zoë Müller-Lüdenscheidt": 1})
    assert server.connections == 0


def test_pii_in_the_url_is_blocked(server: FakeAI) -> None:
    with pytest.raises(PIIBlocked) as caught:
        _send(server, _chat(CLEAN), params={"user": "206-555-0142"})
    assert caught.value.kind is Kind.PHONE
    assert server.connections == 0


def test_a_body_that_is_not_json_is_read_as_text(server: FakeAI) -> None:
    with pytest.raises(PIIBlocked):
        _send(server, None, content=b"name=Zo%C3%AB&street=742 Evergreen Terrace")
    assert server.connections == 0


@pytest.mark.parametrize(
    "text",
    [
        CLEAN,
        "Hello [NAME], your parcel to [ADDRESS] left today. Call [PHONE] or [EMAIL].",
        "Springfield is a town; the Evergreen range of socks is on sale; 742 pairs left.",
        "Zoetrope lamp, 2 pieces.",
    ],
)
def test_clean_bodies_go_through(server: FakeAI, text: str) -> None:
    assert _send(server, _chat(text)) == 200
    assert [r.body["messages"][1]["content"] for r in server.requests] == [text]


def test_with_nothing_known_everything_goes_through(server: FakeAI) -> None:
    assert _send(server, _chat("Zoë Müller-Lüdenscheidt, 742 Evergreen Terrace"), KnownPII()) == 200


def test_the_message_says_which_kind_and_nothing_else() -> None:
    error = PIIBlocked(Kind.ADDRESS)
    assert error.message == (
        "The draft request was stopped because it contained the buyer's address. Nothing was sent."
    )
    assert error.kind is Kind.ADDRESS
    for kind in Kind:
        text = PIIBlocked(kind).message + (PIIBlocked(kind).detail or "")
        assert "Zo" not in text and "@" not in text


def test_the_log_holds_the_kind_only(server: FakeAI, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    with pytest.raises(PIIBlocked):
        _send(server, _chat("I am Zoë, call 206 555 0142"))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "blocked" in logged
    assert "Zo" not in logged and "555" not in logged


def test_plain_http_to_another_computer_is_refused() -> None:
    with pytest.raises(net.AddressNotAllowed):
        guarded_client(KNOWN, base_url="http://api.example.com/v1", timeout=5)


def test_request_text_decodes_url_and_strings() -> None:
    with guarded_client(KnownPII(), base_url="https://api.example.com", timeout=5) as client:
        request = client.build_request(
            "POST", "/v1/x", params={"q": "a b"}, json={"k": ["Zo\u00eb", {"n": "line\nbreak"}]}
        )
    text = guard.request_text(request)
    assert "q=a b" in text
    assert "Zoë" in text and "line\nbreak" in text


# --- no way around the guard ------------------------------------------------------------

DRAFTING = Path(guard.__file__).resolve().parent
#: Packages that can open a connection without app.net (top-level names).
NETWORK_PACKAGES = frozenset(
    {
        "socket",
        "ssl",
        "http",
        "urllib3",
        "requests",
        "aiohttp",
        "httpcore",
        "asyncio",
        "websockets",
        "ftplib",
        "smtplib",
        "subprocess",
    }
)
#: What app/drafting may name in httpx: types and exceptions, nothing that sends.
HTTPX_TYPES = frozenset(
    {
        "Request",
        "Response",
        "Headers",
        "HTTPError",
        "TransportError",
        "TimeoutException",
        "ConnectError",
        "ConnectTimeout",
        "ReadTimeout",
        "RemoteProtocolError",
    }
)
#: As an attribute (``httpx.Client`` in an annotation) a client may be named, not made.
HTTPX_NAMES = HTTPX_TYPES | {"Client"}


def _uses(tree: ast.Module) -> Iterator[tuple[str, int]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield f"import {alias.name}", node.lineno
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                yield f"from {node.module} import {alias.name}", node.lineno
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            yield f"{node.value.id}.{node.attr}", node.lineno
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func = node.func
            if isinstance(func.value, ast.Name) and func.value.id == "httpx":
                yield f"call httpx.{func.attr}", node.lineno


def _import_violation(use: str, name: str) -> bool:
    words = use.split()
    module = words[1]
    imported = words[3] if words[0] == "from" else ""
    top = module.split(".")[0]
    if top in NETWORK_PACKAGES:
        # providers.py names ssl's exception types to tell a certificate failure
        return not (name == "providers.py" and use == "import ssl")
    if module.startswith("urllib.request") or (module == "urllib" and imported == "request"):
        return True
    if module == "app.net" or (module == "app" and imported == "net"):
        return name != "guard.py"
    return module == "httpx" and bool(imported) and imported not in HTTPX_TYPES


def _violations(source: str, name: str) -> list[str]:
    out = []
    for use, line in _uses(ast.parse(source)):
        if use.startswith(("import ", "from ")):
            bad = _import_violation(use, name)
        elif use.startswith("call httpx."):
            bad = True  # nothing in httpx is called: no client, no request
        elif use.startswith("httpx."):
            bad = use[6:] not in HTTPX_NAMES
        elif use.startswith("net."):
            bad = name != "guard.py"
        elif use.startswith("ssl."):
            bad = use not in ("ssl.SSLError", "ssl.CertificateError")
        else:
            bad = False
        if bad:
            out.append(f"{name}:{line}: {use}")
    return out


def test_app_drafting_reaches_the_network_only_through_the_guard() -> None:
    found = []
    for path in sorted(DRAFTING.glob("*.py")):
        found += _violations(path.read_text(encoding="utf-8"), path.name)
    assert found == [], "app/drafting may reach a provider only through guard.guarded_client"


@pytest.mark.parametrize(
    "source",
    [
        "import httpx\nhttpx.post('https://x')",
        "import httpx\nc = httpx.Client()",
        "from httpx import Client as C\nC().get('x')",
        "from httpx import stream",
        "import urllib.request",
        "from http.client import HTTPSConnection",
        "import socket",
        "from http import client",
        "from urllib import request",
        "import asyncio",
        "from app import net\nnet.client(base_url='https://x', timeout=1)",
        "from app.net import client",
    ],
)
def test_the_source_check_sees_a_way_around(source: str) -> None:
    assert _violations(source, "service.py") != []
