"""The build-out timeline at run time: node groups entering and leaving service.

Before its ``online`` time a group's nodes are down, through the same machinery as failed
nodes (:meth:`Cluster.set_down`), with ``online`` as their expected return so EASY
reservations count on them. At ``offline`` the jobs running on the group are preempted
(they checkpoint as on any preemption and go back to their queue) and its nodes are retired:
taken down for good, a pending repair included. A group out of service draws no idle power:
its site's power budget leaves it out. Started by
:func:`scheduler.simulation.build_engine`; a scenario without a timeline starts nothing.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from scheduler.timeline import group_windows, has_timeline

ONLINE, OFFLINE = 0, 1


def group_nodes(cluster: Any, group: int) -> range:
    """Node ids of ``group`` (nodes are numbered group after group)."""
    first = int(np.sum(cluster.group_count[:group]))
    return range(first, first + int(cluster.group_count[group]))


def start_timeline(engine: Any) -> None:
    """Take not-yet-online groups down now and schedule every later edge (before the run)."""
    scenario = engine.scenario
    if not has_timeline(scenario):
        return
    windows = group_windows(scenario)
    edges: list[tuple[float, int, int]] = []
    for group, (online, offline) in enumerate(windows.tolist()):
        if online > 0:
            for node in group_nodes(engine.cluster, group):
                engine.cluster.set_down(node, online)
            _shift_idle(engine, group, -1.0)
            edges.append((online, ONLINE, group))
        if offline < np.inf:
            edges.append((offline, OFFLINE, group))
    # At a tie, groups come online before others go offline (a like-for-like swap at one
    # instant never leaves the jobs without capacity).
    engine.env.process(_edges(engine, sorted(edges)))


def _edges(engine: Any, edges: list[tuple[float, int, int]]) -> Generator[simpy.Event]:
    env = engine.env
    for when, kind, group in edges:
        if when > env.now:
            yield env.timeout(when - env.now)
        engine.events += 1
        if kind == ONLINE:
            for node in group_nodes(engine.cluster, group):
                engine.cluster.set_up(node)
            _shift_idle(engine, group, 1.0)
        else:
            decommission(engine, group)
        engine.wake_at(env.now)


def decommission(engine: Any, group: int) -> None:
    """Preempt the jobs running on ``group``, then retire its nodes."""
    victims = sorted(job for job, segment in engine.running.items()
                     if segment.placement.group == group)
    engine.preempt(victims)
    cluster = engine.cluster
    for node in group_nodes(cluster, group):
        cluster.retired.add(node)
        if cluster.is_up(node):
            cluster.set_down(node)
        cluster.repairs.pop(node, None)
    _shift_idle(engine, group, -1.0)


def _shift_idle(engine: Any, group: int, sign: float) -> None:
    """Add (sign 1) or remove (-1) the group's idle draw from its site's power budget."""
    site = int(engine.cluster.group_site[group])
    engine.budget.shift_base(site, sign * float(engine.power.group_idle_it_w[group]))
