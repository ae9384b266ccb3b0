"""Import cycles among the modules of a package, from their ``import`` statements (ast).

Every import counts, also those inside functions and under ``TYPE_CHECKING``: a cycle that
only lazy imports hide is still one the reader has to untangle. Prints each strongly
connected group of modules (a cycle) and exits 1 when there is any::

    python scripts/import_cycles.py scheduler gpu
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(package: str) -> dict[str, set[str]]:
    """``{module: modules of the same top-level package it imports}``."""
    modules = {module_name(p): p for p in (ROOT / package).rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".")[: len(name.split(".")) - node.level
                                                + (1 if is_package else 0)]
                    base = ".".join([*anchor, base] if base else anchor)
                # ``from pkg import sub`` imports the module pkg.sub (pkg is being initialised
                # already); ``from pkg import name`` imports pkg itself.
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            for target in targets:
                while target and target not in modules:  # a name inside a module
                    target = target.rpartition(".")[0]
                if target and target != name and target != package:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module."""
    import networkx as nx

    digraph = nx.DiGraph([(a, b) for a, targets in graph.items() for b in targets])
    digraph.add_nodes_from(graph)
    return sorted(sorted(group) for group in nx.strongly_connected_components(digraph)
                  if len(group) > 1)


def main(argv: list[str]) -> int:
    bad = 0
    for package in argv or ["scheduler", "gpu"]:
        for group in cycles(imports(package)):
            bad += 1
            print("cycle: " + " <-> ".join(group))
    if not bad:
        print("no import cycle")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
