"""Figures of the per-period table (docs/timeline.md, "Answers by period"): one run's
capacity, waits, power and energy by period, and several runs side by side (a sweep over a
site's online date, ``clustersim compare``). matplotlib is imported on first use."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from scheduler.plots import _figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

HOUR = 3600.0
SIDE_BY_SIDE = (("gpu_utilization", "GPU utilization (busy / online)", 1.0),
                ("p95_wait_s", "p95 wait of jobs arriving (h)", 1 / HOUR),
                ("facility_power_peak_mw", "peak facility power (MW)", 1.0),
                ("gpus_online_mean", "GPUs online (mean)", 1.0))
"""Columns of the side-by-side figure: (column, axis label, scale)."""


def _period_axis(ax: Axes, labels: list[str]) -> None:
    step = max(1, len(labels) // 12)  # at most ~12 tick labels, so they stay readable
    ax.set_xticks(range(0, len(labels), step), labels[::step], rotation=45, ha="right",
                  fontsize=8)
    ax.grid(alpha=0.3)


def period_figure(table: pd.DataFrame, kind: str = "month") -> Figure:
    """Four panels by period: GPUs online and busy, mean and p95 wait, mean and peak power
    against the sum of the caps, energy with carbon (or cost) on a second axis."""
    fig = _figure(11.0, 7.0)
    axes = fig.subplots(2, 2)
    x = np.arange(len(table))
    labels = table["period"].astype(str).tolist()
    ax = axes[0, 0]
    ax.step(x, table["gpus_online_mean"], where="mid", label="online (mean)", color="black")
    ax.bar(x, table["gpu_hours_busy"] * HOUR / (table["days"] * 86400), color="tab:blue",
           alpha=0.6, label="busy (mean)")
    ax.set_ylabel("GPUs")
    ax.set_title(f"Capacity online and busy GPUs by {kind}")
    ax.legend(fontsize=8)
    ax = axes[0, 1]
    ax.plot(x, table["mean_wait_s"] / HOUR, marker="o", label="mean")
    ax.plot(x, table["p95_wait_s"] / HOUR, marker="s", label="p95")
    ax.set_ylabel("hours")
    ax.set_title("Wait of the jobs arriving in the period")
    ax.legend(fontsize=8)
    ax = axes[1, 0]
    ax.plot(x, table["facility_power_mean_mw"], marker="o", label="mean")
    ax.plot(x, table["facility_power_peak_mw"], marker="^", label="peak")
    if "power_cap_total_mw" in table:
        ax.step(x, table["power_cap_total_mw"], where="mid", color="tab:red",
                label="sum of the caps")
    caps = [c for c in table.columns if c.startswith("peak_fraction_of_cap[")]
    if caps:
        twin = ax.twinx()
        twin.plot(x, table["max_site_peak_fraction_of_cap"], color="tab:red", ls="--",
                  label="highest site peak / its cap")
        twin.set_ylabel("fraction of cap", color="tab:red")
        twin.legend(fontsize=8, loc="lower right")
    ax.set_ylabel("facility power (MW)")
    ax.set_title("Facility power")
    ax.legend(fontsize=8, loc="upper left")
    ax = axes[1, 1]
    ax.bar(x, table["energy_facility_mwh"], color="tab:green", alpha=0.7, label="energy")
    ax.set_ylabel("facility energy (MWh)")
    ax.set_title("Energy" + (" and carbon" if "carbon_t" in table else ""))
    if "carbon_t" in table:
        twin = ax.twinx()
        twin.plot(x, table["carbon_t"], color="black", marker="o", label="carbon")
        twin.set_ylabel("carbon (t CO2e)")
    for ax in axes.flat:
        _period_axis(ax, labels)
    return fig


def side_by_side_figure(tables: Mapping[str, pd.DataFrame], title: str = "",
                        kind: str = "month") -> Figure:
    """One line per run (a sweep point, a compared run) on each panel of
    :data:`SIDE_BY_SIDE`; periods aligned by label (runs on the same calendar)."""
    labels = sorted({str(p) for table in tables.values() for p in table["period"]})
    position = {label: i for i, label in enumerate(labels)}
    fig = _figure(11.0, 7.0)
    axes = fig.subplots(2, 2)
    for ax, (column, ylabel, scale) in zip(axes.flat, SIDE_BY_SIDE, strict=True):
        for name, table in tables.items():
            if column not in table:
                continue
            x = [position[str(p)] for p in table["period"]]
            ax.plot(x, table[column].astype(float) * scale, marker="o", ms=3, label=name)
        ax.set_ylabel(ylabel)
        _period_axis(ax, labels)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(title or f"By {kind}, side by side")
    return fig
