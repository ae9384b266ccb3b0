"""The engine keeps time and applies decisions, nothing else.

It runs the SimPy processes and timers (arrivals, segment ends, failures and repairs,
demand-response edges, grid signal steps, progress), coalesces the events of one instant
into one scheduling cycle, asks :class:`~scheduler.runtime.cycle.SchedulingCycle` what to do,
and applies it: start, stop, interrupt. It receives its parts built
(:func:`scheduler.simulation.build_engine`); policies and services see only a
:class:`~scheduler.runtime.handle.SchedulerHandle`.

* No SimPy process per job. One process per workload feeds arrivals; a segment's end (finish
  or failure) is a plain timeout with a callback; a stale one (its segment was interrupted)
  is ignored by its token.
* Events at one instant are coalesced into one cycle: the cycle event is scheduled with a
  priority below every normal event, so it runs after all of them at that time. When no
  other event waits at the instant, the cycle runs at once (same state, one event fewer).
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from gpu import CapacityState
from scheduler.checkpoint import segment_end
from scheduler.interrupt import StopControl
from scheduler.jobs import KIND_NAMES, SEGMENT_END, SegmentLog, Status
from scheduler.runtime.checkpoints import Checkpoints
from scheduler.runtime.cycle import CycleParts, PendingLog, SchedulingCycle, log_pending
from scheduler.runtime.deciders import Quotas
from scheduler.runtime.deferral import release_time, site_weights
from scheduler.runtime.failures import FailureClock
from scheduler.runtime.handle import EngineHandle
from scheduler.runtime.job_classes import JobClasses
from scheduler.runtime.parts import EngineParts, checkpoint_plan
from scheduler.runtime.pending import PendingQueue
from scheduler.runtime.placement_keys import PlacementKeys
from scheduler.runtime.power_budget import PowerBudget
from scheduler.runtime.reasons import FIRST_FILTER_REASON, NO_REASON, Reason
from scheduler.runtime.record import RunRecord
from scheduler.runtime.segment import Segment
from scheduler.runtime.stepping import run_until, run_while
from scheduler.scenario import InferenceWorkload
from scheduler.sources import WorkloadSource

CYCLE_PRIORITY = 2
"""SimPy orders same-time events by (priority, id); NORMAL is 1, so 2 runs after them all."""
INFERENCE = KIND_NAMES.index("inference")
COMPLETED, PREEMPTED, FAILED, HORIZON = range(len(SEGMENT_END))


class Engine:
    """One simulation run: build with its parts, :meth:`run`, then :meth:`record`."""

    def __init__(self, parts: EngineParts) -> None:
        self.scenario = scenario = parts.scenario
        self.parts = parts  # kept for the record: seed, backend, tenants, signals
        self.progress = parts.progress
        self.stop = parts.stop if parts.stop is not None else StopControl()
        self.env = simpy.Environment()
        self.cluster = parts.cluster
        self.power = parts.power
        self.network = parts.network
        self.jobs = parts.jobs
        self.segments = SegmentLog()
        self.sources = parts.sources
        failure_seed, estimate_seed, forecast_seed = parts.rng.spawn(3)
        rate = scenario.failures.rate_per_gpu_hour if scenario.failures is not None else 0.0
        self.failures = FailureClock(rate, np.random.default_rng(failure_seed))
        self._estimate_rng = np.random.default_rng(estimate_seed)
        self._forecast_rng = np.random.default_rng(forecast_seed)
        self.handle = EngineHandle(self)
        self.policy = parts.make_policy(self.handle)
        self.running: dict[int, Segment] = {}
        self.deferred: set[int] = set()
        self.replicas_pending: list[int] = []
        self.events = 0
        self.cycles = 0
        self.end_time = 0.0
        self.node_repairs = 0
        self.interruptions = 0
        """Preemptions and failures so far (they invalidate an EASY reservation)."""
        self._token = 0
        self.pending_log = PendingLog()
        """(time, {reason code: pending jobs}) after each cycle."""
        self._unarrived: dict[int, list[int]] = {}
        """Per source, the job ids of its current chunk that have not arrived yet [a, b)."""
        self._cycle_scheduled = False
        self._running_training = 0
        """Running jobs that are not service replicas (draining waits for these only)."""

        self._build_deciders(parts)

    def _build_deciders(self, parts: EngineParts) -> None:
        """Capacity, budgets, quotas, job classes, keys, the queue and the cycle."""
        scenario = self.scenario
        # Capacity the cycle consumes; counts are the cluster's own array.
        self.capacity = CapacityState.from_columns(self.cluster.columns, self.cluster.column_of)
        self.capacity.count = self.cluster.columns.count
        self.budget = PowerBudget(self.power)
        if self.power.enforced:
            self.capacity.site_budget_w = self.budget.budget
        self.quotas = Quotas(scenario.policy.quotas, parts.tenants.names,
                             lambda: self.jobs.tenant, lambda: self.jobs.gpus)
        self._noisy_estimates = scenario.policy.estimates.estimate == "noisy"
        self._plans = [checkpoint_plan(w) for w in scenario.workloads]
        sizes = [getattr(getattr(w, "checkpoint", None), "size_gb_per_gpu", 0.0)
                 for w in scenario.workloads]
        self.checkpoints = Checkpoints(self.network, lambda j: sizes[int(self.jobs.workload[j])],
                                       scenario.policy.preemption.checkpoint)
        self.classes = JobClasses(scenario, self.cluster, self.power, self.capacity,
                                  FIRST_FILTER_REASON + len(parts.filters))
        self.services = parts.make_services(self.handle)
        self._service_workload = np.array([w in self.services.by_workload
                                           for w in range(len(scenario.workloads))], dtype=bool)
        self.keys = PlacementKeys(
            parts.backend, self.cluster, self.power, self.classes, self.capacity, parts.filters,
            parts.scores, parts.carbon, parts.price, lambda: float(self.env.now),
            self.services.site_rtt if self.services.services else lambda _: None,
            self.services.site_replicas)
        preempts = [bool(getattr(w, "preempt_training", False)) for w in scenario.workloads]
        self.pending = PendingQueue(self.policy.order_key, self.jobs)
        self.cycle = SchedulingCycle(CycleParts(
            jobs=self.jobs, classes=self.classes, keys=self.keys, pending=self.pending,
            quotas=self.quotas, budget=self.budget, cluster=self.cluster,
            capacity=self.capacity, policy=self.policy, is_replica=self.is_replica,
            preempts_training=lambda job: preempts[int(self.jobs.workload[job])],
            checkpoint_plan=lambda job: self._plans[int(self.jobs.workload[job])]), self)

    # ------------------------------------------------------------------ views

    @property
    def now(self) -> float:
        return float(self.env.now)

    @property
    def training_running(self) -> int:
        return self._running_training

    def is_replica(self, job: int) -> bool:
        """A replica of an inference service (not a trace's inference request job)."""
        return bool(self._service_workload[self.jobs.workload[job]])

    def attained_gpu_s(self, job: int) -> float:
        """GPU-seconds of service so far, including the running segment."""
        attained = float(self.jobs.attained_gpu_s[job])
        segment = self.running.get(job)
        if segment is not None:
            attained += segment.gpus * (self.env.now - segment.start)
        return attained

    def record(self) -> RunRecord:
        """What the summary reads, once the run is over."""
        return RunRecord(
            scenario=self.scenario, seed=self.parts.seed, backend_name=self.parts.backend.name,
            policy_name=self.policy.name, cluster=self.cluster, power=self.power,
            jobs=self.jobs, segments=self.segments, tenants=self.parts.tenants,
            sources=self.sources, carbon=self.parts.carbon, price=self.parts.price,
            services=self.services,
            reasons=[*(r.text for r in Reason), *(c.plugin.reason for c in self.parts.filters),
                     *self.classes.extra_reasons],
            pending_log=self.pending_log, end_time=self.end_time, events=self.events,
            cycles=self.cycles, node_repairs=self.node_repairs, stop=self.stop)

    # ------------------------------------------------------------------ cycles

    def wake_at(self, when: float) -> None:
        """Run a scheduling cycle at ``when`` (policies' timers, signal steps)."""
        self.env.timeout(max(0.0, when - self.env.now)).callbacks.append(self._on_wake)

    def _on_wake(self, _event: simpy.Event) -> None:
        self.events += 1
        if self.pending or self.deferred:
            self._request_cycle()

    def _request_cycle(self) -> None:
        if not self._cycle_scheduled:
            self._schedule_cycle()

    def _cycle_now_or_later(self) -> None:
        """Run the cycle at once when no other event waits at this instant (the coalesced
        cycle would see exactly the same state), else schedule it after them."""
        if self._cycle_scheduled:
            return
        if self.env.peek() > self.env.now:
            self._cycle(None)
        else:
            self._schedule_cycle()

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

    def _cycle(self, _event: simpy.Event | None) -> None:
        """Ask the cycle what to do (starts and preemptions are applied as decided) and write
        the rest of its decisions: why jobs wait, reservations."""
        self._cycle_scheduled = False
        self.cycles += 1
        decisions, strict = self.cycle.decide(self.replicas_pending)
        if self.replicas_pending:
            self.replicas_pending = decisions.replicas_waiting
        decisions.write(self.jobs)
        self._log_pending(strict)

    def _log_pending(self, strict: bool) -> None:
        """Record why jobs wait from now until the next cycle."""
        log_pending(self.pending_log, float(self.env.now), self.jobs, self.pending, strict,
                    len(self.deferred))

    # ------------------------------------------------------------------ queue and replicas

    def _enqueue(self, job: int) -> None:
        self.jobs.status[job] = Status.PENDING
        self.pending.push(job)

    def _requeue(self, job: int) -> None:
        """Back to waiting after a preemption or failure: replicas to the replica queue."""
        if self.is_replica(job):
            self.jobs.status[job] = Status.PENDING
            self.replicas_pending.append(job)
        else:
            self.policy.on_requeue(job)  # before the push: LAS may key the job anew
            self._enqueue(job)

    def request_replica(self, workload: int) -> int:
        """A new replica of an inference service: a job placed before training jobs."""
        source = self.sources[workload]
        spec = self.scenario.workloads[workload]
        assert isinstance(spec, InferenceWorkload)
        gpus = np.array([spec.replica_gpus], dtype=np.int64)
        cls = self.classes.ids(workload, source.type_masks, gpus, np.zeros(1, dtype=np.int64),
                               np.array([INFERENCE], dtype=np.int8))
        job = int(self.jobs.extend(np.array([self.env.now]), gpus, np.array([math.inf]),
                                   workload, cls, INFERENCE,
                                   self.parts.tenants.index(spec.tenant), spec.priority)[0])
        if not self.classes[int(cls[0])].fits:
            self.jobs.status[job] = Status.REJECTED
            self.jobs.reason[job] = Reason.NEVER_FITS
            return job
        self.replicas_pending.append(job)
        self._request_cycle()
        return job

    def cancel_replica(self, job: int) -> None:
        """Withdraw a replica request that has not started."""
        if job in self.replicas_pending:
            self.replicas_pending.remove(job)
        if self.jobs.status[job] == Status.PENDING:
            self.jobs.status[job] = Status.REJECTED
            self.jobs.reason[job] = Reason.CANCELLED
            self.jobs.end_s[job] = self.env.now

    def stop_replica(self, job: int) -> None:
        """Scale-down: the replica ends normally."""
        self._stop(job, COMPLETED)
        self.jobs.status[job] = Status.COMPLETED
        self.jobs.end_s[job] = self.env.now
        if self.pending or self.replicas_pending:
            self._request_cycle()

    # ------------------------------------------------------------------ arrivals

    def _arrivals(self, source: WorkloadSource) -> Generator[simpy.Event, None, None]:
        env = self.env
        jobs = self.jobs
        workload = self.scenario.workloads[source.index]
        deferrable = getattr(workload, "deferrable", None)
        estimates = self.scenario.policy.estimates
        classes = self.classes.classes
        see_size = self.keys.see_size if self.keys.sizes_seen is not None else None
        for chunk in source.chunks():
            ids_of_class = self.classes.ids(source.index, source.type_masks, chunk.gpus,
                                            chunk.type_key, chunk.kind, source.type_reasons)
            estimate = None
            if estimates.estimate == "noisy":
                noise = self._estimate_rng.standard_normal(chunk.gpus.shape[0])
                estimate = chunk.duration_s * np.exp(estimates.sigma * noise)
            ids = jobs.extend(chunk.arrival_s, chunk.gpus, chunk.duration_s, source.index,
                              ids_of_class, chunk.kind, chunk.tenant, workload.priority,
                              estimate)
            unarrived = [int(ids[0]), int(ids[-1]) + 1] if len(ids) else [0, 0]
            self._unarrived[source.index] = unarrived
            for job, at, cls in zip(ids.tolist(), chunk.arrival_s.tolist(),
                                    ids_of_class.tolist(), strict=True):
                delay = at - env.now
                if delay > 0:
                    yield env.timeout(delay)
                self.events += 1
                unarrived[0] = job + 1
                if see_size is not None:
                    see_size(int(classes[cls].gpus))
                if not classes[cls].fits:
                    jobs.status[job] = Status.REJECTED
                    jobs.reason[job] = classes[cls].never_fits_reason
                elif deferrable is not None and self._defer(job, cls, deferrable):
                    continue
                else:
                    self._enqueue(job)
                    self._cycle_now_or_later()

    def _defer(self, job: int, cls: int, spec: Any) -> bool:
        """Hold a deferrable job until its low-signal window; False to queue it now."""
        now = self.env.now
        signals = self.parts.carbon if spec.signal == "carbon" else self.parts.price
        weights = site_weights(self.cluster, self.classes[cls].type_allowed, len(signals))
        release = release_time(now, float(self.jobs.estimate_s[job]), spec.max_delay, signals,
                               weights, spec.forecast_error, self._forecast_rng)
        if release <= now:
            return False
        self.deferred.add(job)
        self.jobs.reason[job] = Reason.DEFERRED
        self.env.timeout(release - now, value=job).callbacks.append(self._release)
        return True

    def _release(self, event: simpy.Event) -> None:
        job = int(event.value)  # type: ignore[arg-type]
        self.events += 1
        self.deferred.discard(job)
        self.jobs.released_s[job] = self.env.now
        self._enqueue(job)
        self._request_cycle()

    # ------------------------------------------------------------------ start / stop

    def start(self, job: int, cls: int, column: int) -> None:
        """Start a segment of ``job`` on node class ``column`` now (the cycle decided it)."""
        jobs = self.jobs
        now = self.env.now
        info = self.classes.classes[cls]
        placement = self.cluster.place(column, info.gpus)
        speed = info.speed_by_node_class[column] * info.spread_factor[len(placement.nodes) > 1]
        workload = int(jobs.workload[job])
        plan = self._plans[workload]
        resumed = bool(jobs.preemptions[job] or jobs.failures[job])
        remaining = float(jobs.remaining_s[job])
        transfer = self.checkpoints.transfer_s(job, info.gpus, placement.site) if resumed else 0.0
        if plan.interval is None and not resumed:
            end = now + transfer + remaining / speed  # the common case, simple arithmetic
        else:
            end = segment_end(now, remaining, speed, plan, resumed, transfer)
        if math.isnan(jobs.start_s[job]):
            jobs.start_s[job] = now
        jobs.status[job] = Status.RUNNING
        jobs.site[job] = placement.site
        jobs.reason[job] = NO_REASON
        power_w = info.power_by_node_class[column]
        self.budget.add(placement.site, power_w)
        if self.quotas.limits:
            self.quotas.started(int(jobs.tenant[job]), info.gpus)
        self._token += 1
        segment = Segment(self._token, placement, now, end, remaining, speed, resumed, plan,
                          power_w, self._estimate_ratio(job) if self._noisy_estimates else 1.0,
                          transfer)
        self.running[job] = segment
        self._set_end_timer(job, segment, info.gpus)
        if self._service_workload[workload]:
            self.services.replica_started(workload, job, now)
        else:
            self._running_training += 1
            self.policy.on_start(job)

    def _estimate_ratio(self, job: int) -> float:
        duration = float(self.jobs.duration_s[job])
        return float(self.jobs.estimate_s[job]) / duration if 0 < duration < math.inf else 1.0

    def _set_end_timer(self, job: int, segment: Segment, gpus: int) -> None:
        """One timer per segment: its failure if that comes first, else its finish
        (replicas have no finish: they run until scaled down)."""
        now = segment.start
        failures = self.failures
        failure_at = failures.failure_at(now, gpus) if failures.rate_per_gpu_s > 0 else math.inf
        if failure_at < segment.end:
            event = self.env.timeout(failure_at - now, value=(job, segment.token))
            event.callbacks.append(self._on_failure)
        elif segment.end < math.inf:
            event = self.env.timeout(segment.end - now, value=(job, segment.token))
            event.callbacks.append(self._on_finish)

    def _stop(self, job: int, cause: int) -> Segment:
        """End the running segment of ``job`` now: release, log, update accounting."""
        now = self.env.now
        segment = self.running.pop(job)
        if not self.is_replica(job):
            self._running_training -= 1
        placement = segment.placement
        self.cluster.release(placement)
        gpus = sum(placement.gpus)
        self.budget.remove(placement.site, segment.power_w)
        if self.quotas.limits:
            self.quotas.stopped(int(self.jobs.tenant[job]), gpus)
        self.jobs.attained_gpu_s[job] += gpus * (now - segment.start)
        self.segments.add(job, placement.site, placement.group, gpus, segment.start, now,
                          segment.power_w, cause)
        return segment

    def _interrupt(self, job: int, cause: int) -> None:
        """Preemption (the job saves first, see :mod:`scheduler.runtime.checkpoints`) or
        failure (the work of completed checkpoints only)."""
        now = self.env.now
        jobs = self.jobs
        if self.is_replica(job):  # before _stop: the service reads the segment it forgets
            self.services.replica_stopped(int(jobs.workload[job]), job, now, requeued=True)
        segment = self._stop(job, cause)
        self.interruptions += 1
        kept, done = self.checkpoints.stop(job, segment, now, cause == PREEMPTED)
        jobs.remaining_s[job] = segment.remaining_at_start - kept
        jobs.lost_gpu_s[job] += segment.gpus * max(0.0, done - kept) / segment.speed
        if cause == PREEMPTED:
            jobs.preemptions[job] += 1
        else:
            jobs.failures[job] += 1
        jobs.status[job] = Status.PENDING

    def preempt(self, victims: list[int]) -> None:
        """Stop ``victims`` and put them back in their queue."""
        for victim in victims:
            self._interrupt(victim, PREEMPTED)
            self._requeue(victim)

    def _current(self, event: simpy.Event) -> tuple[int, Segment] | None:
        """The job of a segment timer, or None when that segment was interrupted since."""
        job, token = event.value  # type: ignore[misc]
        segment = self.running.get(job)
        if segment is None or segment.token != token:
            return None
        self.events += 1
        return job, segment

    def _on_finish(self, event: simpy.Event) -> None:
        job, token = event.value  # type: ignore[misc]
        segment = self.running.get(job)
        if segment is None or segment.token != token:
            return  # the segment was interrupted earlier
        self.events += 1
        self._stop(job, COMPLETED)
        jobs = self.jobs
        jobs.remaining_s[job] = 0.0
        jobs.status[job] = Status.COMPLETED
        jobs.end_s[job] = self.env.now
        if self.pending.jobs:
            self._cycle_now_or_later()

    def _on_failure(self, event: simpy.Event) -> None:
        current = self._current(event)
        if current is None:
            return
        spec = self.scenario.failures
        assert spec is not None
        node = self.failures.failed_node(current[1].placement.nodes)
        # Failures are rare next to starts: finding the jobs on the node by a scan here is
        # cheaper than keeping a node -> jobs index up to date at every start and stop.
        victims = sorted(j for j, s in self.running.items() if node in s.placement.nodes)
        for victim in victims:  # every job on the failed node stops
            self._interrupt(victim, FAILED)
            workload = self.scenario.workloads[int(self.jobs.workload[victim])]
            limit = getattr(workload, "max_retries", None)  # None: restart without limit
            if limit is not None and self.jobs.failures[victim] > limit:
                self.jobs.status[victim] = Status.FAILED
                self.jobs.end_s[victim] = self.env.now
            else:
                self._requeue(victim)
        self.cluster.set_down(node, self.env.now + spec.repair)
        self.node_repairs += 1
        self.env.timeout(spec.repair, value=node).callbacks.append(self._on_repair)
        self._request_cycle()

    def _on_repair(self, event: simpy.Event) -> None:
        self.events += 1
        self.cluster.set_up(int(event.value))  # type: ignore[arg-type]
        if self.pending.jobs:
            self._request_cycle()

    # ------------------------------------------------------------------ timed processes

    def _demand_response(self) -> Generator[simpy.Event, None, None]:
        """Apply cap changes at every window edge, in time order."""
        for edge in self.power.cap_edges():
            if edge > self.env.now:
                yield self.env.timeout(edge - self.env.now)
            self.events += 1
            self.budget.apply_caps_at(self.env.now)
            for window in self.power.windows:
                if window.preempt and window.start == edge:
                    self._shed_load(window.site)
            self._request_cycle()

    def _shed_load(self, site: int) -> None:
        """Preempt jobs at ``site`` (lowest priority, latest started first) until under cap."""
        victims = sorted((j for j, s in self.running.items() if s.placement.site == site),
                         key=lambda j: (int(self.jobs.priority[j]),
                                        -float(self.running[j].start), j))
        for victim in victims:
            if self.budget.budget[site] >= 0:
                break
            self.preempt([victim])

    def _signal_steps(self) -> Generator[simpy.Event, None, None]:
        """Drop cached keys and run a cycle whenever a site's carbon or price changes."""
        signals = [s for s in (*self.parts.carbon, *self.parts.price) if s is not None]
        horizon = self.scenario.duration
        while True:
            now = self.env.now
            step = min((s.next_change_after(now) for s in signals), default=math.inf)
            if step >= horizon or not math.isfinite(step):
                return
            yield self.env.timeout(step - now)
            self.events += 1
            self.keys.invalidate()
            if self.pending:
                self._request_cycle()

    def _progress(self) -> Generator[simpy.Event, None, None]:
        step = self.scenario.duration / 200.0
        while self.env.now < self.scenario.duration:
            self.progress.update(self.env.now, self.events)
            yield self.env.timeout(step)

    # ------------------------------------------------------------------ run

    def run(self) -> float:
        """Simulate to the horizon (or until drained); returns wall seconds."""
        started = time.perf_counter()
        for source in self.sources:
            self.env.process(self._arrivals(source))
        if self.power.windows:
            self.env.process(self._demand_response())
        if self.keys.varies_with_grid:
            self.env.process(self._signal_steps())
        if self.progress is not None:
            self.env.process(self._progress())
        self.services.start()
        horizon = self.scenario.duration
        self.stop.start()
        finished = self._run_until(horizon)
        if finished and self.scenario.drain:
            self._run_drain()
            self.end_time = max(horizon, self.env.now)
        else:
            self.end_time = horizon if finished else self.env.now
        self._close()
        if self.progress is not None:
            self.progress.update(self.end_time, self.events)
            self.progress.close()
        return time.perf_counter() - started

    def _run_until(self, until: float) -> bool:
        """Process events before ``until``; False when the stop control ended the run."""
        return run_until(self.env, until, self.stop, self)

    def _run_drain(self) -> None:
        """After the horizon: run until every admitted job ends (progress and signal timers
        stop at the horizon; failures keep happening)."""
        run_while(self.env, lambda: bool(self._running_training or self.pending
                                         or self.deferred), self.stop, self)

    def _close(self) -> None:
        """Mark what is still pending or running as unfinished at the end time."""
        jobs = self.jobs
        end = self.end_time
        for job in sorted(self.running):
            segment = self.running.pop(job)
            jobs.status[job] = Status.UNFINISHED
            self.segments.add(job, segment.placement.site, segment.placement.group,
                              segment.gpus, segment.start, end, segment.power_w, HORIZON)
            jobs.attained_gpu_s[job] += segment.gpus * (end - segment.start)
        waiting = [*self.pending.clear(), *sorted(self.deferred), *self.replicas_pending]
        for job in waiting:
            jobs.status[job] = Status.UNFINISHED
            if jobs.reason[job] < 0:
                jobs.reason[job] = Reason.BEHIND
        self.deferred.clear()
        self._drop_unarrived()

    def _drop_unarrived(self) -> None:
        """Jobs of a source's current chunk are in the table before they arrive; a run stopped
        early leaves some that never arrived: they were never submitted, so drop them."""
        keep = np.ones(self.jobs.size, dtype=bool)
        for first, end in self._unarrived.values():
            keep[first:end] = False
        if keep.all():
            return
        new_index = self.jobs.keep_rows(keep)
        self.pending_log.blockers.renumber(new_index)
        segment_jobs = self.segments.view("job")
        segment_jobs[:] = new_index[segment_jobs]
        self.replicas_pending.clear()
