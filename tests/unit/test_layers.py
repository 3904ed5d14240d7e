"""Layers of ``core`` in order, read from the source (every import, also those inside
functions, which is where cycles hide): training code is a top layer nothing else in ``core``
imports, no package reaches into another package's underscored names, and no two modules
import each other, directly or round a longer loop."""

from __future__ import annotations

import ast
from pathlib import Path

import core

ROOT = Path(core.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in ROOT.rglob("*.py") if p.name != "__main__.py"}
PACKAGES = {_module_name(p) for p in ROOT.rglob("__init__.py")}


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every ``core`` module (or name inside one) imported by ``path``, with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.startswith("core")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("core"):
                found += [(f"{node.module}.{a.name}", node.lineno) for a in node.names]
    return found


def _target(name: str) -> str:
    """The module an imported dotted name lives in (``core.a.b.func`` -> ``core.a.b``)."""
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_the_walk_sees_the_package():
    assert {"core.train.glass.fit", "core.models.glass", "core.uncertainty"} <= set(MODULES)


def test_only_training_code_imports_core_train():
    offenders = [
        f"{mod}:{line} imports {name}"
        for mod, path in MODULES.items()
        if _package(mod) != "train"
        for name, line in _imports(path)
        if _package(name) == "train"
    ]
    assert not offenders, offenders


def test_no_package_imports_another_packages_private_names():
    offenders = []
    for mod, path in MODULES.items():
        for name, line in _imports(path):
            if _package(name) == _package(mod):
                continue
            private = [p for p in name.split(".")[2:] if p.startswith("_") and p != "__init__"]
            if private:
                offenders.append(f"{mod}:{line} imports {name}")
    assert not offenders, offenders


def test_no_import_cycles_between_modules():
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for mod, path in MODULES.items():
        for name, _ in _imports(path):
            target = _target(name)
            if target == mod or target not in MODULES:
                continue
            # a package's __init__ re-exporting its own modules is not a layer edge
            if mod in PACKAGES and target.startswith(mod + "."):
                continue
            graph[mod].add(target)
    # Tarjan's strongly connected components
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, cycles
