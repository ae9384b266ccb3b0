"""A site's power cap by date: a table of steps turned into cap windows of the power model.

``power_cap: [{from: 2026-01-01, cap: 100MW}, {from: 2028-01-01, cap: 240MW}]`` is one
hold-type window per step, ``[from_i, from_{i+1})`` (the last one open-ended; dates before the scenario's start count
from time 0, and a step superseded before it is dropped), through the
same mechanism as demand-response windows (:class:`scheduler.power.CapWindow`): at each step
the cap in force changes and a scheduling cycle runs. Before the first ``from`` the site has
no cap. Jobs running when a cap drops go on (hold): new starts are held until the site is
under its cap again (``time_over_cap_s`` counts the time over it), as when a group comes
online near the cap. A step's cap must cover the idle draw of the site's groups in service
at any instant of the step (checked on load).
"""

from __future__ import annotations

import math

import numpy as np

from scheduler.errors import Problem
from scheduler.scenario import Scenario
from scheduler.timeline import ServiceWindows, idle_in_service_w


def cap_steps_of(site_cap: object) -> list[tuple[int, float, float, float]]:
    """(index in the table, start, end, cap watts) of each step of a cap table in force at
    some time from 0 (empty for a scalar or no cap)."""
    if not isinstance(site_cap, list):
        return []
    starts = [max(0.0, step.start) for step in site_cap]  # before start: from time 0
    ends = [*starts[1:], math.inf]
    return [(i, lo, hi, step.cap)
            for i, (lo, hi, step) in enumerate(zip(starts, ends, site_cap, strict=True))
            if hi > lo]  # a step superseded before the start is never in force


def check_cap_tables(scenario: Scenario, windows: ServiceWindows, group_idle_it_w: np.ndarray,
                     group_site: np.ndarray, pue: np.ndarray) -> list[Problem]:
    """One problem per cap step below the idle facility power of the groups then in service."""
    problems = []
    for s, site in enumerate(scenario.sites):
        for i, start, end, cap in cap_steps_of(site.power_cap):
            idle = idle_in_service_w(windows, group_idle_it_w, group_site, s, start, end)
            if idle * pue[s] > cap:
                problems.append(Problem(
                    f"sites.{s}.power_cap.{i}.cap",
                    f"{cap / 1e6:g} MW is below the idle facility power "
                    f"{idle * pue[s] / 1e6:.4g} MW of the site's groups in service during "
                    f"this step"))
    return problems
