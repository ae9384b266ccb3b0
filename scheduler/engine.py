"""The SimPy engine: arrivals, scheduling cycles, job starts and finishes.

The engine knows time, not the domain: it keeps the pending queue, asks the placement
framework (``gpu/``) for decisions and applies them to the cluster. Design points:

* No SimPy process per job. One process per workload feeds arrivals; a finishing job is a
  plain timeout with a callback.
* Events at one instant are coalesced into one scheduling cycle: the cycle event is scheduled
  with a priority below every normal event, so it runs after all of them at that time.
* Placement keys are computed in bulk per job *class* (workload x GPU count) and cached while
  the inputs they depend on stay the same; capacity is consumed on the host per job.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Generator

import numpy as np
import simpy

from gpu import (
    Backend,
    CapacityState,
    Columns,
    JobBatch,
    JobShape,
    PluginCall,
    build_context,
    evaluate,
)
from gpu.framework import pick
from scheduler.cluster import Cluster, Placement
from scheduler.jobs import JobTable, SegmentLog, Status
from scheduler.scenario import Scenario
from scheduler.sources import TenantNames, WorkloadSource, build_sources

CYCLE_PRIORITY = 2
"""SimPy orders same-time events by (priority, id); NORMAL is 1, so 2 runs after them all."""

REASON_NEVER_FITS = "larger than any allowed node group can hold"
REASON_WAITING = "waiting for free GPUs"
REASON_BEHIND = "queued behind the head of the line"
FIRST_FILTER_REASON = 3


class Engine:
    """One simulation run. Build, :meth:`run`, then read the tables."""

    def __init__(self, scenario: Scenario, backend: Backend, seed: int,
                 filters: list[PluginCall], scores: list[PluginCall],
                 sources: list[WorkloadSource] | None = None) -> None:
        self.scenario = scenario
        self.backend = backend
        self.seed = seed
        self.filters = filters
        self.scores = scores
        self.env = simpy.Environment()
        self.cluster = Cluster(scenario)
        self.jobs = JobTable()
        self.segments = SegmentLog()
        self.tenants = TenantNames()
        self.sources = sources if sources is not None else build_sources(
            scenario, self.cluster.type_index, seed, self.tenants)
        self.reasons: list[str] = [REASON_NEVER_FITS, REASON_WAITING, REASON_BEHIND]
        self.reasons += [c.plugin.reason for c in filters]
        self.pending: deque[int] = deque()
        self.running: dict[int, Placement] = {}
        self.pending_log: list[tuple[float, int, int]] = []
        """(time, reason code of the head job or -1, pending jobs) after each cycle."""
        self.events = 0
        self.cycles = 0
        self.end_time = 0.0
        # Job classes: (workload, gpus, type constraint) -> id; their shapes, admission and
        # key rows. Jobs of one class are interchangeable for placement.
        self._class_of: dict[tuple[int, int, int], int] = {}
        self._class_gpus: list[int] = []
        self._class_types: list[np.ndarray] = []
        self._class_fits: list[bool] = []
        self._class_shape: list[JobShape] = []
        self._class_keys: dict[int, np.ndarray] = {}
        self._class_reason: dict[int, int] = {}
        self._columns_on_device: Columns | None = None
        self._cycle_scheduled = False
        self._arrivals_open = len(self.sources)
        self._capacity = CapacityState.from_columns(self.cluster.columns, self.cluster.column_of)
        # The walk's counts are the cluster's own array: placements update both at once.
        self._capacity.count = self.cluster.columns.count

    # ------------------------------------------------------------------ job classes

    def _class_ids(self, source: WorkloadSource, gpus: np.ndarray,
                   type_key: np.ndarray) -> np.ndarray:
        ids = np.empty(gpus.shape[0], dtype=np.int32)
        pairs = np.stack([gpus, type_key], axis=1)
        unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
        for row, (size, key) in enumerate(unique.tolist()):
            signature = (source.index, size, key)
            cls = self._class_of.get(signature)
            if cls is None:
                cls = len(self._class_gpus)
                allowed = source.type_masks[key]
                self._class_of[signature] = cls
                self._class_gpus.append(size)
                self._class_types.append(allowed)
                self._class_fits.append(self.cluster.can_ever_fit(size, allowed))
                self._class_shape.append(JobShape.of(size, self._capacity))
            ids[inverse.reshape(-1) == row] = cls
        return ids

    def _keys_for(self, classes: list[int]) -> None:
        """Evaluate filters and scores in bulk for classes without cached keys."""
        missing = [c for c in classes if c not in self._class_keys]
        if not missing:
            return
        xp = self.backend.xp
        type_allowed = np.stack([self._class_types[c] for c in missing])
        batch = JobBatch(gpus=xp.asarray(np.array([self._class_gpus[c] for c in missing],
                                                  dtype=np.int64)),
                         type_allowed=xp.asarray(type_allowed))
        columns = self._device_columns()
        ctx = build_context(xp, batch, columns, now=self.env.now)
        result = evaluate(self.backend, ctx, self.filters, self.scores)
        for row, cls in enumerate(missing):
            self._class_keys[cls] = result.keys[row]
            first_rejecting = int(result.reason[row])
            self._class_reason[cls] = (1 if first_rejecting < 0
                                       else FIRST_FILTER_REASON + first_rejecting)

    def _device_columns(self) -> Columns:
        """Column attributes on the device, uploaded once (they never change in a run;
        only counts do, and counts stay on the host with the assignment)."""
        if self._columns_on_device is None:
            cols = self.cluster.columns
            to = self.backend.asarray
            self._columns_on_device = Columns(
                group=to(cols.group), site=to(cols.site), gpu_type=to(cols.gpu_type),
                gpus_per_node=to(cols.gpus_per_node), free=to(cols.free), up=to(cols.up),
                count=to(cols.count), full_column=to(cols.full_column),
                group_nodes=to(cols.group_nodes))
        return self._columns_on_device

    # ------------------------------------------------------------------ processes

    def _arrivals(self, source: WorkloadSource) -> Generator[simpy.Event, None, None]:
        env = self.env
        jobs = self.jobs
        for chunk in source.chunks():
            classes = self._class_ids(source, chunk.gpus, chunk.type_key)
            ids = jobs.extend(chunk.arrival_s, chunk.gpus, chunk.duration_s, source.index,
                              classes, chunk.kind, chunk.tenant)
            fits = self._class_fits
            for job, at, cls in zip(ids.tolist(), chunk.arrival_s.tolist(), classes.tolist(),
                                    strict=True):
                delay = at - env.now
                if delay > 0:
                    yield env.timeout(delay)
                self.events += 1
                if not fits[cls]:
                    jobs.status[job] = Status.REJECTED
                    jobs.reason[job] = 0
                    continue
                self.pending.append(job)
                if not self._cycle_scheduled:
                    self._schedule_cycle()
        self._arrivals_open -= 1

    def _schedule_cycle(self) -> None:
        # A pre-triggered event scheduled at a priority below NORMAL, the way SimPy's own
        # Initialize and Interruption events are built: it runs after every normal event of
        # this instant, which is what coalescing needs.
        self._cycle_scheduled = True
        event = simpy.Event(self.env)
        event._ok = True
        event._value = None
        event.callbacks.append(self._cycle)
        self.env.schedule(event, CYCLE_PRIORITY)  # type: ignore[arg-type]

    def _cycle(self, _event: simpy.Event) -> None:
        """Place pending jobs in FIFO order, stopping at the first that does not fit."""
        self._cycle_scheduled = False
        self.cycles += 1
        pending = self.pending
        jobs = self.jobs
        job_class = jobs.job_class
        capacity = self._capacity
        now = self.env.now
        while pending:
            job = pending[0]
            cls = int(job_class[job])
            keys = self._class_keys.get(cls)
            if keys is None:
                classes = sorted({int(job_class[j]) for j in list(pending)[:4096]})
                self._keys_for(classes)
                keys = self._class_keys[cls]
            shape = self._class_shape[cls]
            column = pick(keys, capacity, shape, cls)
            if column < 0:
                jobs.reason[job] = self._class_reason[cls]
                break
            pending.popleft()
            # The cluster updates the column counts the next pick reads (same array).
            self._start(job, self.cluster.place(column, shape.gpus), now)
        self._log_pending(now)

    def _log_pending(self, now: float) -> None:
        """Record why jobs wait, from now until the next cycle: the head's reason, and
        'behind the head' for the rest (strict FIFO evaluates only the head)."""
        head_reason = int(self.jobs.reason[self.pending[0]]) if self.pending else -1
        log = self.pending_log
        if log and log[-1][0] == now:
            log.pop()
        log.append((now, head_reason, len(self.pending)))

    def _start(self, job: int, placement: Placement, now: float) -> None:
        jobs = self.jobs
        jobs.status[job] = Status.RUNNING
        jobs.start_s[job] = now
        jobs.site[job] = placement.site
        jobs.reason[job] = -1
        self.running[job] = placement
        event = self.env.timeout(float(jobs.duration_s[job]), value=job)
        event.callbacks.append(self._finish)

    def _finish(self, event: simpy.Event) -> None:
        job = int(event.value)  # type: ignore[arg-type]
        now = self.env.now
        self.events += 1
        placement = self.running.pop(job)
        self.cluster.release(placement)
        jobs = self.jobs
        jobs.status[job] = Status.COMPLETED
        jobs.end_s[job] = now
        self.segments.add(job, placement.site, placement.group, sum(placement.gpus),
                          float(jobs.start_s[job]), now)
        if self.pending and not self._cycle_scheduled:
            self._schedule_cycle()

    # ------------------------------------------------------------------ run

    def run(self) -> float:
        """Simulate to the horizon (or until drained); returns wall seconds."""
        started = time.perf_counter()
        for source in self.sources:
            self.env.process(self._arrivals(source))
        horizon = self.scenario.duration
        self.env.run(until=horizon)
        if self.scenario.drain:
            self.env.run()
            self.end_time = max(horizon, self.env.now)
        else:
            self.end_time = horizon
        self._close()
        return time.perf_counter() - started

    def _close(self) -> None:
        """Mark what is still pending or running as unfinished at the end time."""
        jobs = self.jobs
        end = self.end_time
        for job, placement in sorted(self.running.items()):
            jobs.status[job] = Status.UNFINISHED
            self.segments.add(job, placement.site, placement.group, sum(placement.gpus),
                              float(jobs.start_s[job]), end)
        for job in self.pending:
            jobs.status[job] = Status.UNFINISHED
            if jobs.reason[job] < 0:
                jobs.reason[job] = self.reasons.index(REASON_BEHIND)
        self.running.clear()
        self.pending.clear()
