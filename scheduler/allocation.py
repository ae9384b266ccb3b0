"""Heterogeneity-aware allocations as linear programs (in the spirit of Gavel, OSDI'20).

An allocation ``X[j, t]`` is the fraction of wall time job ``j`` should spend on GPU type
``t``; its effective throughput is ``sum_t T[j, t] X[j, t]`` (``T``: the job's speed on each
type, 0 where it cannot run). Feasible allocations keep ``X >= 0``, ``sum_t X[j, t] <= 1``
(a job runs in one place at a time) and ``sum_j g_j X[j, t] <= c_t`` (GPUs of each type;
``g_j``: the job's GPUs). The objectives, all of the form ``max min_j w_j thr_j(X)``:

* ``max-min-fairness``: ``w_j = 1 / thr_j(X_eq)``, the throughput under the equal share
  ``X_eq`` (every job the same time fraction of every type, ``c_t / sum_k g_k``, scaled so
  no row exceeds 1), so the optimum gives every job at least its equal-share throughput;
* ``min-makespan``: ``w_j = 1 / remaining work``, so ``1 / z`` is the makespan of the
  active jobs at these rates (Gavel's minimum total duration);
* ``finish-time-fairness`` (Themis, NSDI'20): minimise the largest ``rho_j = (elapsed_j +
  remaining_j / thr_j) / isolated_j`` by bisection on ``rho`` (each step one max-min LP);
  ``isolated_j`` is the JCT the job would have with its equal share from arrival.

A second stage keeps the optimal minimum (to a relative 1e-6) and maximises the sum of
``w_j thr_j``, so capacity the minimum does not need is not left idle. Both are solved with
HiGHS over sparse constraint matrices built with NumPy (no Python loop over jobs), through
``scipy.optimize.milp`` with no integer variable: the same HiGHS LP as ``linprog(method=
"highs")`` with about a tenth of its per-call overhead (1 ms against 10 ms on 12 jobs here),
which is most of a round's cost. No SimPy here: the round policy calls it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

OBJECTIVES = ("max-min-fairness", "min-makespan", "finish-time-fairness")
STAGE_TWO_SLACK = 1e-6
"""Relative slack of the optimal minimum kept in the second stage (solver tolerance 1e-7)."""
FTF_BISECTION_STEPS = 20
"""Bisection steps on rho at most: 2^-20 (1e-6) of the initial bracket."""


class AllocationError(RuntimeError):
    """The LP had no solution (the message says why); callers fall back."""


@dataclass(frozen=True)
class AllocationProblem:
    """Jobs x GPU types: speeds, GPUs per job, GPUs per type."""

    throughput: np.ndarray
    """``T[j, t]``: the job's speed on type ``t`` (0: cannot run there)."""
    gpus: np.ndarray
    """``g_j``: GPUs each job takes while it runs."""
    capacity: np.ndarray
    """``c_t``: GPUs of each type."""
    count: np.ndarray | None = None
    """Identical jobs each row stands for (None: 1 each): a row of ``n`` jobs gets one
    fraction vector that each of them receives, using ``n g X`` GPUs of each type."""

    def __post_init__(self) -> None:
        jobs, types = self.throughput.shape
        if self.gpus.shape != (jobs,) or self.capacity.shape != (types,):
            raise ValueError("throughput [jobs, types], gpus [jobs], capacity [types]")

    @property
    def multiplicity(self) -> np.ndarray:
        return np.ones(self.gpus.shape[0]) if self.count is None else self.count


@dataclass(frozen=True)
class Allocation:
    """An LP's answer: the time fractions, the optimal minimum and how long it took."""

    fractions: np.ndarray
    """``X[j, t]``."""
    objective: float
    """The optimal ``min_j w_j thr_j`` (for finish-time fairness: the optimal max rho)."""
    solve_s: float
    """Wall seconds in the solver (all stages and bisection steps)."""


def effective_throughput(problem: AllocationProblem, fractions: np.ndarray) -> np.ndarray:
    """``sum_t T[j, t] X[j, t]`` for each job."""
    return np.einsum("jt,jt->j", problem.throughput, fractions)


def equal_share(problem: AllocationProblem) -> np.ndarray:
    """``X_eq``: each job the same time fraction ``c_t / sum_k g_k`` of every type, scaled
    so that no job's fractions sum above 1 (feasible by construction)."""
    jobs = problem.throughput.shape[0]
    demand = float((problem.gpus * problem.multiplicity).sum())
    share = problem.capacity / max(demand, 1e-300)
    row = np.broadcast_to(share, (jobs, share.shape[0]))
    return np.asarray(row / max(1.0, float(share.sum())))


def _constraints(problem: AllocationProblem,
                 weights: np.ndarray) -> tuple[sparse.csr_matrix, np.ndarray]:
    """``A_ub, b_ub`` over variables ``[X (row-major), z]``: ``z - w_j thr_j <= 0``, row sums
    ``<= 1``, capacity per type."""
    throughput = problem.throughput
    jobs, types = throughput.shape
    n_x = jobs * types
    row_of = np.repeat(np.arange(jobs), types)  # job of each X variable
    col_x = np.arange(n_x)
    col_type = np.tile(np.arange(types), jobs)
    rows = np.concatenate([row_of, np.arange(jobs),  # fairness rows (X part, z part)
                           jobs + row_of,  # row sums
                           2 * jobs + col_type])  # capacities
    cols = np.concatenate([col_x, np.full(jobs, n_x), col_x, col_x])
    values = np.concatenate([-(weights[:, None] * throughput).reshape(-1), np.ones(jobs),
                             np.ones(n_x),
                             np.repeat(problem.gpus * problem.multiplicity, types)])
    matrix = sparse.csr_matrix((values, (rows, cols)), shape=(2 * jobs + types, n_x + 1))
    bounds = np.concatenate([np.zeros(jobs), np.ones(jobs), problem.capacity.astype(float)])
    return matrix, bounds


def max_min(problem: AllocationProblem, weights: np.ndarray,
            second_stage: bool = True) -> Allocation:
    """Maximise ``min_j w_j thr_j(X)``, then (``second_stage``, keeping it) the sum of
    ``w_j thr_j`` over jobs (rows counted by their multiplicity)."""
    started = time.perf_counter()
    jobs, types = problem.throughput.shape
    if jobs == 0:
        return Allocation(np.zeros((0, types)), 0.0, 0.0)
    matrix, b_ub = _constraints(problem, weights)
    rows = LinearConstraint(matrix, -np.inf, b_ub)
    n_x = jobs * types
    upper = np.append(np.where(problem.throughput.reshape(-1) > 0, 1.0, 0.0), np.inf)
    lower = np.zeros(n_x + 1)
    cost = np.zeros(n_x + 1)
    cost[-1] = -1.0  # maximise z
    first = milp(cost, constraints=rows, bounds=Bounds(lower, upper))
    if first.status != 0:
        raise AllocationError(f"max-min LP failed: {first.message}")
    best = -float(first.fun)
    if not second_stage:
        fractions = np.clip(first.x[:n_x].reshape(jobs, types), 0.0, 1.0)
        return Allocation(fractions, best, time.perf_counter() - started)
    # Stage two: z >= best (1 - slack) as a bound, maximise total weighted throughput.
    lower[-1] = best * (1.0 - STAGE_TWO_SLACK)
    scale = weights * problem.multiplicity
    cost = np.append(-(scale[:, None] * problem.throughput).reshape(-1), 0.0)
    second = milp(cost, constraints=rows, bounds=Bounds(lower, upper))
    solution = second.x if second.status == 0 else first.x
    fractions = np.clip(solution[:n_x].reshape(jobs, types), 0.0, 1.0)
    return Allocation(fractions, best, time.perf_counter() - started)


def grouped(problem: AllocationProblem) -> tuple[AllocationProblem, np.ndarray]:
    """Identical jobs (same speeds and GPUs) as one row with a multiplicity, and each job's
    row. Max-min fairness over the groups is exact: the LP is symmetric in identical jobs,
    so averaging an optimum over their permutations is an optimum that treats them alike."""
    keys = np.column_stack([problem.throughput, problem.gpus])
    unique, inverse, counts = np.unique(keys, axis=0, return_inverse=True,
                                        return_counts=True)
    rows = AllocationProblem(unique[:, :-1], unique[:, -1], problem.capacity,
                             counts.astype(float) * (problem.multiplicity[0]
                                                     if problem.count is not None else 1.0))
    return rows, inverse.reshape(-1)


def max_min_fairness(problem: AllocationProblem) -> Allocation:
    """Heterogeneity-aware max-min fairness of throughput normalised by the equal share,
    solved over groups of identical jobs (:func:`grouped`): a round of thousands of jobs
    of a few classes is an LP of a few rows."""
    if problem.count is None:
        rows, inverse = grouped(problem)
        result = max_min_fairness(rows)
        return Allocation(result.fractions[inverse], result.objective, result.solve_s)
    normaliser = effective_throughput(problem, equal_share(problem))
    if (normaliser <= 0).any():
        raise AllocationError("a job can run on no GPU type of the fleet")
    return max_min(problem, 1.0 / normaliser)


def min_makespan(problem: AllocationProblem, remaining: np.ndarray) -> Allocation:
    """Maximise the smallest ``thr_j / remaining_j``: ``1 / objective`` is the makespan."""
    return max_min(problem, 1.0 / np.maximum(remaining, 1e-9))


def finish_time_fairness(problem: AllocationProblem, elapsed: np.ndarray,
                         remaining: np.ndarray, isolated: np.ndarray) -> Allocation:
    """Minimise ``max_j (elapsed_j + remaining_j / thr_j) / isolated_j`` (Themis's rho).

    For a given ``rho`` the jobs need ``thr_j >= remaining_j / (rho isolated_j -
    elapsed_j)``; that is feasible when the max-min LP with weights ``1 / need`` reaches 1.
    ``rho`` is bisected between the bound of each job alone on its best type and the equal
    share's value (feasible); the allocation is the max-min one at the smallest feasible
    ``rho``."""
    started = time.perf_counter()
    best_alone = problem.throughput.max(axis=1)
    if (best_alone <= 0).any():
        raise AllocationError("a job can run on no GPU type of the fleet")
    remaining = np.maximum(remaining, 1e-9)
    low = float(((elapsed + remaining / best_alone) / isolated).max())
    equal = effective_throughput(problem, equal_share(problem))
    high = float(((elapsed + remaining / equal) / isolated).max())
    high = max(high, low)

    def weights(rho: float) -> np.ndarray | None:
        slack = rho * isolated - elapsed
        return None if (slack <= 0).any() else slack / remaining  # 1 / need

    for _ in range(FTF_BISECTION_STEPS):
        if high - low <= 1e-6 * high:
            break
        middle = 0.5 * (low + high)
        w = weights(middle)
        if w is not None and max_min(problem, w, second_stage=False).objective >= 1 - 1e-9:
            high = middle
        else:
            low = middle
    w = weights(high)
    result = max_min(problem, w if w is not None else 1.0 / equal)
    return Allocation(result.fractions, high, time.perf_counter() - started)
