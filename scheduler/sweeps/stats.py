"""Aggregating sweep runs: per parameter point, the mean and a Student-t 95 % interval.

For the ``n`` successful runs of a point (one per seed) and a metric with values ``x``::

    mean = sum(x) / n
    s    = sqrt(sum((x - mean)**2) / (n - 1))          # sample standard deviation
    half = t(0.975, n - 1) * s / sqrt(n)               # Student t quantile, n - 1 dof
    interval = [mean - half, mean + half]              # NaN when n < 2

The t quantile is computed here (regularized incomplete beta + bisection) so that the core
package does not need SciPy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache

import numpy as np
import pandas as pd

CONFIDENCE = 0.95
NON_METRICS = frozenset({"run_id", "point_id", "seed", "status", "error", "finished_at"})


def _beta_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        for numerator in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                          -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta function, for 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


def student_t_cdf(t: float, dof: float) -> float:
    """P(T <= t) for Student's t with ``dof`` degrees of freedom."""
    tail = 0.5 * regularized_beta(dof / 2.0, 0.5, dof / (dof + t * t))
    return 1.0 - tail if t > 0 else tail


@cache
def student_t_quantile(p: float, dof: float) -> float:
    """The ``p`` quantile of Student's t (``p`` in (0, 1)), e.g. 2.776 for (0.975, 4)."""
    if not 0.0 < p < 1.0 or dof <= 0:
        raise ValueError(f"need 0 < p < 1 and dof > 0 (got p={p}, dof={dof})")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -student_t_quantile(1.0 - p, dof)
    low, high = 0.0, 1.0
    while student_t_cdf(high, dof) < p:
        low, high = high, high * 2.0
    for _ in range(200):
        mid = 0.5 * (low + high)
        if student_t_cdf(mid, dof) < p:
            low = mid
        else:
            high = mid
        if high - low <= 1e-13 * max(1.0, high):
            break
    return 0.5 * (low + high)


def metric_columns(runs: pd.DataFrame, parameters: Sequence[str]) -> list[str]:
    """Numeric columns of a runs table that are metrics (not ids, seed or parameters)."""
    skip = NON_METRICS | set(parameters)
    return [c for c in runs.columns
            if c not in skip and pd.api.types.is_numeric_dtype(runs[c])
            and not pd.api.types.is_bool_dtype(runs[c])]


def aggregate(runs: pd.DataFrame, by: Sequence[str] | None = None,
              metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per parameter point: ``n`` ok runs, ``n_error``, and for each metric
    ``<metric>_mean``, ``<metric>_ci95_lo``, ``<metric>_ci95_hi`` (Student t over seeds).

    ``by`` defaults to the parameters recorded by :func:`scheduler.sweep`
    (``runs.attrs["parameters"]``); points keep the order of their first run.
    """
    parameters = list(by if by is not None else runs.attrs.get("parameters", []))
    chosen = list(metrics) if metrics is not None else metric_columns(runs, parameters)
    keys = ["point_id"] if "point_id" in runs.columns and by is None else parameters
    ok = runs["status"] == "ok" if "status" in runs.columns else pd.Series(True, runs.index)
    rows = []
    if not keys:
        groups: list[tuple[object, pd.DataFrame]] = [((), runs)]
    else:
        groups = list(runs.groupby(keys, sort=False, dropna=False))
    z = (1.0 + CONFIDENCE) / 2.0
    for _, group in groups:
        first = group.iloc[0]
        row: dict[str, object] = {p: first[p] for p in parameters if p in group.columns}
        if "point_id" in group.columns:
            row["point_id"] = first["point_id"]
        good = group[ok.loc[group.index]]
        row["n"] = len(good)
        row["n_error"] = len(group) - len(good)
        for metric in chosen:
            values = good[metric].to_numpy(dtype=np.float64)
            values = values[~np.isnan(values)]
            mean = float(values.mean()) if len(values) else math.nan
            if len(values) >= 2:
                spread = float(values.std(ddof=1))
                half = student_t_quantile(z, len(values) - 1) * spread / math.sqrt(len(values))
            else:
                half = math.nan
            row[f"{metric}_mean"] = mean
            row[f"{metric}_ci95_lo"] = mean - half
            row[f"{metric}_ci95_hi"] = mean + half
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame.attrs["parameters"] = parameters
    return frame
