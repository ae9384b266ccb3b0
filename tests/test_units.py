"""Human units: what parses, what is refused and how the message reads."""

import math

import pytest

from scheduler.units import format_time, parse_power, parse_time


@pytest.mark.parametrize(("text", "seconds"), [
    (90, 90.0), (1.5, 1.5), ("90s", 90.0), ("2m", 120.0), ("5min", 300.0), ("2h", 7200.0),
    ("14d", 14 * 86400.0), ("1w", 7 * 86400.0), (" 1.5 h ", 5400.0), ("1e3s", 1000.0), ("0", 0.0),
    ("50ms", 0.05), ("2.5ms", 0.0025),
])
def test_times(text, seconds):
    assert parse_time(text) == seconds


@pytest.mark.parametrize(("text", "watts"), [
    (700, 700.0), ("700W", 700.0), ("2.5kW", 2500.0), ("500MW", 5e8), ("2GW", 2e9),
])
def test_power(text, watts):
    assert parse_power(text) == watts


@pytest.mark.parametrize(("text", "fragment"), [
    ("2q", "unknown time unit 'q'"), ("h2", "cannot read"), ("-1h", ">= 0"), (math.nan, "finite"),
    (math.inf, "finite"), (True, "expected a time"), ([1], "expected a time"), ("", "cannot read"),
])
def test_bad_times(text, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_time(text)


def test_bad_power_unit_names_the_units():
    with pytest.raises(ValueError, match="use one of W, kW, MW, GW"):
        parse_power("5mw")


def test_format_time():
    assert format_time(90) == "1.5m"
    assert format_time(7200) == "2h"
    assert format_time(3) == "3s"
