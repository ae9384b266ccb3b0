"""``clustersim compare`` and the sweep report: the headline table of run folders and of
folders of replications (the 95 % interval against a hand computation), the HTML pages,
bad folders (exit 2, one line), ``compare()``'s GPU-hour, SLO and per-site columns, and
``clustersim report`` on two folders and on a sweep folder. The pages in headless Chromium
are checked in tests/test_report.py."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import yaml
from conftest import run_cli, tiny_scenario

from scheduler import Result, compare, simulate
from scheduler.compare_report import format_interval
from scheduler.result_sets import Interval, load_result_set, mean_interval

T_975_2 = 4.302652729911275
"""Student t quantile t(0.975, 2 dof), from the tables (3 replications)."""
T_975_4 = 2.7764451051977987
"""t(0.975, 4 dof) (5 values)."""


def save_run(folder: Path, seed: int, **changes: object) -> Result:
    result = simulate(tiny_scenario(duration="8h", **changes), seed=seed)
    result.save(folder)
    return result


@pytest.fixture(scope="module")
def sets(tmp_path_factory) -> dict[str, object]:
    """``fifo/rep-1..3`` (three seeds), ``sjf`` (one run, seed 1) and ``sjf3/rep-1..3``."""
    root = tmp_path_factory.mktemp("compare")
    reps = [save_run(root / "fifo" / f"rep-{k}", seed=k) for k in (1, 2, 3)]
    single = save_run(root / "sjf", seed=1, policy={"queue": "sjf"})
    sjf = [save_run(root / "sjf3" / f"rep-{k}", seed=k, policy={"queue": "sjf"})
           for k in (1, 2, 3)]
    return {"root": root, "reps": reps, "single": single, "sjf_reps": sjf}


def test_mean_interval_by_hand():
    # 1..5: mean 3, s = sqrt(((-2)^2 + 1 + 0 + 1 + 4) / 4) = sqrt(2.5),
    # half = t(0.975, 4) * s / sqrt(5) = 2.7764 * 1.5811 / 2.2361 = 1.9632.
    interval = mean_interval([1, 2, 3, None, 4, 5, math.nan])
    assert interval.n == 5 and interval.mean == 3.0
    assert interval.half == pytest.approx(T_975_4 * math.sqrt(2.5) / math.sqrt(5), rel=1e-9)
    assert interval.half == pytest.approx(1.9632, abs=1e-4)
    one = mean_interval([7.0])
    assert one.n == 1 and one.mean == 7.0 and math.isnan(one.half)
    assert mean_interval([None]).n == 0


def test_replications_are_detected_in_order(sets):
    result_set = load_result_set(sets["root"] / "fifo")
    assert result_set.replicated and len(result_set.runs) == 3
    assert [r.summary["seed"] for r in result_set.runs] == [1, 2, 3]
    single = load_result_set(sets["root"] / "sjf")
    assert not single.replicated and len(single.runs) == 1


def test_rep_folders_win_over_a_summary_beside_them(sets, tmp_path):
    # A folder of replications may hold an aggregate summary.json of its own: the rep-K
    # run folders are what is compared; other subfolders are then left out.
    folder = tmp_path / "reps"
    for k in (2, 10):
        save_run(folder / f"rep-{k}", seed=k)
    save_run(folder / "scratch", seed=5)
    (folder / "summary.json").write_text("{}")
    result_set = load_result_set(folder)
    assert result_set.replicated
    assert [r.summary["seed"] for r in result_set.runs] == [2, 10]  # by number, not text


def test_cli_compare_table_and_interval(sets, tmp_path):
    root = sets["root"]
    page = tmp_path / "compare.html"
    code, out, err = run_cli("compare", str(root / "fifo"), str(root / "sjf"), "--out", str(page))
    assert code == 0, err
    lines = out.splitlines()
    assert "(3 runs)" in lines[0] and str(root / "sjf") in lines[0]
    # The mean wait of the replications, by hand: mean and t(0.975, 2) * s / sqrt(3).
    waits = [r.summary["mean_wait_s"] for r in sets["reps"]]
    mean = sum(waits) / 3
    s = math.sqrt(sum((w - mean) ** 2 for w in waits) / 2)
    expected = format_interval("mean_wait_s", Interval(mean, T_975_2 * s / math.sqrt(3), 3))
    row = next(line for line in lines if line.startswith("wait, mean"))
    assert expected in row and "\N{PLUS-MINUS SIGN}" in expected
    # The single run shows its own number, without an interval.
    single = format_interval("mean_wait_s", Interval(sets["single"].summary["mean_wait_s"],
                                                     math.nan, 1))
    assert row.rstrip().endswith(single)
    submitted = next(line for line in lines if line.startswith("jobs submitted"))
    assert submitted.rstrip().endswith(f"{sets['single'].summary['jobs_submitted']:,}")
    assert "confidence interval" in out and f"report written to {page}" in out
    text = page.read_text(encoding="utf-8")
    assert text.count('src="data:image/png;base64,') == 2  # CDFs, time series
    assert not re.search(r"<script|<link|src=\"(?!data:)", text, re.IGNORECASE)
    for heading in ("Headline metrics", "Wait and completion times", "Sites", "Runs"):
        assert heading in text
    assert expected.replace("\N{PLUS-MINUS SIGN}", "&#177;") in text or expected in text


def test_cli_compare_json_lists_every_run(sets):
    root = sets["root"]
    code, out, err = run_cli("compare", str(root / "fifo"), str(root / "sjf"), "--json")
    assert code == 0, err
    records = json.loads(out)
    assert [r["run"] for r in records] == [f"{root / 'fifo'}/rep-{k}" for k in (1, 2, 3)] + [
        str(root / "sjf")]
    assert records[3]["policy"].startswith("sjf")
    assert "gpu_hours_busy" in records[0] and "gpu_utilization[A]" in records[0]


@pytest.mark.parametrize("setup, message", [
    ("empty", "not a result set: no summary.json here and no run folders"),
    ("sweep", "a sweep folder: see `clustersim report` on it"),
    ("mixed", "not replications of one scenario"),
    ("missing", "no such directory"),
])
def test_compare_bad_folder_exits_2(sets, tmp_path, setup, message):
    target = tmp_path / "set"
    if setup in {"empty", "sweep", "mixed"}:
        target.mkdir()
    if setup == "sweep":
        (target / "runs.csv").write_text("run_id,status\n")
    if setup == "mixed":
        save_run(target / "rep-1", seed=1)
        save_run(target / "rep-2", seed=1, name="other")
    code, out, err = run_cli("compare", str(sets["root"] / "sjf"), str(target))
    assert code == 2 and out == ""
    assert message in err and str(target) in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_report_on_two_folders_points_at_compare(sets):
    root = sets["root"]
    code, out, err = run_cli("report", str(root / "sjf"), str(root / "fifo"))
    assert code == 2 and out == ""
    assert f"clustersim compare {root / 'sjf'} {root / 'fifo'}" in err
    assert len(err.strip().splitlines()) == 1


def test_compare_function_gpu_hours_slo_and_site_columns(sets):
    run = sets["single"]
    served = Result({**run.summary, "inference_requests": 1000,
                     "inference_slo_attainment": 0.97}, run.jobs, run.timeseries,
                    run.scenario_text)
    table = compare({"training only": run, "with services": served})
    assert table.loc["training only", "gpu_hours_busy"] == run.summary["gpu_hours_busy"]
    assert table.loc["with services", "inference_slo_attainment"] == 0.97
    assert math.isnan(table.loc["training only", "inference_slo_attainment"])
    for site in ("A", "B"):
        column = f"gpu_utilization[{site}]"
        assert table.loc["training only", column] == run.summary["sites"][site]["gpu_utilization"]
    assert "energy_facility_mwh[A]" in table.columns
    assert "carbon_t[A]" not in table.columns  # no grid signals: no value anywhere
    assert not any("[" in c for c in compare([run], sites=False).columns)


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sweep")
    (folder / "base.yaml").write_text(yaml.safe_dump(tiny_scenario(duration="6h")))
    (folder / "sweep.yaml").write_text(yaml.safe_dump({
        "scenario": "base.yaml", "grid": {"sites.0.nodes.0.count": [2, 4],
                                          "policy.queue": ["fifo", "sjf"]},
        "seeds": [1, 2]}))
    code, _, err = run_cli("sweep", str(folder / "sweep.yaml"), "--out",
                             str(folder / "out"), "--workers", "1", "--quiet")
    assert code == 0, err
    return folder / "out"


def test_sweep_writes_a_report_with_one_figure_per_metric_and_parameter(sweep_dir):
    from scheduler.sweeps.report import SWEEP_METRICS

    text = (sweep_dir / "report.html").read_text(encoding="utf-8")
    runs = __import__("pandas").read_csv(sweep_dir / "runs.csv")
    metrics = [m for m, _ in SWEEP_METRICS if m in runs and runs[m].notna().any()]
    assert {"mean_wait_s", "p95_wait_s", "gpu_utilization"} <= set(metrics)
    figures = re.findall(r'<figure id="fig-([a-z0-9_]+)-([^"]+)"', text)
    assert sorted(figures) == sorted((m, p) for m in metrics
                                     for p in ("sites.0.nodes.0.count", "policy.queue"))
    assert text.count('src="data:image/png;base64,') == len(metrics) * 2
    assert "4 parameter points" in text and "8 runs (0 failed)" in text


def test_sweep_report_cells_are_the_aggregate(sweep_dir):
    import pandas as pd

    aggregate = pd.read_csv(sweep_dir / "aggregate.csv")
    row = aggregate.iloc[0]
    mean, high = row["mean_jct_s_mean"], row["mean_jct_s_ci95_hi"]
    cell = format_interval("mean_jct_s", Interval(mean, high - mean, int(row["n"])))
    assert cell in (sweep_dir / "report.html").read_text(encoding="utf-8")


def test_report_command_on_a_sweep_folder(sweep_dir, tmp_path):
    target = tmp_path / "again.html"
    code, out, err = run_cli("report", str(sweep_dir), "--out", str(target))
    assert code == 0, err
    assert f"report written to {target}" in out
    assert target.read_text(encoding="utf-8").count("<figure") == \
        (sweep_dir / "report.html").read_text(encoding="utf-8").count("<figure")


def test_paired_difference_by_hand(sets):
    from scheduler.compare_report import difference_rows, paired_difference, text_table

    fifo = load_result_set(sets["root"] / "fifo")
    sjf = load_result_set(sets["root"] / "sjf3")
    single = load_result_set(sets["root"] / "sjf")
    # d_k = sjf_k - fifo_k for seeds 1, 2, 3; mean and t(0.975, 2) * s_d / sqrt(3).
    d = [b.summary["mean_wait_s"] - a.summary["mean_wait_s"]
         for a, b in zip(sets["reps"], sets["sjf_reps"], strict=True)]
    mean = sum(d) / 3
    s_d = math.sqrt(sum((x - mean) ** 2 for x in d) / 2)
    interval = paired_difference(fifo, sjf, "mean_wait_s")
    assert interval is not None and interval.n == 3
    assert interval.mean == pytest.approx(mean, rel=1e-12)
    assert interval.half == pytest.approx(T_975_2 * s_d / math.sqrt(3), rel=1e-9)
    assert paired_difference(fifo, single, "mean_wait_s") is None  # one seed in common
    rows = {row[0]: row[1:] for row in difference_rows([fifo, sjf, single])}
    verdict = "real" if interval.low > 0 or interval.high < 0 else "within chance"
    assert rows["wait, mean"][0].endswith(f"({verdict})") and rows["wait, mean"][1] == "-"
    assert rows["wait, mean"][0].startswith("-" if mean < 0 else "+")
    assert "jobs submitted" not in rows  # equal by seed: nothing to test
    text = text_table([fifo, sjf])
    assert f"minus {fifo.label}" in text and "paired by seed" in text


def test_sweep_report_without_ok_runs_or_parameters():
    import pandas as pd

    from scheduler.sweeps.report import render_sweep_report

    failed = pd.DataFrame([{"run_id": "0" * 16, "status": "error", "policy.queue": "fifo",
                            "seed": 1, "mean_wait_s": float("nan")}])
    text = render_sweep_report(failed, ["policy.queue"], "broken")
    assert "No run ended ok" in text and "1 runs (1 failed)" in text and "<img" not in text
    seeds_only = pd.DataFrame([{"run_id": f"{k:016x}", "status": "ok", "seed": k,
                                "mean_wait_s": 60.0 * k} for k in (1, 2, 3)])
    text = render_sweep_report(seeds_only, [], "seeds")
    assert "No parameter varies" in text and "<img" not in text
    # mean 120 s, s = 60 s, half = t(0.975, 2) * 60 / sqrt(3) = 149.0 s
    assert f"2.0 min \N{PLUS-MINUS SIGN} {T_975_2 * 60 / math.sqrt(3) / 60:.1f} min" in text
