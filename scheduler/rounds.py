"""Round-based heterogeneity-aware allocation (Gavel, OSDI'20) realised by time sharing.

Every round (default 360 s, Gavel's) the active training jobs (waiting or running) and the
fleet's GPU types form an allocation LP (:mod:`scheduler.allocation`): the fraction of time
each job should spend on each type. The ledger adds ``fraction x round`` to each job's
target seconds per type and keeps the seconds it received; the round then assigns jobs to
types greedily by **deficit** (target - received, largest first), each job to one type, as
long as the type has GPUs left for it. During the round an assigned waiting job is tried
first, on its type only, and may preempt running jobs that are not assigned to where they
run (they checkpoint and requeue as modelled by ``policy.preemption``); jobs not assigned
may still start on GPUs left over (work conservation), and may be displaced at the next
round. A job that moves to another type pays the save and restart of any preemption.

This module keeps the ledger and the round's plan; :class:`scheduler.policies.GavelRounds`
is the queue policy that asks it. No SimPy here: the policy's periodic process calls
:meth:`RoundPlanner.new_round`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from scheduler.allocation import (
    Allocation,
    AllocationError,
    AllocationProblem,
    effective_throughput,
    equal_share,
    finish_time_fairness,
    grouped,
    max_min_fairness,
    min_makespan,
)


@dataclass(frozen=True)
class ActiveJobs:
    """The jobs of one round: ids, speeds per type, GPUs, and what the objectives read."""

    ids: np.ndarray
    speeds: np.ndarray
    """[jobs, types]: speed on each type (0: cannot run there)."""
    gpus: np.ndarray
    remaining_s: np.ndarray
    """Work left, in seconds at speed 1."""
    elapsed_s: np.ndarray
    """Time since arrival."""
    duration_s: np.ndarray
    """Total work, seconds at speed 1."""


def solve_round(objective: str, active: ActiveJobs, capacity: np.ndarray,
                cache: dict[bytes, Allocation] | None = None) -> Allocation:
    """The round's allocation for ``objective`` (one of :data:`allocation.OBJECTIVES`).
    Max-min fairness depends only on the groups of identical jobs and their counts: with a
    ``cache``, a round whose groups are those of the last one reuses its answer (solve 0 s)."""
    problem = AllocationProblem(active.speeds, active.gpus.astype(float), capacity)
    if objective == "max-min-fairness":
        rows, inverse = grouped(problem)
        key = b"".join(a.tobytes() for a in (rows.throughput, rows.gpus, rows.multiplicity,
                                             capacity))
        if cache is not None and key in cache:
            result = cache[key]
            return Allocation(result.fractions[inverse], result.objective, 0.0)
        result = max_min_fairness(rows)
        if cache is not None:
            cache.clear()
            cache[key] = result
        return Allocation(result.fractions[inverse], result.objective, result.solve_s)
    if objective == "min-makespan":
        return min_makespan(problem, active.remaining_s)
    equal = effective_throughput(problem, equal_share(problem))
    isolated = active.duration_s / np.maximum(equal, 1e-12)  # JCT with the equal share
    return finish_time_fairness(problem, active.elapsed_s, active.remaining_s, isolated)


@dataclass
class RoundPlanner:
    """Targets, received time and the current round's assignment (job -> GPU type)."""

    n_types: int
    objective: str = "max-min-fairness"
    round_s: float = 360.0
    target_s: dict[int, np.ndarray] = field(default_factory=dict)
    received_s: dict[int, np.ndarray] = field(default_factory=dict)
    assigned: dict[int, int] = field(default_factory=dict)
    """This round's plan: job -> GPU type index."""
    rank: dict[int, int] = field(default_factory=dict)
    """Position of each assigned job in the round's deficit order (0 first)."""
    solve_s: list[float] = field(default_factory=list)
    """Solver wall seconds of each round that solved an LP."""
    fallbacks: int = 0
    """Rounds whose LP failed (the equal share was used instead)."""
    _cache: dict[bytes, Allocation] = field(default_factory=dict)

    def credit(self, job: int, gpu_type: int, seconds: float) -> None:
        """``job`` ran ``seconds`` on ``gpu_type``."""
        received = self.received_s.setdefault(job, np.zeros(self.n_types))
        received[gpu_type] += seconds

    def new_round(self, active: ActiveJobs, capacity: np.ndarray) -> None:
        """Solve the round's LP over the active jobs, then plan the round by deficit."""
        present = capacity > 0
        live = (active.speeds[:, present] > 0).any(axis=1)
        ids = active.ids[live]
        self._forget(set(ids.tolist()))
        self.assigned, self.rank = {}, {}
        if ids.size == 0:
            return
        speeds = active.speeds[live][:, present]
        subset = ActiveJobs(ids, speeds, active.gpus[live], active.remaining_s[live],
                            active.elapsed_s[live], active.duration_s[live])
        try:
            allocation = solve_round(self.objective, subset, capacity[present], self._cache)
            fractions = allocation.fractions
            if allocation.solve_s > 0:  # 0: the last round's answer, reused
                self.solve_s.append(allocation.solve_s)
        except AllocationError as error:  # keep running: the equal share is feasible
            self.fallbacks += 1
            warnings.warn(f"gavel-rounds: {error}; this round uses the equal share",
                          RuntimeWarning, stacklevel=2)
            fractions = equal_share(AllocationProblem(speeds, subset.gpus.astype(float),
                                                      capacity[present])) * (speeds > 0)
        full = np.zeros((ids.size, self.n_types))
        full[:, present] = fractions
        self._plan(ids, full, active.gpus[live], capacity)

    def _forget(self, active: set[int]) -> None:
        for book in (self.target_s, self.received_s):
            for job in [j for j in book if j not in active]:
                del book[job]

    def _plan(self, ids: np.ndarray, fractions: np.ndarray, gpus: np.ndarray,
              capacity: np.ndarray) -> None:
        """Assign jobs to types by largest deficit first, while GPUs of the type remain."""
        zeros = np.zeros(self.n_types)
        target = np.stack([self.target_s.get(j, zeros) for j in ids.tolist()])
        target += fractions * self.round_s
        received = np.stack([self.received_s.get(j, zeros) for j in ids.tolist()])
        for row, job in enumerate(ids.tolist()):
            self.target_s[job] = target[row]
        deficit = np.where(fractions > 0, target - received, -np.inf)
        rows, types = np.nonzero(np.isfinite(deficit))
        order = np.lexsort((ids[rows], -deficit[rows, types]))  # largest deficit, then id
        free = capacity.astype(np.int64).copy()
        for k in order.tolist():
            job, gpu_type = int(ids[rows[k]]), int(types[k])
            need = int(gpus[rows[k]])
            if job in self.assigned or free[gpu_type] < need:
                continue
            free[gpu_type] -= need
            self.rank[job] = len(self.assigned)
            self.assigned[job] = gpu_type

    def may_displace(self, waiting: int, running: int, running_type: int) -> bool:
        """An assigned waiting job may stop a job not assigned to the type it runs on."""
        return waiting in self.assigned and self.assigned.get(running) != running_type

    def order(self, pending: list[int], arrival_s: np.ndarray) -> list[int]:
        """Assigned jobs first in deficit order, then the rest by arrival."""
        rank = self.rank
        late = len(rank)
        return sorted(pending, key=lambda j: (rank.get(j, late), float(arrival_s[j]), j))

