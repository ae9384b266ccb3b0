"""Arrival processes: homogeneous and profile-shaped (non-homogeneous) Poisson.

A profile multiplies the base rate by ``daily[hour] / mean(daily) x weekly[day] /
mean(weekly)``, a piecewise-constant rate over the 168 hours of a week (simulation time 0 is
Monday 00:00). Arrivals are drawn exactly by time change: unit-rate Poisson points mapped
through the inverse of the integrated rate, so there is no thinning loop and no bias.
Demand growth multiplies that rate by a factor f(t) (``(1 + g) ** (t / year)``, or a table by
date: :mod:`scheduler.growth`); those arrivals are drawn by thinning (exact as well), so a
workload without growth draws exactly as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import numpy as np

from scheduler.growth import HOUR, YEAR, GrowthCurve, growth_curve
from scheduler.scenario import PoissonArrival

WEEK_HOURS = 168
__all__ = ["HOUR", "WEEK_HOURS", "YEAR", "arrival_times", "hourly_rates"]


def hourly_rates(arrival: PoissonArrival) -> np.ndarray:
    """Rate per second for each of the 168 hours of a week (mean = rate_per_hour / 3600)."""
    base = arrival.rate_per_hour / HOUR
    daily = np.ones(24)
    weekly = np.ones(7)
    if arrival.profile is not None:
        if arrival.profile.daily is not None:
            daily = np.asarray(arrival.profile.daily, dtype=np.float64)
            daily = daily / daily.mean()
        if arrival.profile.weekly is not None:
            weekly = np.asarray(arrival.profile.weekly, dtype=np.float64)
            weekly = weekly / weekly.mean()
    return base * np.repeat(weekly, 24) * np.tile(daily, 7)


def arrival_times(arrival: PoissonArrival, horizon_s: float, rng: np.random.Generator,
                  chunk: int = 65536, max_jobs: int | None = None,
                  start: str | date | None = None) -> Iterator[np.ndarray]:
    """Chunks of increasing arrival times in ``[0, horizon_s)`` (seconds). ``start``: the
    scenario's calendar, where ``growth_by_date`` rows give dates (default: its default)."""
    curve = growth_curve(arrival.growth_per_year, arrival.growth_by_date, start)
    if curve is not None:
        return _grown_times(arrival, curve, horizon_s, rng, chunk, max_jobs)
    return _profiled_times(hourly_rates(arrival), horizon_s, rng, chunk, max_jobs)


def _grown_times(arrival: PoissonArrival, curve: GrowthCurve, horizon_s: float,
                 rng: np.random.Generator, chunk: int,
                 max_jobs: int | None) -> Iterator[np.ndarray]:
    """Thinning (Lewis and Shedler 1979): candidates at the profiled rate times the largest
    growth factor over ``[0, horizon_s]``, each kept with probability factor(t) / largest.
    Exact for any profile; the candidates cost at most largest / mean factor times more."""
    if not np.isfinite(horizon_s):
        raise ValueError("demand growth needs a finite horizon")
    top = curve.peak(horizon_s)
    if top <= 0:  # a table whose factor is 0 over the whole horizon: no demand at all
        return
    emitted = 0
    for candidates in _profiled_times(hourly_rates(arrival) * top, horizon_s, rng, chunk, None):
        kept = candidates[rng.random(candidates.shape[0]) * top < curve.factor(candidates)]
        if max_jobs is not None and emitted + kept.shape[0] >= max_jobs:
            yield kept[:max_jobs - emitted]
            return
        emitted += kept.shape[0]
        if kept.shape[0]:
            yield kept


def _profiled_times(rates: np.ndarray, horizon_s: float, rng: np.random.Generator,
                    chunk: int, max_jobs: int | None) -> Iterator[np.ndarray]:
    """Arrival times of the weekly-periodic rate ``rates`` (per second, per hour of week)."""
    # Integrated rate at each hour boundary of one week.
    cumulative = np.concatenate([[0.0], np.cumsum(rates * HOUR)])
    per_week = cumulative[-1]
    u = 0.0  # position on the unit-rate time axis
    emitted = 0
    while True:
        size = chunk if max_jobs is None else min(chunk, max_jobs - emitted)
        if size <= 0:
            return
        points = u + np.cumsum(rng.exponential(1.0, size=size))
        u = float(points[-1])
        weeks, within = np.divmod(points, per_week)
        hour = np.searchsorted(cumulative, within, side="right") - 1
        # Hours of zero rate span an empty interval of the integrated rate, so the hour found
        # (last boundary <= point) always has a positive rate, except on exact ties.
        hour = np.clip(hour, 0, WEEK_HOURS - 1)
        offset = (within - cumulative[hour]) / np.where(rates[hour] > 0, rates[hour], 1.0)
        times = weeks * WEEK_HOURS * HOUR + hour * HOUR + offset
        inside = times < horizon_s
        if not inside.all():
            cut = int(np.argmin(inside))
            if cut:
                yield times[:cut]
            return
        emitted += size
        yield times
