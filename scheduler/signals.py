"""Grid signals: carbon intensity and electricity price as step functions of simulation time.

A :class:`Signal` is piecewise constant over simulation time in seconds (time 0 = start of the
simulation, a Monday 00:00 by convention). It answers point queries, the next time its value
changes (so the engine can wake up there) and exact integrals, alone or multiplied by another
step function such as a site's power: carbon = ∫ P(t) · CI(t) dt.

A site's ``grid:`` block (:class:`GridSpec`) gives each signal as a constant, a built-in profile
name, ``{profile: NAME, ...}`` or ``{file: PATH, ...}`` (a CSV of time, value).
:func:`build_signal` turns one spec into a :class:`Signal`; every problem with the input (a
missing file, unreadable rows, unsorted or duplicate times, gaps, NaN, negative carbon) is
raised together as an :class:`~scheduler.errors.InputError` located at ``FILE:LINE`` or at the
field path.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import zlib
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from scheduler.errors import InputError, Problem
from scheduler.scenario_base import StrictModel  # not .scenario, which will import GridSpec
from scheduler.units import TIME_UNITS_S

FloatArray = npt.NDArray[np.float64]

HOUR_S = 3600.0
DAY_S = 86400.0
WEEK_S = 7 * DAY_S

MAX_SIGNAL_FILE_BYTES = 256 * 1024 * 1024
"""Largest signal CSV read (after decompression): ~ 10 M rows, far above any real series."""
GAP_FACTOR = 3.0
"""A step longer than this many times the median step is a gap in the data."""
MAX_PROBLEMS = 20
"""Problems listed for one file; the rest are counted in a last line."""
MAX_VALUE = 1e6
"""Largest carbon intensity (g/kWh) or price magnitude (EUR/MWh) accepted: real ones stay
below 2,000 and 5,000; beyond, energy x value products could overflow to infinity."""
MAX_TIME_S = 1e12
"""Largest time magnitude in a series file (31,700 years)."""


# --------------------------------------------------------------------------- Signal


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
        k = np.floor((ts - t0) / period)
        u = ts - k * period
        # Rounding may leave u a hair outside the period; fix it by one step.
        over = u >= t0 + period
        k = np.where(over, k + 1, k)
        u = np.where(over, u - period, u)
        under = u < t0
        k = np.where(under, k - 1, k)
        u = np.where(under, u + period, u)
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
            return k * self._area + self._cum[index] + self.values[index] * (u - self.times[index])
        index = np.searchsorted(self.times, ts, side="right") - 1
        safe = np.clip(index, 0, None)
        inside = self._cum[safe] + self.values[safe] * (ts - self.times[safe])
        return np.where(index < 0, self.values[0] * (ts - t0), inside)

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
        if pt.size > 1 and np.any(np.diff(pt) < 0):
            raise ValueError("power_times must be non-decreasing")
        if t1 < t0:
            return -self.integrate_product(pt, pv, t1, t0)
        inner = pt[(pt > t0) & (pt < t1)]
        edges = np.concatenate(([t0], inner, [t1]))
        index = np.clip(np.searchsorted(pt, edges[:-1], side="right") - 1, 0, None)
        pieces = np.diff(self._antiderivative(edges))
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


# --------------------------------------------------------------------------- specs

ProfileName = Literal["fr-2020", "fr-2024", "day-ahead-fr", "flat"]
CARBON_PROFILES: tuple[str, ...] = ("fr-2020", "fr-2024", "flat")
PRICE_PROFILES: tuple[str, ...] = ("day-ahead-fr", "flat")

FR_2024_CARBON_MEAN = 32.0
"""Lifecycle g/kWh of French electricity 2024-25 (Electricity Maps 31-33; RTE direct: 21.7)."""
FR_2024_PRICE_MEAN = 58.0
"""EPEX day-ahead France annual mean 2024, EUR/MWh (276 in 2022, 97 in 2023)."""
FR_2020_FIRST = datetime(2019, 12, 20)
"""Timestamp of the first row of the packaged 2020 series (time 0 of the profile)."""
FR_2020_FILE = "fr_carbon_intensity_2020.csv.gz"

_FiniteFloat = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_VALUE, le=MAX_VALUE)]


def _date_text(value: Any) -> Any:
    # YAML reads an unquoted 2020-03-01 as a date: accept it as the ISO text it was.
    return value.isoformat() if isinstance(value, date) else value


def _check_iso(value: str) -> str:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"expected an ISO date or time such as 2020-03-01 or "
                         f"2020-03-01T06:00 (got {value!r})") from None
    return value


IsoDate = Annotated[str, BeforeValidator(_date_text), AfterValidator(_check_iso)]


class FileSignal(StrictModel):
    """A series read from a CSV file with a header row (``.csv`` or ``.csv.gz``)."""

    file: str = Field(min_length=1)
    """Path of the CSV; relative paths are resolved from the scenario file's folder."""
    time_column: str | None = None
    """Header of the time column (default: the first column). Times are numbers in
    ``time_unit`` from the simulation start, or ISO timestamps (the first row is time 0)."""
    value_column: str | None = None
    """Header of the value column (default: the second column)."""
    time_unit: Literal["s", "min", "h", "d"] | None = None
    """Unit of numeric times (default ``s``); not allowed with ISO timestamps."""
    rescale_mean: _FiniteFloat | None = None
    """Multiply the series so that its mean over one repetition equals this."""
    repeat: bool = True
    """After the last row, repeat the series with its own length (last time - first time +
    the median step); ``false`` holds the last value."""


class ProfileSignal(StrictModel):
    """A built-in profile.

    ``fr-2020``: French grid carbon intensity 2019-12-20 .. 2021-01-09 every 30 min (ENTSO-E
    generation x IPCC factors, Wiesner et al. 2021), mean 56.7 g/kWh, repeated with its length.
    ``fr-2024``: the same shape rescaled to 32 g/kWh, the 2024-25 lifecycle level (2020 had low
    nuclear output). ``day-ahead-fr``: a synthetic hourly day-ahead price shape for France
    (midday dip, 19-21 h peak, lower weekends), weekly period, mean EUR 58/MWh (2024).
    ``flat``: a constant, ``rescale_mean`` or the 2024 mean (32 g/kWh, EUR 58/MWh).
    """

    profile: ProfileName
    """Profile name."""
    rescale_mean: _FiniteFloat | None = None
    """Multiply the profile so that its mean over one period equals this (the constant for
    ``flat``)."""
    start: IsoDate | None = None
    """Date (or date and time) that simulation time 0 maps to. ``fr-2020``/``fr-2024``: a
    moment from 2019-12-20 to 2021-01-09 (default: 2019-12-20 00:00); ``day-ahead-fr``: its
    weekday and hour set the phase of the weekly shape (default: Monday 00:00)."""
    weekly: bool | None = None
    """``day-ahead-fr`` only: weekends lower than weekdays (default true); false repeats the
    weekday shape every day."""

    @model_validator(mode="after")
    def _options_fit(self) -> ProfileSignal:
        if self.weekly is not None and self.profile != "day-ahead-fr":
            raise ValueError("weekly applies to the day-ahead-fr profile only")
        if self.start is not None and self.profile == "flat":
            raise ValueError("start does not apply to the flat profile")
        return self


def _profile_from_name(name: str) -> ProfileSignal:
    return ProfileSignal(profile=name)  # type: ignore[arg-type]  # a checked ProfileName


def _signal_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        if "file" in value:
            return "[file]"
        return "[profile]" if "profile" in value else None
    if isinstance(value, FileSignal):
        return "[file]"
    if isinstance(value, ProfileSignal):
        return "[profile]"
    if isinstance(value, str):
        return "[name]"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "[constant]"
    return None


_SIGNAL_ERROR = (
    "expected a number, a profile name (fr-2020, fr-2024, day-ahead-fr, flat), "
    "{file: PATH, ...} or {profile: NAME, ...}"
)


CarbonSignalSpec = Annotated[
    Annotated[float, Field(ge=0, le=MAX_VALUE, allow_inf_nan=False), Tag("[constant]")]
    | Annotated[ProfileName, AfterValidator(_profile_from_name), Tag("[name]")]
    | Annotated[FileSignal, Tag("[file]")]
    | Annotated[ProfileSignal, Tag("[profile]")],
    Discriminator(_signal_kind, custom_error_type="signal_kind",
                  custom_error_message=_SIGNAL_ERROR),
]
"""Carbon intensity in gCO2/kWh: a constant >= 0, a profile name, ``{file: ...}`` or
``{profile: ...}``; a bare name validates to a :class:`ProfileSignal`."""
PriceSignalSpec = Annotated[
    Annotated[float, Field(ge=-MAX_VALUE, le=MAX_VALUE, allow_inf_nan=False),
              Tag("[constant]")]
    | Annotated[ProfileName, AfterValidator(_profile_from_name), Tag("[name]")]
    | Annotated[FileSignal, Tag("[file]")]
    | Annotated[ProfileSignal, Tag("[profile]")],
    Discriminator(_signal_kind, custom_error_type="signal_kind",
                  custom_error_message=_SIGNAL_ERROR),
]
"""Electricity price in EUR/MWh (may be negative: 359 negative hours in France in 2024)."""

SignalSpec = float | FileSignal | ProfileSignal | str
"""What :func:`build_signal` accepts: a validated spec (or a bare profile name)."""


class GridSpec(StrictModel):
    """The electricity a site draws: its carbon intensity and its price over time."""

    carbon_g_per_kwh: CarbonSignalSpec | None = None
    """Carbon intensity (gCO2/kWh): a constant, a profile name, ``{profile: NAME,
    rescale_mean, start}`` or ``{file: PATH, ...}`` (CSV of time, value)."""
    price_eur_per_mwh: PriceSignalSpec | None = None
    """Electricity price (EUR/MWh): a constant, a profile name, ``{profile: NAME, ...}`` or
    ``{file: PATH, ...}``."""

    @field_validator("carbon_g_per_kwh")
    @classmethod
    def _carbon_fits(cls, value: Any) -> Any:
        _check_kind(value, "carbon")
        return value

    @field_validator("price_eur_per_mwh")
    @classmethod
    def _price_fits(cls, value: Any) -> Any:
        _check_kind(value, "price")
        return value


def _check_kind(spec: Any, kind: str) -> None:
    """Raise ValueError when a profile or a rescaled mean does not suit ``kind``."""
    allowed = CARBON_PROFILES if kind == "carbon" else PRICE_PROFILES
    if isinstance(spec, ProfileSignal) and spec.profile not in allowed:
        other = "a price" if kind == "carbon" else "a carbon-intensity"
        raise ValueError(f"profile {spec.profile!r} is {other} profile; "
                         f"{kind} profiles are {', '.join(allowed)}")
    if (
        kind == "carbon"
        and isinstance(spec, FileSignal | ProfileSignal)
        and spec.rescale_mean is not None
        and spec.rescale_mean < 0
    ):
        raise ValueError(f"rescale_mean must be >= 0 for carbon intensity "
                         f"(got {spec.rescale_mean})")


# --------------------------------------------------------------------------- building


def _kind_of(what: str) -> str | None:
    last = what.rsplit(".", 1)[-1].lower()
    if "carbon" in last:
        return "carbon"
    return "price" if "price" in last else None


def build_signal(
    spec: SignalSpec, base_dir: Path | None, what: str, *, kind: str | None = None
) -> Signal:
    """The :class:`Signal` a spec describes.

    ``what`` is the spec's field path (``sites.0.grid.carbon_g_per_kwh``), used where a problem
    has no file line; ``kind`` (``"carbon"`` or ``"price"``) defaults to what the path's last
    part names. Carbon must be >= 0. Relative files are resolved from ``base_dir``. Raises
    :class:`InputError` listing every problem found.
    """
    kind = kind if kind is not None else _kind_of(what)
    if isinstance(spec, str):
        if spec not in ("fr-2020", "fr-2024", "day-ahead-fr", "flat"):
            raise InputError(f"unknown profile {spec!r}; {_SIGNAL_ERROR}", what)
        spec = _profile_from_name(spec)
    if kind is not None:
        try:
            _check_kind(spec, kind)
        except ValueError as exc:
            raise InputError(str(exc), what) from None
    if isinstance(spec, FileSignal):
        return _file_signal(spec, base_dir, what, kind)
    if isinstance(spec, ProfileSignal):
        return _profile_signal(spec, what, kind)
    value = float(spec)
    if not abs(value) <= MAX_VALUE or (kind == "carbon" and value < 0):
        raise InputError(f"must be finite{' and >= 0' if kind == 'carbon' else ''} and at "
                         f"most {MAX_VALUE:g} in magnitude (got {value})", what)
    return Signal.constant(value, what)


def build_grid(
    grid: GridSpec | None, base_dir: Path | None, where: str
) -> tuple[Signal | None, Signal | None]:
    """(carbon, price) signals of a site's ``grid:`` block at ``where``; problems of both."""
    if grid is None:
        return None, None
    problems: list[Problem] = []
    built: list[Signal | None] = []
    for field in ("carbon_g_per_kwh", "price_eur_per_mwh"):
        spec = getattr(grid, field)
        try:
            built.append(None if spec is None else build_signal(spec, base_dir, f"{where}.{field}"))
        except InputError as exc:
            problems.extend(exc.problems)
            built.append(None)
    if problems:
        raise InputError(problems)
    return built[0], built[1]


def _rescale(signal: Signal, mean: float, where: str) -> Signal:
    current = signal.mean()
    if current == 0 or (mean != 0 and (current > 0) != (mean > 0)):
        raise InputError(f"cannot rescale a series of mean {current:.6g} to mean {mean:g} "
                         "(rescaling multiplies every value)", where)
    return signal.rescaled(mean)


def _profile_signal(spec: ProfileSignal, what: str, kind: str | None) -> Signal:
    name = spec.profile
    start = datetime.fromisoformat(spec.start) if spec.start is not None else None
    if name == "flat":
        if spec.rescale_mean is not None:
            return Signal.constant(spec.rescale_mean, name)
        if kind is None:
            raise InputError("the flat profile needs rescale_mean (its value) here", what)
        return Signal.constant(
            FR_2024_CARBON_MEAN if kind == "carbon" else FR_2024_PRICE_MEAN, name
        )
    if name == "day-ahead-fr":
        if spec.rescale_mean is not None and spec.rescale_mean < 0:
            raise InputError("rescale_mean of day-ahead-fr must be >= 0 (rescaling multiplies "
                             "the shape)", f"{what}.rescale_mean")
        signal = day_ahead_fr(
            FR_2024_PRICE_MEAN if spec.rescale_mean is None else spec.rescale_mean,
            weekly=spec.weekly is not False,
        )
        if start is not None:
            signal = signal.shifted(start.weekday() * DAY_S + _seconds_into_day(start))
        return signal
    signal = fr_carbon_2020()
    mean = spec.rescale_mean if spec.rescale_mean is not None else (
        FR_2024_CARBON_MEAN if name == "fr-2024" else None
    )
    if mean is not None:
        signal = _rescale(signal, mean, f"{what}.rescale_mean")
    if start is not None:
        offset = _seconds_between(FR_2020_FIRST, start)
        assert signal.period_s is not None
        if offset is None or not 0 <= offset < signal.period_s:
            last = FR_2020_FIRST + timedelta(seconds=signal.period_s)
            raise InputError(f"start {spec.start} is outside the series "
                             f"({FR_2020_FIRST:%Y-%m-%d} .. {last:%Y-%m-%d %H:%M})",
                             f"{what}.start")
        signal = signal.shifted(offset)
    return Signal(signal.times, signal.values, signal.period_s, name)


def _seconds_into_day(moment: datetime) -> float:
    return moment.hour * HOUR_S + moment.minute * 60.0 + moment.second + moment.microsecond / 1e6


def _seconds_between(first: datetime, moment: datetime) -> float | None:
    if moment.tzinfo is not None:  # the packaged series is naive: compare wall-clock times
        moment = moment.replace(tzinfo=None)
    return (moment - first).total_seconds()


# --------------------------------------------------------------------------- built-in profiles

# Weekday day-ahead shape for France, hour 0..23, relative to the daily mean. Synthetic,
# calibrated on the PROVENANCE facts only: prices dip around midday (solar, lowest at 13-14 h),
# a smaller morning peak at 8 h and the daily peak at 19-21 h (evening demand, solar gone).
_DAY_AHEAD_WEEKDAY = (
    1.00, 0.93, 0.88, 0.85, 0.85, 0.90, 1.00, 1.12, 1.16, 1.05, 0.90, 0.78,
    0.71, 0.68, 0.70, 0.78, 0.90, 1.04, 1.18, 1.30, 1.34, 1.26, 1.13, 1.07,
)
# Weekend levels (demand is lower): Saturday and Sunday multiply the weekday shape.
_DAY_AHEAD_WEEKEND = (0.92, 0.82)


def day_ahead_fr(mean: float = FR_2024_PRICE_MEAN, *, weekly: bool = True) -> Signal:
    """Synthetic hourly day-ahead price shape for France with the given mean (EUR/MWh).

    Hourly steps; period one week starting Monday 00:00 (weekends lower) or, with
    ``weekly=False``, one day. Mean over one period is exactly ``mean``.
    """
    day = np.array(_DAY_AHEAD_WEEKDAY)
    week = [day] * 5 + [day * factor for factor in _DAY_AHEAD_WEEKEND]
    shape = np.concatenate(week) if weekly else day
    values = shape * (mean / shape.mean())
    return Signal(np.arange(shape.size) * HOUR_S, values, shape.size * HOUR_S, "day-ahead-fr")


@lru_cache(maxsize=1)
def fr_carbon_2020() -> Signal:
    """The packaged French carbon intensity 2019-12-20 .. 2021-01-09 (g/kWh, 30-min steps).

    Time 0 is the first row (2019-12-20 00:00); the series repeats with its own length.
    """
    source = resources.files("scheduler") / "data" / FR_2020_FILE
    with resources.as_file(source) as path:
        signal = _file_signal(FileSignal(file=str(path)), None, f"builtin:{FR_2020_FILE}", "carbon")
    return Signal(signal.times, signal.values, signal.period_s, "fr-2020")


# --------------------------------------------------------------------------- CSV files


class _Problems:
    """Problems of one file, kept in line order."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.items: list[tuple[int, Problem]] = []

    def add(self, line: int | None, message: str) -> None:
        where = self.display if line is None else f"{self.display}:{line}"
        self.items.append((line or 0, Problem(where, message)))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        ordered = [p for _, p in sorted(self.items, key=lambda item: item[0])]
        if len(ordered) > MAX_PROBLEMS:
            more = len(ordered) - MAX_PROBLEMS
            ordered = [*ordered[:MAX_PROBLEMS], Problem(self.display, f"... {more} more problems")]
        raise InputError(ordered)


def _read_file_text(path: Path, what: str) -> str:
    try:
        if path.is_dir():
            raise InputError(f"{path} is a directory, expected a CSV file", what)
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                raw = handle.read(MAX_SIGNAL_FILE_BYTES + 1)
        else:
            with path.open("rb") as handle:
                raw = handle.read(MAX_SIGNAL_FILE_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"file not found: {path}", what) from None
    except (OSError, EOFError, zlib.error) as exc:  # gzip: BadGzipFile (OSError), EOFError,
        # zlib.error for a damaged stream
        raise InputError(f"cannot read {path}: {exc}", what) from None
    if len(raw) > MAX_SIGNAL_FILE_BYTES:
        raise InputError(f"larger than {MAX_SIGNAL_FILE_BYTES:,} bytes", str(path))
    if b"\x00" in raw:
        raise InputError("binary file (contains NUL bytes), expected CSV text", str(path))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", str(path)) from None


def _column(header: Sequence[str], name: str | None, default: int, role: str,
            problems: _Problems) -> int | None:
    if name is None:
        if default < len(header):
            return default
        problems.add(1, f"needs a {role} column (column {default + 1}); the header has "
                        f"{len(header)}: {', '.join(header)}")
        return None
    if name in header:
        return header.index(name)
    problems.add(1, f"no {role} column {name!r}; columns are: {', '.join(header)}")
    return None


def _hours(seconds: float) -> str:
    return f"{seconds / HOUR_S:.3g} h"


def _csv_rows(reader: Any, display: str) -> Iterator[list[str]]:
    """The reader's rows; a malformed CSV (a field over the csv module's limit...) is an input
    error at its line."""
    try:
        yield from reader
    except csv.Error as exc:
        raise InputError(f"cannot read the CSV: {exc}", f"{display}:{reader.line_num}") from None


def _file_signal(spec: FileSignal, base_dir: Path | None, what: str, kind: str | None) -> Signal:
    path = Path(spec.file).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    display = str(path)
    text = _read_file_text(path, what)
    problems = _Problems(display)
    reader = csv.reader(io.StringIO(text, newline=""))  # a lone \r ends a line, as in files
    rows = _csv_rows(reader, display)
    header: list[str] | None = None
    header_line = 1
    for row in rows:
        if row and any(cell.strip() for cell in row) and not row[0].lstrip().startswith("#"):
            header = [cell.strip() for cell in row]
            header_line = reader.line_num
            break
    if header is None:
        raise InputError("the file is empty; expected a header row, then rows of time, value",
                         display)
    time_index = _column(header, spec.time_column, 0, "time", problems)
    value_index = _column(header, spec.value_column, 1, "value", problems)
    if time_index is None or value_index is None:
        problems.raise_if_any()
    assert time_index is not None and value_index is not None
    time_name, value_name = header[time_index], header[value_index]
    needed = max(time_index, value_index) + 1
    unit = TIME_UNITS_S[spec.time_unit or "s"]

    # Parse. Times are numeric or ISO, decided by the first row whose time parses.
    mode: str | None = None
    first_stamp: datetime | None = None
    times: list[float] = []
    labels: list[str] = []
    lines: list[int] = []
    values: list[float] = []
    for row in rows:
        line = reader.line_num
        if not row or not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if len(row) < needed:
            problems.add(line, f"expected at least {needed} columns, found {len(row)}")
            continue
        cell = row[time_index].strip()
        stamp = None
        seconds: float | None = None
        if mode != "iso":
            try:
                seconds = float(cell) * unit
                mode = "number"
            except ValueError:
                seconds = None
        if seconds is None and mode != "number":
            try:
                stamp = datetime.fromisoformat(cell)
            except ValueError:
                stamp = None
            if stamp is not None:
                if first_stamp is None:
                    first_stamp, mode = stamp, "iso"
                if (stamp.tzinfo is None) != (first_stamp.tzinfo is None):
                    problems.add(line, f"column {time_name!r}: timestamp {cell!r} "
                                       f"{'lacks' if stamp.tzinfo is None else 'has'} a time "
                                       "zone, unlike the first row")
                    continue
                seconds = (stamp - first_stamp).total_seconds()
        if seconds is None:
            expected = {"number": "a number", "iso": "an ISO timestamp"}.get(
                mode or "", "a number or an ISO timestamp")
            problems.add(line, f"column {time_name!r}: cannot read {cell!r} as {expected}")
            continue
        if not math.isfinite(seconds) or abs(seconds) > MAX_TIME_S:
            problems.add(line, f"column {time_name!r}: time {cell!r} is not finite"
                         if not math.isfinite(seconds) else
                         f"column {time_name!r}: time {cell!r} is beyond {MAX_TIME_S:g} s")
            continue
        raw_value = row[value_index].strip()
        try:
            value = float(raw_value)
        except ValueError:
            problems.add(line, f"column {value_name!r}: cannot read {raw_value!r} as a number")
            value = math.nan
        else:
            if not math.isfinite(value):
                problems.add(line, f"column {value_name!r}: value {raw_value!r} is not finite")
            elif abs(value) > MAX_VALUE:
                problems.add(line, f"column {value_name!r}: value {raw_value!r} is beyond "
                                   f"+-{MAX_VALUE:g}")
            elif kind == "carbon" and value < 0:
                problems.add(line, f"column {value_name!r}: carbon intensity must be >= 0 "
                                   f"(got {raw_value})")
        times.append(seconds)
        labels.append(cell)
        lines.append(line)
        values.append(value)
    if mode == "iso" and spec.time_unit is not None:
        problems.add(header_line, f"time_unit {spec.time_unit!r} applies to numeric times; "
                                  f"column {time_name!r} holds timestamps")
    if not times and not problems.items:
        raise InputError("no data rows after the header", f"{display}:{header_line}")

    # Order, duplicates and gaps, over the rows whose time was read.
    t = np.asarray(times, dtype=np.float64)
    steps = np.diff(t)
    for i in np.flatnonzero(steps <= 0):
        here, before = int(i) + 1, int(i)
        if steps[i] == 0:
            problems.add(lines[here], f"duplicate time {labels[here]} "
                                      f"(also at line {lines[before]})")
        else:
            problems.add(lines[here], f"time {labels[here]} is earlier than "
                                      f"{labels[before]} on line {lines[before]} (rows must "
                                      "be sorted by time)")
    positive = steps[steps > 0]
    median = float(np.median(positive)) if positive.size else math.nan
    if positive.size >= 2:
        for i in np.flatnonzero(steps > GAP_FACTOR * median):
            here, before = int(i) + 1, int(i)
            problems.add(lines[here], f"gap of {_hours(float(steps[i]))} after "
                                      f"{labels[before]} (line {lines[before]}); the median "
                                      f"step is {_hours(median)}")
    problems.raise_if_any()

    period = float(t[-1] - t[0] + median) if (spec.repeat and t.size > 1) else None
    signal = Signal(t, np.asarray(values, dtype=np.float64), period, display)
    if spec.rescale_mean is not None:
        signal = _rescale(signal, spec.rescale_mean, f"{what}.rescale_mean")
    return signal
