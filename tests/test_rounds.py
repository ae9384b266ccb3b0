"""Gavel-style rounds: the deficit plan, time sharing on the engine, options."""

from __future__ import annotations

import numpy as np
import pytest

from scheduler import simulate
from scheduler.policies import resolve_queue
from scheduler.rounds import ActiveJobs, RoundPlanner
from scheduler.scenario import Scenario


def active(ids, speeds, gpus) -> ActiveJobs:
    n = len(ids)
    return ActiveJobs(np.array(ids), np.asarray(speeds, float), np.array(gpus),
                      np.ones(n), np.zeros(n), np.ones(n))


def test_deficit_plan_realises_the_allocation_over_rounds():
    # Three 8-GPU jobs, one type of 16 GPUs, equal speeds: max-min gives each 2/3 of the
    # time. Each round two run (the largest deficits); crediting them, after 30 rounds each
    # job has run 2/3 of the time to within one round.
    planner = RoundPlanner(n_types=1, round_s=360.0)
    capacity = np.array([16])
    rounds = 30
    for _ in range(rounds):
        planner.new_round(active([0, 1, 2], [[1.0]] * 3, [8, 8, 8]), capacity)
        assert len(planner.assigned) == 2
        for job, gpu_type in planner.assigned.items():
            planner.credit(job, gpu_type, 360.0)
    share = np.array([planner.received_s[j][0] for j in range(3)]) / (rounds * 360.0)
    assert share == pytest.approx([2 / 3] * 3, abs=1 / rounds)


def test_plan_sends_each_job_where_the_allocation_puts_it():
    # Gavel's test case (speeds 2, 1, 0.5 and 3, 2, 1 on 1 V100, 2 P100, 3 K80): job 0 gets
    # 13/31 of the V100 and job 1 18/31 (tests/test_allocation.py); the larger deficit on
    # the one V100 goes first, the other job to its next type (P100).
    planner = RoundPlanner(n_types=3)
    planner.new_round(active([0, 1], [[2.0, 1.0, 0.5], [3.0, 2.0, 1.0]], [1, 1]),
                      np.array([1, 2, 3]))
    assert planner.assigned == {1: 0, 0: 1}


def test_jobs_that_left_are_forgotten():
    planner = RoundPlanner(n_types=1)
    planner.new_round(active([4, 5], [[1.0]] * 2, [1, 1]), np.array([1]))
    planner.credit(4, 0, 10.0)
    planner.new_round(active([5], [[1.0]], [1]), np.array([1]))
    assert set(planner.target_s) == {5} and 4 not in planner.received_s


def two_by_two(tmp_path, queue, jobs: int = 6) -> dict:
    """The issue's case: 2 H100 and 2 B200 nodes of 8; 8-GPU jobs of two workloads gaining
    3.0 and 1.2 on B200, all at time 0, 4 h each on H100."""
    rows = "".join("0,8,4h\n" for _ in range(jobs // 2))
    workloads = []
    for name, gain in (("gains-3", 3.0), ("gains-1.2", 1.2)):
        trace = tmp_path / f"{name}.csv"
        trace.write_text("arrival,gpus,duration\n" + rows)
        workloads.append({"name": name, "tenant": name,
                          "trace": {"format": "csv", "path": str(trace)},
                          "speedup": {"H100": 1.0, "B200": gain}})
    return {"seed": 1, "duration": "3d", "drain": True,
            "sites": [{"name": "A", "nodes": [{"gpu": "H100", "gpus_per_node": 8, "count": 2},
                                              {"gpu": "B200", "gpus_per_node": 8, "count": 2}]}],
            "workloads": workloads, "policy": {"queue": queue}}


def test_rounds_time_share_and_keep_every_job(tmp_path):
    result = simulate(two_by_two(tmp_path, {"type": "gavel-rounds", "round": "30m"}))
    s = result.summary
    assert s["jobs_completed"] == s["jobs_submitted"] == 6
    assert s["preemptions"] > 0  # six jobs on four nodes: rounds rotate them
    # No job waits for a whole job to finish first (>= 1.3 h on B200): every one starts
    # within the first two rounds.
    assert result.jobs["start_s"].max() <= 3600.0


def test_heterogeneity_aware_rounds_beat_the_agnostic_ones(tmp_path):
    aware = simulate(two_by_two(tmp_path, {"type": "gavel-rounds", "round": "30m"}))
    agnostic = simulate(two_by_two(tmp_path, {"type": "gavel-rounds", "round": "30m",
                                              "speeds": "agnostic"}))
    # The same work ends sooner when the 3x jobs get the B200s (5.4 h against 6.7 h).
    assert aware.summary["makespan_s"] < 0.9 * agnostic.summary["makespan_s"]


@pytest.mark.parametrize("objective", ["min-makespan", "finish-time-fairness"])
def test_other_objectives_run(tmp_path, objective):
    s = simulate(two_by_two(tmp_path, {"type": "gavel-rounds", "round": "1h",
                                       "objective": objective})).summary
    assert s["jobs_completed"] == 6


def queue_model(queue) -> Scenario:
    return Scenario.model_validate({
        "duration": "1h", "sites": [{"name": "A", "nodes": [{"gpu": "H100", "gpus_per_node": 1, "count": 1}]}],
        "workloads": [{"name": "w", "arrival": {"process": "poisson", "rate_per_hour": 1},
                       "gpus": 1, "duration": "1h"}],
        "policy": {"queue": queue}})


def test_options_resolve_with_gavels_default_round():
    plan = resolve_queue(queue_model("gavel-rounds").policy)
    assert plan.name == "gavel-rounds"
    assert plan.options is not None and plan.options.round == 360.0  # type: ignore[attr-defined]


def test_bad_objective_names_its_field():
    with pytest.raises(Exception, match="objective"):
        queue_model({"type": "gavel-rounds", "objective": "fastest"})


def test_gavel_still_means_speed_gain_with_a_warning():
    with pytest.warns(DeprecationWarning, match="speed-gain.*gavel-rounds"):
        assert resolve_queue(queue_model("gavel").policy).name == "speed-gain"


def test_fairness_outputs_per_tenant_and_workload(tmp_path):
    # Jain's index over workloads beside the tenants' one; the worst rho per group is at
    # least its mean (rho = JCT / isolated time, scheduler/summarize.py).
    result = simulate(two_by_two(tmp_path, {"type": "gavel-rounds", "round": "30m"}))
    assert 0 < result.summary["jain_index_workloads"] <= 1
    assert result.summary["jain_index_workloads"] == pytest.approx(
        result.summary["jain_index_tenants"])  # one tenant per workload here
    for group in ("tenants", "workloads"):
        for row in result.details[group].values():
            assert row["max_finish_time_fairness"] >= row["mean_finish_time_fairness"]


def test_the_hdf_scenario_runs_under_rounds_and_keeps_every_job():
    # scenarios/hetero-rounds.yaml, its first 6 hours of arrivals (the full run is in
    # docs/policies-and-plugins.md): every submitted job is accounted for.
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scenarios" / "hetero-rounds.yaml"
    s = simulate(path, overrides=["duration=6h"]).summary
    assert s["queue_policy"] == "gavel-rounds"
    assert s["jobs_submitted"] > 100
    assert (s["jobs_completed"] + s["jobs_rejected"] + s["jobs_failed"]
            + s["jobs_unfinished"]) == s["jobs_submitted"]
    assert s["jobs_completed"] == s["jobs_submitted"]  # drained


def test_steered_jobs_of_one_class_are_separate_walk_classes():
    # Two jobs of class 3 steered to types 0 and 1, one not steered: three walk classes, and
    # the rules get class 3 back (scheduler/runtime/cycle.py, _SteeredWalk).
    from gpu.walk import walk
    from scheduler.runtime.cycle import _SteeredWalk

    class Rules:
        def __init__(self):
            self.picked, self.started = [], []

        def admit(self, job):
            return -1

        def pick(self, job, cls):
            self.picked.append((job, cls))
            return (-1, 7) if job == 0 else (0, -1)  # type 0 full: job 0 cannot start

        def make_room(self, job, cls):
            return -1

        def wait(self, job, reason):
            pass

        def wait_rest(self, jobs, reasons):
            pass

        def start(self, job, cls, column):
            self.started.append(job)

    rules = Rules()
    steer = {0: 0, 1: 1}
    view = _SteeredWalk(rules, np.array([3, 3, 3]), steer.get, n_types=2)  # type: ignore[arg-type]
    assert [view[j] for j in (0, 1, 2)] == [3 * 3 + 1, 3 * 3 + 2, 3 * 3]
    started = walk([0, 1, 2], view, view, "greedy", preemptive=True)
    assert started == [1, 2]  # job 0's failure on type 0 does not skip job 1 (type 1)
    assert rules.picked == [(0, 3), (1, 3), (2, 3)]
