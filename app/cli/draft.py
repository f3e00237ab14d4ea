"""``muttefik draft --thread ID [--provider NAME] [--template ID] [--json]``: the reply
draft the seller would see for a thread, printed, never sent.

The draft is made exactly as in the app (``DraftService.draft``): from the templates
offline, or by the provider named (default: the ``drafting.provider`` setting) from the
redacted conversation, through the same PII guard.  Personal values such as
``{buyer_first_name}`` are not filled in (that happens only in the app, right before
sending, when the seller asks).  The draft's text goes to standard output (an AI draft
as it streams); what it is (provider, intent, language, placeholders left) to standard
error, so ``muttefik draft --thread 7 > reply.txt`` keeps just the text.  ``--json``
prints one JSON object instead.  Ctrl-C or SIGTERM stops a streaming draft (exit
128 + signal).  Nothing is saved, nothing is sent.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from typing import Any

from app.cli.orders import _stop_signals_cancel
from app.cli.terminal import open_cli_services, sign_in_on_terminal
from app.errors import OperationCancelled


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "draft",
        help="print the reply draft for a buyer-message thread (sends nothing)",
    )
    parser.add_argument("--thread", type=int, required=True, metavar="ID", help="thread id")
    parser.add_argument(
        "--provider", metavar="NAME", help="drafting provider (default: the app's setting)"
    )
    parser.add_argument("--template", metavar="ID", help="use this template")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=cmd_draft)


def cmd_draft(args: argparse.Namespace) -> int:
    with open_cli_services(args) as services:
        actor = sign_in_on_terminal(services.auth).actor
        cancel = threading.Event()
        streamed: list[str] = []

        def chunk(text: str) -> None:
            streamed.append(text)
            if not args.json:
                sys.stdout.write(text)
                sys.stdout.flush()

        with _stop_signals_cancel(cancel) as stopped_by:
            try:
                draft = services.drafting.draft(
                    actor,
                    args.thread,
                    provider=args.provider,
                    template_id=args.template,
                    on_chunk=chunk,
                    cancel=cancel,
                )
            except OperationCancelled:
                if stopped_by:
                    print("\nStopped; no draft was made.", file=sys.stderr)
                    return 128 + stopped_by[0]
                raise
        if args.json:
            print(
                json.dumps(
                    {
                        "thread_id": args.thread,
                        "provider": draft.provider,
                        "intent": str(draft.intent),
                        "language": draft.language,
                        "template_id": draft.template_id,
                        "placeholders": list(draft.placeholders),
                        "text": draft.text,
                    },
                    ensure_ascii=False,
                )
            )
        else:
            if not streamed:
                sys.stdout.write(draft.text)
            sys.stdout.write("\n")
            sys.stdout.flush()
            left = len(draft.placeholders)
            about = f"{draft.provider} draft ({draft.intent}, {draft.language}"
            if draft.template_id:
                about += f", template {draft.template_id}"
            about += ")"
            if left:
                names = ", ".join(draft.placeholders)
                about += f"; {left} placeholder{'s' if left > 1 else ''} to fill: {names}"
            print(about + ". Nothing was sent.", file=sys.stderr)
        return 0
