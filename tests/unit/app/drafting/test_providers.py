"""app/drafting/providers.py against the fake provider server (app/demo/fake_ai.py)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from app import net
from app.demo.fake_ai import AIFault, FakeAI
from app.drafting import providers
from app.drafting.guard import PIIBlocked
from app.drafting.models import ProviderConfig, ProviderKind
from app.drafting.providers import (
    ProviderError,
    ProviderKeyRejected,
    ProviderModelMissing,
    ProviderOffline,
    ProviderRateLimited,
    complete,
)
from app.errors import OperationCancelled
from app.pii.models import KnownPII
from tests.helpers import fake_ai as fake_ai_helper
from tests.helpers.fake_ai import API_KEY

fake_ai = fake_ai_helper.fake_ai

BOTH = [ProviderKind.OPENAI, ProviderKind.ANTHROPIC]
PROMPT = "Buyer: where is my order 113-4567890-1234567? It was due on Monday."
MESSAGES = [
    {"role": "system", "content": "You draft polite replies for an Amazon seller."},
    {"role": "user", "content": PROMPT},
]
LONG = " ".join(f"word{i}" for i in range(120))


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The retry waits asked for, without waiting (cancel is still honoured)."""
    asked: list[float] = []
    real = providers._wait

    def record(cancel: threading.Event | None, seconds: float) -> None:
        asked.append(seconds)
        real(cancel, 0)

    monkeypatch.setattr(providers, "_wait", record)
    return asked


def _complete(fake: FakeAI, kind: ProviderKind, **kwargs: Any) -> str:
    config = kwargs.pop("config", None) or fake.provider_config(kind)
    key = kwargs.pop("api_key", API_KEY)
    messages = kwargs.pop("messages", MESSAGES)
    return complete(config, key, messages, kwargs.pop("known", KnownPII()), **kwargs)


# --- requests as each API wants them ---------------------------------------------------


def test_openai_chat_completions(fake_ai: FakeAI) -> None:
    fake_ai.reply_text = "Your parcel is on its way."
    assert _complete(fake_ai, ProviderKind.OPENAI, max_tokens=300) == "Your parcel is on its way."
    (request,) = fake_ai.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.body == {
        "model": "fake-model",
        "messages": MESSAGES,
        "max_tokens": 300,
        "stream": False,
    }


def test_anthropic_messages(fake_ai: FakeAI) -> None:
    fake_ai.reply_text = "Your parcel is on its way."
    messages = [*MESSAGES, {"role": "user", "content": "Order context: shipped."}]
    assert _complete(fake_ai, ProviderKind.ANTHROPIC, messages=messages) == fake_ai.reply_text
    (request,) = fake_ai.requests
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == API_KEY
    assert request.headers["anthropic-version"] == providers.ANTHROPIC_VERSION
    assert "authorization" not in request.headers
    assert request.body["system"] == MESSAGES[0]["content"]
    # the system prompt goes on top; turns of one role are joined (the API wants them
    # to alternate)
    assert request.body["messages"] == [
        {"role": "user", "content": PROMPT + "\n\nOrder context: shipped."}
    ]
    assert request.body["max_tokens"] == 800


def test_anthropic_base_url_may_end_with_v1(fake_ai: FakeAI) -> None:
    config = fake_ai.provider_config(ProviderKind.ANTHROPIC, base_url=fake_ai.base_url + "/v1/")
    _complete(fake_ai, ProviderKind.ANTHROPIC, config=config)
    assert [r.path for r in fake_ai.requests] == ["/v1/messages"]


def test_azure_openai_uses_the_deployment_and_an_api_key_header(fake_ai: FakeAI) -> None:
    config = fake_ai.provider_config(
        ProviderKind.OPENAI,
        base_url=fake_ai.base_url + "/openai/deployments/drafts",
        model="",
        extra={"api-version": "2024-10-21"},
    )
    assert _complete(fake_ai, ProviderKind.OPENAI, config=config)
    (request,) = fake_ai.requests
    assert request.path == "/openai/deployments/drafts/chat/completions"
    assert request.query == {"api-version": ["2024-10-21"]}
    assert request.headers["api-key"] == API_KEY
    assert "authorization" not in request.headers
    assert "model" not in request.body


def test_local_servers_need_no_key() -> None:
    with FakeAI(api_key=None) as local:
        assert complete(local.provider_config(), None, MESSAGES, KnownPII())
        (request,) = local.requests
    assert "authorization" not in request.headers


def test_max_tokens_field_can_be_renamed(fake_ai: FakeAI) -> None:
    config = fake_ai.provider_config(extra={"max-tokens-field": "max_completion_tokens"})
    _complete(fake_ai, ProviderKind.OPENAI, config=config, max_tokens=50)
    body = fake_ai.requests[0].body
    assert body["max_completion_tokens"] == 50 and "max_tokens" not in body


def test_the_default_answer_reads_like_a_reply(fake_ai: FakeAI) -> None:
    text = _complete(fake_ai, ProviderKind.OPENAI)
    assert "113-4567890-1234567" in text and "on its way" in text
    assert "http" not in text and "@" not in text


# --- streaming and cancel --------------------------------------------------------------


@pytest.mark.parametrize("kind", BOTH)
def test_streaming_passes_chunks_in_order(fake_ai: FakeAI, kind: ProviderKind) -> None:
    fake_ai.reply_text = LONG
    chunks: list[str] = []
    text = _complete(fake_ai, kind, on_chunk=chunks.append)
    assert text == LONG
    assert "".join(chunks) == LONG
    assert len(chunks) == 120
    assert fake_ai.requests[0].body["stream"] is True


@pytest.mark.parametrize("kind", BOTH)
def test_a_server_that_does_not_stream_gives_one_chunk(kind: ProviderKind) -> None:
    with FakeAI(can_stream=False, reply_text=LONG) as ai:
        chunks: list[str] = []
        assert (
            complete(ai.provider_config(kind), None, MESSAGES, KnownPII(), on_chunk=chunks.append)
            == LONG
        )
        assert ai.requests[0].body["stream"] is True
    assert chunks == [LONG]


@pytest.mark.parametrize("kind", BOTH)
def test_cancel_between_chunks_closes_the_stream(fake_ai: FakeAI, kind: ProviderKind) -> None:
    fake_ai.reply_text = LONG
    fake_ai.chunk_delay = 0.02  # the stream is still being written when the client leaves
    cancel = threading.Event()
    chunks: list[str] = []

    def first_then_cancel(chunk: str) -> None:
        chunks.append(chunk)
        cancel.set()

    with pytest.raises(OperationCancelled):
        _complete(fake_ai, kind, on_chunk=first_then_cancel, cancel=cancel)
    assert chunks == ["word0 "]
    assert fake_ai.stream_cut.wait(10), "the server should see the client go away"
    assert len(fake_ai.requests) == 1


def test_cancel_before_the_request_sends_nothing(fake_ai: FakeAI) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(OperationCancelled):
        _complete(fake_ai, ProviderKind.OPENAI, cancel=cancel)
    assert fake_ai.connections == 0


def test_cancel_ends_a_retry_wait(fake_ai: FakeAI, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_ai.fault(AIFault.SERVER_ERROR)
    cancel = threading.Event()
    real = providers._wait
    asked: list[float] = []

    def seller_cancels_while_waiting(event: threading.Event | None, seconds: float) -> None:
        asked.append(seconds)
        cancel.set()
        real(event, 3600)  # returns at once: the wait is on the cancel event

    monkeypatch.setattr(providers, "_wait", seller_cancels_while_waiting)
    with pytest.raises(OperationCancelled):
        _complete(fake_ai, ProviderKind.OPENAI, cancel=cancel)
    assert asked == [providers.BACKOFF[0]]
    assert len(fake_ai.requests) == 1


def test_the_real_wait_returns_at_once_on_cancel() -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(OperationCancelled):
        providers._wait(cancel, 3600)
    providers._wait(None, 0)
    providers._wait(threading.Event(), 0.001)


@pytest.mark.parametrize("kind", BOTH)
def test_a_stream_cut_short_is_offline_and_not_repeated(
    fake_ai: FakeAI, kind: ProviderKind, waits: list[float]
) -> None:
    fake_ai.reply_text = LONG
    fake_ai.fault(AIFault.CUT, count=1)
    chunks: list[str] = []
    with pytest.raises(ProviderOffline):
        _complete(fake_ai, kind, on_chunk=chunks.append)
    assert chunks and len(fake_ai.requests) == 1 and waits == []


# --- retries ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", BOTH)
def test_server_errors_are_retried_with_backoff(
    fake_ai: FakeAI, kind: ProviderKind, waits: list[float]
) -> None:
    fake_ai.fault(AIFault.SERVER_ERROR, count=2)
    assert _complete(fake_ai, kind)
    assert [r.status for r in fake_ai.requests] == [500, 500, 200]
    assert waits == list(providers.BACKOFF[:2])


def test_rate_limits_honour_retry_after(fake_ai: FakeAI, waits: list[float]) -> None:
    fake_ai.retry_after = 7
    fake_ai.fault(AIFault.RATE_LIMIT, count=1)
    chunks: list[str] = []
    assert _complete(fake_ai, ProviderKind.OPENAI, on_chunk=chunks.append)
    assert [r.status for r in fake_ai.requests] == [429, 200]
    assert waits == [7.0]


@pytest.mark.parametrize("kind", BOTH)
def test_lasting_rate_limit_gives_up_after_three_retries(
    fake_ai: FakeAI, kind: ProviderKind, waits: list[float]
) -> None:
    fake_ai.retry_after = 2
    fake_ai.fault(AIFault.RATE_LIMIT)
    with pytest.raises(ProviderRateLimited) as caught:
        _complete(fake_ai, kind)
    assert len(fake_ai.requests) == 1 + providers.MAX_RETRIES
    assert waits == [2.0] * providers.MAX_RETRIES
    assert caught.value.retry_after == 2.0


def test_a_long_retry_after_is_not_waited_for(fake_ai: FakeAI, waits: list[float]) -> None:
    fake_ai.retry_after = providers.MAX_RETRY_AFTER + 1
    fake_ai.fault(AIFault.RATE_LIMIT)
    with pytest.raises(ProviderRateLimited):
        _complete(fake_ai, ProviderKind.OPENAI)
    assert len(fake_ai.requests) == 1 and waits == []


def test_lasting_server_errors_end_as_provider_error(fake_ai: FakeAI, waits: list[float]) -> None:
    fake_ai.fault(AIFault.SERVER_ERROR)
    with pytest.raises(ProviderError) as caught:
        _complete(fake_ai, ProviderKind.ANTHROPIC)
    assert type(caught.value) is ProviderError
    assert "server error 500" in caught.value.message
    assert len(fake_ai.requests) == 4 and len(waits) == 3


@pytest.fixture
def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


def test_no_server_is_offline_after_retries(closed_port: int, waits: list[float]) -> None:
    config = ProviderConfig(
        name="Local Ollama",
        kind=ProviderKind.OPENAI,
        base_url=f"http://127.0.0.1:{closed_port}/v1",
        model="llama3",
    )
    with pytest.raises(ProviderOffline) as caught:
        complete(config, None, MESSAGES, KnownPII())
    assert "Could not reach Local Ollama" in caught.value.message
    assert waits == list(providers.BACKOFF)


def test_a_slow_answer_times_out_as_offline_without_retry(
    fake_ai: FakeAI, waits: list[float]
) -> None:
    fake_ai.slow_seconds = 30
    fake_ai.fault(AIFault.SLOW, count=1)
    config = fake_ai.provider_config(timeout_seconds=0.3)
    with pytest.raises(ProviderOffline) as caught:
        _complete(fake_ai, ProviderKind.OPENAI, config=config)
    assert "did not answer in time" in caught.value.message
    assert len(fake_ai.requests) == 1 and waits == []


# --- errors in plain words, never the key or the prompt -------------------------------


@pytest.mark.parametrize("kind", BOTH)
def test_a_bad_key_is_rejected_at_once(fake_ai: FakeAI, kind: ProviderKind) -> None:
    with pytest.raises(ProviderKeyRejected) as caught:
        _complete(fake_ai, kind, api_key="sk-wrong-key-123")
    assert "refused the API key" in caught.value.message
    assert len(fake_ai.requests) == 1


@pytest.mark.parametrize("kind", BOTH)
def test_an_unknown_model_is_named(kind: ProviderKind) -> None:
    with FakeAI(models=["gpt-4o-mini", "claude-sonnet-4"]) as ai:
        config = ai.provider_config(kind, model="gpt-9")
        with pytest.raises(ProviderModelMissing) as caught:
            complete(config, "k", MESSAGES, KnownPII())
        assert len(ai.requests) == 1
    assert 'the model "gpt-9"' in caught.value.message


@pytest.mark.parametrize(
    "fault", [AIFault.BAD_KEY, AIFault.UNKNOWN_MODEL, AIFault.RATE_LIMIT, AIFault.SERVER_ERROR]
)
def test_errors_and_log_hold_neither_key_nor_prompt(
    fake_ai: FakeAI, fault: AIFault, waits: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    fake_ai.fault(fault)
    with pytest.raises(ProviderError) as caught:
        _complete(fake_ai, ProviderKind.OPENAI)
    shown = f"{caught.value.message} {caught.value.detail}"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (API_KEY, "113-4567890-1234567", "where is my order"):
        assert secret not in shown
        assert secret not in logged


def test_pii_in_the_prompt_is_blocked_before_any_connection(fake_ai: FakeAI) -> None:
    known = KnownPII(names=("Siobhán O'Brien", "Siobhán"), phones=("+44 7700 900123",))
    messages = [*MESSAGES, {"role": "user", "content": "Thanks, SIOBHAN (07700 900 123)"}]
    with pytest.raises(PIIBlocked):
        _complete(fake_ai, ProviderKind.ANTHROPIC, messages=messages, known=known)
    assert fake_ai.connections == 0


def test_plain_http_to_a_remote_provider_is_refused(fake_ai: FakeAI) -> None:
    config = fake_ai.provider_config(base_url="http://api.example.com/v1")
    with pytest.raises(net.AddressNotAllowed):
        _complete(fake_ai, ProviderKind.OPENAI, config=config)


def test_the_templates_provider_is_not_called_here(fake_ai: FakeAI) -> None:
    config = ProviderConfig(name="Templates", kind=ProviderKind.TEMPLATES)
    with pytest.raises(ValueError):
        complete(config, None, MESSAGES, KnownPII())


def test_an_empty_address_says_so() -> None:
    config = ProviderConfig(name="My AI", kind=ProviderKind.OPENAI)
    with pytest.raises(ProviderError, match="has no address"):
        complete(config, "k", MESSAGES, KnownPII())


# --- test_provider ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", BOTH)
def test_test_provider_sends_one_token_and_says_it_works(
    fake_ai: FakeAI, kind: ProviderKind
) -> None:
    config = fake_ai.provider_config(kind, name="Office AI")
    words = providers.test_provider(config, API_KEY)
    assert words == 'Office AI answered with the model "fake-model". The connection works.'
    (request,) = fake_ai.requests
    assert request.body["max_tokens"] == 1


def test_test_provider_reports_a_bad_key(fake_ai: FakeAI) -> None:
    with pytest.raises(ProviderKeyRejected):
        providers.test_provider(fake_ai.provider_config(), "nope")


@pytest.fixture(autouse=True)
def _no_leftover_faults(fake_ai: FakeAI) -> Iterator[None]:
    yield
    fake_ai.clear_faults()
