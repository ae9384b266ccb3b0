"""What a site's ``grid:`` block may say: the pydantic specs of carbon and price signals.

A signal is a constant, a built-in profile name, ``{profile: NAME, ...}`` or ``{file: PATH,
...}`` (a CSV of time, value). Validation only: :mod:`scheduler.signals.build` turns a spec
into a :class:`~scheduler.signals.steps.Signal`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from scheduler.scenario_base import StrictModel  # not .scenario, which will import GridSpec

MAX_VALUE = 1e6
"""Largest carbon intensity (g/kWh) or price magnitude (EUR/MWh) accepted: real ones stay
below 2,000 and 5,000; beyond, energy x value products could overflow to infinity."""

ProfileName = Literal["fr-2020", "fr-2024", "day-ahead-fr", "flat"]
CARBON_PROFILES: tuple[str, ...] = ("fr-2020", "fr-2024", "flat")
PRICE_PROFILES: tuple[str, ...] = ("day-ahead-fr", "flat")

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


def _check_date(value: str) -> str:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"expected a date such as 2020-01-27 (got {value!r})") from None
    if len(value) != 10:
        raise ValueError(f"expected a date YYYY-MM-DD without a time (got {value!r}): "
                         "simulation time 0 is 00:00 local time of that date")
    return value


StartDate = Annotated[str, BeforeValidator(_date_text), AfterValidator(_check_date)]
"""A scenario's ``start``: an ISO date (YAML's unquoted 2020-01-27 is accepted too)."""


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
    """Date (or date and time) that simulation time 0 maps to, for this signal only.
    ``fr-2020``/``fr-2024``: a moment from 2019-12-20 to 2021-01-09; ``day-ahead-fr``: its
    weekday and hour set the phase of the weekly shape. Default: the scenario's ``start``
    (00:00 local time of that date, weekdays aligned)."""
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
