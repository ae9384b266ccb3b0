"""Warm-up and steady-state warnings (scheduler.steady_state): statistics leave out the jobs
of the warm-up, and a run that is not stationary, or too short for its jobs, says so."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run_cli

from scheduler import simulate
from scheduler.steady_state import kendall_tau

MMC = "scenarios/mmc.yaml"
OVERLOADED = ("workloads.0.arrival.rate_per_hour=20",)
"""20 jobs/h of 1 GPU-hour on 16 GPUs: offered load 20/16 = 1.25, the queue grows without end."""


@pytest.fixture(scope="module")
def stable():
    return simulate(MMC, seed=3, overrides=["duration=100h"])


def test_warmup_leaves_early_jobs_out_of_the_statistics(stable):
    warm = simulate(MMC, seed=3, overrides=["duration=100h", "warmup=20h"])
    # The warm-up changes what is measured, not what is simulated: same job table.
    assert warm.jobs.equals(stable.jobs)
    jobs = warm.jobs
    measured = jobs[jobs.arrival_s >= 20 * 3600]
    summary = warm.summary
    assert summary["warmup_s"] == 72000.0
    assert summary["jobs_measured"] == len(measured) < len(jobs)
    assert summary["mean_wait_s"] == pytest.approx(measured.wait_s.dropna().mean(), rel=1e-12)
    done = measured[measured.status == "completed"]
    assert summary["p95_jct_s"] == pytest.approx(np.percentile(done.jct_s, 95), rel=1e-12)
    # Counts cover every job (conservation); time integrals cover the whole run.
    for key in ("jobs_submitted", "jobs_completed", "jobs_unfinished", "gpu_utilization",
                "energy_facility_mwh", "peak_facility_power_mw"):
        assert summary[key] == stable.summary[key]
    seg = jobs.dropna(subset=["start_s"])
    # Jobs still running at the end have no end_s: they run until the horizon.
    ends = seg.end_s.fillna(100 * 3600).clip(upper=100 * 3600)
    busy = (ends - seg.start_s.clip(lower=72000)).clip(lower=0)
    assert summary["gpu_utilization_after_warmup"] == pytest.approx(
        float((busy * seg.gpus).sum()) / (16 * 80 * 3600), rel=1e-9)
    assert stable.summary["gpu_utilization_after_warmup"] == stable.summary["gpu_utilization"]


def test_warmup_must_leave_a_measured_window(tmp_path):
    code, _out, err = run_cli("validate", MMC, "--set", "warmup=300h")
    assert code == 2
    assert "warmup (1.08e+06 s) must be shorter than duration (720000 s)" in err
    assert "Traceback" not in err


def test_no_warning_on_a_stable_queue(stable):
    # rho = 13.5 / 16 = 0.84: the queue fluctuates but does not grow.
    assert stable.summary["warnings"] == []


def test_warnings_on_an_overloaded_queue():
    result = simulate(MMC, seed=3, overrides=["duration=100h", *OVERLOADED])
    warnings = " | ".join(result.summary["warnings"])
    assert "the queue grows over the second half" in warnings
    assert "arriving work is 12" in warnings  # about 125 % of capacity
    assert "unfinished at the end" in warnings


def test_warning_when_jobs_are_long_for_the_horizon():
    # Jobs of exactly 30 h in a 100 h run: p95 = 30 h > 25 % of 100 h.
    result = simulate(MMC, seed=3, overrides=["duration=100h", "workloads.0.duration=30h",
                                              "workloads.0.arrival.rate_per_hour=0.3"])
    assert any("the 95th percentile job lasts 30.0 h" in w for w in result.summary["warnings"])


def test_warnings_print_in_the_cli_summary(tmp_path):
    code, out, err = run_cli("run", MMC, "--set", "duration=100h", *(
        arg for o in OVERLOADED for arg in ("--set", o)))
    assert code == 0, err
    assert "warning: not stationary" in out


def test_kendall_tau_by_hand():
    assert kendall_tau(np.arange(10.0)) == 1.0
    assert kendall_tau(-np.arange(10.0)) == -1.0
    # 1, 3, 2: pairs (1,3)+ (1,2)+ (3,2)- -> (2 - 1) / 3.
    assert kendall_tau(np.array([1.0, 3.0, 2.0])) == pytest.approx(1 / 3)


def test_report_shows_the_warnings_and_the_warmup(tmp_path):
    from scheduler.report import render_report

    result = simulate(MMC, seed=3, overrides=["duration=100h", "warmup=10h", *OVERLOADED])
    page = render_report(result)
    assert "Warning: not stationary: the queue grows" in page
    assert "arriving after a 10.0 h warm-up" in page


def test_batch_means_by_hand():
    from scheduler.steady_state import batch_means_half_width

    # Two batches over [0, 20): waits 1, 3 (mean 2) and 5 (mean 5): mean of means 3.5,
    # s = 2.1213, t(0.975, 1) = 12.706: half-width 12.706 x 2.1213 / sqrt(2) = 19.06.
    arrival = np.array([0.0, 5.0, 15.0, 25.0])
    wait = np.array([1.0, 3.0, 5.0, 100.0])  # the last arrives after the window
    mean, half = batch_means_half_width(arrival, wait, 0.0, 20.0, batches=2)
    assert mean == pytest.approx(3.5)
    assert half == pytest.approx(12.7062 * 2.12132 / 2**0.5, rel=1e-4)


def test_warning_when_one_run_is_a_poor_estimate():
    import pandas as pd

    from scheduler.steady_state import steady_state_warnings

    # Nine quiet batches and one burst: mean of batch means 1 h, half-width 2.26 h > 1 h.
    arrival = np.arange(100) * 3600.0
    wait = np.where(arrival >= 90 * 3600, 10 * 3600.0, 0.0)
    jobs = pd.DataFrame({"kind": "training", "arrival_s": arrival, "wait_s": wait,
                         "gpus": 1, "duration_s": 60.0})
    series = pd.DataFrame({"time_s": [0.0], "queued_jobs": [0.0]})
    summary = {"gpus_total": 100, "jobs_submitted": 100, "jobs_unfinished": 0}
    warnings = steady_state_warnings(summary, jobs, series, 100 * 3600.0, 0.0)
    assert warnings == ["one run is a poor estimate: batch means of the wait over the run give "
                        "1.00 h ± 2.26 h (95 %); run --replications N for an interval over seeds"]
    # A replayed trace gives the same jobs whatever the seed: replications cannot help.
    assert steady_state_warnings(summary, jobs, series, 100 * 3600.0, 0.0, drawn=False) == []
    # The same burst in seconds, not hours: a 2.26-minute half-width is precise enough.
    jobs["wait_s"] = wait / 60
    assert steady_state_warnings(summary, jobs, series, 100 * 3600.0, 0.0) == []
