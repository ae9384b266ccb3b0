"""The layering the runtime restructure set up, checked so that it stays (docs/architecture.md):

* nothing but the simulation entry point imports the engine;
* no import cycle in ``scheduler/`` or ``gpu/`` (type-checking imports included);
* ``gpu/`` knows nothing of the simulator (no ``scheduler`` import, no SimPy);
* the engine module stays under 600 lines; no runtime function over 60 lines or of radon
  grade D or worse.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGINE = "scheduler.runtime.engine"
MAX_ENGINE_LINES = 600
MAX_FUNCTION_LINES = 60


def _modules() -> dict[str, Path]:
    mods = {}
    for path in [*ROOT.glob("scheduler/**/*.py"), *ROOT.glob("gpu/**/*.py")]:
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        mods[name] = path
    return mods


def _imports(path: Path, known: dict[str, Path]) -> set[str]:
    """Project modules imported by ``path`` (``from pkg import sub`` counts as ``pkg.sub``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in known else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name in known}


MODULES = _modules()
GRAPH = nx.DiGraph([(m, d) for m, p in MODULES.items() for d in _imports(p, MODULES) if d != m])
GRAPH.add_nodes_from(MODULES)


def test_only_the_simulation_entry_point_imports_the_engine():
    importers = sorted(GRAPH.predecessors(ENGINE))
    assert importers == ["scheduler.simulation"]


def test_no_import_cycles():
    cycles = [sorted(c) for c in nx.strongly_connected_components(GRAPH) if len(c) > 1]
    assert cycles == []


def test_gpu_knows_nothing_of_the_simulator():
    for name, path in MODULES.items():
        if name.startswith("gpu"):
            text = path.read_text(encoding="utf-8")
            assert "import simpy" not in text, name
            assert not any(d.startswith("scheduler") for d in GRAPH.successors(name)), name


def test_engine_module_is_small():
    lines = MODULES[ENGINE].read_text(encoding="utf-8").count("\n")
    assert lines < MAX_ENGINE_LINES


@pytest.mark.parametrize("name", sorted(n for n in MODULES
                                        if n.startswith(("scheduler.runtime", "gpu"))))
def test_runtime_functions_are_short(name: str):
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    long = [f"{node.name}: {node.end_lineno - node.lineno + 1} lines"
            for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert long == []


@pytest.mark.parametrize("name", sorted(n for n in MODULES
                                        if n.startswith(("scheduler.runtime", "gpu"))))
def test_runtime_functions_are_simple(name: str):
    """No function of the runtime of radon grade D or worse (cyclomatic complexity > 20)."""
    radon = pytest.importorskip("radon.complexity")
    blocks = radon.cc_visit(MODULES[name].read_text(encoding="utf-8"))
    assert [f"{b.name}: {radon.cc_rank(b.complexity)}" for b in blocks
            if radon.cc_rank(b.complexity) >= "D"] == []
