"""Inference services on the shared fleet: replicas, autoscaling, latency and SLOs.

Each ``kind: inference`` workload is a service. Its replicas are jobs of ``replica_gpus``
GPUs that run until scaled down; the engine places them before training jobs (and may
preempt training for them). Every ``autoscale.interval`` the service:

1. accounts the step that ends: requests = mean rate x step; latency from the replicas that
   were serving (ready) during it, with the aggregate queueing model (M/G/c, Allen-Cunneen)
   or, with ``fidelity: request``, from simulated requests; SLO attainment; GPU power by load.
   Requests the ready replicas could not start are carried into the next step as a backlog
   (``backlog: carry``, :mod:`scheduler.inference.backlog`) and wait ahead of its arrivals;
2. decides the replica count for the next step (utilisation target, SLO, or fixed) for the
   step's arrivals plus the backlog to drain, and asks the engine for more replicas or stops
   surplus ones (after the cooldown).

Replica power: while serving, a GPU draws ``idle + (busy - idle) x (0.3 + 0.5 u)`` with ``u``
the service's slot utilisation (about 0.5-0.7 x TDP at typical loads: POLCA). Placement
reserves the full-load figure (``u = 1``) against power caps; the accounting then subtracts
what the actual load did not draw, step by step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np

from scheduler.growth import GrowthCurve, grown_arrivals, workload_growth
from scheduler.inference.backlog import FluidStep, delayed_cdf, fluid_step
from scheduler.inference.latency import InfeasibleError, aggregate_latency, replicas_needed
from scheduler.inference.models import ReplicaModel, demand_profile, hourly_rates
from scheduler.inference.service_perf import present_gpu_types, service_performance
from scheduler.network import great_circle_km
from scheduler.row_log import FloatRows
from scheduler.scenario import DailyWeeklyProfile, InferenceWorkload

if TYPE_CHECKING:
    from scheduler.cluster import Cluster
    from scheduler.runtime.handle import SchedulerHandle
    from scheduler.scenario import Scenario

CITIES = {
    "Lille": (50.629, 3.057),
    "Paris": (48.857, 2.352),
    "Brussels": (50.847, 4.357),
    "London": (51.507, -0.128),
}
"""Built-in user locations (decimal degrees)."""
DEFAULT_USERS = {"Lille": 0.4, "Paris": 0.3, "Brussels": 0.15, "London": 0.15}
LOAD_POWER_IDLE_SHARE = 0.3
LOAD_POWER_SLOPE = 0.5
"""Replica GPU power = idle + (busy - idle) x (0.3 + 0.5 u): 0.47-0.82 x TDP for an H100."""
RESERVED_POWER_SHARE = LOAD_POWER_IDLE_SHARE + LOAD_POWER_SLOPE
WEEK_S = 7 * 86400.0
QUADRATURE_POINTS = 64
_NORMAL_POINTS = np.array([NormalDist().inv_cdf((k + 0.5) / QUADRATURE_POINTS)
                           for k in range(QUADRATURE_POINTS)])


def prefill_points(model: ReplicaModel, speed: float, rtt_s: float) -> np.ndarray:
    """Equal-probability points of prefill time + round trip (prefill is lognormal: input
    tokens / prefill speed), for integrating over requests' own prompt lengths."""
    median = model.input.median / (model.prefill_tokens_per_s * speed)
    return median * np.exp(model.input.sigma * _NORMAL_POINTS) + rtt_s


def ttft_cdf(x: float | np.ndarray, wait_probability: float, tail_rate: float,
             points: np.ndarray) -> np.ndarray:
    """P(TTFT <= x) with TTFT = wait + prefill + RTT, the wait being 0 with probability
    1 - C and exponential(tail_rate) otherwise, independent of the prompt."""
    x = np.asarray(x, dtype=np.float64)[..., None]
    slack = x - points
    ok = slack >= 0
    waited = wait_probability * np.exp(-tail_rate * np.where(ok, slack, 0.0))
    return np.asarray(np.mean(np.where(ok, 1.0 - waited, 0.0), axis=-1))


@dataclass
class StepRecord:
    """One accounted step of a service."""

    start: float
    end: float
    rate_rps: float
    ready: int
    utilization: float
    ttft_mean_s: float
    ttft_p_s: float
    tpot_s: float
    attainment: float
    wait_probability: float = 0.0
    """P(wait > 0) of the step's queueing model (aggregate fidelity)."""
    tail_rate: float = math.inf
    """Decay rate of the wait's tail: P(wait > t) = wait_probability x exp(-tail_rate t)."""
    fixed_s: float = 0.0
    """TTFT without waiting: mean prefill + network round trip."""
    prefill_points: np.ndarray | None = None
    """Equal-probability points of the prefill time (+ round trip) distribution."""
    backlog_start: float = 0.0
    """Requests carried from earlier steps, waiting when the step starts."""
    backlog_share: float = 0.0
    """Fraction of the step's arrivals that waited behind a backlog (aggregate fidelity)."""
    delay_first_s: float = 0.0
    """Their wait behind the backlog: uniform from this (first arrival) ..."""
    delay_last_s: float = 0.0
    """... to this (last arrival that still found a backlog)."""
    requests: float = 0.0
    """Requests accounted in the step: arrivals (aggregate) or requests served (request)."""

    def ttft_cdf(self, x: float | np.ndarray) -> np.ndarray:
        """P(TTFT <= x) over the step's requests: behind the backlog, or the M/G/c wait."""
        assert self.prefill_points is not None
        share = self.backlog_share
        queue = (ttft_cdf(x, self.wait_probability, self.tail_rate, self.prefill_points)
                 if share < 1 else 0.0)
        delayed = (delayed_cdf(x, self.delay_first_s, self.delay_last_s, self.prefill_points)
                   if share > 0 else 0.0)
        return np.asarray(share * delayed + (1 - share) * queue)


@dataclass
class ServiceState:
    """A service's replicas and history."""

    index: int
    spec: InferenceWorkload
    model: ReplicaModel
    daily: np.ndarray | None
    weekly: np.ndarray | None
    site_rtt_s: np.ndarray
    """User-weighted round trip from the service's users to each site."""
    pending: list[int] = field(default_factory=list)
    serving: dict[int, float] = field(default_factory=dict)
    """Running replica job -> time it is ready to serve (start + model load)."""
    loading: dict[int, float] = field(default_factory=dict)
    """The serving replicas still loading their model (ready time in the future)."""
    site_count: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Running replicas per site."""
    site_power_w: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Facility watts reserved by running replicas per site (full-load figure)."""
    sum_speed: float = 0.0
    sum_speed_rtt: float = 0.0
    started_in_step: list[int] = field(default_factory=list)
    desired_memo: dict[tuple[float, float, float], int] = field(default_factory=dict)
    """Replica counts already worked out for a (rate, speed, round trip)."""
    """Replicas started since the last accounted step."""
    last_scale_up: float = -math.inf
    scale_ups: int = 0
    scale_downs: int = 0
    steps: list[StepRecord] = field(default_factory=list)
    requests: float = 0.0
    tokens: float = 0.0
    met: float = 0.0
    samples_ttft: list[np.ndarray] = field(default_factory=list)
    hourly: np.ndarray | None = None
    """Request rate in each of the 168 hours of a week (None: flat)."""
    fit_limit: int = 1_000_000
    """Most replicas the cluster could ever hold (GPUs of the allowed types / replica GPUs):
    requests beyond it could never start, so the autoscaler never makes them."""
    cumulative: np.ndarray | None = None
    """Expected requests at each hour boundary of a week (169 values)."""
    backlog: float = 0.0
    """Requests waiting for a slot now, carried from the steps accounted so far."""
    carried: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    """Request fidelity: the waiting requests (arrival relative to the next step's start,
    prefill, slot holding time)."""
    slot_free: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Request fidelity: when each busy slot frees, relative to the next step's start."""
    peak_backlog: float = 0.0
    """Largest backlog carried out of a step."""
    growth: GrowthCurve | None = None
    """Demand growth of the request rate (None: none)."""
    last_wanted: int | None = None
    """With growth: the last replica count worked out, the first guess for the next step
    (the rate moves a little each step, so the answer rarely changes)."""

    def __post_init__(self) -> None:
        if self.daily is not None or self.weekly is not None:
            self.hourly = hourly_rates(self.spec.requests.rate_per_second, self.daily,
                                       self.weekly)
            self.cumulative = np.concatenate([[0.0], np.cumsum(self.hourly * 3600.0)])


def _profile(spec: InferenceWorkload) -> tuple[np.ndarray | None, np.ndarray | None]:
    profile = spec.requests.profile
    if isinstance(profile, DailyWeeklyProfile):
        daily = np.asarray(profile.daily) if profile.daily is not None else None
        weekly = np.asarray(profile.weekly) if profile.weekly is not None else None
        return daily, weekly
    if profile == "flat":
        return None, None
    daily, weekly = demand_profile(profile)
    return daily, weekly


def _fit_limit(cluster: Cluster, spec: InferenceWorkload) -> int:
    allowed = set(spec.gpu_types) if spec.gpu_types else None
    gpus = sum(int(size) * int(count) for kind, size, count in
               zip(cluster.group_type, cluster.group_size, cluster.group_count, strict=True)
               if allowed is None or cluster.gpu_type_names[kind] in allowed)
    return max(1, gpus // spec.replica_gpus)


def user_rtt_by_site(scenario: Scenario, users: dict[str, float]) -> np.ndarray:
    """Request-weighted round trip (s) from the users' cities to each site (fibre model)."""
    spec = scenario.network
    total = sum(users.values()) or 1.0
    rtt = np.zeros(len(scenario.sites))
    for s, site in enumerate(scenario.sites):
        if site.location is None:
            continue
        for city, share in users.items():
            lat, lon = CITIES[city]
            km = great_circle_km(lat, lon, site.location.lat, site.location.lon)
            rtt[s] += share / total * 2 * km * spec.route_factor * spec.fibre_us_per_km * 1e-6
    return rtt


class ServiceManager:
    """All inference services of a run (none when the scenario has no such workload)."""

    def __init__(self, handle: SchedulerHandle, scenario: Scenario, cluster: Cluster,
                 seed: int) -> None:
        self.handle = handle
        self.n_sites = len(scenario.sites)
        self.horizon = scenario.duration
        self.services: list[ServiceState] = []
        for index, workload in enumerate(scenario.workloads):
            if not isinstance(workload, InferenceWorkload):
                continue
            model = service_performance(workload, present_gpu_types(scenario)).model
            daily, weekly = _profile(workload)
            users = workload.users if workload.users is not None else DEFAULT_USERS
            self.services.append(ServiceState(
                index, workload, model, daily, weekly, user_rtt_by_site(scenario, users),
                site_count=np.zeros(self.n_sites), site_power_w=np.zeros(self.n_sites),
                fit_limit=_fit_limit(cluster, workload),
                growth=workload_growth(workload, scenario.start)))
        self.by_workload = {s.index: s for s in self.services}
        self.adjustments = FloatRows(5)
        """(workload, site, start, end, facility watts): corrections of replica power by load,
        per service and site (negative: the load drew less than the reservation)."""
        self._rng = np.random.default_rng(np.random.SeedSequence([seed, 0x1F]))

    # ------------------------------------------------------------------ processes

    def start(self) -> None:
        for service in self.services:
            self.handle.every(partial(self._autoscaler, service))

    def _autoscaler(self, service: ServiceState) -> Any:
        handle = self.handle
        interval = service.spec.autoscale.interval
        horizon = self.horizon
        self._scale(service, handle.now, interval)
        while handle.now < horizon:
            step = min(interval, horizon - handle.now)
            # The last step ends at the horizon, where the run stops: account it before.
            yield handle.sleep(step) if handle.now + step < horizon else handle.sleep_to_end(step)
            handle.count_event()
            self._account(service, handle.now - step, handle.now)
            if handle.now < horizon:
                self._scale(service, handle.now, min(interval, horizon - handle.now))

    def mean_rate(self, service: ServiceState, t0: float, t1: float) -> float:
        """Mean request rate over [t0, t1): the weekly hourly profile (times the demand
        growth) integrated exactly."""
        if service.growth is not None:
            return grown_arrivals(service.growth, service.hourly,
                                  service.spec.requests.rate_per_second, t0, t1) / (t1 - t0)
        if service.hourly is None:
            return service.spec.requests.rate_per_second
        return (self._requests_until(service, t1) - self._requests_until(service, t0)) / (t1 - t0)

    @staticmethod
    def _requests_until(service: ServiceState, t: float) -> float:
        """Expected requests from time 0 to ``t`` (piecewise-linear in t)."""
        assert service.hourly is not None and service.cumulative is not None
        weeks, within = divmod(t, WEEK_S)
        hour = min(int(within // 3600.0), 167)
        return float(weeks * service.cumulative[-1] + service.cumulative[hour]
                     + service.hourly[hour] * (within - hour * 3600.0))

    # ------------------------------------------------------------------ scaling

    def _speed_and_rtt(self, service: ServiceState,
                       exclude: dict[int, float] | None = None) -> tuple[float, float]:
        """Mean speed and capacity-weighted user round trip of the running replicas (kept as
        running sums), leaving out ``exclude`` (e.g. those still loading)."""
        count = len(service.serving)
        speed_sum, rtt_sum = service.sum_speed, service.sum_speed_rtt
        for job in exclude or ():
            run = self.handle.running[job]
            count -= 1
            speed_sum -= run.speed
            rtt_sum -= run.speed * service.site_rtt_s[run.placement.site]
        if count <= 0 or speed_sum <= 0:
            return 1.0, 0.0
        return speed_sum / count, rtt_sum / speed_sum

    def _desired(self, service: ServiceState, rate: float) -> int:
        spec = service.spec.autoscale
        if spec.mode == "fixed":
            return spec.min_replicas
        speed, rtt = self._speed_and_rtt(service)
        # The demand profile is hourly and replicas are mostly of one speed: the same
        # question comes back step after step, and the queueing search is not free.
        memo_key = (rate, round(speed, 9), round(rtt, 12))
        if memo_key in service.desired_memo:
            return service.desired_memo[memo_key]
        slo = service.spec.slo
        guess = service.last_wanted  # None without growth: the search as it always was
        try:
            if spec.mode == "utilization":
                wanted = replicas_needed(rate, service.model, speed,
                                         target_utilization=spec.target_utilization,
                                         max_replicas=spec.max_replicas, min_replicas=0,
                                         guess=guess)
            else:
                wanted = replicas_needed(rate, service.model, speed, ttft_slo_s=slo.ttft,
                                         percentile=slo.percentile, network_rtt_s=rtt,
                                         max_replicas=spec.max_replicas, min_replicas=0,
                                         guess=guess)
        except InfeasibleError:
            wanted = spec.max_replicas
        if service.growth is not None:
            service.last_wanted = wanted
        desired = max(spec.min_replicas, min(spec.max_replicas, wanted))
        if len(service.desired_memo) > 4096:
            service.desired_memo.clear()
        service.desired_memo[memo_key] = desired
        return desired

    def _scale(self, service: ServiceState, now: float, step: float) -> None:
        # Size for the step's arrivals plus the backlog, drained over the step.
        rate = self.mean_rate(service, now, now + step) + service.backlog / step
        desired = min(self._desired(service, rate), service.fit_limit)
        active = len(service.pending) + len(service.serving)
        handle = self.handle
        if desired > active:
            service.scale_ups += 1
            service.last_scale_up = now
            for _ in range(desired - active):
                job = handle.request_replica(service.index)
                service.pending.append(job)
        elif desired < active and now - service.last_scale_up >= service.spec.autoscale.cooldown:
            service.scale_downs += 1
            surplus = active - desired
            while surplus and service.pending:  # cancel requests not yet placed first
                handle.cancel_replica(service.pending.pop())
                surplus -= 1
            for job in sorted(service.serving, key=lambda j: -service.serving[j])[:surplus]:
                self._release(service, job, now)
                handle.stop_replica(job)

    # ------------------------------------------------------------------ placement inputs

    def site_rtt(self, workload: int) -> np.ndarray:
        """User round trip per site for a service's replicas (zeros for other workloads)."""
        service = self.by_workload.get(workload)
        return service.site_rtt_s if service is not None else np.zeros(self.n_sites)

    def site_replicas(self, workload: int) -> np.ndarray:
        """Replicas of a service running per site now (zeros for other workloads)."""
        service = self.by_workload.get(workload)
        if service is None:
            return np.zeros(self.n_sites)
        return service.site_count.copy()

    # ------------------------------------------------------------------ engine callbacks

    def replica_started(self, workload: int, job: int, now: float) -> None:
        service = self.by_workload[workload]
        if job in service.pending:
            service.pending.remove(job)
        ready_at = now + service.spec.autoscale.scale_up_delay
        service.serving[job] = ready_at
        service.started_in_step.append(job)
        if ready_at > now:
            service.loading[job] = ready_at
        run = self.handle.running[job]
        site = run.placement.site
        service.site_count[site] += 1
        service.site_power_w[site] += run.power_w
        service.sum_speed += run.speed
        service.sum_speed_rtt += run.speed * service.site_rtt_s[site]

    def replica_stopped(self, workload: int, job: int, now: float, requeued: bool) -> None:
        """A replica was preempted or failed: it stops serving (and waits again if requeued)."""
        service = self.by_workload[workload]
        self._release(service, job, now)
        if requeued:
            service.pending.append(job)

    def _release(self, service: ServiceState, job: int, now: float) -> None:
        """Forget a replica that stops serving (call while it is still running)."""
        if service.serving.pop(job, None) is None:
            return
        service.loading.pop(job, None)
        run = self.handle.running[job]
        site = run.placement.site
        service.site_count[site] -= 1
        service.site_power_w[site] -= run.power_w
        service.sum_speed -= run.speed
        service.sum_speed_rtt -= run.speed * service.site_rtt_s[site]

    # ------------------------------------------------------------------ accounting

    def _account(self, service: ServiceState, t0: float, t1: float) -> None:
        rate = self.mean_rate(service, t0, t1)
        for job, at in list(service.loading.items()):
            if at <= t0:
                del service.loading[job]
        ready = len(service.serving) - len(service.loading)
        speed, rtt = self._speed_and_rtt(service, exclude=service.loading)
        if service.spec.fidelity == "request":
            record, arrived, met = self._simulate_step(service, t0, t1, rate, ready, speed, rtt)
        else:
            record = self._aggregate_step(service, t0, t1, rate, ready, speed, rtt)
            arrived = met = rate * (t1 - t0)
            met *= record.attainment
        if service.spec.backlog == "drop":
            service.backlog, service.carried = 0.0, None
        service.peak_backlog = max(service.peak_backlog, service.backlog)
        service.steps.append(record)
        service.requests += arrived
        service.tokens += arrived * (service.model.input.mean + service.model.output.mean)
        service.met += met
        self._power_by_load(service, t0, t1, min(1.0, record.utilization))

    def _aggregate_step(self, service: ServiceState, t0: float, t1: float, rate: float,
                        ready: int, speed: float, rtt: float) -> StepRecord:
        """The step's latency by the M/G/c model, with the fluid backlog ahead of it."""
        slo = service.spec.slo
        model = service.model
        est = aggregate_latency(rate, ready, model, speed, slo.percentile, slo.ttft, rtt)
        tpot_ok = 1.0 if est.tpot_s <= slo.tpot else 0.0
        mean_s, scv = model.service_time_s(speed)
        capacity = ready * model.slots / mean_s
        tail_rate = (capacity - rate) / ((1 + scv) / 2) if est.stable else 0.0
        points = prefill_points(model, speed, rtt)
        # Attainment over the requests' own prompt lengths (not only the mean prefill).
        met = (float(ttft_cdf(slo.ttft, est.wait_probability, tail_rate, points))
               if est.stable and ready else 0.0)
        record = StepRecord(t0, t1, rate, ready, est.utilization, est.ttft_mean_s,
                            est.ttft_p_s, est.tpot_s, met * tpot_ok,
                            est.wait_probability if est.stable else 1.0, tail_rate,
                            model.prefill_s(speed) + rtt, points, service.backlog,
                            requests=rate * (t1 - t0))
        fluid = fluid_step(service.backlog, rate, capacity, t1 - t0)
        service.backlog = fluid.backlog_end
        if fluid.share > 0:
            _behind_backlog(record, fluid, capacity, met, tpot_ok, slo.ttft, slo.percentile)
        return record

    def _simulate_step(self, service: ServiceState, t0: float, t1: float, rate: float,
                       replicas: int, speed: float,
                       rtt: float) -> tuple[StepRecord, float, float]:
        """Simulated requests of the step, behind those carried from earlier steps and on
        slots still busy with them; returns (record over the requests that got a slot,
        requests arrived, requests that met the SLO)."""
        from scheduler.inference.requests import fcfs_queue_from

        rng = self._rng
        length = t1 - t0
        n = int(rng.poisson(rate * length))
        arrivals = np.sort(rng.uniform(0.0, length, size=n))
        inputs = service.model.input.sample(rng, n)
        outputs = service.model.output.sample(rng, n)
        prefill, hold = service.model.service_times(inputs, outputs, speed)
        backlog = service.backlog
        if service.carried is not None:  # earlier arrivals first (FCFS), at negative times
            arrivals, prefill, hold = (np.concatenate([old, new]) for old, new in
                                       zip(service.carried, (arrivals, prefill, hold),
                                           strict=True))
        slo = service.spec.slo
        tpot = service.model.tpot_s(speed)
        carry = service.spec.backlog == "carry"
        slots = replicas * service.model.slots
        # Slots busy past the step's start keep their work (the earliest to free, when
        # replicas were stopped); new slots are free from the start.
        busy = service.slot_free[:slots] if carry else np.zeros(0)
        free_at = np.concatenate([busy, np.zeros(max(0, slots - busy.size))])
        wait, free_at = (fcfs_queue_from(arrivals, hold, free_at, length if carry else math.inf)
                         if slots else (np.zeros(0), free_at))
        served = wait.size
        service.slot_free = np.maximum(free_at - length, 0.0)
        service.carried = ((arrivals[served:] - length, prefill[served:], hold[served:])
                           if served < arrivals.size else None)
        service.backlog = float(arrivals.size - served)
        if served == 0:
            return (StepRecord(t0, t1, rate, replicas, 0.0 if arrivals.size == 0 else math.inf,
                               math.inf if arrivals.size else 0.0,
                               math.inf if arrivals.size else 0.0, tpot,
                               0.0 if arrivals.size else 1.0, backlog_start=backlog), n, 0.0)
        ttft = wait + prefill[:served] + rtt
        service.samples_ttft.append(ttft)
        met_count = float(np.sum(ttft <= slo.ttft)) if tpot <= slo.tpot else 0.0
        utilization = float(hold[:served].sum() / (slots * length))
        return (StepRecord(t0, t1, rate, replicas, utilization, float(ttft.mean()),
                           float(np.quantile(ttft, slo.percentile)), tpot, met_count / served,
                           backlog_start=backlog, requests=float(served)), n, met_count)

    def _power_by_load(self, service: ServiceState, t0: float, t1: float, load: float) -> None:
        """Subtract, per site, the power the step's load did not draw: (reserved share -
        actual share) of the replicas' (busy - idle) watts, x PUE. Replicas still loading
        their model draw the idle-share figure until they are ready."""
        share = LOAD_POWER_IDLE_SHARE + LOAD_POWER_SLOPE * load
        serving_cut = 1 - share / RESERVED_POWER_SHARE
        loading_cut = 1 - LOAD_POWER_IDLE_SHARE / RESERVED_POWER_SHARE
        for site in np.flatnonzero(service.site_power_w > 0).tolist():
            watts = float(service.site_power_w[site])
            self.adjustments.append((service.index, site, t0, t1, -watts * serving_cut))
        handle = self.handle
        for job, ready_at in service.loading.items():  # few: only replicas just started
            run = handle.running[job]
            a, b = max(t0, run.start), min(t1, ready_at)
            if b > a:  # while loading: the idle share instead of the load's share
                self.adjustments.append((service.index, run.placement.site, a, b,
                                         -run.power_w * (loading_cut - serving_cut)))
        for job in service.started_in_step:
            started = handle.running.get(job)
            if started is not None and started.start > t0:  # nothing ran before its start
                self.adjustments.append((service.index, started.placement.site, t0,
                                         started.start, started.power_w * serving_cut))
        service.started_in_step.clear()

    # ------------------------------------------------------------------ results

    def summary(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(flat summary keys, per-service details)."""
        flat: dict[str, Any] = {}
        details: dict[str, Any] = {}
        if not self.services:
            return flat, details
        total_requests = sum(s.requests for s in self.services)
        total_met = sum(s.met for s in self.services)
        flat["inference_requests"] = total_requests
        flat["inference_slo_attainment"] = total_met / total_requests if total_requests else None
        flat["inference_scale_events"] = sum(s.scale_ups + s.scale_downs for s in self.services)
        for service in self.services:
            details[service.spec.name] = self._details(service)
        return flat, details

    def _details(self, service: ServiceState) -> dict[str, Any]:
        steps = service.steps
        weights = np.array([r.requests for r in steps])
        quantiles: list[float | None]
        mean_ttft = _weighted_mean(np.array([r.ttft_mean_s for r in steps]), weights)
        if service.samples_ttft:
            samples = np.concatenate(service.samples_ttft)
            quantiles = [float(np.quantile(samples, q)) for q in (0.5, 0.9, 0.99)]
            mean_ttft = float(samples.mean()) if samples.size else None
        else:
            quantiles = [mixture_quantile(steps, weights, q) for q in (0.5, 0.9, 0.99)]
        p50, p90, p99 = quantiles
        return {
            "requests": service.requests,
            "tokens": service.tokens,
            "slo_attainment": service.met / service.requests if service.requests else None,
            "ttft_p50_s": p50,
            "ttft_p90_s": p90,
            "ttft_p99_s": p99,
            "ttft_mean_s": mean_ttft,
            "tpot_s": steps[-1].tpot_s if steps else None,
            "mean_ready_replicas": _weighted_mean(np.array([float(r.ready) for r in steps]),
                                                  np.array([r.end - r.start for r in steps])),
            "scale_ups": service.scale_ups,
            "scale_downs": service.scale_downs,
            "backlog_end_requests": service.backlog,
            "peak_backlog_requests": service.peak_backlog,
        }


def _behind_backlog(record: StepRecord, fluid: FluidStep, capacity: float, queue_met: float,
                    tpot_ok: float, ttft_slo_s: float, percentile: float) -> None:
    """Fold the fluid backlog into a step's record: a share of its arrivals waits behind the
    backlog (uniform delays), the rest sees the M/G/c wait (``queue_met`` of them in time)."""
    share = fluid.share
    record.backlog_share = share
    record.delay_first_s, record.delay_last_s = fluid.delay_first_s, fluid.delay_last_s
    assert record.prefill_points is not None
    delayed_met = float(delayed_cdf(ttft_slo_s, fluid.delay_first_s, fluid.delay_last_s,
                                    record.prefill_points))
    record.attainment = (share * delayed_met + (1 - share) * queue_met) * tpot_ok
    behind = (fluid.delay_first_s + fluid.delay_last_s) / 2 + record.fixed_s
    record.ttft_mean_s = (behind if share >= 1 else
                          share * behind + (1 - share) * record.ttft_mean_s)
    record.utilization = (fluid.served / (capacity * (record.end - record.start))
                          if capacity > 0 else record.utilization)
    record.ttft_p_s = _step_quantile(record, percentile)


def _step_quantile(record: StepRecord, q: float) -> float:
    """The step's TTFT quantile (bisection on its CDF); inf when it is never reached."""
    if float(record.ttft_cdf(1e9)) < q:
        return math.inf
    lo, hi = 0.0, 1.0
    while float(record.ttft_cdf(hi)) < q:
        hi *= 2
    for _ in range(50):  # 2^-50 of the bracket: far below any reported precision
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if float(record.ttft_cdf(mid)) < q else (lo, mid)
    return hi


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float | None:
    finite = np.isfinite(values) & (weights > 0)
    if not finite.any():
        return None
    return float(np.average(values[finite], weights=weights[finite]))


def mixture_quantile(steps: list[StepRecord], weights: np.ndarray, q: float) -> float | None:
    """TTFT quantile over the run: the request-weighted mixture of the steps' distributions
    (:meth:`StepRecord.ttft_cdf`), solved by bisection. None when too many requests met an
    unbounded wait (an unstable queue, or a backlog with no replica ready)."""
    if not steps or weights.sum() <= 0:
        return None
    w = weights / weights.sum()
    usable = [k for k, s in enumerate(steps) if s.prefill_points is not None
              and (s.tail_rate > 0 or s.backlog_share >= 1)
              and (s.backlog_share <= 0 or math.isfinite(s.delay_last_s + s.delay_first_s))]
    if not usable:
        return None
    w_k = w[usable]
    c_k = np.array([steps[k].wait_probability for k in usable])[:, None]
    theta_k = np.array([steps[k].tail_rate for k in usable])[:, None]
    share_k = np.array([steps[k].backlog_share for k in usable])[:, None]
    first = np.array([steps[k].delay_first_s for k in usable])
    last = np.array([steps[k].delay_last_s for k in usable])
    points = np.stack([steps[k].prefill_points for k in usable])  # type: ignore[misc]
    # Few steps have a backlog: its term is computed for those rows only.
    mixed = share_k[:, 0] > 0
    share_m = share_k[mixed]
    lo_m = np.minimum(first, last)[mixed][:, None]
    width_m = np.abs(last - first)[mixed][:, None]

    def cdf(x: float) -> float:
        slack = x - points
        ok = slack >= 0
        queue = np.where(ok, 1.0 - c_k * np.exp(-theta_k * np.where(ok, slack, 0.0)), 0.0)
        per_step = np.mean(queue, axis=1)
        if share_m.size:
            late = slack[mixed]
            behind = np.where(width_m > 0,
                              np.clip((late - lo_m) / np.where(width_m > 0, width_m, 1.0), 0, 1),
                              (late >= lo_m).astype(np.float64))
            per_step[mixed] = np.mean(share_m * behind + (1 - share_m) * queue[mixed], axis=1)
        return float(np.dot(w_k, per_step))

    if cdf(1e9) < q:
        return None
    lo, hi = 0.0, 1.0
    while cdf(hi) < q:
        hi *= 2
    for _ in range(60):  # 2^-60 of the bracket: far below any reported precision
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) < q else (lo, mid)
    return hi
