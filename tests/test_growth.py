"""Demand growth as a table by date, for trace replays and for inference request rates."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import ROOT, run_cli

from scheduler import simulate
from scheduler.arrivals import arrival_times
from scheduler.growth import Compounding, StepTable, grown_arrivals, since_seconds
from scheduler.scenario import PoissonArrival, Scenario

DAY = 86400.0
DAILY_TRACE = ROOT / "tests" / "data" / "traces" / "generic" / "daily-2y.csv"
PHILLY_TRACE = ROOT / "tests" / "data" / "traces" / "philly-vc" / "6214e9.csv"


# ---------------------------------------------------------------------- the curves by hand

def test_step_table_factor_integral_and_inverse_by_hand():
    # x1 before 10 d, x2 on [10 d, 20 d), x0 on [20 d, 30 d), x0.5 from 30 d.
    table = StepTable.from_rows([10 * DAY, 20 * DAY, 30 * DAY], [2.0, 0.0, 0.5])
    t = np.array([5, 15, 25, 40]) * DAY
    assert table.factor(t).tolist() == [1.0, 2.0, 0.0, 0.5]
    # L = 5; 10 + 2 x 5 = 20; 10 + 20 = 30 (flat); 30 + 0.5 x 10 = 35 (days).
    assert (table.integral(t) / DAY).tolist() == [5.0, 20.0, 30.0, 35.0]
    # The inverse goes back, and a point where L is flat lands where the rate resumes.
    assert (table.inverse_integral(np.array([5, 20, 30, 35]) * DAY) / DAY).tolist() == [
        5.0, 15.0, 30.0, 40.0]
    assert table.peak(15 * DAY) == 2.0 and table.peak(5 * DAY) == 1.0


def test_rows_before_the_start_set_the_factor_at_time_zero_and_a_last_zero_ends_demand():
    table = StepTable.from_rows([-DAY, 0.0, 10 * DAY], [3.0, 1.5, 0.0])
    assert table.factor(0.0) == 1.5  # the last row at or before 0 wins
    # 15 days of demand at x1.5 before the factor drops to 0 for good: nothing beyond.
    assert table.inverse_integral(16 * DAY) == math.inf
    assert table.inverse_integral(12 * DAY) == pytest.approx(8 * DAY)  # 12 / 1.5


def test_compounding_inverse_undoes_the_integral_and_a_shrinking_demand_runs_out():
    up, down = Compounding(0.3), Compounding(-0.5)
    t = np.linspace(0.0, 3 * 365.25 * DAY, 7)
    np.testing.assert_allclose(up.inverse_integral(up.integral(t)), t, rtol=1e-12, atol=1e-3)
    np.testing.assert_allclose(down.inverse_integral(down.integral(t)), t, rtol=1e-12,
                               atol=1e-3)
    # -50 %/year integrates to YEAR / ln 2 at most: a trace time past it never arrives.
    assert down.inverse_integral(1.01 * 365.25 * DAY / math.log(2)) == math.inf


def test_dates_are_local_midnights_on_the_start_calendar():
    assert since_seconds("2027-01-01", "2026-12-31") == DAY
    assert since_seconds(3600.0, "2026-12-31") == 3600.0
    # Summer time begins in Paris on Sunday 2027-03-28: that day lasts 23 hours.
    assert since_seconds("2027-03-29", "2027-03-27") == 2 * DAY - 3600.0
    assert since_seconds("2026-12-30", "2026-12-31") == -DAY


# ---------------------------------------------------------------------- generated arrivals

def _times(arrival: PoissonArrival, horizon: float, seed: int, start: str) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate(list(arrival_times(arrival, horizon, rng, start=start)))


@pytest.mark.parametrize("profile", [None, {"daily": [3.0] * 8 + [1.0] * 16}])
def test_table_counts_per_period_match_the_integral(profile):
    rate = 20.0  # per hour
    start = "2026-01-01"
    rows = [{"since": "2026-07-01", "factor": 1.5}, {"since": "2027-01-01", "factor": 0.5},
            {"since": "500d", "factor": 2.5}]
    arrival = PoissonArrival.model_validate({"process": "poisson", "rate_per_hour": rate,
                                             "profile": profile, "growth_by_date": rows})
    horizon = 600 * DAY
    times = _times(arrival, horizon, seed=5, start=start)
    assert (np.diff(times) >= 0).all() and times[-1] < horizon
    edges = [0.0, since_seconds("2026-07-01", start), since_seconds("2027-01-01", start),
             500 * DAY, horizon]
    for (a, b), factor in zip(itertools.pairwise(edges), [1.0, 1.5, 0.5, 2.5], strict=True):
        # Expected = rate x factor x length: the factor is constant on each period, and the
        # daily profile averages out over whole days to within a day's share (<= 1 % of the
        # shortest period, 100 days), far below the Poisson SD.
        expected = rate / 3600.0 * factor * (b - a)
        observed = int(((times >= a) & (times < b)).sum())
        # 4 Poisson SDs: a false failure has probability 6e-5 per check (8 checks here), while
        # a wrong factor (the nearest, 1.0 vs 1.5, is 24,000 jobs apart) is 50+ SDs off.
        assert abs(observed - expected) < 4 * math.sqrt(expected), (a, observed, expected)


def test_a_table_at_zero_over_the_horizon_draws_nothing_and_a_launch_starts_demand():
    silent = PoissonArrival.model_validate({"process": "poisson", "rate_per_hour": 50.0,
                                            "growth_by_date": [{"since": 0, "factor": 0}]})
    assert list(arrival_times(silent, 30 * DAY, np.random.default_rng(1))) == []
    launch = PoissonArrival.model_validate({
        "process": "poisson", "rate_per_hour": 50.0,
        "growth_by_date": [{"since": 0, "factor": 0}, {"since": "10d", "factor": 1}]})
    times = _times(launch, 30 * DAY, seed=1, start="2026-01-01")
    assert times.min() >= 10 * DAY and len(times) > 20 * 24 * 40


# ---------------------------------------------------------------------- input errors

def _scenario_file(tmp_path, arrival_extra: dict, start: str = "2027-01-01") -> str:
    scenario = {"name": "growth", "seed": 1, "duration": "30d", "start": start,
                "sites": [{"name": "A", "nodes": [{"gpu": "H100", "gpus_per_node": 8,
                                                   "count": 1}]}],
                "workloads": [{"name": "w", "kind": "training",
                               "arrival": {"process": "poisson", "rate_per_hour": 1.0,
                                           **arrival_extra},
                               "gpus": 1, "duration": "1h"}]}
    path = tmp_path / "growth.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    return str(path)


def test_rows_out_of_order_once_on_the_calendar_exit_2_naming_the_row(tmp_path):
    # 2027-01-10 is 9 days after the start: not after the 10 d row before it.
    path = _scenario_file(tmp_path, {"growth_by_date": [
        {"since": "10d", "factor": 1.2}, {"since": "2027-01-10", "factor": 1.5}]})
    code, _, err = run_cli("validate", path)
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err
    assert "workloads.0.arrival.growth_by_date.1.since" in lines[0]
    assert "increasing order" in lines[0]


def test_both_kinds_of_growth_or_a_bad_date_exit_2(tmp_path):
    path = _scenario_file(tmp_path, {"growth_per_year": 0.3,
                                     "growth_by_date": [{"since": "2027-02-30", "factor": 1}]})
    code, _, err = run_cli("validate", path)
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and "Traceback" not in err
    assert any("growth_by_date.0.since" in line and "2027-02-30" in line for line in lines)
    path = _scenario_file(tmp_path, {"growth_per_year": 0.3,
                                     "growth_by_date": [{"since": "2027-02-01", "factor": 1}]})
    code, _, err = run_cli("validate", path)
    assert code == 2 and "growth_per_year (0.3) or growth_by_date, not both" in err


def test_validate_shows_the_table(tmp_path):
    path = _scenario_file(tmp_path, {"growth_by_date": [
        {"since": "2027-01-01", "factor": 1.0}, {"since": "2028-01-01", "factor": 1.6}]})
    code, out, _ = run_cli("validate", path)
    assert code == 0
    assert "1 jobs/h, x1 from 2027-01-01, x1.6 from 2028-01-01" in out


# ---------------------------------------------------------------------- trace replays

def _trace_scenario(trace: str, growth: dict, horizon: str = "730d", **trace_extra) -> dict:
    return {"name": "trace-growth", "seed": 1, "duration": horizon, "start": "2027-01-01",
            "sites": [{"name": "A", "nodes": [{"gpu": "H100", "gpus_per_node": 8,
                                               "count": 2}]}],
            "workloads": [{"name": "t", "trace": {"format": "csv", "path": trace,
                                                  **trace_extra}, **growth}]}


def test_a_trace_with_a_table_keeps_every_row_and_doubles_its_rate():
    # One row a day; x2 from 365 d: rows 0..364 stay, rows 365..729 come every 12 h and the
    # trace runs out at 547 d, long before the 730 d horizon (nothing is looped or invented).
    result = simulate(_trace_scenario(str(DAILY_TRACE), {
        "growth_by_date": [{"since": "2028-01-01", "factor": 2.0}]}))  # 2027 has 365 days
    arrivals = np.sort(result.jobs["arrival_s"].to_numpy())
    k = np.arange(730.0)
    expected = np.where(k < 365, k * DAY, 365 * DAY + (k - 365) * DAY / 2)
    np.testing.assert_allclose(arrivals, expected, rtol=0, atol=1e-6)
    summary = result.summary
    assert summary["jobs_submitted"] == 730 == summary["jobs_completed"]
    assert result.jobs.sort_values("job_id")["arrival_s"].is_monotonic_increasing


def test_a_growing_trace_counts_per_period_are_the_trace_counts_over_the_integral():
    # Warping is deterministic: the rows in [a, b) of the replay are exactly the trace's rows
    # in [L(a), L(b)) with L the integrated factor (+300 %/year: x4 a year, so that the
    # trace's months arrive within the 60 days simulated).
    growth = Compounding(3.0)
    trace = _trace_scenario(str(PHILLY_TRACE), {"growth_per_year": 3.0}, horizon="60d")
    trace["workloads"][0]["trace"]["format"] = "tiresias"
    plain = _trace_scenario(str(PHILLY_TRACE), {}, horizon="200d")
    plain["workloads"][0]["trace"]["format"] = "tiresias"
    original = np.sort(simulate(plain).jobs["arrival_s"].to_numpy())
    grown = simulate(trace).jobs
    edges = np.array([0, 10, 20, 40, 60]) * DAY
    counts = np.histogram(grown["arrival_s"], edges)[0]
    expected = np.histogram(original, growth.integral(edges))[0]
    assert counts.tolist() == expected.tolist()
    assert len(grown) == int((original < growth.integral(60 * DAY)).sum())
    assert grown.sort_values("job_id")["arrival_s"].is_monotonic_increasing


# ---------------------------------------------------------------------- scenario schema

def test_scenario_accepts_growth_everywhere():
    scenario = Scenario.model_validate(_trace_scenario(str(DAILY_TRACE), {
        "growth_per_year": 0.2}))
    assert scenario.workloads[0].growth_per_year == 0.2


# ---------------------------------------------------------------------- inference services

def _service_scenario(requests: dict, horizon: str = "2d", fidelity: str = "aggregate",
                      interval: str = "10m") -> dict:
    return {"name": "service-growth", "seed": 2, "duration": horizon, "start": "2027-01-01",
            "sites": [{"name": "A", "nodes": [{"gpu": "H100", "gpus_per_node": 8,
                                               "count": 40}]}],
            "workloads": [{"name": "chat", "kind": "inference", "replica_gpus": 8,
                           "fidelity": fidelity, "requests": requests,
                           "autoscale": {"mode": "utilization", "interval": interval,
                                         "scale_up_delay": 0, "cooldown": 0}}]}


def _by_period(result, column: str, edges: list[float]) -> list[float]:
    ts = result.timeseries
    return [float(ts.loc[(ts["time_s"] >= a) & (ts["time_s"] < b), column].mean())
            for a, b in itertools.pairwise(edges)]


def test_a_service_rate_follows_the_table_and_its_replicas_match_the_grown_rate():
    grown = simulate(_service_scenario({
        "rate_per_second": 20, "growth_by_date": [{"since": "2027-01-02", "factor": 3}]}))
    tripled = simulate(_service_scenario({"rate_per_second": 60}))
    edges = [0.0, DAY, 2 * DAY]
    assert _by_period(grown, "request_rate_rps[chat]", edges) == pytest.approx([20.0, 60.0])
    # Aggregate fidelity counts the expected requests of each step: 20/s for a day, 60/s
    # for the next.
    details = grown.details["services"]["chat"]
    assert details["requests"] == pytest.approx(80 * DAY, rel=1e-12)
    # The autoscaler follows: after the step, the grown service holds the replicas of the
    # same service at three times the rate (the cooldown is 0, the model loads at once).
    replicas = _by_period(grown, "replicas[chat]", [0.0, DAY - 3600, DAY + 3600, 2 * DAY])
    steady = _by_period(tripled, "replicas[chat]", [DAY + 3600, 2 * DAY])[0]
    assert replicas[2] == pytest.approx(steady) and replicas[0] < steady / 2


def test_compounding_service_requests_are_the_integral_of_the_grown_profile():
    rate, g = 5.0, 2.0  # x3 a year, so that a week shows it
    result = simulate(_service_scenario({"rate_per_second": rate, "profile": "chat",
                                         "growth_per_year": g}, horizon="14d",
                                        interval="1h"))
    # Expected requests: the chat profile's hourly rates times (1 + g) ** (t / year),
    # integrated on a fine grid (60 points an hour; the factor grows by 1e-4 in an hour,
    # so the midpoint rule is exact to ~1e-12 relative).
    from scheduler.inference.models import demand_profile, hourly_rates

    hourly = hourly_rates(rate, *demand_profile("chat"))
    t = (np.arange(14 * 24 * 60) + 0.5) * 60.0
    expected = float(np.sum(hourly[(t // 3600).astype(int) % 168]
                            * Compounding(g).factor(t)) * 60.0)
    assert result.details["services"]["chat"]["requests"] == pytest.approx(expected, rel=1e-9)
    plain = simulate(_service_scenario({"rate_per_second": rate, "profile": "chat"},
                                       horizon="14d", interval="1h"))
    second_week = [7 * DAY, 14 * DAY]
    assert (_by_period(result, "replicas[chat]", second_week)[0]
            > _by_period(plain, "replicas[chat]", second_week)[0])


def test_request_fidelity_draws_the_grown_number_of_requests():
    result = simulate(_service_scenario({
        "rate_per_second": 2, "growth_by_date": [{"since": "1h", "factor": 3}]},
        horizon="2h", fidelity="request", interval="5m"))
    expected = 2 * 3600 + 6 * 3600  # 28,800; without growth 14,400 (21 SDs away)
    observed = result.details["services"]["chat"]["requests"]
    # 4 Poisson SDs (680 requests): a false failure has probability 6e-5.
    assert abs(observed - expected) < 4 * math.sqrt(expected)
    replicas = _by_period(result, "replicas[chat]", [0.0, 3600.0, 7200.0])
    assert replicas[1] > replicas[0]


def test_validate_shows_a_service_growth(tmp_path):
    scenario = _service_scenario({"rate_per_second": 40, "growth_per_year": 0.5})
    path = tmp_path / "service.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    code, out, _ = run_cli("validate", str(path))
    assert code == 0 and "40 requests/s, replicas of 8 GPUs, +50%/year" in out


def test_mean_factor_is_the_integral_over_the_width():
    a = np.array([0.0, 5 * DAY, 9 * DAY, 100 * DAY])
    b = a + np.array([DAY, 10 * DAY, 60.0, 30 * DAY])
    for curve in (Compounding(0.3), Compounding(-0.5),
                  StepTable.from_rows([10 * DAY, 20 * DAY], [2.0, 0.0])):
        np.testing.assert_allclose(curve.mean_factor(a, b),
                                   (curve.integral(b) - curve.integral(a)) / (b - a),
                                   rtol=1e-9)
    # Inside one row: the row's factor exactly; across [5 d, 15 d): (5 x 1 + 5 x 2) / 10.
    table = StepTable.from_rows([10 * DAY, 20 * DAY], [2.0, 0.0])
    assert table.mean_factor(a, b).tolist()[:3] == [1.0, 1.5, 1.0]


def test_the_job_count_limit_counts_the_growth(tmp_path):
    # 3,000 jobs/h for a year is 26 million jobs, under the 50 million limit; x3 from the
    # start is 79 million, over it: the check names the rate and the count with growth.
    from scheduler.references import check_references

    def problems(extra: dict) -> list[str]:
        path = Path(_scenario_file(tmp_path, extra))
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["duration"] = "365d"
        data["workloads"][0]["arrival"]["rate_per_hour"] = 3000.0
        return [str(p) for p in check_references(Scenario.model_validate(data))]

    assert problems({}) == []
    grown = problems({"growth_by_date": [{"since": 0, "factor": 3.0}]})
    assert len(grown) == 1 and "workloads.0.arrival.rate_per_hour" in grown[0]
    assert "about 78,840,000 jobs" in grown[0]


@pytest.mark.parametrize("fidelity", ["aggregate", "request"])
def test_a_service_launched_by_the_table_has_no_requests_before_its_launch(fidelity):
    result = simulate(_service_scenario({
        "rate_per_second": 2, "growth_by_date": [{"since": 0, "factor": 0},
                                                 {"since": "1h", "factor": 1}]},
        horizon="2h", fidelity=fidelity, interval="5m"))
    rates = _by_period(result, "request_rate_rps[chat]", [0.0, 3600.0, 7200.0])
    assert rates == pytest.approx([0.0, 2.0])
    requests = result.details["services"]["chat"]["requests"]
    assert abs(requests - 7200) < 4 * math.sqrt(7200)  # only the second hour's


@pytest.mark.parametrize("mode", ["utilization", "slo"])
def test_a_guess_never_changes_the_replica_count(mode):
    # With growth the autoscaler passes its previous answer as a guess; the answer must be
    # the one the full search gives, whatever the guess (below, at, above, far above).
    from scheduler.inference import ReplicaModel, replicas_needed, workload_tokens

    inp, out = workload_tokens("chat")
    model = ReplicaModel(prefill_tokens_per_s=10_000, decode_s_per_token=0.03, slots=8,
                         input=inp, output=out)
    targets = ({"target_utilization": 0.7} if mode == "utilization"
               else {"ttft_slo_s": 0.6, "percentile": 0.9})
    for rate in (0.5, 7.0, 50.0, 400.0):
        exact = replicas_needed(rate, model, min_replicas=0, **targets)
        for guess in {1, max(1, exact - 3), exact - 1, exact, exact + 1, exact + 50}:
            assert replicas_needed(rate, model, min_replicas=0, guess=guess,
                                   **targets) == exact, (rate, guess)


def test_grown_arrivals_scalar_and_array_paths_agree():
    # One hour (the scalar path) and across hours and rows (the array path) against a fine
    # midpoint sum of hourly rate x factor (the factor moves < 1e-4 within a second's slice).
    hourly = np.arange(1.0, 169.0)
    curves = (Compounding(0.3), StepTable.from_rows([3 * 3600.0 + 1800.0], [2.0]))
    for curve in curves:
        for t0, t1 in ((60.0, 120.0), (3000.0, 4000.0), (3 * 3600.0 + 600, 3 * 3600.0 + 2400),
                       (3500.0, 5 * 3600.0), (0.0, 3600.0)):
            t = np.arange(t0, t1) + 0.5
            expected = float(np.sum(hourly[(t // 3600).astype(int)] * curve.factor(t)))
            got = grown_arrivals(curve, hourly, 0.0, t0, t1)
            assert got == pytest.approx(expected, rel=1e-9), (curve, t0, t1)
            assert grown_arrivals(curve, None, 2.0, t0, t1) == pytest.approx(
                2.0 * float(curve.integral(t1) - curve.integral(t0)), rel=1e-12)


def test_dates_out_of_the_planning_range_are_input_errors_not_overflows(tmp_path):
    # 0001-01-01 00:00 in Paris is in year 0 in UTC: datetime overflows; refused on load.
    path = _scenario_file(tmp_path, {"growth_by_date": [{"since": "0001-01-01", "factor": 2}]})
    code, _, err = run_cli("validate", path)
    assert code == 2 and "Traceback" not in err
    assert "growth_by_date.0.since" in err and "dates run from 1900-01-01 to 2199-12-31" in err


def test_a_runaway_growth_is_an_input_error_without_a_numpy_warning(tmp_path):
    import warnings

    from scheduler.references import check_references

    path = Path(_scenario_file(tmp_path, {"growth_per_year": 100.0}))
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["duration"] = "100000d"  # 101 ** 274 years: beyond any float
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        problems = [str(p) for p in check_references(Scenario.model_validate(data))]
    assert len(problems) == 1 and "about inf jobs" in problems[0]


# ---------------------------------------------------------------------- job sizes by date

def _sized(table: list[dict] | None) -> dict:
    workload = {"name": "w", "kind": "training",
                "arrival": {"process": "poisson", "rate_per_hour": 4.0},
                "gpus": 1, "duration": {"distribution": "lognormal", "median": "1h",
                                        "sigma": 1.0, "cap": "6h"}}
    if table is not None:
        workload["duration_growth_by_date"] = table
    return {"name": "sizes", "seed": 3, "duration": "40d", "start": "2027-01-01",
            "sites": [{"name": "A", "nodes": [{"gpu": "H100", "gpus_per_node": 8,
                                               "count": 8}]}],
            "workloads": [workload]}


def test_job_sizes_grow_by_date_on_the_same_draws():
    """The durations of jobs arriving from each row's date are the same draws as without
    the table (the same arrivals), times the row's factor, cap included: exact."""
    base = simulate(_sized(None)).jobs
    table = [{"since": "2027-01-11", "factor": 2.0}, {"since": "30d", "factor": 0.5}]
    grown = simulate(_sized(table)).jobs
    np.testing.assert_array_equal(grown["arrival_s"], base["arrival_s"])
    arrival = base["arrival_s"].to_numpy()
    factor = np.where(arrival >= 30 * DAY, 0.5, np.where(arrival >= 10 * DAY, 2.0, 1.0))
    assert {1.0, 2.0, 0.5} <= set(factor.tolist())  # jobs in each period
    np.testing.assert_array_equal(grown["duration_s"], base["duration_s"] * factor)
    assert grown["duration_s"].max() == 12 * 3600  # the 6 h cap, doubled


def test_job_size_rows_out_of_order_exit_2_and_validate_shows_the_table(tmp_path):
    data = _sized([{"since": "10d", "factor": 2.0}, {"since": "2027-01-05", "factor": 3.0}])
    path = tmp_path / "sizes.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    code, _, err = run_cli("validate", str(path))
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err
    assert "workloads.0.duration_growth_by_date.1.since" in lines[0]
    data["workloads"][0]["duration_growth_by_date"] = [{"since": "2027-02-01", "factor": 2.5}]
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    code, out, _ = run_cli("validate", str(path))
    assert code == 0 and "durations x2.5 from 2027-02-01" in out
