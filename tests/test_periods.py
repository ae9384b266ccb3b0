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
