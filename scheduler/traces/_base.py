"""Machinery shared by the format readers: files, value parsing, bad rows, row tuples.

A format module converts each source record into a *row* tuple::

    (arrival, line, gpus, gpu_fraction, duration, gpu_type, tenant, kind, adjusted, *extra)

``arrival`` and ``duration`` are in trace seconds (before ``start``, ``time_scale`` and
``duration_scale``), ``adjusted`` is a tuple of the adjustment rules applied to the row
(committed to the report only if the row is used) and ``extra`` follows the format's
:attr:`FormatInfo.extra` columns. Tuples sort by (arrival, line): the order of a replay.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, TypeVar

from scheduler import bounded_io
from scheduler.errors import InputError, Problem
from scheduler.safetext import excerpt
from scheduler.traces.records import TraceReport
from scheduler.traces.spec import TraceSpec
from scheduler.units import MAX_TIME_S

Row = tuple[Any, ...]
ARRIVAL, LINE, GPUS, FRACTION, DURATION, GPU_TYPE, TENANT, KIND, ADJUSTED = range(9)
N_FIXED = 9

T = TypeVar("T")

ROUNDED_SHARE = "GPU share rounded up to one whole GPU"
ROUNDED_COUNT = "fractional GPU count rounded up"
ZERO_DURATION = "zero duration set to zero_duration"

_MISSING = {"", "nan", "NaN", "NAN", "null", "None", "NA", "N/A"}


class BadValue(Exception):
    """A malformed field: the column, the raw value and what is wrong with it."""

    def __init__(self, column: str, value: object, message: str, reason: str | None = None):
        super().__init__(message)
        self.column = column
        self.value = value
        self.message = message
        self.reason = reason or f"invalid {column}"

    def describe(self) -> str:
        return f"{self.column}: {self.message} (got {self.value!r})"


class RowSkipped(Exception):
    """A well-formed row that the replay does not use (CPU-only pod...), not an error."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class FormatInfo:
    """One trace format: its defaults, its extra columns and its parser."""

    name: str
    kind: str
    """Default job kind."""
    arrival_column: str
    """Source column of the arrival time (named in out-of-order messages)."""
    extra: tuple[tuple[str, Any], ...]
    """(name, numpy dtype) of the format-specific columns, in row order."""
    sorted_by_default: bool
    """False when ``order: auto`` must sort the file."""
    parse: Callable[[ParseContext], Iterator[Row]]


MAX_TRACE_BYTES = 64 * 1024**3
"""Most bytes of one trace file (after decompression). Traces are streamed, so this bounds
time, not memory: the largest public traces supported here are a few GB."""
MAX_TRACE_LINES = 500_000_000
"""Most lines of one trace file: 100 times the largest public trace supported here."""
TRACE_FILE_LIMITS = bounded_io.ReadLimits(MAX_TRACE_BYTES, MAX_TRACE_LINES, "trace files")


def open_text(path: Path) -> TextIO:
    """Open a text trace, decompressing ``.gz`` files; a UTF-8 BOM is dropped.

    Read through :mod:`scheduler.bounded_io` within :data:`TRACE_FILE_LIMITS` (and its bound on
    the decompression ratio); only regular files are opened.
    """
    return bounded_io.open_text(path, TRACE_FILE_LIMITS)


# --------------------------------------------------------------------------- values


def is_missing(text: str) -> bool:
    return text.strip() in _MISSING


def number(text: str, column: str) -> float:
    """A finite float, or :class:`BadValue`."""
    stripped = text.strip()
    if not stripped:
        raise BadValue(column, text, "is empty")
    try:
        value = float(stripped)
    except ValueError:
        raise BadValue(column, text, "is not a number") from None
    if not math.isfinite(value):
        raise BadValue(column, text, "must be a finite number")
    return value


def optional_number(text: str, column: str) -> float | None:
    """A finite float, or None for an empty/NaN field."""
    return None if is_missing(text) else number(text, column)


def time_point(text: str, column: str) -> float:
    """A time >= 0 in seconds (a number), or :class:`BadValue`."""
    value = number(text, column)
    if value < 0:
        raise BadValue(column, text, "must be >= 0")
    return value


INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


def integer(text: str, column: str, minimum: int | None = None,
            maximum: int = INT64_MAX) -> int:
    """A whole number (``3`` or ``3.0``) from ``minimum`` to ``maximum`` (default: what an
    int64 column holds), or :class:`BadValue`."""
    value = number(text, column)
    if not value.is_integer():
        raise BadValue(column, text, "must be a whole number")
    result = int(value)
    if minimum is not None and result < minimum:
        raise BadValue(column, text, f"must be >= {minimum}")
    if result > maximum:
        raise BadValue(column, text, f"must be <= {maximum:,}")
    return result


# --------------------------------------------------------------------------- context


class ParseContext:
    """What a format parser needs: the spec, the file, the report, and bad-row handling."""

    def __init__(self, spec: TraceSpec, path: Path, report: TraceReport) -> None:
        self.spec = spec
        self.path = path
        self.source = str(path)
        self.report = report
        self.line = 0
        self._pending: list[str] = []

    def open(self) -> TextIO:
        return open_text(self.path)

    def where(self, line: int) -> str:
        return f"{self.source}:{line}"

    def fail(self, line: int, message: str) -> InputError:
        """An error about the whole file (bad header...), to raise."""
        return InputError([Problem(self.where(line), message)])

    def bad(self, line: int, exc: BadValue) -> None:
        """A malformed row: raise (``on_error: error``) or count it as skipped."""
        message = exc.describe()
        if self.spec.on_error == "error":
            raise InputError([Problem(self.where(line), message)])
        self.report.skip(exc.reason, f"{self.where(line)}: {message}")

    # ---- rows

    def rows(self, records: Iterable[tuple[int, T]],
             convert: Callable[[int, T], Row]) -> Iterator[Row]:
        """Convert records to rows, routing bad and skipped ones to the report."""
        for line, record in records:
            self.line = line
            self._pending = []
            try:
                row = convert(line, record)
            except BadValue as exc:
                self.bad(line, exc)
                continue
            except RowSkipped as exc:
                self.report.skip(exc.reason)
                continue
            yield row

    def row(self, line: int, arrival: float, gpus: int, fraction: float, duration: float,
            gpu_type: str, tenant: str, kind: str, *extra: Any) -> Row:
        """Build a row tuple carrying the adjustments noted while converting it."""
        for column, value in (("arrival time", arrival), ("duration", duration)):
            if not value <= MAX_TIME_S:  # also NaN
                raise BadValue(column, value, f"is beyond {MAX_TIME_S:g} s")
        adjusted = tuple(self._pending) if self._pending else ()
        return (arrival, line, gpus, fraction, duration, gpu_type, tenant, kind, adjusted,
                *extra)

    def note(self, rule: str) -> None:
        """Record an adjustment of the row being converted."""
        self._pending.append(rule)

    # ---- shared conversions

    def gpus(self, count: float, column: str, raw: object) -> tuple[int, float]:
        """(whole GPUs, fraction) from a possibly fractional positive GPU count."""
        if not count > 0:
            raise BadValue(column, raw, "must be > 0")
        if count < 1.0:
            if self.spec.fractional_gpus == "share":
                return 1, float(count)
            self.note(ROUNDED_SHARE)
            return 1, 1.0
        whole = math.ceil(count - 1e-9)
        if abs(whole - count) > 1e-9:
            self.note(ROUNDED_COUNT)
        if whole > 1_000_000:
            raise BadValue(column, raw, "is more than 1,000,000 GPUs")
        return whole, 1.0

    def duration(self, value: float, column: str, raw: object) -> float:
        """A duration >= 0 in seconds; 0 becomes ``zero_duration`` (noted)."""
        if not math.isfinite(value):
            raise BadValue(column, raw, "must be a finite duration")
        if value < 0:
            raise BadValue(column, raw, "must be >= 0 (a negative duration)")
        if value == 0:
            self.note(ZERO_DURATION)
            return self.spec.zero_duration
        return value

    def request_duration(self, input_tokens: int, output_tokens: int) -> float:
        """Service time of one LLM request: ``default_duration`` or the token estimate."""
        if self.spec.default_duration is not None:
            return self.spec.default_duration
        estimate = (input_tokens / self.spec.prefill_tokens_per_s
                    + output_tokens * self.spec.decode_s_per_token)
        if estimate <= 0:
            self.note(ZERO_DURATION)
            return self.spec.zero_duration
        return estimate

    # ---- CSV

    def csv_records(self, handle: TextIO, required: Sequence[str],
                    optional: Sequence[str] = (), known: Sequence[str] = ()
                    ) -> tuple[dict[str, int], Iterator[tuple[int, list[str]]]]:
        """Check the header and return (column -> index, records with their lines).

        ``required`` columns must be present; ``optional`` and ``known`` ones may be; any
        other column is listed in the report's notes and ignored. Blank lines are skipped;
        a row with the wrong number of fields is a bad row.
        """
        reader = csv.reader(handle)
        header: list[str] | None = None
        for fields in reader:
            if fields and any(f.strip() for f in fields):
                header = [f.strip() for f in fields]
                break
        if header is None:
            raise self.fail(1, "the file is empty (a header line is required)")
        header_line = reader.line_num
        index: dict[str, int] = {}
        for position, name in enumerate(header):
            if name in index:
                raise self.fail(header_line, f"column {name!r} appears twice in the header")
            index[name] = position
        missing = [name for name in required if name not in index]
        if missing:
            raise self.fail(header_line,
                            f"missing column(s) {', '.join(missing)} in the header "
                            f"(found: {excerpt(', '.join(header))}); expected "
                            f"{', '.join([*required, *optional])}")
        ignored = [name for name in header if name not in {*required, *optional, *known}]
        if ignored:
            self.report.notes.append(f"columns ignored: {', '.join(ignored)}")
        width = len(header)

        def records() -> Iterator[tuple[int, list[str]]]:
            for fields in reader:
                line = reader.line_num
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue
                if len(fields) != width:
                    self.line = line
                    self.bad(line, BadValue(
                        "row", ",".join(fields)[:80],
                        f"expected {width} comma-separated fields, found {len(fields)}",
                        reason="wrong number of fields"))
                    continue
                yield line, fields

        return index, records()
