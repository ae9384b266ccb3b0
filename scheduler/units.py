"""Human units in scenario files, converted to SI (seconds, watts).

Times: a number of seconds, or a string with a unit ``s``, ``m``/``min``, ``h``, ``d``, ``w``
(``"90s"``, ``"2h"``, ``"1.5d"``). Power: watts, or a string with ``W``, ``kW``, ``MW``, ``GW``.
Every parser rejects NaN, infinity and negative values with a message naming the value.
"""

from __future__ import annotations

import math
import re

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_QUANTITY = re.compile(rf"^\s*({_NUMBER})\s*([A-Za-z]*)\s*$")

TIME_UNITS_S: dict[str, float] = {
    "": 1.0, "ms": 1e-3, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0,
    "d": 86400.0, "w": 7 * 86400.0,
}
POWER_UNITS_W: dict[str, float] = {"": 1.0, "W": 1.0, "kW": 1e3, "MW": 1e6, "GW": 1e9}
MAX_TIME_S = 1e12
"""Longest time accepted (31,700 years): beyond, sums of times x powers may overflow."""
MAX_POWER_W = 1e12
"""Largest power accepted (1 TW, an eighth of the world's generating capacity): beyond, it
is a unit slip, and sums of powers x times may overflow."""


def _parse(value: object, units: dict[str, float], kind: str, examples: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a {kind} such as {examples} (got {value!r})")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        match = _QUANTITY.match(value)
        if not match:
            raise ValueError(f"cannot read {value!r} as a {kind}; write e.g. {examples}")
        unit = match.group(2)
        if unit not in units:
            known = ", ".join(u for u in units if u)
            raise ValueError(f"unknown {kind} unit {unit!r} in {value!r}; use one of {known}")
        number = float(match.group(1)) * units[unit]
    else:
        raise ValueError(f"expected a {kind} such as {examples} (got {type(value).__name__})")
    if not math.isfinite(number):
        raise ValueError(f"{kind} must be finite (got {value!r})")
    if number < 0:
        raise ValueError(f"{kind} must be >= 0 (got {value!r})")
    return number


def parse_time(value: object) -> float:
    """Seconds from a number or a string like ``"2h"``, at most :data:`MAX_TIME_S`."""
    seconds = _parse(value, TIME_UNITS_S, "time", '3600, "90s", "2h", "14d"')
    if seconds > MAX_TIME_S:
        raise ValueError(f"time must be at most {MAX_TIME_S:g} s (got {value!r})")
    return seconds


def parse_power(value: object) -> float:
    """Watts from a number or a string like ``"500MW"``, at most :data:`MAX_POWER_W`."""
    watts = _parse(value, POWER_UNITS_W, "power", '700, "700W", "2.5kW", "500MW"')
    if watts > MAX_POWER_W:
        raise ValueError(f"power must be at most {MAX_POWER_W:g} W (got {value!r})")
    return watts


def format_time(seconds: float) -> str:
    """Short human form, for printing only."""
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.3g}{unit}"
    return f"{seconds:.3g}s"
