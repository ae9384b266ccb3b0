"""Side-by-side comparison of runs: one row per :class:`~scheduler.results.Result`.

    from scheduler import compare, simulate
    runs = {w: simulate("scenarios/mmc.yaml", seed=1, overrides=[f"policy.placement.scores.0.type={w}"])
            for w in ("packing", "spread")}
    compare(runs)          # labels are the dict keys

Columns: what ran (``scenario``, ``policy``, ``seed``, ``backend``) then the key metrics of
the summary; GPU-hours, energy, SLO and per-site metrics appear once any run has them.
Missing values are NaN.

Folders of saved runs, and folders of replications (``rep-*/`` run folders of one scenario
over several seeds), are compared from the command line with ``clustersim compare``
(:mod:`scheduler.result_sets` reads them, :mod:`scheduler.compare_report` draws the page).
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
GPU_HOUR_COLUMNS = ("gpu_hours_busy", "training_gpu_hours", "inference_gpu_hours",
                    "lost_gpu_hours")
"""GPU-hours run (busy), by kind, and lost to failures and preemptions: shown when at least
one run has a value."""
SLO_COLUMNS = ("inference_requests", "inference_slo_attainment")
"""Inference service level: requests served and the share within the TTFT and TPOT targets
(shown when at least one run has inference services)."""
SITE_METRICS = ("gpu_utilization", "energy_facility_mwh", "peak_facility_power_mw", "carbon_t",
                "energy_cost_eur")
"""Per-site summary keys shown as ``<metric>[<site>]`` columns (the time-series spelling),
when at least one run has a value."""
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


def site_columns(summaries: Sequence[Mapping[str, Any]]) -> dict[str, tuple[str, str]]:
    """``{"<metric>[<site>]": (site, metric)}`` for the per-site metrics of :data:`SITE_METRICS`
    that at least one summary has a value for; sites in order of first appearance, then
    metrics in :data:`SITE_METRICS` order."""
    sites: dict[str, None] = {}
    for summary in summaries:
        sites.update(dict.fromkeys(str(name) for name in summary.get("sites") or {}))
    columns: dict[str, tuple[str, str]] = {}
    for site in sites:
        for metric in SITE_METRICS:
            if any(((s.get("sites") or {}).get(site) or {}).get(metric) is not None
                   for s in summaries):
                columns[f"{metric}[{site}]"] = (site, metric)
    return columns


def compare(results: Sequence[Result] | Mapping[str, Result],
            labels: Sequence[str] | None = None, sites: bool = True) -> pd.DataFrame:
    """One row per run, indexed by ``labels`` (or the mapping's keys, or 0, 1, ...).

    The columns are ``scenario, policy, seed, backend``, then jobs, utilization, wait and
    JCT statistics (seconds), makespan, GPU-hours, energy and SLO metrics when present,
    per-site metrics as ``<metric>[<site>]`` (``sites=False`` leaves them out), wall time
    and events.
    """
    if isinstance(results, Mapping):
        if labels is None:
            labels = [str(key) for key in results]
        runs = list(results.values())
    else:
        runs = list(results)
    if labels is not None and len(labels) != len(runs):
        raise ValueError(f"{len(labels)} labels for {len(runs)} results")
    optional = [key for key in (*GPU_HOUR_COLUMNS, *ENERGY_COLUMNS, *SLO_COLUMNS)
                if any(r.summary.get(key) is not None for r in runs)]
    per_site = site_columns([r.summary for r in runs]) if sites else {}
    columns = [*RUN_COLUMNS, *METRIC_COLUMNS, *optional, *per_site, *TAIL_COLUMNS]
    rows = []
    for result in runs:
        summary = result.summary
        row: dict[str, Any] = {key: summary.get(key) for key in columns}
        row["policy"] = policy_label(result.scenario_text)
        for column, (site, metric) in per_site.items():
            row[column] = ((summary.get("sites") or {}).get(site) or {}).get(metric)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=columns)
    for key in columns:
        if key not in {"scenario", "policy", "backend"}:
            frame[key] = pd.to_numeric(frame[key])
    frame.index = pd.Index(list(labels) if labels is not None else range(len(runs)), name="run")
    return frame
