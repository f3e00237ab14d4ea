"""Amazon's published Selling Partner API models (tests/data/sp-api-models).

The usage plan of an operation is a Markdown table in its ``description``
(``| Rate (requests per second) | Burst |``); :func:`usage_plans` reads them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

MODELS = Path(__file__).resolve().parent.parent / "data" / "sp-api-models"

_PLAN_RE = re.compile(r"\|\s*Rate \(requests per second\)\s*\|\s*Burst\s*\|\s*\n\|[-| ]+\|\s*\n"
                      r"\|\s*([0-9.]+)\s*\|\s*([0-9]+)\s*\|")  # fmt: skip


def load_model(name: str) -> dict[str, Any]:
    """The model file ``name`` (e.g. ``reports_2021-06-30.json``) as JSON."""
    model: dict[str, Any] = json.loads((MODELS / name).read_text(encoding="utf-8"))
    return model


def usage_plans(name: str) -> dict[str, tuple[float, int]]:
    """``operationId`` -> (rate per second, burst) for every operation of the model."""
    plans: dict[str, tuple[float, int]] = {}
    for operations in load_model(name)["paths"].values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            found = _PLAN_RE.search(operation.get("description", ""))
            if found is None:
                raise AssertionError(f"no usage plan for {operation['operationId']}")
            plans[operation["operationId"]] = (float(found[1]), int(found[2]))
    return plans
