"""Results are pinned: a change that alters what a run produces must say so.

Each case's digest (summary without wall time, details, jobs and time series as saved) is
stored in ``tests/data/digests.json``; ``scripts/result_digests.py`` computes them and runs the
longer cases. A change that is meant to alter results updates the file in the same commit,
with the reason in its message.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("result_digests",
                                               ROOT / "scripts" / "result_digests.py")
assert _spec is not None and _spec.loader is not None
result_digests = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(result_digests)

STORED = json.loads((ROOT / "tests" / "data" / "digests.json").read_text())
# A handful covering every engine path: strict FIFO, EASY, LAS with preemption and failures,
# deferral and carbon scores, power caps with a preempting demand-response window, replicas.
PINNED = ["mmc-seed7-easy", "philly-easy", "philly-las-failures", "carbon-aware",
          "hdf-small-priority-preempt", "hdf-small-sjf-quota"]


@pytest.mark.parametrize("name", PINNED)
def test_results_match_the_stored_digest(name: str) -> None:
    assert result_digests.digest(result_digests.QUICK_CASES[name]) == STORED[name], (
        f"{name}: results changed; if that is intended, regenerate with "
        f"scripts/result_digests.py --write tests/data/digests.json and say why")
