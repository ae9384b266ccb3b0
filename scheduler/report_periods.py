"""The report's "By month" (quarter, year) section as data: the call-outs of the first
period crossing each threshold, the table's columns and rows, and the figure; the report
(:mod:`scheduler.report`) renders it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scheduler.period_outputs import PERIODS_KEY

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from scheduler.results import Result

THRESHOLD_WORDS = {
    "p95_wait": ("p95 wait of the jobs arriving", "above", "s"),
    "utilization": ("GPU utilization", "at or above", "%"),
    "power_fraction_of_cap": ("a site's peak facility power", "at or above", "% of its cap"),
    "slo_attainment_below": ("an inference service's SLO attainment", "below", "%"),
}
"""Threshold name -> (what is watched, the test, the unit of its limit)."""


@dataclass
class PeriodBlock:
    """What the section shows."""

    kind: str
    callouts: list[str]
    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    figure: Figure | None = field(default=None)


def _hours(seconds: Any) -> str:
    return "-" if seconds is None or not math.isfinite(seconds) else f"{seconds / 3600:,.1f} h"


def _limit(value: float, unit: str) -> str:
    if unit == "s":
        return _hours(value)
    return f"{value * 100:.0f}{unit}"


def callout_lines(details: dict[str, Any]) -> list[str]:
    """``p95 wait of the jobs arriving above 12.0 h: first in 2020-03 (19.2 h)`` per
    threshold; ``never`` when no period crosses it."""
    block = details.get(PERIODS_KEY) or {}
    lines = []
    for row in block.get("thresholds") or []:
        what, test, unit = THRESHOLD_WORDS.get(row["name"], (row["name"], "crossing", ""))
        head = f"{what} {test} {_limit(row['limit'], unit)}"
        if not row.get("measured", True):
            lines.append(f"{head}: not measured (no site has a power_cap or no inference "
                         "service: nothing to compare)")
        elif row["period"] is None:
            lines.append(f"{head}: never")
        else:
            seen = _hours(row["value"]) if unit == "s" else f"{row['value'] * 100:.1f}%"
            lines.append(f"{head}: first in {row['period']} ({seen})")
    return lines


COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("period", "period", "text"), ("days", "days", "1"),
    ("gpus_online_mean", "GPUs online (mean)", "0"), ("gpus_online_end", "at end", "0"),
    ("gpu_utilization", "utilization", "%"), ("jobs_arrived", "arrived", "0"),
    ("jobs_started", "started", "0"), ("jobs_completed", "completed", "0"),
    ("mean_wait_s", "mean wait", "h"), ("p95_wait_s", "p95 wait", "h"),
    ("queued_jobs_mean", "queued (mean)", "1"), ("facility_power_peak_mw", "peak MW", "3"),
    ("max_site_peak_fraction_of_cap", "site peak / cap", "%"),
    ("peak_fraction_of_cap_total", "peak / sum of caps", "%"),
    ("energy_facility_mwh", "energy MWh", "1"), ("carbon_t", "carbon t", "1"),
    ("energy_cost_eur", "cost EUR", "0"),
)
"""(column, heading, format: text, decimals, % or hours) of the table, when present."""


def _cell(value: Any, fmt: str) -> str:
    if fmt == "text":
        return str(value)
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if fmt == "%":
        return f"{value * 100:.1f}%"
    if fmt == "h":
        return _hours(float(value))
    return f"{float(value):,.{int(fmt)}f}"


def period_block(result: Result, figure: bool = True) -> PeriodBlock | None:
    """The section of a run with per-period outputs, else None."""
    table = result.periods
    if table is None:
        return None
    kind = str((result.details.get(PERIODS_KEY) or {}).get("period", "month"))
    shown = [(c, h, f) for c, h, f in COLUMNS if c in table]
    shown += [(c, c.replace("slo_attainment", "SLO"), "%") for c in table.columns
              if c.startswith("slo_attainment[")]
    rows = [[_cell(row[c], f) for c, _, f in shown] for row in table.to_dict(orient="records")]
    fig = None
    if figure:
        from scheduler.period_plots import period_figure

        fig = period_figure(table, kind)
    return PeriodBlock(kind, callout_lines(result.details), [h for _, h, _ in shown], rows,
                       [f != "text" for _, _, f in shown], fig)

