"""The SimPy engine: arrivals, scheduling cycles, starts, preemptions, failures, finishes.

The engine knows time, not the domain: it keeps the pending queue, asks the placement
framework (``gpu/``) and the queue policy for decisions and applies them. Design points:

* No SimPy process per job. One process per workload feeds arrivals; a run segment's end
  (finish or failure) is a plain timeout with a callback; a stale one (its segment was
  interrupted) is ignored by its token.
* Events at one instant are coalesced into one scheduling cycle: the cycle event is scheduled
  with a priority below every normal event, so it runs after all of them at that time.
* Placement keys are computed in bulk per job *class* (workload x size x GPU-type
  constraint x kind) and cached while their inputs stay the same (grid signals change them:
  the cache is dropped at each signal step when a policy scores by carbon or price).
* Power caps are live: each site has a budget (cap in force - facility power now) that every
  start takes from; demand-response windows lower the cap, and may preempt.
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

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
from gpu.framework import pick, pick_ranked, ranked_columns
from scheduler.checkpoint import CheckpointPlan, segment_end, work_done, work_kept
from scheduler.cluster import Cluster, Placement, ReleaseSimulator
from scheduler.interrupt import StopControl
from scheduler.jobs import KIND_NAMES, SEGMENT_END, JobTable, SegmentLog, Status
from scheduler.network import Network
from scheduler.policies import QueuePolicy, make_queue_policy
from scheduler.power import KIND_POWER_FACTOR, PowerModel
from scheduler.scenario import InferenceWorkload, Scenario
from scheduler.services import ServiceManager
from scheduler.signals import Signal, build_grid
from scheduler.sources import TenantNames, WorkloadSource, build_sources

CYCLE_PRIORITY = 2
"""SimPy orders same-time events by (priority, id); NORMAL is 1, so 2 runs after them all."""

REASONS = (
    "larger than any allowed node group can hold",  # 0: rejected at arrival
    "waiting for free GPUs",                        # 1
    "queued behind the head of the line",           # 2
    "site power cap",                               # 3
    "tenant quota",                                 # 4
    "deferred to a low-carbon or low-price window",  # 5
    "waiting for a backfill reservation",           # 6
    "replica request cancelled by the autoscaler",  # 7
)
NEVER_FITS, WAITING, BEHIND, POWER_CAP, QUOTA, DEFERRED, BACKFILL, CANCELLED = range(8)
INFERENCE = KIND_NAMES.index("inference")
DYNAMIC_SCORES = frozenset({"replica-spread"})
"""Scores computed at each pick rather than once per job class (they depend on what the
previous placements of the cycle did)."""
FIRST_FILTER_REASON = len(REASONS)
COMPLETED, PREEMPTED, FAILED, HORIZON = (SEGMENT_END.index(n) for n in SEGMENT_END)


@dataclass(slots=True)
class Run:
    """A job's current run segment."""

    token: int
    placement: Placement
    start: float
    end: float
    remaining_at_start: float
    speed: float
    resumed: bool
    plan: CheckpointPlan
    power_w: float
    estimate_ratio: float


@dataclass(frozen=True)
class JobClassInfo:
    """What placement needs to know about interchangeable jobs."""

    gpus: int
    type_allowed: np.ndarray
    kind: int
    workload: int
    speed_by_type: np.ndarray
    fits: bool
    shape: JobShape
    speed_by_column: list[float]
    """Speed on each column's GPU type (Python list: read once per start)."""
    power_by_column: list[float]
    """Facility watts the job adds on each column (GPUs' extra draw x kind factor x PUE)."""


class Engine:
    """One simulation run. Build, :meth:`run`, then read the tables."""

    def __init__(self, scenario: Scenario, backend: Backend, seed: int,
                 filters: list[PluginCall], scores: list[PluginCall],
                 sources: list[WorkloadSource] | None = None, progress: Any = None,
                 stop: StopControl | None = None) -> None:
        self.scenario = scenario
        self.backend = backend
        self.seed = seed
        self.filters = filters
        self.scores = scores
        self.progress = progress
        self.stop = stop if stop is not None else StopControl()
        self.env = simpy.Environment()
        self.cluster = Cluster(scenario)
        self.power = PowerModel(scenario, self.cluster)
        self.network = Network(scenario)
        self.jobs = JobTable()
        self.segments = SegmentLog()
        self.tenants = TenantNames()
        self.sources = sources if sources is not None else build_sources(
            scenario, self.cluster.type_index, seed, self.tenants)
        rng_root = np.random.SeedSequence([seed, 0x5EED])
        failure_seed, estimate_seed, forecast_seed = rng_root.spawn(3)
        self._failure_rng = np.random.default_rng(failure_seed)
        self._exp_block: list[float] = []
        self._exp_index = 0
        failures = scenario.failures
        self._failure_rate_per_gpu_s = (failures.rate_per_gpu_hour / 3600.0
                                        if failures is not None else 0.0)
        self._estimate_rng = np.random.default_rng(estimate_seed)
        self._forecast_rng = np.random.default_rng(forecast_seed)
        self.reasons: list[str] = [*REASONS, *(c.plugin.reason for c in filters)]
        self.policy: QueuePolicy = make_queue_policy(scenario.policy.queue, self)

        self._pending_keys: list[tuple[float, ...]] = []
        self._pending_jobs: list[int] = []
        self._pending_class_count: dict[int, int] = {}
        """Pending jobs per job class (a cycle stops once every such class is blocked)."""
        self.deferred: set[int] = set()
        self.running: dict[int, Run] = {}
        self._token = 0
        self.events = 0
        self.cycles = 0
        self.end_time = 0.0
        self._unarrived: dict[int, list[int]] = {}
        """Per source, the job ids of its current chunk that have not arrived yet [a, b)."""
        self.pending_log: list[tuple[float, dict[int, int]]] = []
        """(time, {reason code: pending jobs}) after each cycle."""
        self.node_repairs = 0
        self._interruptions = 0
        """Preemptions and failures so far (they invalidate an EASY reservation)."""
        self._shadow_cache: tuple[int, float, int] | None = None

        # Job classes and their cached placement keys.
        self._class_of: dict[tuple[int, int, int, int], int] = {}
        self._classes: list[JobClassInfo] = []
        self._class_keys: dict[int, np.ndarray] = {}
        self._class_ranked: dict[int, list[int]] = {}
        """Per class, the columns it may use, best key first (fast path of picks)."""
        self._class_reason: dict[int, int] = {}
        self._columns_on_device: Columns | None = None
        self._cycle_scheduled = False

        # Capacity the walk consumes; counts are the cluster's own array.
        self._capacity = CapacityState.from_columns(self.cluster.columns, self.cluster.column_of)
        self._capacity.count = self.cluster.columns.count
        self._site_extra_it_w = np.zeros(len(self.cluster.site_names))
        self._base_it_w: list[float] = self.power.base_it_w.tolist()
        self._cap_now = self.power.cap_w.copy()
        self._budget = np.full(len(self.cluster.site_names), math.inf)
        if self.power.enforced:
            self._capacity.site_budget_w = self._budget
            self._refresh_budget()
        self._tenant_busy: dict[int, int] = {}
        """GPUs held per tenant (kept only when quotas are set)."""
        self._quota: dict[str, int] = dict(scenario.policy.quotas)
        self._pue: list[float] = self.power.pue.tolist()
        self._noisy_estimates = scenario.policy.estimates.estimate == "noisy"

        # Grid signals per site (default: the scenario's grid).
        self.carbon: list[Signal | None] = []
        self.price: list[Signal | None] = []
        for s, site in enumerate(scenario.sites):
            grid = site.grid if site.grid is not None else scenario.grid
            where = f"sites.{s}.grid" if site.grid is not None else "grid"
            carbon, price = build_grid(grid, scenario.source_dir, where)
            self.carbon.append(carbon)
            self.price.append(price)
        score_names = {c.plugin.name for c in scores}
        self._signal_scores = bool(score_names & {"carbon", "price"})
        self._fragmentation = "fragmentation" in score_names
        self._sizes_seen = np.zeros(int(self.cluster.group_size.max(initial=1)) + 2)
        """Jobs seen per GPU count (the last bucket: larger than any node), for the
        fragmentation score; keys are refreshed each time the count of arrivals doubles."""
        self._sizes_refresh_at = 16
        # Scores that change with every replica placed are added per pick on the host (one
        # row, B columns), so the bulk keys of a class stay valid while replicas start.
        self._dynamic_scores = [c for c in scores if c.plugin.name in DYNAMIC_SCORES]
        self._static_scores = [c for c in scores if c.plugin.name not in DYNAMIC_SCORES]
        self._site_arrays_cache: tuple[float, dict[str, Any]] | None = None

        self._workload_plans = [self._plan(w) for w in scenario.workloads]
        self._types_present = np.zeros(len(self.cluster.gpu_type_names), dtype=bool)
        self._types_present[self.cluster.group_type] = True
        self._replicas_pending: list[int] = []
        self._running_training = 0
        """Running jobs that are not service replicas (draining waits for these only)."""
        self.services = ServiceManager(self)
        self._service_workload = np.array([w in self.services.by_workload
                                           for w in range(len(scenario.workloads))], dtype=bool)

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _plan(workload: Any) -> CheckpointPlan:
        spec = getattr(workload, "checkpoint", None)
        if spec is None:
            return CheckpointPlan(None, 0.0, 0.0)
        return CheckpointPlan(spec.interval, spec.overhead, spec.restart)

    def _refresh_budget(self, site: int | None = None) -> None:
        if site is not None:
            self._budget[site] = self._cap_now[site] - (
                (self._base_it_w[site] + self._site_extra_it_w[site]) * self._pue[site])
            return
        facility = (self.power.base_it_w + self._site_extra_it_w) * self.power.pue
        self._budget[:] = self._cap_now - facility

    def facility_power_w(self, site: int) -> float:
        return float((self.power.base_it_w[site] + self._site_extra_it_w[site])
                     * self.power.pue[site])

    def attained_gpu_s(self, job: int) -> float:
        """GPU-seconds of service so far, including the running segment."""
        attained = float(self.jobs.attained_gpu_s[job])
        run = self.running.get(job)
        if run is not None:
            attained += sum(run.placement.gpus) * (self.env.now - run.start)
        return attained

    def speed_gain(self, job: int) -> float:
        """Best over worst speed of the job on the GPU types it may use in this cluster."""
        info = self._classes[int(self.jobs.job_class[job])]
        speeds = info.speed_by_type[info.type_allowed & self._types_present]
        return float(speeds.max() / speeds.min()) if speeds.size else 1.0

    def wake_at(self, when: float) -> None:
        """Run a scheduling cycle at ``when`` (policies' timers, signal steps)."""
        delay = max(0.0, when - self.env.now)
        self.env.timeout(delay).callbacks.append(self._on_wake)

    def _on_wake(self, _event: simpy.Event) -> None:
        self.events += 1
        if (self._pending_jobs or self.deferred) and not self._cycle_scheduled:
            self._schedule_cycle()

    # ------------------------------------------------------------------ job classes

    def _speed_table(self, workload: int) -> np.ndarray:
        speed = np.ones(len(self.cluster.gpu_type_names))
        for name, value in (self.scenario.workloads[workload].speedup or {}).items():
            if name in self.cluster.type_index:
                speed[self.cluster.type_index[name]] = value
        return speed

    def _class_ids(self, source: WorkloadSource, gpus: np.ndarray, type_key: np.ndarray,
                   kind: np.ndarray) -> np.ndarray:
        ids = np.empty(gpus.shape[0], dtype=np.int32)
        rows = np.stack([gpus, type_key, kind.astype(np.int64)], axis=1)
        unique, inverse = np.unique(rows, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        for row, (size, key, kind_code) in enumerate(unique.tolist()):
            signature = (source.index, size, key, kind_code)
            cls = self._class_of.get(signature)
            if cls is None:
                cls = len(self._classes)
                allowed = source.type_masks[key]
                cols = self.cluster.columns
                facility_w = self.power.job_facility_w(KIND_NAMES[kind_code], size,
                                                       cols.gpu_type, cols.site)
                speed = self._speed_table(source.index)
                self._class_of[signature] = cls
                self._classes.append(JobClassInfo(
                    gpus=size, type_allowed=allowed, kind=kind_code, workload=source.index,
                    speed_by_type=speed, fits=self.cluster.can_ever_fit(size, allowed),
                    shape=JobShape.of(size, self._capacity,
                                      facility_w if self.power.enforced else None),
                    speed_by_column=speed[cols.gpu_type].tolist(),
                    power_by_column=facility_w.tolist()))
            ids[inverse == row] = cls
        return ids

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

    def _site_arrays(self) -> dict[str, Any]:
        now = self.env.now
        if self._site_arrays_cache is not None and self._site_arrays_cache[0] == now:
            return self._site_arrays_cache[1]
        to = self.backend.asarray
        arrays: dict[str, Any] = {"pue": to(self.power.pue)}
        if self._fragmentation and self._sizes_seen.any():
            arrays["size_share"] = to(self._sizes_seen / self._sizes_seen.sum())
        for name, signals in (("carbon_g_per_kwh", self.carbon), ("price_eur_per_mwh", self.price)):
            if any(s is not None for s in signals):
                arrays[name] = to(np.array([s.value_at(now) if s is not None else 0.0
                                            for s in signals]))
        self._site_arrays_cache = (now, arrays)
        return arrays

    def _keys_for(self, classes: list[int]) -> None:
        """Evaluate filters and scores in bulk for classes without cached keys."""
        missing = sorted({c for c in classes if c not in self._class_keys})
        if not missing:
            return
        xp = self.backend.xp
        info = [self._classes[c] for c in missing]
        to = self.backend.asarray
        extra = {
            "power_w_per_gpu_by_type": to(np.stack([
                self.power.extra_w_per_gpu * KIND_POWER_FACTOR[KIND_NAMES[i.kind]] for i in info])),
            "speed_by_type": to(np.stack([i.speed_by_type for i in info])),
        }
        if self.services.services:
            extra["site_rtt_s"] = to(np.stack([self.services.site_rtt(i.workload) for i in info]))
        batch = JobBatch(gpus=to(np.array([i.gpus for i in info], dtype=np.int64)),
                         type_allowed=to(np.stack([i.type_allowed for i in info])), extra=extra)
        ctx = build_context(xp, batch, self._device_columns(), self._site_arrays(),
                            now=self.env.now)
        result = evaluate(self.backend, ctx, self.filters, self._static_scores)
        for row, cls in enumerate(missing):
            self._class_keys[cls] = result.keys[row]
            self._class_ranked[cls] = ranked_columns(result.keys[row])
            first = int(result.reason[row])
            self._class_reason[cls] = WAITING if first < 0 else FIRST_FILTER_REASON + first

    # ------------------------------------------------------------------ queue

    def _enqueue(self, job: int) -> None:
        key = self.policy.order_key(job)
        if not self._pending_keys or key >= self._pending_keys[-1]:
            self._pending_keys.append(key)  # the usual case: later arrivals sort last
            self._pending_jobs.append(job)
        else:
            index = bisect.bisect_right(self._pending_keys, key)
            self._pending_keys.insert(index, key)
            self._pending_jobs.insert(index, job)
        self.jobs.status[job] = Status.PENDING
        cls = int(self.jobs.job_class[job])
        self._pending_class_count[cls] = self._pending_class_count.get(cls, 0) + 1

    def _forget_class(self, cls: int) -> None:
        left = self._pending_class_count[cls] - 1
        if left:
            self._pending_class_count[cls] = left
        else:
            del self._pending_class_count[cls]

    def _requeue(self, job: int) -> None:
        """Back to waiting after a preemption or failure: replicas to the replica queue."""
        if self._is_replica(job):
            self.jobs.status[job] = Status.PENDING
            self._replicas_pending.append(job)
        else:
            self._enqueue(job)

    def _is_replica(self, job: int) -> bool:
        """A replica of an inference service (not a trace's inference request job)."""
        return bool(self._service_workload[self.jobs.workload[job]])

    def request_replica(self, workload: int) -> int:
        """A new replica of an inference service: a job placed before training jobs."""
        source = self.sources[workload]
        spec = self.scenario.workloads[workload]
        assert isinstance(spec, InferenceWorkload)
        gpus = np.array([spec.replica_gpus], dtype=np.int64)
        cls = self._class_ids(source, gpus, np.zeros(1, dtype=np.int64),
                              np.array([INFERENCE], dtype=np.int8))
        job = int(self.jobs.extend(np.array([self.env.now]), gpus, np.array([math.inf]),
                                   workload, cls, INFERENCE, self.tenants.index(spec.tenant),
                                   spec.priority)[0])
        if not self._classes[int(cls[0])].fits:
            self.jobs.status[job] = Status.REJECTED
            self.jobs.reason[job] = NEVER_FITS
            return job
        self._replicas_pending.append(job)
        if not self._cycle_scheduled:
            self._schedule_cycle()
        return job

    def cancel_replica(self, job: int) -> None:
        """Withdraw a replica request that has not started."""
        if job in self._replicas_pending:
            self._replicas_pending.remove(job)
        if self.jobs.status[job] == Status.PENDING:
            self.jobs.status[job] = Status.REJECTED
            self.jobs.reason[job] = CANCELLED
            self.jobs.end_s[job] = self.env.now

    def stop_replica(self, job: int) -> None:
        """Scale-down: the replica ends normally."""
        self._stop(job, COMPLETED)
        self.jobs.status[job] = Status.COMPLETED
        self.jobs.end_s[job] = self.env.now
        if (self._pending_jobs or self._replicas_pending) and not self._cycle_scheduled:
            self._schedule_cycle()

    def _place_replicas(self) -> None:
        """Place waiting replicas first, preempting training where the service allows."""
        still: list[int] = []
        for job in self._replicas_pending:
            if self.jobs.status[job] != Status.PENDING:
                continue
            cls = int(self.jobs.job_class[job])
            column, reason = self._pick(job, cls)
            spec = self.scenario.workloads[int(self.jobs.workload[job])]
            if column < 0 and getattr(spec, "preempt_training", False):
                column = self._preempt_for(job, cls)
            if column < 0:
                self.jobs.reason[job] = reason
                still.append(job)
                continue
            self._start(job, cls, column)
        self._replicas_pending = still

    def _drop_started(self, started: set[int]) -> None:
        keep = [i for i, job in enumerate(self._pending_jobs) if job not in started]
        for job in started:
            self._forget_class(int(self.jobs.job_class[job]))
        self._pending_keys = [self._pending_keys[i] for i in keep]
        self._pending_jobs = [self._pending_jobs[i] for i in keep]

    # ------------------------------------------------------------------ processes

    def _arrivals(self, source: WorkloadSource) -> Generator[simpy.Event, None, None]:
        env = self.env
        jobs = self.jobs
        workload = self.scenario.workloads[source.index]
        deferrable = getattr(workload, "deferrable", None)
        estimates = self.scenario.policy.estimates
        for chunk in source.chunks():
            classes = self._class_ids(source, chunk.gpus, chunk.type_key, chunk.kind)
            estimate = None
            if estimates.estimate == "noisy":
                noise = self._estimate_rng.standard_normal(chunk.gpus.shape[0])
                estimate = chunk.duration_s * np.exp(estimates.sigma * noise)
            ids = jobs.extend(chunk.arrival_s, chunk.gpus, chunk.duration_s, source.index,
                              classes, chunk.kind, chunk.tenant, workload.priority, estimate)
            last_bucket = self._sizes_seen.shape[0] - 1
            info = self._classes
            unarrived = [int(ids[0]), int(ids[-1]) + 1] if len(ids) else [0, 0]
            self._unarrived[source.index] = unarrived
            for job, at, cls in zip(ids.tolist(), chunk.arrival_s.tolist(), classes.tolist(),
                                    strict=True):
                delay = at - env.now
                if delay > 0:
                    yield env.timeout(delay)
                self.events += 1
                unarrived[0] = job + 1
                if self._fragmentation:
                    self._see_size(min(int(info[cls].gpus), last_bucket))
                if not info[cls].fits:
                    jobs.status[job] = Status.REJECTED
                    jobs.reason[job] = NEVER_FITS
                    continue
                if deferrable is not None:
                    release = self._release_time(job, deferrable)
                    if release > env.now:
                        self.deferred.add(job)
                        jobs.reason[job] = DEFERRED
                        env.timeout(release - env.now, value=job).callbacks.append(self._release)
                        continue
                self._enqueue(job)
                if not self._cycle_scheduled:
                    self._cycle_now_or_later()

    def _see_size(self, bucket: int) -> None:
        """Count an arrival's size; refresh the placement keys when arrivals double, so the
        fragmentation score follows the sizes seen so far without re-scoring every time."""
        self._sizes_seen[bucket] += 1
        if self._sizes_seen.sum() >= self._sizes_refresh_at:
            self._sizes_refresh_at *= 2
            self._site_arrays_cache = None
            self._class_keys.clear()
            self._class_ranked.clear()

    def _release_time(self, job: int, spec: Any) -> float:
        """Start of the window in [now, now + max_delay] with the lowest forecast mean signal
        over the job's expected run (capacity-weighted over the sites it may use)."""
        now = self.env.now
        signals = self.carbon if spec.signal == "carbon" else self.price
        info = self._classes[int(self.jobs.job_class[job])]
        weights = np.zeros(len(signals))
        for g in range(self.cluster.n_groups):
            if info.type_allowed[self.cluster.group_type[g]]:
                site = int(self.cluster.group_site[g])
                weights[site] += self.cluster.group_size[g] * self.cluster.group_count[g]
        usable = [(w, s) for w, s in zip(weights, signals, strict=True) if w > 0 and s is not None]
        if not usable:
            return now
        run = max(float(self.jobs.estimate_s[job]), 1.0)
        starts = now + np.arange(0.0, spec.max_delay + 1e-9, 1800.0)  # half-hour candidates
        means = sum(w * s.integrals(starts, starts + run) / run for w, s in usable)
        means = np.asarray(means) / sum(w for w, _ in usable)
        if spec.forecast_error > 0:
            means = means * (1 + spec.forecast_error
                             * self._forecast_rng.standard_normal(means.shape[0]))
        return float(starts[int(np.argmin(means))])

    def _release(self, event: simpy.Event) -> None:
        job = int(event.value)  # type: ignore[arg-type]
        self.events += 1
        self.deferred.discard(job)
        self.jobs.released_s[job] = self.env.now
        self._enqueue(job)
        if not self._cycle_scheduled:
            self._schedule_cycle()

    def _cycle_now_or_later(self) -> None:
        """Run the scheduling cycle at once when no other event waits at this instant (the
        coalesced cycle would then see exactly the same state), else schedule it after them.
        This saves an event per arrival in the common case, with identical decisions."""
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

    # ------------------------------------------------------------------ the cycle

    def _pick(self, job: int, cls: int) -> tuple[int, int]:
        """(column, -1) when the job fits now, else (-1, reason code)."""
        keys = self._class_keys.get(cls)
        if keys is None:
            self._keys_for([cls, *(int(self.jobs.job_class[j]) for j in self._pending_jobs[:256])])
            keys = self._class_keys[cls]
        shape = self._classes[cls].shape
        if self._dynamic_scores and self._is_replica(job):
            keys = self._with_dynamic_scores(keys, cls)
            column = pick(keys, self._capacity, shape)
        else:
            column = pick_ranked(self._class_ranked[cls], keys, self._capacity, shape)
        if column >= 0:
            return column, -1
        if self._class_reason[cls] != WAITING:
            return -1, self._class_reason[cls]
        if self._capacity.site_budget_w is not None and pick(keys, self._capacity, shape,
                                                             ignore_power=True) >= 0:
            return -1, POWER_CAP
        return -1, WAITING

    def _with_dynamic_scores(self, keys: np.ndarray, cls: int) -> np.ndarray:
        """Add the per-pick scores to a class's keys: key = total x B + tie-break, so the
        total is recovered exactly, increased, and the key rebuilt (host NumPy, one row)."""
        info = self._classes[cls]
        n_columns = keys.shape[0]
        batch = JobBatch(gpus=np.array([info.gpus], dtype=np.int64),
                         type_allowed=info.type_allowed[None, :],
                         extra={"site_replicas": self.services.site_replicas(info.workload)[None, :]})
        ctx = build_context(np, batch, self.cluster.columns)
        extra = np.zeros(n_columns, dtype=np.int64)
        for call in self._dynamic_scores:
            score = np.asarray(call.plugin.fn(ctx, **call.args)).reshape(-1).astype(np.int64)
            extra += score * call.weight_milli
        tie = keys % n_columns
        return np.where(keys >= 0, (keys // n_columns + extra) * n_columns + tie, -1)

    def _over_quota(self, job: int) -> bool:
        if not self._quota:
            return False
        tenant = int(self.jobs.tenant[job])
        limit = self._quota.get(self.tenants.names[tenant])
        return limit is not None and self._tenant_busy.get(tenant, 0) + int(self.jobs.gpus[job]) > limit

    def _cycle(self, _event: simpy.Event | None) -> None:
        """Try pending jobs in policy order; start what fits (see :mod:`scheduler.policies`)."""
        self._cycle_scheduled = False
        self.cycles += 1
        if self._replicas_pending:
            self._place_replicas()
        policy = self.policy
        blocking = policy.blocking
        jobs = self.jobs
        now = self.env.now
        if blocking == "strict" and not policy.preemptive and not policy.needs_order_each_cycle:
            self._strict_cycle(now)
            return
        order = self._pending_jobs
        if policy.needs_order_each_cycle and order:
            order = policy.order_pending(list(order))
        elif policy.preemptive:
            order = list(order)  # preempted jobs re-enter the queue while we walk it
        started: set[int] = set()
        blocked: dict[int, int] = {}  # class -> reason (capacity only shrinks without preemption)
        pending_classes = len(self._pending_class_count)
        shadow = math.inf
        for job in order:
            if len(blocked) == pending_classes and not policy.preemptive:
                break  # every class waiting has failed: nothing behind can start
            cls = int(jobs.job_class[job])
            if cls in blocked:
                # Capacity only shrinks within a cycle (until a preemption frees some), and a
                # later job outranks no more running jobs than an earlier one of its class.
                jobs.reason[job] = blocked[cls]
                if blocking == "strict":
                    break
                continue
            if self._over_quota(job):
                jobs.reason[job] = QUOTA
                if blocking == "strict":
                    break
                continue
            column, reason = self._pick(job, cls)
            if column < 0 and policy.preemptive:
                column = self._preempt_for(job, cls)
                if column >= 0:
                    blocked.clear()
            if column >= 0 and shadow < math.inf and not self._ends_before(job, cls, column, shadow):
                jobs.reason[job] = BACKFILL
                continue
            if column < 0:
                jobs.reason[job] = reason
                blocked[cls] = reason
                if blocking == "strict":
                    break
                if blocking == "easy" and shadow == math.inf:
                    shadow = self._reservation(job, cls)
                continue
            started.add(job)
            self._start(job, cls, column)
        if started:
            self._drop_started(started)
        self._log_pending(now, blocking == "strict")

    def _strict_cycle(self, now: float) -> None:
        """Strict head of line without preemption: start jobs from the front until one does
        not fit; what started is a prefix of the queue."""
        pending = self._pending_jobs
        jobs = self.jobs
        started = 0
        for job in pending:
            cls = int(jobs.job_class[job])
            if self._over_quota(job):
                jobs.reason[job] = QUOTA
                break
            column, reason = self._pick(job, cls)
            if column < 0:
                jobs.reason[job] = reason
                break
            self._start(job, cls, column)
            started += 1
        if started:
            for job in pending[:started]:
                self._forget_class(int(jobs.job_class[job]))
            del pending[:started]
            del self._pending_keys[:started]
        self._log_pending(now, True)

    def _log_pending(self, now: float, strict: bool) -> None:
        """Record why jobs wait from now until the next cycle. Strict FIFO evaluates only the
        head: the others are 'behind the head of the line'."""
        counts: dict[int, int] = {}
        pending = self._pending_jobs
        if pending:
            if strict:
                counts[int(self.jobs.reason[pending[0]])] = 1
                if len(pending) > 1:
                    counts[BEHIND] = len(pending) - 1
            else:
                codes, tally = np.unique(self.jobs.reason[np.asarray(pending)], return_counts=True)
                counts = {int(c): int(n) for c, n in zip(codes, tally, strict=True)}
        if self.deferred:
            counts[DEFERRED] = len(self.deferred)
        log = self.pending_log
        if log and log[-1][0] == now:
            log.pop()
        if counts or (log and log[-1][1]):
            log.append((now, counts))

    # ------------------------------------------------------------------ backfill

    def _estimated_end(self, job: int, run: Run) -> float:
        return run.start + run.estimate_ratio * (run.end - run.start)

    def _reservation(self, head: int, cls: int) -> float:
        """The head's reservation: computed when the job first blocks at the head and kept
        while it stays there. Ends only come earlier than estimated by then, and backfilled
        jobs end before it, so the promise holds without recomputing it every cycle (it is
        recomputed after a preemption or failure, which can move it later)."""
        cached = self._shadow_cache
        if cached is not None and cached[0] == head and cached[2] == self._interruptions:
            return cached[1]
        shadow = self._shadow_time(head, cls)
        self._shadow_cache = (head, shadow, self._interruptions)
        if math.isnan(self.jobs.reservation_s[head]):
            self.jobs.reservation_s[head] = shadow
        return shadow

    def _what_if(self) -> tuple[ReleaseSimulator, np.ndarray | None, CapacityState]:
        """A scratch copy of capacity (counts and power budgets) to release running jobs in,
        asking "would the job fit then?" without touching the cluster."""
        release = ReleaseSimulator(self.cluster)
        budget = None if self._capacity.site_budget_w is None else self._budget.copy()
        capacity = self._capacity
        state = CapacityState(release.count, capacity.group, capacity.site, capacity.gpu_type,
                              capacity.gpus_per_node, capacity.free, capacity.full_column,
                              capacity.column_of, budget)
        return release, budget, state

    def _shadow_time(self, job: int, cls: int) -> float:
        """EASY: the earliest time the blocked head fits, releasing running jobs in order of
        their estimated ends (power budgets released with them)."""
        keys = self._class_keys[cls]
        shape = self._classes[cls].shape
        release, budget, state = self._what_if()
        for end, other in sorted((self._estimated_end(j, r), j) for j, r in self.running.items()):
            run = self.running[other]
            release.release(run.placement)
            if budget is not None:
                budget[run.placement.site] += run.power_w
            if pick(keys, state, shape) >= 0:
                return max(end, self.env.now)
        return math.inf

    def _ends_before(self, job: int, cls: int, column: int, shadow: float) -> bool:
        info = self._classes[cls]
        speed = float(info.speed_by_type[self.cluster.columns.gpu_type[column]])
        ratio = float(self.jobs.estimate_s[job] / self.jobs.duration_s[job])
        plan = self._workload_plans[int(self.jobs.workload[job])]
        resumed = bool(self.jobs.preemptions[job] + self.jobs.failures[job])
        end = segment_end(self.env.now, float(self.jobs.remaining_s[job]), speed, plan, resumed)
        return self.env.now + ratio * (end - self.env.now) <= shadow

    # ------------------------------------------------------------------ preemption

    def _preempt_for(self, job: int, cls: int) -> int:
        """Stop outranked running jobs until ``job`` fits; -1 (nothing stopped) if even
        stopping all of them would not make room."""
        policy = self.policy
        jobs = self.jobs
        if self._is_replica(job):  # replicas displace training, lowest priority first
            victims = sorted((j for j in self.running if not self._is_replica(j)),
                             key=lambda j: (int(jobs.priority[j]), -float(jobs.start_s[j]), j))
        else:  # the queue policy's own preemption never stops inference replicas
            victims = sorted((j for j in self.running
                              if not self._is_replica(j) and policy.may_preempt(job, j)),
                             key=policy.victim_order)
        if not victims:
            return -1
        keys = self._class_keys[cls]
        shape = self._classes[cls].shape
        release, budget, state = self._what_if()
        needed = 0
        for needed, victim in enumerate(victims, start=1):  # noqa: B007
            run = self.running[victim]
            release.release(run.placement)
            if budget is not None:
                budget[run.placement.site] += run.power_w
            if pick(keys, state, shape) >= 0:
                break
        else:
            return -1
        for victim in victims[:needed]:
            self._interrupt(victim, PREEMPTED)
            self._requeue(victim)
        return pick(keys, self._capacity, shape)

    # ------------------------------------------------------------------ start / stop

    def _start(self, job: int, cls: int, column: int) -> None:
        jobs = self.jobs
        env = self.env
        now = env.now
        info = self._classes[cls]
        placement = self.cluster.place(column, info.gpus)
        speed = info.speed_by_column[column]
        workload = int(jobs.workload[job])
        plan = self._workload_plans[workload]
        resumed = bool(jobs.preemptions[job] or jobs.failures[job])
        remaining = float(jobs.remaining_s[job])
        if plan.interval is None and not resumed:
            end = now + remaining / speed  # the common case, without the general arithmetic
        else:
            end = segment_end(now, remaining, speed, plan, resumed)
        if resumed and jobs.site[job] >= 0 and jobs.site[job] != placement.site:
            checkpoint = getattr(self.scenario.workloads[workload], "checkpoint", None)
            size = (checkpoint.size_gb_per_gpu if checkpoint is not None else 0.0) * info.gpus
            end += self.network.transfer_s(int(jobs.site[job]), placement.site, size)
        if math.isnan(jobs.start_s[job]):
            jobs.start_s[job] = now
        jobs.status[job] = Status.RUNNING
        jobs.site[job] = placement.site
        jobs.reason[job] = -1
        power_w = info.power_by_column[column]
        self._site_extra_it_w[placement.site] += power_w / self._pue[placement.site]
        if self.power.enforced:
            self._refresh_budget(placement.site)
        if self._quota:
            tenant = int(jobs.tenant[job])
            self._tenant_busy[tenant] = self._tenant_busy.get(tenant, 0) + info.gpus
        self._token += 1
        ratio = 1.0
        if self._noisy_estimates:
            duration = float(jobs.duration_s[job])
            ratio = float(jobs.estimate_s[job]) / duration if 0 < duration < math.inf else 1.0
        run = Run(self._token, placement, now, end, remaining, speed, resumed, plan, power_w, ratio)
        self.running[job] = run
        failure_at = math.inf
        if self._failure_rate_per_gpu_s > 0:
            failure_at = now + self._next_exponential() / (self._failure_rate_per_gpu_s * info.gpus)
        if failure_at < end:
            event = env.timeout(failure_at - now, value=(job, run.token))
            event.callbacks.append(self._on_failure)
        elif end < math.inf:  # replicas run until scaled down
            event = env.timeout(end - now, value=(job, run.token))
            event.callbacks.append(self._on_finish)
        if self._service_workload[workload]:
            self.services.replica_started(workload, job, now)
        else:
            self._running_training += 1
            self.policy.on_start(job)

    def _next_exponential(self) -> float:
        """A unit exponential from the failure stream, drawn in blocks (one RNG call per
        65,536 starts instead of one per start)."""
        if self._exp_index >= len(self._exp_block):
            self._exp_block = self._failure_rng.exponential(1.0, 65536).tolist()
            self._exp_index = 0
        value = self._exp_block[self._exp_index]
        self._exp_index += 1
        return float(value)

    def _stop(self, job: int, cause: int) -> Run:
        """End the running segment of ``job`` now: release, log, update accounting."""
        now = self.env.now
        run = self.running.pop(job)
        if not self._is_replica(job):
            self._running_training -= 1
        placement = run.placement
        self.cluster.release(placement)
        gpus = sum(placement.gpus)
        self._site_extra_it_w[placement.site] -= run.power_w / self._pue[placement.site]
        if self.power.enforced:
            self._refresh_budget(placement.site)
        if self._quota:
            self._tenant_busy[int(self.jobs.tenant[job])] -= gpus
        self.jobs.attained_gpu_s[job] += gpus * (now - run.start)
        self.segments.add(job, placement.site, placement.group, gpus, run.start, now,
                          run.power_w, cause)
        return run

    def _interrupt(self, job: int, cause: int) -> None:
        """Preemption or failure: keep the work of completed checkpoints only."""
        now = self.env.now
        jobs = self.jobs
        if self._is_replica(job):  # before _stop: the service reads the run it forgets
            self.services.replica_stopped(int(jobs.workload[job]), job, now, requeued=True)
        run = self._stop(job, cause)
        self._interruptions += 1
        kept = work_kept(run.start, now, run.speed, run.plan, run.resumed)
        done = work_done(run.start, now, run.speed, run.plan, run.resumed)
        kept = min(kept, run.remaining_at_start)
        jobs.remaining_s[job] = run.remaining_at_start - kept
        jobs.lost_gpu_s[job] += sum(run.placement.gpus) * max(0.0, done - kept) / run.speed
        if cause == PREEMPTED:
            jobs.preemptions[job] += 1
        else:
            jobs.failures[job] += 1
        jobs.status[job] = Status.PENDING

    def _on_finish(self, event: simpy.Event) -> None:
        job, token = event.value  # type: ignore[misc]
        run = self.running.get(job)
        if run is None or run.token != token:
            return  # the segment was interrupted earlier
        self.events += 1
        self._stop(job, COMPLETED)
        jobs = self.jobs
        jobs.remaining_s[job] = 0.0
        jobs.status[job] = Status.COMPLETED
        jobs.end_s[job] = self.env.now
        if self._pending_jobs and not self._cycle_scheduled:
            self._cycle_now_or_later()

    def _on_failure(self, event: simpy.Event) -> None:
        job, token = event.value  # type: ignore[misc]
        run = self.running.get(job)
        if run is None or run.token != token:
            return
        self.events += 1
        spec = self.scenario.failures
        assert spec is not None
        nodes = run.placement.nodes
        node = int(nodes[int(self._failure_rng.integers(0, len(nodes)))])
        # Failures are rare next to starts: finding the jobs on the node by a scan here is
        # cheaper than keeping a node -> jobs index up to date at every start and stop.
        victims = sorted(j for j, r in self.running.items() if node in r.placement.nodes)
        for victim in victims:  # every job on the failed node stops
            self._interrupt(victim, FAILED)
            workload = self.scenario.workloads[int(self.jobs.workload[victim])]
            if self.jobs.failures[victim] > getattr(workload, "max_retries", math.inf):
                self.jobs.status[victim] = Status.FAILED
                self.jobs.end_s[victim] = self.env.now
            else:
                self._requeue(victim)
        self.cluster.set_down(node)
        self.node_repairs += 1
        self.env.timeout(spec.repair, value=node).callbacks.append(self._on_repair)
        if not self._cycle_scheduled:
            self._schedule_cycle()

    def _on_repair(self, event: simpy.Event) -> None:
        self.events += 1
        self.cluster.set_up(int(event.value))  # type: ignore[arg-type]
        if self._pending_jobs and not self._cycle_scheduled:
            self._schedule_cycle()

    # ------------------------------------------------------------------ power events

    def _demand_response(self) -> Generator[simpy.Event, None, None]:
        """Apply cap changes at every window edge, in time order."""
        edges = sorted({t for w in self.power.windows for t in (w.start, w.end)})
        for edge in edges:
            if edge > self.env.now:
                yield self.env.timeout(edge - self.env.now)
            self.events += 1
            for site in range(len(self._cap_now)):
                self._cap_now[site] = self.power.cap_at(site, self.env.now)
            self._refresh_budget()
            for window in self.power.windows:
                if window.preempt and window.start == edge:
                    self._shed_load(window.site)
            if not self._cycle_scheduled:
                self._schedule_cycle()

    def _shed_load(self, site: int) -> None:
        """Preempt jobs at ``site`` (lowest priority, latest started first) until under cap."""
        victims = sorted((j for j, r in self.running.items() if r.placement.site == site),
                         key=lambda j: (int(self.jobs.priority[j]),
                                        -float(self.running[j].start), j))
        for victim in victims:
            if self._budget[site] >= 0:
                break
            self._interrupt(victim, PREEMPTED)
            self._requeue(victim)

    def _signal_steps(self) -> Generator[simpy.Event, None, None]:
        """Drop cached keys and run a cycle whenever a site's carbon or price changes."""
        signals = [s for s in (*self.carbon, *self.price) if s is not None]
        horizon = self.scenario.duration
        while True:
            now = self.env.now
            step = min((s.next_change_after(now) for s in signals), default=math.inf)
            if step >= horizon or not math.isfinite(step):
                return
            yield self.env.timeout(step - now)
            self.events += 1
            self._class_keys.clear()
            self._class_ranked.clear()
            if self._pending_jobs and not self._cycle_scheduled:
                self._schedule_cycle()

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
        if self._signal_scores:
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
        """Process events before ``until`` (then move the clock there); False when the stop
        control ended the run early. Same order as ``env.run(until)``: events at ``until``
        itself are left for later, as SimPy does."""
        env = self.env
        stop = self.stop
        every = stop.CHECK_EVERY
        max_events = stop.max_events if stop.max_events is not None else math.inf
        steps = 0
        while env.peek() < until:
            env.step()
            steps += 1
            if (stop.reason is not None or self.events >= max_events
                    or (steps % every == 0 and stop.check(self.events))):
                stop.check(self.events)
                return False
        if stop.check(self.events):
            return False
        env.run(until=until)
        return True

    def _run_drain(self) -> None:
        """After the horizon: run until every admitted job ends (progress and signal timers
        stop at the horizon; failures keep happening)."""
        env = self.env
        stop = self.stop
        max_events = stop.max_events if stop.max_events is not None else math.inf
        steps = 0
        while self._running_training or self._pending_jobs or self.deferred:
            if env.peek() == math.inf:  # nothing scheduled: what waits can never start
                break
            env.step()
            steps += 1
            if (stop.reason is not None or self.events >= max_events
                    or (steps % stop.CHECK_EVERY == 0 and stop.check(self.events))):
                stop.check(self.events)
                break

    def _close(self) -> None:
        """Mark what is still pending or running as unfinished at the end time."""
        jobs = self.jobs
        end = self.end_time
        for job in sorted(self.running):
            run = self.running.pop(job)
            jobs.status[job] = Status.UNFINISHED
            self.segments.add(job, run.placement.site, run.placement.group,
                              sum(run.placement.gpus), run.start, end, run.power_w, HORIZON)
            jobs.attained_gpu_s[job] += sum(run.placement.gpus) * (end - run.start)
        for job in [*self._pending_jobs, *sorted(self.deferred), *self._replicas_pending]:
            jobs.status[job] = Status.UNFINISHED
            if jobs.reason[job] < 0:
                jobs.reason[job] = BEHIND
        self._pending_jobs.clear()
        self._pending_keys.clear()
        self._pending_class_count.clear()
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
        segment_jobs = self.segments.view("job")
        segment_jobs[:] = new_index[segment_jobs]
        self._replicas_pending.clear()

