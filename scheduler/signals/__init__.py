"""Grid signals: carbon intensity and electricity price as step functions of simulation time.

A site's ``grid:`` block (:class:`GridSpec`) gives each signal as a constant, a built-in profile
name, ``{profile: NAME, ...}`` or ``{file: PATH, ...}`` (a CSV of time, value).
:func:`build_signal` turns one spec into a :class:`Signal`; every problem with the input is
raised together as an :class:`~scheduler.errors.InputError` located at ``FILE:LINE`` or at the
field path. One concern per module:

- :mod:`~scheduler.signals.steps`: :class:`Signal`, the maths of step functions and integrals;
- :mod:`~scheduler.signals.specs`: the pydantic specs of a ``grid:`` block;
- :mod:`~scheduler.signals.profiles`: the built-in profiles;
- :mod:`~scheduler.signals.csv_file`: the CSV reader;
- :mod:`~scheduler.signals.build`: from a spec to a signal.

Every name below is importable from ``scheduler.signals``, as before the split.
"""

from scheduler.signals.build import build_grid, build_signal
from scheduler.signals.csv_file import GAP_FACTOR, MAX_PROBLEMS, MAX_SIGNAL_FILE_BYTES, MAX_TIME_S
from scheduler.signals.profiles import (
    FR_2020_FILE,
    FR_2020_FIRST,
    FR_2024_CARBON_MEAN,
    FR_2024_PRICE_MEAN,
    day_ahead_fr,
    fr_carbon_2020,
)
from scheduler.signals.specs import (
    CARBON_PROFILES,
    MAX_VALUE,
    PRICE_PROFILES,
    CarbonSignalSpec,
    FileSignal,
    GridSpec,
    IsoDate,
    PriceSignalSpec,
    ProfileName,
    ProfileSignal,
    SignalSpec,
)
from scheduler.signals.steps import DAY_S, HOUR_S, WEEK_S, FloatArray, Signal

__all__ = [
    "CARBON_PROFILES", "DAY_S", "FR_2020_FILE", "FR_2020_FIRST", "FR_2024_CARBON_MEAN",
    "FR_2024_PRICE_MEAN", "GAP_FACTOR", "HOUR_S", "MAX_PROBLEMS", "MAX_SIGNAL_FILE_BYTES",
    "MAX_TIME_S", "MAX_VALUE", "PRICE_PROFILES", "WEEK_S", "CarbonSignalSpec", "FileSignal",
    "FloatArray", "GridSpec", "IsoDate", "PriceSignalSpec", "ProfileName", "ProfileSignal",
    "Signal", "SignalSpec", "build_grid", "build_signal", "day_ahead_fr", "fr_carbon_2020",
]
