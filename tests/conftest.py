"""Shared fixtures: tiny scenarios built as dicts, and helpers to run the CLI in-process."""

from __future__ import annotations

import copy
import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"

TINY: dict[str, Any] = {
    "name": "tiny",
    "seed": 3,
    "duration": "24h",
    "sites": [
        {"name": "A", "pue": 1.2, "nodes": [{"gpu": "H100", "gpus_per_node": 8, "count": 4}]},
        {"name": "B", "pue": 1.1, "nodes": [{"gpu": "B200", "gpus_per_node": 8, "count": 2},
                                           {"gpu": "H100", "gpus_per_node": 4, "count": 2}]},
    ],
    "workloads": [
        {"name": "small", "kind": "training",
         "arrival": {"process": "poisson", "rate_per_hour": 20},
         "gpus": {"choice": [1, 2, 4, 8], "weights": [0.5, 0.2, 0.2, 0.1]},
         "duration": {"distribution": "lognormal", "median": "20m", "sigma": 1.5, "cap": "12h"},
         # Speed 1 on every type of this mixed fleet: the tests built on it check other rules
         # (tests/test_hardware_speed.py checks hardware speeds).
         "model_class": "uniform"},
        {"name": "gang", "kind": "training",
         "arrival": {"process": "poisson", "rate_per_hour": 1},
         "gpus": {"choice": [16, 24, 32]},
         "duration": {"distribution": "exponential", "mean": "2h"},
         "gpu_types": ["H100"], "model_class": "uniform"},
    ],
    "policy": {"queue": "fifo"},
}


def tiny_scenario(**changes: Any) -> dict[str, Any]:
    """A deep copy of TINY with top-level keys replaced."""
    data = copy.deepcopy(TINY)
    data.update(changes)
    return data


def run_cli(*argv: str) -> tuple[int, str, str]:
    """Run ``clustersim`` in-process: (exit code, stdout, stderr)."""
    from scheduler.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def tiny() -> dict[str, Any]:
    return tiny_scenario()
