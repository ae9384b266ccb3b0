"""Grid signals: step-function queries, exact integrals, built-in profiles, bad CSV files."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from scheduler.errors import InputError
from scheduler.signals import (
    FileSignal,
    GridSpec,
    ProfileSignal,
    Signal,
    build_grid,
    build_signal,
    day_ahead_fr,
    fr_carbon_2020,
)

CARBON = "sites.0.grid.carbon_g_per_kwh"
PRICE = "sites.0.grid.price_eur_per_mwh"


def steps() -> Signal:
    """1 on [0, 10), 2 on [10, 30), 4 from 30 on."""
    return Signal([0.0, 10.0, 30.0], [1.0, 2.0, 4.0])


def periodic() -> Signal:
    """The same pattern on [0, 40), repeated: 4 on [30, 40), then 1 again from 40."""
    return Signal([0.0, 10.0, 30.0], [1.0, 2.0, 4.0], period_s=40.0)


def write(tmp_path: Path, text: str, name: str = "series.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems_of(exc: pytest.ExceptionInfo[InputError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


# --------------------------------------------------------------------------- Signal


def test_value_at_and_values_at() -> None:
    s = steps()
    assert [s.value_at(t) for t in (-5, 0, 9.9, 10, 29, 30, 1e9)] == [1, 1, 1, 2, 2, 4, 4]
    grid = np.array([[-5.0, 0.0, 9.9], [10.0, 30.0, 1e9]])
    out = s.values_at(grid)
    assert out.shape == (2, 3)
    assert out.tolist() == [[1, 1, 1], [2, 4, 4]]


def test_periodic_repeat() -> None:
    s = periodic()
    # 45 -> 5 in the first period; 50 -> 10; 79 -> 39; 80 -> 0; -5 -> 35 (wraps backwards too).
    assert [s.value_at(t) for t in (45, 50, 79, 80, -5)] == [1, 2, 4, 1, 4]
    assert s.values_at([40_000_010.0]).tolist() == [2.0]  # 40,000,010 = 1,000,000 x 40 + 10


def test_next_change_after() -> None:
    s = steps()
    assert [s.next_change_after(t) for t in (-1, 0, 9.5, 10, 29)] == [10, 10, 10, 30, 30]
    assert s.next_change_after(30) == math.inf
    p = periodic()
    # The wrap from 4 back to 1 at 40, 80, ... is a change.
    assert [p.next_change_after(t) for t in (30, 39.5, 40, 75, 80)] == [40, 40, 50, 80, 90]
    # A breakpoint that repeats the previous value is not a change.
    same = Signal([0, 5, 10], [1, 1, 2])
    assert same.next_change_after(0) == 10
    assert Signal.constant(3.0).next_change_after(0) == math.inf
    assert Signal([0, 10], [7, 7], period_s=20).next_change_after(0) == math.inf


def test_integrate_exact() -> None:
    s = steps()
    # [5, 40]: 1 x (10 - 5) + 2 x (30 - 10) + 4 x (40 - 30) = 5 + 40 + 40 = 85
    assert s.integrate(5, 40) == 85.0
    # Before the first breakpoint the first value holds: [-10, 5] = 1 x 15 = 15
    assert s.integrate(-10, 5) == 15.0
    assert s.integrate(40, 5) == -85.0
    assert s.integrate(12, 12) == 0.0
    p = periodic()
    # One period: 1 x 10 + 2 x 20 + 4 x 10 = 90.
    # [5, 95] = [5, 40): 5 + 40 + 40 = 85, [40, 80): 90, [80, 95): 1 x 10 + 2 x 5 = 20 -> 195
    assert p.integrate(5, 95) == 195.0
    # 1000 periods later, the same: [40,005, 40,095] -> 195
    assert p.integrate(40_005, 40_095) == 195.0
    assert p.mean() == 90 / 40  # 2.25
    assert s.mean(5, 40) == 85 / 35


def test_integrate_product_exact() -> None:
    s = steps()
    power_t, power_v = [0.0, 20.0, 35.0], [100.0, 50.0, 200.0]
    # [5, 10):  P 100 x CI 1 x 5 s  =  500
    # [10, 20): P 100 x CI 2 x 10 s = 2000
    # [20, 30): P  50 x CI 2 x 10 s = 1000
    # [30, 35): P  50 x CI 4 x  5 s = 1000
    # [35, 40): P 200 x CI 4 x  5 s = 4000   -> 8500
    assert s.integrate_product(power_t, power_v, 5, 40) == 8500.0
    # Periodic signal over [5, 60]: the same 8500, then [40, 50): 200 x 1 x 10 = 2000 and
    # [50, 60): 200 x 2 x 10 = 4000 -> 14500
    assert periodic().integrate_product(power_t, power_v, 5, 60) == 14500.0
    # A power series starting after t0 holds its first value backwards: 3 x 85 = 255
    assert s.integrate_product([10.0], [3.0], 5, 40) == 255.0
    # Equal power times: the last one wins. [0, 20): 1 x (1 x 10 + 2 x 10) = 30; [20, 30):
    # 5 x 2 x 10 = 100 -> 130
    assert s.integrate_product([0.0, 20.0, 20.0], [1.0, 99.0, 5.0], 0, 30) == 130.0
    # Against integrate(): a constant power of 1 gives the plain integral.
    p = periodic()
    assert p.integrate_product([0.0], [1.0], 3, 1234) == p.integrate(3, 1234)


def test_rescaled_and_shifted() -> None:
    p = periodic()
    r = p.rescaled(9.0)  # mean 2.25 -> x4
    assert r.values.tolist() == [4.0, 8.0, 16.0]
    assert r.mean() == 9.0
    assert steps().rescaled(4.0).mean() == pytest.approx(4.0)  # over [0, 30]
    later = p.shifted(10)
    assert later.value_at(0) == 2.0 and later.value_at(25) == 4.0 and later.value_at(30) == 1.0
    earlier = p.shifted(-10)  # earlier(0) = p(-10) = p(30) = 4
    assert earlier.times[0] <= 0
    assert earlier.value_at(0) == 4.0 and earlier.value_at(10) == 1.0
    assert steps().shifted(-10).value_at(5) == 1.0  # non-periodic: first value holds


def test_signal_rejects_bad_arrays() -> None:
    with pytest.raises(ValueError):
        Signal([0, 0], [1, 2])
    with pytest.raises(ValueError):
        Signal([0, 1], [1, math.nan])
    with pytest.raises(ValueError):
        Signal([0, 10], [1, 2], period_s=10)
    with pytest.raises(ValueError):
        Signal([], [])


# --------------------------------------------------------------------------- built-in profiles


def test_fr_2020_profile() -> None:
    s = build_signal("fr-2020", None, CARBON)
    assert s.times.size == 18_574
    assert np.all(np.diff(s.times) == 1800.0)
    assert s.period_s == 18_574 * 1800.0
    assert s.mean() == pytest.approx(56.72, abs=0.01)
    assert fr_carbon_2020() is fr_carbon_2020()  # parsed once per process
    recent = build_signal(ProfileSignal(profile="fr-2024"), None, CARBON)
    assert recent.mean() == pytest.approx(32.0)
    # 2019-12-20 -> 2020-03-01: 12 + 31 + 29 = 72 days
    march = build_signal(ProfileSignal(profile="fr-2020", start="2020-03-01"), None, CARBON)
    assert march.value_at(0) == s.value_at(72 * 86400)
    assert march.value_at(3600) == s.value_at(72 * 86400 + 3600)
    with pytest.raises(InputError, match="outside the series"):
        build_signal(ProfileSignal(profile="fr-2020", start="2022-01-01"), None, CARBON)


def test_day_ahead_shape() -> None:
    s = build_signal("day-ahead-fr", None, PRICE)
    assert s.period_s == 7 * 86400
    assert s.mean() == pytest.approx(58.0)
    hours = np.arange(24) * 3600.0
    monday = s.values_at(hours)
    assert 11 <= int(np.argmin(monday)) <= 15
    assert 19 <= int(np.argmax(monday)) <= 21
    sunday = s.values_at(hours + 6 * 86400)
    assert sunday.mean() < monday.mean()
    assert s.next_change_after(0) == 3600.0
    dearer = build_signal(ProfileSignal(profile="day-ahead-fr", rescale_mean=97), None, PRICE)
    assert dearer.mean() == pytest.approx(97.0)
    daily = build_signal(ProfileSignal(profile="day-ahead-fr", weekly=False), None, PRICE)
    assert daily.period_s == 86400 and daily.mean() == pytest.approx(58.0)
    # 2024-03-09 is a Saturday: time 0 maps to Saturday 00:00 of the weekly shape.
    saturday = build_signal(ProfileSignal(profile="day-ahead-fr", start="2024-03-09"), None, PRICE)
    assert saturday.value_at(0) == pytest.approx(day_ahead_fr().value_at(5 * 86400))


def test_constants_and_flat() -> None:
    assert build_signal(30.0, None, CARBON).value_at(1e6) == 30.0
    assert build_signal(-12.5, None, PRICE).value_at(0) == -12.5  # negative prices exist
    assert build_signal("flat", None, CARBON).value_at(0) == 32.0
    assert build_signal("flat", None, PRICE).value_at(0) == 58.0
    assert build_signal(ProfileSignal(profile="flat", rescale_mean=-3), None, PRICE).mean() == -3
    with pytest.raises(InputError, match="must be finite and >= 0"):
        build_signal(-1.0, None, CARBON)
    with pytest.raises(InputError, match="price profile"):
        build_signal("day-ahead-fr", None, CARBON)


# --------------------------------------------------------------------------- specs


def test_grid_spec_validation() -> None:
    grid = GridSpec.model_validate(
        {"carbon_g_per_kwh": "fr-2024", "price_eur_per_mwh": {"file": "p.csv"}}
    )
    assert grid.carbon_g_per_kwh == ProfileSignal(profile="fr-2024")
    assert grid.price_eur_per_mwh == FileSignal(file="p.csv")
    assert GridSpec.model_validate({"carbon_g_per_kwh": 30}).carbon_g_per_kwh == 30.0
    assert GridSpec.model_validate({"price_eur_per_mwh": -5}).price_eur_per_mwh == -5.0
    cases = [
        ({"carbon_g_per_kwh": -1}, "greater than or equal to 0"),
        ({"carbon_g_per_kwh": {"rows": 3}}, "expected a number, a profile name"),
        ({"carbon_g_per_kwh": "day-ahead-fr"}, "is a price profile"),
        ({"price_eur_per_mwh": "fr-2020"}, "is a carbon-intensity profile"),
        ({"carbon_g_per_kwh": {"file": "a.csv", "colour": 1}}, "Extra inputs"),
        ({"carbon_g_per_kwh": {"profile": "fr-2020", "start": "March"}}, "ISO date"),
        ({"carbon_g_per_kwh": {"profile": "flat", "weekly": True}}, "day-ahead-fr profile only"),
    ]
    for data, message in cases:
        with pytest.raises(ValidationError) as exc:
            GridSpec.model_validate(data)
        errors = exc.value.errors()
        assert len(errors) == 1, errors  # one clean message, no union noise
        assert message in errors[0]["msg"]


def test_build_grid_resolves_relative_files(tmp_path: Path) -> None:
    write(tmp_path, "t,eur\n0,10\n3600,30\n", "price.csv")
    grid = GridSpec.model_validate({"carbon_g_per_kwh": 20, "price_eur_per_mwh": {"file": "price.csv"}})
    carbon, price = build_grid(grid, tmp_path, "sites.0.grid")
    assert carbon is not None and carbon.value_at(0) == 20.0
    assert price is not None and price.value_at(4000) == 30.0 and price.period_s == 7200.0
    assert build_grid(None, tmp_path, "sites.0.grid") == (None, None)


# --------------------------------------------------------------------------- CSV files


def test_numeric_file(tmp_path: Path) -> None:
    path = write(tmp_path, "hour,other,gco2\n0,x,10\n1,x,20\n2,x,30\n3,x,40\n")
    spec = FileSignal(file=str(path), time_column="hour", value_column="gco2", time_unit="h")
    s = build_signal(spec, None, CARBON)
    assert s.times.tolist() == [0.0, 3600.0, 7200.0, 10800.0]
    assert s.period_s == 4 * 3600.0  # last - first + the median step
    assert s.value_at(4 * 3600 + 1) == 10.0  # repeats
    held = build_signal(spec.model_copy(update={"repeat": False}), None, CARBON)
    assert held.value_at(1e7) == 40.0
    scaled = build_signal(spec.model_copy(update={"rescale_mean": 50.0}), None, CARBON)
    assert scaled.mean() == pytest.approx(50.0)  # (10 + 20 + 30 + 40) / 4 = 25 -> x2
    assert scaled.values.tolist() == [20.0, 40.0, 60.0, 80.0]


def test_iso_file_and_gzip(tmp_path: Path) -> None:
    text = "# comment\nTime,Carbon Intensity\n2024-01-01 00:00,50\n2024-01-01 00:30,40\n" \
           "2024-01-01 01:00,30\n"
    path = tmp_path / "ci.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    s = build_signal(FileSignal(file="ci.csv.gz"), tmp_path, CARBON)
    assert s.times.tolist() == [0.0, 1800.0, 3600.0]
    assert s.values.tolist() == [50.0, 40.0, 30.0]


def test_gap_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "t,v\n0,1\n3600,1\n7200,1\n10800,1\n36000,1\n39600,1\n")
    with pytest.raises(InputError) as exc:
        build_signal(FileSignal(file=str(path)), None, CARBON)
    assert problems_of(exc) == [
        f"{path}:6: gap of 7 h after 10800 (line 5); the median step is 1 h"
    ]


def test_unsorted_and_duplicate_times(tmp_path: Path) -> None:
    path = write(tmp_path, "t,v\n0,1\n60,1\n60,2\n30,2\n120,3\n")
    with pytest.raises(InputError) as exc:
        build_signal(FileSignal(file=str(path)), None, PRICE)
    found = problems_of(exc)
    assert found[0] == f"{path}:4: duplicate time 60 (also at line 3)"
    assert found[1].startswith(f"{path}:5: time 30 is earlier than 60 on line 4")


def test_unparsable_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "t,v\n0,1\nsoon,2\n120,abc\n180\n240,nan\n300,inf\n")
    with pytest.raises(InputError) as exc:
        build_signal(FileSignal(file=str(path)), None, PRICE)
    assert problems_of(exc) == [
        f"{path}:3: column 't': cannot read 'soon' as a number",
        f"{path}:4: column 'v': cannot read 'abc' as a number",
        f"{path}:5: expected at least 2 columns, found 1",
        f"{path}:6: column 'v': value 'nan' is not finite",
        f"{path}:7: column 'v': value 'inf' is not finite",
    ]


def test_negative_carbon_but_not_price(tmp_path: Path) -> None:
    path = write(tmp_path, "t,v\n0,10\n60,-4\n120,5\n")
    with pytest.raises(InputError) as exc:
        build_signal(FileSignal(file=str(path)), None, CARBON)
    assert problems_of(exc) == [f"{path}:3: column 'v': carbon intensity must be >= 0 (got -4)"]
    assert build_signal(FileSignal(file=str(path)), None, PRICE).value_at(60) == -4.0


def test_empty_missing_and_bad_columns(tmp_path: Path) -> None:
    empty = write(tmp_path, "\n", "empty.csv")
    with pytest.raises(InputError) as exc:
        build_signal(FileSignal(file=str(empty)), None, CARBON)
    assert problems_of(exc)[0].startswith(f"{empty}: the file is empty")
    header_only = write(tmp_path, "t,v\n", "header.csv")
    with pytest.raises(InputError) as exc:
        build_signal(FileSignal(file=str(header_only)), None, CARBON)
    assert problems_of(exc) == [f"{header_only}:1: no data rows after the header"]
    with pytest.raises(InputError) as exc:
        build_signal(FileSignal(file="nowhere.csv"), tmp_path, CARBON)
    assert problems_of(exc) == [f"{CARBON}: file not found: {tmp_path / 'nowhere.csv'}"]
    good = write(tmp_path, "t,v\n0,1\n", "good.csv")
    with pytest.raises(InputError) as exc:
        build_signal(FileSignal(file=str(good), value_column="gco2"), None, CARBON)
    assert problems_of(exc) == [f"{good}:1: no value column 'gco2'; columns are: t, v"]
    iso = write(tmp_path, "t,v\n2024-01-01,1\n", "iso.csv")
    with pytest.raises(InputError, match="applies to numeric times"):
        build_signal(FileSignal(file=str(iso), time_unit="h"), None, CARBON)


def test_problem_list_is_capped(tmp_path: Path) -> None:
    rows = "".join(f"{i},bad\n" for i in range(30))
    path = write(tmp_path, "t,v\n" + rows)
    with pytest.raises(InputError) as exc:
        build_signal(FileSignal(file=str(path)), None, CARBON)
    found = problems_of(exc)
    assert len(found) == 21
    assert found[0] == f"{path}:2: column 'v': cannot read 'bad' as a number"
    assert found[-1] == f"{path}: ... 10 more problems"
