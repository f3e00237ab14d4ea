"""Headless subcommands: ``muttefik check``, ``muttefik rekey`` and those of later areas.

No Qt here.  ``ui.main`` parses the same arguments and hands subcommands to :func:`run`.
Areas register their subcommands by adding their module to ``COMMAND_MODULES``; each
such module has ``register(subparsers)`` and sets ``func(args) -> int`` on its parsers.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import importlib
import logging
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any

from app import __version__
from app.errors import NoInput, OperationCancelled, UserError
from app.paths import Profile, resolve_profile

COMMAND_MODULES = [
    "app.vault.commands",
    "app.amazon.commands",
    "app.auth.commands",
]

log = logging.getLogger("muttefik.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="muttefik", description="Müttefik Desk: buyer messages, orders and labels."
    )
    parser.add_argument("--version", action="version", version=f"Müttefik Desk {__version__}")
    parser.add_argument(
        "--profile", metavar="DIR", type=_profile_dir, help="use the profile in DIR"
    )
    parser.add_argument("--demo", action="store_true", help="open the demo profile")
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _profile_dir(text: str) -> str:
    """``--profile`` must name a folder (existing or not): not a file, not ''."""
    from app.paths import profile_path_problem

    problem = profile_path_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return text


def profile_from_args(args: argparse.Namespace) -> Profile:
    return resolve_profile(args.profile, demo=args.demo)


def prompt(ask: Callable[[str], str], text: str, what: str) -> str:
    """``ask(text)``, naming ``what`` was asked for when the answer cannot be used: end of
    input (stdin closed, Ctrl-D) becomes :class:`NoInput`; bytes that are not UTF-8
    (Python hands them on as lone surrogates) become :class:`OperationCancelled`."""
    try:
        with warnings.catch_warnings():
            # getpass prints its own one-line note when it cannot hide the input.
            warnings.simplefilter("ignore", getpass.GetPassWarning)
            answer = ask(text)
    except EOFError:
        print(file=sys.stderr)  # the prompt left the cursor on its line
        raise NoInput(
            f"The input ended where the {what} was asked for. Run the command in a terminal "
            "and type it, or give it on standard input."
        ) from None
    try:
        answer.encode("utf-8")
    except UnicodeEncodeError:
        raise OperationCancelled(
            f"The {what} that was entered is not valid text (UTF-8). Set your terminal to "
            "UTF-8, or give the answers as UTF-8 text, and try again."
        ) from None
    return answer


def ask_passphrase(new_profile: bool) -> str:
    """Terminal passphrase prompt (no echo; without a terminal, getpass reads stdin)."""
    first = prompt(getpass.getpass, "Passphrase: ", "passphrase")
    if new_profile:
        from app.vault.passphrase import passphrase_problem

        again = prompt(getpass.getpass, "Repeat passphrase: ", "passphrase")
        problem = passphrase_problem(first, again)
        if problem:
            raise OperationCancelled(problem)
    return first


def run(args: argparse.Namespace) -> int:
    """Run a parsed subcommand; seller-facing errors become a message and exit code 2."""
    func: Any = getattr(args, "func", None)
    if func is None:
        build_parser().print_help()
        return 2
    try:
        return int(func(args))
    except UserError as exc:
        print(f"{exc.title}: {exc.message}", file=sys.stderr)
        if exc.detail:
            print(f"  ({exc.detail})", file=sys.stderr)
        return 2
    except EOFError:  # a prompt without its own handling (see ``prompt``)
        print(f"\n{NoInput.title}: {NoInput.message}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # stdout's reader went away (``muttefik … | head``)
        _silence_stdout()
        return 1
    except KeyboardInterrupt:
        return 130


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def main(argv: list[str] | None = None) -> int:
    from app.logsetup import setup_logging

    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(None, level=getattr(logging, args.log_level))
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
