"""The layering the runtime restructure set up, checked so that it stays (docs/architecture.md):

* nothing but the simulation entry point imports the engine;
* (no import cycle in ``scheduler/`` or ``gpu/``: tests/test_imports.py);
* ``gpu/`` knows nothing of the simulator (no ``scheduler`` import, no SimPy);
* the engine module stays under 600 lines; no runtime function over 60 lines or of radon
  grade D or worse.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGINE = "scheduler.runtime.engine"
MAX_ENGINE_LINES = 600
MAX_FUNCTION_LINES = 60


def _modules() -> dict[str, Path]:
    mods = {}
    for path in [*ROOT.glob("scheduler/**/*.py"), *ROOT.glob("gpu/**/*.py")]:
        parts = path.relative_to(ROOT).with_suffix("").parts
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return mods


_spec = importlib.util.spec_from_file_location("import_cycles",
                                               ROOT / "scripts" / "import_cycles.py")
assert _spec is not None and _spec.loader is not None
import_cycles = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(import_cycles)

MODULES = _modules()
IMPORTS = {**import_cycles.imports("scheduler"), **import_cycles.imports("gpu")}


def test_only_the_simulation_entry_point_imports_the_engine():
    importers = sorted(m for m, targets in IMPORTS.items() if ENGINE in targets)
    assert importers == ["scheduler.simulation"]


def test_gpu_knows_nothing_of_the_simulator():
    for name, path in MODULES.items():
        if name.startswith("gpu"):
            text = path.read_text(encoding="utf-8")
            assert "import simpy" not in text, name
            text_imports = [line for line in text.splitlines()
                            if line.lstrip().startswith(("import ", "from "))]
            assert not any("scheduler" in line for line in text_imports), name


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
