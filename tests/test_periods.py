"""Answers by period (docs/timeline.md): the calendar, the per-period table of a run, its
sums against the whole run, and the first period that crosses a planner's threshold."""

from __future__ import annotations

import itertools
import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli

from scheduler import simulate
from scheduler.arrivals import YEAR
from scheduler.errors import InputError
from scheduler.periods import calendar_periods, first_crossings, period_index, step_integrals
from scheduler.results import Result

DAY = 86400.0
# 2021-11-01 .. 2022-02-01: no daylight-saving change (27 Mar / 31 Oct), so the months are
# whole days from time 0: Nov 30 d, Dec 31 d, Jan 31 d.
EDGES_D = [0, 30, 61, 92]


def three_months(rate: float = 3.0, growth: float = 0.0, **extra: object) -> dict:
    """A: 8 GPUs retired on 1 Jan; B: 4 GPUs built on 1 Dec. Capacity 8, 12, 4 by month."""
    return {
        "name": "three-months", "seed": 11, "duration": "92d", "start": "2021-11-01",
        "sites": [
            {"name": "A", "pue": 1.25, "nodes": [
                {"gpu": "H100", "gpus_per_node": 8, "count": 1, "offline": "61d"}]},
            {"name": "B", "pue": 1.5, "nodes": [
                {"gpu": "H100", "gpus_per_node": 4, "count": 1, "online": "30d"}]}],
        "grid": {"carbon_g_per_kwh": 30, "price_eur_per_mwh": 60},
        "workloads": [{"name": "w", "kind": "training",
                       "arrival": {"process": "poisson", "rate_per_hour": rate,
                                   "growth_per_year": growth},
                       "gpus": 1, "duration": {"distribution": "exponential", "mean": "1h"}}],
        "report": {"period": "month"},
        **extra}


@pytest.fixture(scope="module")
def run() -> Result:
    return simulate(three_months(report={"period": "month",
                                         "thresholds": {"utilization": 0.6, "p95_wait": "1h"}}))


def test_calendar_months_follow_local_midnights_through_daylight_saving():
    periods = calendar_periods(date(2020, 1, 27), 80 * DAY, "month")
    assert periods.labels == ["2020-01", "2020-02", "2020-03", "2020-04"]
    # 1 Feb is 5 days in; 1 Apr 00:00 CEST is 65 days less the hour summer time took.
    assert periods.edges.tolist() == [0, 5 * DAY, 34 * DAY, 65 * DAY - 3600, 80 * DAY]
    quarters = calendar_periods(date(2021, 11, 1), 400 * DAY, "quarter")
    assert quarters.labels == ["2021-Q4", "2022-Q1", "2022-Q2", "2022-Q3", "2022-Q4"]
    assert calendar_periods(date(2021, 11, 1), 92 * DAY, "year").labels == ["2021", "2022"]


def test_a_time_on_a_boundary_belongs_to_the_period_it_opens():
    edges = np.array(EDGES_D, dtype=float) * DAY
    index = period_index(np.array([0, 30 * DAY - 1, 30 * DAY, 92 * DAY, np.nan, 93 * DAY]), edges)
    assert index.tolist() == [0, 0, 1, 2, -1, -1]  # the run's last instant is in the last


def test_step_integrals_are_exact_across_boundaries():
    # 2 W from 0, 5 W from 10 s: over [0, 4], [4, 12], [12, 20] -> 8, 2x6 + 5x2, 40 J.
    out = step_integrals(np.array([0.0, 10.0]), np.array([2.0, 5.0]), np.array([0, 4, 12, 20.0]))
    assert out.tolist() == [8.0, 22.0, 40.0]


def test_capacity_steps_at_the_build_and_retirement_dates(run: Result):
    table = run.periods
    assert table is not None
    assert table["period"].tolist() == ["2021-11", "2021-12", "2022-01"]
    assert (table["start_s"] / DAY).tolist() == EDGES_D[:-1]
    # B comes online exactly at 1 Dec, A retires exactly at 1 Jan: no period mixes them.
    assert table["gpus_online_mean"].tolist() == [8, 12, 4]
    assert table["gpus_online_end"].tolist() == [8, 12, 4]
    assert table["gpu_hours_online"].tolist() == [8 * 30 * 24, 12 * 31 * 24, 4 * 31 * 24]


def test_period_sums_are_the_whole_run(run: Result):
    table, s = run.periods, run.summary
    assert table is not None
    assert table["jobs_arrived"].sum() == s["jobs_submitted"]
    assert s["jobs_submitted"] == (s["jobs_completed"] + s["jobs_rejected"]
                                   + s["jobs_unfinished"] + s["jobs_failed"])
    assert table["jobs_completed"].sum() == s["jobs_completed"]
    assert table["jobs_started"].sum() == s["jobs_submitted"] - s["jobs_never_started"] \
        - s["jobs_rejected"]
    # Exact integrals of the same step functions, summed in another order: float rounding.
    for column, total in (("energy_facility_mwh", s["energy_facility_mwh"]),
                          ("energy_it_mwh", s["energy_it_mwh"]), ("carbon_t", s["carbon_t"]),
                          ("energy_cost_eur", s["energy_cost_eur"]),
                          ("gpu_hours_online", s["gpu_hours_online"]),
                          ("gpu_hours_busy", s["gpu_hours_busy"])):
        assert table[column].sum() == pytest.approx(total, rel=1e-9), column
    # A constant grid: carbon = 30 g/kWh x energy, cost = 60 EUR/MWh x energy, each month.
    assert table["carbon_t"].tolist() == pytest.approx(
        (table["energy_facility_mwh"] * 30e3 / 1e6).tolist(), rel=1e-9)
    assert table["energy_cost_eur"].tolist() == pytest.approx(
        (table["energy_facility_mwh"] * 60).tolist(), rel=1e-9)


def test_utilization_follows_the_capacity(run: Result):
    table = run.periods
    assert table is not None
    # Offered load 3 GPUs (3 jobs/h x 1 h x 1 GPU) on 8, 12, then 4 GPUs online; the
    # tolerance is wide (+-0.1): a month holds ~2,200 jobs, the load's relative sd ~3 %.
    assert table["gpu_utilization"].tolist() == pytest.approx([3 / 8, 3 / 12, 3 / 4], abs=0.1)


def test_first_period_crossing_each_threshold(run: Result):
    s = run.summary
    # Utilization 0.6 is crossed only when 4 GPUs are left (January, ~0.75). M/M/4 at
    # a = 3 Erlang: P(wait > t) = C(4, 3) e^{-(4 - 3) t / 1 h} with Erlang C = 0.51, so
    # p95 = ln(0.51 / 0.05) h = 2.3 h > 1 h; with 8 or 12 GPUs fewer than 5 % wait at all.
    assert s["first_period_crossing[utilization]"] == "2022-01"
    assert s["first_period_crossing[p95_wait]"] == "2022-01"
    rows = {t["name"]: t for t in run.details["periods"]["thresholds"]}
    assert rows["utilization"]["value"] >= 0.6
    assert rows["p95_wait"]["value"] > 3600


def test_growth_shows_in_the_arrivals_of_each_month():
    result = simulate(three_months(rate=2.0, growth=3.0, duration="92d",
                                   sites=[{"name": "A", "nodes": [
                                       {"gpu": "H100", "gpus_per_node": 8, "count": 4}]}]))
    table = result.periods
    assert table is not None
    # Expected count over [a, b): rate x (e^{k b} - e^{k a}) / k, k = ln(1 + g) / year
    # (docs/timeline.md); each month within 4 Poisson standard deviations.
    k = math.log(4.0) / YEAR
    expected = [2.0 / 3600 * (math.exp(k * b * DAY) - math.exp(k * a * DAY)) / k
                for a, b in itertools.pairwise(EDGES_D)]
    for seen, mean in zip(table["jobs_arrived"].tolist(), expected, strict=True):
        assert abs(seen - mean) < 4 * math.sqrt(mean)
    per_day = table["jobs_arrived"] / table["days"]
    assert per_day.iloc[-1] / per_day.iloc[0] > 1.2  # expected 1.36: x4 a year over 2 months


def test_first_crossings_of_a_hand_made_table():
    table = pd.DataFrame({
        "period": ["2030-01", "2030-02", "2030-03"],
        "p95_wait_s": [3600.0, np.nan, 50000.0],
        "gpu_utilization": [0.5, 0.9, 0.95],
        "max_site_peak_fraction_of_cap": [0.9, 0.97, 1.0],
        "slo_attainment[chat]": [0.99, 0.95, 0.80],
        "slo_attainment[code]": [0.99, 0.85, np.nan],
    })
    out = {c.name: (c.period, c.value) for c in first_crossings(table, {
        "p95_wait": 43200.0, "utilization": 0.9, "power_fraction_of_cap": 0.95,
        "slo_attainment_below": 0.9})}
    assert out == {"p95_wait": ("2030-03", 50000.0), "utilization": ("2030-02", 0.9),
                   "power_fraction_of_cap": ("2030-02", 0.97),
                   "slo_attainment_below": ("2030-02", 0.85)}
    never = first_crossings(table, {"utilization": 0.99, "p95_wait": None})
    assert [(c.name, c.period) for c in never] == [("utilization", None)]


def test_periods_by_default_only_for_runs_of_two_months_or_more():
    short = simulate(three_months(duration="30d", report={}))
    assert short.periods is None and "periods" not in short.details
    assert not any(k.startswith("first_period_crossing") for k in short.summary)
    long = simulate(three_months(duration="61d", report={}))
    assert long.periods is not None and long.periods["period"].tolist() == ["2021-11", "2021-12"]
    quarter = simulate(three_months(duration="30d", report={"period": "quarter"}))
    assert quarter.periods is not None and quarter.periods["period"].tolist() == ["2021-Q4"]


def test_periods_csv_is_written_and_read_back(run: Result, tmp_path):
    out = run.save(tmp_path / "out")
    csv = pd.read_csv(out / "periods.csv")
    assert csv["period"].tolist() == ["2021-11", "2021-12", "2022-01"]
    again = Result.load(out)
    assert again.periods is not None
    assert again.periods["energy_facility_mwh"].tolist() == pytest.approx(
        csv["energy_facility_mwh"].tolist(), rel=1e-12)


def test_a_bad_period_or_threshold_names_its_field(tmp_path):
    with pytest.raises(InputError) as caught:
        simulate(three_months(report={"period": "week", "thresholds": {"utilisation": 0.9}}))
    text = str(caught.value)
    assert "report.period" in text and "report.thresholds.utilisation" in text
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nduration: 1d\nsites: [{name: A, nodes: [{gpu: H100, "
                   "gpus_per_node: 1, count: 1}]}]\nworkloads: [{name: w, kind: training, "
                   "arrival: {process: poisson, rate_per_hour: 1}, gpus: 1, duration: 1h}]\n"
                   "report: {thresholds: {utilization: 1.5}}\n")
    code, _, err = run_cli("validate", str(bad))
    assert code == 2 and "report.thresholds.utilization" in err and "Traceback" not in err


def test_the_report_and_the_cli_call_out_the_first_crossing(run: Result, tmp_path):
    from scheduler.report import render_report

    page = render_report(run)
    assert '<section id="periods"><h2>By month</h2>' in page
    assert "GPU utilization at or above 60%: first in 2022-01" in page
    assert "<td>2021-12</td>" in page and "data:image/png;base64," in page
    scenario = tmp_path / "s.yaml"
    import yaml

    spec = three_months(duration="61d", report={"thresholds": {
        "utilization": 0.99, "power_fraction_of_cap": 0.9}})
    scenario.write_text(yaml.safe_dump(spec))
    code, out, _ = run_cli("run", str(scenario))
    assert code == 0
    assert "threshold: GPU utilization at or above 99%: never" in out
    assert "power at or above 90% of its cap: not measured" in out  # no site has a cap


def test_a_sweep_over_an_online_date_and_growth_gives_months_side_by_side(tmp_path):
    import yaml

    from scheduler.sweeps.periods import point_tables, read_sweep_periods

    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(three_months(duration="61d")))
    spec = tmp_path / "slip.yaml"
    spec.write_text(yaml.safe_dump({
        "scenario": "base.yaml", "seeds": [1],
        "set": {"report": {"thresholds": {"utilization": 0.3, "p95_wait": "30d"}}},
        "grid": {"sites.1.nodes.0.online": ["30d", "45d"],
                 "workloads.0.arrival.growth_per_year": [0.0, 1.0]}}))
    code, _, err = run_cli("sweep", str(spec), "--out", str(tmp_path / "out"),
                             "--workers", "1")
    assert code == 0, err
    periods = read_sweep_periods(tmp_path / "out")
    assert periods is not None and len(periods) == 4 * 2  # 4 runs x (Nov, Dec)
    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert "periods" not in runs.columns  # the rows go to periods.csv, not the runs table
    # Threshold months as text in the runs table: utilization 0.3 is crossed in November
    # (3 GPUs busy of 8, 0.375), a 30-day p95 wait never.
    assert set(runs["first_period_crossing[utilization]"]) == {"2021-11"}
    assert set(runs["first_period_crossing[p95_wait]"]) == {"never"}
    tables = point_tables(periods, ["sites.1.nodes.0.online",
                                    "workloads.0.arrival.growth_per_year"])
    december = {label: t.set_index("period").loc["2021-12", "gpus_online_mean"]
                for label, t in tables.items()}
    # B's 4 GPUs join A's 8 on 1 Dec (30d) or on 15 Dec (45d: 16 of December's 31 days).
    assert december["online=30d, growth_per_year=0.0"] == 12
    assert december["online=45d, growth_per_year=1.0"] == pytest.approx(8 + 4 * 16 / 31)
    # Growth doubles the rate within a year: December gets more arrivals per day with it.
    arrivals = {label: t.set_index("period")["jobs_arrived"] for label, t in tables.items()}
    assert (arrivals["online=30d, growth_per_year=1.0"]["2021-12"]
            > arrivals["online=30d, growth_per_year=0.0"]["2021-12"])
    page = (tmp_path / "out" / "report.html").read_text()
    assert '<section id="periods"><h2>By period, side by side</h2>' in page


def test_a_sweep_writes_the_per_period_rows_as_runs_finish(tmp_path):
    """periods.csv is written before each write of runs.csv (not only when the sweep ends):
    a sweep killed outright keeps the per-period rows of every run its runs table calls done."""
    from scheduler.sweeps.periods import SweepPeriods, read_sweep_periods
    from scheduler.sweeps.runner import RunsTable

    table, periods = RunsTable(tmp_path, "csv"), SweepPeriods(tmp_path)
    table.before_write = periods.flush
    row = {"run_id": "r1", "point_id": "p1", "seed": 1, "status": "ok"}
    periods.record(row, [], [{"period": "2021-11", "jobs_arrived": 3}])
    table.record(row, ["run_id"])  # the first row is written at once (no write cost yet)
    assert pd.read_csv(tmp_path / "runs.csv")["run_id"].tolist() == ["r1"]
    written = read_sweep_periods(tmp_path)
    assert written is not None and written["jobs_arrived"].tolist() == [3]


def test_compare_shows_the_months_of_two_runs_side_by_side(run: Result, tmp_path):
    first, second = run.save(tmp_path / "a"), run.save(tmp_path / "b")
    code, _, err = run_cli("compare", str(first), str(second), "--out", str(tmp_path / "c.html"))
    assert code == 0, err
    assert 'id="plot-periods"' in (tmp_path / "c.html").read_text()


def test_thresholds_without_periods_are_an_input_error():
    with pytest.raises(InputError, match=r"report: .*thresholds are checked per period"):
        simulate(three_months(report={"period": "none", "thresholds": {"utilization": 0.5}}))


def test_an_unreadable_sweep_periods_file_is_ignored(tmp_path):
    from scheduler.sweeps.periods import read_sweep_periods

    (tmp_path / "periods.csv").write_bytes(b"\x00\xff garbage")
    assert read_sweep_periods(tmp_path) is None
    (tmp_path / "periods.csv").write_text("")
    assert read_sweep_periods(tmp_path) is None


def test_the_documented_report_block_is_valid():
    import yaml
    from conftest import ROOT

    text = (ROOT / "docs" / "timeline.md").read_text(encoding="utf-8")
    block = text.split("```yaml\nreport:", 1)[1].split("```", 1)[0]
    report = yaml.safe_load("report:" + block)["report"]
    assert report["thresholds"]["p95_wait"] == "12h"
    result = simulate(three_months(duration="30d", report=report))
    assert result.periods is not None  # thresholds on a short run ask for months
    assert {f"first_period_crossing[{name}]" for name in report["thresholds"]} <= set(
        result.summary)


def test_power_against_the_caps_by_hand():
    from scheduler.periods import JobColumns, Periods, SitePower, period_table

    # Site X: 2 MW from 0, 5 MW from 10 s, cap 4 MW; site Y: 1 MW throughout, cap 3 MW,
    # lowered to 0.5 MW over [15, 18) (a demand-response window). Periods [0, 12), [12, 20).
    mw = 1e6
    x = SitePower("X", np.array([0.0, 10.0]), np.array([2, 5.0]) * mw, 1.25,
                  np.array([0.0]), np.array([4 * mw]))
    y = SitePower("Y", np.array([0.0]), np.array([1 * mw]), 1.0,
                  np.array([0.0, 15.0, 18.0]), np.array([3, 0.5, 3]) * mw)
    periods = Periods("month", ["p1", "p2"], np.array([0.0, 12.0, 20.0]))
    series = pd.DataFrame({"time_s": [0.0, 10.0], "busy_gpus": [1.0, 2.0],
                           "queued_jobs": [0.0, 0.0]})
    nothing = np.zeros(0)
    table = period_table(periods, series, 20.0,
                         JobColumns(nothing, nothing, nothing, nothing.astype(bool),
                                    nothing.astype(bool), nothing.astype(bool)),
                         np.array([[0.0, np.inf]]), np.array([2.0]), [x, y],
                         (np.array([0.0, 10.0]), np.array([3, 6.0]) * mw))
    # X over its cap from 10 s: 2 s of p1, all 8 s of p2, at 5 / 4 of it.
    assert table["time_over_cap_s[X]"].tolist() == [2.0, 8.0]
    assert table["peak_fraction_of_cap[X]"].tolist() == [1.25, 1.25]
    # Y: 1 / 3 of its cap, then 1 / 0.5 = 2 in the window, over it for 3 s.
    assert table["peak_fraction_of_cap[Y]"].tolist() == pytest.approx([1 / 3, 2.0])
    assert table["time_over_cap_s[Y]"].tolist() == [0.0, 3.0]
    assert table["max_site_peak_fraction_of_cap"].tolist() == pytest.approx([1.25, 2.0])
    # The sum of the lowest caps in force: 4 + 3, then 4 + 0.5 MW; cluster peak 6 MW.
    assert table["power_cap_total_mw"].tolist() == [7.0, 4.5]
    assert table["peak_fraction_of_cap_total"].tolist() == pytest.approx([6 / 7, 6 / 4.5])
    # Energy: X 2x10 + 5x2 = 30 MJ then 40 MJ; Y 12 then 8 MJ. IT divides X by its PUE.
    assert (table["energy_facility_mwh"] * 3.6e9).tolist() == pytest.approx([42e6, 48e6])
    assert (table["energy_it_mwh"] * 3.6e9).tolist() == pytest.approx([36e6, 40e6])
    # Busy GPUs from the series: 1 over [0, 10), 2 over [10, 20): 14 and 16 GPU-seconds.
    assert (table["gpu_hours_busy"] * 3600).tolist() == pytest.approx([14.0, 16.0])


def test_slo_attainment_per_period_matches_the_services():
    from conftest import SCENARIOS

    result = simulate(SCENARIOS / "inference-gpus.yaml", overrides=[
        "start=2021-03-31", "report={period: month, thresholds: {slo_attainment_below: 0.95}}"])
    table = result.periods
    assert table is not None and table["period"].tolist() == ["2021-03"]  # 1 day in March
    for name, service in result.details["services"].items():
        # One period: the requests-weighted mean of the time series (means over its 173 s
        # steps, rate x attainment per step) against the services' exact count of requests
        # within the SLO; the product of two step means differs by well under 0.5 %.
        assert table[f"slo_attainment[{name}]"].iloc[0] == pytest.approx(
            service["slo_attainment"], abs=0.005)
    assert result.summary["first_period_crossing[slo_attainment_below]"] == "2021-03"
    row = result.details["periods"]["thresholds"][0]
    assert row["value"] == pytest.approx(min(s["slo_attainment"] for s in
                                             result.details["services"].values()), abs=0.005)
    assert table["jobs_arrived"].sum() == result.summary["jobs_submitted"]  # replicas too


@pytest.mark.slow
def test_the_documented_slip_what_if():
    """Seed-pinned regression of docs/timeline.md's what-if (Bethune online 180 d vs 360 d,
    seed 2027): the numbers the page quotes, rounded as it rounds them."""
    from conftest import SCENARIOS

    runs = {online: simulate(SCENARIOS / "buildout-example.yaml", overrides=[
        f"sites.2.nodes.0.online={online}", "report={thresholds: {p95_wait: 24h}}"])
        for online in ("180d", "360d")}
    plan, slip = (runs[k].periods.set_index("period") for k in ("180d", "360d"))
    assert slip.loc[["2020-11", "2020-12"], "gpus_online_mean"].tolist() == [160, 160]
    assert plan.loc["2020-09":, "gpus_online_end"].max() == 480
    hours = {name: (t.loc[["2020-11", "2020-12", "2021-01"], "p95_wait_s"] / 3600).round()
             .tolist() for name, t in (("plan", plan), ("slip", slip))}
    assert hours == {"plan": [2, 1, 3], "slip": [70, 158, 179]}
    assert [runs[k].summary["jobs_unfinished"] for k in ("180d", "360d")] == [15, 539]
    assert runs["180d"].summary["first_period_crossing[p95_wait]"] == "2020-06"
    assert runs["360d"].summary["first_period_crossing[p95_wait]"] == "2020-09"
    assert slip.loc["2021-01", "jobs_never_started"] == 284
    # The runs are the same until Bethune's planned date (25 July): same seed, same decisions.
    assert (plan.loc[:"2020-06", "gpu_hours_busy"] == slip.loc[:"2020-06", "gpu_hours_busy"]).all()


def test_a_ramped_group_and_a_cap_table_by_date_show_up_month_by_month():
    # B (4 nodes of 1 GPU) ramps from 1 Dec at half a group per tranche of 30.4375 days:
    # 2 GPUs from 1 Dec (day 30), 4 from day 60.4375; GPU-days in Dec: 2 x 30.4375 +
    # 4 x 0.5625, in Jan: 4 x 31 less A's 8 retired on 1 Jan (day 61).
    scenario = three_months(rate=0.5)
    scenario["sites"][1]["nodes"] = [{"gpu": "H100", "gpus_per_node": 1, "count": 4,
                                      "online": "2021-12-01", "ramp": {"fraction_per_month": 0.5}}]
    scenario["sites"][1]["power_cap"] = [{"from": "2021-12-01", "cap": "10kW"},
                                         {"from": "2022-01-01", "cap": "20kW"}]
    table = simulate(scenario).periods
    assert table is not None
    hours = table["gpu_hours_online"].tolist()
    assert hours == pytest.approx([8 * 30 * 24, (8 * 31 + 2 * 30.4375 + 4 * 0.5625) * 24,
                                   4 * 31 * 24], rel=1e-12)
    assert table["gpus_online_end"].tolist() == [8, 12, 4]
    # The cap in force at each month's end (the table's steps, by date): none, 10 kW, 20 kW.
    fraction = table["peak_fraction_of_cap[B]"].tolist()
    assert math.isnan(fraction[0]) or fraction[0] == 0
    assert all(0 < f <= 1 for f in fraction[1:])


def test_a_cap_table_starting_later_leaves_the_total_cap_undefined_not_infinite():
    # Every site has a cap table, B's starts on 1 Dec: November has no total of caps (NaN,
    # None in details.json, which allows no inf), December and January have 10 + 20 kW.
    scenario = three_months(rate=0.5)
    scenario["sites"][0]["power_cap"] = [{"from": "2021-11-01", "cap": "20kW"}]
    scenario["sites"][1]["power_cap"] = [{"from": "2021-12-01", "cap": "10kW"}]
    result = simulate(scenario)
    table = result.periods
    assert table is not None
    total = table["power_cap_total_mw"].tolist()
    assert math.isnan(total[0]) and total[1:] == pytest.approx([0.03, 0.03])
    rows = result.details["periods"]["rows"]
    assert rows[0]["power_cap_total_mw"] is None
    assert math.isnan(table["peak_fraction_of_cap_total"].iloc[0])
