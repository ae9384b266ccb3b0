"""The trace replay pipeline: parse, filter, order-check or sort, and chunk.

Streaming contract: a file is read incrementally and never loaded whole. In ``check`` order
rows flow straight through (at most ``chunk_rows`` rows are held); in ``sort`` order rows are
collected in runs of ``chunk_rows``, each run is sorted and spilled to a temporary folder,
and the runs are merged (at most :data:`MAX_FAN_IN` at a time, reading :data:`BLOCK_ROWS`
rows of each), so memory stays bounded whatever the trace size.
"""

from __future__ import annotations

import csv
import heapq
import pickle
import tempfile
import zlib
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from scheduler.bounded_io import check_regular
from scheduler.errors import InputError
from scheduler.traces import azure_llm, dlrm, generic_csv, mooncake, openb, swf, tiresias
from scheduler.traces._base import (
    ADJUSTED,
    ARRIVAL,
    DURATION,
    FRACTION,
    GPU_TYPE,
    GPUS,
    KIND,
    LINE,
    N_FIXED,
    TENANT,
    BadValue,
    FormatInfo,
    ParseContext,
    Row,
)
from scheduler.traces.records import TraceChunk, TraceReport
from scheduler.traces.spec import TraceSpec

FORMATS: dict[str, FormatInfo] = {
    module.FORMAT.name: module.FORMAT
    for module in (tiresias, swf, openb, azure_llm, mooncake, dlrm, generic_csv)
}
"""Format name -> :class:`FormatInfo`."""

DEFAULT_CHUNK_ROWS = 65536
BLOCK_ROWS = 2048
"""Rows per pickled block of a spilled sort run (what the merge holds of each run)."""
MAX_FAN_IN = 64
"""Runs merged at once; more are first merged into longer runs."""

BEFORE_START = "before start"
AFTER_END = "at or after end"
BEYOND_LIMIT = "beyond limit"
OUT_OF_ORDER = "arrival out of order"


def resolve_trace_path(spec: TraceSpec, base_dir: Path | None = None) -> Path:
    """The trace file of ``spec``: relative paths are taken from ``base_dir``."""
    path = Path(spec.path).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    return path


def read_trace(spec: TraceSpec, base_dir: Path | None = None,
               chunk_rows: int = DEFAULT_CHUNK_ROWS) -> TraceReader:
    """Open a trace for replay: an iterator of :class:`TraceChunk` s of <= ``chunk_rows`` rows.

    The returned :class:`TraceReader` reads lazily; its ``report`` fills as chunks are taken
    and is complete once the iterator is exhausted. Raises :class:`InputError` at once for a
    missing file, and while iterating for a bad header or (``on_error: error``) a bad row.
    """
    return TraceReader(spec, resolve_trace_path(spec, base_dir), chunk_rows)


class TraceReader(Iterator[TraceChunk]):
    """One pass over a trace file. Iterate it (or its :meth:`chunks`) to get the chunks."""

    def __init__(self, spec: TraceSpec, path: Path, chunk_rows: int = DEFAULT_CHUNK_ROWS):
        if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
            raise ValueError(f"chunk_rows must be an integer >= 1 (got {chunk_rows!r})")
        if spec.format not in FORMATS:
            raise InputError(f"unknown trace format {spec.format!r}; known: "
                             f"{', '.join(FORMATS)}", "trace.format")
        if not path.exists():
            raise InputError(f"trace file not found ({spec.format} trace)", str(path))
        check_regular(path)  # not a directory, a FIFO, a device or a /proc file
        self.spec = spec
        self.path = path
        self.chunk_rows = chunk_rows
        self.format = FORMATS[spec.format]
        self.report = TraceReport(source=str(path), format=spec.format)
        if spec.order == "sort":
            self.sorting = True
        elif spec.order == "check":
            self.sorting = False
        else:
            self.sorting = not self.format.sorted_by_default
        self._chunks: Iterator[TraceChunk] | None = None

    # ---- iteration

    def chunks(self) -> Iterator[TraceChunk]:
        """The chunks (one pass: calling this again continues the same pass)."""
        if self._chunks is None:
            self._chunks = self._generate()
        return self._chunks

    def __iter__(self) -> TraceReader:
        return self

    def __next__(self) -> TraceChunk:
        return next(self.chunks())

    def close(self) -> None:
        """Stop reading and release the file and any temporary files."""
        if self._chunks is not None and hasattr(self._chunks, "close"):
            self._chunks.close()

    def __enter__(self) -> TraceReader:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # ---- pipeline

    def _generate(self) -> Iterator[TraceChunk]:
        ctx = ParseContext(self.spec, self.path, self.report)
        try:
            rows = self.format.parse(ctx)
            if self.sorting:
                yield from self._sorted(rows)
            else:
                yield from self._streamed(ctx, rows)
        except (OSError, EOFError, UnicodeDecodeError, csv.Error, zlib.error) as exc:
            where = f"{ctx.source}:{ctx.line + 1}" if ctx.line else ctx.source
            raise InputError(f"cannot read the trace: {exc}", where) from None
        self.report.complete = True

    def _streamed(self, ctx: ParseContext, rows: Iterable[Row]) -> Iterator[TraceChunk]:
        start, end, limit = self.spec.start, self.spec.end, self.spec.limit
        previous = float("-inf")
        buffer: list[Row] = []
        used = 0
        for row in rows:
            arrival = row[ARRIVAL]
            if arrival < previous:
                ctx.bad(row[LINE], BadValue(
                    self.format.arrival_column, arrival,
                    f"is earlier than the previous row's {previous:.10g} s: the trace is not "
                    "sorted by arrival (set order: sort to sort it)", reason=OUT_OF_ORDER))
                continue
            previous = arrival
            if end is not None and arrival >= end:
                break
            if arrival < start:
                self.report.skip(BEFORE_START)
                continue
            buffer.append(row)
            used += 1
            if len(buffer) >= self.chunk_rows:
                yield self._chunk(buffer)
                buffer = []
            if limit is not None and used >= limit:
                break
        if buffer:
            yield self._chunk(buffer)

    def _sorted(self, rows: Iterable[Row]) -> Iterator[TraceChunk]:
        start, end, limit = self.spec.start, self.spec.end, self.spec.limit
        with tempfile.TemporaryDirectory(prefix="clustersim-trace-") as folder:
            directory = Path(folder)
            runs: list[Path] = []
            buffer: list[Row] = []
            accepted = 0
            for row in rows:
                arrival = row[ARRIVAL]
                if arrival < start:
                    self.report.skip(BEFORE_START)
                    continue
                if end is not None and arrival >= end:
                    self.report.skip(AFTER_END)
                    continue
                buffer.append(row)
                accepted += 1
                if len(buffer) >= self.chunk_rows:
                    runs.append(_spill(buffer, directory, len(runs)))
                    buffer = []
            sources: list[Generator[Row, None, None]] = []
            if runs:
                if buffer:
                    runs.append(_spill(buffer, directory, len(runs)))
                    buffer = []
                while len(runs) > MAX_FAN_IN:
                    group, runs = runs[:MAX_FAN_IN], runs[MAX_FAN_IN:]
                    runs.append(_merge_to_file(group, directory, f"m{len(runs)}-{id(group)}"))
                sources = [_read_run(path) for path in runs]
                merged: Iterator[Row] = heapq.merge(*sources)
            else:
                buffer.sort()
                merged = iter(buffer)
            try:
                out: list[Row] = []
                used = 0
                for row in merged:
                    if limit is not None and used >= limit:
                        break
                    out.append(row)
                    used += 1
                    if len(out) >= self.chunk_rows:
                        yield self._chunk(out)
                        out = []
                if out:
                    yield self._chunk(out)
                if accepted > used:
                    self.report.skip(BEYOND_LIMIT, count=accepted - used)
            finally:
                for source in sources:
                    source.close()

    def _chunk(self, rows: list[Row]) -> TraceChunk:
        spec, fmt, report = self.spec, self.format, self.report
        columns = list(zip(*rows, strict=True))
        arrival = np.asarray(columns[ARRIVAL], dtype=np.float64)
        if spec.start:
            arrival = arrival - spec.start
        if spec.time_scale != 1.0:
            arrival = arrival * spec.time_scale
        duration = np.asarray(columns[DURATION], dtype=np.float64)
        if spec.duration_scale != 1.0:
            duration = duration * spec.duration_scale
        for rules in columns[ADJUSTED]:
            for rule in rules:
                report.adjust(rule)
        extra: dict[str, Any] = {}
        for offset, (name, dtype) in enumerate(fmt.extra):
            extra[name] = _array(columns[N_FIXED + offset], dtype)
        chunk = TraceChunk(
            arrival_s=arrival,
            gpus=np.asarray(columns[GPUS], dtype=np.int32),
            gpu_fraction=np.asarray(columns[FRACTION], dtype=np.float32),
            duration_s=duration,
            gpu_type=_array(columns[GPU_TYPE], object),
            tenant=_array(columns[TENANT], object),
            kind=_array(columns[KIND], object),
            line=np.asarray(columns[LINE], dtype=np.int64),
            extra=extra,
        )
        report.rows_read += len(rows)
        report.rows_used += len(rows)
        return chunk


def _array(values: tuple[Any, ...], dtype: Any) -> np.ndarray:
    if dtype is object:
        result = np.empty(len(values), dtype=object)
        result[:] = values
        return result
    return np.asarray(values, dtype=dtype)


def _spill(rows: list[Row], directory: Path, index: int) -> Path:
    """Sort ``rows`` and write them to a run file as pickled blocks."""
    rows.sort()
    path = directory / f"run{index}.pkl"
    with open(path, "wb") as handle:
        for begin in range(0, len(rows), BLOCK_ROWS):
            pickle.dump(rows[begin:begin + BLOCK_ROWS], handle, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def _read_run(path: Path) -> Generator[Row, None, None]:
    """Rows of a run file written by :func:`_spill` (our own temporary file), block by block."""
    with open(path, "rb") as handle:
        while True:
            try:
                block = pickle.load(handle)
            except EOFError:
                return
            yield from block


def _merge_to_file(paths: list[Path], directory: Path, name: str) -> Path:
    """Merge sorted runs into one longer run file, deleting the inputs."""
    out = directory / f"run{name}.pkl"
    sources = [_read_run(path) for path in paths]
    block: list[Row] = []
    with open(out, "wb") as handle:
        for row in heapq.merge(*sources):
            block.append(row)
            if len(block) >= BLOCK_ROWS:
                pickle.dump(block, handle, protocol=pickle.HIGHEST_PROTOCOL)
                block = []
        if block:
            pickle.dump(block, handle, protocol=pickle.HIGHEST_PROTOCOL)
    for path in paths:
        path.unlink()
    return out
