"""Saving and loading results: the round trip is exact (dtypes, NaN, text columns) in CSV and
Parquet; compare() lines runs up; Progress writes only when enabled; importing the package
imports neither matplotlib nor tqdm."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, run_cli, tiny_scenario

from scheduler import Result, compare, simulate
from scheduler.compare import policy_label
from scheduler.progress import Progress


@pytest.fixture(scope="module")
def run() -> Result:
    return simulate(tiny_scenario(duration="12h"), seed=5)


def _assert_same(a: Result, b: Result) -> None:
    pd.testing.assert_frame_equal(a.jobs, b.jobs, check_exact=True)
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries, check_exact=True)
    assert a.summary == b.summary
    assert a.details == b.details
    assert a.scenario_text == b.scenario_text


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_round_trip_is_exact(run, fmt, tmp_path):
    # The run has NaN (start/end/jct of jobs never started), empty strings (site, reason)
    # and integer columns; all must come back as they were.
    assert run.jobs["start_s"].isna().any() and (run.jobs["site"] == "").any()
    run.save(tmp_path, format=fmt)
    assert (tmp_path / f"jobs.{fmt}").exists()
    _assert_same(run, Result.load(tmp_path))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_round_trip_of_awkward_text(run, fmt, tmp_path):
    # Text that CSV readers like to turn into numbers or NaN stays text.
    jobs = run.jobs.head(6).copy()
    jobs["workload"] = ["1", "NA", "null", "nan", 'a,"b"', "é\nnew line"]
    jobs["tenant"] = ["", "0.5", "True", "None", "-", "x"]
    awkward = Result(dict(run.summary), jobs, run.timeseries.head(3).copy(), run.scenario_text,
                     {"rejected_reasons": {"why, \"quoted\"": 2}})
    awkward.save(tmp_path, format=fmt)
    # check=False: six jobs beside a summary of the whole run is inconsistent on purpose.
    _assert_same(awkward, Result.load(tmp_path, check=False))


def test_csv_without_dtype_file_keeps_text_columns(run, tmp_path):
    # Output folders written before columns.json (and manifest.json) existed still load text
    # columns as text.
    run.save(tmp_path, format="csv")
    (tmp_path / "columns.json").unlink()
    (tmp_path / "manifest.json").unlink()
    loaded = Result.load(tmp_path)
    assert (loaded.jobs["site"] == "").any()
    assert loaded.jobs["start_s"].isna().sum() == run.jobs["start_s"].isna().sum()


def test_saved_files_get_the_usual_mode(run, tmp_path):
    # Temporary files start private (0600); the renamed outputs get 0666 less the umask.
    mask = os.umask(0)
    os.umask(mask)
    run.save(tmp_path)
    for name in ("summary.json", "jobs.csv", "columns.json"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~mask


def test_compare_one_row_per_run(run):
    other = simulate(tiny_scenario(duration="12h", policy={
        "queue": "fifo", "placement": {"scores": [{"type": "spread", "weight": 2}]}}), seed=5)
    table = compare([run, other], labels=["packing", "spread"])
    assert list(table.index) == ["packing", "spread"]
    assert table.index.name == "run"
    assert table.loc["packing", "policy"] == "fifo: packing x1"
    assert table.loc["spread", "policy"] == "fifo: spread x2"
    assert (table["seed"] == 5).all()
    for key in ("scenario", "backend", "jobs_submitted", "gpu_utilization", "mean_wait_s",
                "p95_jct_s"):
        assert key in table.columns
    assert table.loc["spread", "jobs_submitted"] == other.summary["jobs_submitted"]
    assert "carbon_t" not in table.columns  # no energy model in either run
    # A mapping gives the labels; a missing metric is NaN, not an error.
    energy = Result({**run.summary, "carbon_t": 1.5}, run.jobs, run.timeseries, run.scenario_text)
    by_name = compare({"a": run, "b": energy})
    assert list(by_name.index) == ["a", "b"]
    assert np.isnan(by_name.loc["a", "carbon_t"]) and by_name.loc["b", "carbon_t"] == 1.5
    with pytest.raises(ValueError, match="labels"):
        compare([run], labels=["x", "y"])


def test_policy_label_shows_arguments():
    text = json.dumps({"policy": {"queue": "fifo", "placement": {"scores": [
        {"type": "site", "weight": 0.5, "ranking": ["A", "B"], "weights": None},
        {"type": "mine", "weight": 1.0, "args": {"alpha": 2}}]}}})
    assert policy_label(text) == "fifo: site(ranking=['A', 'B']) x0.5 + mine(alpha=2) x1"
    assert policy_label("") == ""


def test_progress_writes_simulated_time_rate_and_eta():
    out = io.StringIO()
    progress = Progress(7 * 86400, enabled=True, file=out)
    progress.update(0.0, 0)
    progress.update(3.5 * 86400, 12_345)
    progress.close()
    progress.close()  # twice is fine
    text = out.getvalue()
    assert "50%" in text
    assert "3.5d / 7d simulated" in text
    assert "12,345 events" in text and "events/s" in text
    assert "<" in text  # elapsed<remaining: the ETA


def test_progress_past_the_horizon_says_draining():
    out = io.StringIO()
    with Progress(3600, enabled=True, file=out) as progress:
        progress.update(7200, 10)
    assert "draining" in out.getvalue() and "100%" in out.getvalue()


def test_disabled_progress_writes_nothing():
    out = io.StringIO()
    progress = Progress(3600, enabled=False, file=out)
    progress.update(1800, 5)
    progress.close()
    assert out.getvalue() == ""


def test_cli_run_without_terminal_prints_no_progress():
    # stderr is not a terminal here, as in CI logs: no progress bar.
    code, out, err = run_cli("run", str(ROOT / "scenarios" / "mmc.yaml"), "--set", "duration=5h")
    assert code == 0, err
    assert err == "" and "jobs submitted" in out


def test_import_does_not_import_matplotlib_or_tqdm():
    code = ("import sys, scheduler, scheduler.cli, scheduler.plots, scheduler.report, "
            "scheduler.progress; print(sorted(m for m in ('matplotlib', 'tqdm') "
            "if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_job_sites_join_the_sites_of_a_jobs_segments_in_order():
    """Only jobs with segments on more than one site are joined, first site first."""
    from types import SimpleNamespace

    import numpy as np

    from scheduler.summarize import _job_sites

    class Columns:
        def __init__(self, **columns):
            self.columns = {k: np.asarray(v) for k, v in columns.items()}
            self.size = len(next(iter(self.columns.values())))

        def view(self, name):
            return self.columns[name]

    run = SimpleNamespace(
        cluster=SimpleNamespace(site_names=["A", "B", "C"]),
        jobs=Columns(site=[0, 1, -1, 2]),  # the site of each job's last placement
        segments=Columns(job=[0, 1, 0, 0, 3, 1, 3], site=[0, 1, 1, 0, 2, 1, 0]))
    assert _job_sites(run).tolist() == ["A+B", "B", "", "C+A"]
