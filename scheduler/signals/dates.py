"""The scenario's calendar: which date and local time simulation time 0 is.

Simulation time 0 is 00:00 local time (Europe/Paris: every site of the cluster is in
France) of the scenario's ``start`` date; time t is t seconds later. Grid signals are placed
on that calendar:

* ``fr-2020`` / ``fr-2024`` (timestamps in UTC, 2019-12-20 .. 2021-01-09): read from the
  UTC instant of the start's local midnight. A start outside the series is moved into it by
  whole 52-week steps (364 days), which keeps its weekday and its season to within about
  ten days per decade: 2030-01-28 (a Monday) reads the series from 2020-02-10 (a Monday).
* ``day-ahead-fr`` (a weekly shape in local hours, Monday 00:00 first): its phase is the
  start's weekday.

:data:`DEFAULT_START` is 2020-01-27, a Monday: of the Mondays of 2020 it begins the week
whose mean carbon intensity (31.5 g/kWh in ``fr-2024``) is closest to the year's mean
(31.8 g/kWh), and that week is an ordinary working week (no public holiday in France,
before the COVID-19 lockdown of 2020-03-17). The profile's first day, 2019-12-20, is a
Friday in the Christmas holidays: its first week averages 22.0 g/kWh.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = ["DEFAULT_START", "LOCAL_ZONE", "describe_start", "in_series", "local_midnight_utc",
           "parse_start"]

DEFAULT_START = date(2020, 1, 27)
"""Representative Monday (see the module docstring; tests/test_calendar.py recomputes it)."""
LOCAL_ZONE = ZoneInfo("Europe/Paris")
"""Local time of every site (the cluster is in Hauts-de-France)."""
WEEKS_52_S = 364 * 86400.0


def parse_start(text: str | date) -> date:
    """The start date of a scenario's ``start`` (ISO ``YYYY-MM-DD``)."""
    if isinstance(text, date):
        return text
    return date.fromisoformat(text)


def local_midnight_utc(start: date) -> datetime:
    """The UTC instant (naive) of ``start`` 00:00 in :data:`LOCAL_ZONE`."""
    local = datetime(start.year, start.month, start.day, tzinfo=LOCAL_ZONE)
    return local.astimezone(UTC).replace(tzinfo=None)


def in_series(first: datetime, period_s: float, start: date) -> float:
    """Seconds from the series' first timestamp ``first`` (UTC) to the start's local
    midnight, moved by whole 52-week steps into ``[0, period_s)`` when outside it."""
    offset = (local_midnight_utc(start) - first).total_seconds()
    while offset < 0:
        offset += WEEKS_52_S
    while offset >= period_s:
        offset -= WEEKS_52_S
    if offset < 0:  # a series shorter than 52 weeks: no weekday-keeping step fits
        offset %= period_s
    return offset


def describe_start(start: date, seconds: float = 0.0) -> str:
    """``Mon 2020-01-27 00:00`` (local time) ``seconds`` after the start's midnight."""
    moment = datetime(start.year, start.month, start.day) + timedelta(seconds=seconds)
    return moment.strftime("%a %Y-%m-%d %H:%M")
