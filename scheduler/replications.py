"""Replications: the same scenario run with N seeds spawned from one base seed, and the mean
and 95 % confidence interval of each metric over them.

Seeds: ``numpy.random.SeedSequence(base_seed).spawn(n)``; replication ``k`` (1-based) runs
with the first 63 bits of child ``k - 1``'s state, so the seeds are independent streams and
the whole set is repeatable from the base seed alone (recorded in the aggregate, with the
seeds). The interval is Student t over replications (:mod:`scheduler.sweeps.stats`): each
replication is one independent sample of the run's metric, so the interval says where the
mean of that metric over many runs of the same length lies, not where one job's wait lies.

Runs use the sweep runner's worker processes (:func:`scheduler.sweeps.runner.run_local`);
with an output folder, replication ``k`` is saved whole in ``DIR/rep-k/`` and the aggregate
is ``DIR/summary.json`` (every numeric metric's mean under its own key, plus
``<key>_ci95_lo`` / ``<key>_ci95_hi``; a lower bound below 0 of a metric that no
replication had negative is shown as 0), ``DIR/replications.csv`` (one row per replication)
and ``DIR/report.html``.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scheduler.outputs import atomic_write
from scheduler.scenario import Scenario
from scheduler.simulation import draw_seed
from scheduler.sweeps.runner import RunTask, run_local
from scheduler.sweeps.stats import aggregate, metric_columns

REPLICATIONS_FILE = "replications.csv"
AGGREGATE_KIND = "clustersim-replications"
"""``kind`` of an aggregate summary.json (a single run's summary has no ``kind``)."""
HEADLINE_METRICS = ("mean_wait_s", "p95_wait_s", "mean_jct_s", "p95_jct_s", "gpu_utilization",
                    "jobs_unfinished", "energy_facility_mwh", "peak_facility_power_mw")
"""Metrics the CLI table and the report show first."""


def replication_seeds(base_seed: int, n: int) -> list[int]:
    """Seeds of ``n`` replications: 63 bits of each child of ``SeedSequence(base_seed)``."""
    children = np.random.SeedSequence(base_seed).spawn(n)
    return [int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for child in children]


@dataclass
class ReplicationSet:
    """The outcome of :func:`run_replications`: one row per replication and the aggregate."""

    runs: pd.DataFrame
    """One row per replication (``replication``, ``seed``, ``status``, ``error``, metrics)."""
    summary: dict[str, Any]
    """The aggregate: means under the metric names, ``<metric>_ci95_lo`` / ``_hi``."""
    warnings: list[str] = field(default_factory=list)


def _task_data(scenario: Scenario, backend: str | None) -> dict[str, Any]:
    data = scenario.model_dump(mode="json", exclude_none=True)
    if backend is not None:
        data["backend"] = backend
    return data


def aggregate_summary(runs: pd.DataFrame, scenario_name: str, base_seed: int,
                      warnings: list[str]) -> dict[str, Any]:
    """The flat aggregate of a replications table (see the module docstring)."""
    stats = aggregate(runs, by=[], metrics=metric_columns(runs, ["replication", "wall_s"]))
    row = stats.iloc[0].to_dict() if len(stats) else {}
    summary: dict[str, Any] = {
        "kind": AGGREGATE_KIND, "scenario": scenario_name, "base_seed": int(base_seed),
        "seed_spawn": f"numpy.random.SeedSequence({base_seed}).spawn({len(runs)})",
        "replication_seeds": [int(s) for s in runs["seed"]],
        "replications": int(row.get("n", 0)), "replications_failed": int(row.get("n_error", 0)),
    }
    ok = runs[runs["status"] == "ok"] if "status" in runs.columns else runs
    for key, value in row.items():
        if key in ("n", "n_error"):
            continue
        name = key[:-5] if key.endswith("_mean") else key
        number = float(value)
        if name.endswith("_ci95_lo") and number < 0 and (ok[name[:-8]].dropna() >= 0).all():
            number = 0.0  # a wait or a count cannot be negative: the interval stops at 0
        summary[name] = number if math.isfinite(number) else None
    summary["warnings"] = warnings
    return summary


def run_replications(scenario: Scenario, n: int, *, base_seed: int | None = None,
                     out: Path | None = None, workers: int | None = None,
                     backend: str | None = None, format: str = "csv") -> ReplicationSet:
    """Run ``scenario`` with ``n`` spawned seeds (in worker processes) and aggregate."""
    base = base_seed if base_seed is not None else (
        scenario.seed if scenario.seed is not None else draw_seed())
    seeds = replication_seeds(base, n)
    data = _task_data(scenario, backend)
    folder = str(scenario.source_dir) if scenario.source_dir is not None else None
    # Without an output folder the runs are still saved, in a scratch folder, for their
    # warnings (the runs table carries numbers only).
    scratch = tempfile.TemporaryDirectory(prefix="clustersim-reps-") if out is None else None
    root = out if out is not None else Path(scratch.name) if scratch is not None else Path()
    tasks = [RunTask(run_id=f"rep-{k}", seed=seed, scenario=data, scenario_dir=folder,
                     save_dir=str(root / f"rep-{k}"), format=format)
             for k, seed in enumerate(seeds, start=1)]
    rows: dict[str, dict[str, Any]] = {}
    run_local(tasks, workers or min(n, os.cpu_count() or 1),
              lambda row: rows.__setitem__(row["run_id"], row))
    warnings = _warnings(root, tasks)
    if scratch is not None:  # only the warnings were wanted from the saved runs
        scratch.cleanup()
    ordered = []
    for k, task in enumerate(tasks, start=1):
        row = dict(rows.get(task.run_id, {"status": "error", "error": "no result"}))
        row.pop("run_id", None)
        row.pop("finished_at", None)
        ordered.append({"replication": k, "seed": task.seed, **row})
    runs = pd.DataFrame(ordered)
    warnings = [f"replication {r['replication']} failed: {r.get('error')}"
                for r in ordered if r.get("status") != "ok"] + warnings
    return ReplicationSet(runs, aggregate_summary(runs, scenario.name, base, warnings), warnings)


def _warnings(root: Path, tasks: list[RunTask]) -> list[str]:
    """Each replication's steady-state warnings, read back from its saved summary."""
    lines = []
    for task in tasks:
        path = root / task.run_id / "summary.json"
        if path.is_file():
            summary = json.loads(path.read_text(encoding="utf-8"))
            lines += [f"{task.run_id}: {text}" for text in summary.get("warnings") or []]
    return lines


def save_replications(result: ReplicationSet, out: Path) -> None:
    """Write ``summary.json`` and ``replications.csv`` into ``out`` (each atomically)."""
    text = json.dumps(result.summary, indent=2, allow_nan=False) + "\n"
    atomic_write(out / "summary.json", lambda tmp: tmp.write_text(text, encoding="utf-8"))
    atomic_write(out / REPLICATIONS_FILE, lambda tmp: result.runs.to_csv(tmp, index=False))


def replication_table(summary: dict[str, Any]) -> str:
    """A short human table: each headline metric's mean and 95 % interval."""
    from scheduler.units import format_time

    def show(key: str, value: Any) -> str:
        if value is None:
            return "-"
        if key.endswith("_s"):
            return format_time(float(value))
        return f"{value:.1%}" if key == "gpu_utilization" else f"{value:,.4g}"

    lines = [f"scenario {summary['scenario']}: {summary['replications']} replications "
             f"(seeds spawned from {summary['base_seed']})", "metric: mean [95 % CI]"]
    for key in HEADLINE_METRICS:
        if key in summary:
            low, high = summary.get(f"{key}_ci95_lo"), summary.get(f"{key}_ci95_hi")
            lines.append(f"  {key:<24} {show(key, summary[key])} "
                         f"[{show(key, low)} .. {show(key, high)}]")
    lines += [f"warning: {text}" for text in summary.get("warnings") or []]
    return "\n".join(lines)
