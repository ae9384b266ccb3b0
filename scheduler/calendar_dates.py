"""Calendar dates in a scenario's timeline, resolved against the scenario's ``start``.

A timeline field (a node group's ``online`` / ``offline``, a swap's ``at``, a power-cap step's
``from``) is either an offset (seconds or ``"180d"``, from simulation time 0) or a calendar
date: ``2027-12-31`` (00:00 local time) or ``2027-12-31T06:00`` (local time unless an offset
such as ``+01:00`` is given), local time being Europe/Paris like the scenario's ``start``.
A date is turned into seconds after ``start`` 00:00 local time as elapsed time (a daylight
saving change in between counts its real hour).

Validation needs the scenario's ``start`` while it checks a node group deep inside: the
scenario's validator puts it in :data:`_START` for the time of its own validation
(:func:`start_in_force`), and the field validators read it. Outside a scenario (a NodeGroup
built alone), dates resolve against :data:`~scheduler.signals.dates.DEFAULT_START`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

from scheduler.signals.dates import DEFAULT_START, LOCAL_ZONE, local_midnight_utc, parse_start
from scheduler.units import parse_time

__all__ = ["Moment", "calendar_fields", "date_text", "is_calendar", "resolve", "start_in_force"]

_START: ContextVar[date] = ContextVar("scenario_start", default=DEFAULT_START)
_ISO = re.compile(r"^\s*\d{4}-\d{2}-\d{2}([T ]\S+)?\s*$")


@contextmanager
def start_in_force(raw_start: Any) -> Iterator[date]:
    """Resolve dates against ``raw_start`` (a scenario's ``start`` as written) meanwhile; an
    unreadable start falls back to the default (the ``start`` field reports it)."""
    try:
        start = parse_start(raw_start) if raw_start is not None else DEFAULT_START
    except (TypeError, ValueError):
        start = DEFAULT_START
    token = _START.set(start)
    try:
        yield start
    finally:
        _START.reset(token)


def is_calendar(value: Any) -> bool:
    """Is ``value`` a calendar date or datetime (YAML's unquoted one, or ISO text)?"""
    return isinstance(value, date) or (isinstance(value, str) and bool(_ISO.match(value)))


def _moment(value: Any) -> datetime:
    """An aware datetime for a date or datetime, naive ones in local time."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"cannot read {value!r} as a date; write e.g. 2027-12-31 or "
                             "2027-12-31T06:00 (local time), or an offset such as 180d") from None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value if value.tzinfo is not None else value.replace(tzinfo=LOCAL_ZONE)


def resolve(value: Any, start: date | None = None) -> float:
    """Seconds from ``start`` 00:00 local time to ``value`` (negative when before it); an
    offset (a number, ``"180d"``) is returned as its seconds."""
    if not is_calendar(value):
        return parse_time(value)
    origin = local_midnight_utc(start if start is not None else _START.get())
    return (_moment(value).astimezone(UTC).replace(tzinfo=None) - origin).total_seconds()


def date_text(seconds: float, start: date) -> str:
    """The local date (``2027-12-31``, or ``2027-12-31 06:00`` off midnight) ``seconds`` after
    ``start`` 00:00: the inverse of :func:`resolve`, for printing."""
    moment = (local_midnight_utc(start) + timedelta(seconds=seconds)).replace(
        tzinfo=UTC).astimezone(LOCAL_ZONE)
    if (moment.hour, moment.minute, moment.second) == (0, 0, 0):
        return moment.date().isoformat()
    return moment.strftime("%Y-%m-%d %H:%M")


def calendar_fields(data: dict[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    """The fields of ``names`` written as calendar dates in ``data``, as ISO text."""
    return {name: _written(data[name]) for name in names
            if name in data and is_calendar(data[name])}


def _written(value: Any) -> str:
    if isinstance(value, datetime) and value.second == 0 and value.microsecond == 0:
        return value.isoformat(timespec="minutes")
    return value.isoformat() if isinstance(value, date) else str(value).strip()


def moment_seconds(value: Any) -> float:
    """A moment of the timeline: negative for a date before ``start`` (a group built, or
    retired, before the simulated period); the timeline clips service windows to time 0
    (:func:`scheduler.timeline.group_windows`), so the order of dates is kept as written."""
    return resolve(value)


_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": r"^\s*[0-9.eE+-]+\s*(s|sec|m|min|h|d|w)?\s*$"},
        {"type": "string", "format": "date"},
        {"type": "string", "format": "date-time"},
    ],
    "description": 'an offset from time 0 ("180d", seconds) or a calendar date '
                   '(2027-12-31, local time Europe/Paris) resolved against the scenario start',
}

Moment = Annotated[float, BeforeValidator(moment_seconds), WithJsonSchema(_SCHEMA)]
"""A time in seconds from time 0, written as an offset or a calendar date (negative before
the scenario's ``start``: in effect, time 0)."""
