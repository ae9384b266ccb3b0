"""Answers by period: a run's figures per calendar month, quarter or year.

Pure functions over columns, no engine and no segment log: the time series (step means),
the jobs' columns, each site's facility power as a step function with its cap and grid
signals, and the node groups' service windows. Definitions (docs/timeline.md, "Answers by
period"):

* Periods are calendar months, quarters or years in Europe/Paris local time: a period
  starts at 00:00 local time on its first day, so a boundary after a daylight-saving change
  is one hour off a whole number of days from time 0. The first period starts at 0 (it is
  partial when ``start`` is not its first day), the last ends with the run.
* Counts are per event time: a job is *arrived* in the period of its arrival, *started* in
  that of its first start, *completed* in that of its end. Waits (mean, p95) are those of
  the batch jobs **arriving** in the period that started (service replicas left out, as in
  the summary; warm-up jobs kept: the first month shows the empty cluster).
* GPU-hours online, energy, carbon, cost, peaks and time over cap are exact integrals or
  extremes of step functions over the period. Busy GPU-hours, queued jobs and SLO attainment
  come from the time series: a time-series step that straddles a boundary is split pro
  rata (its mean taken as uniform over it), so their sums over periods are still the
  whole run's.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import numpy as np
import pandas as pd

from scheduler.energy import J_PER_KWH, J_PER_MWH
from scheduler.metrics import step_function_maxima
from scheduler.signals.dates import local_midnight_utc

MONTHS_PER = {"month": 1, "quarter": 3, "year": 12}


class ProductIntegral(Protocol):
    """A grid signal: exact ∫ of a power step function times the signal over ``[t0, t1]``."""

    def integrate_product(self, power_times: Any, power_values: Any, t0: float,
                          t1: float) -> float: ...


@dataclass(frozen=True)
class Periods:
    """Calendar periods of a run: ``edges`` (seconds, one more than ``labels``)."""

    kind: str
    labels: list[str]
    edges: np.ndarray


@dataclass(frozen=True)
class SitePower:
    """One site's facility power (watts from ``times[i]`` to the next time; 0 before the
    first), the cap in force (same form, inf = no cap), PUE and grid signals."""

    name: str
    times: np.ndarray
    watts: np.ndarray
    pue: float
    cap_times: np.ndarray
    cap_watts: np.ndarray
    carbon: ProductIntegral | None = None
    price: ProductIntegral | None = None


@dataclass(frozen=True)
class JobColumns:
    """The jobs' columns the table reads; ``batch`` is False for service replicas."""

    arrival_s: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    completed: np.ndarray
    rejected: np.ndarray
    batch: np.ndarray


def _label(day: date, kind: str) -> str:
    if kind == "year":
        return f"{day.year}"
    if kind == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year}-{day.month:02d}"


def _next_start(day: date, kind: str) -> date:
    """First day of the period after the one holding ``day``."""
    step = MONTHS_PER[kind]
    first_month = (day.month - 1) // step * step  # 0-based month the period starts in
    months = day.year * 12 + first_month + step
    return date(months // 12, months % 12 + 1, 1)


def calendar_periods(start: date, end_s: float, kind: str) -> Periods:
    """The calendar periods (``month``, ``quarter``, ``year``) covering ``[0, end_s]`` of a
    run whose time 0 is 00:00 Europe/Paris on ``start``."""
    if kind not in MONTHS_PER:
        raise ValueError(f"period must be one of {sorted(MONTHS_PER)} (got {kind!r})")
    origin = local_midnight_utc(start)
    labels, edges = [_label(start, kind)], [0.0]
    day = _next_start(start, kind)
    while (at := (local_midnight_utc(day) - origin).total_seconds()) < end_s:
        labels.append(_label(day, kind))
        edges.append(at)
        day = _next_start(day, kind)
    edges.append(float(end_s))
    return Periods(kind, labels, np.array(edges))


def period_index(times: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Period of each time (``[a, b)``, the last period closed at the run's end); -1 for a
    time outside the run or NaN (never started, never ended)."""
    times = np.asarray(times, dtype=np.float64)
    index = np.searchsorted(edges, times, side="right") - 1
    index = np.where(times == edges[-1], edges.size - 2, index)
    inside = np.isfinite(times) & (times >= edges[0]) & (times <= edges[-1])
    return np.where(inside, index, -1)


def step_integrals(times: np.ndarray, values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Exact ∫ over each ``[edges[k], edges[k+1]]`` of the step function holding ``values[i]``
    from ``times[i]`` (sorted) to the next time, and 0 before the first."""
    if times.size == 0:
        return np.zeros(edges.size - 1)
    cum = np.concatenate([[0.0], np.cumsum(values[:-1] * np.diff(times))])
    at = np.searchsorted(times, edges, side="right") - 1
    safe = np.clip(at, 0, None)
    running = np.where(at >= 0, cum[safe] + values[safe] * (edges - times[safe]), 0.0)
    return np.diff(running)


def series_integrals(step_starts: np.ndarray, end_s: float, values: np.ndarray,
                     edges: np.ndarray) -> np.ndarray:
    """∫ over each period of a time-series column (means over steps ``[t_i, t_i+1)``, the
    last ending at ``end_s``); a step across a boundary is split pro rata."""
    grid = np.append(step_starts, end_s)
    cum = np.concatenate([[0.0], np.cumsum(np.nan_to_num(values) * np.diff(grid))])
    return np.diff(np.interp(edges, grid, cum))


def _window(times: np.ndarray, a: float, b: float) -> slice:
    """The breakpoints of a step function that matter in ``[a, b)``: the one in force at
    ``a`` and those inside (a year-long run has millions; each period reads its own)."""
    lo = max(int(np.searchsorted(times, a, side="right")) - 1, 0)
    return slice(lo, max(int(np.searchsorted(times, b, side="left")), lo + 1))


def _site_against_cap(site: SitePower, a: float, b: float) -> tuple[float, float]:
    """(highest power / cap in force, seconds over the cap) within ``[a, b)``; NaN and 0
    for a site without a cap in the period."""
    if not np.isfinite(site.cap_watts).any():
        return float("nan"), 0.0
    inside = _window(site.times, a, b)
    edges = np.unique(np.concatenate([[a], site.times[inside], site.cap_times]))
    edges = edges[(edges >= a) & (edges < b)]
    power = _value_at(site.times, site.watts, edges, 0.0)
    cap = _value_at(site.cap_times, site.cap_watts, edges, np.inf)
    capped = np.isfinite(cap) & (cap > 0)
    if not capped.any():
        return float("nan"), 0.0
    widths = np.diff(np.append(edges, b))
    over = capped & (power > cap)
    return float((power[capped] / cap[capped]).max()), float(widths[over].sum())


def _value_at(times: np.ndarray, values: np.ndarray, at: np.ndarray, before: float) -> np.ndarray:
    index = np.searchsorted(times, at, side="right") - 1
    return np.where(index >= 0, values[np.clip(index, 0, None)] if values.size else before,
                    before)


def _product(signal: ProductIntegral, site: SitePower, a: float, b: float) -> float:
    """Exact ∫ over ``[a, b]`` of the site's power times ``signal``."""
    inside = _window(site.times, a, b)
    return signal.integrate_product(site.times[inside], site.watts[inside], a, b)


def _job_columns(jobs: JobColumns, edges: np.ndarray) -> dict[str, np.ndarray]:
    """Counts per period and the waits of the batch jobs arriving in it."""
    n = edges.size - 1
    arrived = period_index(jobs.arrival_s, edges)
    started = period_index(jobs.start_s, edges)
    ended = period_index(np.where(jobs.completed, jobs.end_s, np.nan), edges)
    wait = jobs.start_s - jobs.arrival_s
    waited = jobs.batch & np.isfinite(wait) & (arrived >= 0)
    order = np.argsort(arrived[waited], kind="stable")
    groups = np.split(wait[waited][order], np.searchsorted(arrived[waited][order], np.arange(1, n)))
    return {
        "jobs_arrived": np.bincount(arrived[arrived >= 0], minlength=n),
        "jobs_started": np.bincount(started[started >= 0], minlength=n),
        "jobs_completed": np.bincount(ended[ended >= 0], minlength=n),
        "jobs_rejected": np.bincount(arrived[(arrived >= 0) & jobs.rejected],
                                     minlength=n),
        "jobs_never_started": np.bincount(
            arrived[(arrived >= 0) & jobs.batch & ~np.isfinite(jobs.start_s)
                    & ~jobs.rejected], minlength=n),
        "mean_wait_s": np.array([g.mean() if g.size else np.nan for g in groups]),
        "p95_wait_s": np.array([np.percentile(g, 95) if g.size else np.nan for g in groups]),
    }


def _capacity_columns(windows: np.ndarray, group_gpus: np.ndarray, edges: np.ndarray,
                      step_starts: np.ndarray, end_s: float,
                      busy_gpus: np.ndarray) -> dict[str, np.ndarray]:
    """GPUs online (exact, from the groups' service windows) and busy (time series)."""
    lo, hi = edges[:-1], edges[1:]
    overlap = np.minimum(windows[:, 1:2], hi) - np.maximum(windows[:, 0:1], lo)
    online_s = (group_gpus[:, None] * np.clip(overlap, 0.0, None)).sum(axis=0)
    # In service at the period's last instant: online before its end, offline at or after it.
    at_end = ((windows[:, 0:1] < hi) & (windows[:, 1:2] >= hi)) * group_gpus[:, None]
    busy_s = series_integrals(step_starts, end_s, busy_gpus, edges)
    length = hi - lo
    return {
        "gpus_online_mean": online_s / length,
        "gpus_online_end": at_end.sum(axis=0),
        "gpu_hours_online": online_s / 3600.0,
        "gpu_hours_busy": busy_s / 3600.0,
        "gpu_utilization": np.where(online_s > 0, busy_s / np.where(online_s > 0, online_s, 1),
                                    np.nan),
    }


def _power_columns(sites: Sequence[SitePower], cluster_times: np.ndarray,
                   cluster_watts: np.ndarray, edges: np.ndarray) -> dict[str, np.ndarray]:
    """Energy, carbon, cost, mean and peak power, and each capped site against its cap."""
    n = edges.size - 1
    facility_j = np.zeros(n)
    it_j = np.zeros(n)
    out: dict[str, np.ndarray] = {}
    for key, signal_of, unit in (("carbon_t", "carbon", J_PER_KWH * 1e6),
                                 ("energy_cost_eur", "price", J_PER_MWH)):
        signals = [(s, getattr(s, signal_of)) for s in sites]
        if any(sig is not None for _, sig in signals):
            out[key] = np.array([sum(_product(sig, s, a, b) / unit
                                     for s, sig in signals if sig is not None and s.times.size)
                                 for a, b in itertools.pairwise(edges)])
    caps: dict[str, np.ndarray] = {}
    for site in sites:
        site_j = step_integrals(site.times, site.watts, edges)
        facility_j += site_j
        it_j += site_j / site.pue
        against = [_site_against_cap(site, a, b) for a, b in itertools.pairwise(edges)]
        if any(np.isfinite(f) for f, _ in against):
            caps[f"peak_fraction_of_cap[{site.name}]"] = np.array([f for f, _ in against])
            caps[f"time_over_cap_s[{site.name}]"] = np.array([t for _, t in against])
    length = np.diff(edges)
    table = {
        "facility_power_mean_mw": facility_j / length / 1e6,
        "facility_power_peak_mw": step_function_maxima(cluster_times, cluster_watts,
                                                       edges) / 1e6,
        "energy_it_mwh": it_j / J_PER_MWH,
        "energy_facility_mwh": facility_j / J_PER_MWH,
        **out,
    }
    fractions = [v for k, v in caps.items() if k.startswith("peak_fraction_of_cap[")]
    if fractions:
        # fmax skips NaN (a period no cap covers yet) and gives NaN only where all are,
        # without nanmax's warning.
        table["max_site_peak_fraction_of_cap"] = np.fmax.reduce(np.vstack(fractions), axis=0)
    if len(fractions) == len(sites) and sites:  # every site capped: the cluster's sum too
        total = np.array([sum(_lowest_cap(site, a, b) for site in sites)
                          for a, b in itertools.pairwise(edges)])
        # A period where some site has no cap in force yet (its cap table starts later)
        # has no total cap: NaN, not inf (and no fraction of it).
        total = np.where(np.isfinite(total), total, np.nan)
        table["power_cap_total_mw"] = total / 1e6
        table["peak_fraction_of_cap_total"] = table["facility_power_peak_mw"] * 1e6 / total
    return {**table, **caps}


def _lowest_cap(site: SitePower, a: float, b: float) -> float:
    """The lowest cap in force at ``site`` within ``[a, b)`` (a demand-response window
    lowers it)."""
    return float(site.cap_watts[_window(site.cap_times, a, b)].min())


def _service_columns(series: pd.DataFrame, end_s: float, edges: np.ndarray,
                     services: Sequence[str]) -> dict[str, np.ndarray]:
    """Per service, SLO attainment over the period weighted by requests: ∫ attainment x
    rate / ∫ rate (each time-series step's two means taken as its values)."""
    out: dict[str, np.ndarray] = {}
    starts = series["time_s"].to_numpy(dtype=np.float64)
    for name in services:
        column, rate = f"slo_attainment[{name}]", f"request_rate_rps[{name}]"
        if column not in series or rate not in series:
            continue
        rps = series[rate].to_numpy(dtype=np.float64)
        met = series_integrals(starts, end_s, series[column].to_numpy(np.float64) * rps, edges)
        asked = series_integrals(starts, end_s, rps, edges)
        out[column] = np.where(asked > 0, met / np.where(asked > 0, asked, 1.0), np.nan)
    return out


def period_table(periods: Periods, series: pd.DataFrame, end_s: float, jobs: JobColumns,
                 windows: np.ndarray, group_gpus: np.ndarray, sites: Sequence[SitePower],
                 cluster_power: tuple[np.ndarray, np.ndarray],
                 services: Sequence[str] = ()) -> pd.DataFrame:
    """One row per period: capacity, utilization, jobs and waits, queue, power, energy,
    carbon, cost and SLO attainment (module docstring for the definitions)."""
    edges = periods.edges
    starts = series["time_s"].to_numpy(dtype=np.float64)
    length = np.diff(edges)
    columns: dict[str, Any] = {
        "period": periods.labels,
        "start_s": edges[:-1],
        "end_s": edges[1:],
        "days": length / 86400.0,
        **_capacity_columns(windows, group_gpus, edges, starts, end_s,
                            series["busy_gpus"].to_numpy(dtype=np.float64)),
        **_job_columns(jobs, edges),
        "queued_jobs_mean": series_integrals(
            starts, end_s, series["queued_jobs"].to_numpy(dtype=np.float64), edges) / length,
        **_power_columns(sites, *cluster_power, edges),
        **_service_columns(series, end_s, edges, services),
    }
    return pd.DataFrame(columns)


@dataclass(frozen=True)
class Crossing:
    """The first period where a threshold is crossed (``period`` None: never)."""

    name: str
    limit: float
    column: str
    period: str | None
    value: float | None
    measured: bool = True
    """False when the run has no such column (no site with a cap, no inference service)."""


THRESHOLD_RULES: dict[str, tuple[str, str]] = {
    "p95_wait": ("p95_wait_s", "above"),
    "utilization": ("gpu_utilization", "at_or_above"),
    "power_fraction_of_cap": ("max_site_peak_fraction_of_cap", "at_or_above"),
    "slo_attainment_below": ("slo_attainment[", "below"),
}
"""Threshold name -> (column, or a prefix for one column per service; the test)."""


def first_crossings(table: pd.DataFrame, thresholds: Mapping[str, float | None]) -> list[Crossing]:
    """For each threshold set, the first period whose value crosses it."""
    out = []
    for name, limit in thresholds.items():
        if limit is None:
            continue
        column, test = THRESHOLD_RULES[name]
        names = [c for c in table.columns if c.startswith(column)] if column.endswith("[") \
            else [column] if column in table else []
        if not names:
            out.append(Crossing(name, float(limit), column.rstrip("["), None, None, measured=False))
            continue
        values = table[names].to_numpy(dtype=np.float64)
        # fmin/fmax skip NaN (a column not measured in a period); all NaN gives NaN, which
        # crosses no threshold.
        worst = (np.fmin if test == "below" else np.fmax).reduce(values, axis=1)
        hit = (worst < limit if test == "below" else worst > limit if test == "above"
               else worst >= limit)
        first = int(np.argmax(hit)) if hit.any() else None
        out.append(Crossing(name, float(limit), column.rstrip("["),
                            None if first is None else str(table["period"].iloc[first]),
                            None if first is None else float(worst[first])))
    return out


def mean_by_period(frame: pd.DataFrame, exclude: Sequence[str] = ()) -> pd.DataFrame:
    """The mean of each numeric column (``exclude`` left out) per period, in calendar order:
    per-period tables of several runs (replications, a sweep point's seeds) as one."""
    numeric = [c for c in frame.columns if c != "period" and c not in exclude
               and pd.api.types.is_numeric_dtype(frame[c])]
    return frame.groupby("period", sort=True)[numeric].mean().reset_index()
