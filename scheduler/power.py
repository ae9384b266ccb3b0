"""Power model: IT and facility power per site, live during a run and integrated after it.

IT power of a node = ``overhead_w`` + for each GPU ``busy_w`` while a job runs on it and
``idle_w`` otherwise (CONTRACT.md). So a site draws a constant *base* (every node idle) plus,
for each running job, ``gpus x (busy_w - idle_w) x power_factor`` (training: factor 1).
Facility power = IT power x PUE. Energy integrates these step functions exactly.

Caps: a site's facility power never exceeds its cap in force (``power_cap``, lowered in
demand-response windows, or a table by date: :mod:`scheduler.cap_table`). The engine keeps each site's *budget* (cap - facility power now)
and the placement walk checks every start against it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scheduler.cap_table import cap_steps_of, check_cap_tables
from scheduler.cluster import Cluster
from scheduler.errors import InputError, Problem
from scheduler.scenario import Scenario
from scheduler.timeline import group_windows

KIND_POWER_FACTOR = {"training": 1.0, "inference": 0.8}
"""Share of (busy - idle) power a GPU is reserved at per job kind. Inference runs GPUs below
busy power (0.5-0.7 x TDP, POLCA): a replica reserves its full-load figure, 0.3 + 0.5 = 0.8
of the idle-to-busy range, and the service accounting then charges what its load drew
(scheduler.services); a trace's inference job is charged the reservation."""


@dataclass(frozen=True)
class CapWindow:
    site: int
    start: float
    end: float
    cap_w: float
    preempt: bool


class PowerModel:
    """Per-site base power, per-type extra power of a busy GPU, caps and their windows."""

    def __init__(self, scenario: Scenario, cluster: Cluster) -> None:
        n_sites = len(cluster.site_names)
        self.pue = cluster.site_pue.copy()
        types = cluster.gpu_types
        self.busy_w = np.array([t.busy_w for t in types])
        self.idle_w = np.array([t.idle_w for t in types])
        self.extra_w_per_gpu = self.busy_w - self.idle_w
        """Added IT watts per GPU running a training job, by GPU type."""
        group_idle = (cluster.group_overhead_w
                      + cluster.group_size * self.idle_w[cluster.group_type]) * cluster.group_count
        self.group_idle_it_w = group_idle
        """IT watts of each node group with every GPU idle (node overheads included)."""
        self.base_it_w = np.bincount(cluster.group_site, weights=group_idle,
                                     minlength=n_sites).astype(np.float64)
        """IT watts of each site with every GPU idle (node overheads included)."""
        self.cap_w = np.array([site.power_cap if isinstance(site.power_cap, float) else math.inf
                               for site in scenario.sites], dtype=np.float64)
        """Constant cap per site (inf: none, or a cap table, whose steps are windows)."""
        # Dates before the scenario's start are negative: a window is clipped to time 0.
        self.windows = [CapWindow(s, max(0.0, w.start), w.end, w.power_cap,
                                  w.action == "preempt")
                        for s, site in enumerate(scenario.sites) for w in site.demand_response
                        if w.end > 0]
        self.windows += [CapWindow(s, start, end, cap, False)
                         for s, site in enumerate(scenario.sites)
                         for _, start, end, cap in cap_steps_of(site.power_cap)]
        self.enforced = bool(np.isfinite(self.cap_w).any() or self.windows)
        self._check(scenario, cluster.group_site)

    def _check(self, scenario: Scenario, group_site: np.ndarray) -> None:
        problems = []
        for s, site in enumerate(scenario.sites):
            idle_facility = self.base_it_w[s] * self.pue[s]
            if isinstance(site.power_cap, float) and idle_facility > site.power_cap:
                problems.append(Problem(f"sites.{s}.power_cap",
                                        f"{site.power_cap / 1e6:g} MW is below the site's idle "
                                        f"facility power {idle_facility / 1e6:.4g} MW"))
            for w, window in enumerate(site.demand_response):
                if idle_facility > window.power_cap:
                    problems.append(Problem(
                        f"sites.{s}.demand_response.{w}.power_cap",
                        f"{window.power_cap / 1e6:g} MW is below the site's idle facility "
                        f"power {idle_facility / 1e6:.4g} MW"))
        if any(isinstance(site.power_cap, list) for site in scenario.sites):
            problems += check_cap_tables(scenario, group_windows(scenario), self.group_idle_it_w,
                                         group_site, self.pue)
        if problems:
            raise InputError(problems)

    def cap_edges(self) -> list[float]:
        """Every instant the cap in force may change (window edges), in order."""
        return sorted({t for w in self.windows for t in (w.start, w.end) if t < math.inf})

    def cap_at(self, site: int, t: float) -> float:
        """Facility cap in force at ``t`` (the lowest of overlapping windows)."""
        cap = float(self.cap_w[site])
        for window in self.windows:
            if window.site == site and window.start <= t < window.end:
                cap = min(cap, window.cap_w)
        return cap

    def job_facility_w(self, kind: str, gpus: int, gpu_type: np.ndarray,
                       site: np.ndarray) -> np.ndarray:
        """Facility watts a job of ``gpus`` GPUs adds while it runs, for each (GPU type,
        site) pair given (vectorised: the engine asks once per job class and column)."""
        return gpus * self.extra_w_per_gpu[gpu_type] * KIND_POWER_FACTOR[kind] * self.pue[site]


def power_steps(starts: np.ndarray, ends: np.ndarray, watts: np.ndarray,
                base: float) -> tuple[np.ndarray, np.ndarray]:
    """Step function ``base + sum of watts over running segments``: (times, values)."""
    times = np.concatenate([[0.0], starts, ends])
    order = np.argsort(times, kind="stable")
    times = times[order]
    deltas = np.concatenate([[base], watts, -watts])[order]
    del order  # a year's segments: keep the temporaries few
    values = np.cumsum(deltas, out=deltas)
    # Keep the last value at each distinct time (equal times: the last one wins).
    last = np.append(times[1:] != times[:-1], True)
    return times[last], values[last]


def peak_of_steps(values: np.ndarray) -> float:
    return float(values.max()) if values.shape[0] else 0.0


def time_at_or_above(times: np.ndarray, values: np.ndarray, level: np.ndarray | float,
                     end: float) -> float:
    """Seconds in ``[0, end)`` where the step function is >= ``level`` (scalar or per step)."""
    widths = np.diff(np.append(times, end))
    widths = np.clip(widths, 0, None)
    return float(widths[values >= level].sum())
