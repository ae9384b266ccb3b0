"""Step functions of simulation time: point queries, next change, exact integrals.

A :class:`Signal` is piecewise constant over simulation time in seconds (time 0 = start of the
simulation, a Monday 00:00 by convention). It answers point queries, the next time its value
changes (so the engine can wake up there) and exact integrals, alone or multiplied by another
step function such as a site's power: carbon = ∫ P(t) · CI(t) dt. Pure maths: no files, no
specs, no errors other than ValueError for malformed arguments.
"""

from __future__ import annotations

import math
from bisect import bisect_right

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

HOUR_S = 3600.0
DAY_S = 86400.0
WEEK_S = 7 * DAY_S


class Signal:
    """A piecewise-constant series over simulation time in seconds.

    ``times`` are strictly increasing breakpoints (the first one is 0 or earlier); the value at
    ``t`` is the value of the last breakpoint ``<= t``. Before the first breakpoint the first
    value holds. After the last one the last value holds, or, with ``period_s``, the pattern
    on ``[times[0], times[0] + period_s)`` repeats in both directions. Arrays are read-only.
    """

    __slots__ = (
        "_area", "_change", "_change_list", "_cum", "_first", "_time_list", "_value_list",
        "name", "period_s", "times", "values",
    )

    times: FloatArray
    values: FloatArray
    period_s: float | None
    name: str

    def __init__(
        self,
        times: npt.ArrayLike,
        values: npt.ArrayLike,
        period_s: float | None = None,
        name: str = "",
    ) -> None:
        t = np.array(times, dtype=np.float64).reshape(-1)
        v = np.array(values, dtype=np.float64).reshape(-1)
        if t.size == 0 or t.size != v.size:
            raise ValueError(f"need as many times as values, at least one ({t.size} vs {v.size})")
        if not (np.all(np.isfinite(t)) and np.all(np.isfinite(v))):
            raise ValueError("times and values must be finite")
        if t.size > 1 and not np.all(np.diff(t) > 0):
            raise ValueError("times must be strictly increasing")
        if period_s is not None:
            period_s = float(period_s)
            if not (math.isfinite(period_s) and period_s > t[-1] - t[0]):
                raise ValueError(
                    f"period_s ({period_s}) must be finite and longer than the breakpoint span "
                    f"({t[-1] - t[0]})"
                )
            # Whole periods are invisible in a periodic signal: move the pattern's origin into
            # (-period, 0] so that the first breakpoint is 0 or earlier, and stays near 0.
            t = t - math.floor(t[0] / period_s) * period_s
            if t[0] > 0:
                t = t - period_s
        elif t[0] > 0:
            t[0] = 0.0  # the first value holds backwards anyway: same function
        self.times = t
        self.values = v
        self.period_s = period_s
        self.name = name
        # Antiderivative at each breakpoint (from times[0]) and over one period.
        steps = np.diff(t)
        self._cum = np.concatenate(([0.0], np.cumsum(v[:-1] * steps)))
        self._area = (
            float(self._cum[-1] + v[-1] * (t[0] + period_s - t[-1]))
            if period_s is not None
            else math.nan
        )
        # Breakpoints where the value really changes (plus the wrap, when periodic).
        changed = np.concatenate(([False], v[1:] != v[:-1]))
        if period_s is not None and v[0] != v[-1]:
            changed[0] = True
        self._change = t[changed]
        for array in (self.times, self.values, self._cum, self._change):
            array.setflags(write=False)
        # Python copies for scalar queries: bisect on a list beats numpy's per-call overhead.
        self._first = float(t[0])
        self._time_list: list[float] = t.tolist()
        self._value_list: list[float] = v.tolist()
        self._change_list: list[float] = self._change.tolist()

    def __repr__(self) -> str:
        period = f", period_s={self.period_s:g}" if self.period_s is not None else ""
        name = f"{self.name!r}, " if self.name else ""
        return f"Signal({name}{self.times.size} breakpoints{period})"

    @classmethod
    def constant(cls, value: float, name: str = "") -> Signal:
        """A signal equal to ``value`` at all times."""
        return cls([0.0], [value], None, name)

    # ---------------------------------------------------------------- point queries

    def _reduce(self, ts: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Periods ``k`` and times ``u`` in ``[times[0], times[0] + period)``, ``t = u + k P``."""
        period = self.period_s
        assert period is not None
        t0 = self.times[0]
        k = ts - t0  # in place from here: ~10^7 times for a year's segments
        k /= period
        np.floor(k, out=k)
        u = k * period
        np.subtract(ts, u, out=u)
        # Rounding may leave u a hair outside the period; fix it by one step.
        over = u >= t0 + period
        k[over] += 1
        u[over] -= period
        under = u < t0
        k[under] -= 1
        u[under] += period
        return k, u

    def values_at(self, ts: npt.ArrayLike) -> FloatArray:
        """Values at each time of ``ts`` (any shape; float64 array of the same shape)."""
        t = np.asarray(ts, dtype=np.float64)
        if self.period_s is not None:
            _, t = self._reduce(t)
        index = np.searchsorted(self.times, t, side="right") - 1
        return self.values[np.clip(index, 0, None)]

    def _reduce_one(self, t: float) -> tuple[float, float]:
        """:meth:`_reduce` for one time, with the same float operations (same results)."""
        period = self.period_s
        assert period is not None
        t0 = self._first
        k = float(math.floor((t - t0) / period))
        u = t - k * period
        if u >= t0 + period:
            k, u = k + 1, u - period
        if u < t0:
            k, u = k - 1, u + period
        return k, u

    def value_at(self, t: float) -> float:
        """Value at time ``t`` (a scalar path for the engine's hot loop)."""
        t = float(t)
        if self.period_s is not None:
            t = self._reduce_one(t)[1]
        return self._value_list[max(bisect_right(self._time_list, t) - 1, 0)]

    def next_change_after(self, t: float) -> float:
        """The first time ``> t`` where the value changes; ``inf`` if it never does."""
        t = float(t)
        change = self._change_list
        if not change:
            return math.inf
        if self.period_s is None:
            j = bisect_right(change, t)
            return change[j] if j < len(change) else math.inf
        period = self.period_s
        k, u = self._reduce_one(t)
        j = bisect_right(change, u)
        while True:  # at most a step or two: guards against rounding at period edges
            if j >= len(change):
                k, j = k + 1, 0
            candidate = change[j] + k * period
            if candidate > t:
                break
            j += 1
        # change[j] + k P may round to a hair before the point where value_at switches; move
        # up by a few ulps so that value_at(next_change_after(t)) is already the new value.
        before = self.value_at(t)
        for _ in range(64):
            if self.value_at(candidate) != before:
                break
            candidate = math.nextafter(candidate, math.inf)
        return candidate

    # ---------------------------------------------------------------- integrals

    def _antiderivative(self, ts: FloatArray) -> FloatArray:
        """∫ from ``times[0]`` to each ``t`` (negative before ``times[0]``)."""
        t0 = self.times[0]
        if self.period_s is not None:
            k, u = self._reduce(ts)
            index = np.searchsorted(self.times, u, side="right") - 1
            u -= self.times[index]
            u *= self.values[index]
            k *= self._area
            k += self._cum[index]
            k += u  # k P area + cum + value x (u - time): the same operations, in place
            return k
        # In place, one temporary at a time: a year's segments are ~10^7 points.
        index = np.searchsorted(self.times, ts, side="right") - 1
        before = index < 0
        np.clip(index, 0, None, out=index)
        out = ts - self.times[index]
        out *= self.values[index]
        out += self._cum[index]
        if before.any():
            out[before] = self.values[0] * (ts[before] - t0)
        return out

    def integrals(self, t0: npt.ArrayLike, t1: npt.ArrayLike) -> FloatArray:
        """Vectorised :meth:`integrate`: exact ∫ over each ``[t0[i], t1[i]]``."""
        a = np.asarray(t0, dtype=np.float64)
        b = np.asarray(t1, dtype=np.float64)
        return self._antiderivative(b) - self._antiderivative(a)

    def integrate(self, t0: float, t1: float) -> float:
        """Exact ∫ from ``t0`` to ``t1`` (value x seconds); negative when ``t1 < t0``."""
        ends = self._antiderivative(np.array([t0, t1], dtype=np.float64))
        return float(ends[1] - ends[0])

    def integrate_product(
        self, power_times: npt.ArrayLike, power_values: npt.ArrayLike, t0: float, t1: float
    ) -> float:
        """Exact ∫ from ``t0`` to ``t1`` of ``P(t) x self(t)``, ``P`` another step function.

        ``P`` has breakpoints ``power_times`` (non-decreasing: at equal times the last one
        wins) and values ``power_values``, holding its first value before its first breakpoint
        and its last value after its last. Between two consecutive breakpoints of ``P``
        (clipped to ``[t0, t1]``) ``P`` is constant, so the piece is ``p x integrate(a, b)``:
        this merges both sets of breakpoints without listing this signal's.
        """
        pt = np.asarray(power_times, dtype=np.float64).reshape(-1)
        pv = np.asarray(power_values, dtype=np.float64).reshape(-1)
        if pt.size == 0 or pt.size != pv.size:
            raise ValueError(f"need as many power times as values, at least one "
                             f"({pt.size} vs {pv.size})")
        if pt.size > 1 and np.any(pt[1:] < pt[:-1]):
            raise ValueError("power_times must be non-decreasing")
        if t1 < t0:
            return -self.integrate_product(pt, pv, t1, t0)
        # The breakpoints inside (t0, t1): a slice, as they are sorted.
        inner = pt[np.searchsorted(pt, t0, side="right"):np.searchsorted(pt, t1, side="left")]
        edges = np.concatenate(([t0], inner, [t1]))
        index = np.searchsorted(pt, edges[:-1], side="right") - 1
        np.clip(index, 0, None, out=index)
        pieces = self._antiderivative(edges)
        del edges  # a year's power steps: ~10^7 breakpoints, one temporary at a time
        pieces = np.diff(pieces)
        return float(np.dot(pv[index], pieces))

    def mean(self, t0: float | None = None, t1: float | None = None) -> float:
        """Time average over ``[t0, t1]``; by default over one period.

        A non-periodic signal's default span is its breakpoints' ``[times[0], times[-1]]``
        (the single value when there is one breakpoint).
        """
        if t0 is None and t1 is None:
            t0 = float(self.times[0])
            if self.period_s is not None:
                t1 = t0 + self.period_s
            elif self.times.size == 1:
                return float(self.values[0])
            else:
                t1 = float(self.times[-1])
        if t0 is None or t1 is None:
            raise ValueError("give both t0 and t1, or neither")
        if t1 == t0:
            return self.value_at(t0)
        return self.integrate(t0, t1) / (t1 - t0)

    # ---------------------------------------------------------------- transforms

    def rescaled(self, mean: float) -> Signal:
        """The same shape multiplied so that :meth:`mean` (one period) equals ``mean``."""
        current = self.mean()
        if current == 0:
            if mean == 0:
                return self
            raise ValueError("cannot rescale a signal whose mean is 0")
        return Signal(self.times, self.values * (mean / current), self.period_s, self.name)

    def shifted(self, offset_s: float) -> Signal:
        """The signal read ``offset_s`` later: ``result(t) = self(t + offset_s)``."""
        return Signal(self.times - offset_s, self.values, self.period_s, self.name)

