"""Small deciders of a scheduling cycle, each over a read-only view of the run:

* :class:`Quotas`: may a tenant's job start without exceeding its GPU quota?
* :class:`EasyReservation`: when would the blocked head of the queue fit (EASY), and may a
  job that runs past that time start anyway?
* :func:`victims_to_preempt`: which running jobs to stop so that a job fits?

EASY and preemption share one what-if (:func:`what_if_capacity`): a scratch copy of capacity
in which running jobs are released one by one, asking "would the job fit then?".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping

import numpy as np

from gpu import CapacityState, JobShape
from gpu.framework import pick
from gpu.walk import STARTS
from scheduler.cluster import Cluster, Placement, ReleaseSimulator
from scheduler.runtime.reasons import Reason
from scheduler.runtime.segment import Segment


class Quotas:
    """GPUs held per tenant against the scenario's ``policy.quotas`` (by tenant name)."""

    def __init__(self, limits: Mapping[str, int], tenant_names: list[str],
                 tenant_of: Callable[[], np.ndarray], gpus_of: Callable[[], np.ndarray]) -> None:
        self.limits = dict(limits)
        self.tenant_names = tenant_names
        self._tenant_of = tenant_of
        self._gpus_of = gpus_of
        self.busy: dict[int, int] = {}

    def __bool__(self) -> bool:
        return bool(self.limits)

    def admit(self, job: int) -> int:
        """-1 when the job's tenant stays within its quota, else :attr:`Reason.QUOTA`."""
        if not self.limits:
            return STARTS
        tenant = int(self._tenant_of()[job])
        limit = self.limits.get(self.tenant_names[tenant])
        over = limit is not None and self.busy.get(tenant, 0) + int(self._gpus_of()[job]) > limit
        return Reason.QUOTA if over else STARTS

    def started(self, tenant: int, gpus: int) -> None:
        if self.limits:
            self.busy[tenant] = self.busy.get(tenant, 0) + gpus

    def stopped(self, tenant: int, gpus: int) -> None:
        if self.limits:
            self.busy[tenant] -= gpus


def what_if_capacity(cluster: Cluster, capacity: CapacityState,
                     budget: np.ndarray) -> tuple[ReleaseSimulator, np.ndarray | None,
                                                  CapacityState]:
    """A scratch copy of capacity (node counts and power budgets) to release running jobs in,
    without touching the cluster."""
    release = ReleaseSimulator(cluster)
    scratch_budget = None if capacity.site_budget_w is None else budget.copy()
    state = CapacityState(release.count, capacity.group, capacity.site, capacity.gpu_type,
                          capacity.gpus_per_node, capacity.free, capacity.full_column,
                          capacity.column_of, scratch_budget)
    return release, scratch_budget, state


def releases_until_fit(segments: Iterable[Segment], keys: np.ndarray, shape: JobShape,
                       cluster: Cluster, capacity: CapacityState,
                       budget: np.ndarray) -> int:
    """How many of ``segments`` (in order) must stop before a job of ``shape`` fits; -1 if
    it does not fit even with all of them stopped."""
    release, scratch_budget, state = what_if_capacity(cluster, capacity, budget)
    for count, segment in enumerate(segments, start=1):
        release.release(segment.placement)
        if scratch_budget is not None:
            scratch_budget[segment.placement.site] += segment.power_w
        if pick(keys, state, shape) >= 0:
            return count
    return -1


class EasyReservation:
    """EASY backfilling's reservation of the blocked head (Lifka; Mu'alem and Feitelson 2001).

    The reservation (*shadow time*) is the earliest estimated end of running jobs after which
    the head fits. It is computed when a job first blocks at the head and kept while that job
    stays there and ``epoch`` stays: ends only come earlier than estimated by then and
    backfilled jobs leave the head room, so the promise holds. ``epoch`` changes whenever
    capacity changes other than by starts and finishes (preemptions, failures, repairs,
    demand-response edges), which can move the promise either way.

    When the head does not fit even with every running job gone (nodes down, a lowered power
    cap), there is no promise: nothing is cached, and the backfill horizon is ``regrowth``,
    the earliest time capacity could come back (a repair, a window edge), when the
    reservation is computed afresh; inf (no horizon) when no such time is known.
    """

    def __init__(self) -> None:
        self._cached: tuple[int, Hashable, float] | None = None
        self.promised = False
        """Does the last :meth:`time` hold a promise (the head fits then)?"""
        self._head: tuple[np.ndarray, JobShape, float] | None = None

    def time(self, head: int, keys: np.ndarray, shape: JobShape, now: float,
             running: Mapping[int, Segment], epoch: Hashable, cluster: Cluster,
             capacity: CapacityState, budget: np.ndarray, regrowth: float = math.inf) -> float:
        """The earliest time the head fits, releasing running jobs in order of their
        estimated ends (power budgets released with them); when it never fits on the
        capacity there is now, ``regrowth`` (and :attr:`promised` is False)."""
        cached = self._cached
        if cached is not None and cached[0] == head and cached[1] == epoch:
            shadow = cached[2]
        else:
            order = sorted((s.estimated_end, j) for j, s in running.items())
            count = releases_until_fit((running[j] for _, j in order), keys, shape, cluster,
                                       capacity, budget)
            if count < 0:  # no promise: never cached, recomputed each cycle
                self.promised, self._head = False, None
                return regrowth
            shadow = max(order[count - 1][0], now)
            self._cached = (head, epoch, shadow)
        self.promised, self._head = True, (keys, shape, shadow)
        return shadow

    def leaves_room(self, placement: Placement, power_w: float,
                    running: Mapping[int, Segment], cluster: Cluster,
                    capacity: CapacityState, budget: np.ndarray) -> bool:
        """Classic EASY's "extra" nodes: would the head still fit at its reservation if a job
        took ``placement`` now (drawing ``power_w``) and ran past it? A what-if on the exact
        nodes (not node classes: nodes of one class now may differ by then), releasing the
        running jobs expected to end by the reservation. False without a promise."""
        if not self.promised or self._head is None:
            return False
        keys, shape, shadow = self._head
        release, scratch_budget, state = what_if_capacity(cluster, capacity, budget)
        release.take(placement)
        if scratch_budget is not None:
            scratch_budget[placement.site] -= power_w
        for segment in running.values():
            if segment.estimated_end <= shadow:
                release.release(segment.placement)
                if scratch_budget is not None:
                    scratch_budget[segment.placement.site] += segment.power_w
        return pick(keys, state, shape) >= 0


def victims_to_preempt(candidates: list[int], running: Mapping[int, Segment],
                       keys: np.ndarray, shape: JobShape, cluster: Cluster,
                       capacity: CapacityState, budget: np.ndarray) -> list[int]:
    """The shortest prefix of ``candidates`` (running jobs, in victim order) whose stop makes
    room for a job of ``shape``; empty when even stopping all of them would not."""
    if not candidates:
        return []
    count = releases_until_fit((running[j] for j in candidates), keys, shape, cluster,
                               capacity, budget)
    return candidates[:count] if count > 0 else []
