"""Layering rules, read from the source (AST), the way ``test_no_qt_in_app.py`` keeps Qt
out of the core.

One door: nothing in ``ui/`` reaches the data except through a service.  A ui module
imports no repository (``*_repo``), no operator rows (``app.auth.store``), nothing of
``app.vault`` that touches the database (only key planning and the profile lock for the
startup stages, the passphrase rules for their dialog, and the integrity check's result
type), none of the audit log's internals (only its data types), and it never touches an
attribute, parameter or variable named ``vault`` (the startup stage that opens the vault
names the one it opened before handing it to ``Core``).

Dependencies point down: the vault, auth and amazon packages and the audit log never
import the CLI, the services module or the terminal sign-in; the audit log does not
import auth.

Every import counts, also inside functions and ``if TYPE_CHECKING:`` blocks.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: What ui/ may import of app.vault: no database access in any of them.
UI_VAULT_ALLOWED = {
    "app.vault.keys": "the startup's key stage (ui/main.py)",
    "app.vault.lock": "the profile lock ui/main.py holds until the vault opens",
    "app.vault.passphrase": "the passphrase dialog's rules",
    "app.vault.check": "the integrity check's result type",
}
#: What ui/ may import from app.audit (the log): its data types, none of its machinery.
UI_AUDIT_NAMES = {"Action", "AuditEntry", "AuditFilter", "VerifyResult"}
UI_FORBIDDEN_MODULES = ("app.auth.store", "app.audit_anchor")

#: The startup stage that opens the vault and hands it to ``Core`` (a local variable).
OPENS_THE_VAULT = ROOT / "ui/main.py"

#: Packages and modules that sit below the CLI and the service wiring.
LOWER_LAYERS = ("app/vault", "app/auth", "app/amazon", "app/audit.py")
UPPER_MODULES = ("app.cli", "app.services", "app.auth.terminal")


@dataclass(frozen=True)
class Imported:
    path: Path
    line: int
    module: str  # the module imported (a name of ``from M import name`` if a submodule)
    name: str | None = None  # the name taken from ``module``, for ``from M import name``

    def __str__(self) -> str:
        what = f"{self.module}.{self.name}" if self.name else self.module
        return f"{self.path.relative_to(ROOT)}:{self.line}: {what}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _sources(*where: str) -> list[Path]:
    files: list[Path] = []
    for w in where:
        p = ROOT / w
        files.extend([p] if p.is_file() else sorted(p.rglob("*.py")))
    return files


def _imports(path: Path) -> Iterator[Imported]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else None
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Imported(path, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = (package or _module_name(path)).split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if _is_module(sub):
                    yield Imported(path, node.lineno, sub)
                else:
                    yield Imported(path, node.lineno, base, alias.name)


def _within(module: str, *roots: str) -> bool:
    return any(module == r or module.startswith(r + ".") for r in roots)


def _ui_import_problem(imp: Imported) -> str | None:
    m = imp.module
    if m.rsplit(".", 1)[-1].endswith("_repo"):
        return "a repository"
    if _within(m, *UI_FORBIDDEN_MODULES):
        return "data access below the services"
    if _within(m, "app.vault") and m not in UI_VAULT_ALLOWED:
        return "the vault"
    if m == "app.audit" and imp.name not in UI_AUDIT_NAMES:
        return "the audit log's internals"
    return None


def test_the_rules_see_what_they_look_for() -> None:
    """The scanners find the imports they must: a rule that sees nothing proves nothing."""
    found = {i.module for i in _imports(ROOT / "ui/main.py")}
    assert {"app.vault.keys", "app.vault.lock"} <= found  # also "from app.vault import keys"
    door = ROOT / "app/amazon/orders_service.py"
    assert "app.amazon.orders_repo" in {i.module for i in _imports(door)}
    assert _ui_import_problem(Imported(ROOT, 1, "app.amazon.orders_repo")) == "a repository"
    assert _ui_import_problem(Imported(ROOT, 1, "app.vault", "Vault")) == "the vault"
    assert _ui_import_problem(Imported(ROOT, 1, "app.vault.db")) == "the vault"
    assert _ui_import_problem(Imported(ROOT, 1, "app.audit", "AuditLog")) is not None
    assert _ui_import_problem(Imported(ROOT, 1, "app.audit", "AuditEntry")) is None
    sample = "def f(vault):\n    core.vault.run(g)\n    h(vault=vault)\n"
    assert sorted(set(_vault_uses(ast.parse(sample)))) == [1, 2, 3]


def test_ui_imports_no_repository_vault_or_audit_internals() -> None:
    problems = [
        f"{imp}  ({why})"
        for path in _sources("ui")
        for imp in _imports(path)
        if (why := _ui_import_problem(imp)) is not None
    ]
    assert problems == [], "ui/ must reach the data through services only:\n" + "\n".join(problems)


def _vault_uses(tree: ast.AST, *, opens_it: bool = False) -> Iterator[int]:
    """Lines that touch something called ``vault``: ``x.vault``, a variable, parameter or
    keyword argument of that name (a vault handed around under its own name).
    ``opens_it``: the module opening the vault may name the one it opened (a variable,
    and the keyword that hands it to ``Core``)."""
    for node in ast.walk(tree):
        if (
            (isinstance(node, ast.Attribute) and node.attr == "vault")
            or (isinstance(node, ast.Name) and node.id == "vault" and not opens_it)
            or (isinstance(node, ast.arg) and node.arg == "vault")
            or (isinstance(node, ast.keyword) and node.arg == "vault" and not opens_it)
        ):
            yield node.lineno


def test_ui_never_touches_a_vault() -> None:
    problems = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in _sources("ui")
        for line in _vault_uses(
            ast.parse(path.read_text(encoding="utf-8")), opens_it=path == OPENS_THE_VAULT
        )
    ]
    assert problems == [], "ui/ uses a vault (go through a service):\n" + "\n".join(problems)


def test_lower_layers_do_not_import_the_cli_or_the_service_wiring() -> None:
    problems = [
        str(imp)
        for path in _sources(*LOWER_LAYERS)
        for imp in _imports(path)
        if _within(imp.module, *UPPER_MODULES)
    ]
    assert problems == [], "a lower layer imports an upper one:\n" + "\n".join(problems)


def test_the_audit_log_does_not_import_auth() -> None:
    problems = [
        str(imp) for imp in _imports(ROOT / "app/audit.py") if _within(imp.module, "app.auth")
    ]
    assert problems == [], "app/audit.py imports auth:\n" + "\n".join(problems)


@pytest.mark.parametrize("rule", ["ui", "lower"])
def test_rules_cover_real_files(rule: str) -> None:
    files = _sources("ui") if rule == "ui" else _sources(*LOWER_LAYERS)
    assert len(files) > 10
