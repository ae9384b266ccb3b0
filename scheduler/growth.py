"""Demand growth as a rate curve: the factor f(t) a workload's rate is multiplied by.

Two curves, one interface (the factor, its integral ``L(t) = integral of f over [0, t]``,
the inverse of that integral, and the largest factor over a horizon):

* :class:`Compounding`: ``f(t) = (1 + g) ** (t / 1 year)`` (``growth_per_year``);
* :class:`StepTable`: piecewise constant, ``factor`` of the last row whose ``since`` is at or
  before t, 1 before the first row (``growth_by_date``).

Generated arrivals use the factor (thinning, :mod:`scheduler.arrivals`), trace replays the
inverse integral (a time warp that keeps every row), inference services the integral (mean
request rate of a step, :func:`grown_arrivals`).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import numpy as np

from scheduler.calendar_dates import resolve
from scheduler.errors import Problem
from scheduler.growth_spec import GrowthRow
from scheduler.scenario import (
    InferenceWorkload,
    PoissonArrival,
    RequestSpec,
    Scenario,
    TraceWorkload,
    TrainingWorkload,
    Workload,
)
from scheduler.signals.dates import DEFAULT_START, parse_start
from scheduler.units import format_time

YEAR = 365.25 * 86400.0
"""A Julian year: the unit of ``growth_per_year``."""
HOUR = 3600.0


class GrowthCurve(Protocol):
    """A rate multiplier over simulation time (seconds, t >= 0)."""

    def factor(self, t: np.ndarray | float) -> np.ndarray:
        """f(t)."""
        ...

    def integral(self, t: np.ndarray | float) -> np.ndarray:
        """L(t) = integral of f over [0, t]: expected arrivals of a unit-rate workload."""
        ...

    def inverse_integral(self, y: np.ndarray | float) -> np.ndarray:
        """The time t with L(t) = y (the first instant of positive rate where L is flat);
        ``inf`` where L never reaches y."""
        ...

    def mean_factor(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Mean of f over each ``[a, b)`` (``a < b``), without the cancellation of
        ``(L(b) - L(a)) / (b - a)`` late in a long run."""
        ...

    def mean_between(self, a: float, b: float) -> float:
        """:meth:`mean_factor` of one interval, in plain floats (called every autoscaler
        step: numpy's per-call overhead would dominate)."""
        ...

    def peak(self, horizon_s: float) -> float:
        """Largest f over [0, horizon_s] (the thinning bound)."""
        ...


@dataclass(frozen=True)
class Compounding:
    """``f(t) = (1 + g) ** (t / YEAR)``, ``g > -1``, ``g != 0``."""

    growth_per_year: float

    @property
    def _k(self) -> float:
        return math.log1p(self.growth_per_year) / YEAR

    def factor(self, t: np.ndarray | float) -> np.ndarray:
        return np.power(1.0 + self.growth_per_year, np.asarray(t, dtype=np.float64) / YEAR)

    def integral(self, t: np.ndarray | float) -> np.ndarray:
        k = self._k
        return np.expm1(k * np.asarray(t, dtype=np.float64)) / k

    def inverse_integral(self, y: np.ndarray | float) -> np.ndarray:
        k = self._k
        inner = k * np.asarray(y, dtype=np.float64)
        # A shrinking demand (k < 0) integrates to 1 / -k at most: beyond, never.
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(inner > -1.0, np.log1p(np.maximum(inner, -1.0)) / k, np.inf)

    def mean_factor(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # f(a) x (e^(k w) - 1) / (k w) over a width w: exact, and stable for small w.
        x = self._k * (b - a)
        return self.factor(a) * np.expm1(x) / x

    def mean_between(self, a: float, b: float) -> float:
        x = self._k * (b - a)
        return (1.0 + self.growth_per_year) ** (a / YEAR) * math.expm1(x) / x

    def peak(self, horizon_s: float) -> float:
        # f is monotone: its largest value is at 0 (= 1) or at the horizon.
        return max(1.0, float(self.factor(horizon_s)))


@dataclass(frozen=True)
class StepTable:
    """Piecewise-constant factor: ``values[i]`` on ``[starts[i], starts[i+1])``.

    ``starts[0]`` is 0 and ``starts`` increase; the last value holds for ever.
    """

    starts: np.ndarray
    values: np.ndarray
    cumulative: np.ndarray = field(init=False, repr=False, compare=False)
    """L at each start (computed once)."""
    starts_list: list[float] = field(init=False, repr=False, compare=False)
    """``starts`` as floats, for :meth:`mean_between`."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "starts_list", self.starts.tolist())
        widths = np.diff(self.starts)
        object.__setattr__(self, "cumulative",
                           np.concatenate([[0.0], np.cumsum(self.values[:-1] * widths)]))

    @classmethod
    def from_rows(cls, times: list[float], factors: list[float]) -> StepTable:
        """From rows (``since`` in seconds, increasing, possibly before 0) and factors;
        the factor is 1 before the first row."""
        starts, values = [0.0], [1.0]
        for when, factor in zip(times, factors, strict=True):
            if when <= 0.0:  # in effect at time 0
                values[0] = factor
            else:
                starts.append(when)
                values.append(factor)
        return cls(np.array(starts), np.array(values))

    def _segment(self, t: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.starts, t, side="right") - 1

    def factor(self, t: np.ndarray | float) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        return self.values[np.maximum(self._segment(t), 0)]

    def integral(self, t: np.ndarray | float) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        i = np.maximum(self._segment(t), 0)
        return self.cumulative[i] + self.values[i] * (t - self.starts[i])

    def inverse_integral(self, y: np.ndarray | float) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        cumulative = self.cumulative
        # side="right": a y at the end of a zero-factor segment maps past that segment, to
        # the first instant the rate is positive again.
        i = np.maximum(np.searchsorted(cumulative, y, side="right") - 1, 0)
        value = self.values[i]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = self.starts[i] + (y - cumulative[i]) / value
        return np.where(value > 0, t, np.inf)

    def mean_factor(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        i = np.maximum(self._segment(a), 0)
        within = np.maximum(self._segment(np.nextafter(b, -np.inf)), 0) == i
        # Within one row the mean is the row's factor exactly (so a service's rate repeats
        # bit for bit from week to week, and its replica counts are found once).
        if within.all():
            return self.values[i]
        with np.errstate(divide="ignore", invalid="ignore"):
            spanning = (self.integral(b) - self.integral(a)) / (b - a)
        return np.where(within, self.values[i], spanning)

    def mean_between(self, a: float, b: float) -> float:
        starts = self.starts_list
        i = max(bisect.bisect_right(starts, a) - 1, 0)
        if max(bisect.bisect_left(starts, b) - 1, 0) == i:  # [a, b) within row i
            return float(self.values[i])
        return float(self.mean_factor(np.array([a]), np.array([b]))[0])

    def peak(self, horizon_s: float) -> float:
        return float(self.values[self.starts <= horizon_s].max())


def since_seconds(since: str | float, start: str | date) -> float:
    """Simulation time of a row's ``since``: a date's 00:00 Europe/Paris, counted in real
    seconds from the start's 00:00 (so a daylight-saving change in between counts as it
    happened), or the offset itself."""
    return resolve(since, parse_start(start))


def growth_curve(growth_per_year: float, growth_by_date: list[GrowthRow] | None,
                 start: str | date | None = None) -> GrowthCurve | None:
    """The curve a workload's growth fields describe; None when there is no growth (the
    workload then draws exactly as without growth). ``start``: the scenario's calendar."""
    if growth_by_date is not None:
        begin = start if start is not None else DEFAULT_START
        return StepTable.from_rows([since_seconds(row.since, begin) for row in growth_by_date],
                                   [row.factor for row in growth_by_date])
    if growth_per_year != 0:
        return Compounding(growth_per_year)
    return None


def describe_growth(growth_per_year: float, growth_by_date: list[GrowthRow] | None) -> str:
    """Short text for ``clustersim validate``: ``+30%/year`` or ``x1 from 2027-01-01, x1.6
    from 2028-01-01``; empty without growth."""
    if growth_by_date is not None:
        return ", ".join(f"x{row.factor:g} from {_since_text(row.since)}"
                         for row in growth_by_date[:4]) + (
            f" (+{len(growth_by_date) - 4} rows)" if len(growth_by_date) > 4 else "")
    return f"{growth_per_year:+.0%}/year" if growth_per_year else ""


def _since_text(since: str | float) -> str:
    return since if isinstance(since, str) else format_time(since)


def growth_fields(workload: Workload) -> tuple[str, float, list[GrowthRow] | None]:
    """(path of the block holding the growth keys, growth_per_year, growth_by_date) of any
    workload: ``arrival`` (generated), the workload itself (trace), ``requests`` (service)."""
    if isinstance(workload, TrainingWorkload):
        block: PoissonArrival | TraceWorkload | RequestSpec = workload.arrival
        path = "arrival."
    elif isinstance(workload, InferenceWorkload):
        block, path = workload.requests, "requests."
    else:
        block, path = workload, ""
    return path, block.growth_per_year, block.growth_by_date


def workload_growth(workload: Workload, start: str | date | None) -> GrowthCurve | None:
    """The growth curve of any workload (None without growth)."""
    _, per_year, table = growth_fields(workload)
    return growth_curve(per_year, table, start)


def check_growth(scenario: Scenario) -> list[Problem]:
    """Rows of every growth table in increasing ``since`` order once placed on the
    calendar (dates and offsets may be mixed, so only here, with ``start``, can it be told)."""
    problems = []
    for i, workload in enumerate(scenario.workloads):
        path, _, table = growth_fields(workload)
        tables = [(f"{path}growth_by_date", table)]
        if isinstance(workload, TrainingWorkload):
            tables.append(("duration_growth_by_date", workload.duration_growth_by_date))
        for key, rows in tables:
            times = [since_seconds(row.since, scenario.start) for row in rows or ()]
            for k in range(1, len(times)):
                if times[k] <= times[k - 1]:
                    problems.append(Problem(
                        f"workloads.{i}.{key}.{k}.since",
                        f"rows must be in increasing order of since: {times[k]:g} s after "
                        f"the start is not after row {k - 1} ({times[k - 1]:g} s)"))
    return problems


def size_growth(workload: TrainingWorkload, start: str | date | None) -> GrowthCurve | None:
    """The factor on the durations of a generated workload's jobs by arrival time
    (``duration_growth_by_date``); None without it."""
    return growth_curve(0.0, workload.duration_growth_by_date, start)


def mean_growth(workload: Workload, scenario: Scenario) -> float:
    """Mean factor over the horizon (1 without growth): expected jobs = rate x horizon x it."""
    curve = workload_growth(workload, scenario.start)
    if curve is None:
        return 1.0
    with np.errstate(over="ignore"):  # a runaway growth counts as infinitely many jobs
        return float(curve.integral(scenario.duration)) / scenario.duration


def growth_text(workload: Workload) -> str:
    """``, +30%/year`` or ``, x1 from 2027-01-01, ...`` for any workload, then ``, durations
    x2 from 2029-01-01, ...``; empty without growth."""
    text = describe_growth(*growth_fields(workload)[1:])
    sizes = (describe_growth(0.0, workload.duration_growth_by_date)
             if isinstance(workload, TrainingWorkload) else "")
    return (f", {text}" if text else "") + (f", durations {sizes}" if sizes else "")


def grown_arrivals(curve: GrowthCurve, hourly: np.ndarray | None, rate: float, t0: float,
                   t1: float) -> float:
    """Expected arrivals over ``[t0, t1)`` of the rate ``profile(t) x f(t)``: the flat
    ``rate``, or the weekly ``hourly`` rates (168, per second, hour 0 = time 0), times the
    factor, integrated exactly (the profile is constant within each hour, so each hour's
    part is its rate x the factor's integral over that part)."""
    hour = math.floor(t0 / HOUR)
    if hourly is None or math.ceil(t1 / HOUR) - 1 <= hour:  # one rate over the whole step
        here = rate if hourly is None else float(hourly[hour % hourly.shape[0]])
        return here * (t1 - t0) * curve.mean_between(t0, t1)
    inner = np.arange(hour + 1, math.ceil(t1 / HOUR)) * HOUR
    edges = np.concatenate([[t0], inner, [t1]])
    rates = hourly[np.floor(edges[:-1] / HOUR).astype(np.int64) % hourly.shape[0]]
    return float(np.sum(rates * np.diff(edges) * curve.mean_factor(edges[:-1], edges[1:])))
