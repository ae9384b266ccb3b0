"""Checkpoint arithmetic by hand, alone and through the engine."""

from __future__ import annotations

import pytest

from scheduler import simulate
from scheduler.checkpoint import CheckpointPlan, segment_end, work_done, work_kept, work_saved

PLAN = CheckpointPlan(interval=3600.0, overhead=30.0, restart=300.0)


def test_segment_end_counts_checkpoint_pauses():
    # 3 h of work at speed 1: checkpoints after 1 h and 2 h (not at the end): 2 x 30 s.
    assert segment_end(0.0, 3 * 3600.0, 1.0, PLAN, resumed=False) == 3 * 3600.0 + 60.0
    # Resumed: + 300 s restart. At speed 2, 3 h of work is 1.5 h of compute: 1 pause.
    assert segment_end(100.0, 3 * 3600.0, 2.0, PLAN, resumed=True) == 100.0 + 300 + 5400 + 30
    # No interval: no pauses.
    assert segment_end(0.0, 500.0, 1.0, CheckpointPlan(None, 30.0, 300.0), False) == 500.0


def test_work_kept_is_the_last_completed_checkpoint():
    # Stopped at 2 h 10 min: cycles of 3630 s; 7800 // 3630 = 2 checkpoints -> 7200 s kept.
    assert work_kept(0.0, 7800.0, 1.0, PLAN, resumed=False) == 7200.0
    # Stopped during the first pause (3610 s): the checkpoint is not complete -> 0 kept.
    assert work_kept(0.0, 3610.0, 1.0, PLAN, resumed=False) == 0.0
    # Resumed segment: the restart comes first. 300 + 3630 = 3930 -> 1 checkpoint at speed 2.
    assert work_kept(0.0, 3930.0, 2.0, PLAN, resumed=True) == 7200.0
    # Work done includes the part since the last checkpoint: 7800 - 2 x 3630 = 540 s more.
    assert work_done(0.0, 7800.0, 1.0, PLAN, resumed=False) == 7200.0 + 540.0


def test_work_saved_on_preemption_costs_the_overhead():
    # Preempted at 2 h 10 min (7800 s): the save takes the last 30 s, so the job keeps the
    # work done by 7770 s: 2 blocks (7200) + 7770 - 2 x 3630 = 510 s -> 7710 of 7740 done.
    assert work_saved(0.0, 7800.0, 1.0, PLAN, False, save=True) == (7710.0, 7740.0)
    # A failure keeps the completed checkpoints only.
    assert work_saved(0.0, 7800.0, 1.0, PLAN, False) == (7200.0, 7740.0)
    # A checkpoint transfer (800 s) after the restart is not compute: resumed at 0, compute
    # starts at 300 + 800 = 1100; stopped at 3600: 2500 s done, 2470 kept.
    assert work_saved(0.0, 3600.0, 1.0, PLAN, True, 800.0, save=True) == (2470.0, 2500.0)
    # Stopped during the transfer: nothing done, nothing kept.
    assert work_saved(0.0, 1000.0, 1.0, PLAN, True, 800.0, save=True) == (0.0, 0.0)
    # No checkpoint block: the save is free, everything done is kept.
    free = CheckpointPlan(None, 0.0, 0.0)
    assert work_saved(0.0, 5000.0, 2.0, free, False, save=True) == (10_000.0, 10_000.0)


def dr_preempted_job(tmp_path, **policy) -> dict:
    trace = tmp_path / "jobs.csv"
    trace.write_text("arrival,gpus,duration\n0,8,3h\n")
    data = {
        "seed": 1, "duration": "10h",
        "sites": [{"name": "A", "power_cap": "20kW",
                   "demand_response": [{"start": 7800, "end": "3h", "power_cap": "6kW",
                                        "action": "preempt"}],
                   "nodes": [{"gpu": "H100", "gpus_per_node": 8, "count": 1}]}],
        "workloads": [{"name": "w", "trace": {"format": "csv", "path": str(trace)},
                       "checkpoint": {"interval": "1h", "overhead": "30s", "restart": "5m"}}],
        "policy": policy,
    }
    return data


def test_preempted_job_saves_and_finishes_at_the_computed_time(tmp_path):
    # One 8-GPU job of 3 h of work on one node, checkpoint every hour (30 s pause, 5 min
    # restart). A demand-response window preempts it at t = 2 h 10 min until 3 h.
    #   preempted at 7800 s, it saves (30 s): keeps the work done by 7770 s,
    #   7200 + (7770 - 7260) = 7710 s, 3090 s left;
    #   resumes at 10800 s: 300 s restart + 3090 s of compute, no pause -> ends at 14,190 s.
    job = simulate(dr_preempted_job(tmp_path)).jobs.iloc[0]
    assert job["status"] == "completed"
    assert job["end_s"] == pytest.approx(14_190.0)
    assert job["preemptions"] == 1
    # Lost: the 30 s of the save, on 8 GPUs: 240 GPU-s.
    assert job["lost_gpu_hours"] == pytest.approx(240 / 3600)


def test_preempted_job_without_save_keeps_its_last_checkpoint(tmp_path):
    # policy.preemption.checkpoint: false: kept at 7800 s: 2 checkpoints -> 7200 s of work
    # kept, 3600 s left; resumes at 10800 s: 300 s restart + 3600 s -> ends at 14,700 s.
    job = simulate(dr_preempted_job(tmp_path, preemption={"checkpoint": False})).jobs.iloc[0]
    assert job["status"] == "completed"
    assert job["end_s"] == pytest.approx(14_700.0)
    assert job["preemptions"] == 1
    # Lost work: the second checkpoint ended at 2 x 3630 = 7260 s, so 540 s of computation
    # since then is redone, on 8 GPUs: 8 x 540 / 3600 = 1.2 GPU-hours.
    assert job["lost_gpu_hours"] == pytest.approx(1.2)
