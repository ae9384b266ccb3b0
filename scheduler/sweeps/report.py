"""A sweep's report (``DIR/report.html``): each headline metric against each swept parameter.

For every parameter point the runs that ended ``ok`` are aggregated over their seeds
(:func:`scheduler.sweeps.stats.aggregate`: mean and Student t 95 % interval); each figure
plots one metric against one parameter, with the interval as error bars and one line per
combination of the other parameters. ``clustersim sweep --out DIR`` writes the page after
the runs, and ``clustersim report DIR`` writes it again from the folder (``sweep.json`` and
``runs.*``; the rows of every sweep in the table are read).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scheduler.errors import InputError
from scheduler.outputs import atomic_write
from scheduler.report import _esc, _table
from scheduler.sweeps.stats import aggregate

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

REPORT_FILE = "report.html"
SWEEP_METRICS = (
    ("mean_wait_s", "mean wait"), ("p95_wait_s", "p95 wait"), ("mean_jct_s", "mean JCT"),
    ("gpu_utilization", "GPU utilization"), ("jobs_unfinished", "jobs unfinished"),
    ("energy_facility_mwh", "facility energy"), ("carbon_t", "carbon"),
    ("energy_cost_eur", "energy cost"), ("inference_slo_attainment", "inference SLO attainment"),
)
"""Metrics the report plots (those with a value in at least one run), with their labels."""
_TIME_UNITS = (("days", 86400.0), ("h", 3600.0), ("min", 60.0), ("s", 1.0))
_GRID_CSS = (".figs { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr));"
             " gap: 4px 16px; } .figs figure { margin: 6px 0 12px; }")


def is_sweep_folder(folder: Path) -> bool:
    """A sweep's output folder: ``sweep.json`` and a runs table, and no run's summary."""
    return ((folder / "sweep.json").is_file() and not (folder / "summary.json").exists()
            and any((folder / f"runs.{ext}").is_file() for ext in ("csv", "parquet")))


def read_sweep_folder(folder: Path) -> tuple[pd.DataFrame, list[str]]:
    """(runs table, swept parameters) of a sweep folder; :class:`InputError` when unreadable."""
    from scheduler.sweeps.runner import _read_table

    try:
        manifest = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))
        parameters = [str(p) for p in manifest.get("parameters") or []]
    except (OSError, ValueError, AttributeError) as exc:
        raise InputError(f"cannot read the sweep description: {exc}",
                         str(folder / "sweep.json")) from None
    tables = [folder / f"runs.{ext}" for ext in ("csv", "parquet")]
    path = max((p for p in tables if p.is_file()), key=lambda p: p.stat().st_mtime)
    runs = _read_table(path)
    return (runs if runs is not None else pd.DataFrame(columns=["run_id", "status"])), parameters


def _unit(metric: str, values: np.ndarray) -> tuple[str, float]:
    """Axis unit and divisor of a metric: times in s/min/h/days, shares in %."""
    if metric.endswith(("utilization", "attainment")):
        return "%", 0.01
    if metric.endswith("_s"):
        top = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 0.0
        return next(((u, size) for u, size in _TIME_UNITS if top >= 1.5 * size), ("s", 1.0))
    for suffix, unit in (("_mwh", "MWh"), ("carbon_t", "t CO2e"), ("_eur", "EUR")):
        if metric.endswith(suffix):
            return unit, 1.0
    return "", 1.0


def _positions(values: pd.Series) -> tuple[np.ndarray, list[str] | None]:
    """x positions of parameter values: the numbers themselves, or 0, 1, ... with labels."""
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all():
        return numeric.to_numpy(dtype=float), None
    labels = list(dict.fromkeys(str(v) for v in values))
    return np.array([labels.index(str(v)) for v in values], dtype=float), labels


def plot_metric(points: pd.DataFrame, metric: str, label: str, parameter: str,
                others: Sequence[str]) -> Figure:
    """One metric against one parameter: mean over seeds with 95 % error bars, one line per
    combination of the ``others`` parameters."""
    from scheduler import plots

    with plots.literal_text():
        fig = plots._figure(6.4, 3.6, layout=None)  # fixed margins: constrained layout
        fig.subplots_adjust(left=0.12, right=0.98, bottom=0.15, top=0.9)  # draws twice
        ax = fig.add_subplot()
        unit, size = _unit(metric, points[f"{metric}_mean"].to_numpy(dtype=float))
        x_all, names = _positions(points[parameter])
        groups = (list(points.groupby(list(others), sort=False, dropna=False)) if others
                  else [((), points)])
        colors = plots._colors([str(key) for key, _ in groups])
        ticks = np.unique(x_all)
        # Lines side by side, not on top of each other: error bars of equal points stay
        # readable (1.5 % of a numeric axis per line, 0.08 of a category; centred).
        step = (0.08 if names is not None
                else 0.015 * (float(ticks[-1] - ticks[0]) if len(ticks) > 1 else 1.0))
        for k, (key, group) in enumerate(groups):
            shift = (k - (len(groups) - 1) / 2) * step
            _error_line(ax, group, metric, x_all[points.index.get_indexer(group.index)] + shift,
                        size, _legend(others, key), colors[str(key)], names is None)
        if names is not None:
            ax.set_xticks(range(len(names)))
            ax.set_xticklabels([n if len(n) <= 28 else n[:27] + "\N{HORIZONTAL ELLIPSIS}"
                                for n in names], fontsize=8, rotation=15 if len(names) > 3 else 0)
            ax.set_xlim(-0.5, len(names) - 0.5)
        elif len(ticks) <= 12:
            ax.set_xticks(ticks)
            ax.set_xticklabels([f"{t:g}" for t in ticks])
        ax.set_xlabel(parameter)
        ax.set_ylabel(f"{label} ({unit})" if unit else label)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        if others:
            ax.legend(fontsize=7, loc="best")
        ax.set_title(f"{label} against {parameter}", fontsize=10, loc="left")
    return fig


def _legend(others: Sequence[str], key: Any) -> str:
    values = key if isinstance(key, tuple) else (key,)
    return ", ".join(f"{p}={v}" for p, v in zip(others, values, strict=False))


def _error_line(ax: Axes, group: pd.DataFrame, metric: str, x: np.ndarray, size: float,
                label: str, color: Any, joined: bool) -> None:
    """Means with 95 % error bars; joined by a line only along a numeric parameter (names
    of policies have no order to draw a line through)."""
    order = np.argsort(x, kind="stable")
    mean = group[f"{metric}_mean"].to_numpy(dtype=float)[order] / size
    half = (group[f"{metric}_ci95_hi"].to_numpy(dtype=float)[order] / size) - mean
    ax.errorbar(x[order], mean, yerr=np.where(np.isfinite(half), half, 0.0), marker="o",
                markersize=4, capsize=4, linewidth=1.2 if joined else 0, elinewidth=1.2,
                color=color, label=label or None)


def _metrics(points: pd.DataFrame) -> list[tuple[str, str]]:
    return [(m, label) for m, label in SWEEP_METRICS if f"{m}_mean" in points
            and np.isfinite(points[f"{m}_mean"].to_numpy(dtype=float)).any()]


def _points_table(points: pd.DataFrame, parameters: Sequence[str],
                  metrics: Sequence[tuple[str, str]]) -> str:
    from scheduler.compare_report import format_interval
    from scheduler.result_sets import Interval

    rows = []
    for record in points.to_dict(orient="records"):
        cells = [str(record.get(p)) for p in parameters]
        cells.append(f"{int(record['n'])}" + (f" ({int(record['n_error'])} failed)"
                                              if record.get("n_error") else ""))
        for metric, _ in metrics:
            mean = float(record[f"{metric}_mean"])
            cells.append(format_interval(metric, Interval(
                mean, float(record[f"{metric}_ci95_hi"]) - mean, int(record["n"]))))
        rows.append(cells)
    headers = [*parameters, "runs", *[label for _, label in metrics]]
    return _table(headers, rows, [False] * len(parameters) + [True] * (1 + len(metrics)))


def _figures(points: pd.DataFrame, parameters: Sequence[str],
             metrics: Sequence[tuple[str, str]]) -> str:
    from scheduler import plots
    from scheduler.html_page import figure_html

    try:
        plots.require_matplotlib()
    except InputError:
        return ('<p class="warn">Figures need matplotlib, a dependency of clustersim that '
                "is missing here: <code>pip install matplotlib</code>.</p>")
    parts = []
    for parameter in parameters:
        others = [p for p in parameters if p != parameter]
        figures = [figure_html(f"fig-{metric}-{parameter}", f"{label} against {parameter}",
                               "mean over seeds, error bars: 95 % confidence interval",
                               plot_metric(points, metric, label, parameter, others))
                   for metric, label in metrics]
        parts.append(f"<h3>Against {_esc(parameter)}</h3><div class=\"figs\">"
                     f"{''.join(figures)}</div>")
    return "".join(parts)


def render_sweep_report(runs: pd.DataFrame, parameters: Sequence[str], name: str,
                        periods: pd.DataFrame | None = None) -> str:
    """The page for a runs table (one row per run, as :func:`scheduler.sweep` returns);
    ``periods``: the runs' per-period rows (``DIR/periods.csv``), drawn side by side."""
    from scheduler.html_page import page

    parameters = [p for p in parameters if p in runs.columns]
    ok = runs[runs["status"] == "ok"] if "status" in runs else runs
    failed = len(runs) - len(ok)
    points = aggregate(ok, by=parameters) if len(ok) else pd.DataFrame()
    metrics = _metrics(points) if len(points) else []
    facts = [f"{len(points)} parameter points", f"{len(runs)} runs ({failed} failed)",
             "swept: " + (", ".join(parameters) or "nothing (seeds only)")]
    if not metrics:
        body = '<p class="warn">No run ended ok: nothing to plot.</p>'
        return page(f"Sweep {name}", facts, [("points", "Parameter points", body)])
    sections = [
        ("figures", "Metrics against parameters", _figures(points, parameters, metrics)
         if parameters else '<p class="muted">No parameter varies: see the table.</p>'),
        ("points", "Parameter points",
         _table_note() + _points_table(points, parameters, metrics)),
    ]
    if periods is not None and len(periods):
        from scheduler.sweeps.report_periods import side_by_side_section

        sections.insert(1, side_by_side_section(periods, parameters))
    return page(f"Sweep {name}", facts, sections, extra_css=_GRID_CSS)


def _table_note() -> str:
    return ('<p class="muted">Each cell: mean over the seeds that ran ok ± half-width of the '
            "95 % confidence interval (Student t, n - 1 degrees of freedom; none with one "
            "seed).</p>")


def write_sweep_report(folder: str | Path, target: str | Path | None = None,
                       runs: pd.DataFrame | None = None,
                       parameters: Sequence[str] | None = None) -> Path:
    """Write the report of the sweep in ``folder`` (default ``folder/report.html``); the runs
    and parameters are read from the folder unless given."""
    folder = Path(folder)
    if runs is None or parameters is None:
        runs, parameters = read_sweep_folder(folder)
    path = Path(target) if target is not None else folder / REPORT_FILE
    from scheduler.sweeps.periods import read_sweep_periods

    text = render_sweep_report(runs, parameters, folder.name or str(folder),
                               read_sweep_periods(folder))
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))
    return path
