"""Queue policies: the order in which pending jobs are tried, how a job that does not fit
affects the ones behind it, and which running jobs a waiting job may preempt.

A policy is a small class (or a function over the pending jobs' arrays, see
:func:`register_queue_order`), registered by name; scenarios name it in ``policy.queue``.

* ``order_key(job)``: the pending order (smaller first), fixed while the job waits.
* ``blocking``: ``strict`` (stop at the first job that does not fit: FIFO), ``greedy`` (skip
  it, try the next) or ``easy`` (the first job that does not fit gets a reservation; later
  jobs start only if they are expected to end before it or leave the head room then: EASY
  backfilling).
* ``preemptive`` with ``may_preempt(waiting, running)``: a waiting job that does not fit may
  stop running jobs it outranks (they checkpoint and go back to the queue).
"""

from __future__ import annotations

import bisect
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import BaseModel, ValidationError

from scheduler.errors import InputError, Problem
from scheduler.jobs import Status
from scheduler.las_victims import RunningByQueue
from scheduler.queue_config import (
    DEPRECATED_QUEUES,
    GavelRoundsOptions,
    LasOptions,
    PriorityOptions,
    UserQueue,
)
from scheduler.rounds import ActiveJobs, RoundPlanner

if TYPE_CHECKING:
    from scheduler.runtime.handle import SchedulerHandle
    from scheduler.scenario import PolicySpec


class QueuePolicy:
    """Base policy: FIFO order, strict head of line, no preemption."""

    name: ClassVar[str] = "fifo"
    blocking: ClassVar[str] = "strict"
    preemptive: bool = False
    needs_order_each_cycle: bool = False
    """True when the order changes while jobs wait: :meth:`order_pending` is asked each
    cycle."""
    Options: ClassVar[type[BaseModel] | None] = None
    """A pydantic model of the policy's options (``policy.queue: {type: name, options:
    {...}}`` for policies registered in Python); None: the policy takes none."""

    def __init__(self, handle: SchedulerHandle, options: BaseModel | None = None) -> None:
        self.handle = handle
        """The run as a policy may see it (clock, job table, running segments, timers)."""
        self.jobs = handle.jobs
        """The run's job table (the same object for the whole run)."""
        self.options = options
        """The policy's validated options (an instance of :attr:`Options`), or None."""

    @property
    def engine(self) -> SchedulerHandle:
        """Former name of :attr:`handle` (policies written against ``self.engine.jobs``)."""
        return self.handle

    def order_key(self, job: int) -> tuple[float, ...]:
        """Pending order: arrival time, then job id."""
        return (float(self.jobs.arrival_s[job]), float(job))

    def may_preempt(self, waiting: int, running: int) -> bool:
        """May ``waiting`` stop ``running``? Only asked when ``preemptive``."""
        return False

    def victim_order(self, running: int) -> tuple[float, ...]:
        """Among victims, lower sorts first: default the latest started."""
        return (-float(self.jobs.start_s[running]),)

    def victims(self, waiting: int, candidates: list[int]) -> list[int]:
        """The jobs among ``candidates`` (running, in running order) that ``waiting`` may
        stop, in the order to stop them. The same ``candidates`` list comes back while the
        running set stays the same, so a policy may cache work keyed on its identity."""
        return sorted((j for j in candidates if self.may_preempt(waiting, j)),
                      key=self.victim_order)

    def on_start(self, job: int) -> None:
        """Called when a job starts a run segment (LAS sets demotion timers here)."""

    def on_requeue(self, job: int) -> None:
        """Called when a preempted or failed job goes back to the queue."""

    def order_pending(self, pending: list[int]) -> list[int]:
        """Per-cycle order for policies whose order depends on the moment."""
        return pending

    steers: bool = False
    """True when :meth:`steer` may confine a job to one GPU type (asked at each pick)."""

    def steer(self, job: int) -> int | None:
        """The GPU type index ``job`` must be placed on now, or None (any it may use)."""
        return None


class Fifo(QueuePolicy):
    """First in, first out; the head blocks everything behind it."""


class ShortestJobFirst(QueuePolicy):
    """Shortest estimated remaining work first; a job that does not fit is skipped.

    The estimated remaining work is the estimate less the work the job has kept so far (its
    progress, which a scheduler sees), at least 0: the true duration enters only through the
    estimate, that is only with ``policy.estimates.estimate: oracle``."""

    name = "sjf"
    blocking = "greedy"

    def order_key(self, job: int) -> tuple[float, ...]:
        jobs = self.jobs
        progress = float(jobs.duration_s[job] - jobs.remaining_s[job])  # work kept so far
        return (max(float(jobs.estimate_s[job]) - progress, 0.0),
                float(jobs.arrival_s[job]), float(job))


class EasyBackfill(QueuePolicy):
    """FIFO with EASY backfilling: the head gets a reservation at the earliest time enough
    GPUs free up (from running jobs' estimated ends); a later job may start now if it is
    expected to end by then or leaves the head room at that time (classic EASY's extra
    nodes), so it never delays the head (with exact estimates). See
    :class:`scheduler.runtime.deciders.EasyReservation` for capacity that comes back."""

    name = "easy-backfill"
    blocking = "easy"


class Priority(QueuePolicy):
    """Priority classes (workload ``priority``, higher first), FIFO within a class; a job that
    does not fit is skipped; optionally preempts strictly lower classes."""

    name = "priority"
    blocking = "greedy"

    Options = PriorityOptions

    def __init__(self, handle: SchedulerHandle, options: BaseModel | None = None) -> None:
        super().__init__(handle, options)
        spec = options if isinstance(options, PriorityOptions) else PriorityOptions()
        self.preemptive = spec.preempt

    def order_key(self, job: int) -> tuple[float, ...]:
        jobs = self.jobs
        return (-float(jobs.priority[job]), float(jobs.arrival_s[job]), float(job))

    def may_preempt(self, waiting: int, running: int) -> bool:
        priority = self.jobs.priority
        return bool(priority[running] < priority[waiting])

    def victim_order(self, running: int) -> tuple[float, ...]:
        jobs = self.jobs
        return (float(jobs.priority[running]), -float(jobs.start_s[running]))


class LeastAttainedService(QueuePolicy):
    """Discretised 2D-LAS (Tiresias, NSDI'19): queues by attained GPU-hours (thresholds), the
    least-served queue first, FIFO within a queue. A running job that crosses a threshold
    drops a queue (a timer wakes the scheduler) and may be preempted by waiting jobs of
    higher queues; preempted jobs save and resume (``policy.preemption``). With a
    ``starvation_factor``, a job waiting at least that factor x its executed time goes back
    to the top queue (Tiresias's ``solve_starvation``)."""

    name = "las"
    blocking = "greedy"

    Options = LasOptions

    def __init__(self, handle: SchedulerHandle, options: BaseModel | None = None) -> None:
        super().__init__(handle, options)
        spec = options if isinstance(options, LasOptions) else LasOptions()
        self.preemptive = spec.preempt
        self.thresholds_gpu_s = np.array(spec.thresholds_gpu_hours) * 3600.0
        self._thresholds: list[float] = self.thresholds_gpu_s.tolist()
        self._by_queue = RunningByQueue(handle, self._thresholds, self._attained)
        self.starvation_factor = spec.starvation_factor
        self.needs_order_each_cycle = spec.starvation_factor > 0  # promotions reorder
        self._promoted_at: dict[int, float] = {}
        """Job -> attained GPU-seconds at its last promotion (counted from there)."""
        self._waiting_since: dict[int, float] = {}

    def _attained(self, job: int) -> float:
        """Attained GPU-seconds since the job's last promotion (all of it if none)."""
        return self.handle.attained_gpu_s(job) - self._promoted_at.get(job, 0.0)

    def queue_of(self, job: int) -> int:
        """The job's queue now: thresholds at or below its attained GPU-seconds (counted
        since its last promotion). Running jobs' queues, asked for in every victim search,
        are kept by :class:`RunningByQueue` instead."""
        return bisect.bisect_right(self._thresholds, self._attained(job))

    def order_key(self, job: int) -> tuple[float, ...]:
        return (float(self.queue_of(job)), float(self.jobs.arrival_s[job]), float(job))

    def may_preempt(self, waiting: int, running: int) -> bool:
        return self.queue_of(running) > self.queue_of(waiting)

    def victim_order(self, running: int) -> tuple[float, ...]:
        return (-float(self.queue_of(running)), -float(self.jobs.start_s[running]))

    def victims(self, waiting: int, candidates: list[int]) -> list[int]:
        """Running jobs of lower queues than ``waiting``'s, lowest queue first (the running
        set kept in that order between cycles: :class:`RunningByQueue`)."""
        queue = self.queue_of(waiting)
        if queue == len(self._thresholds):  # the last queue outranks no one
            return []
        return self._by_queue.victims(queue, candidates)

    def on_start(self, job: int) -> None:
        handle = self.handle
        self._by_queue.started(job)
        self._waiting_since.pop(job, None)
        attained = self._attained(job)
        gpus = float(handle.jobs.gpus[job])
        for threshold in self._thresholds:
            if threshold > attained:
                handle.wake_at(handle.now + (threshold - attained) / gpus)
                break

    def _executed_s(self, job: int) -> float:
        """Run time since the last promotion (attained GPU-seconds over the job's GPUs)."""
        return self._attained(job) / float(self.handle.jobs.gpus[job])

    def on_requeue(self, job: int) -> None:
        if self.starvation_factor > 0:  # wake when the job is due for promotion
            now = self.handle.now
            self._waiting_since[job] = now
            self.handle.wake_at(now + self.starvation_factor * self._executed_s(job))

    def order_pending(self, pending: list[int]) -> list[int]:
        """Promote starving jobs to the top queue, then order by queue and arrival."""
        now = self.handle.now
        for job in pending:
            since = self._waiting_since.get(job)
            if (since is not None and self.queue_of(job) > 0
                    and now - since >= self.starvation_factor * self._executed_s(job)):
                self._promoted_at[job] = self.handle.attained_gpu_s(job)
        return sorted(pending, key=self.order_key)


class HeterogeneityAware(QueuePolicy):
    """Static priority by speed gain (``speed-gain``; formerly ``gavel``): jobs that gain
    most from fast GPU types choose first (order by the ratio of their best to worst speed
    over the cluster's types), a job that does not fit is skipped; pair with the ``speedup``
    placement score. Not Gavel (OSDI'20), which re-solves a throughput optimisation each
    round."""

    name = "speed-gain"
    blocking = "greedy"

    def order_key(self, job: int) -> tuple[float, ...]:
        gain = self.handle.speed_gain(job)
        return (-gain, float(self.jobs.arrival_s[job]), float(job))


class GavelRounds(QueuePolicy):
    """Round-based heterogeneity-aware allocation (Gavel, OSDI'20): every ``round`` an LP
    over jobs x GPU types (:mod:`scheduler.allocation`) sets each job's time fraction per
    type; jobs are assigned to types by allocation deficit (:mod:`scheduler.rounds`), an
    assigned job is placed on its type only and may preempt jobs not assigned where they
    run. Jobs not assigned start on leftover GPUs (work conserving)."""

    name = "gavel-rounds"
    blocking = "greedy"
    preemptive = True
    needs_order_each_cycle = True
    steers = True
    Options = GavelRoundsOptions

    def __init__(self, handle: SchedulerHandle, options: BaseModel | None = None) -> None:
        super().__init__(handle, options)
        spec = options if isinstance(options, GavelRoundsOptions) else GavelRoundsOptions()
        self.capacity = handle.gpus_by_type()
        self.planner = RoundPlanner(self.capacity.shape[0], spec.objective, spec.round)
        self.agnostic = spec.speeds == "agnostic"
        self._pending: list[int] = []
        self._since: dict[int, tuple[int, float]] = {}
        """Running job -> (GPU type, time from which its run is not yet credited)."""
        self._victims: dict[int, list[int]] = {}
        self._victims_for: list[int] | None = None
        self._victims_at = -1.0
        handle.every(self._rounds)

    def _rounds(self) -> Any:
        while True:
            self._new_round()
            yield self.handle.sleep(self.planner.round_s)

    def _settle(self, job: int, now: float) -> None:
        since = self._since.get(job)
        if since is not None:
            self.planner.credit(job, since[0], now - since[1])
            self._since[job] = (since[0], now)

    def _new_round(self) -> None:
        handle, jobs = self.handle, self.jobs
        now = handle.now
        handle.count_event()
        waiting = [j for j in self._pending if jobs.status[j] == Status.PENDING]
        if not waiting:  # nothing to start or to make room for: running jobs stay put
            self.planner.assigned, self.planner.rank = {}, {}
            return  # (their run is credited at the next round that plans: sums add up)
        for job in list(self._since):
            if job in handle.running:
                self._settle(job, now)
            else:
                del self._since[job]  # finished since (requeues settle in on_requeue)
        ids = np.array(sorted({*waiting, *self._since}), dtype=np.int64)
        speeds = np.stack([handle.speed_by_type(j) for j in ids.tolist()])
        if self.agnostic:  # the LP sees 1 wherever the job may run (the true speeds apply)
            speeds = (speeds > 0).astype(float)
        self.planner.new_round(ActiveJobs(
            ids=ids, speeds=speeds, gpus=jobs.gpus[ids], remaining_s=jobs.remaining_s[ids],
            elapsed_s=now - jobs.arrival_s[ids], duration_s=jobs.duration_s[ids]),
            self.capacity)
        handle.wake_at(now)

    def order_pending(self, pending: list[int]) -> list[int]:
        self._pending = pending
        return self.planner.order(pending, self.jobs.arrival_s)

    def steer(self, job: int) -> int | None:
        return self.planner.assigned.get(job)

    def may_preempt(self, waiting: int, running: int) -> bool:
        since = self._since.get(running)
        return since is not None and self.planner.may_displace(waiting, running, since[0])

    def victim_order(self, running: int) -> tuple[float, ...]:
        assigned = running in self.planner.assigned
        return (float(assigned), -float(self.jobs.start_s[running]))

    def victims(self, waiting: int, candidates: list[int]) -> list[int]:
        """Jobs on the waiting job's assigned type that are not assigned there, unassigned
        first, latest started first. Only that type's jobs: the preemption takes the
        shortest prefix that makes room, so a job elsewhere would be stopped for nothing.
        Built once per running set, round and type, then shared."""
        gpu_type = self.planner.assigned.get(waiting)
        if gpu_type is None:
            return []
        now = self.handle.now
        if self._victims_for is not candidates or self._victims_at != now:
            since, assigned = self._since, self.planner.assigned
            by_type: dict[int, list[int]] = {}
            for j in candidates:
                if j in since and assigned.get(j) != since[j][0]:
                    by_type.setdefault(since[j][0], []).append(j)
            self._victims = {t: sorted(jobs, key=self.victim_order)
                             for t, jobs in by_type.items()}
            self._victims_for, self._victims_at = candidates, now  # (a reference: no reuse)
        return self._victims.get(gpu_type, [])

    def on_start(self, job: int) -> None:
        """(Asked for jobs of the queue only: service replicas are not allocated.)"""
        self._since[job] = (self.handle.type_of(job), self.handle.now)

    def on_requeue(self, job: int) -> None:
        self._settle(job, self.handle.now)
        self._since.pop(job, None)


# --------------------------------------------------------------------------- user policies


@dataclass(frozen=True)
class PendingView:
    """Arrays describing pending jobs, for user order functions (same length, queue order
    of arrival): ``job_id, arrival_s, gpus, estimate_s, remaining_s, workload, tenant,
    priority, attained_gpu_s``; ``now`` is the simulation time."""

    job_id: np.ndarray
    arrival_s: np.ndarray
    gpus: np.ndarray
    estimate_s: np.ndarray
    remaining_s: np.ndarray
    workload: np.ndarray
    tenant: np.ndarray
    priority: np.ndarray
    attained_gpu_s: np.ndarray
    now: float


OrderFunction = Callable[[PendingView], Any]


def _function_policy(name: str, fn: OrderFunction, blocking: str) -> type[QueuePolicy]:
    class FunctionPolicy(QueuePolicy):
        needs_order_each_cycle = True

        def order_pending(self, pending: list[int]) -> list[int]:
            handle = self.handle
            ids = np.asarray(pending, dtype=np.int64)
            jobs = handle.jobs
            view = PendingView(
                job_id=ids, arrival_s=jobs.arrival_s[ids], gpus=jobs.gpus[ids],
                estimate_s=jobs.estimate_s[ids], remaining_s=jobs.remaining_s[ids],
                workload=jobs.workload[ids], tenant=jobs.tenant[ids],
                priority=jobs.priority[ids],
                attained_gpu_s=np.array([handle.attained_gpu_s(j) for j in pending]),
                now=handle.now)
            order = np.asarray(fn(view))
            if order.shape != ids.shape or not np.array_equal(np.sort(order),
                                                               np.arange(ids.shape[0])):
                raise RuntimeError(f"queue order {name!r} must return a permutation of "
                                   f"0..{ids.shape[0] - 1}")
            chosen: list[int] = ids[order].tolist()
            return chosen

    FunctionPolicy.name = name
    FunctionPolicy.blocking = blocking
    FunctionPolicy.__doc__ = fn.__doc__ or f"user queue order {name!r}"
    return FunctionPolicy


_POLICIES: dict[str, type[QueuePolicy]] = {}


def register_queue_policy(name: str, replace: bool = False) -> Callable[[type[QueuePolicy]],
                                                                      type[QueuePolicy]]:
    """Class decorator: register a :class:`QueuePolicy` subclass under ``name``."""
    def decorate(cls: type[QueuePolicy]) -> type[QueuePolicy]:
        if name in _POLICIES and not replace:
            raise ValueError(f"queue policy {name!r} is already registered")
        cls.name = name
        _POLICIES[name] = cls
        return cls
    return decorate


def register_queue_order(name: str, blocking: str = "greedy",
                         replace: bool = False) -> Callable[[OrderFunction], OrderFunction]:
    """Decorator: register ``fn(view: PendingView) -> permutation`` as queue policy ``name``.

    Example::

        @register_queue_order("smallest-first")
        def smallest_first(view):
            return np.lexsort((view.arrival_s, view.gpus))
    """
    if blocking not in {"strict", "greedy", "easy"}:
        raise ValueError(f"blocking must be strict, greedy or easy (got {blocking!r})")

    def decorate(fn: OrderFunction) -> OrderFunction:
        register_queue_policy(name, replace)(_function_policy(name, fn, blocking))
        return fn
    return decorate


def unregister_queue_policy(name: str) -> None:
    _POLICIES.pop(name, None)


def queue_policy_names() -> list[str]:
    return sorted(_POLICIES)


def queue_policy_class(name: str) -> type[QueuePolicy]:
    """The registered policy class of ``name`` (InputError naming ``policy.queue`` if none);
    a deprecated name gives its successor, with a :class:`DeprecationWarning`."""
    if name in DEPRECATED_QUEUES and name not in _POLICIES:
        new = DEPRECATED_QUEUES[name]
        hint = "; Gavel's round-based allocation is 'gavel-rounds'" if name == "gavel" else ""
        warnings.warn(f"policy.queue: {name!r} is deprecated, use {new!r} (the same "
                      f"policy){hint}", DeprecationWarning, stacklevel=2)
        name = new
    try:
        return _POLICIES[name]
    except KeyError:
        from scheduler.suggest import did_you_mean

        raise InputError(f"unknown queue policy {name!r}; known: "
                         f"{', '.join(queue_policy_names())}{did_you_mean(name, _POLICIES)}",
                         "policy.queue") from None


@dataclass(frozen=True)
class QueuePlan:
    """A scenario's queue policy resolved once: the class and its validated options (what
    ``validate``, ``run`` and ``sweep`` use)."""

    name: str
    policy: type[QueuePolicy]
    options: BaseModel | None

    def bind(self, handle: SchedulerHandle) -> QueuePolicy:
        """The policy of one run."""
        return self.policy(handle, self.options)


def _merged(model: type[BaseModel], *blocks: BaseModel) -> BaseModel:
    """Options from the first block that sets each field (then the model's defaults)."""
    values: dict[str, Any] = {}
    for block in reversed(blocks):
        values.update({k: getattr(block, k) for k in block.model_fields_set if k != "type"})
    return model(**values)


def resolve_queue(policy: PolicySpec) -> QueuePlan:
    """Resolve ``policy.queue`` (and the older ``policy.las`` / ``policy.priority``
    blocks) into a :class:`QueuePlan`; InputError naming the field path otherwise."""
    queue = policy.queue
    cls = queue_policy_class(queue.type)
    options: BaseModel | None = None
    if isinstance(queue, UserQueue):
        if cls.Options is None:
            if queue.options:
                raise InputError(f"queue policy {queue.type!r} takes no options",
                                 "policy.queue.options")
        else:
            try:
                options = cls.Options(**queue.options)
            except ValidationError as exc:
                raise InputError([Problem(".".join(["policy.queue.options",
                                                    *map(str, e["loc"])]), e["msg"])
                                  for e in exc.errors()]) from None
    elif cls.Options is LasOptions:
        options = _merged(LasOptions, queue, policy.las)
    elif cls.Options is PriorityOptions:
        options = _merged(PriorityOptions, queue, policy.priority)
    elif cls.Options is GavelRoundsOptions:
        options = _merged(GavelRoundsOptions, queue)
    return QueuePlan(cls.name, cls, options)  # a deprecated name resolves to its successor


def make_queue_policy(spec: PolicySpec, handle: SchedulerHandle) -> QueuePolicy:
    """The queue policy a scenario's ``policy`` names, bound to a run's handle."""
    return resolve_queue(spec).bind(handle)


for _cls in (Fifo, ShortestJobFirst, EasyBackfill, Priority, LeastAttainedService,
             HeterogeneityAware, GavelRounds):
    _POLICIES[_cls.name] = _cls
