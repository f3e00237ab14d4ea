"""``muttefik sync``: what the seller reads when the sync fails or runs long."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from app.amazon.models import SyncPhase, SyncProgress
from app.amazon.sync import SyncService
from app.auth import totp
from app.cli.orders import print_progress
from app.errors import (
    AmazonBadResponse,
    AmazonServerError,
    AmazonThrottled,
    NetworkDown,
    UserError,
)
from app.paths import Profile
from app.secrets import SecretStore
from tests.helpers.cli import add_store, answer_prompts, run
from tests.helpers.world import ADMIN_PW


@pytest.mark.parametrize(
    "error", [AmazonThrottled, AmazonServerError, AmazonBadResponse, NetworkDown]
)
def test_a_failed_sync_does_not_promise_to_continue_by_itself(
    cli_profile: tuple[Profile, str],
    secrets: SecretStore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    error: type[UserError],
) -> None:
    profile, secret = cli_profile
    add_store(profile, secrets)

    def fails(self: Any, actor: Any, store_id: int, cancel: threading.Event, progress: Any) -> Any:
        raise error()

    monkeypatch.setattr(SyncService, "sync_store", fails)
    answer_prompts(monkeypatch, "admin", ADMIN_PW, totp.code_at(secret, datetime.now(UTC)))
    assert run(profile, "sync", "--store", "Main") == 2
    err = capsys.readouterr().err
    assert error.title in err
    for promise in ("by itself", "will try again", "will retry", "we will", "shortly"):
        assert promise not in err  # the command has exited: nothing goes on by itself
    assert "muttefik sync --store" in err and "again" in err


def _progress(phase: SyncPhase, eta: float | None) -> SyncProgress:
    return SyncProgress(store_id=1, phase=phase, pages=2, orders=119, eta_seconds=eta)


def test_progress_lines_do_not_claim_done_or_no_time_left(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_progress(_progress(SyncPhase.BACKFILL, 0.0))
    print_progress(_progress(SyncPhase.BACKFILL, 3725.0))
    # The run's own last report: the command prints "Done" or "stopped" itself after it.
    print_progress(_progress(SyncPhase.DONE, 0.0))
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "  backfill: 2 pages, 119 orders, under a minute left",
        "  backfill: 2 pages, 119 orders, about 1h02m left",
    ]
