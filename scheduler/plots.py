"""Figures of one run: utilization, queue, power against caps, carbon, wait and JCT CDFs, map.

Every function takes a :class:`~scheduler.results.Result` (or anything with ``summary``,
``jobs``, ``timeseries`` and ``scenario_text``) and returns a new
:class:`matplotlib.figure.Figure`. Figures are built without ``pyplot``: no global figure
registry, no GUI backend, safe under ``MPLBACKEND=Agg`` and in threads; save them with
``fig.savefig(path)``. In a notebook a returned figure displays itself.

matplotlib is imported inside the functions, so ``import scheduler`` does not import it.
Quantities the run did not model (no energy model yet: no ``facility_power_mw[<site>]``
columns) give a figure that says so instead of an error; :func:`available` lists the plots
that have data.

Text is drawn literally: mathtext (``$...$``) is off while figures are built, so a site named
``A$B`` is a label, not a formula (and not a parse error).

The same figures from the command line: ``clustersim plot DIR --out FILE.png [--kind NAME]``
(the command itself lives in :mod:`scheduler.cli`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
import pandas as pd

from scheduler.errors import InputError
from scheduler.units import format_time

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


class RunLike(Protocol):
    """What the plots read from a run (a :class:`scheduler.results.Result` is one): a
    protocol, so that this module does not import the results module (which imports it)."""

    summary: dict[str, Any]
    jobs: pd.DataFrame
    timeseries: pd.DataFrame
    scenario_text: str


PLOT_FORMATS = ("png", "svg", "pdf")
_SITE_COLUMN = re.compile(r"^(?P<prefix>[a-z_]+)\[(?P<site>.*)\]$")
_NOT_MODELLED_COLOR = "#666666"
_CAP_STYLE: dict[str, Any] = {"color": "#c0392b", "linestyle": "--", "linewidth": 1.0}


# --------------------------------------------------------------------------- data helpers


def site_columns(timeseries: pd.DataFrame, prefix: str) -> dict[str, str]:
    """``{site: column}`` for the time-series columns named ``prefix[<site>]``, in order."""
    out: dict[str, str] = {}
    for column in timeseries.columns:
        match = _SITE_COLUMN.match(str(column))
        if match and match["prefix"] == prefix:
            out[match["site"]] = str(column)
    return out


def scenario_data(result: RunLike) -> dict[str, Any]:
    """The scenario that produced ``result`` as a dict (empty when it was not recorded)."""
    if not result.scenario_text:
        return {}
    try:
        data = json.loads(result.scenario_text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def site_names(result: RunLike) -> list[str]:
    """Site names in scenario order (falling back to the time series, then the summary)."""
    sites = scenario_data(result).get("sites")
    if isinstance(sites, list) and sites:
        return [str(site.get("name")) for site in sites if isinstance(site, dict)]
    from_series = list(site_columns(result.timeseries, "gpu_utilization"))
    if from_series:
        return from_series
    return list((result.summary.get("sites") or {}).keys())


def site_locations(result: RunLike) -> dict[str, tuple[float, float]]:
    """``{site: (lat, lon)}`` for the sites whose scenario entry has a ``location``."""
    out: dict[str, tuple[float, float]] = {}
    for site in scenario_data(result).get("sites") or []:
        location = site.get("location") if isinstance(site, dict) else None
        if isinstance(location, dict) and "lat" in location and "lon" in location:
            out[str(site["name"])] = (float(location["lat"]), float(location["lon"]))
    return out


def _period_s(result: RunLike) -> float:
    period = result.summary.get("simulated_time_s")
    if isinstance(period, int | float) and period > 0:
        return float(period)
    times = result.timeseries.get("time_s")
    if times is None or len(times) == 0:
        return 1.0
    return float(times.iloc[-1]) + _step_widths(result)[-1]


def _step_widths(result: RunLike) -> np.ndarray:
    """Seconds covered by each time-series row (rows are means over ``[t_i, t_{i+1})``)."""
    times = result.timeseries["time_s"].to_numpy(dtype=float)
    if len(times) == 0:
        return times
    step = result.summary.get("timeseries_step_s")
    period = result.summary.get("simulated_time_s")
    widths = np.diff(times)
    if isinstance(period, int | float) and period > times[-1]:
        last = float(period) - times[-1]
    elif isinstance(step, int | float) and step > 0:
        last = float(step)
    else:
        last = float(widths[-1]) if len(widths) else 1.0
    return np.append(widths, last)


def _time_axis(result: RunLike) -> tuple[np.ndarray, str, float]:
    """Time-series times in a readable unit: (values, unit label, seconds per unit)."""
    period = _period_s(result)
    unit, size = (("days", 86400.0) if period > 3 * 86400 else
                  ("hours", 3600.0) if period > 3 * 3600 else ("minutes", 60.0))
    times = result.timeseries["time_s"].to_numpy(dtype=float) if "time_s" in result.timeseries \
        else np.zeros(0)
    start = result.summary.get("start_date")
    if isinstance(start, str):  # the calendar of the run: "days from Mon 2020-01-27 00:00"
        from scheduler.signals.dates import describe_start, parse_start

        unit = f"{unit} from {describe_start(parse_start(start))}"
    return times / size, unit, size


def has_energy(result: RunLike) -> bool:
    """Whether the run has per-site facility power (the energy model was on)."""
    return bool(site_columns(result.timeseries, "facility_power_mw"))


def has_carbon(result: RunLike) -> bool:
    """Whether the run has per-site carbon intensity."""
    return bool(site_columns(result.timeseries, "carbon_g_per_kwh"))


# --------------------------------------------------------------------------- figure helpers


@contextlib.contextmanager
def literal_text() -> Iterator[None]:
    """Matplotlib settings under which text is never parsed as mathtext (names with ``$``)."""
    from matplotlib import rc_context

    with rc_context({"text.parse_math": False}):
        yield


def _literal(plot: Callable[..., Figure]) -> Callable[..., Figure]:
    """Build the figure under :func:`literal_text` (each Text keeps the setting it was made
    with, so saving later needs nothing more)."""
    @functools.wraps(plot)
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        with literal_text():
            return plot(*args, **kwargs)
    return wrapper


def _figure(width: float = 10.0, height: float = 5.0,
            layout: Literal["constrained"] | None = "constrained") -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout=layout)


def _not_modelled(title: str, message: str) -> Figure:
    fig = _figure(8.0, 2.5)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title, loc="left", fontweight="bold")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=12, color=_NOT_MODELLED_COLOR,
            transform=ax.transAxes)
    return fig


def _title(fig: Figure, result: RunLike, what: str) -> None:
    name = result.summary.get("scenario", "")
    seed = result.summary.get("seed")
    fig.suptitle(f"{what} \N{EM DASH} {name} (seed {seed})", x=0.01, ha="left",
                 fontweight="bold")


def _colors(names: list[str]) -> dict[str, Any]:
    """A distinct colour per name: tab10 for up to 10 names, tab20 beyond."""
    from matplotlib import colormaps

    cmap = colormaps["tab10" if len(names) <= 10 else "tab20"]
    return {name: cmap(i % cmap.N) for i, name in enumerate(names)}


def _mw(value: float) -> str:
    """Megawatts with sensible precision: 1,234 / 12.3 / 0.123."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2g}" if value else "0"


def _time_ticks(ax: Axes, low: float, high: float) -> None:
    """Log-scaled seconds with human tick labels (1m, 1h, 1d)."""
    marks = [1.0, 10.0, 60.0, 600.0, 3600.0, 6 * 3600.0, 86400.0, 7 * 86400.0, 30 * 86400.0]
    ticks = [m for m in marks if low <= m <= high] or [low, high]
    ax.set_xticks(ticks)
    ax.set_xticklabels([format_time(t) for t in ticks])
    ax.minorticks_off()


# --------------------------------------------------------------------------- the plots


@_literal
def plot_utilization(result: RunLike) -> Figure:
    """Cluster GPU utilization over time (top) and per site as a heat map (bottom)."""
    ts = result.timeseries
    times, unit, size = _time_axis(result)
    columns = site_columns(ts, "gpu_utilization")
    names = [n for n in site_names(result) if n in columns] or list(columns)
    fig = _figure(11.0, 3.0 + 0.28 * max(len(names), 1))
    axes = fig.subplots(2, 1, sharex=True, height_ratios=[1.0, max(1.5, 0.22 * len(names))])
    top, heat = axes
    utilization = ts["gpu_utilization"].to_numpy(dtype=float) * 100
    top.plot(times, utilization, color="#1f77b4", linewidth=1.2)
    top.fill_between(times, utilization, color="#1f77b4", alpha=0.15)
    mean = result.summary.get("gpu_utilization")
    if isinstance(mean, int | float):
        top.axhline(mean * 100, color="#333333", linestyle=":", linewidth=1)
        top.text(0.995, 0.05, f"mean {mean:.1%}", transform=top.transAxes, ha="right",
                 va="bottom", fontsize=9)
    top.set_ylim(0, 100)
    top.set_ylabel("whole cluster\n% of GPUs busy")
    top.grid(alpha=0.3)
    if names:
        gpus = {n: (result.summary.get("sites") or {}).get(n, {}).get("gpus") for n in names}
        grid = np.vstack([ts[columns[n]].to_numpy(dtype=float) * 100 for n in names])
        for row, name in enumerate(names):
            if gpus[name] == 0:
                grid[row, :] = np.nan
        edges = (np.append(times, times[-1] + _step_widths(result)[-1] / size)
                 if len(times) else np.array([0.0, 1.0]))
        from matplotlib import colormaps

        cmap = colormaps["viridis"].with_extremes(bad="#ffffff")
        mesh = heat.pcolormesh(edges, np.arange(len(names) + 1), np.ma.masked_invalid(grid),
                               cmap=cmap, vmin=0, vmax=100, shading="flat")
        heat.set_yticks(np.arange(len(names)) + 0.5)
        heat.set_yticklabels([f"{n} ({gpus[n]:,})" if isinstance(gpus[n], int) else n
                              for n in names], fontsize=8)
        for row, name in enumerate(names):  # a site without GPUs says so (not a grey row)
            if gpus[name] == 0:
                heat.text(0.5, row + 0.5, "no GPUs at this site", transform=heat.get_yaxis_transform(),
                          ha="center", va="center", fontsize=7, color=_NOT_MODELLED_COLOR)
        heat.invert_yaxis()
        fig.colorbar(mesh, ax=heat, label="% of site GPUs busy", pad=0.01)
    else:
        heat.text(0.5, 0.5, "no per-site columns", ha="center", va="center",
                  transform=heat.transAxes, color=_NOT_MODELLED_COLOR)
    heat.set_xlabel(f"simulated time ({unit})")
    _title(fig, result, "GPU utilization")
    return fig


@_literal
def plot_queue(result: RunLike) -> Figure:
    """Queued and running jobs over time, and why pending jobs wait (stacked by reason)."""
    ts = result.timeseries
    times, unit, _ = _time_axis(result)
    reasons = site_columns(ts, "pending")
    fig = _figure(11.0, 6.0)
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.plot(times, ts["queued_jobs"], label="queued (arrived, not started)", color="#d62728")
    top.plot(times, ts["running_jobs"], label="running", color="#2ca02c")
    top.set_ylabel("jobs (mean per step)")
    top.legend(loc="upper left", fontsize=9)
    top.grid(alpha=0.3)
    if reasons:
        values = [ts[column].to_numpy(dtype=float) for column in reasons.values()]
        bottom.stackplot(times, values, labels=list(reasons), alpha=0.8)
        bottom.legend(loc="upper left", fontsize=8, title="pending because", title_fontsize=8)
    else:
        bottom.text(0.5, 0.5, "no job ever waited", ha="center", va="center",
                    transform=bottom.transAxes, color=_NOT_MODELLED_COLOR)
    bottom.set_ylabel("pending jobs by reason")
    bottom.set_xlabel(f"simulated time ({unit})")
    bottom.grid(alpha=0.3)
    _title(fig, result, "Queue")
    return fig


def _fleet_cap(ts: pd.DataFrame, caps: dict[str, str], names: list[str]) -> np.ndarray | None:
    """The sum of the site caps in force at each step, or None when a site has no cap (then
    the fleet has no cap: that site may draw any power)."""
    if not names or any(name not in caps for name in names):
        return None
    total = sum(ts[caps[name]].to_numpy(dtype=float) for name in names)
    return np.asarray(total) if np.isfinite(total).all() else None


def _power_panel(ax: Axes, times: np.ndarray, mean: np.ndarray, peak: np.ndarray | None,
                 cap: np.ndarray | None, color: str) -> float:
    """One panel: the mean over each step (filled), the highest instant of each step (line)
    and the cap (dashed). Returns the panel's peak: the highest instant of the run."""
    ax.fill_between(times, mean, step="post", color=color, alpha=0.2, linewidth=0)
    shown = peak if peak is not None else mean
    ax.step(times, shown, where="post", color=color, linewidth=0.9)
    top = float(np.nanmax(shown)) if len(shown) else 0.0
    if len(shown):
        at = int(np.nanargmax(shown))
        ax.plot([times[at]], [top], marker="v", color=color, markersize=4)
    if cap is not None:
        ax.step(times, cap, where="post", **_CAP_STYLE)
    return top


@_literal
def plot_power(result: RunLike) -> Figure:
    """Facility power per site against its cap (small multiples; the first is the fleet
    total against the sum of site caps). The line is the highest instant of each time step,
    so the figure's peak is the summary's ``peak_facility_power_mw`` (the highest facility
    power at any instant); the filled area is the mean over each step."""
    ts = result.timeseries
    power = site_columns(ts, "facility_power_mw")
    if not power:
        return _not_modelled("Facility power per site",
                             "power not modelled in this run (no energy model)")
    from matplotlib.ticker import MaxNLocator

    caps = site_columns(ts, "power_cap_mw")
    peaks = site_columns(ts, "facility_power_peak_mw")
    times, unit, _ = _time_axis(result)
    names = [n for n in site_names(result) if n in power] or list(power)
    panels = ["All sites", *names]
    cols = 4
    rows = math.ceil(len(panels) / cols)
    height = 1.9 * rows + 0.9
    fig = _figure(12.0, height, layout=None)  # constrained layout is slow on many panels
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.45 / height, top=1 - 0.75 / height,
                        hspace=0.62, wspace=0.22)
    axes = np.atleast_1d(fig.subplots(rows, cols, sharex=True, squeeze=False)).ravel()
    total = (ts["facility_power_mw"].to_numpy(dtype=float) if "facility_power_mw" in ts
             else sum(ts[power[n]].to_numpy(dtype=float) for n in names))
    for ax, panel in zip(axes, panels, strict=False):
        if panel == "All sites":
            mean = np.asarray(total)
            peak = (ts["facility_power_peak_mw"].to_numpy(dtype=float)
                    if "facility_power_peak_mw" in ts else None)
            cap = _fleet_cap(ts, caps, names)
            color, cap_name = "#333333", "sum of caps"
        else:
            mean = ts[power[panel]].to_numpy(dtype=float)
            peak = ts[peaks[panel]].to_numpy(dtype=float) if panel in peaks else None
            cap = ts[caps[panel]].to_numpy(dtype=float) if panel in caps else None
            color, cap_name = "#1f77b4", "cap"
        top = _power_panel(ax, times, mean, peak, cap, color)
        label = f"{panel}\npeak {_mw(top)} MW"
        if cap is not None and np.isfinite(cap).any():
            top_cap = float(np.nanmax(cap))
            label += f" / {cap_name} {_mw(top_cap)} MW"
            ax.set_ylim(0, max(top, top_cap) * 1.08 or 1)
        else:
            ax.set_ylim(0, top * 1.15 or 1)
            label += " (no cap)" if panel != "All sites" else (" (a site has no cap)" if caps else "")
        ax.set_title(label, fontsize=8, loc="left")
        ax.yaxis.set_major_locator(MaxNLocator(3))  # few ticks: readable, and fast to draw
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for index, ax in enumerate(axes):
        if index >= len(panels):
            ax.set_axis_off()
        elif index + cols >= len(panels):  # lowest panel of its column: show the time axis
            ax.xaxis.set_tick_params(labelbottom=True)
    fig.supxlabel(f"simulated time ({unit})", fontsize=9)
    fig.supylabel("facility power (MW)", fontsize=9)
    what = ("highest instant per step (line, peak marked), step mean (filled)" if peaks
            else "step means")
    _title(fig, result, f"Facility power: {what}; caps dashed red")
    return fig


@_literal
def plot_carbon(result: RunLike) -> Figure:
    """Grid carbon intensity per site and the cumulative emissions of the run by site."""
    ts = result.timeseries
    intensity = site_columns(ts, "carbon_g_per_kwh")
    if not intensity:
        return _not_modelled("Carbon", "carbon not modelled in this run (no grid signals)")
    power = site_columns(ts, "facility_power_mw")
    times, unit, _ = _time_axis(result)
    names = [n for n in site_names(result) if n in intensity] or list(intensity)
    fig = _figure(11.0, 6.5 if power else 3.5)
    axes = fig.subplots(2 if power else 1, 1, sharex=True, squeeze=False).ravel()
    # Sites on the same grid signal share one line (often all of them do).
    groups: dict[bytes, list[str]] = {}
    for name in names:
        groups.setdefault(ts[intensity[name]].to_numpy(dtype=float).tobytes(), []).append(name)
    line_colors = _colors([members[0] for members in groups.values()])
    for members in groups.values():
        label = (", ".join(members) if len(members) <= 3 else
                 f"all {len(members)} sites" if len(members) == len(names) else
                 f"{len(members)} sites: {', '.join(members[:3])}, ...")
        axes[0].plot(times, ts[intensity[members[0]]], label=label,
                     color=line_colors[members[0]], linewidth=1.2)
    axes[0].set_ylabel("grid carbon intensity\n(g CO2e / kWh)")
    axes[0].set_ylim(bottom=0)
    axes[0].grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    if power:
        hours = _step_widths(result) / 3600.0
        emitting = [n for n in names if n in power]
        rates = site_columns(ts, "emissions_t_per_h")

        def tonnes_per_hour(site: str) -> np.ndarray:
            if site in rates:  # the energy model's own figure
                return ts[rates[site]].to_numpy(dtype=float)
            # MW x g/kWh = 1000 kW x g/kWh = kg/h; / 1000 = t/h.
            return (ts[power[site]].to_numpy(dtype=float)
                    * ts[intensity[site]].to_numpy(dtype=float) / 1000.0)

        cumulative = {n: np.cumsum(np.nan_to_num(tonnes_per_hour(n)) * hours)
                      for n in emitting}
        # The largest emitters at the bottom, each with its own colour; the rest as one band.
        ranked = sorted((n for n in emitting if cumulative[n][-1] > 0),
                        key=lambda n: -cumulative[n][-1])
        bands = {n: cumulative[n] for n in ranked[:8]}
        if len(ranked) > 8:
            bands[f"{len(ranked) - 8} other sites"] = sum(
                (cumulative[n] for n in ranked[8:]), np.zeros(len(times)))
        band_colors = _colors(list(bands))
        if bands:
            axes[1].stackplot(times, list(bands.values()), labels=list(bands),
                              colors=[band_colors[n] for n in bands], alpha=0.85)
            handles, labels = axes[1].get_legend_handles_labels()
            axes[1].legend(handles[::-1], labels[::-1], fontsize=7, loc="upper left",
                           bbox_to_anchor=(1.01, 1.0), frameon=False)
        total = result.summary.get("carbon_t")
        heading = "cumulative emissions (t CO2e)"
        if isinstance(total, int | float):
            heading += f": {total:,.1f} t in total"
        axes[1].set_title(heading, fontsize=9, loc="left")
        axes[1].set_ylabel("t CO2e")
        axes[1].grid(alpha=0.3)
    axes[-1].set_xlabel(f"simulated time ({unit})")
    _title(fig, result, "Carbon")
    return fig


def _ecdf(ax: Axes, values: np.ndarray, label: str, color: Any) -> tuple[float, float] | None:
    values = np.sort(values[np.isfinite(values)])
    if len(values) == 0:
        return None
    zero = float(np.mean(values <= 0))
    positive = values[values > 0]
    if len(positive) == 0:
        ax.plot([], [], color=color, label=f"{label} (n={len(values):,}, all zero)")
        return None
    y = zero + np.arange(1, len(positive) + 1) / len(values)
    text = f"{label} (n={len(values):,}"
    text += f", {zero:.0%} zero)" if zero > 0 else ")"
    ax.step(np.concatenate([[positive[0]], positive]), np.concatenate([[zero], y]),
            where="post", color=color, label=text, linewidth=1.3)
    return float(positive[0]), float(positive[-1])


@_literal
def plot_cdf(result: RunLike) -> Figure:
    """Cumulative distributions of wait (over started jobs) and JCT (over completed jobs),
    one line per workload, log time axis. Inference service replicas are not jobs here."""
    from scheduler.service_views import batch_jobs

    jobs = batch_jobs(result)
    fig = _figure(11.0, 4.5)
    axes = fig.subplots(1, 2, sharey=True)
    workloads = list(dict.fromkeys(jobs["workload"].tolist())) if len(jobs) else []
    colors = _colors(workloads)
    for ax, column, heading in ((axes[0], "wait_s", "wait (arrival to start), started jobs"),
                                (axes[1], "jct_s", "job completion time, completed jobs")):
        spans = []
        for workload in workloads:
            values = jobs.loc[jobs["workload"] == workload, column].to_numpy(dtype=float)
            span = _ecdf(ax, values, workload, colors[workload])
            if span is not None:
                spans.append(span)
        if spans:
            ax.set_xscale("log")
            low = min(s[0] for s in spans)
            high = max(s[1] for s in spans)
            _time_ticks(ax, low, high)
            ax.legend(fontsize=8, loc="lower right")
        else:
            ax.text(0.5, 0.5, "no jobs", ha="center", va="center", transform=ax.transAxes,
                    color=_NOT_MODELLED_COLOR)
        ax.set_title(heading, fontsize=10, loc="left")
        ax.set_xlabel("time (log scale)")
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("fraction of jobs")
    axes[0].set_ylim(0, 1.01)
    _title(fig, result, "Wait and JCT distributions")
    return fig


@_literal
def plot_map(result: RunLike, color: str = "auto") -> Figure:
    """The sites on a longitude/latitude plane: marker area by GPUs, colour by utilization
    (``color="utilization"``) or mean carbon intensity (``"carbon"``; ``"auto"`` picks carbon
    when the run has it). No tiles or coastlines: nothing is downloaded."""
    locations = site_locations(result)
    if not locations:
        return _not_modelled("Site map", "no site has a location in the scenario")
    if color not in {"auto", "utilization", "carbon"}:
        raise ValueError(f"color must be 'auto', 'utilization' or 'carbon' (got {color!r})")
    carbon = site_columns(result.timeseries, "carbon_g_per_kwh")
    if color == "auto":
        color = "carbon" if carbon else "utilization"
    if color == "carbon" and not carbon:
        return _not_modelled("Site map by carbon intensity",
                             "carbon not modelled in this run (no grid signals)")
    sites = result.summary.get("sites") or {}
    names = [n for n in site_names(result) if n in locations]
    lat = np.array([locations[n][0] for n in names])
    lon = np.array([locations[n][1] for n in names])
    gpus = np.array([float((sites.get(n) or {}).get("gpus") or 0) for n in names])
    if color == "carbon":
        values = np.array([float(result.timeseries[carbon[n]].mean()) if n in carbon else np.nan
                           for n in names])
        cmap, label, vmin, vmax = "RdYlGn_r", "mean grid carbon (g CO2e / kWh)", None, None
    else:
        values = np.array([100 * float((sites.get(n) or {}).get("gpu_utilization") or 0)
                           for n in names])
        cmap, label, vmin, vmax = "viridis", "GPU utilization (%)", 0.0, 100.0
    fig = _figure(9.0, 8.0)
    ax = fig.add_subplot()
    biggest = float(gpus.max()) if len(gpus) and gpus.max() > 0 else 1.0
    area = 40 + 1400 * gpus / biggest
    built = gpus > 0
    points = ax.scatter(lon[built], lat[built], s=area[built], c=values[built], cmap=cmap,
                        vmin=vmin, vmax=vmax, edgecolors="#222222", linewidths=0.8, alpha=0.85,
                        zorder=3)
    if (~built).any():
        ax.scatter(lon[~built], lat[~built], s=40, facecolors="none", edgecolors="#888888",
                   linewidths=1.0, zorder=3, label="no GPUs")
        ax.legend(loc="lower left", fontsize=8)
    shown = values[built]
    if shown.size and np.allclose(shown, shown[0], rtol=1e-9, equal_nan=True):
        # One value for every site (one grid for all): a colour scale would say nothing.
        ax.text(0.99, 0.01, f"{label}: {shown[0]:.3g} at every site", transform=ax.transAxes,
                ha="right", va="bottom", fontsize=8)
    else:
        fig.colorbar(points, ax=ax, label=label, shrink=0.7)
    mid_lat = float(np.mean(lat))
    ax.set_aspect(1.0 / max(math.cos(math.radians(mid_lat)), 0.1))
    pad_lon = max(0.35, 0.25 * float(np.ptp(lon)))
    pad_lat = max(0.2, 0.1 * float(np.ptp(lat)))
    xlim = (float(lon.min()) - pad_lon, float(lon.max()) + pad_lon)
    ax.set_xlim(*xlim)
    ax.set_ylim(float(lat.min()) - pad_lat, float(lat.max()) + pad_lat)
    # Marker radius in degrees of longitude (about 5.5 in of axes width = 396 pt).
    radius = np.sqrt(area) / 2 * (xlim[1] - xlim[0]) / 396.0
    _label_sites(ax, names, lon, lat, gpus, radius)
    ax.set_xlabel("longitude (\N{DEGREE SIGN}E)")
    ax.set_ylabel("latitude (\N{DEGREE SIGN}N)")
    ax.grid(alpha=0.3)
    total = int(gpus.sum())
    _title(fig, result, f"Sites: {len(names)} located, {total:,} GPUs (marker area by GPUs)")
    return fig


def _label_size(ax: Axes) -> tuple[float, float]:
    """Degrees of longitude and of latitude per typographic point in ``ax`` as drawn (its
    aspect applied), so label boxes can be sized in data units."""
    ax.apply_aspect()
    points_per_pixel = 72.0 / float(getattr(ax.figure, "dpi", 72.0))
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    return ((x1 - x0) / (ax.bbox.width * points_per_pixel),
            (y1 - y0) / (ax.bbox.height * points_per_pixel))


def _label_sites(ax: Axes, names: list[str], lon: np.ndarray, lat: np.ndarray,
                 gpus: np.ndarray, radius: np.ndarray) -> None:
    """Name labels beside the markers, moved to the other side or up or down a line when they
    would cover a label already placed or another site's marker (sites of one area, e.g.
    around Dunkirk, stay readable)."""
    per_pt_x, per_pt_y = _label_size(ax)
    # Two lines of 7-pt text: ~19 pt high with leading; ~4.4 pt per character (DejaVu Sans
    # averages ~0.6 em); a margin of 2 pt around each box.
    height = 23.0 * per_pt_y
    base_gap = 4.0 * per_pt_x
    boxes: list[tuple[float, float, float]] = []  # (left, right, y)
    # Markers as boxes (left, right, bottom, top): a radius in degrees of longitude spans
    # cos(latitude) as many degrees of latitude on the map's equal-distance aspect.
    squash = math.cos(math.radians(float(np.mean(lat))))
    markers = [(float(x - r), float(x + r), float(y - r * squash), float(y + r * squash))
               for x, y, r in zip(lon, lat, radius, strict=True)]

    def free(left: float, width: float, y: float, own: int) -> bool:
        if not all(abs(y - by) >= height or left >= br or left + width <= bl
                   for bl, br, by in boxes):
            return False
        low, high = y - height / 2, y + height / 2
        return all(j == own or left >= mr or left + width <= ml or low >= mt or high <= mb
                   for j, (ml, mr, mb, mt) in enumerate(markers))

    for i in np.argsort(-lat):
        text = f"{names[i]}\n{int(gpus[i]):,} GPUs" if gpus[i] > 0 else f"{names[i]}\n(no GPUs)"
        width = (4.4 * max(len(line) for line in text.split("\n")) + 4.0) * per_pt_x
        x0, y0 = float(lon[i]), float(lat[i])
        gap = base_gap + float(radius[i])
        chosen = (x0 + gap, y0, "left")
        for shift in (0, -1, 1, -2, 2, -3, 3):
            y = y0 + shift * height
            if free(x0 + gap, width, y, int(i)):
                chosen = (x0 + gap, y, "left")
                break
            if free(x0 - gap - width, width, y, int(i)):
                chosen = (x0 - gap, y, "right")
                break
        x, y, align = chosen
        left = x if align == "left" else x - width
        boxes.append((left, left + width, y))
        moved = abs(y - y0) > 1e-9
        ax.annotate(text, (x0, y0), xytext=(x, y), fontsize=7, va="center", ha=align, zorder=4,
                    arrowprops={"arrowstyle": "-", "color": "#999999", "linewidth": 0.5}
                    if moved else None)


PLOTS: dict[str, Callable[..., Figure]] = {
    "utilization": plot_utilization,
    "queue": plot_queue,
    "power": plot_power,
    "carbon": plot_carbon,
    "cdf": plot_cdf,
    "map": plot_map,
}
"""Plot names (``--kind``) and their functions."""


def available(result: RunLike) -> list[str]:
    """The plots that have data in ``result`` (power and carbon need the energy model)."""
    names = []
    for name in PLOTS:
        if name == "power" and not has_energy(result):
            continue
        if name == "carbon" and not has_carbon(result):
            continue
        if name == "map" and not site_locations(result):
            continue
        names.append(name)
    return names


class PlotAccessor:
    """``result.plot``: one method per figure, each returning a matplotlib Figure.

    ``result.plot("queue")`` is ``result.plot.queue()``; ``result.plot.available()`` lists
    the plots that have data in this run.
    """

    names = tuple(PLOTS)
    """Every plot name."""

    def __init__(self, result: RunLike) -> None:
        self._result = result

    def __call__(self, kind: str, **options: Any) -> Figure:
        if kind not in PLOTS:
            raise ValueError(f"unknown plot {kind!r}; known: {', '.join(PLOTS)}")
        return PLOTS[kind](self._result, **options)

    def __repr__(self) -> str:
        return f"<plots: {', '.join(self.names)}>"

    def available(self) -> list[str]:
        """Plot names that have data in this run."""
        return available(self._result)

    def utilization(self) -> Figure:
        """Cluster and per-site GPU utilization over time."""
        return plot_utilization(self._result)

    def queue(self) -> Figure:
        """Queued and running jobs, and pending jobs by reason."""
        return plot_queue(self._result)

    def power(self) -> Figure:
        """Facility power per site against its cap (or "not modelled")."""
        return plot_power(self._result)

    def carbon(self) -> Figure:
        """Carbon intensity per site and cumulative emissions (or "not modelled")."""
        return plot_carbon(self._result)

    def cdf(self) -> Figure:
        """Wait and JCT cumulative distributions per workload."""
        return plot_cdf(self._result)

    def map(self, color: str = "auto") -> Figure:
        """Sites by longitude and latitude, sized by GPUs, coloured by utilization or carbon."""
        return plot_map(self._result, color=color)


# --------------------------------------------------------------------------- files


def require_matplotlib() -> None:
    """Raise :class:`InputError` with the install command when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise InputError("plots need matplotlib, a dependency of clustersim that is missing "
                         "here: pip install matplotlib",
                         "matplotlib") from None


def save_figure(fig: Figure, path: str | Path, dpi: int = 110) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix: png, svg or pdf), atomically."""
    from scheduler.outputs import atomic_write

    target = Path(path)
    fmt = target.suffix.lower().lstrip(".")
    if fmt not in PLOT_FORMATS:
        raise InputError(f"unsupported image type {target.suffix or '(none)'!r}; "
                         f"use one of {', '.join('.' + f for f in PLOT_FORMATS)}", "--out")
    with literal_text():
        atomic_write(target, lambda p: fig.savefig(p, format=fmt, dpi=dpi))
    return target
