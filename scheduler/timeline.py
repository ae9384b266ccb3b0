"""Build-out timeline: when each node group is in service, and the GPUs online over time.

A node group serves from ``online`` (default 0) to ``offline`` (default never); with a
``ramp`` its nodes enter service in monthly tranches from ``online``. Each tranche is a
share of its group's nodes with its own service window, so capacity is a step function of
time known from the scenario alone, and utilization's denominator (GPU-seconds available)
is computed here, not recorded by the run. Nodes down for repair still count as available,
as without a timeline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scheduler.scenario import NodeGroup, Scenario, Site
from scheduler.timeline_specs import MONTH_S
from scheduler.units import format_time


@dataclass(frozen=True)
class ServiceWindows:
    """Tranches of node groups with their service windows (one tranche per group without a
    ramp). Tranche ``i`` is nodes ``[first[i], first[i] + nodes[i])`` of group ``group[i]``
    (numbered within the group), in service over ``[window[i, 0], window[i, 1])``; a tranche
    due at or after its group's ``offline`` never serves (an empty window at ``offline``)."""

    group: np.ndarray
    first: np.ndarray
    nodes: np.ndarray
    share: np.ndarray
    """``nodes`` over the group's node count."""
    window: np.ndarray
    n_groups: int


def ramp_tranches(count: int, fraction: float) -> list[int]:
    """Nodes in service after each monthly tranche: ceil(k x fraction x count), capped at
    ``count``, until all are in (the last tranche takes what remains)."""
    online, out, k = 0, [], 0
    while online < count:
        k += 1
        # The 1e-9 keeps 0.25 x 8 x 4 = 8 from rounding up to 9 through float error.
        online = min(count, math.ceil(k * fraction * count - 1e-9))
        out.append(online)
    return out


def _tranches(group: NodeGroup) -> list[tuple[int, int, float]]:
    """(first node, nodes, online) of each tranche of ``group``."""
    online = group.online or 0.0
    if group.ramp is None:
        return [(0, group.count, online)]
    cumulative = ramp_tranches(group.count, group.ramp.fraction_per_month)
    starts = [0, *cumulative[:-1]]
    return [(lo, hi - lo, online + k * MONTH_S)
            for k, (lo, hi) in enumerate(zip(starts, cumulative, strict=True)) if hi > lo]


def group_windows(scenario: Scenario) -> ServiceWindows:
    """Every tranche of every node group, in cluster group order."""
    groups, firsts, nodes, shares, rows = [], [], [], [], []
    index = 0
    for site in scenario.sites:
        for g in site.nodes:
            offline = g.offline if g.offline is not None else math.inf
            for first, count, online in _tranches(g):
                groups.append(index)
                firsts.append(first)
                nodes.append(count)
                shares.append(count / g.count)
                # Clipped to time 0: dates before the scenario's start are negative.
                rows.append((max(0.0, min(online, offline)), max(0.0, offline)))
            index += 1
    return ServiceWindows(np.array(groups, dtype=np.int64), np.array(firsts, dtype=np.int64),
                          np.array(nodes, dtype=np.int64), np.array(shares, dtype=np.float64),
                          np.array(rows, dtype=np.float64).reshape(-1, 2), index)


def has_timeline(scenario: Scenario) -> bool:
    """Does any node group come online after 0, go offline or ramp?"""
    return any((g.online or 0.0) > 0 or g.offline is not None or g.ramp is not None
               for site in scenario.sites for g in site.nodes)


def online_gpu_seconds(windows: ServiceWindows, group_gpus: np.ndarray, start: float,
                       end: float) -> np.ndarray:
    """GPU-seconds each group is in service within ``[start, end)``."""
    overlap = np.minimum(windows.window[:, 1], end) - np.maximum(windows.window[:, 0], start)
    per_tranche = group_gpus[windows.group] * windows.share * np.clip(overlap, 0.0, None)
    return np.bincount(windows.group, weights=per_tranche, minlength=windows.n_groups)


def online_gpus_steps(windows: ServiceWindows, group_gpus: np.ndarray,
                      grid: np.ndarray) -> np.ndarray:
    """Mean GPUs online in each step ``[grid[i], grid[i+1])`` per group: ``(n_groups, steps)``."""
    lo, hi = grid[:-1], grid[1:]
    bounds = windows.window
    overlap = (np.minimum(bounds[:, 1:2], hi) - np.maximum(bounds[:, 0:1], lo))
    width = np.where(hi > lo, hi - lo, 1.0)
    per_tranche = ((group_gpus[windows.group] * windows.share)[:, None]
                   * np.clip(overlap, 0.0, None) / width)
    out = np.zeros((windows.n_groups, lo.shape[0]))
    np.add.at(out, windows.group, per_tranche)
    return out


def out_of_service_power(windows: ServiceWindows, group_site: np.ndarray,
                         idle_facility_w: np.ndarray, site: int,
                         period: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segments (start, end, watts) of negative power that remove the idle draw of ``site``'s
    tranches while out of service (before ``online``, from ``offline``) within ``[0, period)``:
    nodes not yet built, or retired, draw nothing."""
    starts, ends, watts = [], [], []
    for t in np.flatnonzero(group_site[windows.group] == site).tolist():
        online, offline = windows.window[t]
        draw = -float(idle_facility_w[windows.group[t]] * windows.share[t])
        for lo, hi in ((0.0, min(online, period)), (offline, period)):
            if hi > lo:
                starts.append(lo)
                ends.append(hi)
                watts.append(draw)
    return np.array(starts), np.array(ends), np.array(watts)


def idle_in_service_w(windows: ServiceWindows, group_idle_w: np.ndarray, group_site: np.ndarray,
                      site: int, start: float, end: float) -> float:
    """Highest idle draw of ``site``'s tranches in service at any instant of ``[start, end)``
    (a step function: its value at ``start`` and at each tranche's ``online`` inside)."""
    mine = np.flatnonzero(group_site[windows.group] == site)
    bounds = windows.window[mine]
    draw = group_idle_w[windows.group[mine]] * windows.share[mine]
    instants = [start, *(t for t in bounds[:, 0].tolist() if start < t < end)]
    return max((float(draw[(bounds[:, 0] <= t) & (t < bounds[:, 1])].sum()) for t in instants),
               default=0.0)


def _when(seconds: float, written: str | None) -> str:
    return written if written is not None else format_time(seconds)


def describe_service(group: NodeGroup) -> str:
    """`` from 2027-12-31, 25%/month until 270d``: when a group with a timeline serves
    (dates as written in the file, offsets as times)."""
    written = group._calendar
    parts = [f" {word} {_when(value, written.get(key))}"
             for word, key, value in (("from", "online", group.online),
                                      ("until", "offline", group.offline)) if value]
    if group.ramp is not None:
        ramp = f" {group.ramp.fraction_per_month:.0%}/month"
        parts.insert(1 if group.online else 0, ramp if group.online else f" from 0{ramp}")
    return "".join(parts)


def describe_cap_table(site: Site) -> str:
    """``, cap 100 MW from 2026-01-01, 240 MW from 2028-01-01`` for a cap table, else ``""``."""
    if not isinstance(site.power_cap, list):
        return ""
    steps = [f"{step.cap / 1e6:g} MW from {_when(step.start, step._calendar.get('from'))}"
             for step in site.power_cap]
    return ", cap " + ", ".join(steps)
