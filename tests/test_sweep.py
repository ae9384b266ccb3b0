"""Sweeps: grids x seeds on local processes and dask, resume, failures, aggregation, CLI."""

from __future__ import annotations

import math
import multiprocessing
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import SCENARIOS, run_cli, tiny_scenario

from gpu import register_score, unregister
from scheduler import sweep
from scheduler.sweeps import aggregate, plan_sweep, student_t_quantile
from scheduler.sweeps.spec import derive_seeds

# Columns that differ between two executions of the same run (timing, clock).
UNSTABLE = ["wall_s", "finished_at"]


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A tiny scenario file (6 h horizon) in a fresh folder."""
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_scenario(duration="6h")))
    return path


def write_sweep(folder: Path, **fields: Any) -> Path:
    fields = {"scenario": "tiny.yaml", **fields}
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(fields, sort_keys=False))
    return path


def metrics(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=UNSTABLE).set_index("run_id").sort_index()


GRID = {"sites.0.nodes.0.count": [1, 4]}


# --------------------------------------------------------------------------- running


def test_local_and_dask_give_the_same_rows(base: Path) -> None:
    distributed = pytest.importorskip("dask.distributed")
    spec = write_sweep(base.parent, grid=GRID, seeds=[1, 2])
    local = sweep(spec, workers=2, progress=False)
    assert len(local) == 4 and (local["status"] == "ok").all()
    assert list(local.columns[:8]) == ["run_id", "point_id", "sites.0.nodes.0.count", "seed",
                                       "status", "error", "wall_s", "finished_at"]
    for column in ("jobs_submitted", "jobs_completed", "jobs_rejected", "jobs_unfinished",
                   "mean_wait_s", "p95_wait_s", "mean_jct_s", "p95_jct_s", "gpu_utilization",
                   "events"):  # summary keys are taken generically
        assert column in local.columns
    assert local["run_id"].is_unique
    # Fewer GPUs at site A (1 node instead of 4) means less capacity used.
    by_count = local.groupby("sites.0.nodes.0.count")["gpu_hours_busy"].mean()
    assert by_count[1] < by_count[4]

    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        remote = sweep(spec, dask=cluster.scheduler_address, progress=False)
    pd.testing.assert_frame_equal(metrics(local), metrics(remote))


def test_same_sweep_twice_gives_identical_metrics(base: Path) -> None:
    spec = write_sweep(base.parent, grid=GRID, seeds={"count": 2, "root": 11})
    first = sweep(spec, workers=2, progress=False)
    second = sweep(spec, workers=1, progress=False)
    pd.testing.assert_frame_equal(metrics(first), metrics(second))
    # Derived seeds: SeedSequence(11) children, the same every time, recorded per run.
    assert derive_seeds(2, 11) == derive_seeds(2, 11)
    assert sorted(set(first["seed"])) == sorted(derive_seeds(2, 11))


def test_resume_redoes_only_missing_and_failed_runs(base: Path, tmp_path: Path) -> None:
    spec = write_sweep(base.parent, grid=GRID, seeds=[1, 2, 3])
    out = tmp_path / "out"
    first = sweep(spec, out=out, workers=2, progress=False)
    assert (out / "runs.csv").exists() and (out / "aggregate.csv").exists()
    table = pd.read_csv(out / "runs.csv", dtype={"run_id": str})
    assert len(table) == 6
    dropped = set(table["run_id"][:2])
    failed = table["run_id"][2]
    table = table.iloc[2:].copy()
    table.loc[table["run_id"] == failed, "status"] = "error"
    table.to_csv(out / "runs.csv", index=False)

    second = sweep(spec, out=out, workers=2, progress=False)
    before = first.set_index("run_id")["finished_at"]
    after = second.set_index("run_id")["finished_at"]
    redone = {run_id for run_id in after.index if after[run_id] != before[run_id]}
    assert redone == dropped | {failed}
    pd.testing.assert_frame_equal(metrics(first), metrics(second))
    assert len(pd.read_csv(out / "runs.csv")) == 6

    third = sweep(spec, out=out, workers=2, progress=False)  # nothing left to do
    assert third.set_index("run_id")["finished_at"].equals(after)


def test_a_failing_point_is_recorded_and_the_others_complete(base: Path, tmp_path: Path) -> None:
    # Valid for the schema, but the run cannot read its durations file.
    missing = {"distribution": "empirical", "file": "no-such-durations.csv"}
    spec = write_sweep(base.parent, grid={"workloads.1.duration": ["1h", missing]},
                       seeds=[1, 2])
    out = tmp_path / "out"
    runs = sweep(spec, out=out, workers=2, progress=False)
    assert len(runs) == 4
    bad = runs["workloads.1.duration"].str.contains("empirical")
    assert (runs.loc[~bad, "status"] == "ok").all()
    assert (runs.loc[bad, "status"] == "error").all()
    assert runs.loc[bad, "error"].str.contains("file not found").all()
    assert runs.loc[bad, "jobs_submitted"].isna().all()
    summary = pd.read_csv(out / "aggregate.csv")
    assert summary["n"].tolist() == [2, 0] and summary["n_error"].tolist() == [0, 2]


@pytest.mark.skipif(not sys.platform.startswith("linux")
                    or "fork" not in multiprocessing.get_all_start_methods(),
                    reason="local workers see plugins registered in the session only when forked")
def test_a_score_plugin_that_raises_fails_only_its_runs(base: Path) -> None:
    @register_score("sweep-test-boom")
    def boom(ctx: Any) -> Any:
        raise RuntimeError("boom from a notebook plugin")

    try:
        spec = write_sweep(base.parent, seeds=[1], grid={"policy.placement": [
            {"scores": [{"type": "packing"}]}, {"scores": [{"type": "sweep-test-boom"}]}]})
        runs = sweep(spec, workers=2, progress=False)
    finally:
        unregister("score", "sweep-test-boom")
    assert runs["status"].tolist() == ["ok", "error"]
    assert "RuntimeError: boom from a notebook plugin" in runs["error"].iloc[1]


# --------------------------------------------------------------------------- aggregation


def test_student_t_quantiles() -> None:
    # Reference values of t(0.975, dof) from statistical tables.
    for dof, expected in ((1, 12.706204736174698), (2, 4.302652729749464),
                          (4, 2.7764451051977987), (9, 2.2621571627409915),
                          (30, 2.0422724563012373)):
        assert student_t_quantile(0.975, dof) == pytest.approx(expected, rel=1e-9)
    assert student_t_quantile(0.025, 4) == pytest.approx(-2.7764451051977987, rel=1e-9)


def test_aggregate_mean_and_interval_by_hand() -> None:
    runs = pd.DataFrame({
        "run_id": list("abcdefgh"), "point_id": ["p"] * 6 + ["q"] * 2,
        "x": [0] * 6 + [1] * 2, "seed": range(8),
        "status": ["ok"] * 5 + ["error"] + ["ok"] * 2,
        "metric": [1.0, 2.0, 3.0, 4.0, 5.0, np.nan, 7.0, np.nan],
    })
    runs.attrs["parameters"] = ["x"]
    table = aggregate(runs).set_index("x")
    # Point p: x = 1..5, mean 3, s = sqrt(10 / 4), half = t(0.975, 4) * s / sqrt(5)
    #        = 2.7764451 * 1.5811388 / 2.2360680 = 1.9632432
    half = 2.7764451051977987 * math.sqrt(2.5) / math.sqrt(5)
    assert table.loc[0, "n"] == 5 and table.loc[0, "n_error"] == 1
    assert table.loc[0, "metric_mean"] == pytest.approx(3.0)
    assert table.loc[0, "metric_ci95_lo"] == pytest.approx(3.0 - half, rel=1e-9)
    assert table.loc[0, "metric_ci95_hi"] == pytest.approx(3.0 + half, rel=1e-9)
    assert half == pytest.approx(1.9632432, rel=1e-7)
    # Point q: one value, no interval.
    assert table.loc[1, "metric_mean"] == 7.0 and math.isnan(table.loc[1, "metric_ci95_hi"])
    assert "seed_mean" not in table.columns and "x_mean" not in table.columns


# --------------------------------------------------------------------------- CLI


SWEEP_FILES = sorted(p for p in SCENARIOS.glob("*.yaml")
                     if "scenario" in (yaml.safe_load(p.read_text()) or {}))


@pytest.mark.parametrize("path", SWEEP_FILES, ids=[p.name for p in SWEEP_FILES])
def test_sweep_files_run(path: Path, tmp_path: Path) -> None:
    code, out, err = run_cli("sweep", str(path), "--out", str(tmp_path), "--workers", "2")
    assert code == 0, err
    plan = plan_sweep(path)
    assert f"{len(plan.runs)} runs ({len(plan.runs)} ok, 0 failed)" in out
    assert len(pd.read_csv(tmp_path / "runs.csv")) == len(plan.runs)
    assert len(pd.read_csv(tmp_path / "aggregate.csv")) == len(plan.points)
    for parameter in plan.parameters:
        assert parameter in out.splitlines()[0]


BAD_SWEEPS = [
    ({"grid": {"sites.0.nodez.0.count": [1]}, "seeds": [1]},
     ["sweep.yaml:3: grid.sites.0.nodez.0.count: unknown path"]),
    ({"grid": {"sites.0.nodes.0.count": [0, 2, -1]}, "seeds": [1]},
     # Block-style YAML: the values are on lines 4, 5, 6; each bad one is named by its line.
     ["sweep.yaml:4: point {sites.0.nodes.0.count=0}: sites.0.nodes.0.count: Input should "
      "be greater than or equal to 1 (got 0)",
      "sweep.yaml:6: point {sites.0.nodes.0.count=-1}: sites.0.nodes.0.count:"]),
    ({"grid": {"sites.0.nodes.0.count": []}, "seeds": [1]},
     ["grid.sites.0.nodes.0.count: List should have at least 1 item"]),
    ({"zip": {"sites.0.pue": [1.1, 1.2], "sites.1.pue": [1.1]}, "seeds": [1]},
     ["zip lists must all have the same length (got sites.0.pue: 2, sites.1.pue: 1)"]),
    ({"scenario": "missing.yaml", "seeds": [1]}, ["scenario: ", "missing.yaml: file not found"]),
    ({"grid": {"seed": [1, 2]}, "seeds": [1], "colour": "blue"},
     ["colour: unknown key"]),
    ({"grid": {"seed": [1, 2]}, "seeds": [1, 1]}, ["seeds: repeated seeds: 1",
                                                   "list the seeds under 'seeds:'"]),
]


@pytest.mark.parametrize(("fields", "expected"), BAD_SWEEPS,
                         ids=["unknown-path", "invalid-values", "empty-list", "zip-lengths",
                              "missing-scenario", "unknown-key", "seed-in-grid"])
def test_bad_sweeps_exit_2_with_one_line_per_problem(base: Path, tmp_path: Path,
                                                     fields: dict[str, Any],
                                                     expected: list[str]) -> None:
    spec = write_sweep(base.parent, **fields)
    code, out, err = run_cli("sweep", str(spec), "--out", str(tmp_path / "out"))
    assert code == 2, err
    assert "Traceback" not in err and out == ""
    lines = err.strip().splitlines()
    assert all(line.startswith("error: ") for line in lines)
    for text in expected:
        assert any(text in line for line in lines), (text, err)
    assert not (tmp_path / "out").exists()  # nothing ran


def test_bad_options_exit_2(base: Path) -> None:
    spec = write_sweep(base.parent, seeds=[1])
    assert run_cli("sweep", str(spec), "--workers", "0")[0] == 2
    assert run_cli("sweep", str(spec), "--format", "xls")[0] == 2
    code, _, err = run_cli("sweep", str(base.parent / "nope.yaml"))
    assert code == 2 and "file not found" in err


def test_runs_tables_neutralise_formulas_and_resume_reads_them_back(base: Path,
                                                                   tmp_path: Path) -> None:
    """Issue 20.8 for sweeps: a grid value a spreadsheet would run is written with a leading
    quote in runs.csv and aggregate.csv (as in jobs.csv) and read back exactly on resume."""
    names = ["=HYPERLINK(\"http://x\")", "+cmd|' /C calc'!A0"]
    spec = write_sweep(base.parent, grid={"name": names}, seeds=[1])
    out = tmp_path / "out"
    first = sweep(spec, out=out, workers=1, progress=False)
    for table in ("runs.csv", "aggregate.csv"):
        text = (out / table).read_text()
        assert "\n=" not in text and ",=" not in text and ",+" not in text, table
        assert "'=HYPERLINK" in text, table
    assert sorted(first["name"]) == sorted(names)
    again = sweep(spec, out=out, workers=1, progress=False)  # resumes: nothing to redo
    assert again.set_index("run_id")["finished_at"].equals(
        first.set_index("run_id")["finished_at"])
    assert sorted(again["name"]) == sorted(names)
