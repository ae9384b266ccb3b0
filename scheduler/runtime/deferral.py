"""Temporal shifting: when a deferrable job should be released to the queue."""

from __future__ import annotations

import numpy as np

from scheduler.cluster import Cluster
from scheduler.signals import Signal

CANDIDATE_STEP_S = 1800.0
"""Release times tried: every half hour of the allowed delay."""


def site_weights(cluster: Cluster, type_allowed: np.ndarray, n_sites: int) -> np.ndarray:
    """GPUs per site of the types a job may use (the weights of the sites' signals)."""
    weights = np.zeros(n_sites)
    for g in range(cluster.n_groups):
        if type_allowed[cluster.group_type[g]]:
            site = int(cluster.group_site[g])
            weights[site] += cluster.group_size[g] * cluster.group_count[g]
    return weights


def release_time(now: float, expected_run_s: float, max_delay_s: float,
                 signals: list[Signal | None], weights: np.ndarray, forecast_error: float,
                 rng: np.random.Generator) -> float:
    """Start of the window in [now, now + max_delay] with the lowest forecast mean signal over
    the job's expected run (weighted over the sites it may use); ``now`` without a signal.
    A forecast error ``e`` multiplies each candidate's mean by (1 + e x N(0, 1))."""
    usable = [(w, s) for w, s in zip(weights, signals, strict=True) if w > 0 and s is not None]
    if not usable:
        return now
    run = max(expected_run_s, 1.0)
    starts = now + np.arange(0.0, max_delay_s + 1e-9, CANDIDATE_STEP_S)
    means = sum(w * s.integrals(starts, starts + run) / run for w, s in usable)
    means = np.asarray(means) / sum(w for w, _ in usable)
    if forecast_error > 0:
        means = means * (1 + forecast_error * rng.standard_normal(means.shape[0]))
    return float(starts[int(np.argmin(means))])
