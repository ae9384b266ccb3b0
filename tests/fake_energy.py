"""Energy columns and summary keys as the energy model will write them (CONTRACT.md), made up
from a run's utilization, so that the power and carbon figures and report sections can be
tested before (and independently of) the energy model."""

from __future__ import annotations

import numpy as np

from scheduler.plots import site_columns


def add_energy(result, cap_factor: float = 1.3):
    """Add ``facility_power_mw[<site>]``, ``power_cap_mw[<site>]``, ``carbon_g_per_kwh[<site>]``
    and ``price_eur_per_mwh[<site>]`` columns and the energy summary keys, in place."""
    ts = result.timeseries
    t = ts["time_s"].to_numpy()
    hours = np.diff(np.append(t, result.summary["simulated_time_s"])) / 3600
    total_mw = np.zeros(len(t))
    energy = carbon = 0.0
    for k, (site, column) in enumerate(site_columns(ts, "gpu_utilization").items()):
        gpus = result.summary["sites"][site]["gpus"]
        mw = gpus * (0.15 + 0.85 * ts[column].to_numpy()) * 1.2e-3 * 1.2  # 1.2 kW/GPU, PUE 1.2
        g_per_kwh = 40 + 25 * np.sin(2 * np.pi * t / 86400 + k)
        ts[f"facility_power_mw[{site}]"] = mw
        ts[f"power_cap_mw[{site}]"] = np.full(len(t), max(gpus * 1.2e-3 * 1.2 * cap_factor, 0.1))
        ts[f"carbon_g_per_kwh[{site}]"] = g_per_kwh
        ts[f"price_eur_per_mwh[{site}]"] = 60 + 20 * np.sin(2 * np.pi * t / 86400)
        site_mwh = float(np.sum(mw * hours))
        site_t = float(np.sum(mw * hours * g_per_kwh) / 1000)
        result.summary["sites"][site].update(peak_facility_power_mw=float(mw.max()),
                                             energy_facility_mwh=site_mwh, carbon_t=site_t)
        total_mw += mw
        energy += site_mwh
        carbon += site_t
    result.summary.update(energy_it_mwh=energy / 1.2, energy_facility_mwh=energy, carbon_t=carbon,
                          energy_cost_eur=energy * 60, peak_facility_power_mw=float(total_mw.max()))
    return result
