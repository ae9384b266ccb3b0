"""Stopping early: user limits and signals give partial results marked interrupted, with
every job accounted for and output files written whole."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import ROOT, SCENARIOS, run_cli, tiny_scenario

from scheduler import simulate


def conserved(summary):
    return summary["jobs_submitted"] == (summary["jobs_completed"] + summary["jobs_rejected"]
                                         + summary["jobs_unfinished"] + summary["jobs_failed"])


def test_event_limit_stops_cleanly():
    full = simulate(tiny_scenario()).summary
    part = simulate(tiny_scenario(), max_events=200).summary
    assert part["interrupted"] is True and part["stop_reason"] == "event limit"
    assert not full["interrupted"] and full["stop_reason"] is None
    assert part["simulated_time_s"] < full["simulated_time_s"]
    assert 0 < part["jobs_submitted"] < full["jobs_submitted"]
    assert conserved(part)
    assert part["events"] <= 200 + 1


def test_wall_time_limit_stops_cleanly():
    result = simulate(SCENARIOS / "hdf-2030-small.yaml", max_wall_time_s=0.5)
    s = result.summary
    assert s["interrupted"] and s["stop_reason"] == "wall-time limit"
    assert conserved(s)
    assert s["simulated_time_s"] < 7 * 86400
    # Only jobs that arrived are reported.
    assert (result.jobs["arrival_s"] <= s["simulated_time_s"]).all()


def test_cli_limit_writes_partial_results(tmp_path):
    code, _, err = run_cli("run", str(SCENARIOS / "mmc.yaml"), "--max-events", "300",
                           "--out", str(tmp_path), "--quiet")
    assert code == 0, err
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["interrupted"] and conserved(summary)


@pytest.mark.parametrize(("sig", "code", "name"), [(signal.SIGINT, 130, "SIGINT"),
                                                   (signal.SIGTERM, 143, "SIGTERM")])
def test_signal_writes_partial_results(tmp_path, sig, code, name):
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "scheduler", "run", str(SCENARIOS / "hdf-2030-small.yaml"),
         "--set", "duration=60d", "--out", str(out), "--quiet"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(12)  # imports and validation (slow on a loaded CI machine), then the run
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr and f"interrupted by {name}" in stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] is True and summary["stop_reason"] == name
    assert 0 < summary["simulated_time_s"] < 60 * 86400
    assert conserved(summary)
    jobs = pd.read_csv(out / "jobs.csv", low_memory=False)
    assert len(jobs) == summary["jobs_submitted"]
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))


def test_blockers_of_a_stopped_run_name_jobs_it_reports():
    # A stopped run drops the jobs that never arrived and renumbers the rest: the blockers
    # must follow (they pointed past the table: IndexError).
    result = simulate(tiny_scenario(), max_events=200)
    jobs = result.jobs.set_index("job_id")
    blockers = result.details["blockers"]
    assert blockers, "the tiny scenario has a blocked head by then"
    for row in blockers:
        assert row["job_id"] in jobs.index
        assert row["gpus"] == jobs.loc[row["job_id"], "gpus"]
        assert row["arrival_s"] == jobs.loc[row["job_id"], "arrival_s"]
