"""Validation against queueing theory: M/M/c with 1-GPU jobs (Erlang C).

For Poisson arrivals (rate lambda), exponential service (rate mu) and c servers (1-GPU nodes),
with offered load a = lambda / mu and utilisation rho = a / c < 1:

    C(c, a) = (a^c / c!) (c / (c - a)) / (sum_{k<c} a^k / k! + (a^c / c!) (c / (c - a)))
    P(wait > 0) = C(c, a),   E[W] = C(c, a) / (c mu - lambda),   utilisation = rho.

Tolerances come from the run's own noise: the job sequence after a warm-up is cut into
B = 20 consecutive batches; the batch means are close to independent, so the standard error
of the overall mean is SE = std(batch means) / sqrt(B). We accept |observed - theory| <=
4 SE (a false alarm about 1 in 16,000 for a normal statistic) plus 2 % of the theory value
for the bias a finite, warm-started run keeps (the first jobs see an empty cluster).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from scheduler import simulate

BATCHES = 20


def erlang_c(c: int, a: float) -> float:
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def mmc(c: int, rho: float, jobs: int, seed: int):
    rate = rho * c  # jobs per hour with a 1 h mean service time
    data = {
        "name": f"mmc-c{c}-rho{rho}", "seed": seed, "duration": f"{jobs / rate * 1.05:.0f}h",
        "sites": [{"name": "A", "nodes": [{"gpu": "H100", "gpus_per_node": 1, "count": c}]}],
        "workloads": [{"name": "jobs", "arrival": {"process": "poisson", "rate_per_hour": rate},
                       "gpus": 1, "duration": {"distribution": "exponential", "mean": "1h",
                                               "min": 0}}],
    }
    return simulate(data)


def batch_stats(values: np.ndarray) -> tuple[float, float]:
    batches = np.array_split(values, BATCHES)
    means = np.array([b.mean() for b in batches])
    return float(values.mean()), float(means.std(ddof=1) / math.sqrt(BATCHES))


@pytest.mark.parametrize(("c", "rho", "jobs"), [
    (1, 0.5, 20_000), (4, 0.7, 30_000), (16, 0.5, 30_000), (16, 0.85, 60_000),
])
def test_erlang_c(c, rho, jobs):
    result = mmc(c, rho, jobs, seed=100 + c)
    frame = result.jobs.sort_values("arrival_s")
    frame = frame[frame["start_s"].notna()]
    waits = (frame["start_s"] - frame["arrival_s"]).to_numpy()[len(frame) // 20:]  # 5 % warm-up
    a = rho * c
    p_wait = erlang_c(c, a)
    mean_wait_h = p_wait / (c - a)  # mu = 1 per hour

    observed_p, se_p = batch_stats((waits > 1e-9).astype(float))
    assert abs(observed_p - p_wait) <= 4 * se_p + 0.02 * p_wait, (observed_p, p_wait, se_p)

    observed_w, se_w = batch_stats(waits / 3600)
    assert abs(observed_w - mean_wait_h) <= 4 * se_w + 0.02 * mean_wait_h, (
        observed_w, mean_wait_h, se_w)

    # Utilisation: busy GPU time over the horizon equals the offered load per server. The
    # horizon mean of a stationary queue has SE ~ sqrt(2 rho / (c (1 - rho)^2 mu T)) at
    # most (an M/M/1-style bound); 4 of those plus the empty-start bias bound the gap.
    horizon_h = result.summary["simulated_time_s"] / 3600
    se_util = math.sqrt(2 * rho / (c * (1 - rho) ** 2 * horizon_h))
    assert abs(result.summary["gpu_utilization"] - rho) <= 4 * se_util + 0.01


def test_little_law():
    """L = lambda W for the queue: time-average queued jobs = arrival rate x mean wait."""
    result = mmc(8, 0.8, 20_000, seed=7)
    frame = result.jobs
    horizon = result.summary["simulated_time_s"]
    waits = (frame["start_s"].fillna(horizon) - frame["arrival_s"]).to_numpy()
    series = result.timeseries
    step = np.diff(np.append(series["time_s"].to_numpy(), horizon))
    mean_queue = float((series["queued_jobs"] * step).sum() / horizon)
    # Exact identity over the same window (every job's queued time counted once): only
    # float rounding separates the two sides.
    assert mean_queue == pytest.approx(waits.sum() / horizon, rel=1e-9)
