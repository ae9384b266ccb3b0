"""The Hauts-de-France build-out 2026-2032 (scenarios/hdf-buildout*.yaml): capacity in
service at a few dates against the sourced intent (docs/hdf-reference-scenario.md,
"Build-out 2026-2032"), and short scaled-down slices that run."""

from __future__ import annotations

import csv
import math
from datetime import UTC, date, datetime

import numpy as np
import pytest
from conftest import ROOT

from scheduler import simulate
from scheduler.cluster import Cluster
from scheduler.loading import load_scenario
from scheduler.power import PowerModel
from scheduler.scenario import Scenario
from scheduler.signals.dates import LOCAL_ZONE
from scheduler.timeline import group_windows

FULL = ROOT / "scenarios" / "hdf-buildout.yaml"
SMALL = ROOT / "scenarios" / "hdf-buildout-small.yaml"
ALL_IN_KW = {"H100": 1.4, "H200": 1.4, "B200": 2.0, "GB200": 2.0, "MI300X": 1.45,
             "B300": 2.1, "GB300": 2.2, "MI355X": 2.1}
"""Per-GPU all-in IT power (PROVENANCE.md; the 2026 parts: an assumption, see the page)."""
SITES = {row["site"]: row for row in csv.DictReader(
    (ROOT / "scheduler" / "data" / "sites.csv").open(encoding="utf-8"))}


@pytest.fixture(scope="module")
def full() -> Scenario:
    # The whole timeline (the file itself runs the year from 2030-01-07: test below).
    return load_scenario(FULL, ["start=2026-01-05", "duration=2553d"])


def seconds_at(scenario: Scenario, day: str) -> float:
    start = date.fromisoformat(scenario.start)
    origin = datetime(start.year, start.month, start.day, tzinfo=LOCAL_ZONE)
    moment = datetime.fromisoformat(day).replace(tzinfo=LOCAL_ZONE)
    # Through UTC: Python subtracts two datetimes of one zone as wall-clock times.
    return (moment.astimezone(UTC) - origin.astimezone(UTC)).total_seconds()


def site_mw_in_service(scenario: Scenario, day: str) -> dict[str, float]:
    """Facility MW of each site's nodes in service on ``day``, by the all-in rule
    (GPUs x all-in kW / AI share x PUE): the MW the build phases announce."""
    t = seconds_at(scenario, day)
    windows = group_windows(scenario)
    groups = [(site, g) for site in scenario.sites for g in site.nodes]
    out = {site.name: 0.0 for site in scenario.sites}
    for tranche in range(windows.group.shape[0]):
        lo, hi = windows.window[tranche]
        if not lo <= t < hi:
            continue
        site, group = groups[int(windows.group[tranche])]
        gpus = int(windows.nodes[tranche]) * group.gpus_per_node
        row = SITES[site.name]
        out[site.name] += (gpus * ALL_IN_KW[group.gpu] / 1000 / float(row["ai_share"])
                           * float(row["pue"]))
    return out


def test_the_2030_snapshot_is_reached_at_the_end_of_2030(full):
    # Every site's MW on 2030-12-31 is sites.csv's 2030 snapshot (ref2030_mw), up to the
    # rounding to whole 8-GPU nodes (< 0.1 MW per group at 1:1: 8 x 2.2 kW / 0.2 x 1.35).
    mw = site_mw_in_service(full, "2030-12-31")
    for name, row in SITES.items():
        assert mw[name] == pytest.approx(float(row["ref2030_mw"]), abs=0.5), name
    assert sum(mw.values()) == pytest.approx(2337, abs=3)  # above the region's 2 GW target


def test_sourced_dates_of_bethune_and_escaudain(full):
    # Bethune (Nebius at Azur): nothing before late summer 2026, 120 MW by end-2026,
    # 240 MW by end-2027 (dcmag.fr). Escaudain (Data4): nothing before 2030.
    assert site_mw_in_service(full, "2026-08-31")["Bethune"] == 0
    assert site_mw_in_service(full, "2026-12-31")["Bethune"] == pytest.approx(120, abs=0.5)
    assert site_mw_in_service(full, "2027-12-31")["Bethune"] == pytest.approx(240, abs=0.5)
    assert site_mw_in_service(full, "2029-12-31")["Escaudain"] == 0
    assert site_mw_in_service(full, "2030-01-01")["Escaudain"] > 0


def test_end_of_2032_stays_under_the_ceilings_and_the_caps_hold_the_idle_fleet(full):
    mw = site_mw_in_service(full, "2032-12-31")
    for name, row in SITES.items():
        assert mw[name] <= float(row["full_mw"]) + 0.5, name  # announced ceilings
    assert 2337 < sum(mw.values()) < 5807  # beyond 2030, below the 5.8 GW build-out ceiling
    assert mw["Escaudain"] == pytest.approx(700, abs=1)  # its RTE connection, filled
    # Each cap step covers the idle draw of the groups in service during it (checked on
    # building the power model: an InputError otherwise), and the caps follow the phases.
    power = PowerModel(full, Cluster(full))
    bethune = [s.name for s in full.sites].index("Bethune")
    assert power.cap_at(bethune, seconds_at(full, "2026-10-01")) == pytest.approx(120e6 * 0.95)
    assert power.cap_at(bethune, seconds_at(full, "2027-10-01")) == pytest.approx(240e6 * 0.95)


def test_generation_swaps_at_roubaix(full):
    roubaix = next(s for s in full.sites if s.name == "Roubaix-OVH")
    swap = seconds_at(full, "2028-06-01")
    h100 = [g for g in roubaix.nodes if g.gpu == "H100"]
    b200 = [g for g in roubaix.nodes if g.gpu == "B200"]
    assert len(h100) == 1 and len(b200) == 1
    assert h100[0].offline == swap == b200[0].online
    # Same IT power: 1.4 kW H100s become 2.0 kW B200s.
    assert b200[0].count == round(h100[0].count * 1.4 / 2.0)


def test_a_short_slice_of_the_small_scenario_runs_fast():
    # The first week of 2026 at 1:100: only the existing campuses serve (Roubaix, Gravelines,
    # Lille, Amiens: 29 nodes, 232 GPUs); every job is accounted for.
    result = simulate(str(SMALL), overrides=["duration=7d"])
    summary = result.summary
    assert summary["gpu_hours_online"] == pytest.approx(232 * 7 * 24, rel=1e-12)
    assert summary["jobs_submitted"] == (summary["jobs_completed"] + summary["jobs_rejected"]
                                         + summary["jobs_unfinished"] + summary["jobs_failed"])
    assert summary["jobs_rejected"] == 0 and summary["jobs_completed"] > 100


def test_moving_start_slices_the_build_out_at_2030():
    # `--set start=` keeps every date's meaning: from 2030-01-07 the groups built before are
    # in service at once, Escaudain's first tranche is in (from 2030-01-01), Elesmes not.
    result = simulate(str(SMALL), overrides=["start=2030-01-07", "duration=1d"])
    ts = result.timeseries
    scenario = load_scenario(SMALL, ["start=2030-01-07"])
    windows = group_windows(scenario)
    in_service = (windows.window[:, 0] <= 0) & (windows.window[:, 1] > 0)
    gpus = sum(int(windows.nodes[t]) * 8 for t in np.flatnonzero(in_service))
    assert ts["gpus_online"].iloc[0] == gpus
    names = [s.name for s in scenario.sites for _ in s.nodes]
    online_sites = {names[int(windows.group[t])] for t in np.flatnonzero(in_service)}
    assert "Escaudain" in online_sites and "Elesmes-Vieux-Reng" not in online_sites
    assert math.isfinite(result.summary["gpu_utilization"])


def test_expected_jobs_count_the_growth(full):
    # The memory guard and the job limit read the expected count, growth included: a step
    # table brings rate x sum(factor x time in force) jobs, by hand from the file's rows
    # (dates placed on the Paris calendar here): ~44.5 M over seven years, not rate x
    # duration = 2 M.
    import yaml

    from scheduler.memory import expected_jobs

    raw = yaml.safe_load(FULL.read_text(encoding="utf-8"))
    assert raw["start"] == date(2030, 1, 7) and raw["duration"] == "365d"
    by_hand = 0.0
    for workload in raw["workloads"]:
        rows = workload["arrival"]["growth_by_date"]
        edges = [max(0.0, seconds_at(full, str(row["since"]))) for row in rows]
        ends = [*edges[1:], full.duration]
        in_force = sum(row["factor"] * (end - begin)
                       for row, begin, end in zip(rows, edges, ends, strict=True))
        by_hand += workload["arrival"]["rate_per_hour"] / 3600 * in_force
    assert expected_jobs(full) == pytest.approx(by_hand, rel=1e-9)
    assert 40e6 < by_hand < 50e6


def test_demand_follows_the_gpus_in_service_month_by_month(full):
    # The file's assumption (docs/hdf-reference-scenario.md): each month's factor is that
    # month's mean GPUs in service over those at the start, so research asks for 45 % of the
    # GPUs in service every month. Checked on the windows of the loaded scenario (not the
    # generator's arithmetic) on the first day of a few months, within 5 %: the factor is a
    # month's mean, and a ramped phase adds up to a twelfth of itself within a month.
    from scheduler.growth import workload_growth

    research = full.workloads[0]
    curve = workload_growth(research, full.start)
    assert curve is not None
    windows = group_windows(full)
    gpus = {g: n.gpus_per_node for g, n in enumerate(n for s in full.sites for n in s.nodes)}

    def in_service(t: float) -> float:
        live = (windows.window[:, 0] <= t) & (windows.window[:, 1] > t)
        return float(sum(windows.nodes[k] * gpus[int(windows.group[k])]
                         for k in np.flatnonzero(live)))

    base = in_service(0.0)
    for day in ("2026-06-15", "2027-06-15", "2029-06-15", "2030-06-15", "2032-06-15"):
        t = seconds_at(full, day)
        assert float(curve.factor(t)) == pytest.approx(in_service(t) / base, rel=0.05), day


def test_job_sizes_follow_the_speed_of_the_gpus_in_service(full):
    # The file's other assumption: a job's work is its H100 duration x the month's mean
    # speed of the GPUs in service it may use over the start's, so that research keeps 45 %
    # of them busy as faster generations come in. Checked against the loaded scenario's
    # windows and the speeds the engine uses (the hardware speed model for research, the
    # speedup table for foundation), within 5 % as the demand above.
    from scheduler.catalog import builtin_gpu_types
    from scheduler.growth import size_growth
    from scheduler.hardware_speed import hardware_speeds

    windows = group_windows(full)
    groups = [n for s in full.sites for n in s.nodes]
    types = sorted({n.gpu for n in groups})
    catalog = builtin_gpu_types()
    engine_speeds = dict(zip(types, hardware_speeds(
        "generic", [catalog[t] for t in types], types.index("H100")).tolist(), strict=True))

    def mean_speed(t: float, speeds: dict[str, float]) -> float:
        live = (windows.window[:, 0] <= t) & (windows.window[:, 1] > t)
        pairs = [(windows.nodes[k] * groups[int(windows.group[k])].gpus_per_node,
                  speeds.get(groups[int(windows.group[k])].gpu))
                 for k in np.flatnonzero(live)]
        usable = [(n, v) for n, v in pairs if v is not None]
        return sum(n * v for n, v in usable) / sum(n for n, _ in usable)

    research, foundation = full.workloads[0], full.workloads[1]
    for workload, speeds in ((research, engine_speeds), (foundation, foundation.speedup)):
        curve = size_growth(workload, full.start)
        assert curve is not None
        base = mean_speed(0.0, speeds)
        for day in ("2026-06-15", "2027-06-15", "2029-06-15", "2030-06-15", "2032-06-15"):
            t = seconds_at(full, day)
            assert float(curve.factor(t)) == pytest.approx(mean_speed(t, speeds) / base,
                                                           rel=0.05), (workload.name, day)
    assert float(size_growth(research, full.start).factor(seconds_at(full, "2030-06-15"))) > 2


def test_the_job_limit_sees_a_steep_growth():
    from scheduler.errors import InputError

    scenario = {"name": "steep", "duration": "3650d",
                "sites": [{"name": "A", "nodes": [{"gpu": "H100", "gpus_per_node": 8,
                                                   "count": 1}]}],
                "workloads": [{"name": "w", "kind": "training", "gpus": 1, "duration": "1h",
                               "arrival": {"process": "poisson", "rate_per_hour": 1,
                                           "growth_per_year": 10}}]}
    # 1 job/h for ten years is 87,660 jobs; x 11^10 / (10 ln 11) ~ 1.1e9 times more.
    with pytest.raises(InputError) as caught:
        simulate(scenario)
    assert "workloads.0.arrival.rate_per_hour" in str(caught.value)


def gpus_in_service_by_hand(raw: dict, scenario: Scenario, t: float) -> int:
    """GPUs in service at ``t`` read from the YAML as written (not through the scheduler's
    service windows): a group serves from ``online`` in tranches of ceil(k x f x count) nodes
    every 30.4375 days, until a swap's ``at`` hands over to the new GPUs."""
    month = 365.25 / 12 * 86400.0
    total = 0
    for site in raw["sites"]:
        for group in site["nodes"]:
            online = seconds_at(scenario, str(group.get("online", scenario.start)))
            swap = group.get("swap")
            until = seconds_at(scenario, str(swap["at"])) if swap else math.inf
            fraction = group.get("ramp", {}).get("fraction_per_month", 1.0)
            for begin, end, count in ((online, until, group["count"]),
                                      (until, math.inf, swap["count"] if swap else 0)):
                if begin < t <= end:
                    tranches = math.floor((t - online) / month) + 1 if t > online else 0
                    nodes = min(count, math.ceil(tranches * fraction * count - 1e-9))
                    total += (count if begin == until else nodes) * group["gpus_per_node"]
    return total


def test_the_whole_timeline_runs_with_capacity_and_demand_by_year():
    # 2026-2032 at 1:100 with the rates cut 50-fold (5 s): the per-year table shows the
    # GPUs in service at each year's end as the file says (by hand above), arrivals per year
    # as the growth table integrates (within 4 Poisson SDs: 6e-5 two-sided per year; the
    # table's factor goes 1 -> 78 over the years, so a growth applied wrong is hundreds of
    # SDs off) and every job accounted for.
    import yaml

    raw = yaml.safe_load(SMALL.read_text(encoding="utf-8"))
    rates = [w["arrival"]["rate_per_hour"] / 50 for w in raw["workloads"]]
    result = simulate(str(SMALL), overrides=[
        *(f"workloads.{i}.arrival.rate_per_hour={r}" for i, r in enumerate(rates)),
        "report.period=year"])
    table, summary = result.periods, result.summary
    assert table is not None
    assert table["period"].tolist() == [str(y) for y in range(2026, 2033)]
    scenario = load_scenario(SMALL)
    for row in table.itertuples():
        assert row.gpus_online_end == gpus_in_service_by_hand(raw, scenario, row.end_s), row.period
    from scheduler.growth import workload_growth
    for row in table.itertuples():
        expected = sum(r / 3600 * float(np.diff(workload_growth(w, scenario.start).integral(
            np.array([row.start_s, row.end_s])))[0])
            for r, w in zip(rates, scenario.workloads, strict=True))
        assert abs(row.jobs_arrived - expected) <= 4 * math.sqrt(expected), row.period
    assert table["jobs_arrived"].sum() == summary["jobs_submitted"]
    assert summary["jobs_submitted"] == (summary["jobs_completed"] + summary["jobs_rejected"]
                                         + summary["jobs_unfinished"] + summary["jobs_failed"])


def test_the_escaudain_slip_sweep_plans_two_runs_a_year_apart():
    # scenarios/whatif/hdf-buildout-escaudain-slip.yaml (two 4-year runs: planned here, run
    # for docs/hdf-reference-scenario.md): every Escaudain phase and its cap a year late.
    from scheduler.sweeps.runner import plan_sweep

    plan = plan_sweep(ROOT / "scenarios" / "whatif" / "hdf-buildout-escaudain-slip.yaml")
    assert len(plan.runs) == 2  # each point's scenario is validated by the plan
    on_plan, slipped = (run.point.params for run in plan.runs)
    assert set(on_plan) == {"sites.1.nodes.0.online", "sites.1.nodes.1.online",
                            "sites.1.nodes.2.online", "sites.1.power_cap.0.from"}
    assert {plan.runs[0].point.scenario["sites"][1]["name"]} == {"Escaudain"}
    for key in on_plan:
        late = date.fromisoformat(str(slipped[key])) - date.fromisoformat(str(on_plan[key]))
        assert late.days in (365, 366), key


def test_the_files_are_what_the_generator_writes(monkeypatch):
    # scenarios/hdf-buildout*.yaml are written by scripts/make_hdf_buildout.py: a hand edit
    # or a generator change without regenerating would make them disagree.
    import importlib

    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    written = importlib.import_module("make_hdf_buildout").files()
    assert written.keys() == {FULL.name, SMALL.name}
    for path in (FULL, SMALL):
        assert written[path.name] == path.read_text(encoding="utf-8"), path.name
