"""Timeline by calendar date: dates for online/offline, ramps, power caps by date, GPU
generation swaps (docs/timeline.md, "Dates, ramps, cap tables and swaps")."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from scheduler import simulate
from scheduler.calendar_dates import date_text, resolve
from scheduler.cluster import Cluster
from scheduler.errors import InputError
from scheduler.power import PowerModel
from scheduler.scenario import Scenario
from scheduler.signals.dates import parse_start
from scheduler.timeline import group_windows, ramp_tranches
from scheduler.timeline_specs import MONTH_S

DAY = 86400.0
START = "2026-01-05"  # a Monday


def fleet(group: dict, gpus: int = 8, horizon: str = "30d", rate: float = 1.0,
          duration: str = "1h", **site: object) -> dict:
    """One site, one node group of 8-GPU H100 nodes (the timeline under test)."""
    return {
        "name": "dates", "seed": 5, "duration": horizon, "start": START,
        "sites": [{"name": "A", **site,
                   "nodes": [{"gpu": "H100", "gpus_per_node": 8, "count": 4, **group}]}],
        "workloads": [{"name": "w", "kind": "training",
                       "arrival": {"process": "poisson", "rate_per_hour": rate},
                       "gpus": gpus, "duration": duration}]}


def conserved(summary: dict) -> bool:
    return summary["jobs_submitted"] == (summary["jobs_completed"] + summary["jobs_rejected"]
                                         + summary["jobs_unfinished"] + summary["jobs_failed"])


# ------------------------------------------------------------------------ 1. calendar dates


def test_a_date_resolves_to_elapsed_seconds_from_the_start_in_paris_time():
    start = parse_start(START)
    # 2026-01-05 -> 2026-03-01: 26 + 28 + 1 = 55 days, all in winter time.
    assert resolve("2026-03-01", start) == 55 * DAY
    # -> 2026-04-01: 86 days, but clocks go forward on 2026-03-29: one hour less elapses.
    assert resolve("2026-04-01", start) == 86 * DAY - 3600
    assert resolve("2026-01-06T06:00", start) == 30 * 3600.0
    assert resolve("2026-01-06T06:00+00:00", start) == 31 * 3600.0  # 07:00 in Paris
    assert resolve("180d", start) == 180 * DAY  # offsets keep their meaning
    assert resolve("2025-12-31", start) == -5 * DAY
    for text in ("2026-04-01", "2026-01-06 06:00", "2027-12-31"):
        assert date_text(resolve(text, start), start) == text.replace("T", " ")


def yaml_fleet(path: Path, name: str, groups: list[str]) -> Path:
    """A YAML scenario file (dates unquoted, as users write them) with site A's node
    ``groups`` (one flow mapping each, in order: line numbers follow) and one workload."""
    nodes = "".join(f"      - {group}\n" for group in groups)
    path.write_text(f"""name: {name}
duration: 60d
start: {START}
sites:
  - name: A
    nodes:
{nodes}workloads:
  - {{name: w, kind: training, arrival: {{process: poisson, rate_per_hour: 1}}, gpus: 8,
      duration: 1h}}
""", encoding="utf-8")
    return path


def test_online_date_in_a_scenario_and_the_first_start_there():
    # Every job needs the group (8 GPUs, the only group): the first starts at online.
    result = simulate(fleet({"online": "2026-01-15"}, horizon="20d"))
    assert result.jobs["start_s"].min() == 10 * DAY
    assert conserved(result.summary)


def test_yaml_dates_and_datetimes_are_read(tmp_path):
    path = yaml_fleet(tmp_path / "s.yaml", "yaml-dates", [
        "{gpu: H100, gpus_per_node: 8, count: 4, online: 2026-01-15, offline: 2026-02-01T12:00}"])
    from scheduler.loading import load_scenario

    group = load_scenario(path).sites[0].nodes[0]
    assert group.online == 10 * DAY and group.offline == 27 * DAY + 12 * 3600
    code, out, _ = run_cli("validate", str(path))
    assert code == 0 and "4x8 H100 from 2026-01-15 until 2026-02-01T12:00)" in out


def test_an_online_date_before_start_means_online_from_time_zero():
    scenario = Scenario.model_validate(fleet({"online": "2024-06-01"}))
    assert scenario.sites[0].nodes[0].online < 0  # kept as written: ordering checks use it
    assert group_windows(scenario).window.tolist() == [[0, math.inf]]
    result = simulate(fleet({"online": "2024-06-01"}, horizon="2d"))
    assert "gpu_hours_online" not in result.summary  # no timeline left: in service throughout


def test_bad_dates_exit_2_naming_the_field(tmp_path):
    path = yaml_fleet(tmp_path / "bad.yaml", "bad-dates", [
        "{gpu: H100, gpus_per_node: 8, count: 4, online: 2026-02-30}",
        "{gpu: H100, gpus_per_node: 8, count: 4, online: 2026-03-01, offline: 2026-02-01}"])
    code, _, err = run_cli("validate", str(path))
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(lines) == 2 and "Traceback" not in err
    assert "sites.0.nodes.0.online" in lines[0] and "2026-02-30" in lines[0]
    assert "sites.0.nodes.1" in lines[1] and "must be after online" in lines[1]


def test_a_group_retired_before_start_never_serves_and_a_swap_before_start_is_done():
    # Slicing a long build-out by moving `start` keeps every date's meaning: a group retired
    # before the new start is out of service throughout (no power, no GPU-hours), and a
    # swap before it leaves only the new generation, from time 0.
    scenario = fleet({"swap": {"at": "2025-06-01", "gpu": "B200"}}, horizon="2d", gpus=64)
    scenario["sites"][0]["nodes"].append(
        {"gpu": "H100", "gpus_per_node": 8, "count": 2, "offline": "2025-12-01"})
    model = Scenario.model_validate(scenario)
    # 2025-06-01 00:00 to 2026-01-05 00:00 (Paris): 218 days and the hour of October's
    # change back to winter time; 2025-12-01: 35 days before.
    swap_s, retired_s = -(218 * DAY + 3600), -35 * DAY
    assert [(g.gpu, g.online, g.offline) for g in model.sites[0].nodes] == [
        ("H100", None, swap_s), ("B200", swap_s, None), ("H100", None, retired_s)]
    assert group_windows(model).window.tolist() == [[0, 0], [0, math.inf], [0, 0]]
    result = simulate(scenario)
    assert result.summary["gpu_hours_online"] == pytest.approx(32 * 48, rel=1e-12)
    b200_idle = float(PowerModel(model, Cluster(model)).group_idle_it_w[1])
    # 64-GPU jobs fit no group (rejected): only the B200s' idle draw, none from the H100s.
    assert result.summary["energy_facility_mwh"] == pytest.approx(b200_idle * 48 / 1e6,
                                                                  rel=1e-9)
    assert conserved(result.summary)


# ------------------------------------------------------------------------ 2. ramps


@pytest.mark.parametrize(("count", "fraction", "expected"), [
    (10, 0.25, [3, 5, 8, 10]),   # ceil(2.5), ceil(5), ceil(7.5), 10
    (8, 0.25, [2, 4, 6, 8]),     # exact quarters
    (3, 0.25, [1, 2, 3]),        # ceil(0.75), ceil(1.5), ceil(2.25): all in after 3 months
    (5, 1.0, [5]),
    (12, 0.1, [2, 3, 4, 5, 6, 8, 9, 10, 11, 12]),  # ceil(1.2), ceil(2.4), ... ceil(10.8), 12
])
def test_ramp_tranches_by_hand(count, fraction, expected):
    assert ramp_tranches(count, fraction) == expected


def test_ramped_group_brings_nodes_up_month_by_month():
    # 10 nodes at 25 %/month from time 0: 3, 5, 8, 10 nodes in the four months, then 10.
    # Steps of one ramp month: each step sees one constant count.
    scenario = fleet({"count": 10, "ramp": {"fraction_per_month": 0.25}}, gpus=80, rate=0.05,
                     horizon=f"{5 * MONTH_S}s", duration="1h")
    scenario["timeseries_step"] = MONTH_S
    result = simulate(scenario)
    online = result.timeseries["gpus_online"].to_numpy()
    assert online[:5].tolist() == [24.0, 40.0, 64.0, 80.0, 80.0]
    assert result.summary["gpu_hours_online"] == pytest.approx(
        (24 + 40 + 64 + 80 + 80) * MONTH_S / 3600, rel=1e-12)
    # 80-GPU jobs need the whole group: none starts before the last tranche.
    starts = result.jobs["start_s"].dropna()
    assert len(starts) > 0 and starts.min() >= 3 * MONTH_S
    assert (result.jobs["status"] != "rejected").all() and conserved(result.summary)


def test_ramp_from_a_date_and_its_idle_power():
    # 4 nodes at 50 %/month from 2026-01-15 (10 days in), horizon 60 days, every job too
    # big (rejected): the energy is the idle draw of 2 nodes from day 10 and 4 from day
    # 10 + 30.4375, to day 60.
    scenario = fleet({"online": "2026-01-15", "ramp": {"fraction_per_month": 0.5}}, gpus=64,
                     horizon="60d")
    model = Scenario.model_validate(scenario)
    idle_w = float(PowerModel(model, Cluster(model)).group_idle_it_w[0])  # PUE 1
    result = simulate(scenario)
    half_s = (MONTH_S) * 0.5 + (60 * DAY - 10 * DAY - MONTH_S)
    assert result.summary["energy_facility_mwh"] == pytest.approx(
        idle_w * half_s / 3.6e9, rel=1e-9)
    windows = group_windows(model)
    assert windows.window[:, 0].tolist() == [10 * DAY, 10 * DAY + MONTH_S]
    assert windows.nodes.tolist() == [2, 2]


def test_ramp_cut_short_by_offline_and_shown_by_validate(tmp_path):
    # 4 nodes, 25 %/month from 0, retired at 45 days: tranches at 0 and 30.4375 d serve,
    # the ones due at 60.9 and 91.3 d never do: 8 GPUs x 45 d + 8 GPUs x 14.5625 d.
    scenario = fleet({"ramp": {"fraction_per_month": 0.25}, "offline": "45d"}, horizon="100d",
                     gpus=64)
    result = simulate(scenario)
    assert result.summary["gpu_hours_online"] == pytest.approx(
        8 * (45 * DAY + 45 * DAY - MONTH_S) / 3600, rel=1e-12)
    assert conserved(result.summary)
    path = tmp_path / "ramp.json"
    import json

    path.write_text(json.dumps(fleet({"online": "2026-02-01",
                                      "ramp": {"fraction_per_month": 0.25}})), encoding="utf-8")
    code, out, _ = run_cli("validate", str(path))
    assert code == 0 and "4x8 H100 from 2026-02-01 25%/month" in out


# ------------------------------------------------------------------------ 3. power caps by date


def test_cap_table_holds_starts_before_the_date_and_allows_them_after():
    # One 8-GPU node; caps: idle + half an 8-GPU job until 2026-01-10 (5 days in), then
    # idle + two jobs. No 8-GPU job can start before day 5; they start from day 5 exactly.
    scenario = fleet({"count": 1}, horizon="10d", rate=0.5)
    model = Scenario.model_validate(scenario)
    power = PowerModel(model, Cluster(model))
    idle, job = float(power.base_it_w[0]), 8 * float(power.extra_w_per_gpu[0])
    scenario["sites"][0]["power_cap"] = [{"from": "2025-01-01", "cap": idle + 0.5 * job},
                                         {"from": "2026-01-10", "cap": idle + 2 * job}]
    result = simulate(scenario)
    starts = result.jobs["start_s"].dropna()
    assert len(starts) > 10 and starts.min() == 5 * DAY
    assert conserved(result.summary)
    ts = result.timeseries
    assert (ts["power_cap_mw[A]"].iloc[0] * 1e6 == pytest.approx(idle + 0.5 * job))
    assert (ts["power_cap_mw[A]"].iloc[-1] * 1e6 == pytest.approx(idle + 2 * job))
    assert result.summary["sites"]["A"]["time_over_cap_s"] == 0
    assert result.summary["sites"]["A"]["power_cap_mw"] is None  # no single value (docs)


def test_a_cap_that_drops_holds_new_starts_and_lets_running_jobs_go_on():
    # Cap falls from 2 jobs to idle + half a job at 12 h: jobs running then finish (hold),
    # no job starts after 12 h. 48 h jobs: the ones running at 12 h end after it.
    scenario = fleet({"count": 1}, gpus=4, horizon="3d", rate=1.0, duration="48h")
    model = Scenario.model_validate(scenario)
    power = PowerModel(model, Cluster(model))
    idle, job = float(power.base_it_w[0]), 4 * float(power.extra_w_per_gpu[0])
    scenario["sites"][0]["power_cap"] = [{"from": 0, "cap": idle + 2 * job},
                                         {"from": "12h", "cap": idle + 0.5 * job}]
    result = simulate(scenario)
    jobs = result.jobs
    assert (jobs["start_s"].dropna() < 12 * 3600).all()
    assert ((jobs["status"] == "completed") & (jobs["preemptions"] == 0)).sum() == 2
    assert result.summary["sites"]["A"]["time_over_cap_s"] > 0


def test_cap_table_checks_idle_draw_of_the_groups_in_service_per_step():
    # The group comes online at day 10. A step ending before it may be below its idle draw
    # (nothing built draws then); the step covering day 10 may not.
    scenario = fleet({"online": "2026-01-15"})
    model = Scenario.model_validate(scenario)
    idle = float(PowerModel(model, Cluster(model)).base_it_w[0])
    scenario["sites"][0]["power_cap"] = [{"from": 0, "cap": 1000},
                                         {"from": "2026-01-10", "cap": 0.5 * idle},
                                         {"from": "2026-02-01", "cap": 2 * idle}]
    with pytest.raises(InputError) as caught:
        simulate(scenario)
    problems = caught.value.problems
    assert [p.where for p in problems] == ["sites.0.power_cap.1.cap"]
    scenario["sites"][0]["power_cap"][1]["from"] = "2026-01-16"
    scenario["sites"][0]["power_cap"][1]["cap"] = 2 * idle
    with pytest.raises(InputError) as caught:  # now step 0 covers day 10 with 1 kW
        simulate(scenario)
    assert [p.where for p in caught.value.problems] == ["sites.0.power_cap.0.cap"]
    scenario["sites"][0]["power_cap"][0]["cap"] = 2 * idle
    assert conserved(simulate(scenario).summary)


def test_cap_steps_out_of_order_are_an_error():
    scenario = fleet({}, power_cap=[{"from": "2026-03-01", "cap": "1MW"},
                                    {"from": "2026-02-01", "cap": "2MW"}])
    with pytest.raises(InputError) as caught:
        simulate(scenario)
    assert "sites.0.power_cap" in str(caught.value) and "increasing date order" in str(
        caught.value)


def test_validate_prints_the_cap_table(tmp_path):
    import json

    path = tmp_path / "caps.json"
    path.write_text(json.dumps(fleet({}, power_cap=[{"from": "2026-01-01", "cap": "1MW"},
                                                   {"from": "2028-01-01", "cap": "240MW"}])),
                    encoding="utf-8")
    code, out, _ = run_cli("validate", str(path))
    assert code == 0 and "cap 1 MW from 2026-01-01, 240 MW from 2028-01-01" in out


# ------------------------------------------------------------------------ 4. generation swaps


def test_swap_expands_into_two_groups():
    scenario = Scenario.model_validate(fleet(
        {"online": "2026-01-10", "offline": "2027-01-01",
         "swap": {"at": "2026-06-01", "gpu": "B200", "count": 2}}))
    old, new = scenario.sites[0].nodes
    assert (old.gpu, old.count, old.online, old.offline) == ("H100", 4, 5 * DAY, 147 * DAY - 3600)
    assert (new.gpu, new.count, new.gpus_per_node, new.online, new.offline) == (
        "B200", 2, 8, 147 * DAY - 3600, 361 * DAY)
    assert old.swap == [] and new.swap == []


def test_chain_of_swaps_and_a_swap_before_online_is_an_error():
    chain = Scenario.model_validate(fleet({"swap": [{"at": "100d", "gpu": "B200"},
                                                    {"at": "200d", "gpu": "B300"}]}))
    assert [(g.gpu, g.online, g.offline) for g in chain.sites[0].nodes] == [
        ("H100", None, 100 * DAY), ("B200", 100 * DAY, 200 * DAY), ("B300", 200 * DAY, None)]
    with pytest.raises(InputError) as caught:
        simulate(fleet({"online": "50d", "swap": {"at": "40d", "gpu": "B200"}}))
    assert "sites.0.nodes.0" in str(caught.value) and "swap.0.at" in str(caught.value)


def test_swap_speeds_jobs_up_and_changes_energy_per_job():
    # 2 h jobs on H100 (speed 1), B200 at speed 2: jobs started before the swap (day 5) and
    # not preempted take 2 h, after it 1 h. Energy per job is its extra IT power x time
    # (PUE 1): 8 x (busy - idle) x run time, per type.
    scenario = fleet({"swap": {"at": "5d", "gpu": "B200"}}, horizon="10d", rate=0.5,
                     duration="2h")
    scenario["workloads"][0]["speedup"] = {"H100": 1.0, "B200": 2.0}
    result = simulate(scenario)
    jobs = result.jobs[(result.jobs["status"] == "completed") & (result.jobs["preemptions"] == 0)]
    run = jobs["end_s"] - jobs["start_s"]
    before, after = jobs["start_s"] < 5 * DAY, jobs["start_s"] >= 5 * DAY
    assert before.sum() > 10 and after.sum() > 10
    assert np.allclose(run[before], 7200) and np.allclose(run[after], 3600)
    model = Scenario.model_validate(scenario)
    power = PowerModel(model, Cluster(model))
    extra = {t.name: float(power.extra_w_per_gpu[i]) for i, t in enumerate(
        Cluster(model).gpu_types)}
    assert np.allclose(jobs.loc[before, "energy_facility_kwh"], 8 * extra["H100"] * 2 / 1000)
    assert np.allclose(jobs.loc[after, "energy_facility_kwh"], 8 * extra["B200"] * 1 / 1000)
    assert conserved(result.summary)
    assert math.isclose(result.summary["gpu_hours_online"], 32 * 10 * 24, rel_tol=1e-12)


def test_cap_steps_before_start_collapse_to_the_one_in_force_and_ramps_keep_their_phase():
    # Start 2026-01-05: the 2025 steps are in force before it; only the last of them counts
    # (from time 0). A ramp begun 2025-12-01 (35 days before) at 25 %/month has its first
    # tranche in already; the second comes 30.4375 - 35 < 0 -> also at 0; the third at
    # 2 x 30.4375 - 35 = 25.875 days.
    scenario = fleet({"online": "2025-12-01", "ramp": {"fraction_per_month": 0.25}},
                     power_cap=[{"from": "2025-01-01", "cap": "1MW"},
                                {"from": "2025-06-01", "cap": "2MW"},
                                {"from": "2026-02-01", "cap": "3MW"}])
    model = Scenario.model_validate(scenario)
    power = PowerModel(model, Cluster(model))
    assert [(w.start, w.end, w.cap_w) for w in power.windows] == [
        (0.0, 27 * DAY, 2e6), (27 * DAY, math.inf, 3e6)]
    assert power.cap_at(0, 0.0) == 2e6
    windows = group_windows(model)
    assert windows.window[:, 0].tolist() == pytest.approx(
        [0.0, 0.0, 2 * MONTH_S - 35 * DAY, 3 * MONTH_S - 35 * DAY], abs=1e-6)


def test_demand_response_windows_take_dates():
    # One 8-GPU node, cap = idle + half a job from 2026-01-07 to 2026-01-09 (days 2-4),
    # action hold: no start inside the window, and the window before start is dropped.
    scenario = fleet({"count": 1}, horizon="6d", rate=1.0, duration="30m")
    model = Scenario.model_validate(scenario)
    power = PowerModel(model, Cluster(model))
    idle, job = float(power.base_it_w[0]), 8 * float(power.extra_w_per_gpu[0])
    scenario["sites"][0]["demand_response"] = [
        {"start": "2025-12-01", "end": "2025-12-02", "power_cap": idle + 0.5 * job},
        {"start": "2026-01-07", "end": "2026-01-09", "power_cap": idle + 0.5 * job}]
    model = Scenario.model_validate(scenario)
    assert [(w.start, w.end) for w in PowerModel(model, Cluster(model)).windows] == [
        (2 * DAY, 4 * DAY)]
    starts = simulate(scenario).jobs["start_s"].dropna()
    assert len(starts) > 20
    assert not ((starts >= 2 * DAY) & (starts < 4 * DAY)).any()
    assert (starts == 4 * DAY).any()  # the queue restarts when the window closes
