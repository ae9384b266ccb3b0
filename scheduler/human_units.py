"""Numbers for people: the CLI summary's durations, energy, mass and money.

Three significant figures at most, thousands separators, never an exponent
(``1.173e+05`` becomes ``117 k EUR``), and the unit a planner reads: seconds under a minute,
minutes under an hour, hours under two days, then days. For printing only; files keep SI
numbers.
"""

from __future__ import annotations

import math

__all__ = ["duration", "energy_mwh", "money_eur", "number", "tonnes"]


def number(value: float) -> str:
    """``value`` with three significant figures and thousands separators, no exponent
    (``0.0123``, ``1.23``, ``12.3``, ``123``, ``12,345``)."""
    if not math.isfinite(value):
        return str(value)
    size = abs(value)
    if size >= 100 or value == 0:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}" if size >= 1e-3 else f"{value:.2e}"


def duration(seconds: float) -> str:
    """``42 s``, ``12.5 min``, ``5.07 h`` (under two days), ``3.50 d``."""
    if not math.isfinite(seconds):
        return str(seconds)
    for unit, size, below in (("s", 1.0, 60.0), ("min", 60.0, 3600.0), ("h", 3600.0, 172800.0)):
        if abs(seconds) < below:
            return f"{number(seconds / size)} {unit}"
    return f"{number(seconds / 86400.0)} d"


def energy_mwh(mwh: float) -> str:
    """``850 kWh`` under 1 MWh, else ``245 MWh``, ``2,009 MWh`` (a planner's unit)."""
    if abs(mwh) < 1:
        return f"{number(mwh * 1000)} kWh"
    return f"{number(mwh)} MWh"


def tonnes(t: float) -> str:
    """``44.1 t`` CO2e; ``850 kg`` under a tonne."""
    if abs(t) < 1:
        return f"{number(t * 1000)} kg"
    return f"{number(t)} t"


def money_eur(eur: float) -> str:
    """``523 EUR``, ``117 k EUR``, ``1.48 M EUR``."""
    for prefix, size in (("M ", 1e6), ("k ", 1e3)):
        if abs(eur) >= size:
            return f"{number(eur / size)} {prefix}EUR"
    return f"{number(eur)} EUR"
