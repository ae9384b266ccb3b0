"""The scenario's calendar (issue 18, item 5): time 0 is 00:00 local time (Europe/Paris) of
``start``, and every grid profile is read at that date, weekdays aligned."""

from __future__ import annotations

import gzip
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from conftest import run_cli, tiny_scenario

from scheduler.errors import InputError
from scheduler.loading import validate_data
from scheduler.signals import build_signal, day_ahead_fr, fr_carbon_2020
from scheduler.signals.dates import (
    DEFAULT_START,
    describe_start,
    in_series,
    local_midnight_utc,
)
from scheduler.signals.profiles import FR_2020_FILE, FR_2020_FIRST

DATA = __import__("scheduler").__path__[0] + "/data/" + FR_2020_FILE
CARBON = "grid.carbon_g_per_kwh"


def file_rows() -> dict[datetime, float]:
    """The packaged series as written: UTC timestamp -> g/kWh."""
    with gzip.open(DATA, "rt") as handle:
        next(handle)
        return {datetime.fromisoformat(stamp): float(value)
                for stamp, value in (line.strip().split(",") for line in handle)}


@pytest.mark.parametrize(("start", "hour", "utc_row"), [
    # Winter: Paris is UTC+1, so 10:00 local on 2020-03-02 is the 09:00 UTC row.
    (date(2020, 3, 2), 10.0, datetime(2020, 3, 2, 9, 0)),
    # Summer: UTC+2; 18:30 local on 2020-07-08 is the 16:30 UTC row.
    (date(2020, 7, 6), 2 * 24 + 18.5, datetime(2020, 7, 8, 16, 30)),
    # The default start: midnight local is 23:00 UTC the day before.
    (DEFAULT_START, 0.0, datetime(2020, 1, 26, 23, 0)),
])
def test_a_value_at_a_known_date_and_hour_is_the_files(start, hour, utc_row):
    signal = build_signal("fr-2020", None, CARBON, start=start)
    assert signal.value_at(hour * 3600.0) == file_rows()[utc_row]


def test_fr_2024_is_the_same_shape_placed_the_same_way():
    rows = file_rows()
    mean = np.mean(list(rows.values()))
    signal = build_signal("fr-2024", None, CARBON, start=date(2020, 3, 2))
    # fr-2024 = fr-2020 x 32 / its mean: the ratio is the rescale, up to float rounding.
    assert signal.value_at(10 * 3600.0) == pytest.approx(rows[datetime(2020, 3, 2, 9)] * 32 / mean,
                                                         rel=1e-12)


def test_a_date_outside_the_series_keeps_its_weekday():
    start = date(2030, 1, 28)  # a Monday
    offset = in_series(FR_2020_FIRST, fr_carbon_2020().period_s, start)
    read_from = FR_2020_FIRST + timedelta(seconds=offset)
    assert read_from == local_midnight_utc(date(2020, 2, 10))  # 10 x 52 weeks earlier
    assert date(2020, 2, 10).weekday() == start.weekday() == 0


def test_day_ahead_weekdays_follow_the_start():
    monday = day_ahead_fr()  # its shape starts on a Monday 00:00
    saturday = build_signal("day-ahead-fr", None, "grid.price_eur_per_mwh",
                            start=date(2024, 6, 1))  # a Saturday
    for hour in (0.5, 12.5, 20.5, 30.5):
        assert saturday.value_at(hour * 3600) == monday.value_at((5 * 24 + hour) * 3600)


def test_the_default_start_is_the_representative_monday_of_2020():
    """DEFAULT_START begins the 2020 week (Monday 00:00 local) whose mean carbon intensity is
    the closest to the 2020 mean, as the docs say; the profile's own first week is far off."""
    rows = file_rows()
    stamps = np.array(list(rows), dtype="datetime64[s]")
    values = np.array(list(rows.values()))
    year = values[(stamps >= np.datetime64("2020-01-01")) & (stamps < np.datetime64("2021-01-01"))]

    def week_mean(monday: date) -> float:
        first = np.datetime64(local_midnight_utc(monday))
        return float(values[(stamps >= first) & (stamps < first + np.timedelta64(7, "D"))].mean())

    mondays = [date(2020, 1, 6) + timedelta(weeks=k) for k in range(51)]
    best = min(mondays, key=lambda monday: abs(week_mean(monday) - year.mean()))
    assert best == DEFAULT_START and DEFAULT_START.weekday() == 0
    assert abs(week_mean(DEFAULT_START) - year.mean()) / year.mean() < 0.015
    first_week = values[stamps < np.datetime64("2019-12-27")].mean()
    assert first_week < 0.75 * year.mean()  # the old time 0: a holiday week, not typical


def test_scenario_start_places_the_grid_and_is_recorded():
    from scheduler import simulate

    data = tiny_scenario(duration="6h", grid={"carbon_g_per_kwh": "fr-2020"})
    assert validate_data(data).start == "2020-01-27"
    early = simulate(data, seed=1)
    late = simulate({**data, "start": "2020-07-06"}, seed=1)
    assert early.summary["start_date"] == "2020-01-27"
    assert late.summary["start_date"] == "2020-07-06"
    assert early.summary["carbon_t"] != late.summary["carbon_t"]
    # The first time-series row (a mean over its 43 s step, inside the first 30-min row of
    # the file) is the file's value at 2020-07-06 00:00 Paris = 2020-07-05 22:00 UTC. The
    # step mean is a difference of running integrals (~1e6 g s/kWh): ~1e-11 relative rounding.
    series = late.timeseries
    assert series["carbon_g_per_kwh[A]"].iloc[0] == pytest.approx(
        file_rows()[datetime(2020, 7, 5, 22, 0)], rel=1e-9)


def test_start_must_be_a_date():
    for bad in ("2020-01-27T05:00", "27/01/2020", "2020-02-30"):
        with pytest.raises(InputError) as caught:
            validate_data(tiny_scenario(start=bad))
        assert "start: expected a date" in str(caught.value)
    assert validate_data(tiny_scenario(start=date(2024, 3, 4))).start == "2024-03-04"


def test_dates_are_printed():
    assert describe_start(date(2020, 1, 27), 7 * 86400) == "Mon 2020-02-03 00:00"
    code, out, _ = run_cli("validate", "scenarios/mmc.yaml", "--set", "start=2030-01-28")
    assert code == 0 and "Mon 2030-01-28 00:00" in out


def test_report_and_figures_show_the_dates():
    from scheduler import simulate
    from scheduler.report import render_report

    result = simulate(tiny_scenario(duration="4d", start="2024-03-04"), seed=2)
    page = render_report(result)
    assert "(Mon 2024-03-04 00:00 to Fri 2024-03-08 00:00, Paris time)" in page
    figure = result.plot.utilization()
    labels = [ax.get_xlabel() for ax in figure.axes] + [
        figure._supxlabel.get_text() if figure._supxlabel else ""]
    assert any("days from Mon 2024-03-04 00:00" in label for label in labels), labels
