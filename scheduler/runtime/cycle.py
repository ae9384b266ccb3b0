"""The scheduling cycle as a decider: pending jobs and cluster state in, :class:`Decisions` out.

A cycle places waiting service replicas first, then walks the pending queue in the queue
policy's order through :func:`gpu.walk.walk` (the walk the property tests check), with the
rules of this module: quotas, the placement pick, preemption, EASY reservations.

Starts and preemptions are *assumed* as they are decided, the way Kubernetes' scheduler
assumes a pod on a node in its cache before binding it: the engine's :class:`CyclePort`
applies each at once, so the next pick of the same cycle, and an EASY or preemption what-if
that releases node-level placements, see it. Everything else (why each job waits,
reservations) is returned in :class:`Decisions` and written by the engine afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, cast

import numpy as np

from gpu import CapacityState
from gpu.framework import pick
from gpu.walk import STARTS, walk
from scheduler.checkpoint import CheckpointPlan, segment_end
from scheduler.cluster import Cluster
from scheduler.jobs import JobTable, Status
from scheduler.policies import QueuePolicy
from scheduler.runtime.blockers import PendingLog
from scheduler.runtime.deciders import EasyReservation, Quotas, victims_to_preempt
from scheduler.runtime.job_classes import JobClasses
from scheduler.runtime.pending import PendingQueue
from scheduler.runtime.placement_keys import PREFETCH, PlacementKeys
from scheduler.runtime.power_budget import PowerBudget
from scheduler.runtime.reasons import NO_REASON, Reason
from scheduler.runtime.segment import Segment

MAX_WALKS = 8
"""Walks of the queue in one cycle at most (see :meth:`SchedulingCycle.decide`)."""


class Decisions:
    """What one cycle decided. ``starts`` and ``preempted`` were applied as they were made
    (see the module docstring); ``waits`` and ``reservations`` are for the engine to write.
    (A plain class with slots: one is made per cycle, millions of times in a long run.)"""

    __slots__ = ("preempted", "replicas_waiting", "reservations", "starts", "waits")

    def __init__(self) -> None:
        self.starts: list[tuple[int, int]] = []
        """(job, node class) in the order they started (replicas first)."""
        self.preempted: list[int] = []
        """Running jobs stopped to make room, in the order they were stopped."""
        self.waits: dict[int, int] = {}
        """Pending job -> reason code, for every job the cycle looked at and did not start."""
        self.reservations: list[tuple[int, float]] = []
        """(job, time): EASY reservations of blocked heads."""
        self.replicas_waiting: list[int] = []
        """Replica requests still waiting after the cycle, in request order."""

    def write(self, jobs: JobTable) -> None:
        """Write why jobs wait, and the first reservation of each blocked head."""
        if self.waits:
            jobs.reason[np.fromiter(self.waits, dtype=np.int64, count=len(self.waits))] = (
                np.fromiter(self.waits.values(), dtype=np.int64, count=len(self.waits)))
        for job, shadow in self.reservations:
            if math.isnan(jobs.reservation_s[job]):
                jobs.reservation_s[job] = shadow


class CyclePort(Protocol):
    """What a cycle needs from the engine: the clock, running segments, and the two actions
    it applies at once."""

    @property
    def now(self) -> float: ...

    @property
    def running(self) -> Mapping[int, Segment]: ...

    @property
    def training_running(self) -> int:
        """How many of the running jobs are training jobs (not replicas)."""

    @property
    def interruptions(self) -> int:
        """Preemptions and failures so far (with node and cap changes, they invalidate an
        EASY reservation)."""

    def start(self, job: int, cls: int, column: int) -> None: ...

    def preempt(self, victims: list[int]) -> None:
        """Stop the victims (they checkpoint as modelled) and put them back in the queue."""


@dataclass
class CycleParts:
    """The run's parts a cycle reads (built once by the engine)."""

    jobs: JobTable
    classes: JobClasses
    keys: PlacementKeys
    pending: PendingQueue
    quotas: Quotas
    budget: PowerBudget
    cluster: Cluster
    capacity: CapacityState
    policy: QueuePolicy
    is_replica: Callable[[int], bool]
    preempts_training: Callable[[int], bool]
    """Does the service of this replica job preempt training when it does not fit?"""
    checkpoint_plan: Callable[[int], CheckpointPlan]
    """The checkpoint plan of a job's workload."""


class SchedulingCycle:
    """Decides one cycle at a time for a run (holds the EASY reservation between cycles)."""

    def __init__(self, parts: CycleParts, port: CyclePort) -> None:
        self.parts = parts
        self.port = port
        self.easy = EasyReservation()
        self._rules = _Rules(self)
        self._training: list[int] = []
        self._training_for: Decisions | None = None
        self._training_counts = (0, 0)

    def decide(self, replicas: list[int]) -> tuple[Decisions, bool]:
        """Run one cycle over the waiting ``replicas`` and the pending queue. Returns the
        decisions and whether only the head of the queue was looked at (strict order)."""
        parts = self.parts
        decisions = Decisions()
        rules = self._rules
        rules.new_cycle(decisions)
        if replicas:
            self._place_replicas(replicas, rules, decisions)
        if not parts.policy.preemptive:
            self._walk_queue(rules)  # a walk that cannot preempt: once is enough
            return decisions, parts.policy.blocking == "strict"
        # A job a walk preempted is back in the queue, behind the walk, and may fit now
        # elsewhere (on a node its preemptor could not use): walk again while walks preempt.
        # Built-in policies preempt only strictly lower ranks, so this ends; the bound guards
        # user policies whose may_preempt allows cycles (A preempts B, B preempts A).
        for _ in range(MAX_WALKS):
            before = len(decisions.preempted)
            self._walk_queue(rules)
            if len(decisions.preempted) == before:
                break
        return decisions, parts.policy.blocking == "strict"

    def _walk_queue(self, rules: _Rules) -> None:
        """One walk of the pending queue in policy order; started jobs leave the queue."""
        parts = self.parts
        policy = parts.policy
        pending = parts.pending
        order = pending.jobs
        if policy.needs_order_each_cycle and order:
            order = policy.order_pending(list(order))
        elif policy.preemptive:
            order = list(order)  # preempted jobs re-enter the queue while we walk it
        if policy.steers:  # one walk class per (job class, steered type): see _SteeredWalk
            steered = _SteeredWalk(rules, parts.jobs.job_class, policy.steer,
                                   len(parts.cluster.gpu_type_names))
            # (walk only indexes job_class by job: the view stands in for the array)
            started = walk(order, cast("Sequence[int]", steered), steered, policy.blocking,
                           policy.preemptive)
        else:
            started = walk(order, parts.jobs.job_class, rules, policy.blocking,
                           policy.preemptive, len(pending.class_count))
        if started:
            if policy.blocking == "strict" and order is pending.jobs:
                pending.remove_prefix(len(started))  # what started is a prefix of the queue
            else:
                pending.remove(set(started))

    def _place_replicas(self, replicas: list[int], rules: _Rules,
                        decisions: Decisions) -> None:
        """Replicas first, preempting training where their service allows."""
        jobs = self.parts.jobs
        for job in replicas:
            if jobs.status[job] != Status.PENDING:
                continue
            cls = int(jobs.job_class[job])
            column, reason = rules.pick(job, cls)
            if column < 0 and self.parts.preempts_training(job):
                column = rules.make_room(job, cls)
            if column < 0:
                decisions.waits[job] = reason
                decisions.replicas_waiting.append(job)
                continue
            rules.start(job, cls, column)

    def victim_candidates(self, job: int) -> list[int]:
        """Running jobs ``job`` may stop, in the order to stop them."""
        parts = self.parts
        running = self.port.running
        jobs = parts.jobs
        if parts.is_replica(job):  # replicas displace training, lowest priority first
            return sorted((j for j in running if not parts.is_replica(j)),
                          key=lambda j: (int(jobs.priority[j]), -float(jobs.start_s[j]), j))
        # The queue policy's own preemption never stops replicas.
        return parts.policy.victims(job, self._training_running())

    def _training_running(self) -> list[int]:
        """Running jobs that are not replicas, in running order; the same list object while
        the running set is the same (within a cycle it changes only by the cycle's starts
        and preemptions; a new cycle may follow any event)."""
        decisions = self._rules.decisions
        counts = (len(decisions.starts), len(decisions.preempted))
        if decisions is not self._training_for or counts != self._training_counts:
            running = self.port.running
            if self.port.training_running == len(running):
                self._training = list(running)
            else:
                is_replica = self.parts.is_replica
                self._training = [j for j in running if not is_replica(j)]
            self._training_for, self._training_counts = decisions, counts
        return self._training

    def expected_end(self, job: int, cls: int, column: int) -> float:
        """When a job started now on ``column`` is expected to end (its estimate)."""
        parts = self.parts
        jobs = parts.jobs
        now = self.port.now
        speed = float(parts.classes[cls].speed_by_type[parts.cluster.columns.gpu_type[column]])
        ratio = float(jobs.estimate_s[job] / jobs.duration_s[job])
        resumed = bool(jobs.preemptions[job] + jobs.failures[job])
        end = segment_end(now, float(jobs.remaining_s[job]), speed,
                          parts.checkpoint_plan(job), resumed)
        return now + ratio * (end - now)


class _Rules:
    """The walk's rules (see :class:`gpu.walk.WalkRules`); ``decisions`` is the current
    cycle's record."""

    def __init__(self, cycle: SchedulingCycle) -> None:
        self.cycle = cycle
        self.parts = cycle.parts
        self.port = cycle.port
        self.decisions = Decisions()
        self.admit = self.parts.quotas.admit  # bound once: asked for every job tried
        self._keys = self.parts.keys
        policy = self.parts.policy
        self._steer = policy.steer if policy.steers else None
        """The policy's GPU-type confinement of a job, when it steers."""
        self._no_room: tuple[int, int, int] | None = None
        """(class, column, starts so far) of the last job refused room beside the head, in
        the current cycle (reset by :meth:`new_cycle`)."""

    def new_cycle(self, decisions: Decisions) -> None:
        """Record into ``decisions`` from now on; forget what the last cycle learnt."""
        self.decisions = decisions
        self._no_room = None

    def _prefetch(self) -> list[int]:
        return list(self.parts.pending.head_classes(PREFETCH))

    def pick(self, job: int, cls: int) -> tuple[int, int]:
        if self._steer is not None and (gpu_type := self._steer(job)) is not None:
            column = pick(self._steered_keys(cls, gpu_type), self.parts.capacity,
                          self.parts.classes[cls].shape)
            return (column, NO_REASON) if column >= 0 else (-1, Reason.WAITING)
        keys = self._keys  # per-pick scores apply to service replicas only
        per_pick = bool(keys.dynamic_scores) and self.parts.is_replica(job)
        return keys.pick(cls, per_pick, self._prefetch)

    def _steered_keys(self, cls: int, gpu_type: int) -> np.ndarray:
        """The class's keys on ``gpu_type``'s columns only (-1 elsewhere): a policy that
        steers (``QueuePolicy.steer``) confines the job to that type."""
        keys = self._keys
        keys.compute([cls])
        on_type = self.parts.cluster.columns.gpu_type == gpu_type
        return np.where(on_type, keys.keys(cls), -1)

    def make_room(self, job: int, cls: int) -> int:
        parts = self.parts
        keys = parts.keys.keys(cls)
        if self._steer is not None and (gpu_type := self._steer(job)) is not None:
            keys = self._steered_keys(cls, gpu_type)
        shape = parts.classes[cls].shape
        victims = victims_to_preempt(self.cycle.victim_candidates(job), self.port.running,
                                     keys, shape, parts.cluster, parts.capacity,
                                     parts.budget.budget)
        if not victims:
            return -1
        self.port.preempt(victims)
        self.decisions.preempted.extend(victims)
        return pick(keys, parts.capacity, shape)

    def reserve(self, job: int, cls: int) -> float:
        parts = self.parts
        now = self.port.now
        epoch = (self.port.interruptions, parts.cluster.epoch, parts.budget.epoch)
        regrowth = min(parts.cluster.next_repair(), parts.budget.next_edge_after(now))
        easy = self.cycle.easy
        shadow = easy.time(job, parts.keys.keys(cls), parts.classes[cls].shape, now,
                           self.port.running, epoch, parts.cluster, parts.capacity,
                           parts.budget.budget, regrowth)
        if easy.promised:
            self.decisions.reservations.append((job, shadow))
        return shadow

    def backfill(self, job: int, cls: int, column: int, reservation: float) -> int:
        """Starts when the job is expected to end by the reservation, or (classic EASY) when
        the head still fits at its reservation beside it."""
        if self.cycle.expected_end(job, cls, column) <= reservation:
            return STARTS
        state = (cls, column, len(self.decisions.starts))
        if state == self._no_room:  # same job class on the same capacity: same answer
            return Reason.BACKFILL
        parts = self.parts
        placement = parts.cluster.peek(column, parts.classes[cls].gpus)
        power_w = float(parts.classes[cls].power_by_node_class[column])
        if self.cycle.easy.leaves_room(placement, power_w, self.port.running, parts.cluster,
                                       parts.capacity, parts.budget.budget):
            return STARTS
        self._no_room = state
        return Reason.BACKFILL

    def start(self, job: int, cls: int, column: int) -> None:
        self.port.start(job, cls, column)
        self.decisions.starts.append((job, column))

    def wait(self, job: int, reason: int) -> None:
        self.decisions.waits[job] = reason

    def wait_rest(self, jobs: Sequence[int], reasons: Sequence[int]) -> None:
        self.decisions.waits.update(zip(jobs, reasons, strict=True))


class _SteeredWalk:
    """The walk's view of jobs and rules for a policy that steers jobs to GPU types.

    The walk skips the later jobs of a class once one failed ("capacity only shrinks"),
    which holds for jobs of one class placed alike; jobs of one class steered to different
    types are not alike (one type may be full, another free). This view gives the walk one
    class per (job class, steered type), ``cls x (types + 1) + type + 1`` (0: not
    steered), and hands the rules the job class back."""

    def __init__(self, rules: _Rules, job_class: np.ndarray,
                 steer: Callable[[int], int | None], n_types: int) -> None:
        self.rules = rules
        self.job_class = job_class
        self.steer = steer
        self.span = n_types + 1
        self.admit = rules.admit
        self.wait = rules.wait
        self.wait_rest = rules.wait_rest

    def __getitem__(self, job: int) -> int:
        gpu_type = self.steer(job)
        return int(self.job_class[job]) * self.span + (0 if gpu_type is None else gpu_type + 1)

    def pick(self, job: int, cls: int) -> tuple[int, int]:
        return self.rules.pick(job, cls // self.span)

    def make_room(self, job: int, cls: int) -> int:
        return self.rules.make_room(job, cls // self.span)

    def reserve(self, job: int, cls: int) -> float:
        return self.rules.reserve(job, cls // self.span)

    def backfill(self, job: int, cls: int, column: int, reservation: float) -> int:
        return self.rules.backfill(job, cls // self.span, column, reservation)

    def start(self, job: int, cls: int, column: int) -> None:
        self.rules.start(job, cls // self.span, column)


def pending_counts(jobs: JobTable, pending: list[int], strict: bool) -> dict[int, int]:
    """Pending jobs per reason code. Strict order looks only at the head: the others are
    'behind the head of the line'; so are jobs that a greedy or EASY walk did not reach
    (it stops once every class that waits has failed), which carry no reason yet."""
    if not pending:
        return {}
    if strict:
        counts = {int(jobs.reason[pending[0]]): 1}
        if len(pending) > 1:
            counts[Reason.BEHIND] = len(pending) - 1
        return counts
    # Codes are small ints from NO_REASON (-1) up: counting beats sorting (np.unique).
    tally = np.bincount(jobs.reason[np.asarray(pending)] - NO_REASON)
    counts = {int(c) + NO_REASON: int(tally[c]) for c in np.flatnonzero(tally)}
    unseen = counts.pop(NO_REASON, 0)
    if unseen:
        counts[Reason.BEHIND] = counts.get(Reason.BEHIND, 0) + unseen
    return counts


def log_pending(log: list[tuple[float, dict[int, int]]], now: float, jobs: JobTable,
                queue: PendingQueue, strict: bool, deferred: int) -> None:
    """Append (now, pending jobs per reason, deferred ones included) to the pending log: the
    last entry of an instant replaces the earlier ones, and a run of empty entries is kept
    to its first."""
    counts = log.blockers.observe(now, jobs, queue, strict) if isinstance(log, PendingLog) else None
    if counts is None:  # the blocker account did not tally the queue: count here
        counts = pending_counts(jobs, queue.jobs, strict)
    if deferred:
        counts[Reason.DEFERRED] = deferred
    if log and log[-1][0] == now:
        log.pop()
    if counts or (log and log[-1][1]):
        log.append((now, counts))
