"""``muttefik stores list|add|edit|remove``: the store dialog's settings, headless.

``list`` signs any operator in (an agent sees their stores); ``add``, ``edit``, ``test``
and ``remove`` need an administrator.  The LWA client secret and the refresh token are never
taken from arguments (they would stay in the shell history and the process list): they
are asked for without echo on a terminal, or read line by line from standard input when
it is not one, after the sign-in's answers::

    printf '%s\\n' "$SECRET" "$TOKEN" | muttefik --demo stores add "My shop" \\
        --region EU --marketplace A1PA6795UKMFR9 --client-id amzn1.application-oa2-client.x

Every change goes through :class:`~app.amazon.stores.StoreService`, which checks the
settings and the operator, as for the dialog.
"""

from __future__ import annotations

import argparse
import getpass
import shlex
import sys
from typing import TYPE_CHECKING, Any

from app.amazon.models import Credentials, Region, StoreDraft
from app.auth.models import Actor
from app.auth.rbac import Permission
from app.cli.orders import after_exit
from app.cli.terminal import ask_line, open_cli_services, prompt, sign_in_on_terminal
from app.errors import (
    AmazonError,
    InsecureEndpoint,
    OperationCancelled,
    StoreSettingsInvalid,
    UserError,
)

if TYPE_CHECKING:
    from app.amazon.models import Store
    from app.services import Services

# The option that sets each field StoreSettingsInvalid may name.
_OPTIONS = {
    "name": "the store's name",
    "region": "--region",
    "marketplace_ids": "--marketplace",
    "lwa_client_id": "--client-id",
    "sp_api_endpoint": "--endpoint",
    "lwa_endpoint": "--token-url",
    "client_secret": "the LWA client secret",
    "refresh_token": "the refresh token",
}


def register(sub: Any) -> None:
    stores = sub.add_parser("stores", help="list, add, change, test or remove stores")
    stores_sub = stores.add_subparsers(dest="stores_command", metavar="ACTION")
    listing = stores_sub.add_parser("list", help="list stores and their sync state")
    listing.set_defaults(func=cmd_stores_list)
    stores.set_defaults(func=cmd_stores_list)

    add = stores_sub.add_parser(
        "add",
        help="connect a store (admin sign-in); asks for the LWA client secret and the "
        "refresh token, or reads them from standard input",
    )
    add.add_argument("name", help="the store's name, as shown in the app")
    add.add_argument("--region", required=True, choices=[r.value for r in Region])
    add.add_argument(
        "--marketplace",
        required=True,
        action="append",
        metavar="ID",
        help="an Amazon marketplace id, such as A1PA6795UKMFR9 (repeat for more)",
    )
    add.add_argument("--client-id", required=True, help="the LWA client id of your app")
    _endpoint_options(add)
    add.set_defaults(func=cmd_stores_add)

    edit = stores_sub.add_parser(
        "edit", help="change a store's settings (admin sign-in); options not given stay"
    )
    edit.add_argument("name", help="the store's current name")
    edit.add_argument("--rename", metavar="NEW_NAME", help="give the store a new name")
    edit.add_argument("--region", choices=[r.value for r in Region])
    edit.add_argument(
        "--marketplace",
        action="append",
        metavar="ID",
        help="replace the marketplaces with these (repeat for more)",
    )
    edit.add_argument("--client-id", help="the LWA client id of your app")
    group = _endpoint_options(edit)
    group.add_argument(
        "--default-endpoints",
        action="store_true",
        help="use Amazon's own endpoints again (drop --endpoint and --token-url)",
    )
    edit.add_argument(
        "--credentials",
        action="store_true",
        help="enter a new LWA client secret and refresh token (asked for, or read from "
        "standard input)",
    )
    edit.set_defaults(func=cmd_stores_edit)

    test = stores_sub.add_parser(
        "test",
        help="check a store's saved settings and credentials with Amazon (admin sign-in): "
        "a token and one page of recent orders, as the store dialog's Test connection",
    )
    test.add_argument("--store", required=True, metavar="NAME", help="the store's name")
    test.set_defaults(func=cmd_stores_test)

    remove = stores_sub.add_parser(
        "remove", help="remove a store with its orders and saved credentials (admin sign-in)"
    )
    remove.add_argument("name", help="the store's name")
    remove.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    remove.set_defaults(func=cmd_stores_remove)


def _endpoint_options(parser: argparse.ArgumentParser) -> Any:
    group = parser.add_argument_group(
        "advanced", "a different endpoint (Amazon's sandbox or a local test server)"
    )
    group.add_argument(
        "--endpoint",
        metavar="URL",
        help="SP-API endpoint, such as https://sandbox.sellingpartnerapi-eu.amazon.com",
    )
    group.add_argument(
        "--token-url",
        metavar="URL",
        help="LWA token URL, such as https://api.amazon.com/auth/o2/token",
    )
    return group


# --- reading secrets ----------------------------------------------------------------------


def read_secret(text: str) -> str:
    """A secret without echo on a terminal; otherwise the next line of standard input
    (getpass would read the controlling terminal instead of the pipe, if there is one)."""
    if sys.stdin.isatty():
        return getpass.getpass(text)
    print(text, end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    print(file=sys.stderr)  # the answer was not echoed: end the prompt's line
    return line.rstrip("\r\n")


def ask_credentials() -> Credentials:
    return Credentials(
        lwa_client_secret=prompt(read_secret, "LWA client secret: ", "LWA client secret"),
        refresh_token=prompt(read_secret, "Refresh token: ", "refresh token"),
    )


# --- commands -----------------------------------------------------------------------------


def _signed_in_admin(services: Services) -> Actor:
    return sign_in_on_terminal(services.auth, Permission.MANAGE_CREDENTIALS).actor


def _find(services: Services, actor: Actor, name: str) -> Store:
    from app.amazon.stores import MAX_NAME_LENGTH

    store = services.stores.find_store(actor, name).result()
    if store is None:
        long = len(name) > MAX_NAME_LENGTH  # no store has such a name: not echoed
        shown = " with that name" if long else f" named {name!r}"
        raise StoreSettingsInvalid(f"There is no store{shown}. `muttefik stores list` lists them.")
    return store


def _name_the_option(exc: StoreSettingsInvalid | InsecureEndpoint) -> UserError:
    """The service's message, naming the option to correct (the dialog marks the field)."""
    option = _OPTIONS.get(exc.field or "")
    if option is not None:
        exc.message = f"{exc.message} (Check {option}.)"
    return exc


def cmd_stores_list(args: argparse.Namespace) -> int:
    with open_cli_services(args) as services:
        actor = sign_in_on_terminal(services.auth).actor
        stores = services.stores.list_stores(actor).result()
        if not stores:
            print("No stores yet.")
        for store in stores:
            state = services.sync.sync_state(actor, store.id).result()
            last = f"{state.last_success:%Y-%m-%d %H:%M}" if state.last_success else "never"
            error = f", last error: {state.last_error}" if state.last_error else ""
            demo = " [demo]" if store.demo else ""
            endpoint = f"  endpoint {store.sp_api_endpoint}" if store.sp_api_endpoint else ""
            print(
                f"{store.name}{demo}  region {store.region}  "
                f"marketplaces {','.join(store.marketplace_ids)}{endpoint}  "
                f"last sync {last}{error}"
            )
        return 0


def cmd_stores_add(args: argparse.Namespace) -> int:
    from app.amazon.stores import validate_credentials, validate_draft

    draft = StoreDraft(
        name=args.name,
        region=Region(args.region),
        marketplace_ids=tuple(args.marketplace),
        lwa_client_id=args.client_id,
        sp_api_endpoint=args.endpoint,
        lwa_endpoint=args.token_url,
    )
    with open_cli_services(args) as services:
        try:
            validate_draft(draft)  # before anyone types a password for settings that fail
            actor = _signed_in_admin(services)
            credentials = validate_credentials(ask_credentials())
            store = services.stores.create_store(actor, draft, credentials)
        except (StoreSettingsInvalid, InsecureEndpoint) as exc:
            raise _name_the_option(exc) from None
    print(f"Store {store.name} added. `muttefik sync --store NAME` syncs its orders.")
    return 0


def cmd_stores_edit(args: argparse.Namespace) -> int:
    from app.amazon.stores import validate_credentials

    with open_cli_services(args) as services:
        actor = _signed_in_admin(services)
        store = _find(services, actor, args.name)
        endpoints = args.default_endpoints
        draft = StoreDraft(
            name=store.name if args.rename is None else args.rename,
            region=store.region if args.region is None else Region(args.region),
            marketplace_ids=(
                store.marketplace_ids if args.marketplace is None else tuple(args.marketplace)
            ),
            lwa_client_id=store.lwa_client_id if args.client_id is None else args.client_id,
            sp_api_endpoint=None if endpoints else (args.endpoint or store.sp_api_endpoint),
            lwa_endpoint=None if endpoints else (args.token_url or store.lwa_endpoint),
        )
        try:
            credentials = validate_credentials(ask_credentials()) if args.credentials else None
            changed = services.stores.update_store(actor, store.id, draft)
            if credentials is not None:
                services.stores.set_credentials(actor, store.id, credentials)
        except (StoreSettingsInvalid, InsecureEndpoint) as exc:
            raise _name_the_option(exc) from None
    print(f"Store {changed.name} saved.")
    return 0


def cmd_stores_test(args: argparse.Namespace) -> int:
    with open_cli_services(args) as services:
        actor = _signed_in_admin(services)
        store = _find(services, actor, args.store)
        print(f"Testing the connection of {store.name}…", flush=True)
        report = services.stores.test_connection(actor, store)
    if report.ok:
        print(f"{store.name}: {report.title}. {report.message}")
        return 0
    # The dialog's words for some failures say a sync retries; this command has ended.
    error = report.error if report.error is not None else AmazonError(report.message)
    again = f"muttefik stores test --store {shlex.quote(store.name)}"
    raise after_exit(error, "The test stopped.", again)


def cmd_stores_remove(args: argparse.Namespace) -> int:
    with open_cli_services(args) as services:
        actor = _signed_in_admin(services)
        store = _find(services, actor, args.name)
        if not args.yes:
            answer = prompt(
                ask_line,
                f"Remove {store.name} with its orders and saved credentials? "
                "Type the store's name to confirm: ",
                "confirmation",
            )
            if " ".join(answer.split()).casefold() != store.name.casefold():
                raise OperationCancelled("The store was not removed.")
        services.stores.delete_store(actor, store.id)
    print(f"Store {store.name} removed.")
    return 0
