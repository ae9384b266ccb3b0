"""The HTML page of a replications folder (``clustersim run --replications N --out DIR``):
each metric's mean and 95 % confidence interval over the replications, the values of every
replication, the steady-state warnings, and the seeds (so any replication can be rerun)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from scheduler.outputs import atomic_write
from scheduler.replications import HEADLINE_METRICS, REPLICATIONS_FILE
from scheduler.report import CSS, _esc, _table, format_metric


def _interval(summary: dict[str, Any], key: str) -> str:
    low, high = summary.get(f"{key}_ci95_lo"), summary.get(f"{key}_ci95_hi")
    if low is None or high is None:
        return "- (needs 2 replications)"
    return f"{format_metric(key, low)} .. {format_metric(key, high)}"


def render_replications_report(summary: dict[str, Any], runs: pd.DataFrame) -> str:
    """The page as one self-contained HTML string."""
    def metrics_table(keys: list[str]) -> str:
        return _table(["metric", "mean", "95 % confidence interval"],
                      [[k, format_metric(k, summary[k]), _interval(summary, k)] for k in keys],
                      [False, True, True])

    headline = metrics_table([k for k in HEADLINE_METRICS if k in summary])
    others = metrics_table(sorted(k for k in summary if f"{k}_ci95_lo" in summary
                                  and k not in HEADLINE_METRICS))
    shown = [k for k in HEADLINE_METRICS if k in runs.columns]
    per_run = _table(["replication", "seed", "status", *shown],
                     [[r["replication"], r["seed"], r["status"],
                       *(format_metric(k, r[k]) for k in shown)] for _, r in runs.iterrows()],
                     [True, True, False, *([True] * len(shown))])
    warnings = summary.get("warnings") or []
    warn = "".join(f'<p class="warn">{_esc(w)}</p>' for w in warnings) or \
        "<p>No replication gave a steady-state warning.</p>"
    name = summary.get("scenario", "replications")
    intro = (f"{summary.get('replications')} replications of <b>{_esc(name)}</b>, seeds "
             f"spawned with <code>{_esc(summary.get('seed_spawn'))}</code>. Each replication is "
             "one sample of every metric; the interval is Student t over replications (95 %). "
             "Each replication's own report: <code>clustersim report DIR/rep-K</code>.")
    sections = [("Mean and 95 % confidence interval", headline),
                ("Steady-state warnings", warn), ("Replications", per_run),
                ("Every metric: mean and 95 % confidence interval", others)]
    body = "".join(f"<section><h2>{_esc(t)}</h2>{c}</section>" for t, c in sections)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>clustersim replications: {_esc(name)}</title><style>{CSS}</style></head>"
            f"<body><main><h1>{_esc(name)}: replications</h1><p class=\"sub\">{intro}</p>"
            f"{body}</main></body></html>\n")


def write_replications_report(summary: dict[str, Any], runs: pd.DataFrame,
                              path: str | Path) -> Path:
    """Write :func:`render_replications_report` to ``path`` atomically; returns the path."""
    target = Path(path)
    text = render_replications_report(summary, runs)
    atomic_write(target, lambda p: p.write_text(text, encoding="utf-8"))
    return target


def load_replications(folder: Path) -> tuple[dict[str, Any], pd.DataFrame] | None:
    """The aggregate summary and runs table of a replications folder, or None when
    ``folder`` holds something else (a single run)."""
    from scheduler.replications import AGGREGATE_KIND

    path = folder / "summary.json"
    table = folder / REPLICATIONS_FILE
    if not path.is_file() or not table.is_file():
        return None
    summary = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(summary, dict) or summary.get("kind") != AGGREGATE_KIND:
        return None
    return summary, pd.read_csv(table)
