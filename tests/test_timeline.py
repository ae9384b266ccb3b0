"""Build-out timeline: node groups coming online and going offline, and demand growth."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import ROOT, run_cli

from scheduler import simulate
from scheduler.arrivals import YEAR, arrival_times
from scheduler.cluster import Cluster
from scheduler.errors import InputError
from scheduler.power import PowerModel
from scheduler.scenario import PoissonArrival, Scenario

ONLINE_S = 10 * 3600.0


def buildout(groups_b: dict, gpus: object = 16, duration: str = "1h", rate: float = 2.0,
             horizon: str = "30h", **extra: object) -> dict:
    """Site A: one 8-GPU node from the start; site B: four 8-GPU nodes (the timeline)."""
    return {
        "name": "buildout", "seed": 3, "duration": horizon,
        "sites": [
            {"name": "A", "nodes": [{"gpu": "H100", "gpus_per_node": 8, "count": 1}]},
            {"name": "B", "nodes": [{"gpu": "H100", "gpus_per_node": 8, "count": 4,
                                     **groups_b}]}],
        "workloads": [{"name": "w", "kind": "training",
                       "arrival": {"process": "poisson", "rate_per_hour": rate},
                       "gpus": gpus, "duration": duration}],
        **extra}


def conserved(summary: dict) -> bool:
    return summary["jobs_submitted"] == (summary["jobs_completed"] + summary["jobs_rejected"]
                                         + summary["jobs_unfinished"] + summary["jobs_failed"])


def test_jobs_needing_the_new_group_wait_and_start_exactly_at_online():
    result = simulate(buildout({"online": "10h"}))
    jobs = result.jobs
    assert (jobs["status"] != "rejected").all()  # 16 GPUs fit B once online: wait, not reject
    early = jobs[jobs["arrival_s"] < ONLINE_S]
    assert len(early) > 5
    assert jobs["start_s"].min() == ONLINE_S
    assert (jobs["start_s"].dropna() >= ONLINE_S).all()
    assert conserved(result.summary)


def test_jobs_too_big_for_the_whole_timeline_are_still_rejected():
    result = simulate(buildout({"online": "10h"}, gpus=64))
    assert (result.jobs["status"] == "rejected").all()
    assert conserved(result.summary)


def test_utilization_divides_by_the_gpus_online():
    # B (32 GPUs) online from 10 h of 30 h, A (8 GPUs) throughout:
    # 8 x 30 + 32 x 20 = 880 GPU-hours online.
    result = simulate(buildout({"online": "10h"}, gpus=8, rate=0.5))
    summary = result.summary
    assert summary["gpu_hours_online"] == pytest.approx(880.0, rel=1e-12)
    assert summary["gpu_utilization"] == pytest.approx(
        summary["gpu_hours_busy"] / 880.0, rel=1e-12)
    # No warm-up: the utilization after it is the same ratio.
    assert summary["gpu_utilization_after_warmup"] == pytest.approx(
        summary["gpu_utilization"], rel=1e-12)
    ts = result.timeseries
    step = float(ts["time_s"].iloc[1] - ts["time_s"].iloc[0])
    before = ts[ts["time_s"] + step <= ONLINE_S + 1e-6]
    after = ts[ts["time_s"] >= ONLINE_S]
    assert len(before) and len(after)
    assert (before["gpus_online"] == 8).all() and (after["gpus_online"] == 40).all()
    assert (before["gpu_utilization[B]"] == 0).all()
    sites = summary["sites"]
    assert (sites["A"]["gpu_utilization"] * 8 * 30 + sites["B"]["gpu_utilization"] * 32 * 20
            == pytest.approx(summary["gpu_hours_busy"], rel=1e-12))


def test_decommissioned_group_stops_its_jobs_and_serves_no_more():
    # 6 h jobs on B, B retired at 12 h: jobs running then are preempted and wait for ever
    # (16 GPUs never fit A): unfinished at the end, none lost.
    result = simulate(buildout({"offline": "12h"}, duration="6h", rate=1.0))
    summary = result.summary
    jobs = result.jobs
    assert summary["preemptions"] >= 1
    assert (jobs["start_s"].dropna() < 12 * 3600).all()
    ts = result.timeseries
    late = ts[ts["time_s"] >= 12 * 3600]
    assert (late["gpu_utilization[B]"] == 0).all() and (late["gpus_online"] == 8).all()
    assert summary["gpu_hours_online"] == pytest.approx(8 * 30 + 32 * 12, rel=1e-12)
    assert summary["jobs_unfinished"] > 0 and conserved(summary)


def test_swap_at_the_same_instant_moves_work_to_the_new_group():
    scenario = buildout({"offline": "12h"}, gpus=8, duration="6h", rate=1.0)
    scenario["sites"][1]["nodes"].append(
        {"gpu": "B200", "gpus_per_node": 8, "count": 4, "online": "12h"})
    result = simulate(scenario)
    assert result.summary["jobs_completed"] > 0 and conserved(result.summary)
    assert result.timeseries["gpus_online"].iloc[-1] == 8 + 32


def test_a_repair_does_not_return_a_retired_node():
    scenario = Scenario.model_validate(buildout({}))
    cluster = Cluster(scenario)
    cluster.set_down(1, repair_at=5.0)
    cluster.retired.add(1)
    cluster.set_up(1)
    assert not cluster.is_up(1) and 1 not in cluster.repairs
    cluster.check_invariants()


def test_offline_before_online_is_an_input_error():
    with pytest.raises(InputError) as caught:
        simulate(buildout({"online": "10h", "offline": "5h"}))
    assert "sites.1.nodes.0" in str(caught.value)
    assert "offline" in str(caught.value)


def test_scenarios_without_a_timeline_have_no_online_column():
    result = simulate(buildout({}))
    assert "gpus_online" not in result.timeseries
    assert "gpu_hours_online" not in result.summary


# ---------------------------------------------------------------------- demand growth

def _count(arrival: PoissonArrival, horizon: float, seed: int, max_jobs: int | None = None):
    rng = np.random.default_rng(seed)
    return np.concatenate(list(arrival_times(arrival, horizon, rng, max_jobs=max_jobs)))


@pytest.mark.parametrize("growth", [0.3, -0.4])
@pytest.mark.parametrize("profile", [None, {"daily": [3.0] * 8 + [1.0] * 16}])
def test_growth_count_matches_the_integral(growth, profile):
    rate = 20.0  # per hour
    arrival = PoissonArrival(process="poisson", rate_per_hour=rate, growth_per_year=growth,
                             profile=profile)
    horizon = 2 * YEAR
    times = _count(arrival, horizon, seed=11)
    assert (np.diff(times) >= 0).all() and times[-1] < horizon
    k = math.log1p(growth) / YEAR
    per_s = rate / 3600.0
    for start, end in ((0.0, YEAR), (YEAR, 2 * YEAR)):
        # Expected count = integral of rate x e^(k t) dt; the daily profile averages out
        # over whole days to within a day's share, far below the Poisson SD.
        expected = per_s * (math.exp(k * end) - math.exp(k * start)) / k
        observed = int(((times >= start) & (times < end)).sum())
        # 4 Poisson SDs: a false failure has probability 6e-5 per check.
        assert abs(observed - expected) < 4 * math.sqrt(expected), (start, observed, expected)


def test_growth_respects_max_jobs_and_zero_growth_draws_as_before():
    grown = PoissonArrival(process="poisson", rate_per_hour=50.0, growth_per_year=0.3)
    assert len(_count(grown, YEAR, seed=2, max_jobs=1000)) == 1000
    flat = PoissonArrival(process="poisson", rate_per_hour=50.0)
    zero = PoissonArrival(process="poisson", rate_per_hour=50.0, growth_per_year=0.0)
    assert np.array_equal(_count(flat, YEAR, seed=4), _count(zero, YEAR, seed=4))


def test_growth_in_a_run_keeps_every_job_accounted_for():
    scenario = buildout({"online": "10h"}, gpus=8, rate=1.0, horizon="60d")
    scenario["workloads"][0]["arrival"]["growth_per_year"] = 3.0
    result = simulate(scenario)
    arrivals = result.jobs["arrival_s"].to_numpy()
    half = 30 * 86400.0
    assert (arrivals >= half).sum() > (arrivals < half).sum()
    assert conserved(result.summary)


def test_groups_out_of_service_draw_no_power():
    # Every job is rejected (64 GPUs fit nowhere): only idle power flows. B is built at 10 h
    # and retired at 25 h of 30 h, so it draws its idle power for 15 h; A for all 30 h.
    scenario_dict = buildout({"online": "10h", "offline": "25h"}, gpus=64)
    scenario = Scenario.model_validate(scenario_dict)
    idle = PowerModel(scenario, Cluster(scenario)).base_it_w  # IT watts, PUE 1
    result = simulate(scenario_dict)
    sites = result.summary["sites"]
    assert sites["B"]["energy_facility_mwh"] == pytest.approx(idle[1] * 15 / 1e6, rel=1e-9)
    assert sites["A"]["energy_facility_mwh"] == pytest.approx(idle[0] * 30 / 1e6, rel=1e-9)
    ts = result.timeseries
    step = float(ts["time_s"].iloc[1] - ts["time_s"].iloc[0])
    before = ts[ts["time_s"] + step <= ONLINE_S + 1e-6]
    assert before["facility_power_mw[B]"].abs().max() < 1e-9


def test_bad_timeline_values_exit_2_with_file_line(tmp_path):
    text = (ROOT / "scenarios" / "buildout-example.yaml").read_text(encoding="utf-8")
    bad = text.replace("offline: 270d}", "offline: 270d, online: 300d}").replace(
        "growth_per_year: 0.3", "growth_per_year: -1.5")
    path = tmp_path / "bad.yaml"
    path.write_text(bad, encoding="utf-8")
    code, _, err = run_cli("validate", str(path))
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(lines) == 2 and "Traceback" not in err
    assert "sites.1.nodes.0: offline" in lines[0] and "must be after online" in lines[0]
    assert "workloads.0.arrival.growth_per_year" in lines[1]


def test_power_cap_leaves_out_groups_not_yet_online():
    # Site B: one 8-GPU node from the start and four more from 10 h; cap = the idle draw of
    # all five + half an 8-GPU job's marginal draw. Before 10 h the four are not built, so
    # their idle watts are head room and 8-GPU jobs start on B; from 10 h none fits the cap.
    scenario_dict = buildout({"online": "10h"}, gpus=8, rate=2.0, duration="30m")
    site_b = scenario_dict["sites"][1]
    site_b["nodes"].insert(0, {"gpu": "H100", "gpus_per_node": 8, "count": 1})
    del scenario_dict["sites"][0]  # B alone: every job must go there
    scenario = Scenario.model_validate(scenario_dict)
    power = PowerModel(scenario, Cluster(scenario))
    marginal = 8 * float(power.extra_w_per_gpu[0])
    assert power.group_idle_it_w[1] > marginal  # the head room before 10 h fits one job
    site_b["power_cap"] = float(power.base_it_w[0]) + 0.5 * marginal
    result = simulate(scenario_dict)
    starts = result.jobs["start_s"].dropna()
    assert len(starts) > 3 and (starts < ONLINE_S).all()
    # The jobs running at 10 h go on while the new nodes' idle draw takes the site over its
    # cap (documented): at most one job length (30 min), and never before 10 h.
    assert 0 < result.summary["sites"]["B"]["time_over_cap_s"] <= 1800
    ts = result.timeseries
    step = float(ts["time_s"].iloc[1] - ts["time_s"].iloc[0])
    before = ts[ts["time_s"] + step <= ONLINE_S + 1e-6]
    cap_mw = site_b["power_cap"] / 1e6
    assert (before["facility_power_peak_mw[B]"] <= cap_mw * (1 + 1e-12)).all()
    assert conserved(result.summary)


def test_offered_load_warning_counts_only_the_gpus_online():
    # 8-GPU jobs of 1 h at 3 per hour: 24 GPU-h per hour. All 40 GPUs would carry it (60 %);
    # B online only for the last 6 h of 30 gives a mean of 8 + 32 x 0.2 = 14.4 GPUs online:
    # the work is 167 % of it, so the run is flagged as not stationary.
    late = simulate(buildout({"online": "24h"}, gpus=8, rate=3.0))
    assert any("not stationary" in w for w in late.summary["warnings"])
    always = simulate(buildout({}, gpus=8, rate=3.0))
    assert not any("not stationary" in w for w in always.summary["warnings"])


def test_validate_describes_the_timeline():
    code, out, _ = run_cli("validate", str(ROOT / "scenarios" / "buildout-example.yaml"))
    assert code == 0
    assert "10x8 H100 until 270d" in out and "30x8 B200 from 180d" in out
    assert "1.5 jobs/h, +30%/year" in out
