"""AI providers: OpenAI-compatible chat completions and the Anthropic Messages API.

:func:`complete` sends one prompt and returns the model's text, streamed chunk by chunk
to ``on_chunk`` when given.  Every request goes through
:func:`app.drafting.guard.guarded_client`: verified TLS, plain http only to this
computer, and :class:`~app.drafting.guard.PIIBlocked` before any byte is sent if the
request holds the buyer's known PII.  This module opens no connection of its own.

- OpenAI-compatible (OpenAI, Ollama, LM Studio, vLLM, llama.cpp server):
  ``POST {base_url}/chat/completions`` with ``Authorization: Bearer KEY`` (no header
  without a key: local servers need none).  Azure OpenAI: ``extra["api-version"]`` set,
  ``base_url`` the deployment (``https://RES.openai.azure.com/openai/deployments/DEP``),
  the key in an ``api-key`` header.  ``extra["max-tokens-field"]`` renames
  ``max_tokens`` for models that want ``max_completion_tokens``.
- Anthropic: ``POST {base_url}/v1/messages`` with ``x-api-key`` and
  ``anthropic-version`` (``extra["anthropic-version"]``, default 2023-06-01); the system
  messages become the top-level ``system``.

Retries: 429, 5xx and connection failures are tried again up to :data:`MAX_RETRIES`
times, after the server's ``retry-after`` (if it is at most :data:`MAX_RETRY_AFTER`) or
:data:`BACKOFF`; the wait ends at once on ``cancel``.  A stream that already delivered
chunks is never repeated.  Errors are :class:`ProviderError` subclasses in plain words;
neither they nor the log hold the key or the prompt (provider error text may echo the
prompt, so only its code is kept, in ``detail``).

httpx is imported only when a request is made (off the app's startup path).
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.drafting import guard
from app.drafting.models import ProviderConfig, ProviderKind
from app.errors import OperationCancelled, UserError
from app.pii.models import KnownPII

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("muttefik.drafting")

#: Attempts after the first one, for 429, 5xx and connection failures.
MAX_RETRIES = 3
#: Seconds before retry 1, 2, 3 when the server names no time.
BACKOFF = (1.0, 2.0, 4.0)
#: A longer ``retry-after`` is not waited for: the seller hears "rate limited" now.
MAX_RETRY_AFTER = 30.0
ANTHROPIC_VERSION = "2023-06-01"

OnChunk = Callable[[str], None]


# --- errors ----------------------------------------------------------------------------


class ProviderError(UserError):
    title = "Drafting provider problem"
    message = "The drafting provider could not write a draft. Try again later."


class ProviderKeyRejected(ProviderError):
    title = "API key refused"


class ProviderModelMissing(ProviderError):
    title = "Model not found"


class ProviderRateLimited(ProviderError):
    title = "Provider busy"

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after: float | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message, detail=detail)
        self.retry_after = retry_after


class ProviderOffline(ProviderError):
    title = "Provider not reachable"


# --- requests --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Call:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    params: dict[str, str] = field(default_factory=dict)


def _openai_call(
    config: ProviderConfig,
    api_key: str | None,
    messages: list[dict[str, str]],
    max_tokens: int,
    stream: bool,
) -> _Call:
    headers: dict[str, str] = {}
    params: dict[str, str] = {}
    version = config.extra.get("api-version", "")
    if version:  # Azure OpenAI
        params["api-version"] = version
        if api_key:
            headers["api-key"] = api_key
    elif api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    body: dict[str, Any] = {"messages": [dict(m) for m in messages], "stream": stream}
    if config.model:
        body["model"] = config.model
    body[config.extra.get("max-tokens-field", "max_tokens")] = max_tokens
    return _Call("/chat/completions", headers, body, params)


def _anthropic_call(
    config: ProviderConfig,
    api_key: str | None,
    messages: list[dict[str, str]],
    max_tokens: int,
    stream: bool,
) -> _Call:
    headers = {"anthropic-version": config.extra.get("anthropic-version", ANTHROPIC_VERSION)}
    if api_key:
        headers["x-api-key"] = api_key
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    turns: list[dict[str, str]] = []
    for m in messages:
        if m["role"] == "system":
            continue
        if turns and turns[-1]["role"] == m["role"]:  # the API wants turns to alternate
            turns[-1] = {"role": m["role"], "content": turns[-1]["content"] + "\n\n" + m["content"]}
        else:
            turns.append({"role": m["role"], "content": m["content"]})
    body: dict[str, Any] = {
        "model": config.model,
        "max_tokens": max_tokens,
        "messages": turns,
        "stream": stream,
    }
    if system:
        body["system"] = system
    # base_url may be given with or without the API's /v1.
    path = "/messages" if config.base_url.rstrip("/").endswith("/v1") else "/v1/messages"
    return _Call(path, headers, body)


def _base_url(config: ProviderConfig) -> str:
    return config.base_url.strip().rstrip("/") + "/"


# --- outcomes --------------------------------------------------------------------------


class _Retry(Exception):
    """This attempt failed in a way worth trying again; ``error`` if no more tries."""

    def __init__(self, error: ProviderError, retry_after: float | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.retry_after = retry_after


def _retry_after(headers: httpx.Headers) -> float | None:
    raw_ms = headers.get("retry-after-ms")
    raw = headers.get("retry-after")
    try:
        if raw_ms is not None:
            return max(0.0, float(raw_ms) / 1000)
        if raw is not None:
            return max(0.0, float(raw))
    except ValueError:
        return None  # an HTTP date: rare from these APIs; our backoff then
    return None


def _error_code(response: httpx.Response) -> str:
    """The provider's error code/type (never its message: that may echo the prompt)."""
    try:
        body = json.loads(response.read() or b"{}")
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = error.get("code") or error.get("type") or ""
        return str(code)[:60]
    return ""


def _status_error(config: ProviderConfig, response: httpx.Response) -> Exception:
    status = response.status_code
    code = _error_code(response)
    detail = f"HTTP {status} {code}".strip()
    name = config.name
    if status in (401, 403):
        return ProviderKeyRejected(
            f"{name} refused the API key. Check the key in the provider's settings "
            "(and that it may use this model).",
            detail=detail,
        )
    if status == 404:
        model = f'the model "{config.model}"' if config.model else "the model"
        return ProviderModelMissing(
            f"{name} does not know {model}, or its address is wrong. Check the model "
            "name and the address in the provider's settings.",
            detail=detail,
        )
    if status == 429:
        after = _retry_after(response.headers)
        return _Retry(
            ProviderRateLimited(
                f"{name} is busy or the account's limit was reached. Try again in a "
                "minute, or check the plan's limits with the provider.",
                retry_after=after,
                detail=detail,
            ),
            after,
        )
    if status >= 500 or status == 408:
        return _Retry(
            ProviderError(
                f"{name} had a problem on its side (server error {status}). Try again later.",
                detail=detail,
            ),
            _retry_after(response.headers),
        )
    return ProviderError(
        f"{name} could not take the request (error {status}). Check the provider's "
        "settings; if they are right, try another model.",
        detail=detail,
    )


def _is_tls(exc: BaseException) -> bool:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen:
        if isinstance(cur, ssl.SSLError | ssl.CertificateError):
            return True
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return False


def _transport_error(config: ProviderConfig, exc: Exception) -> Exception:
    import httpx

    name = config.name
    if _is_tls(exc):
        return ProviderError(
            f"The secure connection to {name} could not be verified (certificate "
            "problem). A proxy or network may be intercepting traffic. Nothing was sent.",
            detail=type(exc).__name__,
        )
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return _Retry(
            ProviderOffline(
                f"Could not reach {name}. Check the internet connection and the "
                "provider's address (a local model server must be running).",
                detail=type(exc).__name__,
            )
        )
    if isinstance(exc, httpx.TimeoutException):
        return ProviderOffline(
            f"{name} did not answer in time. Try again, or allow more time in the "
            "provider's settings.",
            detail=type(exc).__name__,
        )
    return ProviderOffline(
        f"The connection to {name} broke off. Try again.", detail=type(exc).__name__
    )


def _unreadable(config: ProviderConfig, detail: str) -> ProviderError:
    return ProviderError(
        f"{config.name} sent an answer Müttefik Desk cannot read. Check that the "
        "provider's type (OpenAI-compatible or Anthropic) matches the server.",
        detail=detail,
    )


# --- reading answers ---------------------------------------------------------------------


def _text_of(kind: ProviderKind, body: Any) -> str | None:
    try:
        if kind is ProviderKind.ANTHROPIC:
            return "".join(
                str(block.get("text", ""))
                for block in body["content"]
                if isinstance(block, dict) and block.get("type") == "text"
            )
        content = body["choices"][0]["message"].get("content")
        return content if isinstance(content, str) else None
    except (KeyError, IndexError, TypeError, AttributeError):
        return None


def _sse_data(lines: Iterator[str]) -> Iterator[str]:
    """The ``data:`` payloads of a server-sent event stream, one per event."""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:
        yield "\n".join(data)


@dataclass
class _Delta:
    text: str = ""
    done: bool = False
    error: str | None = None  # the provider's error type, mid-stream


def _delta(kind: ProviderKind, payload: str) -> _Delta:
    if kind is ProviderKind.OPENAI and payload.strip() == "[DONE]":
        return _Delta(done=True)
    event = json.loads(payload)
    if not isinstance(event, dict):
        raise ValueError("event is not an object")
    error = event.get("error")
    if error is not None:
        code = error.get("type") or error.get("code") if isinstance(error, dict) else None
        return _Delta(error=str(code or "error")[:60])
    if kind is ProviderKind.ANTHROPIC:
        kind_of = event.get("type")
        if kind_of == "message_stop":
            return _Delta(done=True)
        delta = event.get("delta") or {}
        if kind_of == "content_block_delta" and delta.get("type") == "text_delta":
            return _Delta(text=str(delta.get("text", "")))
        return _Delta()
    choices = event.get("choices") or []
    if not choices:
        return _Delta()
    content = (choices[0].get("delta") or {}).get("content")
    return _Delta(text=content if isinstance(content, str) else "")


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise OperationCancelled()


def _wait(cancel: threading.Event | None, seconds: float) -> None:
    """Wait ``seconds`` before a retry; :class:`OperationCancelled` at once on cancel."""
    if (cancel or threading.Event()).wait(seconds):
        raise OperationCancelled()


# --- one attempt -------------------------------------------------------------------------


def _attempt(
    http: httpx.Client,
    config: ProviderConfig,
    call: _Call,
    on_chunk: OnChunk | None,
    cancel: threading.Event | None,
    allow_empty: bool,
) -> str:
    import httpx

    request = http.build_request(
        "POST", call.path, params=call.params or None, headers=call.headers, json=call.body
    )
    emitted: list[str] = []
    try:
        response = http.send(request, stream=True)  # the guard runs here, before sending
        try:
            log.info("drafting provider %s: HTTP %d", config.kind.value, response.status_code)
            if response.status_code != 200:
                raise _status_error(config, response)
            streamed = "text/event-stream" in response.headers.get("content-type", "")
            if on_chunk is not None and streamed:
                text = _read_stream(config, response, on_chunk, cancel, emitted)
            else:  # asked for no stream, or a server that does not stream answered whole
                try:
                    answer = _text_of(config.kind, json.loads(response.read()))
                except ValueError:
                    answer = None
                if answer is None:
                    raise _unreadable(config, "no text in the answer")
                text = answer
                if on_chunk is not None and text:
                    _check_cancel(cancel)
                    on_chunk(text)
        finally:
            response.close()
    except httpx.TransportError as exc:
        error = _transport_error(config, exc)
        if emitted and isinstance(error, _Retry):
            raise error.error from None  # never repeat chunks the seller already saw
        raise error from None
    if not text.strip() and not allow_empty:
        raise ProviderError(
            f"{config.name} answered with no text. Try again, or choose another model.",
            detail="empty answer",
        )
    return text


def _read_stream(
    config: ProviderConfig,
    response: httpx.Response,
    on_chunk: OnChunk,
    cancel: threading.Event | None,
    emitted: list[str],
) -> str:
    for payload in _sse_data(response.iter_lines()):
        _check_cancel(cancel)
        try:
            delta = _delta(config.kind, payload)
        except (ValueError, AttributeError, TypeError):
            raise _unreadable(config, "unreadable stream event") from None
        if delta.error is not None:
            error = ProviderError(
                f"{config.name} stopped while writing the draft. Try again.",
                detail=f"stream error {delta.error}",
            )
            if not emitted and delta.error in ("overloaded_error", "rate_limit_error"):
                raise _Retry(error)
            raise error
        if delta.done:
            return "".join(emitted)
        if delta.text:
            emitted.append(delta.text)
            on_chunk(delta.text)
            _check_cancel(cancel)
    raise ProviderOffline(
        f"The connection to {config.name} ended before the draft was complete. Try again.",
        detail="stream ended without its end marker",
    )


# --- the API ---------------------------------------------------------------------------


def complete(
    config: ProviderConfig,
    api_key: str | None,
    messages: list[dict[str, str]],
    known: KnownPII,
    *,
    on_chunk: OnChunk | None = None,
    cancel: threading.Event | None = None,
    max_tokens: int = 800,
) -> str:
    """The model's answer to ``messages`` (``[{"role": "system"|"user"|"assistant",
    "content": str}]``).  With ``on_chunk`` the answer is streamed: each piece is passed
    to it as it arrives, and the whole text is returned at the end.  ``cancel`` stops
    between chunks and during waits (closing the response): :class:`OperationCancelled`.
    Raises :class:`~app.drafting.guard.PIIBlocked` (nothing sent) if the request holds
    any of ``known``, :class:`ProviderError` subclasses on failure, and
    :class:`~app.net.AddressNotAllowed` for plain http to another computer."""
    return _complete(config, api_key, messages, known, on_chunk, cancel, max_tokens, False)


def _complete(
    config: ProviderConfig,
    api_key: str | None,
    messages: list[dict[str, str]],
    known: KnownPII,
    on_chunk: OnChunk | None,
    cancel: threading.Event | None,
    max_tokens: int,
    allow_empty: bool,
) -> str:
    if config.kind is ProviderKind.OPENAI:
        build = _openai_call
    elif config.kind is ProviderKind.ANTHROPIC:
        build = _anthropic_call
    else:
        raise ValueError(f"{config.kind.value} is not an AI provider")
    if not config.base_url.strip():
        raise ProviderError(
            f"{config.name} has no address. Enter it in the provider's settings.",
            detail="empty base URL",
        )
    call = build(config, api_key, messages, max_tokens, on_chunk is not None)
    _check_cancel(cancel)
    with guard.guarded_client(
        known, base_url=_base_url(config), timeout=config.timeout_seconds
    ) as http:
        retries = 0
        while True:
            try:
                return _attempt(http, config, call, on_chunk, cancel, allow_empty)
            except _Retry as retry:
                delay = retry.retry_after if retry.retry_after is not None else None
                if retries >= MAX_RETRIES or (delay is not None and delay > MAX_RETRY_AFTER):
                    raise retry.error from None
                if delay is None:
                    delay = BACKOFF[min(retries, len(BACKOFF) - 1)]
                retries += 1
                log.info(
                    "drafting provider %s: %s, retry %d of %d in %.1f s",
                    config.kind.value,
                    retry.error.detail,
                    retries,
                    MAX_RETRIES,
                    delay,
                )
                _wait(cancel, delay)


def test_provider(config: ProviderConfig, api_key: str | None) -> str:
    """Send a one-token request; words for the seller saying that it worked (errors as
    :func:`complete`).  Carries no buyer data."""
    _complete(
        config,
        api_key,
        [{"role": "user", "content": "Reply with the word OK."}],
        KnownPII(),
        None,
        None,
        1,
        True,
    )
    model = f'the model "{config.model}"' if config.model else "its default model"
    return f"{config.name} answered with {model}. The connection works."


test_provider.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
