"""Rules for the test suite itself, checked on its source.

- Every test module under tests/integration carries ``pytestmark = pytest.mark.integration``
  (so ``-m "not integration"`` really leaves out what needs a real service).
- No module imports a test module or a conftest: shared code lives in tests/helpers/ (or
  tests/support.py), fixtures in a conftest or in a helper registered with pytest_plugins.
- No test asserts on a duration measured with the wall clock: timings live in bench/.
- Unit tests mirror the source tree: a folder under tests/unit/app or tests/unit/ui is a
  package of app/ or ui/ (tests of app/amazon/sync.py live in tests/unit/app/amazon/).
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
TIMERS = {"perf_counter", "perf_counter_ns", "monotonic", "monotonic_ns"}


def _modules() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _absolute(path: Path, module: str, level: int) -> str:
    """``from .x import y`` in tests/unit/app/test_a.py reads tests.unit.app.x."""
    if level == 0:
        return module
    package = path.relative_to(TESTS.parent).parent.parts
    base = package[: len(package) - (level - 1)]
    return ".".join((*base, module) if module else base)


def _is_test_module(dotted: str) -> bool:
    last = dotted.rsplit(".", 1)[-1]
    return dotted.startswith("tests.") and (last.startswith("test_") or last == "conftest")


def _marks_integration(tree: ast.Module) -> bool:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            return "pytest.mark.integration" in ast.unparse(node.value)
    return False


def test_every_integration_module_carries_the_marker() -> None:
    unmarked = [
        p.relative_to(TESTS).as_posix()
        for p in sorted((TESTS / "integration").glob("test_*.py"))
        if not _marks_integration(_parse(p))
    ]
    assert unmarked == [], "add pytestmark = pytest.mark.integration to these"


def test_no_module_imports_a_test_module() -> None:
    found = []
    for path in _modules():
        for node in ast.walk(_parse(path)):
            if isinstance(node, ast.ImportFrom):
                module = _absolute(path, node.module or "", node.level)
                names = [module] + [f"{module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            found += [
                f"{path.relative_to(TESTS).as_posix()}:{node.lineno} imports {n}"
                for n in names
                if _is_test_module(n)
            ]
    assert found == [], "move what they share to tests/helpers/"


def test_no_test_asserts_a_wall_clock_duration() -> None:
    found = []
    for path in _modules():
        for node in ast.walk(_parse(path)):
            if isinstance(node, ast.Assert) and _reads_a_timer(node.test):
                found.append(f"{path.relative_to(TESTS).as_posix()}:{node.lineno}")
    assert found == [], "timings belong in bench/, not in assertions"


def _reads_a_timer(expr: ast.expr) -> bool:
    return any(
        isinstance(n, ast.Attribute) and n.attr in TIMERS and ast.unparse(n.value) == "time"
        for n in ast.walk(expr)
    )


def test_the_rules_see_what_they_look_for() -> None:
    """The checks above would notice a violation (they read the source they are given)."""
    assert _is_test_module("tests.unit.app.test_auth_commands")
    assert _is_test_module("tests.integration.conftest")
    assert not _is_test_module("tests.helpers.world")
    here = TESTS / "unit" / "app" / "test_x.py"
    assert _absolute(here, "test_fake_spapi", 1) == "tests.unit.app.test_fake_spapi"
    assert _absolute(here, "", 2) == "tests.unit"
    assert _marks_integration(ast.parse("import pytest\npytestmark = pytest.mark.integration"))
    assert not _marks_integration(ast.parse("import pytest\npytestmark = pytest.mark.slow"))
    timed = ast.parse("assert time.perf_counter() - started < 2.0").body[0]
    assert isinstance(timed, ast.Assert) and _reads_a_timer(timed.test)


def test_unit_test_folders_mirror_the_source_tree() -> None:
    root = TESTS.parent
    strays = []
    for top in ("app", "ui"):
        base = TESTS / "unit" / top
        for folder in sorted(p for p in base.rglob("*") if p.is_dir()):
            if folder.name == "__pycache__":
                continue
            source = root / top / folder.relative_to(base)
            if not (source / "__init__.py").is_file():
                strays.append(str(folder.relative_to(root)))
    assert not strays, f"test folders with no source package of the same path: {strays}"
