"""The subcommands log to the rotating, redacted log file the GUI writes, not to the
terminal their progress and messages go to, and leave the loggers usable for others."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from app.cli import main
from app.paths import log_dir


def run_a_command(tmp_path: Path) -> int:
    """A real command that sets logging up and fails fast: ``check`` on an empty folder."""
    return main(["--profile", str(tmp_path / "nothing-here"), "check"])


@pytest.mark.expect_log("muttefik.sync", "WARNING", "throttled")
def test_a_command_logs_to_the_log_file_and_not_between_its_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_a_command(tmp_path) == 2
    logging.getLogger("muttefik.sync").warning("throttled by Amazon, waiting 3 s")
    out, err = capsys.readouterr()
    assert "throttled" not in out + err  # warnings would interleave with progress lines
    assert "muttefik.sync" not in err and err.count("\n") <= 2  # only the seller's message
    text = (log_dir() / "muttefik.log").read_text(encoding="utf-8")
    assert "muttefik.cli: command check" in text
    assert "WARNING muttefik.sync: throttled by Amazon, waiting 3 s" in text


def test_the_log_file_is_redacted(tmp_path: Path) -> None:
    assert run_a_command(tmp_path) == 2
    logging.getLogger("muttefik.sync").info("reply to buyer@example.com")
    text = (log_dir() / "muttefik.log").read_text(encoding="utf-8")
    assert "buyer@example.com" not in text and "reply to [email]" in text


@pytest.mark.expect_log("muttefik.sync", "WARNING", "seen after the CLI ran")
def test_after_main_the_app_records_still_reach_other_handlers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ours = logging.NullHandler()
    logging.getLogger("muttefik").addHandler(ours)
    try:
        assert run_a_command(tmp_path) == 2
        assert ours in logging.getLogger("muttefik").handlers  # not replaced
        logging.getLogger("muttefik.sync").warning("seen after the CLI ran")
    finally:
        logging.getLogger("muttefik").removeHandler(ours)
    assert caplog.records[-1].getMessage() == "seen after the CLI ran"


@pytest.mark.expect_log("muttefik.cli", "ERROR", "command check failed")
def test_an_unexpected_error_is_a_plain_message_and_its_traceback_goes_to_the_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.cli.vault

    def broken(args: object) -> int:
        raise RuntimeError("refused token Atzr|IwEB-not-for-the-terminal")

    monkeypatch.setattr(app.cli.vault, "cmd_check", broken)
    assert run_a_command(tmp_path) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Atzr|" not in err
    assert "stopped on an unexpected error" in err and str(log_dir()) in err
    text = (log_dir() / "muttefik.log").read_text(encoding="utf-8")
    assert "command check failed" in text and "RuntimeError" in text
    assert "Atzr|IwEB" not in text  # redacted there too
