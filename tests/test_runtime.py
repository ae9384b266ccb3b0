"""The runtime's parts on their own, without a run: the walk's blocking modes, the deciders
(EASY reservation, preemption victims, quotas), the pending queue, power budgets, and queue
policies driven through a fake handle (policies never need the engine)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpu import CapacityState, JobShape
from gpu.framework import pick, take
from gpu.walk import STARTS, walk
from scheduler.checkpoint import CheckpointPlan
from scheduler.cluster import Cluster, Placement
from scheduler.jobs import JobTable
from scheduler.loading import validate_data
from scheduler.policies import LeastAttainedService, Priority, ShortestJobFirst
from scheduler.queue_config import LasOptions, PriorityOptions
from scheduler.runtime import Reason, Segment
from scheduler.runtime.deciders import EasyReservation, Quotas, victims_to_preempt
from scheduler.runtime.pending import PendingQueue
from scheduler.runtime.power_budget import PowerBudget

NO_PLAN = CheckpointPlan(None, 0.0, 0.0)


def one_group_cluster(nodes: int = 2, size: int = 8) -> Cluster:
    return Cluster(validate_data({
        "duration": "1h",
        "sites": [{"name": "A", "nodes": [{"gpu": "H100", "gpus_per_node": size,
                                           "count": nodes}]}],
        "workloads": [{"name": "w", "arrival": {"process": "poisson", "rate_per_hour": 1},
                       "gpus": 1, "duration": "1h"}],
    }))


def live_capacity(cluster: Cluster) -> CapacityState:
    state = CapacityState.from_columns(cluster.columns, cluster.column_of)
    state.count = cluster.columns.count  # the cluster's own counts, as the engine does
    return state


def segment(cluster: Cluster, gpus: int, start: float, end: float, token: int = 0) -> Segment:
    cols = cluster.columns  # the fullest node class with room (node classes: most free first)
    column = max(c for c in range(cols.size)
                 if cols.count[c] > 0 and cols.up[c] and cols.free[c] >= min(gpus, 8))
    placement = cluster.place(column, gpus)
    return Segment(token, placement, start, end, end - start, 1.0, False, NO_PLAN, 0.0, 1.0)


# --------------------------------------------------------------------------- the walk


class ToyRules:
    """Jobs need ``size[job]`` units of one pool; quotas, preemption and EASY optional."""

    def __init__(self, size, free, refuse=(), reservation=math.inf, fits_before=()):
        self.size, self.free = list(size), free
        self.refuse, self.reservation, self.fits_before = set(refuse), reservation, set(fits_before)
        self.log: list[tuple[str, int]] = []
        self.waits: dict[int, int] = {}

    def admit(self, job):
        return Reason.QUOTA if job in self.refuse else STARTS

    def pick(self, job, cls):
        return (0, STARTS) if self.size[job] <= self.free else (-1, Reason.WAITING)

    def make_room(self, job, cls):
        return -1

    def reserve(self, job, cls):
        self.log.append(("reserve", job))
        return self.reservation

    def backfill(self, job, cls, column, reservation):
        return STARTS if job in self.fits_before else Reason.BACKFILL

    def start(self, job, cls, column):
        self.free -= self.size[job]
        self.log.append(("start", job))

    def wait(self, job, reason):
        self.waits[job] = reason

    def wait_rest(self, jobs, reasons):
        self.waits.update(zip(jobs, reasons, strict=True))


def test_strict_stops_at_the_first_job_that_cannot_start():
    rules = ToyRules([4, 8, 1], free=10)
    assert walk(range(3), [0, 1, 2], rules, "strict") == [0]
    assert rules.waits == {1: Reason.WAITING}  # job 2 (1 unit, would fit) is never tried


def test_greedy_skips_and_blocks_a_failed_class():
    rules = ToyRules([4, 8, 8, 1], free=10)
    # jobs 1 and 2 share class 1: the second is not tried again, it inherits the reason
    assert walk(range(4), [0, 1, 1, 2], rules, "greedy", classes_pending=3) == [0, 3]
    assert rules.waits == {1: Reason.WAITING, 2: Reason.WAITING}


class PreemptingToyRules(ToyRules):
    """ToyRules whose ``make_room`` frees ``room`` units once (a preemption)."""

    def __init__(self, size, free, room=0):
        super().__init__(size, free)
        self.room, self.tries = room, []

    def pick(self, job, cls):
        self.tries.append(job)
        return super().pick(job, cls)

    def make_room(self, job, cls):
        if self.room and self.size[job] <= self.free + self.room:
            self.free, self.room = self.free + self.room, 0
            return 0
        return -1


def test_runs_of_a_failed_class_wait_untried_and_the_walk_goes_on_after_them():
    # Class 1 (8 units) fails at job 1: jobs 2-4 wait with its reason untried; job 5 (class 0)
    # is tried and starts; class 2 (job 6, 2 units) then starts too.
    rules = PreemptingToyRules([1, 8, 8, 8, 8, 1, 2], free=4)
    started = walk(range(7), [0, 1, 1, 1, 1, 0, 2], rules, "greedy", preemptive=True,
                   classes_pending=3)
    assert started == [0, 5, 6]
    assert rules.tries == [0, 1, 5, 6]
    assert rules.waits == {j: Reason.WAITING for j in (1, 2, 3, 4)}


def test_a_preemptive_walk_stops_once_every_class_failed_and_the_rest_wait():
    rules = PreemptingToyRules([8, 8, 9, 8, 9, 8], free=4)
    assert walk(range(6), [0, 0, 1, 0, 1, 0], rules, "greedy", preemptive=True,
                classes_pending=2) == []
    assert rules.tries == [0, 2]
    assert rules.waits == {j: Reason.WAITING for j in range(6)}


def test_a_preemption_clears_the_failed_classes():
    # Job 0 (class 0) fails and cannot preempt; job 1 (class 1) preempts 8 units: job 2, of the
    # failed class 0, is tried again and fits in what is left.
    rules = PreemptingToyRules([12, 6, 5], free=3, room=8)
    assert walk(range(3), [0, 1, 0], rules, "greedy", preemptive=True, classes_pending=2) == [1, 2]
    assert rules.tries == [0, 1, 2]


def test_quota_refusal_waits_without_blocking_the_class():
    rules = ToyRules([1, 1], free=10, refuse={0})
    assert walk(range(2), [0, 0], rules, "greedy") == [1]
    assert rules.waits == {0: Reason.QUOTA}


def test_easy_reserves_for_the_first_blocked_job_and_backfills_only_what_ends_before():
    rules = ToyRules([4, 9, 2, 2, 1], free=10, reservation=100.0, fits_before={3})
    assert walk(range(5), [0, 1, 2, 3, 4], rules, "easy") == [0, 3]
    assert ("reserve", 1) in rules.log and rules.waits[2] == Reason.BACKFILL
    assert rules.waits[4] == Reason.BACKFILL


def test_the_walk_stops_once_every_waiting_class_failed():
    rules = ToyRules([20, 20, 1], free=10)
    assert walk(range(3), [0, 0, 0], rules, "greedy", classes_pending=1) == []
    assert 2 not in rules.waits  # not reached: its class had failed


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 12), min_size=1, max_size=12), st.integers(0, 30),
       st.sampled_from(["strict", "greedy"]))
def test_walk_equals_placing_one_by_one(sizes, free, blocking):
    """Brute force: try each job in order against what is left (classes are sizes, so a
    failed class would fail again: skipping it changes nothing)."""
    rules = ToyRules(sizes, free)
    started = walk(range(len(sizes)), sizes, rules, blocking)
    expected, left = [], free
    for job, size in enumerate(sizes):
        if size <= left:
            expected.append(job)
            left -= size
        elif blocking == "strict":
            break
    assert started == expected


# --------------------------------------------------------------------------- deciders


def test_easy_reservation_is_the_estimated_end_that_makes_room():
    cluster = one_group_cluster(nodes=2, size=8)
    capacity = live_capacity(cluster)
    running = {10: segment(cluster, 8, 0.0, 500.0), 11: segment(cluster, 8, 0.0, 300.0)}
    shape = JobShape.of(16, capacity)
    keys = np.arange(cluster.columns.size, dtype=np.int64)
    assert pick(keys, capacity, shape) == -1
    easy = EasyReservation()
    budget = np.full(1, math.inf)
    # 16 GPUs need both nodes: free at the later of the two estimated ends.
    assert easy.time(1, keys, shape, 100.0, running, 0, cluster, capacity, budget) == 500.0
    shape8 = JobShape.of(8, capacity)
    assert EasyReservation().time(2, keys, shape8, 100.0, running, 0, cluster, capacity,
                                  budget) == 300.0
    # Kept while the head and the interruption count stay; recomputed when either changes.
    running[10].end = 400.0
    assert easy.time(1, keys, shape, 100.0, running, 0, cluster, capacity, budget) == 500.0
    assert easy.time(1, keys, shape, 100.0, running, 1, cluster, capacity, budget) == 400.0
    # Never fits (more GPUs than the cluster): infinite.
    shape32 = JobShape.of(32, capacity)
    assert EasyReservation().time(3, keys, shape32, 0.0, running, 0, cluster, capacity,
                                  budget) == math.inf


def test_victims_are_the_shortest_prefix_that_makes_room():
    cluster = one_group_cluster(nodes=2, size=8)
    capacity = live_capacity(cluster)
    running = {1: segment(cluster, 4, 0, 10), 2: segment(cluster, 4, 0, 10),
               3: segment(cluster, 8, 0, 10)}
    keys = np.arange(cluster.columns.size, dtype=np.int64)
    budget = np.full(1, math.inf)
    shape = JobShape.of(8, capacity)
    # Jobs 1 and 2 share a node: stopping job 3 alone frees a whole node.
    assert victims_to_preempt([3, 1, 2], running, keys, shape, cluster, capacity, budget) == [3]
    assert victims_to_preempt([1, 2, 3], running, keys, shape, cluster, capacity, budget) == [1, 2]
    shape16 = JobShape.of(16, capacity)
    assert victims_to_preempt([1, 3], running, keys, shape16, cluster, capacity, budget) == []
    assert cluster.columns.count.sum() == 2  # nothing was released for real


def test_quotas_count_gpus_per_tenant():
    jobs = JobTable()
    ids = jobs.extend(np.zeros(3), np.array([4, 4, 2]), np.ones(3), 0, np.zeros(3, np.int32),
                      np.zeros(3, np.int8), np.array([0, 0, 1]), 0)
    quotas = Quotas({"a": 6}, ["a", "b"], lambda: jobs.tenant, lambda: jobs.gpus)
    assert quotas.admit(int(ids[0])) == STARTS
    quotas.started(0, 4)
    assert quotas.admit(int(ids[1])) == Reason.QUOTA  # 4 + 4 > 6
    assert quotas.admit(int(ids[2])) == STARTS  # tenant b has no limit
    quotas.stopped(0, 4)
    assert quotas.admit(int(ids[1])) == STARTS


# --------------------------------------------------------------------------- queue, budgets


def test_pending_queue_keeps_policy_order_and_class_counts():
    keys = {0: (5.0,), 1: (1.0,), 2: (3.0,), 3: (1.0,)}
    table = JobTable()
    table.extend(np.zeros(4), np.ones(4, np.int64), np.ones(4), 0, np.array([0, 1, 0, 1], np.int32),
                 np.zeros(4, np.int8), np.zeros(4, np.int64), 0)
    queue = PendingQueue(lambda job: keys[job], table)
    for job in range(4):
        queue.push(job)
    assert queue.jobs == [1, 3, 2, 0]  # equal keys keep arrival order
    assert queue.class_count == {0: 2, 1: 2}
    assert queue.gpus_waiting == 4  # one GPU each, kept as jobs come and go
    queue.remove({3, 0})
    assert queue.jobs == [1, 2] and queue.class_count == {0: 1, 1: 1}
    queue.remove_prefix(1)
    assert queue.jobs == [2] and queue.class_count == {0: 1} and queue.gpus_waiting == 1
    queue.clear()
    assert queue.gpus_waiting == 0


def test_power_budget_is_recomputed_from_sums():
    scenario = validate_data({
        "duration": "1h",
        "sites": [{"name": "A", "pue": 1.5, "power_cap": "10kW",
                   "nodes": [{"gpu": "H100", "gpus_per_node": 8, "count": 1}]}],
        "workloads": [{"name": "w", "arrival": {"process": "poisson", "rate_per_hour": 1},
                       "gpus": 1, "duration": "1h"}]})
    from scheduler.power import PowerModel

    power = PowerModel(scenario, Cluster(scenario))
    budget = PowerBudget(power)
    base = float(power.base_it_w[0]) * 1.5
    assert budget.budget[0] == pytest.approx(10_000 - base)
    budget.add(0, 3_000.0)
    assert budget.budget[0] == pytest.approx(7_000 - base)
    assert budget.facility_power_w(0) == pytest.approx(base + 3_000)
    budget.remove(0, 3_000.0)
    assert budget.budget[0] == pytest.approx(10_000 - base)


# --------------------------------------------------------------------------- policies


class FakeHandle:
    """What a policy may see, with nothing behind it but arrays and a clock."""

    def __init__(self, jobs: JobTable, now: float = 0.0) -> None:
        self.jobs, self.now = jobs, now
        self.running: Mapping[int, Segment] = {}
        self.attained: dict[int, float] = {}
        self.wakes: list[float] = []

    def attained_gpu_s(self, job):
        return self.attained.get(job, 0.0)

    def speed_gain(self, job):
        return 1.0

    def wake_at(self, when):
        self.wakes.append(when)


def two_jobs() -> JobTable:
    jobs = JobTable()
    jobs.extend(np.array([0.0, 10.0]), np.array([2, 4]), np.array([3600.0, 3600.0]), 0,
                np.zeros(2, np.int32), np.zeros(2, np.int8), np.zeros(2, np.int64), 0)
    return jobs


def test_las_queues_preemption_and_demotion_timer_from_a_fake_handle():
    handle = FakeHandle(two_jobs(), now=100.0)
    las = LeastAttainedService(handle, LasOptions(thresholds_gpu_hours=[1, 10]))
    handle.attained = {0: 2 * 3600.0, 1: 0.0}  # job 0 past the first threshold
    assert las.queue_of(0) == 1 and las.queue_of(1) == 0
    assert las.order_key(1) < las.order_key(0)
    assert las.may_preempt(1, 0) and not las.may_preempt(0, 1)
    las.on_start(1)  # 4 GPUs reach 1 GPU-hour after 900 s
    assert handle.wakes == [100.0 + 900.0]


def test_las_starvation_guard_promotes_after_factor_times_executed():
    # Job 0 (2 GPUs) ran 1 h (2 GPU-hours: queue 1 of [1, 10]) and is preempted at 1 h; with
    # factor 2 it is due back in the top queue after 2 x 1 h of waiting, at 3 h.
    handle = FakeHandle(two_jobs(), now=3600.0)
    las = LeastAttainedService(handle, LasOptions(thresholds_gpu_hours=[1, 10],
                                                  starvation_factor=2))
    assert las.needs_order_each_cycle
    handle.attained = {0: 2 * 3600.0, 1: 0.0}
    las.on_requeue(0)
    assert handle.wakes == [3600.0 + 2 * 3600.0]
    handle.now = 3 * 3600.0 - 1
    assert las.order_pending([0, 1]) == [1, 0] and las.queue_of(0) == 1  # not yet
    handle.now = 3 * 3600.0
    assert las.order_pending([0, 1]) == [0, 1] and las.queue_of(0) == 0  # promoted
    # Attained service counts from the promotion: 1 GPU-hour more, over 2 GPUs, demotes it.
    las.on_start(0)
    assert handle.wakes[-1] == 3 * 3600.0 + 1800.0
    # Factor 0 (the default): no guard, the order is fixed while jobs wait.
    assert not LeastAttainedService(handle, LasOptions()).needs_order_each_cycle


def test_sjf_key_is_the_estimate_less_progress():
    # A job of 100 s estimated at 200 s, preempted after keeping 60 s of work: the scheduler
    # expects 200 - 60 = 140 s more. (The key used to be estimate x remaining / duration =
    # 200 x 40 / 100 = 80: it read the true duration through the ratio.)
    jobs = two_jobs()
    jobs.duration_s[0], jobs.estimate_s[0], jobs.remaining_s[0] = 100.0, 200.0, 40.0
    sjf = ShortestJobFirst(FakeHandle(jobs))
    assert sjf.order_key(0)[0] == 140.0
    jobs.duration_s[0], jobs.remaining_s[0] = 1000.0, 940.0  # same progress, other length
    assert sjf.order_key(0)[0] == 140.0
    jobs.estimate_s[0] = 50.0  # ran past its estimate: next to finish as far as it knows
    assert sjf.order_key(0)[0] == 0.0
    # With exact estimates (oracle) the key is the remaining work.
    jobs.estimate_s[1], jobs.remaining_s[1] = 3600.0, 1000.0
    assert sjf.order_key(1)[0] == 1000.0


def test_priority_preempts_only_lower_classes():
    jobs = two_jobs()
    jobs.priority[:2] = [5, 1]
    policy = Priority(FakeHandle(jobs), PriorityOptions(preempt=True))
    assert policy.preemptive and policy.may_preempt(0, 1) and not policy.may_preempt(1, 0)
    assert policy.order_key(0) < policy.order_key(1)
    assert not Priority(FakeHandle(jobs)).preemptive  # default options


def test_take_and_live_counts_agree():
    """The engine's placements move the same counts as the reference walk's take()."""
    cluster = one_group_cluster(nodes=3, size=8)
    scratch = CapacityState.from_columns(cluster.columns, cluster.column_of)
    for gpus in (3, 8, 5):
        shape = JobShape.of(gpus, scratch)
        keys = np.arange(cluster.columns.size, dtype=np.int64)
        column = pick(keys, scratch, shape)
        take(scratch, shape, column)
        cluster.place(column, gpus)
        np.testing.assert_array_equal(scratch.count, cluster.columns.count)


class RunningFake(FakeHandle):
    """A FakeHandle whose running jobs accrue service: base + GPUs x (now - segment start)."""

    def __init__(self, jobs: JobTable, now: float) -> None:
        super().__init__(jobs, now)
        self.running = {}
        self.base: dict[int, float] = {}
        self.token = 0

    def start(self, job: int, base_gpu_s: float) -> None:
        self.token += 1
        self.running[job] = Segment(self.token, _one_node(int(self.jobs.gpus[job])), self.now,
                                    math.inf, 3600.0, 1.0, False, CheckpointPlan(), 0.0, 1.0)
        self.base[job] = base_gpu_s

    def stop(self, job: int) -> None:
        self.base[job] = self.attained_gpu_s(job)
        del self.running[job]

    def attained_gpu_s(self, job):
        segment = self.running.get(job)
        extra = segment.gpus * (self.now - segment.start) if segment is not None else 0.0
        return self.base.get(job, 0.0) + extra


def _one_node(gpus: int) -> Placement:
    return Placement((0,), (gpus,), 0, 0)


def test_las_victims_equal_filtering_then_sorting():
    """The LAS victim list (the running set kept in victim order between cycles) is what the
    base rule gives: filter by may_preempt, then sort by victim_order, stably in running
    order; through time (jobs crossing thresholds), stops and restarts."""
    from scheduler.policies import QueuePolicy

    rng = np.random.default_rng(3)
    jobs = JobTable()
    n = 40
    jobs.extend(np.zeros(n), rng.integers(1, 9, n), np.full(n, 3600.0), 0,
                np.zeros(n, np.int32), np.zeros(n, np.int8), np.zeros(n, np.int64), 0)
    jobs.start_s[:n] = rng.integers(0, 5, n).astype(float)  # ties in first starts too
    handle = RunningFake(jobs, now=50.0)
    las = LeastAttainedService(handle, LasOptions(thresholds_gpu_hours=[1, 10, 100]))
    for job in (int(j) for j in rng.permutation(n)[:30]):
        handle.start(job, float(rng.choice([0, 0.9, 2, 9.5, 20, 200])) * 3600.0)
        las.on_start(job)
    for _ in range(25):
        handle.now += float(rng.choice([0.0, 60.0, 600.0, 3600.0]))
        running = list(handle.running)
        for job in rng.choice(running, size=3, replace=False).tolist():
            if rng.random() < 0.5:
                handle.stop(job)
        for job in rng.choice(n, size=3, replace=False).tolist():
            if job not in handle.running and rng.random() < 0.5:
                handle.start(job, handle.base.get(job, 0.0))
                las.on_start(job)
        restarted = int(rng.choice(list(handle.running)))  # stops and restarts between looks
        handle.stop(restarted)
        handle.start(restarted, handle.base[restarted])
        las.on_start(restarted)
        candidates = list(handle.running)  # a new list each cycle, in running order
        for waiting in range(n):
            if waiting in handle.running:
                continue
            expected = QueuePolicy.victims(las, waiting, candidates)
            assert las.victims(waiting, candidates) == expected
