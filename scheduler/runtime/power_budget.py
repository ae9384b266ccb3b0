"""Site power budgets: how many facility watts each site may still add under its cap now.

budget = cap in force - (base IT watts + running jobs' extra IT watts) x PUE, recomputed from
the sums at each change (not decremented), so it never drifts. The base counts only the node
groups in service (a build-out timeline shifts it, :mod:`.timeline`). Demand-response windows change
the cap in force. When no site has a cap, ``budget`` stays +inf and nothing is checked.
"""

from __future__ import annotations

import math

import numpy as np

from scheduler.power import PowerModel


class PowerBudget:
    """Per-site extra IT power of running jobs, the cap in force, and the budget left."""

    def __init__(self, power: PowerModel) -> None:
        self.power = power
        n_sites = power.pue.shape[0]
        self.extra_it_w = np.zeros(n_sites)
        self._base_it_w: list[float] = power.base_it_w.tolist()
        self._pue: list[float] = power.pue.tolist()
        self.cap_now = power.cap_w.copy()
        self.budget = np.full(n_sites, math.inf)
        self.epoch = 0
        """Bumped at every demand-response edge (EASY recomputes its reservation)."""
        self._edges = power.cap_edges()
        self.enforced = power.enforced
        if self.enforced:
            self.refresh()

    def refresh(self, site: int | None = None) -> None:
        """Recompute the budget of ``site`` (all sites when None)."""
        if site is not None:
            self.budget[site] = self.cap_now[site] - (
                (self._base_it_w[site] + self.extra_it_w[site]) * self._pue[site])
            return
        facility = (np.array(self._base_it_w) + self.extra_it_w) * self.power.pue
        self.budget[:] = self.cap_now - facility

    def shift_base(self, site: int, it_w: float) -> None:
        """The idle draw of ``site`` changes by ``it_w`` (a node group built or retired)."""
        self._base_it_w[site] += it_w
        if self.enforced:
            self.refresh(site)
        self.epoch += 1

    def add(self, site: int, facility_w: float) -> None:
        """A segment starts at ``site`` drawing ``facility_w`` more."""
        pue = self._pue[site]
        extra = self.extra_it_w[site] + facility_w / pue
        self.extra_it_w[site] = extra
        if self.enforced:  # refresh(site), inline: this runs at every start
            self.budget[site] = self.cap_now[site] - (self._base_it_w[site] + extra) * pue

    def remove(self, site: int, facility_w: float) -> None:
        """A segment drawing ``facility_w`` stops at ``site``."""
        pue = self._pue[site]
        extra = self.extra_it_w[site] - facility_w / pue
        self.extra_it_w[site] = extra
        if self.enforced:
            self.budget[site] = self.cap_now[site] - (self._base_it_w[site] + extra) * pue

    def apply_caps_at(self, now: float) -> None:
        """Put the caps in force at ``now`` (demand-response window edges)."""
        for site in range(len(self.cap_now)):
            self.cap_now[site] = self.power.cap_at(site, now)
        self.refresh()
        self.epoch += 1

    def next_edge_after(self, now: float) -> float:
        """The next demand-response window edge after ``now`` (inf when none)."""
        return next((t for t in self._edges if t > now), math.inf)

    def facility_power_w(self, site: int) -> float:
        return float((self._base_it_w[site] + self.extra_it_w[site]) * self.power.pue[site])
