"""``clustersim compare DIR... [--out FILE.html]``: result sets side by side.

Each folder is a :class:`~scheduler.result_sets.ResultSet` (one run, or replications of one
scenario). The headline table has one column per set; a replicated set shows ``mean ± half``,
the Student t 95 % confidence interval over its runs. The page (in the run report's style)
adds the wait and JCT distributions overlaid (jobs of all replications pooled), the time
series of utilization, queue and facility power (mean over replications, band from the
lowest to the highest run), per-site tables and the list of runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from scheduler.compare import SITE_METRICS, site_columns
from scheduler.html_page import Section, figure_html, page
from scheduler.outputs import atomic_write
from scheduler.report import _esc, _number, _pct, _quantity, _table, human_duration
from scheduler.result_sets import Interval, ResultSet, mean_interval

if TYPE_CHECKING:
    from matplotlib.figure import Figure

HEADLINE = (
    ("jobs_submitted", "jobs submitted"), ("jobs_completed", "jobs completed"),
    ("jobs_rejected", "jobs rejected"), ("jobs_unfinished", "jobs unfinished at the end"),
    ("gpu_utilization", "GPU utilization"),
    ("mean_wait_s", "wait, mean"), ("p50_wait_s", "wait, median"), ("p95_wait_s", "wait, p95"),
    ("mean_jct_s", "JCT, mean"), ("p95_jct_s", "JCT, p95"),
    ("gpu_hours_busy", "GPU-hours used"), ("lost_gpu_hours", "GPU-hours lost"),
    ("energy_facility_mwh", "facility energy"), ("peak_facility_power_mw", "peak facility power"),
    ("carbon_t", "carbon"), ("energy_cost_eur", "energy cost"),
    ("inference_slo_attainment", "inference SLO attainment"),
)
"""Summary keys of the headline table and their labels; a row shows when a set has a value."""
SITE_LABELS = {"gpu_utilization": "GPU utilization", "energy_facility_mwh": "facility energy",
               "peak_facility_power_mw": "peak facility power", "carbon_t": "carbon",
               "energy_cost_eur": "energy cost"}
_UNITS = (("_mwh", "MWh"), ("_mw", "MW"), ("carbon_t", "t CO2e"), ("_eur", "EUR"))


def _unit(key: str) -> str:
    if "gpu_hours" in key:  # gpu_hours_busy, lost_gpu_hours, training_gpu_hours ...
        return "GPU-h"
    return next((unit for suffix, unit in _UNITS if key.endswith(suffix)), "")


def _bare(key: str, value: float, reference: float | None = None) -> str:
    """The number of a metric without its unit (times and shares carry theirs); with a
    ``reference`` (the value a difference is taken from), quantities get its decimals, so a
    difference near zero reads ``0.001`` rather than ``0.00000757``."""
    if not math.isfinite(value):
        return "-"
    if key.endswith(("utilization", "attainment")):
        return _pct(value)
    if key.endswith("_s"):
        return human_duration(value)
    if reference is not None and math.isfinite(reference) and reference != 0 and _unit(key):
        return _number(float(value), min(6, max(0, 2 - math.floor(math.log10(abs(reference))))))
    if _unit(key):
        return _quantity(value)
    return f"{int(value):,}" if float(value).is_integer() else _number(value, 1)


def format_value(key: str, value: float) -> str:
    """A metric in readable units: ``3.4 h``, ``41.2%``, ``1,234 MWh``, ``12,345``."""
    text = _bare(key, value)
    return f"{text} {_unit(key)}" if text != "-" and _unit(key) else text


def format_interval(key: str, interval: Interval) -> str:
    """``mean ± half`` with the unit once (``0.76 ± 0.03 MWh``); ``mean`` alone without an
    interval; ``-`` when nothing is known."""
    text = _bare(key, interval.mean)
    if text != "-" and math.isfinite(interval.half):  # the half-width to the mean's decimals
        text += f" \N{PLUS-MINUS SIGN} {_bare(key, interval.half, interval.mean)}"
    return f"{text} {_unit(key)}" if text != "-" and _unit(key) else text


def set_heading(result_set: ResultSet) -> str:
    """A set's column heading: its folder, and the number of runs when replicated."""
    if not result_set.replicated:
        return result_set.label
    runs = len(result_set.runs)
    return f"{result_set.label} ({runs} run{'s' if runs != 1 else ''})"


def headline_rows(sets: Sequence[ResultSet]) -> list[list[str]]:
    """``[label, cell per set]`` for each :data:`HEADLINE` metric some set has."""
    rows = []
    for key, label in HEADLINE:
        intervals = [s.metric(key) for s in sets]
        if any(i.n for i in intervals):
            rows.append([label, *[format_interval(key, i) for i in intervals]])
    return rows


DIFFERENCE_KEYS = ("jobs_completed", "jobs_unfinished", "gpu_utilization", "mean_wait_s",
                   "p95_wait_s", "mean_jct_s", "p95_jct_s", "gpu_hours_busy",
                   "energy_facility_mwh", "carbon_t", "energy_cost_eur",
                   "inference_slo_attainment")
"""Metrics whose paired differences are shown (counts of submitted jobs are equal by seed)."""


def paired_difference(base: ResultSet, other: ResultSet, key: str) -> Interval | None:
    """``other - base`` seed by seed over the seeds both folders ran (the same seed gives the
    same arrivals, so the seed-to-seed noise cancels), as an :class:`Interval`; None when
    they share fewer than two seeds with values."""
    def by_seed(result_set: ResultSet) -> dict[Any, Any]:
        return {r.summary.get("seed"): r.summary.get(key) for r in result_set.runs}

    first, second = by_seed(base), by_seed(other)
    pairs = [(first[s], second[s]) for s in first if s in second]
    values = [b - a for a, b in pairs if isinstance(a, int | float) and isinstance(b, int | float)
              and not isinstance(a, bool) and math.isfinite(a) and math.isfinite(b)]
    return mean_interval(values) if len(values) >= 2 else None


def _signed(key: str, interval: Interval, reference: float) -> str:
    """``+12.3 ± 4.5 MWh (real)``: a paired difference with its verdict."""
    size = _bare(key, abs(interval.mean), reference)
    rounds_to_zero = not any(digit in "123456789" for digit in size)
    sign = "" if rounds_to_zero else "-" if interval.mean < 0 else "+"
    text = (f"{size} \N{PLUS-MINUS SIGN} "
            f"{_bare(key, interval.half, reference)}")
    if _unit(key):
        text += f" {_unit(key)}"
    verdict = "real" if interval.low > 0 or interval.high < 0 else "within chance"
    return f"{sign}{text} ({verdict})"


def difference_rows(sets: Sequence[ResultSet]) -> list[list[str]]:
    """``[label, cell per later set]``: each later folder minus the first, paired by seed;
    empty when no later folder shares two seeds with the first."""
    base, others = sets[0], list(sets[1:])
    rows = []
    for key, label in HEADLINE:
        if key not in DIFFERENCE_KEYS:
            continue
        cells = [paired_difference(base, other, key) for other in others]
        reference = base.metric(key).mean
        if any(c is not None for c in cells):
            rows.append([label, *[_signed(key, c, reference) if c is not None else "-"
                                  for c in cells]])
    return rows


def text_table(sets: Sequence[ResultSet]) -> str:
    """The headline table as aligned text (the CLI's output)."""
    rows = [["metric", *[set_heading(s) for s in sets]], *headline_rows(sets)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
             for row in rows]
    if any(s.replicated for s in sets):
        lines.append("replicated sets: mean \N{PLUS-MINUS SIGN} half-width of the 95% "
                     "confidence interval (Student t over the runs)")
    differences = difference_rows(sets) if len(sets) > 1 else []
    if differences:
        rows = [[f"minus {sets[0].label}", *[set_heading(s) for s in sets[1:]]], *differences]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines.append("")
        lines += ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                            for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
                  for row in rows]
        lines.append("paired by seed: each folder minus the first over the seeds both ran; "
                     "real = the 95% interval excludes 0")
    return "\n".join(line.rstrip() for line in lines)


# --------------------------------------------------------------------------- figures


def _pooled(result_set: ResultSet, column: str) -> np.ndarray:
    return np.concatenate([run.jobs[column].to_numpy(dtype=float) if column in run.jobs
                           else np.zeros(0) for run in result_set.runs])


def plot_compare_cdf(sets: Sequence[ResultSet]) -> Figure:
    """Wait (started jobs) and JCT (completed jobs) distributions, one line per set (the
    jobs of all its runs pooled), log time axis."""
    from scheduler import plots

    with plots.literal_text():
        fig = plots._figure(11.0, 4.5)
        axes = fig.subplots(1, 2, sharey=True)
        colors = plots._colors([s.label for s in sets])
        for ax, column, heading in ((axes[0], "wait_s", "wait (arrival to start), started jobs"),
                                    (axes[1], "jct_s", "job completion time, completed jobs")):
            spans = [span for s in sets if (span := plots._ecdf(
                ax, _pooled(s, column), set_heading(s), colors[s.label])) is not None]
            if spans:
                ax.set_xscale("log")
                plots._time_ticks(ax, min(s[0] for s in spans), max(s[1] for s in spans))
                ax.legend(fontsize=8, loc="lower right")
            ax.set_title(heading, fontsize=10, loc="left")
            ax.set_xlabel("time (log scale)")
            ax.grid(alpha=0.3, which="both")
        axes[0].set_ylabel("fraction of jobs")
        axes[0].set_ylim(0, 1.01)
        fig.suptitle("Wait and JCT distributions", x=0.01, ha="left", fontweight="bold")
    return fig


_SERIES = (("gpu_utilization", "GPU utilization (%)", 100.0),
           ("queued_jobs", "queued jobs", 1.0),
           ("facility_power_mw", "facility power (MW)", 1.0))


def _series(result_set: ResultSet, column: str, scale: float,
            size: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """(times in the axis unit, mean, lowest, highest) over the set's runs, each run
    interpolated onto the first run's time grid; None when no run has the column."""
    runs = [r for r in result_set.runs if column in r.timeseries and "time_s" in r.timeseries]
    if not runs:
        return None
    grid = runs[0].timeseries["time_s"].to_numpy(dtype=float)
    values = np.vstack([np.interp(grid, r.timeseries["time_s"].to_numpy(dtype=float),
                                  r.timeseries[column].to_numpy(dtype=float)) * scale
                        for r in runs])
    return grid / size, values.mean(axis=0), values.min(axis=0), values.max(axis=0)


def plot_compare_timeseries(sets: Sequence[ResultSet]) -> Figure:
    """Utilization, queue and facility power over time, one line per set (mean over its
    runs; shaded from the lowest to the highest run)."""
    from scheduler import plots

    longest = max((r for s in sets for r in s.runs), key=plots._period_s)
    _, unit, size = plots._time_axis(longest)
    shown = [spec for spec in _SERIES
             if any(spec[0] in r.timeseries for s in sets for r in s.runs)]
    with plots.literal_text():
        fig = plots._figure(11.0, 1.0 + 2.3 * len(shown))
        axes = np.atleast_1d(fig.subplots(len(shown), 1, sharex=True, squeeze=False)).ravel()
        colors = plots._colors([s.label for s in sets])
        for ax, (column, ylabel, scale) in zip(axes, shown, strict=True):
            for result_set in sets:
                series = _series(result_set, column, scale, size)
                if series is None:
                    continue
                times, mean, low, high = series
                ax.plot(times, mean, color=colors[result_set.label], linewidth=1.1,
                        label=set_heading(result_set))
                if len(result_set.runs) > 1:
                    ax.fill_between(times, low, high, color=colors[result_set.label],
                                    alpha=0.15, linewidth=0)
            ax.set_ylabel(ylabel)
            ax.set_ylim(bottom=0)
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=8, loc="upper left")
        axes[-1].set_xlabel(f"simulated time ({unit})")
        fig.suptitle("Over time (mean per time step; shaded: lowest to highest replication)",
                     x=0.01, ha="left", fontweight="bold")
    return fig


# --------------------------------------------------------------------------- the page


def _sites_section(sets: Sequence[ResultSet]) -> str:
    columns = site_columns([r.summary for s in sets for r in s.runs])
    if not columns:
        return '<p class="muted">No per-site metrics in these runs.</p>'
    from scheduler.plots import site_names

    found = list(dict.fromkeys(site for site, _ in columns.values()))
    ordered = [n for s in sets for n in site_names(s.runs[0])]  # scenario order first
    sites = list(dict.fromkeys([n for n in ordered if n in found] + found))
    parts = []
    for metric in SITE_METRICS:
        if not any(m == metric for _, m in columns.values()):
            continue
        rows = [[site, *[format_interval(metric, s.site_metric(site, metric)) for s in sets]]
                for site in sites]
        parts.append(f"<h3>{SITE_LABELS[metric]}</h3>")
        parts.append(_table(["site", *[set_heading(s) for s in sets]], rows,
                            [False, *[True] * len(sets)]))
    return "".join(parts)


def _runs_section(sets: Sequence[ResultSet]) -> str:
    from scheduler.compare import policy_label

    rows = [[s.label, run_dir, str(r.summary.get("seed")), policy_label(r.scenario_text),
             human_duration(r.summary.get("simulated_time_s")),
             _number(r.summary.get("jobs_submitted"))]
            for s in sets for r, run_dir in zip(s.runs, _run_names(s), strict=True)]
    return _table(["set", "run folder", "seed", "policy", "simulated", "jobs"], rows,
                  [False, False, True, False, True, True])


def _run_names(result_set: ResultSet) -> list[str]:
    if not result_set.replicated:
        return ["."]
    from scheduler.result_sets import replication_folders

    return [p.name for p in replication_folders(result_set.path)]


def _figures_section(sets: Sequence[ResultSet]) -> str:
    try:
        from scheduler import plots

        plots.require_matplotlib()
    except Exception:  # InputError: matplotlib is missing
        return ('<p class="warn">Figures need matplotlib: '
                "<code>pip install 'hdf-clustersim[analysis]'</code>.</p>")
    return (figure_html("plot-cdf", "Wait and completion times",
                        "the share of jobs that waited (left) or completed (right) within a "
                        "given time, one line per folder (the jobs of all its replications "
                        "together). Log time axis.", plot_compare_cdf(sets))
            + figure_html("plot-timeseries", "Utilization, queue and power over time",
                          "mean per time step over a folder's replications; the shaded band "
                          "runs from the lowest to the highest replication.",
                          plot_compare_timeseries(sets)))


def _differences_section(sets: Sequence[ResultSet]) -> str:
    rows = difference_rows(sets) if len(sets) > 1 else []
    if not rows:
        return ('<p class="muted">Paired differences need two folders of replications that '
                "ran the same seeds (at least two in common). Otherwise compare the intervals "
                "of the table above: intervals that do not overlap differ by more than "
                "chance.</p>")
    return (f"<p>Each folder minus <strong>{_esc(sets[0].label)}</strong>, seed by seed over "
            "the seeds both ran: the same seed gives the same arrivals and durations, so the "
            "seed-to-seed noise cancels and the interval of the difference is narrower than "
            "those of the two means. <em>real</em>: the 95 % interval of the difference "
            "excludes zero; <em>within chance</em>: it does not.</p>"
            + _table([f"minus {sets[0].label}", *[set_heading(s) for s in sets[1:]]], rows,
                     [False, *[True] * (len(sets) - 1)]))


def render_compare(sets: Sequence[ResultSet]) -> str:
    """The comparison page as one self-contained HTML string."""
    headers = ["metric", *[set_heading(s) for s in sets]]
    replicated = any(s.replicated for s in sets)
    note = ('<p class="muted">A folder of replications shows mean ± half-width of the 95 % '
            "confidence interval over its runs (Student t, n - 1 degrees of freedom); two "
            "folders whose intervals do not overlap differ by more than seed-to-seed "
            "chance. A single run has no interval: its number is one draw.</p>"
            if replicated else
            '<p class="muted">Single runs: each number is one draw. Replications (a folder of '
            "run folders, one per seed) give confidence intervals.</p>")
    sections: list[Section] = [
        ("headline", "Headline metrics",
         _table(headers, headline_rows(sets), [False, *[True] * len(sets)]) + note),
        ("differences", "Is the difference real?", _differences_section(sets)),
        ("plots", "Figures", _figures_section(sets)),
        ("sites", "Sites", _sites_section(sets)),
        ("runs", "Runs", _runs_section(sets)),
    ]
    from scheduler.compare_periods import period_section

    if (by_period := period_section(sets)) is not None:
        sections.insert(3, by_period)
    scenarios = list(dict.fromkeys(s.scenario for s in sets))
    facts = [f"{len(sets)} result folders", f"{sum(len(s.runs) for s in sets)} runs",
             f"scenario{'s' if len(scenarios) > 1 else ''} {', '.join(scenarios)}"]
    return page("Comparison", facts, sections)


def write_compare(sets: Sequence[ResultSet], path: str | Path) -> Path:
    """Write :func:`render_compare` to ``path`` atomically; returns the path."""
    target = Path(path)
    text = render_compare(sets)
    atomic_write(target, lambda p: p.write_text(text, encoding="utf-8"))
    return target
