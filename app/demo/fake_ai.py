"""A fake AI provider over real HTTP: OpenAI chat completions and Anthropic Messages.

Used by the demo (a drafting provider that works offline) and by tests, which read what
it received.  A ``ThreadingHTTPServer`` on 127.0.0.1 (ephemeral port) in a background
thread; it answers like the real APIs (paths, headers, payloads, error bodies,
server-sent events), not like our client.

Usage::

    with FakeAI() as ai:
        ai.openai_url        # "http://127.0.0.1:PORT/v1"  (OpenAI-compatible base URL)
        ai.anthropic_url     # "http://127.0.0.1:PORT"     (Anthropic base URL)
        ai.provider_config(ProviderKind.OPENAI)            # a ProviderConfig for it
        ai.requests          # every request received: AIRequest (body decoded)
        ai.fault(AIFault.RATE_LIMIT, count=2)              # next 2 requests get 429
        ai.reply_text = "Thank you for your message."      # else built from the prompt

Endpoints: ``POST /v1/chat/completions`` (also ``/chat/completions`` and Azure's
``/openai/deployments/{name}/chat/completions?api-version=``), ``POST /v1/messages``.
Both stream (``"stream": true``) as the real APIs do: OpenAI ``data:`` chunks ending
with ``data: [DONE]``; Anthropic ``message_start`` … ``content_block_delta`` …
``message_stop`` events.

Checks like the real ones: ``api_key`` (constructor; ``None`` accepts any or none, as
Ollama does) against ``Authorization: Bearer``, Azure's ``api-key`` or Anthropic's
``x-api-key`` (401); Anthropic needs ``anthropic-version`` (400) and ``max_tokens``;
``models`` (``None`` accepts any) else 404.

Faults (:class:`AIFault`, ``fault(kind, count=None)``; ``count`` requests, or until
``clear_faults()``): ``bad_key`` 401, ``unknown_model`` 404, ``rate_limit`` 429 with
``retry-after: {retry_after}``, ``server_error`` 500, ``slow`` (waits ``slow_seconds``
before answering), ``cut`` (a stream stops without its end marker; a plain answer
drops the connection).  ``chunk_delay`` spaces streamed chunks; ``can_stream=False``
answers whole even when asked to stream (as some local servers do).

The default answer is a polite reply chosen by the intent words of the last user
message (English or German), with the order id if the prompt names one: plain text, no
links, no email addresses, no emoji, no buyer data.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from app.demo.loopback import LoopbackServer
from app.drafting.models import ProviderConfig, ProviderKind

log = logging.getLogger("muttefik.demo")

OPENAI = "openai"
ANTHROPIC = "anthropic"
DEFAULT_MODEL = "fake-model"


class AIFault(StrEnum):
    BAD_KEY = "bad_key"
    UNKNOWN_MODEL = "unknown_model"
    RATE_LIMIT = "rate_limit"
    SERVER_ERROR = "server_error"
    SLOW = "slow"
    CUT = "cut"


@dataclass(frozen=True)
class AIRequest:
    """One request as received (whatever its outcome)."""

    api: str  # "openai" / "anthropic" / "unknown"
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # lower-case names
    body: Any  # the decoded JSON (None if it was not JSON)
    raw: bytes
    status: int

    @property
    def stream(self) -> bool:
        return isinstance(self.body, dict) and self.body.get("stream") is True


# --- the default answer -----------------------------------------------------------------

_ORDER_ID = re.compile(r"\b\d{3}-\d{7}-\d{7}\b")
_GERMAN = re.compile(r"\b(ich|und|nicht|bestellung|hallo|danke|meine|paket|bitte)\b")

# (intent words, English answer, German answer); first match wins.
_ANSWERS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (
        ("damaged", "broken", "defect", "cracked", "faulty", "kaputt", "beschädigt", "defekt"),
        "I am sorry that the item arrived damaged. We will send a replacement at no cost "
        "to you, or refund the order in full if you prefer. Please let us know which you "
        "would like.",
        "Es tut uns leid, dass der Artikel beschädigt angekommen ist. Wir schicken Ihnen "
        "kostenlos Ersatz oder erstatten den vollen Betrag, wie Sie möchten. Bitte geben "
        "Sie uns kurz Bescheid.",
    ),
    (
        ("cancel", "stornier"),
        "We have received your cancellation request. If the order has not shipped yet, we "
        "will cancel it and you will not be charged.",
        "Wir haben Ihren Stornierungswunsch erhalten. Wenn die Bestellung noch nicht "
        "versandt wurde, stornieren wir sie, und Ihnen wird nichts berechnet.",
    ),
    (
        ("size", "exchange", "too small", "too big", "größe", "umtausch", "passt nicht"),
        "We are happy to exchange the item for another size. Please start a return from "
        "your Amazon orders page, and let us know which size you would like.",
        "Gerne tauschen wir den Artikel gegen eine andere Größe um. Bitte starten Sie die "
        "Rücksendung über Ihre Amazon-Bestellübersicht und nennen Sie uns die gewünschte "
        "Größe.",
    ),
    (
        ("refund", "return", "money back", "rückgabe", "erstattung", "zurückschicken"),
        "You can return the item within the return window from your Amazon orders page. "
        "As soon as it reaches us, we will refund you in full.",
        "Sie können den Artikel innerhalb der Rückgabefrist über Ihre Amazon-"
        "Bestellübersicht zurückschicken. Sobald er bei uns ist, erstatten wir den vollen "
        "Betrag.",
    ),
    (
        ("invoice", "vat", "receipt", "rechnung", "mwst"),
        "We will upload the invoice to your order, where you can download it from your "
        "Amazon orders page.",
        "Wir laden die Rechnung zu Ihrer Bestellung hoch; Sie finden sie in Ihrer Amazon-"
        "Bestellübersicht.",
    ),
    (
        ("address", "adresse", "anschrift"),
        "Amazon does not let us change the delivery address once an order is placed. If "
        "the order has not shipped yet, you can cancel it and order again with the new "
        "address.",
        "Amazon erlaubt uns nicht, die Lieferadresse nach der Bestellung zu ändern. Wenn "
        "die Bestellung noch nicht versandt wurde, können Sie sie stornieren und mit der "
        "neuen Adresse neu bestellen.",
    ),
    (
        ("where", "tracking", "arrive", "delivery", "delivered", "wo ist", "lieferung", "sendung"),
        "Your order is on its way. You can follow the parcel with the tracking details on "
        "your Amazon orders page. If it has not arrived by the end of the delivery window, "
        "please write to us again and we will sort it out.",
        "Ihre Bestellung ist unterwegs. Die Sendungsverfolgung finden Sie in Ihrer Amazon-"
        "Bestellübersicht. Falls sie bis zum Ende des Lieferzeitraums nicht ankommt, "
        "schreiben Sie uns bitte noch einmal.",
    ),
)
_GENERIC = (
    "Thank you for your question. We will look into it and get back to you shortly.",
    "Vielen Dank für Ihre Nachricht. Wir kümmern uns darum und melden uns in Kürze.",
)


def polite_reply(prompt: str) -> str:
    """A plausible seller's reply to ``prompt`` (the last user message)."""
    lower = prompt.lower()
    german = len(_GERMAN.findall(lower)) >= 2
    body_en, body_de = _GENERIC
    for words, en, de in _ANSWERS:
        if any(word in lower for word in words):
            body_en, body_de = en, de
            break
    order = _ORDER_ID.search(prompt)
    if german:
        about = f" zu Ihrer Bestellung {order.group()}" if order else ""
        return f"Hallo,\n\nvielen Dank für Ihre Nachricht{about}. {body_de}\n\nViele Grüße"
    about = f" about order {order.group()}" if order else ""
    return f"Hello,\n\nThank you for your message{about}. {body_en}\n\nBest regards"


def _chunks(text: str, words: int) -> list[str]:
    pieces = re.findall(r"\s*\S+\s*", text) or [text]
    step = max(1, words)
    return ["".join(pieces[i : i + step]) for i in range(0, len(pieces), step)]


# --- the server ---------------------------------------------------------------------------


@dataclass
class _Answer:
    status: int
    payload: Any = None  # JSON for a plain answer
    events: Sequence[tuple[str | None, str]] | None = None  # (event name, data) to stream
    headers: dict[str, str] | None = None
    cut: bool = False


#: fault -> (status, OpenAI error type, Anthropic error type, OpenAI code, message)
_ERRORS: dict[AIFault, tuple[int, str, str, str, str]] = {
    AIFault.BAD_KEY: (
        401,
        "invalid_request_error",
        "authentication_error",
        "invalid_api_key",
        "Incorrect API key provided.",
    ),
    AIFault.UNKNOWN_MODEL: (
        404,
        "invalid_request_error",
        "not_found_error",
        "model_not_found",
        "The model does not exist or you do not have access to it.",
    ),
    AIFault.RATE_LIMIT: (
        429,
        "requests",
        "rate_limit_error",
        "rate_limit_exceeded",
        "Rate limit reached for requests.",
    ),
    AIFault.SERVER_ERROR: (
        500,
        "server_error",
        "api_error",
        "server_error",
        "The server had an error while processing your request.",
    ),
}


def _bad_request(api: str, message: str) -> _Answer:
    if api == ANTHROPIC:
        return _Answer(
            400, {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
        )
    return _Answer(400, {"error": {"message": message, "type": "invalid_request_error"}})


class FakeAI(LoopbackServer):
    """The fake server.  Public methods are thread-safe; requests are served on the
    server's own threads."""

    def __init__(
        self,
        *,
        reply_text: str | None = None,
        api_key: str | None = None,
        models: Iterable[str] | None = None,
        chunk_words: int = 1,
        chunk_delay: float = 0.0,
        retry_after: float | None = 1,
        slow_seconds: float = 5.0,
        can_stream: bool = True,
    ) -> None:
        self.reply_text = reply_text
        #: False: answers whole even when asked to stream (as some local servers do).
        self.can_stream = can_stream
        self.api_key = api_key
        self.models = frozenset(models) if models is not None else None
        self.chunk_words = chunk_words
        self.chunk_delay = chunk_delay
        self.retry_after = retry_after
        self.slow_seconds = slow_seconds
        #: Set when a client went away in the middle of a stream.
        self.stream_cut = threading.Event()
        self._lock = threading.Lock()
        self._faults: dict[AIFault, int | None] = {}
        self._requests: list[AIRequest] = []
        self._connections = 0
        super().__init__()

    # --- lifecycle -----------------------------------------------------------------

    thread_name = "fake-ai"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _Handler

    def _started(self) -> None:
        log.info("fake AI provider listening on %s", self.base_url)

    @property
    def openai_url(self) -> str:
        return self.base_url + "/v1"

    @property
    def anthropic_url(self) -> str:
        return self.base_url

    def provider_config(
        self, kind: ProviderKind = ProviderKind.OPENAI, *, name: str = "", **changes: Any
    ) -> ProviderConfig:
        """A drafting provider pointing at this server (``changes``: other fields)."""
        openai = kind is ProviderKind.OPENAI
        fields: dict[str, Any] = {
            "name": name or ("Demo AI (OpenAI-style)" if openai else "Demo AI (Anthropic-style)"),
            "kind": kind,
            "base_url": self.openai_url if openai else self.anthropic_url,
            "model": DEFAULT_MODEL,
            "timeout_seconds": 30.0,
        }
        fields.update(changes)
        return ProviderConfig(**fields)

    # --- test controls ----------------------------------------------------------------

    def fault(self, kind: AIFault, count: int | None = None) -> None:
        """The next ``count`` requests (all until :meth:`clear_faults` if None) get it."""
        with self._lock:
            self._faults[kind] = count

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take(self, kind: AIFault) -> bool:
        with self._lock:
            if kind not in self._faults:
                return False
            left = self._faults[kind]
            if left is not None:
                if left <= 1:
                    del self._faults[kind]
                else:
                    self._faults[kind] = left - 1
            return True

    @property
    def requests(self) -> list[AIRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def connections(self) -> int:
        """Connections accepted so far (a blocked request opens none)."""
        with self._lock:
            return self._connections

    def received_text(self) -> str:
        """Everything received so far (paths, headers and bodies), as text."""
        with self._lock:
            parts = [
                f"{r.path}\n{json.dumps(dict(r.headers))}\n{r.raw.decode('utf-8', 'replace')}"
                for r in self._requests
            ]
        return "\n".join(parts)

    def _connected(self) -> None:
        with self._lock:
            self._connections += 1

    def _record(self, request: AIRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    # --- request handling (server threads) -----------------------------------------------

    def handle(self, method: str, target: str, headers: Mapping[str, str], raw: bytes) -> _Answer:
        url = urlsplit(target)
        path = url.path.rstrip("/")
        query = parse_qs(url.query)
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        if method == "POST" and (
            path in ("/v1/chat/completions", "/chat/completions")
            or re.fullmatch(r"/openai/deployments/[^/]+/chat/completions", path)
        ):
            api = OPENAI
            answer = self._openai(path, query, headers, body)
        elif method == "POST" and path == "/v1/messages":
            api = ANTHROPIC
            answer = self._anthropic(headers, body)
        else:
            api = "unknown"
            answer = _Answer(404, {"error": {"message": "Not found", "type": "not_found"}})
        self._record(AIRequest(api, path, query, dict(headers), body, raw, answer.status))
        if self._take(AIFault.SLOW):
            self._wait(self.slow_seconds)
        return answer

    def _error(self, api: str, fault: AIFault) -> _Answer:
        """The real API's answer to ``fault`` (status, error body, headers)."""
        status, openai_type, anthropic_type, code, message = _ERRORS[fault]
        if api == ANTHROPIC:
            payload: Any = {"type": "error", "error": {"type": anthropic_type, "message": message}}
        else:
            payload = {
                "error": {"message": message, "type": openai_type, "param": None, "code": code}
            }
        answer = _Answer(status, payload)
        if fault is AIFault.RATE_LIMIT and self.retry_after is not None:
            answer.headers = {"retry-after": f"{self.retry_after:g}"}
        return answer

    def _faulted(self, api: str) -> _Answer | None:
        for fault in _ERRORS:
            if self._take(fault):
                return self._error(api, fault)
        return None

    def _check(self, api: str, key: str | None, body: Any) -> _Answer | None:
        faulted = self._faulted(api)
        if faulted is not None:
            return faulted
        if self.api_key is not None and key != self.api_key:
            return self._error(api, AIFault.BAD_KEY)
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            message = "We could not parse the JSON body of your request."
            return _bad_request(api, message)
        model = body.get("model")
        if self.models is not None and model not in self.models:
            return self._error(api, AIFault.UNKNOWN_MODEL)
        return None

    def _reply(self, messages: list[Any]) -> str:
        if self.reply_text is not None:
            return self.reply_text
        last = ""
        for m in messages:
            if isinstance(m, dict) and m.get("role") == "user":
                content = m.get("content")
                last = content if isinstance(content, str) else json.dumps(content)
        return polite_reply(last)

    def _openai(
        self, path: str, query: Mapping[str, list[str]], headers: Mapping[str, str], body: Any
    ) -> _Answer:
        if path.startswith("/openai/"):  # Azure: key in api-key, api-version required
            key = headers.get("api-key")
            if not query.get("api-version"):
                return _Answer(404, {"error": {"code": "404", "message": "Resource not found"}})
        else:
            auth = headers.get("authorization", "")
            key = auth[7:] if auth.startswith("Bearer ") else None
        problem = self._check(OPENAI, key, body)
        if problem is not None:
            return problem
        text = self._reply(body["messages"])
        model = str(body.get("model") or DEFAULT_MODEL)
        ident = "chatcmpl-" + uuid.uuid4().hex[:24]
        created = int(time.time())
        cut = self._take(AIFault.CUT)
        if not (body.get("stream") and self.can_stream):
            payload = {
                "id": ident,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            }
            return _Answer(200, payload, cut=cut)

        def chunk(delta: dict[str, Any], finish: str | None = None) -> tuple[str | None, str]:
            event = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return None, json.dumps(event, ensure_ascii=False)

        events: list[tuple[str | None, str]] = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": piece}) for piece in _chunks(text, self.chunk_words)]
        if cut:
            return _Answer(200, events=events[: max(2, len(events) // 2)], cut=True)
        events += [chunk({}, "stop"), (None, "[DONE]")]
        return _Answer(200, events=events)

    def _anthropic(self, headers: Mapping[str, str], body: Any) -> _Answer:
        problem = self._check(ANTHROPIC, headers.get("x-api-key"), body)
        if problem is not None:
            return problem
        missing = (
            "anthropic-version: header is required"
            if not headers.get("anthropic-version")
            else "max_tokens: Field required"
            if not isinstance(body.get("max_tokens"), int)
            else ""
        )
        if missing:
            return _bad_request(ANTHROPIC, missing)
        text = self._reply(body["messages"])
        model = str(body.get("model") or DEFAULT_MODEL)
        ident = "msg_" + uuid.uuid4().hex[:24]
        usage = {"input_tokens": 0, "output_tokens": 0}
        cut = self._take(AIFault.CUT)
        if not (body.get("stream") and self.can_stream):
            payload = {
                "id": ident,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": usage,
            }
            return _Answer(200, payload, cut=cut)

        def event(name: str, data: dict[str, Any]) -> tuple[str | None, str]:
            return name, json.dumps({"type": name, **data}, ensure_ascii=False)

        start: dict[str, Any] = {
            "id": ident,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        events: list[tuple[str | None, str]] = [
            event("message_start", {"message": start}),
            event(
                "content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}
            ),
            event("ping", {}),
        ]
        events += [
            event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": p}})
            for p in _chunks(text, self.chunk_words)
        ]
        if cut:
            return _Answer(200, events=events[: max(4, len(events) // 2)], cut=True)
        events += [
            event("content_block_stop", {"index": 0}),
            event(
                "message_delta",
                {"delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": usage},
            ),
            event("message_stop", {}),
        ]
        return _Answer(200, events=events)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "FakeAI"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self._fake()._connected()

    def _fake(self) -> FakeAI:
        fake: FakeAI = self.server.fake  # type: ignore[attr-defined]
        return fake

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        fake = self._fake()
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            answer = fake.handle(self.command, self.path, headers, raw)
        except Exception:  # a bug in the fake must still answer like a server
            log.exception("fake AI failed on %s", self.path.split("?")[0])
            answer = _Answer(500, {"error": {"message": "Internal error", "type": "server_error"}})
        if answer.events is not None:
            self._stream(fake, answer)
            return
        data = json.dumps(answer.payload, ensure_ascii=False).encode()
        if answer.cut:  # drop the connection without an answer
            self.close_connection = True
            return
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (answer.headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, fake: FakeAI, answer: _Answer) -> None:
        self.close_connection = True
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.flush()
            for name, data in _events(answer.events or []):
                if fake._stopping.is_set():
                    return
                self.wfile.write(name + data)
                self.wfile.flush()
                fake._wait(fake.chunk_delay)
        except (BrokenPipeError, ConnectionResetError):
            fake.stream_cut.set()

    do_POST = _serve
    do_GET = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("fake AI %s", format % args)


def _events(events: Sequence[tuple[str | None, str]]) -> Iterator[tuple[bytes, bytes]]:
    for name, data in events:
        head = f"event: {name}\n".encode() if name else b""
        yield head, f"data: {data}\n\n".encode()
