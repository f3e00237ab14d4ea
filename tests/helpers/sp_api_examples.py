"""Amazon's published Orders API 2026-01-01 examples (tests/data/sp_api_examples).

Every ``Order`` object of the searchOrders and getOrder 200 examples, and the JSON
shape of an order as ``{path: types}`` to compare the fake SP-API's orders with them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "sp_api_examples"

JSON = dict[str, Any]


def example_orders() -> list[tuple[str, JSON]]:
    """(file name, order) for every order in the 200 examples, in file order."""
    out: list[tuple[str, JSON]] = []
    for path in sorted(EXAMPLES.glob("orders-2026-01-01__*__200-*.json")):
        response = json.loads(path.read_text(encoding="utf-8"))["response"]
        orders = response["orders"] if "orders" in response else [response["order"]]
        out.extend((path.name, order) for order in orders)
    return out


def shape(
    value: Any, path: str = "", out: dict[str, set[str]] | None = None
) -> dict[str, set[str]]:
    """Every leaf path of ``value`` (``a.b[].c``) with the JSON types seen there."""
    out = {} if out is None else out
    if isinstance(value, dict):
        for key, inner in value.items():
            shape(inner, f"{path}.{key}" if path else key, out)
    elif isinstance(value, list):
        for inner in value:
            shape(inner, path + "[]", out)
    else:
        out.setdefault(path, set()).add(_type(value))
    return out


def _type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "null" if value is None else type(value).__name__
