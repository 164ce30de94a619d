"""Dependencies point down (issue 12): no import cycle among the hub's modules or its packages, and the
core does not reach up into the connectors, which plug into it.

Imports are read from the source, those made for type checking or inside a function included: a cycle
through them ties the modules together all the same. (``importlib`` imports by name are not seen.)
"""

from __future__ import annotations

import ast
import fnmatch
import graphlib
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
Graph = Mapping[str, set[str]]

# Where the connectors are put together with the hub: these may import them.
ENTRY_POINTS = ("hub/__main__.py", "hub/app.py", "hub/demo.py", "hub/cli*.py", "hub/docs/*")

# Imports up between the hub's packages that remain, and why (none today: keep it that way).
KNOWN_UPWARD: dict[tuple[str, str], str] = {}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def sources() -> dict[str, Path]:
    return {module_name(path): path for path in sorted((ROOT / "hub").rglob("*.py"))}


def imported(path: Path) -> Iterator[str]:
    """The names ``path`` imports; ``from a import b`` gives ``a.b`` (``b`` may be a module)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def hub_module(name: str) -> str | None:
    """The hub's module that ``name`` is or lies in; None outside the hub."""
    while name and name not in sources():
        name = name.rpartition(".")[0]
    return name or None


def module_graph() -> dict[str, set[str]]:
    """Each of the hub's modules -> the hub's modules it imports."""
    graph: dict[str, set[str]] = {}
    for name, path in sources().items():
        found = (hub_module(target) for target in imported(path))
        graph[name] = {module for module in found if module is not None and module != name}
    return graph


def package_of(module: str) -> str:
    """``hub.store.ledger`` is in ``hub.store``; a module directly under ``hub`` stands for itself."""
    return ".".join(module.split(".")[:2])


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, targets in module_graph().items():
        package = package_of(module)
        graph.setdefault(package, set()).update(package_of(t) for t in targets if package_of(t) != package)
    return graph


def assert_acyclic(graph: Graph) -> None:
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        imports = reversed(error.args[1])  # graphlib lists each module before one that imports it
        pytest.fail(f"import cycle: {' -> '.join(imports)}")


def test_no_module_of_the_hub_imports_itself_back() -> None:
    assert_acyclic(module_graph())


def test_the_packages_import_down_but_for_the_known_upward_imports() -> None:
    graph = package_graph()
    still_there = {edge for edge in KNOWN_UPWARD if edge[1] in graph.get(edge[0], set())}
    assert still_there == set(KNOWN_UPWARD), "gone: take them off KNOWN_UPWARD"
    assert_acyclic({package: targets - upward_from(package) for package, targets in graph.items()})


def upward_from(package: str) -> set[str]:
    return {target for source, target in KNOWN_UPWARD if source == package}


def test_only_the_entry_points_import_the_connectors() -> None:
    importers = {
        str(path.relative_to(ROOT))
        for path in sources().values()
        if any(name == "connectors" or name.startswith("connectors.") for name in imported(path))
    }
    core = {path for path in importers if not any(fnmatch.fnmatch(path, p) for p in ENTRY_POINTS)}
    assert not core, f"the core imports connectors: {sorted(core)}"
