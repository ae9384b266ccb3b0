"""The build-out timeline at run time: node groups entering and leaving service.

Before its ``online`` time a group's nodes (a ramp's tranche: its share of them) are down, through the same machinery as failed
nodes (:meth:`Cluster.set_down`), with ``online`` as their expected return so EASY
reservations count on them. At ``offline`` the jobs running on the group are preempted
(they checkpoint as on any preemption and go back to their queue) and its nodes are retired:
taken down for good, a pending repair included. A group out of service draws no idle power:
its site's power budget leaves it out. Started by
:func:`scheduler.simulation.build_engine`; a scenario without a timeline starts nothing.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from scheduler.timeline import ServiceWindows, group_windows, has_timeline

ONLINE, OFFLINE = 0, 1


def group_nodes(cluster: Any, group: int) -> range:
    """Node ids of ``group`` (nodes are numbered group after group)."""
    first = int(np.sum(cluster.group_count[:group]))
    return range(first, first + int(cluster.group_count[group]))


def tranche_nodes(cluster: Any, windows: ServiceWindows, tranche: int) -> range:
    """Node ids of a tranche of a group (:class:`ServiceWindows`)."""
    first = group_nodes(cluster, int(windows.group[tranche])).start + int(windows.first[tranche])
    return range(first, first + int(windows.nodes[tranche]))


def start_timeline(engine: Any) -> None:
    """Take not-yet-online tranches down now and schedule every later edge (before the run)."""
    scenario = engine.scenario
    if not has_timeline(scenario):
        return
    windows = group_windows(scenario)
    edges: list[tuple[float, int, int]] = []
    offline_of: dict[int, float] = {}
    for tranche, (online, offline) in enumerate(windows.window.tolist()):
        group = int(windows.group[tranche])
        never = online >= offline  # due at or after the group's offline: never serves
        if online > 0 or never:
            for node in tranche_nodes(engine.cluster, windows, tranche):
                engine.cluster.set_down(node, math.inf if never else online)
            _shift_idle(engine, group, -float(windows.share[tranche]))
            if not never:
                edges.append((online, ONLINE, tranche))
        if offline < np.inf:
            offline_of[group] = offline
    edges += [(offline, OFFLINE, group) for group, offline in offline_of.items()]
    # At a tie, groups come online before others go offline (a like-for-like swap at one
    # instant never leaves the jobs without capacity).
    engine.env.process(_edges(engine, windows, sorted(edges)))


def _edges(engine: Any, windows: ServiceWindows,
           edges: list[tuple[float, int, int]]) -> Generator[simpy.Event]:
    env = engine.env
    for when, kind, index in edges:
        if when > env.now:
            yield env.timeout(when - env.now)
        engine.events += 1
        if kind == ONLINE:
            for node in tranche_nodes(engine.cluster, windows, index):
                engine.cluster.set_up(node)
            _shift_idle(engine, int(windows.group[index]), float(windows.share[index]))
        else:
            decommission(engine, index, _served_share(windows, index))
        engine.wake_at(env.now)


def _served_share(windows: ServiceWindows, group: int) -> float:
    """Share of ``group``'s nodes in service just before its ``offline``."""
    mine = windows.group == group
    served = windows.window[mine, 0] < windows.window[mine, 1]
    return float(windows.share[mine][served].sum())


def decommission(engine: Any, group: int, share: float = 1.0) -> None:
    """Preempt the jobs running on ``group``, then retire its nodes (``share`` of them were
    in service, drawing idle power)."""
    victims = sorted(job for job, segment in engine.running.items()
                     if segment.placement.group == group)
    engine.preempt(victims)
    cluster = engine.cluster
    for node in group_nodes(cluster, group):
        cluster.retired.add(node)
        if cluster.is_up(node):
            cluster.set_down(node)
        cluster.repairs.pop(node, None)
    _shift_idle(engine, group, -share)


def _shift_idle(engine: Any, group: int, share: float) -> None:
    """Add (``share`` > 0) or remove (< 0) that share of the group's idle draw from its
    site's power budget."""
    site = int(engine.cluster.group_site[group])
    engine.budget.shift_base(site, share * float(engine.power.group_idle_it_w[group]))
