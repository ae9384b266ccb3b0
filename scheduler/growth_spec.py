"""What a scenario may say about demand growth: the schema of a growth table by date.

A table is a list of rows ``{since: WHEN, factor: F}``: from ``since`` on (until the next
row) the workload's rate is multiplied by ``F``; before the first row the factor is 1.
``since`` is a calendar date (``2028-01-01``: 00:00 Europe/Paris of that day, placed on the
scenario's ``start`` calendar) or a time offset from simulation time 0 (``365d``).
Validation only: :mod:`scheduler.growth` turns a table into a rate curve.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, TypeVar

from pydantic import BeforeValidator, Field, WithJsonSchema

from scheduler.scenario_base import StrictModel
from scheduler.units import parse_time

MAX_GROWTH_FACTOR = 1e6
"""Largest factor of a table row: beyond a million-fold, a rate typo rather than a forecast."""
MAX_GROWTH_ROWS = 10_000
"""Rows of one table: a monthly table over 800 years; more is a generated file gone wrong."""
FIRST_DATE, LAST_DATE = date(1900, 1, 1), date(2199, 12, 31)
"""Dates a table may give: a planning horizon, with room either side."""
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SINCE_SCHEMA = {
    "anyOf": [
        {"type": "string", "format": "date"},
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": r"^\s*[0-9.eE+-]+\s*(s|sec|m|min|h|d|w)?\s*$"},
    ],
    "description": 'a date (2028-01-01, 00:00 Europe/Paris) or a time from the start ("365d")',
}


def _in_range(day: date) -> str:
    if not FIRST_DATE <= day <= LAST_DATE:  # beyond, time zone arithmetic overflows
        raise ValueError(f"dates run from {FIRST_DATE} to {LAST_DATE} (got {day})")
    return day.isoformat()


def _since_value(value: Any) -> str | float:
    """An ISO date stays text (resolved against ``start`` later); anything else is a time."""
    if isinstance(value, date):  # YAML reads an unquoted 2028-01-01 as a date
        return _in_range(value)
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        try:
            day = date.fromisoformat(value.strip())
        except ValueError as error:
            raise ValueError(f"not a calendar date (got {value!r}): {error}") from None
        return _in_range(day)
    try:
        return parse_time(value)
    except ValueError as error:
        raise ValueError(f"expected a date such as 2028-01-01 or a time from the start such "
                         f"as 365d ({error})") from None


Since = Annotated[str | float, BeforeValidator(_since_value), WithJsonSchema(_SINCE_SCHEMA)]
"""When a growth row starts: an ISO date (text) or seconds from simulation time 0."""


class GrowthRow(StrictModel):
    """One row of a growth table: the rate factor from ``since`` until the next row."""

    since: Since
    """When the factor starts: a date (``2028-01-01``, 00:00 Europe/Paris, on the
    scenario's ``start`` calendar) or a time from the start (``365d``)."""
    factor: float = Field(ge=0, le=MAX_GROWTH_FACTOR, allow_inf_nan=False)
    """Multiplier of the workload's rate from ``since`` on (1 = the rate as written; 0 = no
    demand, e.g. before a launch)."""


GrowthTable = Annotated[list[GrowthRow], Field(min_length=1, max_length=MAX_GROWTH_ROWS)]
"""Rows in increasing ``since`` order (checked once dates are placed on the calendar)."""


_Model = TypeVar("_Model", bound=StrictModel)


def one_growth(model: _Model) -> _Model:
    """After-validator of a block with ``growth_per_year`` and ``growth_by_date``: one or the
    other, not both (which would be ambiguous: does the table replace the compounding, or
    scale it?)."""
    per_year = getattr(model, "growth_per_year")  # noqa: B009 (any block with both fields)
    if per_year != 0 and getattr(model, "growth_by_date") is not None:  # noqa: B009
        raise ValueError(f"give growth_per_year ({per_year:g}) or growth_by_date, not "
                         "both: a table gives the factor at each date itself (write the "
                         "compounded factors into its rows)")
    return model
