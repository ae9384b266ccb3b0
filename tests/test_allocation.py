"""Heterogeneity-aware allocation LPs against hand computation and independent solutions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from scheduler.allocation import (
    AllocationError,
    AllocationProblem,
    effective_throughput,
    equal_share,
    finish_time_fairness,
    max_min,
    max_min_fairness,
    min_makespan,
)


def problem(throughput, gpus, capacity) -> AllocationProblem:
    return AllocationProblem(np.asarray(throughput, float), np.asarray(gpus, float),
                             np.asarray(capacity, float))


def test_gavels_max_min_case_by_hand():
    # The max-min-with-performance case of Gavel's own policy tests (stanford-futuredata/
    # gavel, scheduler/tests/policies_tests.py): speeds (V100, P100, K80) 2, 1, 0.5 and
    # 3, 2, 1; 1 V100, 2 P100, 3 K80; one GPU each. Equal share: each job c_t / 2 scaled
    # to a row sum of 1 = (1/6, 1/3, 1/2): throughputs 11/12 and 5/3. Only the one V100 is
    # scarce; with a of it for job 0 (1 - a for job 1) and P100 for the rest, throughputs
    # are 1 + a and 3 - a; the normalised ones meet at 12 (1 + a) / 11 = 3 (3 - a) / 5:
    # a = 13/31, min = 48/31: every job gets 55 % more than its equal share (whose
    # normalised throughput is 1), the heterogeneity-aware gain of this case.
    p = problem([[2.0, 1.0, 0.5], [3.0, 2.0, 1.0]], [1, 1], [1, 2, 3])
    assert equal_share(p)[0] == pytest.approx([1 / 6, 1 / 3, 1 / 2], rel=1e-12)
    result = max_min_fairness(p)
    assert result.objective == pytest.approx(48 / 31, rel=1e-6)
    # Fractions to 1e-5: the second stage may give up 1e-6 of the minimum (STAGE_TWO_SLACK).
    assert result.fractions[:, 0] == pytest.approx([13 / 31, 18 / 31], abs=1e-5)
    assert effective_throughput(p, result.fractions) == pytest.approx([44 / 31, 80 / 31],
                                                                      rel=1e-5)


def grid_max_min(p: AllocationProblem, weights: np.ndarray, steps: int) -> float:
    """Brute force for 2 jobs x 2 types: every X on a grid of 1/steps."""
    axis = np.linspace(0.0, 1.0, steps + 1)
    x00, x01, x10, x11 = np.meshgrid(axis, axis, axis, axis, indexing="ij", sparse=True)
    t, g, c = p.throughput, p.gpus, p.capacity
    ok = ((x00 + x01 <= 1 + 1e-12) & (x10 + x11 <= 1 + 1e-12)
          & (g[0] * x00 + g[1] * x10 <= c[0] + 1e-12)
          & (g[0] * x01 + g[1] * x11 <= c[1] + 1e-12))
    thr0 = weights[0] * (t[0, 0] * x00 + t[0, 1] * x01)
    thr1 = weights[1] * (t[1, 0] * x10 + t[1, 1] * x11)
    return float(np.where(ok, np.minimum(thr0, thr1), -np.inf).max())


@pytest.mark.parametrize("seed", range(4))
def test_max_min_equals_brute_force_on_small_cases(seed):
    rng = np.random.default_rng(seed)
    p = problem(rng.uniform(0.5, 3.0, (2, 2)), rng.integers(1, 3, 2), rng.integers(1, 3, 2))
    weights = rng.uniform(0.5, 2.0, 2)
    lp = max_min(p, weights).objective
    steps = 40
    grid = grid_max_min(p, weights, steps)
    # The grid optimum is feasible, so never above the LP's; rounding the LP's X down to the
    # grid loses at most 2 steps of the largest weighted speed per job.
    assert grid <= lp + 1e-9
    assert lp - grid <= 2 * float((weights[:, None] * p.throughput).max()) / steps


def dense_epigraph(p: AllocationProblem, weights: np.ndarray) -> float:
    """The same optimum from a formulation built another way: loops, column-major X."""
    jobs, types = p.throughput.shape
    n = jobs * types + 1
    index = {(j, t): t * jobs + j for j in range(jobs) for t in range(types)}
    rows, rhs = [], []
    for j in range(jobs):
        row = np.zeros(n)
        row[-1] = 1.0
        for t in range(types):
            row[index[j, t]] = -weights[j] * p.throughput[j, t]
        rows.append(row)
        rhs.append(0.0)
        row = np.zeros(n)
        for t in range(types):
            row[index[j, t]] = 1.0
        rows.append(row)
        rhs.append(1.0)
    for t in range(types):
        row = np.zeros(n)
        for j in range(jobs):
            row[index[j, t]] = p.gpus[j]
        rows.append(row)
        rhs.append(p.capacity[t])
    bounds = [(0, 1 if p.throughput[j, t] > 0 else 0)
              for t in range(types) for j in range(jobs)] + [(0, None)]
    cost = np.zeros(n)
    cost[-1] = -1.0
    return -linprog(cost, A_ub=np.array(rows), b_ub=rhs, bounds=bounds, method="highs").fun


@pytest.mark.parametrize("seed", range(5))
def test_max_min_equals_a_dense_formulation(seed):
    rng = np.random.default_rng(10 + seed)
    throughput = rng.uniform(0.2, 4.0, (7, 3)) * (rng.random((7, 3)) > 0.2)
    throughput[:, 0] = np.maximum(throughput[:, 0], 0.1)  # every job runs somewhere
    p = problem(throughput, rng.choice([1, 2, 4, 8], 7), [8, 16, 4])
    weights = rng.uniform(0.1, 1.0, 7)
    assert max_min(p, weights).objective == pytest.approx(dense_epigraph(p, weights),
                                                          rel=1e-7)


@pytest.mark.parametrize("seed", range(5))
def test_max_min_fairness_gives_every_job_its_equal_share_at_least(seed):
    rng = np.random.default_rng(20 + seed)
    jobs = 30
    throughput = rng.uniform(0.5, 3.0, (jobs, 3))
    throughput[rng.random((jobs, 3)) < 0.2] = 0.0
    throughput[:, 1] = np.maximum(throughput[:, 1], 0.5)
    p = problem(throughput, rng.choice([1, 2, 8], jobs), [16, 24, 8])
    result = max_min_fairness(p)
    equal = effective_throughput(p, equal_share(p))
    got = effective_throughput(p, result.fractions)
    assert (got >= equal * (1 - 1e-6)).all()  # solver tolerance 1e-7, stage-two slack 1e-6
    assert result.objective >= 1 - 1e-9
    # Feasible: rows and capacities hold.
    assert (result.fractions.sum(axis=1) <= 1 + 1e-7).all()
    assert (p.gpus @ result.fractions <= p.capacity + 1e-6).all()


def test_min_makespan_by_hand():
    # One GPU, works 1 and 3: the best makespan is the total work, 4 (X = 1/4, 3/4).
    p = problem([[1.0], [1.0]], [1, 1], [1])
    result = min_makespan(p, np.array([1.0, 3.0]))
    assert 1 / result.objective == pytest.approx(4.0, rel=1e-7)
    assert result.fractions[:, 0] == pytest.approx([0.25, 0.75], abs=1e-5)  # stage-two slack


def test_finish_time_fairness_by_hand():
    # One GPU, two fresh jobs of work 1: isolated JCT (equal share 1/2) is 2; the best is
    # thr = 1/2 each, rho = (0 + 1 / 0.5) / 2 = 1.
    p = problem([[1.0], [1.0]], [1, 1], [1])
    result = finish_time_fairness(p, np.zeros(2), np.ones(2), np.full(2, 2.0))
    assert result.objective == pytest.approx(1.0, rel=1e-6)
    assert result.fractions[:, 0] == pytest.approx([0.5, 0.5], abs=1e-5)


def test_finish_time_fairness_favours_the_job_that_waited():
    # Job 0 has already waited 1 (elapsed) for the same remaining work: it gets more time.
    p = problem([[1.0], [1.0]], [1, 1], [1])
    result = finish_time_fairness(p, np.array([1.0, 0.0]), np.ones(2), np.full(2, 3.0))
    assert result.fractions[0, 0] > result.fractions[1, 0]
    # rho equal for both at the optimum: (1 + 1/x) / 3 = (1 / (1 - x)) / 3, so
    # x^2 + x - 1 = 0: x = (sqrt 5 - 1) / 2.
    assert result.fractions[0, 0] == pytest.approx((5 ** 0.5 - 1) / 2, abs=1e-5)


def test_a_job_that_fits_no_type_is_an_allocation_error():
    p = problem([[1.0, 0.0], [0.0, 0.0]], [1, 1], [1, 1])
    with pytest.raises(AllocationError, match="no GPU type"):
        max_min_fairness(p)
