"""From a validated spec to a :class:`~scheduler.signals.steps.Signal`.

:func:`build_signal` turns one spec (constant, profile, file) into a signal and
:func:`build_grid` a site's ``grid:`` block into its (carbon, price) pair. Every problem with
the input is raised together as an :class:`~scheduler.errors.InputError` located at
``FILE:LINE`` or at the field path.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from scheduler.errors import InputError, Problem
from scheduler.signals.csv_file import read_signal_csv
from scheduler.signals.dates import in_series
from scheduler.signals.profiles import (
    FR_2020_FIRST,
    FR_2024_CARBON_MEAN,
    FR_2024_PRICE_MEAN,
    day_ahead_fr,
    fr_carbon_2020,
)
from scheduler.signals.specs import (
    _SIGNAL_ERROR,
    MAX_VALUE,
    FileSignal,
    GridSpec,
    ProfileSignal,
    SignalSpec,
    _check_kind,
    _profile_from_name,
)
from scheduler.signals.steps import DAY_S, HOUR_S, Signal


def _kind_of(what: str) -> str | None:
    last = what.rsplit(".", 1)[-1].lower()
    if "carbon" in last:
        return "carbon"
    return "price" if "price" in last else None


def build_signal(
    spec: SignalSpec, base_dir: Path | None, what: str, *, kind: str | None = None,
    start: date | None = None,
) -> Signal:
    """The :class:`Signal` a spec describes.

    ``what`` is the spec's field path (``sites.0.grid.carbon_g_per_kwh``), used where a problem
    has no file line; ``kind`` (``"carbon"`` or ``"price"``) defaults to what the path's last
    part names. Carbon must be >= 0. Relative files are resolved from ``base_dir``. ``start``
    (the scenario's calendar date of time 0) places a profile without its own ``start`` on the
    calendar (:mod:`scheduler.signals.dates`). Raises
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
        signal = read_signal_csv(spec, base_dir, what, kind)
        if spec.rescale_mean is not None:
            signal = _rescale(signal, spec.rescale_mean, f"{what}.rescale_mean")
        return signal
    if isinstance(spec, ProfileSignal):
        return _profile_signal(spec, what, kind, start)
    value = float(spec)
    if not abs(value) <= MAX_VALUE or (kind == "carbon" and value < 0):
        raise InputError(f"must be finite{' and >= 0' if kind == 'carbon' else ''} and at "
                         f"most {MAX_VALUE:g} in magnitude (got {value})", what)
    return Signal.constant(value, what)


def build_grid(
    grid: GridSpec | None, base_dir: Path | None, where: str, start: date | None = None
) -> tuple[Signal | None, Signal | None]:
    """(carbon, price) signals of a site's ``grid:`` block at ``where``, placed on the
    calendar from ``start``; problems of both."""
    if grid is None:
        return None, None
    problems: list[Problem] = []
    built: list[Signal | None] = []
    for field in ("carbon_g_per_kwh", "price_eur_per_mwh"):
        spec = getattr(grid, field)
        try:
            built.append(None if spec is None else build_signal(spec, base_dir, f"{where}.{field}",
                                                                start=start))
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


def _profile_signal(spec: ProfileSignal, what: str, kind: str | None,
                    calendar: date | None = None) -> Signal:
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
        elif calendar is not None:  # the shape starts on a Monday 00:00 local time
            signal = signal.shifted(calendar.weekday() * DAY_S)
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
    elif calendar is not None:
        assert signal.period_s is not None
        signal = signal.shifted(in_series(FR_2020_FIRST, signal.period_s, calendar))
    return Signal(signal.times, signal.values, signal.period_s, name)


def _seconds_into_day(moment: datetime) -> float:
    return moment.hour * HOUR_S + moment.minute * 60.0 + moment.second + moment.microsecond / 1e6


def _seconds_between(first: datetime, moment: datetime) -> float | None:
    if moment.tzinfo is not None:  # the packaged series is naive: compare wall-clock times
        moment = moment.replace(tzinfo=None)
    return (moment - first).total_seconds()

