"""Arrival processes: homogeneous and profile-shaped (non-homogeneous) Poisson.

A profile multiplies the base rate by ``daily[hour] / mean(daily) x weekly[day] /
mean(weekly)``, a piecewise-constant rate over the 168 hours of a week (simulation time 0 is
Monday 00:00). Arrivals are drawn exactly by time change: unit-rate Poisson points mapped
through the inverse of the integrated rate, so there is no thinning loop and no bias.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from scheduler.scenario import PoissonArrival

HOUR = 3600.0
WEEK_HOURS = 168


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
                  chunk: int = 65536, max_jobs: int | None = None) -> Iterator[np.ndarray]:
    """Chunks of increasing arrival times in ``[0, horizon_s)`` (seconds)."""
    rates = hourly_rates(arrival)
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
