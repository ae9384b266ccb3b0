"""Every trace format replays through the simulator, with conservation and clear errors."""

from __future__ import annotations

import pytest
from conftest import ROOT, SCENARIOS, run_cli

from scheduler import simulate

DATA = ROOT / "tests" / "data" / "traces"

FORMATS = [
    ("tiresias", DATA / "tiresias" / "60_job.csv", {}),
    ("swf", DATA / "swf" / "nasa-ipsc-1993-head300.swf.gz", {}),
    ("alibaba-openb", DATA / "openb" / "openb_pod_list_default.csv.gz", {"limit": 400}),
    ("azure-llm", DATA / "azure-llm" / "code_head300.csv", {}),
    ("mooncake", DATA / "mooncake" / "conversation_head200.jsonl", {}),
    ("alibaba-dlrm", DATA / "dlrm" / "dlrm_sample.csv", {"on_error": "skip"}),
    ("csv", DATA / "generic" / "example.csv", {}),
]


def replay(fmt: str, path, **options):
    return {
        "name": f"replay-{fmt}", "seed": 1, "duration": "400d", "drain": True,
        "sites": [{"name": "A", "nodes": [{"gpu": "H100", "gpus_per_node": 8, "count": 16}]}],
        "workloads": [{"name": "trace", "trace": {"format": fmt, "path": str(path), **options}}],
    }


@pytest.mark.parametrize(("fmt", "path", "options"), FORMATS, ids=[f[0] for f in FORMATS])
def test_every_format_replays(fmt, path, options):
    result = simulate(replay(fmt, path, **options))
    s = result.summary
    assert s["jobs_submitted"] > 0
    assert s["jobs_submitted"] == s["jobs_completed"] + s["jobs_rejected"] + s["jobs_unfinished"]
    report = result.details["traces"]["trace"]
    assert report["rows_used"] == s["jobs_submitted"]
    assert report["rows_read"] == report["rows_used"] + report["rows_skipped"]
    assert s["trace_rows_read"] == report["rows_read"]
    if fmt in {"azure-llm", "mooncake"}:
        assert set(result.jobs["kind"]) == {"inference"}


def test_request_trace_arrivals_are_kept_in_order():
    result = simulate(replay("azure-llm", DATA / "azure-llm" / "code_head300.csv"))
    arrivals = result.jobs["arrival_s"].to_numpy()
    assert (arrivals[1:] >= arrivals[:-1]).all() and arrivals[0] == 0.0


def test_full_philly_replay_conserves_jobs(tmp_path):
    code, _, err = run_cli("run", str(SCENARIOS / "philly-6214e9.yaml"), "--seed", "1",
                           "--out", str(tmp_path), "--quiet")
    assert code == 0, err
    import json

    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["jobs_submitted"] == 1985 == summary["jobs_completed"]
    details = json.loads((tmp_path / "details.json").read_text())
    assert details["traces"]["vc-6214e9"]["rows_read"] == 1985


def test_time_scale_compresses_arrivals():
    base = simulate(replay("tiresias", DATA / "tiresias" / "60_job.csv")).jobs
    fast = simulate(replay("tiresias", DATA / "tiresias" / "60_job.csv", time_scale=0.5)).jobs
    assert fast["arrival_s"].max() == pytest.approx(base["arrival_s"].max() * 0.5)
    assert fast["duration_s"].sum() == pytest.approx(base["duration_s"].sum())


def test_horizon_cuts_the_trace():
    data = replay("tiresias", DATA / "tiresias" / "60_job.csv")
    data["duration"] = "1000s"
    data["drain"] = False
    result = simulate(data)
    assert result.jobs["arrival_s"].max() < 1000
    assert result.summary["jobs_submitted"] < 60


def test_bad_trace_row_is_an_input_error_with_file_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("job_id,num_gpu,submit_time,iterations,model_name,duration,interval\n"
                   "0,1,0,10,resnet,100,1\n1,two,5,10,resnet,100,1\n")
    data = replay("tiresias", bad)
    path = tmp_path / "s.yaml"
    import yaml

    path.write_text(yaml.safe_dump(data))
    code, _, err = run_cli("run", str(path))
    assert code == 2 and f"{bad}:3" in err and "Traceback" not in err
    data["workloads"][0]["trace"]["on_error"] = "skip"
    result = simulate(data)
    assert result.summary["trace_rows_skipped"] == 1 and result.summary["jobs_submitted"] == 1


def test_trace_stats_command():
    code, out, _ = run_cli("trace", "stats", str(DATA / "philly-vc" / "6214e9.csv"),
                           "--format", "tiresias")
    assert code == 0 and "1,985 read" in out


def test_fractional_share_is_refused_until_modelled():
    data = replay("alibaba-openb", DATA / "openb" / "openb_pod_list_default.csv.gz",
                  fractional_gpus="share")
    from scheduler.errors import InputError

    with pytest.raises(InputError, match="GPU sharing is not modelled yet"):
        simulate(data)
