"""The package as a whole: its version, and its layers (no import cycle among its modules)."""

from __future__ import annotations

import ast
from pathlib import Path

import ebonite_core

PACKAGE = Path(ebonite_core.__file__).parent


def test_version_is_declared():
    assert ebonite_core.__version__.count(".") == 2


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Each module of the package and the modules of the package it imports anywhere: at the top, inside
    functions (deferred) or under ``TYPE_CHECKING``. ``from . import x`` counts as an import of ``x``."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                base = (f"{base}.{node.module}" if node.module else base) if node.level else (node.module or "")
                submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules]
                targets = submodules if len(submodules) == len(node.names) else [base, *submodules]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges[name].add(target)
    return edges


def test_no_module_of_the_core_imports_one_that_imports_it_back() -> None:
    """Layers anyone can see: a cycle, even through a deferred import, is listed with its path."""
    edges = _imports()
    assert "ebonite_core.interfaces" in edges["ebonite_core.hookspecs"]  # the walk sees imports at all
    cycles = []
    for start in sorted(edges):
        path, seen = [start], set()
        stack = [(start, iter(sorted(edges[start])))]
        while stack:
            _, pending = stack[-1]
            following = next(pending, None)
            if following is None:
                stack.pop()
                path.pop()
            elif following == start:
                cycles.append(" -> ".join([*path, start]))
                break
            elif following not in seen:
                seen.add(following)
                path.append(following)
                stack.append((following, iter(sorted(edges[following]))))
    assert cycles == []
