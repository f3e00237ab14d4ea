"""The fake AI provider server (``app/demo/fake_ai.py``) as a pytest fixture.

A test module takes it with ``fake_ai = fake_ai_helper.fake_ai`` at module level
(``from tests.helpers import fake_ai as fake_ai_helper``), or the suite registers this
module in ``pytest_plugins``.  The server runs on loopback for one test; its retry
waits are not shortened here (patch ``app.drafting.providers._wait`` to record them).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.demo.fake_ai import AIFault, AIRequest, FakeAI

__all__ = ["AIFault", "AIRequest", "FakeAI", "fake_ai"]

#: The key the fixture's server accepts.
API_KEY = "sk-test-fake-ai-key"


@pytest.fixture
def fake_ai() -> Iterator[FakeAI]:
    """A started :class:`FakeAI` that wants :data:`API_KEY`; closed after the test."""
    with FakeAI(api_key=API_KEY) as server:
        yield server
