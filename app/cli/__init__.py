"""Headless subcommands: ``muttefik check``, ``muttefik sync``, ``muttefik stores …``, …

No Qt here.  ``ui.main`` parses the same arguments and hands subcommands to :func:`run`.
Each area's subcommands live in a module of this package with ``register(subparsers)``
that sets ``func(args) -> int`` on its parsers; :func:`command_modules` lists them,
imported statically (the bundle finds only what is imported by name in the code).
The core never imports this package: dependencies point down, from here to the services.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from typing import Any

from app import __version__
from app.cli.terminal import profile_from_args
from app.errors import NoInput, UserError

__all__ = ["build_parser", "main", "profile_from_args", "run"]


def command_modules() -> tuple[Any, ...]:
    """The modules of the subcommands, each with ``register(subparsers)``.  Imported
    here, statically (the bundle sees these imports), and only when commands are parsed:
    the app's window starts without loading them (``global_options``)."""
    from app.cli import (
        audit,
        draft,
        labels,
        mail,
        operators,
        orders,
        privacy,
        purge,
        settings,
        stores,
        unattended,
        vault,
    )
    from app.cli import parse_email as parse_email_cli
    from app.cli import redact as redact_cli

    return (
        vault,
        orders,
        stores,
        mail,
        draft,
        labels,
        privacy,
        purge,
        settings,
        audit,
        operators,
        unattended,
        parse_email_cli,
        redact_cli,
    )


log = logging.getLogger("muttefik.cli")


def global_options(argv: list[str] | None) -> argparse.Namespace | None:
    """The options of the app's window (``--profile``, ``--demo``, ``--log-level``) when
    ``argv`` holds nothing else; ``None`` when it names a command or asks for help, which
    :func:`build_parser` then parses with every command."""
    parser = argparse.ArgumentParser(prog="muttefik", add_help=False)
    _add_global_options(parser)
    args, rest = parser.parse_known_args(argv)
    if rest:
        return None
    args.command = None
    return args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="muttefik", description="Müttefik Desk: buyer messages, orders and labels."
    )
    _add_global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in command_modules():
        module.register(sub)
    return parser


def _add_global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"Müttefik Desk {__version__}")
    parser.add_argument(
        "--profile", metavar="DIR", type=_profile_dir, help="use the profile in DIR"
    )
    parser.add_argument("--demo", action="store_true", help="open the demo profile")
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )


def _profile_dir(text: str) -> str:
    """``--profile`` must name a folder (existing or not): not a file, not ''."""
    from app.paths import profile_path_problem

    problem = profile_path_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return text


def setup_cli_logging(level: int) -> None:
    """The GUI's rotating, redacted log file, and nothing on the terminal: there the
    command's own lines (progress, results, seller messages) are not interleaved with
    log records.  Without a usable log folder, warnings go to stderr instead."""
    from app.logsetup import setup_logging
    from app.paths import log_dir

    try:
        setup_logging(log_dir(), level=level, stderr=False)
    except OSError:
        setup_logging(None, level=level)


def run(args: argparse.Namespace) -> int:
    """Run a parsed subcommand, logging to the log file; seller-facing errors become a
    message and exit code 2, unexpected ones a message and exit code 1."""
    func: Any = getattr(args, "func", None)
    if func is None:
        build_parser().print_help()
        return 2
    setup_cli_logging(getattr(logging, args.log_level))
    log.info("command %s", args.command)
    try:
        return int(func(args))
    except UserError as exc:
        print(f"{exc.title}: {exc.message}", file=sys.stderr)
        if exc.detail:
            print(f"  ({exc.detail})", file=sys.stderr)
        return 2
    except EOFError:  # a prompt without its own handling (see ``terminal.prompt``)
        print(f"\n{NoInput.title}: {NoInput.message}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # stdout's reader went away (``muttefik … | head``)
        _silence_stdout()
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception:  # a bug: the details (redacted) to the log, plain words here
        log.exception("command %s failed", args.command)
        print(
            f"{UserError.title}: the command stopped on an unexpected error. The log file "
            f"in {_log_folder()} has the details.",
            file=sys.stderr,
        )
        return 1


def _log_folder() -> str:
    from app.paths import log_dir

    return str(log_dir())


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))
