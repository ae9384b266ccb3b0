"""Naming the blockers (scheduler.runtime.blockers, scheduler.waiting): waiting GPU-hours by
reason and the heads of the queue that held other jobs back, checked by hand."""

from __future__ import annotations

import pytest

from benchmarks.validation_checks import trace_scenario
from scheduler import simulate
from scheduler.report import render_report

# One node of 8 GPUs (trace rows: arrival, gpus, duration).
#   A: 4 GPUs at 0 h for 10 h        -> runs 0-10 h
#   B: 8 GPUs at 1 h for 1 h         -> cannot fit beside A: head of the queue 1-10 h, runs 10-11 h
#   C: 1 GPU  at 2 h for 1 h         -> FIFO: behind B 2-10 h; then head, no GPU free 10-11 h
#   D: 2 GPUs at 3 h for 1 h         -> behind B 3-10 h, behind C 10-11 h; C and D run 11-12 h
JOBS = "0,4,10h\n1h,8,1h\n2h,1,1h\n3h,2,1h\n"


@pytest.fixture(scope="module")
def fifo(tmp_path_factory):
    return simulate(trace_scenario(tmp_path_factory.mktemp("blockers"), "fifo", JOBS, 1))


def test_waiting_gpu_hours_by_reason_by_hand(fifo):
    by_reason = fifo.details["wait_gpu_hours_by_reason"]
    # Waiting for free GPUs: B 8 GPUs x 9 h (1-10 h) + C 1 GPU x 1 h (10-11 h) = 73.
    assert by_reason["waiting for free GPUs"] == pytest.approx(73.0, abs=1e-9)
    # Behind the head: C 1 x 8 h (2-10 h) + D 2 x 7 h (3-10 h) behind B, D 2 x 1 h behind C = 24.
    assert by_reason["queued behind the head of the line"] == pytest.approx(24.0, abs=1e-9)
    summary = fifo.summary
    assert summary["wait_gpu_hours_held_by_head"] == pytest.approx(24.0, abs=1e-9)
    # The total is every job's GPUs x wait: B 8 x 9 + C 1 x 9 + D 2 x 8 = 97.
    jobs = fifo.jobs
    assert summary["wait_gpu_hours"] == pytest.approx(
        float((jobs.gpus * jobs.wait_s).sum()) / 3600, abs=1e-9)
    assert summary["wait_gpu_hours"] == pytest.approx(97.0, abs=1e-9)


def test_the_big_job_is_named_as_the_worst_blocker(fifo):
    blockers = fifo.details["blockers"]
    worst = blockers[0]
    assert worst["job_id"] == 1 and worst["gpus"] == 8 and worst["gpu_types"] == "any"
    assert worst["site"] == "A"
    assert worst["first_blocked_s"] == 2 * 3600  # C arrives behind it
    assert worst["blocked_s"] == pytest.approx(8 * 3600)  # 2-10 h
    assert worst["held_gpu_hours"] == pytest.approx(22.0)  # C 8 + D 14
    assert worst["max_jobs_held"] == 2
    # C then holds D for one hour: 2 GPU-hours.
    assert (blockers[1]["job_id"], blockers[1]["held_gpu_hours"]) == (2, pytest.approx(2.0))
    assert len(blockers) == 2


def test_easy_backfill_moves_the_waiting_off_the_head(tmp_path):
    easy = simulate(trace_scenario(tmp_path, "easy-backfill", JOBS, 1))
    # EASY backfills C and D beside A (they end by B's reservation at 10 h): nobody is held.
    assert easy.summary["wait_gpu_hours_held_by_head"] == 0.0
    assert easy.details["blockers"] == []


def test_report_names_the_blockers(fifo):
    page = render_report(fifo)
    assert "Jobs that held the queue back" in page
    assert "queued behind the head of the line" in page
    assert "22.0" in page  # B's held GPU-hours


@pytest.mark.parametrize("queue", ["fifo", "easy-backfill", "sjf"])
def test_waiting_gpu_hours_add_up_to_every_jobs_wait(queue):
    """Without preemption or deferral, the GPU-hours by reason integrate exactly what the job
    table says: GPUs x (start - arrival), or x (end of run - arrival) for jobs never started.
    Strict order (fifo, sjf) and a walk (easy-backfill) take different paths."""
    result = simulate("scenarios/mmc.yaml", seed=2, overrides=[
        "duration=60h", "workloads.0.arrival.rate_per_hour=18",
        "workloads.0.gpus={choice: [1, 4], weights: [0.8, 0.2]}", f"policy.queue={queue}"])
    jobs = result.jobs
    waited = (jobs.start_s.fillna(result.summary["simulated_time_s"]) - jobs.arrival_s)
    expected = float((jobs.gpus * waited).sum()) / 3600
    by_reason = result.details["wait_gpu_hours_by_reason"]
    # Float sums of many products: equal to 1e-9 relative.
    assert sum(by_reason.values()) == pytest.approx(expected, rel=1e-9)
    assert result.summary["wait_gpu_hours"] == pytest.approx(expected, rel=1e-9)
    assert result.summary["wait_gpu_hours_held_by_head"] > 0
