"""The import graph of the project's packages: no cycle anywhere, and imports go one way.

Every ``import`` statement counts, wherever it stands (module top, inside a function, under
``TYPE_CHECKING``): a lazy import hides a cycle from the interpreter, not from the reader. The
layering follows the package table of the design: a package may import only the packages listed
for it; ``dagster`` stays in the batch packages and the CLI, ``fastapi`` in ``realtime``.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

# package -> the project packages it may import (the design's "may import" column). The CLI sits
# on top: it may import every other package, and none imports it.
LAYERS: dict[str, set[str]] = {
    "marketdata": set(),
    "ml": {"marketdata"},
    "assets": {"marketdata", "ml"},
    "orchestration": {"assets"},
    "realtime": {"marketdata", "ml"},
    "cli": {"marketdata", "ml", "assets", "orchestration", "realtime"},
}
# Imports that break the table, written out so that no new one slips in (none today).
TOLERATED: set[str] = set()
# third-party package -> the project packages allowed to import it
CONFINED = {
    "dagster": {"assets", "orchestration", "cli"},
    "dagster_dbt": {"assets", "orchestration", "cli"},
    "dagster_mlflow": {"assets", "orchestration", "cli"},
    "dagster_k8s": {"assets", "orchestration", "cli"},
    "dagster_postgres": {"assets", "orchestration", "cli"},
    "fastapi": {"realtime"},
    "starlette": {"realtime"},
}


def packages() -> list[str]:
    """The project's top-level packages: folders with an ``__init__.py`` at the repository root."""
    skip = {"tests", "benchmarks"}
    return sorted(p.parent.name for p in REPO.glob("*/__init__.py") if p.parent.name not in skip)


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of every project package."""
    out = {}
    for pkg in packages():
        for f in (REPO / pkg).rglob("*.py"):
            parts = list(f.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = f
    return out


def imported_names(name: str, file: Path) -> Iterator[tuple[str, ...]]:
    """What ``file`` (module ``name``) imports, one tuple per imported name: ``(a.b,)`` for
    ``import a.b``, ``(a.b.c, a.b)`` for ``from a.b import c`` (the submodule ``a.b.c`` if there
    is one, else the module ``a.b``); relative imports are resolved."""
    tree = ast.parse(file.read_text(), filename=str(file))
    package = name if file.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield (alias.name,)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield (f"{base}.{alias.name}", base)


@functools.cache
def graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(module -> project modules it imports, module -> third-party top-level names it imports)."""
    files = module_files()
    edges: dict[str, set[str]] = {m: set() for m in files}
    external: dict[str, set[str]] = {m: set() for m in files}
    for mod, f in files.items():
        for candidates in imported_names(mod, f):
            # ``from a.b import c``: the submodule a.b.c when it exists, else a.b itself (a
            # package's __init__ is not counted as imported by ``from pkg import submodule``).
            target = next((c for c in candidates if c in files), None)
            top = candidates[-1].split(".")[0]
            if target is not None:
                if target != mod:
                    edges[mod].add(target)
            elif top not in LAYERS:
                external[mod].add(top)
    return edges, external


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_the_modules_and_their_imports():
    edges, external = graph()
    # A parse that finds nothing would pass every rule below: check it found real edges.
    assert {"realtime.ledger.accounts", "realtime.ledger.trades"} <= edges["realtime.ledger.store"]
    assert "realtime.ledger.tables" in edges["realtime.ledger.accounts"]
    assert "marketdata.store" in edges["realtime.main"]  # ``from marketdata.store import ParquetStore``
    assert "fastapi" in external["realtime.main"]


def test_a_cycle_is_found_when_there_is_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_among_the_project_modules():
    assert cycles(graph()[0]) == []


@pytest.mark.parametrize("pkg", sorted(LAYERS))
def test_each_package_imports_only_the_packages_below_it(pkg):
    edges, _ = graph()
    wrong = sorted(
        f"{src} -> {dst}"
        for src, targets in edges.items()
        if src.split(".")[0] == pkg
        for dst in targets
        if dst.split(".")[0] not in LAYERS[pkg] | {pkg}
    )
    assert [w for w in wrong if w not in TOLERATED] == []


def test_every_package_has_a_layer():
    assert set(packages()) <= set(LAYERS)


@pytest.mark.parametrize("lib", sorted(CONFINED))
def test_frameworks_stay_in_their_packages(lib):
    _, external = graph()
    wrong = sorted(m for m, libs in external.items() if lib in libs and m.split(".")[0] not in CONFINED[lib])
    assert wrong == []


def test_only_the_broker_factory_knows_a_concrete_broker():
    # Everything else asks the Broker interface what a broker can do (its capabilities).
    edges, _ = graph()
    concrete = {m for m in edges if m.startswith("realtime.brokers.") and m != "realtime.brokers.base"}
    concrete -= {"realtime.brokers.mt5_constants"}
    users = sorted(
        src
        for src, targets in edges.items()
        if targets & concrete and not src.startswith("realtime.brokers.")
    )
    assert users == ["realtime.services"]


def test_the_realtime_root_keeps_a_few_loose_modules():
    loose = sorted(p.name for p in (REPO / "realtime").glob("*.py") if p.name != "__init__.py")
    assert len(loose) <= 12, loose


def test_no_cycle_among_the_subpackages_either():
    # realtime.trading -> realtime.feeds -> realtime.trading would pass the module check with
    # each module importing a different one; one level up it is still a knot.
    edges, _ = graph()

    def top2(m: str) -> str:
        return ".".join(m.split(".")[:2])

    grouped: dict[str, set[str]] = {}
    for src, targets in edges.items():
        grouped.setdefault(top2(src), set()).update(top2(d) for d in targets if top2(d) != top2(src))
    assert cycles({k: {d for d in v if d in grouped} for k, v in grouped.items()}) == []
