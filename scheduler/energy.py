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
    """Per-site accounting and per-row figures: the segment log's rows, then the power
    corrections of inference replicas by load (``job`` says whose each row is: -1 for the
    corrections, which belong to a service, ``workload``)."""

    sites: list[SiteEnergy]
    job: np.ndarray
    workload: np.ndarray
    segment_energy_j: np.ndarray
    segment_carbon_g: np.ndarray
    segment_cost_eur: np.ndarray
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
    seg_job = seg.view("job")
    job = np.concatenate([seg_job, np.full(adjustments.shape[0], -1, dtype=np.int64)])
    workload = np.concatenate([run.jobs.view("workload")[seg_job],
                               adjustments[:, 0].astype(np.int64)])
    site_of = np.concatenate([seg.view("site"), adjustments[:, 1].astype(np.int64)])
    start = np.concatenate([seg.view("start_s"), adjustments[:, 2]])
    end = np.minimum(np.concatenate([seg.view("end_s"), adjustments[:, 3]]), period)
    watts = np.concatenate([seg.view("power_w"), adjustments[:, 4]])
    power = run.power
    sites = []
    all_times, all_values = [], []
    seg_carbon = np.zeros(job.shape[0])
    seg_cost = np.zeros(job.shape[0])
    timeline = group_windows(run.scenario) if has_timeline(run.scenario) else None
    for s in range(len(run.cluster.site_names)):
        mask = site_of == s
        base_facility = float(power.base_it_w[s] * power.pue[s])
        if timeline is None:
            times, values = power_steps(start[mask], end[mask], watts[mask], base_facility)
        else:  # groups out of service draw nothing (scheduler.timeline)
            off = out_of_service_power(timeline, run.cluster.group_site,
                                       power.group_idle_it_w * power.pue[s], s, period)
            times, values = power_steps(np.concatenate([start[mask], off[0]]),
                                        np.concatenate([end[mask], off[1]]),
                                        np.concatenate([watts[mask], off[2]]), base_facility)
        inside = times < period
        times, values = times[inside], values[inside]
        widths = np.diff(np.append(times, period))
        facility_j = float(np.dot(values, widths))
        carbon_signal, price_signal = run.carbon[s], run.price[s]
        carbon = _integral(carbon_signal, times, values, period, J_PER_KWH)
        cost = _integral(price_signal, times, values, period, J_PER_MWH)
        if carbon_signal is not None:
            seg_carbon[mask] = watts[mask] * carbon_signal.integrals(start[mask], end[mask]) / J_PER_KWH
        if price_signal is not None:
            seg_cost[mask] = watts[mask] * price_signal.integrals(start[mask], end[mask]) / J_PER_MWH
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
    times = np.concatenate(all_times) if all_times else np.zeros(0)
    deltas = np.concatenate(all_values) if all_values else np.zeros(0)
    order = np.argsort(times, kind="stable")
    total = np.cumsum(deltas[order])
    last = np.append(times[order][1:] != times[order][:-1], True) if times.size else np.zeros(0, bool)
    peak = float(total[last].max()) if total.size else 0.0
    seg_energy = watts * np.clip(end - start, 0, None)
    return EnergyAccount(sites, job, workload, seg_energy, seg_carbon, seg_cost, peak,
                         (times[order][last], total[last]))


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
