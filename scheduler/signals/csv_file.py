"""Reading a signal series from a CSV file (``.csv`` or ``.csv.gz``) with a header row.

:func:`read_signal_csv` returns the series as a :class:`~scheduler.signals.steps.Signal`
(repeated with its own length unless ``repeat: false``), or raises one
:class:`~scheduler.errors.InputError` listing every problem found (unreadable rows, unsorted or
duplicate times, gaps, NaN, negative carbon...), each located at ``FILE:LINE``, at most
:data:`MAX_PROBLEMS` of them. The file is read through :mod:`scheduler.bounded_io`, within
:data:`SIGNAL_FILE_LIMITS`. Rescaling is the caller's job (:mod:`scheduler.signals.build`).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from scheduler.bounded_io import ReadLimits, read_text
from scheduler.errors import InputError, Problem
from scheduler.signals.specs import MAX_VALUE, FileSignal
from scheduler.signals.steps import HOUR_S, FloatArray, Signal
from scheduler.units import TIME_UNITS_S

MAX_SIGNAL_FILE_BYTES = 256 * 1024 * 1024
"""Largest signal CSV read (after decompression): ~ 10 M rows, far above any real series."""
MAX_SIGNAL_FILE_LINES = 20_000_000
"""Most lines a signal CSV may have: 10 M rows of 30-min steps cover 570 years."""
SIGNAL_FILE_LIMITS = ReadLimits(MAX_SIGNAL_FILE_BYTES, MAX_SIGNAL_FILE_LINES, "signal files")
GAP_FACTOR = 3.0
"""A step longer than this many times the median step is a gap in the data."""
MAX_PROBLEMS = 20
"""Problems listed for one file; the rest are counted in a last line."""
MAX_TIME_S = 1e12
"""Largest time magnitude in a series file (31,700 years)."""


class _Problems:
    """Problems of one file, kept in line order."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.items: list[tuple[int, Problem]] = []

    def add(self, line: int | None, message: str) -> None:
        where = self.display if line is None else f"{self.display}:{line}"
        self.items.append((line or 0, Problem(where, message)))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        ordered = [p for _, p in sorted(self.items, key=lambda item: item[0])]
        if len(ordered) > MAX_PROBLEMS:
            more = len(ordered) - MAX_PROBLEMS
            ordered = [*ordered[:MAX_PROBLEMS], Problem(self.display, f"... {more} more problems")]
        raise InputError(ordered)


class _RowRejected(Exception):
    """The row being read has a problem (already recorded) and is left out."""


def _is_data(row: Sequence[str]) -> bool:
    """Neither blank nor a ``#`` comment."""
    return bool(row) and any(cell.strip() for cell in row) and not row[0].lstrip().startswith("#")


class _Rows:
    """Times and values of the data rows, read one by one, problems recorded per line.

    Times are numeric (in ``time_unit``) or ISO timestamps (seconds from the first one); the
    first row whose time parses decides which, for the whole file.
    """

    def __init__(self, spec: FileSignal, header: list[str], columns: tuple[int, int],
                 kind: str | None, problems: _Problems) -> None:
        self.time_index, self.value_index = columns
        self.time_name, self.value_name = header[self.time_index], header[self.value_index]
        self.needed = max(columns) + 1
        self.unit = TIME_UNITS_S[spec.time_unit or "s"]
        self.kind = kind
        self.problems = problems
        self.mode: str | None = None
        """``"number"`` or ``"iso"`` once a time has been read."""
        self.first_stamp: datetime | None = None
        self.times: list[float] = []
        self.labels: list[str] = []
        self.lines: list[int] = []
        self.values: list[float] = []

    def add(self, row: list[str], line: int) -> None:
        """Read one data row; a row whose time cannot be used is left out."""
        try:
            if len(row) < self.needed:
                self._reject(line, f"expected at least {self.needed} columns, found {len(row)}")
            cell = row[self.time_index].strip()
            seconds = self._seconds(cell, line)
        except _RowRejected:
            return
        self.times.append(seconds)
        self.labels.append(cell)
        self.lines.append(line)
        self.values.append(self._value(row[self.value_index].strip(), line))

    def _reject(self, line: int, message: str) -> NoReturn:
        self.problems.add(line, message)
        raise _RowRejected

    def _seconds(self, cell: str, line: int) -> float:
        seconds: float | None = None
        if self.mode != "iso":
            try:
                seconds = float(cell) * self.unit
                self.mode = "number"
            except ValueError:
                seconds = None
        if seconds is None and self.mode != "number":
            seconds = self._timestamp(cell, line)
        if seconds is None:
            expected = {"number": "a number", "iso": "an ISO timestamp"}.get(
                self.mode or "", "a number or an ISO timestamp")
            self._reject(line, f"column {self.time_name!r}: cannot read {cell!r} as {expected}")
        if not math.isfinite(seconds):
            self._reject(line, f"column {self.time_name!r}: time {cell!r} is not finite")
        if abs(seconds) > MAX_TIME_S:
            self._reject(line, f"column {self.time_name!r}: time {cell!r} is beyond "
                               f"{MAX_TIME_S:g} s")
        return seconds

    def _timestamp(self, cell: str, line: int) -> float | None:
        """Seconds from the first timestamp, or None when ``cell`` is not ISO."""
        try:
            stamp = datetime.fromisoformat(cell)
        except ValueError:
            return None
        if self.first_stamp is None:
            self.first_stamp, self.mode = stamp, "iso"
        if (stamp.tzinfo is None) != (self.first_stamp.tzinfo is None):
            self._reject(line, f"column {self.time_name!r}: timestamp {cell!r} "
                               f"{'lacks' if stamp.tzinfo is None else 'has'} a time "
                               "zone, unlike the first row")
        return (stamp - self.first_stamp).total_seconds()

    def _value(self, raw: str, line: int) -> float:
        """The value (NaN when unreadable); a bad value is a problem but keeps its row, so
        that order and gap checks still see the row's time."""
        name = self.value_name
        try:
            value = float(raw)
        except ValueError:
            self.problems.add(line, f"column {name!r}: cannot read {raw!r} as a number")
            return math.nan
        if not math.isfinite(value):
            self.problems.add(line, f"column {name!r}: value {raw!r} is not finite")
        elif abs(value) > MAX_VALUE:
            self.problems.add(line, f"column {name!r}: value {raw!r} is beyond +-{MAX_VALUE:g}")
        elif self.kind == "carbon" and value < 0:
            self.problems.add(line, f"column {name!r}: carbon intensity must be >= 0 "
                                    f"(got {raw})")
        return value


def _column(header: Sequence[str], name: str | None, default: int, role: str,
            problems: _Problems) -> int | None:
    if name is None:
        if default < len(header):
            return default
        problems.add(1, f"needs a {role} column (column {default + 1}); the header has "
                        f"{len(header)}: {', '.join(header)}")
        return None
    if name in header:
        return header.index(name)
    problems.add(1, f"no {role} column {name!r}; columns are: {', '.join(header)}")
    return None


def _hours(seconds: float) -> str:
    return f"{seconds / HOUR_S:.3g} h"


def _csv_rows(reader: Any, display: str) -> Iterator[list[str]]:
    """The reader's rows; a malformed CSV (a field over the csv module's limit...) is an input
    error at its line."""
    try:
        yield from reader
    except csv.Error as exc:
        raise InputError(f"cannot read the CSV: {exc}", f"{display}:{reader.line_num}") from None


def _header(rows: Iterator[list[str]], reader: Any, display: str) -> tuple[list[str], int]:
    """The first data row, stripped, and its line."""
    for row in rows:
        if _is_data(row):
            return [cell.strip() for cell in row], reader.line_num
    raise InputError("the file is empty; expected a header row, then rows of time, value",
                     display)


def _check_steps(t: FloatArray, rows: _Rows, problems: _Problems) -> float:
    """Record unsorted and duplicate times and gaps; return the median positive step."""
    labels, lines = rows.labels, rows.lines
    steps = np.diff(t)
    for i in np.flatnonzero(steps <= 0):
        here, before = int(i) + 1, int(i)
        if steps[i] == 0:
            problems.add(lines[here], f"duplicate time {labels[here]} "
                                      f"(also at line {lines[before]})")
        else:
            problems.add(lines[here], f"time {labels[here]} is earlier than "
                                      f"{labels[before]} on line {lines[before]} (rows must "
                                      "be sorted by time)")
    positive = steps[steps > 0]
    median = float(np.median(positive)) if positive.size else math.nan
    if positive.size >= 2:
        for i in np.flatnonzero(steps > GAP_FACTOR * median):
            here, before = int(i) + 1, int(i)
            problems.add(lines[here], f"gap of {_hours(float(steps[i]))} after "
                                      f"{labels[before]} (line {lines[before]}); the median "
                                      f"step is {_hours(median)}")
    return median


def resolve_signal_path(file: str, base_dir: Path | None) -> Path:
    """``file`` with ``~`` expanded, relative to ``base_dir`` when given and not absolute."""
    path = Path(file).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return path


def read_signal_csv(spec: FileSignal, base_dir: Path | None, what: str,
                    kind: str | None) -> Signal:
    """The series of ``spec.file`` (not rescaled); ``what`` locates file-level errors.

    ``kind`` ``"carbon"`` refuses negative values. Raises :class:`InputError` with every
    problem found.
    """
    path = resolve_signal_path(spec.file, base_dir)
    display = str(path)
    text = read_text(path, SIGNAL_FILE_LIMITS, field=what, encoding="utf-8-sig",
                     expected="CSV text")
    problems = _Problems(display)
    reader = csv.reader(io.StringIO(text, newline=""))  # a lone \r ends a line, as in files
    rows = _csv_rows(reader, display)
    header, header_line = _header(rows, reader, display)
    time_index = _column(header, spec.time_column, 0, "time", problems)
    value_index = _column(header, spec.value_column, 1, "value", problems)
    if time_index is None or value_index is None:
        problems.raise_if_any()
    assert time_index is not None and value_index is not None
    series = _Rows(spec, header, (time_index, value_index), kind, problems)
    for row in rows:
        if _is_data(row):
            series.add(row, reader.line_num)
    if series.mode == "iso" and spec.time_unit is not None:
        problems.add(header_line, f"time_unit {spec.time_unit!r} applies to numeric times; "
                                  f"column {series.time_name!r} holds timestamps")
    if not series.times and not problems.items:
        raise InputError("no data rows after the header", f"{display}:{header_line}")
    t = np.asarray(series.times, dtype=np.float64)
    median = _check_steps(t, series, problems)
    problems.raise_if_any()
    period = float(t[-1] - t[0] + median) if (spec.repeat and t.size > 1) else None
    return Signal(t, np.asarray(series.values, dtype=np.float64), period, display)
