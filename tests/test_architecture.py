"""The layers of docs/architecture.md, checked: every import points down, never up.

Each module of asyncsim belongs to one layer; a module may import modules of its own
layer or of a lower one. Imports made only for type checking (inside
``if TYPE_CHECKING:``) are exempt. No two modules import each other, directly or
through others, at run time (imports inside functions included).
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

from .conftest import ROOT

#: Layers, bottom to top: (layer name, module prefixes). Keep docs/architecture.md in step.
LAYERS = [
    ("base", ("asyncsim.clock", "asyncsim.errors", "asyncsim._validate")),
    ("loop core", ("asyncsim.core",)),
    ("records and analysis", ("asyncsim.trace",)),
    ("instruments", ("asyncsim.instruments",)),
    ("scope", ("asyncsim.scope",)),
    ("models", ("asyncsim.models",)),
    ("views", ("asyncsim.report",)),
    ("running", ("asyncsim.runner", "asyncsim.script", "asyncsim.recording")),
    ("testing and sweeps", ("asyncsim.testing", "asyncsim.sweeps")),
    ("command line", ("asyncsim.cli", "asyncsim.__main__")),
    ("package", ("asyncsim",)),
]
FOLDERS = {"sim": "asyncsim", "models": "asyncsim.models"}


def _module_files() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join([package, *parts])] = path
    return modules


MODULES = _module_files()


def layer_of(module: str) -> int:
    best, rank = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), index
    assert rank >= 0, f"{module} belongs to no layer"
    return rank


def _folder(module: str) -> str:
    """The package a module lives in (asyncsim.models.network._http -> asyncsim.models.network)."""
    path = MODULES[module]
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = _folder(module).split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


class _Imports(ast.NodeVisitor):
    """Run-time imports of asyncsim modules (skipping ``if TYPE_CHECKING:`` blocks)."""

    def __init__(self, module: str) -> None:
        self.module = module
        self.found: set[str] = set()

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", "")
        if name == "TYPE_CHECKING":
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        target = _resolve(self.module, node)
        for alias in node.names:
            # "from asyncsim.core import loop" imports the module asyncsim.core.loop
            full = f"{target}.{alias.name}"
            self._add(full if full in MODULES else target)

    def _add(self, name: str) -> None:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != self.module:
            self.found.add(name)


def imports_of(module: str) -> set[str]:
    visitor = _Imports(module)
    visitor.visit(ast.parse(MODULES[module].read_text()))
    return visitor.found


def _is_parent_package(module: str, target: str) -> bool:
    return module.startswith(target + ".") and MODULES[target].name == "__init__.py"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "asyncsim"))
def test_each_module_imports_only_its_own_layer_or_lower_ones(module):
    upward = []
    for target in sorted(imports_of(module)):
        if layer_of(target) <= layer_of(module):
            continue
        if _is_parent_package(module, target):  # importing a submodule runs its package first
            continue
        upward.append(f"{target} ({LAYERS[layer_of(target)][0]})")
    assert upward == [], f"{module} ({LAYERS[layer_of(module)][0]}) imports upward: {upward}"


def test_no_two_modules_import_each_other_at_run_time():
    graph = nx.DiGraph()
    for module in MODULES:
        for target in imports_of(module):
            if not _is_parent_package(module, target) and not _is_parent_package(target, module):
                graph.add_edge(module, target)
    cycles = sorted(sorted(c) for c in nx.simple_cycles(graph))
    assert cycles == []


def test_no_module_is_longer_than_about_five_hundred_lines():
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > 520}
    assert long == {}
