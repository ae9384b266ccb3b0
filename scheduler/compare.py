"""Side-by-side comparison of runs: one row per :class:`~scheduler.results.Result`.

    from scheduler import compare, simulate
    runs = {w: simulate("scenarios/mmc.yaml", seed=1, overrides=[f"policy.placement.scores.0.type={w}"])
            for w in ("packing", "spread")}
    compare(runs)          # labels are the dict keys

Columns: what ran (``scenario``, ``policy``, ``seed``, ``backend``) then the key metrics of
the summary; energy metrics appear once any run has them. Missing values are NaN.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from scheduler.results import Result

RUN_COLUMNS = ("scenario", "policy", "seed", "backend")
"""What ran."""
METRIC_COLUMNS = (
    "jobs_submitted", "jobs_completed", "jobs_rejected", "jobs_unfinished", "gpu_utilization",
    "mean_wait_s", "p50_wait_s", "p95_wait_s", "p99_wait_s",
    "mean_jct_s", "p50_jct_s", "p95_jct_s", "p99_jct_s", "makespan_s",
)
"""Metrics every run has."""
ENERGY_COLUMNS = ("energy_it_mwh", "energy_facility_mwh", "peak_facility_power_mw", "carbon_t",
                  "energy_cost_eur")
"""Metrics of the energy model: shown when at least one run has a value (carbon and cost
need grid signals)."""
TAIL_COLUMNS = ("wall_time_s", "events")


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def policy_label(scenario_text: str) -> str:
    """A short description of the policy in a scenario's JSON: queue order, then the score
    plugins with their weights and arguments, e.g. ``fifo: packing x1 + locality x1``."""
    if not scenario_text:
        return ""
    try:
        policy = json.loads(scenario_text).get("policy") or {}
    except (ValueError, AttributeError):
        return ""
    queue = policy.get("queue", "?")
    label = str(queue.get("type", "?") if isinstance(queue, dict) else queue)
    parts = []
    for score in (policy.get("placement") or {}).get("scores") or []:
        name = str(score.get("type"))
        args = {k: v for k, v in score.items()
                if k not in {"type", "weight"} and v not in (None, {}, [])}
        if "args" in args and isinstance(args["args"], dict):
            args.update(args.pop("args"))
        if args:
            name += "(" + ", ".join(f"{k}={_number(v)}" for k, v in sorted(args.items())) + ")"
        parts.append(f"{name} x{_number(score.get('weight', 1.0))}")
    return f"{label}: {' + '.join(parts)}" if parts else label


def compare(results: Sequence[Result] | Mapping[str, Result],
            labels: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per run, indexed by ``labels`` (or the mapping's keys, or 0, 1, ...).

    The columns are ``scenario, policy, seed, backend``, then jobs, utilization, wait and
    JCT statistics (seconds), makespan, energy metrics when present, wall time and events.
    """
    if isinstance(results, Mapping):
        if labels is None:
            labels = [str(key) for key in results]
        runs = list(results.values())
    else:
        runs = list(results)
    if labels is not None and len(labels) != len(runs):
        raise ValueError(f"{len(labels)} labels for {len(runs)} results")
    energy = [key for key in ENERGY_COLUMNS
              if any(r.summary.get(key) is not None for r in runs)]
    columns = [*RUN_COLUMNS, *METRIC_COLUMNS, *energy, *TAIL_COLUMNS]
    rows = []
    for result in runs:
        summary = result.summary
        row: dict[str, Any] = {key: summary.get(key) for key in columns}
        row["policy"] = policy_label(result.scenario_text)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=columns)
    for key in columns:
        if key not in {"scenario", "policy", "backend"}:
            frame[key] = pd.to_numeric(frame[key])
    frame.index = pd.Index(list(labels) if labels is not None else range(len(runs)), name="run")
    return frame
