"""Preemption as schedulers that preempt do it (issue 16): the job saves first, is reconsidered
in the same cycle, moves its checkpoint only when one exists elsewhere; failures retry
without limit by default. Every expected time is computed by hand in the comments."""

from __future__ import annotations

import pytest

from scheduler import simulate


def las_worked_example(tmp_path, **extra) -> dict:
    """1 node of 8 GPUs, LAS with one threshold at 1 GPU-hour; a 10 h 8-GPU job at 0 and
    three 10 min 8-GPU jobs at 1 h, 2 h and 3 h (the example of issue 16)."""
    trace = tmp_path / "jobs.csv"
    trace.write_text("arrival,gpus,duration\n0,8,10h\n1h,8,10m\n2h,8,10m\n3h,8,10m\n")
    workload = {"name": "w", "trace": {"format": "csv", "path": str(trace)}, **extra}
    return {"seed": 1, "duration": "1d", "drain": True,
            "sites": [{"name": "A", "nodes": [{"gpu": "H100", "gpus_per_node": 8, "count": 1}]}],
            "workloads": [workload],
            "policy": {"queue": {"type": "las", "thresholds_gpu_hours": [1]}}}


def test_las_worked_example_keeps_all_work_on_preemption(tmp_path):
    # The long job passes 1 GPU-hour at 7.5 min (queue 1); each short job arrives in queue 0
    # and preempts it. Without a checkpoint block the save is free and the restart costs 0:
    # the long job keeps all its work and only waits 3 x 10 min (a short job in turn reaches
    # queue 1 after 7.5 min but cannot be preempted by a job of the same queue):
    #   end = 10 h + 3 x 10 min = 10.5 h = 37,800 s (it ended at 13.17 h when preemption
    #   restarted it from zero).
    result = simulate(las_worked_example(tmp_path))
    long_job = result.jobs.iloc[0]
    assert long_job["preemptions"] == 3
    assert long_job["end_s"] == pytest.approx(37_800.0)
    assert long_job["lost_gpu_hours"] == 0.0
    assert result.jobs["end_s"].iloc[1:].tolist() == pytest.approx([4200.0, 7800.0, 11400.0])


def test_las_worked_example_with_checkpoint_costs(tmp_path):
    # Checkpoints every 1 h of compute (30 s pause), 5 min restart. Long job, 36,000 s:
    #  seg 1 [0, 3600): 3600 s computed, no periodic checkpoint done (the first ends at
    #    3630); the save takes the last 30 s: kept 3570, left 32,430.
    #  seg 2 from 4200 (short job 3600-4200): restart to 4500, computes 4500-7200 = 2700 s,
    #    saves: kept 2670, left 29,760.
    #  seg 3 from 7800: restart to 8100, computes 8100-10800 = 2700 s: kept 2670, left 27,090.
    #  seg 4 from 11,400: restart to 11,700, then 27,090 s of compute with
    #    ceil(27090 / 3600) - 1 = 7 pauses of 30 s: end = 11,700 + 27,090 + 210 = 39,000 s.
    # Lost: 3 saves x 30 s x 8 GPUs = 720 GPU-s = 0.2 GPU-hours.
    checkpoint = {"interval": "1h", "overhead": "30s", "restart": "5m"}
    result = simulate(las_worked_example(tmp_path, checkpoint=checkpoint))
    long_job = result.jobs.iloc[0]
    assert long_job["end_s"] == pytest.approx(39_000.0)
    assert long_job["lost_gpu_hours"] == pytest.approx(0.2)


def test_checkpoint_on_preemption_can_be_turned_off(tmp_path):
    # policy.preemption.checkpoint: false keeps the old behaviour: no checkpoint block, so
    # each preemption loses everything: seg 1 [0, 1 h) lost, seg 2 [4200, 7200) lost,
    # seg 3 [7800, 10800) lost, then 10 h from 11,400: end = 47,400 s (13.17 h).
    data = las_worked_example(tmp_path)
    data["policy"]["preemption"] = {"checkpoint": False}
    long_job = simulate(data).jobs.iloc[0]
    assert long_job["end_s"] == pytest.approx(47_400.0)
    assert long_job["lost_gpu_hours"] == pytest.approx(8 * (3600 + 3000 + 3000) / 3600)


def two_sites(tmp_path, x_window: tuple[str, str], y_window: tuple[str, str]) -> dict:
    """Sites X (clean, preferred) and Y of one 8-GPU node each, a link of 8 Gb/s and no
    latency; one 10 h 8-GPU job with 100 GB per GPU of checkpoint (800 GB: 800 s to move),
    hourly checkpoints (30 s), 5 min restart. Demand-response windows preempt it at X, then
    at Y (a 6 kW cap stops the node)."""
    trace = tmp_path / "jobs.csv"
    trace.write_text("arrival,gpus,duration\n0,8,10h\n")

    def site(name: str, carbon: float, window: tuple[str, str]) -> dict:
        return {"name": name, "power_cap": "20kW", "grid": {"carbon_g_per_kwh": carbon},
                "demand_response": [{"start": window[0], "end": window[1],
                                     "power_cap": "6kW", "action": "preempt"}],
                "nodes": [{"gpu": "H100", "gpus_per_node": 8, "count": 1}]}

    return {"seed": 1, "duration": "2d", "drain": True,
            "sites": [site("X", 10, x_window), site("Y", 500, y_window)],
            "network": {"links": [{"a": "X", "b": "Y", "latency_ms": 0, "bandwidth_gbps": 8}]},
            "workloads": [{"name": "w", "trace": {"format": "csv", "path": str(trace)},
                           "checkpoint": {"interval": "1h", "overhead": "30s", "restart": "5m",
                                          "size_gb_per_gpu": 100}}],
            "policy": {"placement": {"scores": [{"type": "carbon", "weight": 1}]}}}


def test_checkpoint_transfer_is_not_compute(tmp_path):
    # X is capped over [1 h, 2 h), Y from 2 h. The job (36,000 s of work):
    #  at X [0, 3600): saves 30 s -> kept 3570, left 32,430; moves to Y at 3600;
    #  at Y [3600, 7200): restart to 3900, checkpoint arrives at 4700, computes 2500 s;
    #    saves -> kept 2470 (3270 if the 800 s transfer counted as compute), left 29,960;
    #  back at X from 7200: the checkpoint is at Y (saved there): restart + 800 s, compute
    #    from 8300: 29,960 s and ceil(29960 / 3600) - 1 = 8 pauses of 30 s -> 38,500 s.
    job = simulate(two_sites(tmp_path, ("1h", "2h"), ("2h", "2d"))).jobs.iloc[0]
    assert job["preemptions"] == 2
    assert job["end_s"] == pytest.approx(38_500.0)


def test_checkpoint_stays_where_it_was_saved(tmp_path):
    # X is capped over [1 h, 4200 s), Y from 4200 s. At X [0, 3600) the job saves
    # (kept 3570, left 32,430); at Y from 3600 it is stopped at 4200 during the transfer
    # (it would arrive at 4700): nothing was saved at Y, the checkpoint is still at X.
    # Back at X from 4200: 300 s restart, no transfer, compute from 4500: 32,430 s and
    # ceil(32430 / 3600) - 1 = 9 pauses -> 4500 + 32,430 + 270 = 37,200 s (38,000 s if the
    # checkpoint were thought to be at Y and moved back).
    job = simulate(two_sites(tmp_path, ("1h", "4200s"), ("4200s", "2d"))).jobs.iloc[0]
    assert job["preemptions"] == 2
    assert job["end_s"] == pytest.approx(37_200.0)


def retrying(**workload) -> dict:
    # 16 GPUs x 0.05 failures per GPU-hour: a failure every 75 min on average, for 10 h jobs
    # checkpointing every 30 min: each job fails several times.
    return {"seed": 1, "duration": "5d", "drain": True,
            "failures": {"rate_per_gpu_hour": 0.05, "repair": "10m"},
            "sites": [{"name": "A", "nodes": [{"gpu": "H100", "gpus_per_node": 8, "count": 2}]}],
            "workloads": [{"name": "w", "arrival": {"process": "poisson", "rate_per_hour": 1},
                           "gpus": 16, "duration": "10h", "max_jobs": 5,
                           "checkpoint": {"interval": "30m"}, **workload}]}


def test_failures_retry_without_limit_by_default():
    result = simulate(retrying())
    assert result.summary["jobs_failed"] == 0
    assert result.summary["jobs_completed"] == 5
    assert (result.jobs["failures"] > 3).any()  # more than the old default limit of 3


def test_retry_limit_is_an_option():
    result = simulate(retrying(max_retries=1))
    assert result.summary["jobs_failed"] == 5
    assert (result.jobs["failures"] == 2).all()


def test_preempted_job_restarts_elsewhere_in_the_same_cycle(tmp_path):
    # Site X (clean, preferred) has one 8-GPU node, site Y one 4-GPU node. A 4-GPU low job
    # starts at X at 0; at 1 h an 8-GPU high-priority job arrives, fits only X, and preempts
    # it. Y is free, so the low job restarts there at once (it keeps all its work, no
    # checkpoint block, no link latency): end = 1 h + 9 h = 36,000 s. It used to wait for the
    # next unrelated event (the high job's end at 2 h) and end at 39,600 s.
    low, high = tmp_path / "low.csv", tmp_path / "high.csv"
    low.write_text("arrival,gpus,duration\n0,4,10h\n")
    high.write_text("arrival,gpus,duration\n1h,8,1h\n")
    data = {"seed": 1, "duration": "2d", "drain": True,
            "sites": [{"name": "X", "grid": {"carbon_g_per_kwh": 10},
                       "nodes": [{"gpu": "H100", "gpus_per_node": 8, "count": 1}]},
                      {"name": "Y", "grid": {"carbon_g_per_kwh": 500},
                       "nodes": [{"gpu": "H100", "gpus_per_node": 4, "count": 1}]}],
            "network": {"links": [{"a": "X", "b": "Y", "latency_ms": 0,
                                   "bandwidth_gbps": 100}]},
            "workloads": [{"name": "low", "trace": {"format": "csv", "path": str(low)}},
                          {"name": "high", "priority": 10,
                           "trace": {"format": "csv", "path": str(high)}}],
            "policy": {"queue": {"type": "priority", "preempt": True},
                       "placement": {"scores": [{"type": "carbon", "weight": 1}]}}}
    jobs = simulate(data).jobs.set_index("workload")
    assert jobs.loc["low", "preemptions"] == 1
    assert jobs.loc["low", "site"] == "X+Y"  # ran at X, then at Y
    assert jobs.loc["low", "end_s"] == pytest.approx(36_000.0)
    assert jobs.loc["high", "end_s"] == pytest.approx(7200.0)


def test_las_starvation_guard_lets_a_demoted_job_run(tmp_path):
    # One 8-GPU node, LAS [1]: a 10 h job from 0, then 8-GPU 10 min jobs every 10 min from
    # 1 h to 4 h 50 (30 jobs), each in the top queue on arrival. Without the guard the long
    # job waits from 1 h until the stream ends at 6 h and every short job starts on arrival.
    # With factor 1 it is promoted at 2 h (it ran 1 h, waited 1 h), runs before the short
    # job that arrives then, so short jobs wait.
    rows = ["0,8,10h"] + [f"{3600 + 600 * i},8,10m" for i in range(30)]
    trace = tmp_path / "jobs.csv"
    trace.write_text("arrival,gpus,duration\n" + "\n".join(rows) + "\n")

    def run(factor: float):
        data = {"seed": 1, "duration": "2d", "drain": True,
                "sites": [{"name": "A",
                           "nodes": [{"gpu": "H100", "gpus_per_node": 8, "count": 1}]}],
                "workloads": [{"name": "w", "trace": {"format": "csv", "path": str(trace)}}],
                "policy": {"queue": {"type": "las", "thresholds_gpu_hours": [1],
                                     "starvation_factor": factor}}}
        return simulate(data).jobs.sort_values("arrival_s")

    off, on = run(0), run(1)
    assert off.iloc[0]["preemptions"] == 1
    assert (off.iloc[1:]["wait_s"] == 0).all()
    assert on.iloc[0]["preemptions"] > 1
    assert on.iloc[1:]["wait_s"].max() > 0
    # The short job arriving at 2 h waits for the promoted long job, which runs until its
    # 1 GPU-hour from the promotion is spent (8 GPUs: 7.5 min), drops to queue 1 and is
    # preempted by that waiting job: it starts at 2 h 7.5 min = 7650 s.
    assert on.iloc[7]["arrival_s"] == 7200.0 and on.iloc[7]["start_s"] == pytest.approx(7650.0)
