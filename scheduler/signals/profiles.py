"""Built-in grid profiles: the packaged French carbon series and a day-ahead price shape.

Sources and calibration are in ``scheduler/data/PROVENANCE.md``.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from importlib import resources

import numpy as np

from scheduler.signals.csv_file import read_signal_csv
from scheduler.signals.specs import FileSignal
from scheduler.signals.steps import HOUR_S, Signal

FR_2024_CARBON_MEAN = 32.0
"""Lifecycle g/kWh of French electricity 2024-25 (Electricity Maps 31-33; RTE direct: 21.7)."""
FR_2024_PRICE_MEAN = 58.0
"""EPEX day-ahead France annual mean 2024, EUR/MWh (276 in 2022, 97 in 2023)."""
FR_2020_FIRST = datetime(2019, 12, 20)
"""Timestamp of the first row of the packaged 2020 series (time 0 of the profile)."""
FR_2020_FILE = "fr_carbon_intensity_2020.csv.gz"

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
        signal = read_signal_csv(FileSignal(file=str(path)), None, f"builtin:{FR_2020_FILE}",
                                 "carbon")
    return Signal(signal.times, signal.values, signal.period_s, "fr-2020")

