"""Exact time integrals of piecewise-constant quantities built from interval records.

A quantity such as busy GPUs is a sum of weighted intervals ``[start, end)``. Its integral
from 0 to ``t`` is ``F(t) = sum_i w_i (clip(t, s_i, e_i) - s_i)``, computed for many ``t`` at
once with sorted prefix sums: no sampling error, O((n + k) log n).
"""

from __future__ import annotations

import numpy as np


def cumulative_integral(starts: np.ndarray, ends: np.ndarray, weights: np.ndarray,
                        at: np.ndarray) -> np.ndarray:
    """``F(t)`` for each ``t`` in ``at``: integral from -inf to t of the interval sum."""
    if starts.shape[0] == 0:
        return np.zeros(at.shape[0], dtype=np.float64)
    weights = weights.astype(np.float64, copy=False)

    def prefix_sums(values: np.ndarray) -> np.ndarray:
        out = np.empty(values.shape[0] + 1)
        out[0] = 0.0
        np.cumsum(values, out=out[1:])
        return out

    def ramp(points: np.ndarray) -> np.ndarray:
        # In place where it can be: a year's jobs or segments are ~10^7 intervals.
        order = np.argsort(points, kind="stable")
        sorted_points = points[order]
        w = weights[order]
        del order
        cum_w = prefix_sums(w)
        w *= sorted_points
        cum_wp = prefix_sums(w)
        del w
        k = np.searchsorted(sorted_points, at, side="left")
        return cum_w[k] * at - cum_wp[k]  # sum over points < t of w (t - p)

    return (ramp(starts.astype(np.float64, copy=False))
            - ramp(ends.astype(np.float64, copy=False)))


def step_means(starts: np.ndarray, ends: np.ndarray, weights: np.ndarray,
               grid: np.ndarray) -> np.ndarray:
    """Mean of the interval sum over each step ``[grid[k], grid[k+1])`` (length ``len - 1``)."""
    totals = np.diff(cumulative_integral(starts, ends, weights, grid))
    return totals / np.diff(grid)


def step_function_means(times: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Mean over each grid step of a step function that takes ``values[i]`` from
    ``times[i]`` (sorted) until the next time, and 0 before the first."""
    if times.shape[0] == 0:
        return np.zeros(grid.shape[0] - 1)
    ends = np.append(times[1:], np.inf)
    return step_means(times, np.minimum(ends, grid[-1]), values, grid)


def percentile_or_none(values: np.ndarray, q: float) -> float | None:
    """Linear-interpolated percentile, or None for an empty sample (JSON has no NaN)."""
    if values.shape[0] == 0:
        return None
    return float(np.percentile(values, q))


def mean_or_none(values: np.ndarray) -> float | None:
    return float(values.mean()) if values.shape[0] else None


def step_function_maxima(times: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Highest value over each grid step ``[grid[k], grid[k+1])`` of a step function that
    takes ``values[i]`` from ``times[i]`` (sorted, first at or before ``grid[0]``) until the
    next time. Exact: the value in force at each step's start and every change inside it."""
    steps = grid.shape[0] - 1
    if times.shape[0] == 0 or steps <= 0:
        return np.zeros(max(steps, 0))
    at_start = np.searchsorted(times, grid[:-1], side="right") - 1
    out = np.where(at_start >= 0, values[np.maximum(at_start, 0)], -np.inf)
    cell = np.searchsorted(grid, times, side="right") - 1
    inside = (cell >= 0) & (cell < steps)
    np.maximum.at(out, cell[inside], values[inside])
    return np.where(np.isfinite(out), out, 0.0)
