"""Build-out timeline: when each node group is in service, and the GPUs online over time.

A node group serves from ``online`` (default 0) to ``offline`` (default never). Capacity is
a step function of time known from the scenario alone, so utilization's denominator (GPU-
seconds available) is computed here, not recorded by the run. Nodes down for repair still
count as available, as without a timeline.
"""

from __future__ import annotations

import math

import numpy as np

from scheduler.scenario import Scenario


def group_windows(scenario: Scenario) -> np.ndarray:
    """``(n_groups, 2)`` array of [online, offline) per node group, in cluster group order."""
    rows = [(g.online or 0.0, g.offline if g.offline is not None else math.inf)
            for site in scenario.sites for g in site.nodes]
    return np.array(rows, dtype=np.float64).reshape(-1, 2)


def has_timeline(scenario: Scenario) -> bool:
    """Does any node group come online after 0 or go offline?"""
    return any(g.online or g.offline is not None for site in scenario.sites for g in site.nodes)


def online_gpu_seconds(windows: np.ndarray, group_gpus: np.ndarray, start: float,
                       end: float) -> np.ndarray:
    """GPU-seconds each group is in service within ``[start, end)``."""
    overlap = np.minimum(windows[:, 1], end) - np.maximum(windows[:, 0], start)
    return group_gpus * np.clip(overlap, 0.0, None)


def online_gpus_steps(windows: np.ndarray, group_gpus: np.ndarray,
                      grid: np.ndarray) -> np.ndarray:
    """Mean GPUs online in each step ``[grid[i], grid[i+1])`` per group: ``(n_groups, steps)``."""
    lo, hi = grid[:-1], grid[1:]
    overlap = (np.minimum(windows[:, 1:2], hi) - np.maximum(windows[:, 0:1], lo))
    width = np.where(hi > lo, hi - lo, 1.0)
    return group_gpus[:, None] * np.clip(overlap, 0.0, None) / width


def out_of_service_power(windows: np.ndarray, group_site: np.ndarray, idle_facility_w: np.ndarray,
                         site: int, period: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segments (start, end, watts) of negative power that remove the idle draw of ``site``'s
    groups while out of service (before ``online``, from ``offline``) within ``[0, period)``:
    a group not yet built, or retired, draws nothing."""
    starts, ends, watts = [], [], []
    for g in np.flatnonzero(group_site == site).tolist():
        online, offline = windows[g]
        for lo, hi in ((0.0, min(online, period)), (offline, period)):
            if hi > lo:
                starts.append(lo)
                ends.append(hi)
                watts.append(-float(idle_facility_w[g]))
    return np.array(starts), np.array(ends), np.array(watts)
