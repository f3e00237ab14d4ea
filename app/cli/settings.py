"""``muttefik settings get [KEY]`` and ``muttefik settings set KEY VALUE`` (admin sign-in).

Both go through :class:`~app.settings_service.SettingsService`, as the settings form
does: it checks the operator and the value's bounds, and records each change in the
audit log (old and new value).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from app.auth.rbac import Permission
from app.cli.terminal import open_cli_services, sign_in_on_terminal
from app.errors import SettingInvalid

if TYPE_CHECKING:
    from app.settings import Setting

_YES = {"yes", "true", "on", "1"}
_NO = {"no", "false", "off", "0"}
_KINDS = {int: "a whole number", float: "a number", bool: "yes or no", str: "text"}


def register(sub: Any) -> None:
    parser = sub.add_parser("settings", help="show or change settings (admin sign-in)")
    actions = parser.add_subparsers(dest="settings_command", metavar="ACTION", required=True)
    get = actions.add_parser("get", help="show every setting, or the one named")
    get.add_argument("key", nargs="?", metavar="KEY", help="such as sync.interval_minutes")
    get.set_defaults(func=cmd_settings_get)
    put = actions.add_parser("set", help="change a setting (recorded in the audit log)")
    put.add_argument("key", metavar="KEY", help="such as sync.interval_minutes")
    put.add_argument("value", metavar="VALUE")
    put.set_defaults(func=cmd_settings_set)


def _setting(key: str) -> Setting[Any]:
    from app.settings import REGISTRY

    setting = REGISTRY.get(key)
    if setting is None:
        shown = f"named {key!r}" if len(key) <= 64 else "with that name"  # not echoed whole
        raise SettingInvalid(f"There is no setting {shown}. `muttefik settings get` lists them.")
    return setting


def _parse(setting: Setting[Any], text: str) -> Any:
    """The typed value of ``text``, or a message naming the kind of value expected."""
    kind = _KINDS.get(setting.type, setting.type.__name__)
    if setting.type is bool:
        word = text.strip().casefold()
        if word in _YES | _NO:
            return word in _YES
    else:
        try:
            return setting.type(text.strip())
        except ValueError:
            pass
    raise SettingInvalid(f"{setting.description}: enter {kind}.")


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def cmd_settings_get(args: argparse.Namespace) -> int:
    from app.settings import REGISTRY

    wanted = _setting(args.key) if args.key else None
    with open_cli_services(args) as services:
        actor = sign_in_on_terminal(services.auth, Permission.MANAGE_SETTINGS).actor
        if wanted is not None:
            print(_shown(services.settings.read(actor, wanted).result()))
            return 0
        values = services.settings.all(actor).result()
    for key, setting in REGISTRY.items():
        print(f"{key} = {_shown(values[key])}  ({setting.description})")
    return 0


def cmd_settings_set(args: argparse.Namespace) -> int:
    setting = _setting(args.key)
    value = _parse(setting, args.value)  # before anyone types a password for a bad value
    with open_cli_services(args) as services:
        actor = sign_in_on_terminal(services.auth, Permission.MANAGE_SETTINGS).actor
        try:
            stored = services.settings.set(actor, setting, value)
        except ValueError as exc:  # out of bounds: the service's message names the limit
            raise SettingInvalid(str(exc)) from None
    print(f"{setting.key} = {_shown(stored)}")
    return 0
