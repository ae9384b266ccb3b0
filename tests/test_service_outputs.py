"""Inference services as services in the outputs: replicas are not jobs in wait, JCT,
slowdown, fairness or the CDF figure; per-service detail, figure and CLI line."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SCENARIOS, run_cli, tiny_scenario

from scheduler import simulate
from scheduler.service_views import batch_jobs, service_line

CHAT = {"name": "chat", "kind": "inference", "replica_gpus": 4,
        "requests": {"rate_per_second": 6, "profile": "chat"},
        "slo": {"ttft": "2.5s", "tpot": 0.15, "percentile": 0.9},
        "autoscale": {"mode": "slo", "interval": "10m", "scale_up_delay": "5m",
                      "cooldown": "20m", "max_replicas": 4}}


@pytest.fixture(scope="module")
def mixed():
    """TINY's training workloads beside a chat service, 12 h."""
    data = tiny_scenario(duration="12h")
    data["workloads"] = [*data["workloads"], CHAT]
    data["policy"] = {"queue": "priority"}
    return simulate(data, seed=4)


def test_replicas_are_not_jobs_in_jct_wait_slowdown(mixed):
    jobs = mixed.jobs
    replicas = jobs["workload"] == "chat"
    assert replicas.any() and (jobs.loc[replicas, "status"] == "completed").any()
    assert jobs.loc[replicas, "jct_s"].isna().all()
    assert jobs.loc[replicas, "slowdown"].isna().all()
    training = jobs[~replicas]
    done = training[training["status"] == "completed"]
    s = mixed.summary
    # The CONTRACT keys are over the training jobs alone.
    assert s["mean_jct_s"] == pytest.approx(float((done["end_s"] - done["arrival_s"]).mean()))
    started = training[training["start_s"].notna()]
    assert s["mean_wait_s"] == pytest.approx(float(started["wait_s"].mean()))
    assert s["mean_slowdown"] == pytest.approx(float(done["slowdown"].mean()))
    assert s["makespan_s"] == pytest.approx(float(done["end_s"].max()
                                                  - training["arrival_s"].min()))
    # Conservation still counts every job, replicas included.
    assert s["jobs_submitted"] == len(jobs)
    assert (s["jobs_completed"] + s["jobs_rejected"] + s["jobs_unfinished"]
            + s["jobs_failed"]) == s["jobs_submitted"]
    assert s["jobs_completed"] == int((jobs["status"] == "completed").sum())
    # Per workload and tenant: the service has jobs but no slowdown or fairness figure.
    chat = mixed.details["workloads"]["chat"]
    assert chat["jobs"] == int(replicas.sum())
    assert chat["mean_bounded_slowdown"] is None and chat["mean_finish_time_fairness"] is None
    assert mixed.details["tenants"]["inference"]["mean_bounded_slowdown"] is None


def test_cdf_figure_leaves_services_out(mixed):
    from scheduler.plots import plot_cdf

    fig = plot_cdf(mixed)
    labels = [t.get_text() for ax in fig.axes if ax.get_legend()
              for t in ax.get_legend().get_texts()]
    assert labels and not any(label.startswith("chat") for label in labels)
    assert any(label.startswith("small") for label in labels)
    assert set(batch_jobs(mixed)["workload"]) == {"small", "gang"}


def test_service_details_have_targets_gpus_and_sites(mixed):
    chat = mixed.details["services"]["chat"]
    assert (chat["slo_ttft_s"], chat["slo_tpot_s"], chat["slo_percentile"]) == (2.5, 0.15, 0.9)
    assert chat["replica_gpus"] == 4
    assert chat["mean_ready_gpus"] == pytest.approx(4 * chat["mean_ready_replicas"])
    assert chat["gpu_hours_per_1k_requests"] == pytest.approx(
        1000 * chat["gpu_hours"] / chat["requests"])
    sites = chat["sites"]
    assert set(sites) <= {"A", "B"} and sites
    assert sum(v["gpu_hours"] for v in sites.values()) == pytest.approx(chat["gpu_hours"])
    for v in sites.values():
        assert v["replica_hours"] == pytest.approx(v["gpu_hours"] / 4)
    # The whole 12 h is accounted: 6 req/s on the chat profile's first half-day.
    assert chat["requests"] == pytest.approx(
        float(mixed.timeseries["request_rate_rps[chat]"].mean() * 12 * 3600), rel=1e-6)


def test_service_figure_shows_demand_replicas_attainment_and_targets(mixed):
    from scheduler.service_plots import plot_service

    fig = plot_service(mixed, "chat")
    assert len([ax for ax in fig.axes if ax.get_ylabel()]) >= 4
    texts = " ".join(t.get_text() for ax in fig.axes if ax.get_legend()
                     for t in ax.get_legend().get_texts())
    assert "TTFT SLO 2.5 s" in texts and "90%" in texts
    attainment = next(ax for ax in fig.axes if ax.get_ylabel() == "SLO met (%)")
    plotted = attainment.get_lines()[0].get_ydata()
    expected = mixed.timeseries["slo_attainment[chat]"].to_numpy() * 100
    assert np.allclose(plotted, expected)


def test_service_line_reads_the_details():
    line = service_line({"requests": 1234567.0, "slo_attainment": 0.9512, "slo_percentile": 0.9,
                         "ttft_p90_s": 1.234, "slo_ttft_s": 2.5, "mean_ready_replicas": 3.25,
                         "mean_ready_gpus": 26.0, "energy_kwh_per_1k_requests": 0.2171})
    assert line == ("1,234,567 requests, 95.1% within SLO (target 90%); TTFT p90 1.23s "
                    "(SLO 2.5s); 3.2 replicas, 26 GPUs; 0.217 kWh/1k requests")
    assert "- requests" in service_line({})


def test_cli_summary_prints_one_line_per_service():
    code, out, err = run_cli("run", str(SCENARIOS / "hdf-2030-small.yaml"), "--set",
                             "duration=2h")
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.startswith("service ")]
    assert [line.split()[1] for line in lines] == ["chat", "code"]
    assert all("within SLO" in line and "kWh/1k requests" in line for line in lines)
