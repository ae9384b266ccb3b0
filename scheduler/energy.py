"""Energy, carbon and cost of a finished run, integrated exactly from the segment log.

Site facility power is a step function: base (every GPU idle, node overheads) plus the
facility watts of each running segment, times nothing else (segments carry PUE already).
Energy = its integral; carbon = integral of power x carbon intensity; cost = integral of
power x price. Integrals of products of step functions are exact (no sampling).

Units: J -> MWh divide by 3.6e9; g/kWh x J -> g divide by 3.6e6; EUR/MWh x J -> EUR divide
by 3.6e9.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from scheduler.metrics import step_function_maxima, step_means
from scheduler.power import power_steps, time_at_or_above
from scheduler.timeline import group_windows, has_timeline, out_of_service_power

if TYPE_CHECKING:
    from scheduler.runtime.record import RunRecord

J_PER_MWH = 3.6e9
J_PER_KWH = 3.6e6
AT_CAP_SHARE = 0.99
"""A site is "at its cap" while its facility power is at least 99 % of the cap in force."""


@dataclass
class SiteEnergy:
    """One site's energy accounting over ``[0, period]``."""

    energy_it_j: float
    energy_facility_j: float
    carbon_g: float | None
    cost_eur: float | None
    peak_facility_w: float
    time_at_cap_s: float
    time_over_cap_s: float
    steps: tuple[np.ndarray, np.ndarray] = field(repr=False)


@dataclass
class EnergyAccount:
    """Per-site accounting, per-job and per-service figures. Only sums are kept, not the
    per-segment figures they are summed from (a year at full scale has ~10^7 segments)."""

    sites: list[SiteEnergy]
    job_energy_j: np.ndarray
    """Per job (row of the job table): facility energy of its own segments."""
    job_carbon_g: np.ndarray
    job_cost_eur: np.ndarray
    service_energy_j: dict[int, float]
    """Per inference service (its workload index): its segments' energy plus its power
    corrections by load."""
    cluster_peak_w: float
    cluster_steps: tuple[np.ndarray, np.ndarray] = field(
        default_factory=lambda: (np.zeros(0), np.zeros(0)), repr=False)
    """The whole cluster's facility power as a step function (times, watts) over
    ``[0, period)``; its maximum is ``cluster_peak_w``."""


def cap_steps(run: RunRecord, site: int, period: float) -> tuple[np.ndarray, np.ndarray]:
    """The cap in force at ``site`` as a step function (times, watts; inf = no cap)."""
    edges = sorted({0.0, *(t for w in run.power.windows if w.site == site
                           for t in (w.start, w.end) if t < period)})
    times = np.array(edges)
    return times, np.array([run.power.cap_at(site, t) for t in edges])


def _integral(signal: Any, times: np.ndarray, values: np.ndarray, period: float,
              unit: float) -> float | None:
    """∫ power x signal over ``[0, period]`` in ``unit``; None without a signal. A run
    stopped before its first event has no power step inside ``[0, 0)``: the integral is 0."""
    if signal is None:
        return None
    if times.size == 0:
        return 0.0
    return float(signal.integrate_product(times, values, 0.0, period) / unit)


def account(run: RunRecord, period: float) -> EnergyAccount:
    """Integrate power, carbon and cost per site and per segment over ``[0, period]``."""
    seg = run.segments
    adjustments = np.array(run.services.adjustments, dtype=np.float64).reshape(-1, 5)
    # The rows: the segment log's, then the power corrections of inference replicas by
    # load (they belong to a service, ``workload``, and to no job).
    site_of = _rows(seg.view("site"), adjustments[:, 1].astype(np.int32))
    start = _rows(seg.view("start_s"), adjustments[:, 2])
    end = np.minimum(_rows(seg.view("end_s"), adjustments[:, 3]), period)
    watts = _rows(seg.view("power_w"), adjustments[:, 4])
    power = run.power
    sites = []
    all_times, all_values = [], []
    seg_carbon = np.zeros(site_of.shape[0])
    seg_cost = np.zeros(site_of.shape[0])
    timeline = group_windows(run.scenario) if has_timeline(run.scenario) else None
    for s in range(len(run.cluster.site_names)):
        mask = site_of == s
        base_facility = float(power.base_it_w[s] * power.pue[s])
        # This site's rows (copied once), then, with a timeline, the groups out of service
        # drawing nothing (scheduler.timeline).
        here_start, here_end, here_watts = start[mask], end[mask], watts[mask]
        rows = here_start.shape[0]
        if timeline is not None:
            off = out_of_service_power(timeline, run.cluster.group_site,
                                       power.group_idle_it_w * power.pue[s], s, period)
            here_start, here_end, here_watts = (np.concatenate([here, extra]) for here, extra
                                                in zip((here_start, here_end, here_watts), off,
                                                       strict=True))
        times, values = power_steps(here_start, here_end, here_watts, base_facility)
        inside = times < period
        times, values = times[inside], values[inside]
        widths = np.diff(np.append(times, period))
        facility_j = float(np.dot(values, widths))
        carbon_signal, price_signal = run.carbon[s], run.price[s]
        carbon = _integral(carbon_signal, times, values, period, J_PER_KWH)
        cost = _integral(price_signal, times, values, period, J_PER_MWH)
        here_start, here_end, here_watts = here_start[:rows], here_end[:rows], here_watts[:rows]
        if carbon_signal is not None:
            seg_carbon[mask] = here_watts * carbon_signal.integrals(here_start, here_end) / J_PER_KWH
        if price_signal is not None:
            seg_cost[mask] = here_watts * price_signal.integrals(here_start, here_end) / J_PER_MWH
        del here_start, here_end, here_watts
        cap_times, cap_values = cap_steps(run, s, period)
        cap_here = cap_values[np.searchsorted(cap_times, times, side="right") - 1]
        sites.append(SiteEnergy(
            energy_it_j=facility_j / float(power.pue[s]),
            energy_facility_j=facility_j, carbon_g=carbon, cost_eur=cost,
            peak_facility_w=float(values.max()) if values.size else base_facility,
            time_at_cap_s=time_at_or_above(times, values, AT_CAP_SHARE * cap_here, period),
            time_over_cap_s=time_at_or_above(times, values, np.nextafter(cap_here, np.inf),
                                             period),
            steps=(times, values)))
        all_times.append(times)
        all_values.append(np.diff(np.concatenate([[0.0], values])))
    # Sums by job and service first, so that the rows' arrays are gone before the whole
    # cluster's power is merged from the sites' (a year at full scale: ~10^7 rows).
    del site_of
    seg_energy = watts * np.clip(end - start, 0, None)
    del watts, start, end
    seg_job = seg.view("job")
    # Per job: its segments (replicas at their full-load reservation); the corrections by
    # load go to their service.
    job_energy, job_carbon, job_cost = (
        np.bincount(seg_job, weights=values[:seg.size], minlength=run.jobs.size)
        for values in (seg_energy, seg_carbon, seg_cost))
    del seg_carbon, seg_cost
    workload = _rows(run.jobs.view("workload")[seg_job], adjustments[:, 0].astype(np.int32))
    services = {service.index: float(seg_energy[workload == service.index].sum())
                for service in run.services.services}
    del workload, seg_energy
    cluster_steps = _sum_of_steps(all_times, all_values)
    peak = float(cluster_steps[1].max()) if cluster_steps[1].size else 0.0
    return EnergyAccount(sites, job_energy, job_carbon, job_cost, services, peak, cluster_steps)


def _rows(segment_rows: np.ndarray, correction_rows: np.ndarray) -> np.ndarray:
    """A column of the segment log followed by the power corrections' (the log's own
    column, not a copy, when there are none)."""
    if correction_rows.shape[0] == 0:
        return segment_rows
    return np.concatenate([segment_rows, correction_rows.astype(segment_rows.dtype)])


def _sum_of_steps(times: list[np.ndarray],
                  deltas: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The sum of step functions given by their change times and changes, as (times,
    values) with one row per distinct time."""
    at = np.concatenate(times) if times else np.zeros(0)
    order = np.argsort(at, kind="stable")
    at = at[order]
    total = (np.concatenate(deltas) if deltas else np.zeros(0))[order]
    del order
    np.cumsum(total, out=total)
    last = np.append(at[1:] != at[:-1], True) if at.size else np.zeros(0, bool)
    return at[last], total[last]


def site_series(run: RunRecord, energy: EnergyAccount, grid: np.ndarray) -> dict[str, np.ndarray]:
    """Time-series columns: facility power (mean and highest instant), cap, carbon
    intensity, price and emissions per site, as means over each step of ``grid``."""
    out: dict[str, np.ndarray] = {}
    widths = np.diff(grid)
    for s, name in enumerate(run.cluster.site_names):
        times, values = energy.sites[s].steps
        ends = np.append(times[1:], grid[-1])
        mean_w = step_means(times, ends, values, grid)
        out[f"facility_power_mw[{name}]"] = mean_w / 1e6
        # The highest instant of each step too: the peak a mean hides (one definition of
        # peak power, the summary's, is the maximum of this column).
        out[f"facility_power_peak_mw[{name}]"] = step_function_maxima(times, values, grid) / 1e6
        cap_times, cap_values = cap_steps(run, s, float(grid[-1]))
        if np.isfinite(cap_values).any():  # the cap in force at each step's start
            at = cap_values[np.searchsorted(cap_times, grid[:-1], side="right") - 1]
            out[f"power_cap_mw[{name}]"] = np.where(np.isfinite(at), at / 1e6, np.nan)
        signal = run.carbon[s]
        if signal is not None:
            intensity = signal.integrals(grid[:-1], grid[1:]) / widths
            out[f"carbon_g_per_kwh[{name}]"] = intensity
            out[f"emissions_t_per_h[{name}]"] = mean_w * intensity / J_PER_KWH * 3600 / 1e6
        price = run.price[s]
        if price is not None:
            out[f"price_eur_per_mwh[{name}]"] = price.integrals(grid[:-1], grid[1:]) / widths
    return out


def cluster_peak_series(energy: EnergyAccount, grid: np.ndarray) -> np.ndarray:
    """The whole cluster's highest facility power (MW) within each step of ``grid``: its
    maximum is the summary's ``peak_facility_power_mw`` (same step function, same floats)."""
    times, values = energy.cluster_steps
    return step_function_maxima(times, values, grid) / 1e6
