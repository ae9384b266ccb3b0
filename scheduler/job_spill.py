"""Streaming mode: job records and run segments go to Parquet as the run goes, so the
tables held in memory are bounded by the jobs alive, not by the jobs seen.

* :class:`SpillingJobTable` is a :class:`~scheduler.jobs.JobTable` whose columns live in
  anonymous memory maps (:mod:`scheduler.mapped_columns`). Rows come in blocks of
  ``block_rows``; when the table grows, every whole block whose jobs are all terminal
  (completed, rejected, failed: nothing reads them again during the run) is appended to
  ``job_rows.parquet`` with a ``job_id`` column and its memory released. Job ids stay
  global row indices: nothing in the engine changes.
* :class:`SpillingSegmentLog` appends its rows to ``segments.parquet`` every ``chunk_rows``
  rows and starts again from row 0 (segments are append-only; the run never reads them).
* :func:`materialize` reads both files back at the end (in job id / log order) into plain
  tables, so the summary is built by the same code as in memory: identical results.

Blocks are retired when the table grows by a block and each time a chunk of segments is
written. Resident rows during a run: the blocks that hold at least one job still pending,
running or not yet arrived (sources add a chunk of up to 65,536 future arrivals at a time),
plus the blocks that ended since the last retirement, plus the last ``chunk_rows`` segments.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from scheduler.errors import InputError
from scheduler.jobs import GrowableTable, JobTable, SegmentLog, Status
from scheduler.mapped_columns import PAGE, mapped_zeros, poison_value, release_rows

JOB_ROWS_FILE = "job_rows.parquet"
SEGMENTS_FILE = "segments.parquet"
BLOCK_ROWS = PAGE
"""Rows per released block: one page of the narrowest (int8) column, 8 pages of a float64."""
ROW_GROUP_ROWS = 65536
"""Rows per Parquet row group (pyarrow reads and writes a group at a time)."""
TERMINAL = np.array([Status.COMPLETED, Status.REJECTED, Status.FAILED], dtype=np.int8)


class ParquetRows:
    """Appends rows of fixed columns to one Parquet file, a row group at a time."""

    def __init__(self, path: Path, columns: dict[str, np.dtype], row_group_rows: int) -> None:
        self.path = path
        self.schema = pa.schema([(name, pa.from_numpy_dtype(dtype))
                                 for name, dtype in columns.items()])
        self._writer = pq.ParquetWriter(path, self.schema)
        self._pending: list[dict[str, np.ndarray]] = []
        self._pending_rows = 0
        self._row_group_rows = row_group_rows
        self.rows = 0

    def append(self, columns: dict[str, np.ndarray]) -> None:
        """Queue copies of these rows; write a row group once enough are queued."""
        rows = len(next(iter(columns.values())))
        self._pending.append({name: np.array(values) for name, values in columns.items()})
        self._pending_rows += rows
        self.rows += rows
        if self._pending_rows >= self._row_group_rows:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        arrays = [pa.array(np.concatenate([p[name] for p in self._pending]))
                  for name in self.schema.names]
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema),
                                 row_group_size=self._row_group_rows)
        self._pending, self._pending_rows = [], 0

    def close(self) -> None:
        self._flush()
        self._writer.close()


class SpillingJobTable(JobTable):
    """A job table that writes and releases blocks of terminal jobs when it grows."""

    def __init__(self, directory: Path, block_rows: int = BLOCK_ROWS, poison: bool = False,
                 capacity: int = 1024) -> None:
        if not poison and block_rows % PAGE:
            raise ValueError(f"block_rows must be a multiple of {PAGE} (got {block_rows})")
        self.block_rows = block_rows
        self.poison = poison
        self.released = np.zeros(0, dtype=bool)
        """Per block: written to Parquet and given back."""
        self.kept: np.ndarray | None = None
        """The rows :meth:`keep_rows` kept (applied when the table is read back)."""
        self._areas: dict[str, Any] = {}
        self._checked_size = 0
        self.sink = ParquetRows(directory / JOB_ROWS_FILE,
                                {"job_id": np.dtype(np.int64), **self.columns}, ROW_GROUP_ROWS)
        self.size = 0
        self._capacity = 0
        self._map(max(block_rows, capacity))

    def _map(self, capacity: int) -> None:
        """New maps of ``capacity`` rows holding the rows of the blocks not released."""
        blocks = -(-capacity // self.block_rows)
        capacity = blocks * self.block_rows
        live = np.flatnonzero(~self.released)
        for name, dtype in self.columns.items():
            area, column = mapped_zeros(capacity, dtype)
            if self._capacity:
                old = getattr(self, name)
                for block in live.tolist():  # only live rows: released pages stay untouched
                    rows = slice(block * self.block_rows,
                                 min((block + 1) * self.block_rows, self._capacity))
                    column[rows] = old[rows]
                if self.poison:
                    for block in np.flatnonzero(self.released).tolist():
                        column[block * self.block_rows:(block + 1) * self.block_rows] = \
                            poison_value(dtype)
            self._areas[name] = area
            setattr(self, name, column)
        self.released = np.concatenate([self.released,
                                        np.zeros(blocks - self.released.shape[0], dtype=bool)])
        self._capacity = capacity

    def reserve(self, extra: int) -> None:
        capacity = self.grown_capacity(extra)
        if capacity is not None:
            self._map(capacity)

    def extend(self, *args: Any, **kwargs: Any) -> np.ndarray:
        """Retire what has ended (once per new block of rows), then append."""
        if self.size - self._checked_size >= self.block_rows:
            self.retire()
        return super().extend(*args, **kwargs)

    def retire(self) -> int:
        """Write and release every whole block whose jobs are all terminal; returns how many."""
        self._checked_size = self.size
        whole = self.size // self.block_rows
        candidates = np.flatnonzero(~self.released[:whole])
        done = 0
        for block in candidates.tolist():
            rows = slice(block * self.block_rows, (block + 1) * self.block_rows)
            if not np.isin(self.status[rows], TERMINAL).all():
                continue
            ids = np.arange(rows.start, rows.stop, dtype=np.int64)
            self.sink.append({"job_id": ids,
                              **{name: getattr(self, name)[rows] for name in self.columns}})
            for name in self.columns:
                release_rows(self._areas[name], getattr(self, name), rows.start, rows.stop,
                             self.poison)
            self.released[block] = True
            done += 1
        return done

    def release_all(self) -> None:
        """Give back every row (once they have been copied out: the table is done)."""
        for name in self.columns:
            column = getattr(self, name)
            release_rows(self._areas[name], column, 0, column.shape[0], self.poison)
        self.released[:] = True

    def resident_rows(self) -> int:
        """Rows held in memory: those of the blocks not released, up to ``size``."""
        blocks = -(-self.size // self.block_rows)
        return min(self.size, int(np.count_nonzero(~self.released[:blocks])) * self.block_rows)

    def keep_rows(self, keep: np.ndarray) -> np.ndarray:
        """Record which rows stay (the compaction happens in :func:`materialize`); returns
        the new index of every row, as :meth:`GrowableTable.keep_rows` does."""
        self.kept = keep[: self.size].copy()
        return self.renumbering(self.kept)


class SpillingSegmentLog(SegmentLog):
    """A segment log that appends its rows to Parquet every ``chunk_rows`` rows."""

    def __init__(self, directory: Path, jobs: SpillingJobTable,
                 chunk_rows: int = ROW_GROUP_ROWS) -> None:
        super().__init__(capacity=chunk_rows)
        self.chunk_rows = chunk_rows
        self.jobs = jobs
        self.sink = ParquetRows(directory / SEGMENTS_FILE, self.columns, ROW_GROUP_ROWS)

    def add(self, *args: Any, **kwargs: Any) -> None:
        """Append a row; a full chunk goes to the file first, and the job table retires
        what has ended (segments end as jobs do: a steady pace, whatever the sources)."""
        if self.size >= self.chunk_rows:
            self.sink.append({name: self.view(name) for name in self.columns})
            self.size = 0
            self.jobs.retire()
        super().add(*args, **kwargs)


def _read_back(path: Path, table: GrowableTable, rows: int,
               skip: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Columns of ``table`` but ``skip`` read from ``path`` (one column at a time), ``rows``
    long."""
    source = pq.ParquetFile(path)
    out: dict[str, np.ndarray] = {}
    index = (source.read(columns=["job_id"]).column(0).to_numpy()
             if "job_id" in source.schema_arrow.names else None)
    for name, dtype in table.columns.items():
        if name in skip:
            continue
        values = source.read(columns=[name]).column(0).to_numpy()
        if index is None:
            out[name] = values.astype(dtype, copy=False)
        else:
            column = np.empty(rows, dtype=dtype)
            column[index] = values
            out[name] = column
    return out


def materialize(jobs: SpillingJobTable,
                segments: SpillingSegmentLog) -> tuple[JobTable, SegmentLog]:
    """Close both files and read them back, with the rows still in memory, into plain
    tables equal to those of the same run in memory once its run-only columns are dropped
    (:meth:`JobTable.drop_run_only`: they are not read back)."""
    jobs.retire()
    jobs.sink.close()
    segments.sink.close()
    n = jobs.size
    kept = [name for name in jobs.columns if name not in JobTable.RUN_ONLY]
    columns = _read_back(jobs.sink.path, jobs, n, JobTable.RUN_ONLY) if jobs.sink.rows else {
        name: np.empty(n, dtype=jobs.columns[name]) for name in kept}
    for block in np.flatnonzero(~jobs.released[: -(-n // jobs.block_rows)]).tolist():
        rows = slice(block * jobs.block_rows, min((block + 1) * jobs.block_rows, n))
        for name in kept:
            columns[name][rows] = getattr(jobs, name)[rows]
    jobs.release_all()  # its rows live on in ``table``: do not hold them twice
    table = JobTable(capacity=0)
    for name, values in columns.items():
        setattr(table, name, values)
    table.drop_run_only()
    table.size = table._capacity = n
    pa.default_memory_pool().release_unused()  # what reading the files left in Arrow's pool
    flushed = (_read_back(segments.sink.path, segments, segments.sink.rows)
               if segments.sink.rows else None)
    if jobs.kept is not None:
        new_index = table.keep_rows(jobs.kept)
        if flushed is not None:  # rows still in memory were renumbered by the engine
            flushed["job"] = new_index[flushed["job"]]
    log = SegmentLog(capacity=segments.sink.rows + segments.size)
    for name in segments.columns:
        parts = [flushed[name]] if flushed is not None else []
        setattr(log, name, np.concatenate([*parts, segments.view(name)]))
    log.size = log._capacity = segments.sink.rows + segments.size
    return table, log


@dataclass(frozen=True)
class StreamOptions:
    """Where and how a run streams its records (``simulate(stream_to=...)``)."""

    directory: Path
    block_rows: int = BLOCK_ROWS
    """Job rows written and released together (a multiple of the page size unless poison)."""
    poison: bool = False
    """Fill released rows with poison instead of giving their pages back (tests)."""
    segment_chunk_rows: int = ROW_GROUP_ROWS
    """Segments held in memory before they are appended to the file."""


def stream_options(value: str | Path | StreamOptions) -> StreamOptions:
    """Options from a directory or options; the directory is created."""
    options = value if isinstance(value, StreamOptions) else StreamOptions(Path(value))
    if not hasattr(mmap.mmap, "madvise") or not hasattr(mmap, "MAP_ANONYMOUS"):
        raise InputError("streaming needs anonymous memory maps with madvise (Linux, macOS)",
                         "stream_to")
    try:
        options.directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the directory {options.directory} "
                         f"({exc.strerror or exc})", "stream_to") from None
    return options


def spilling_tables(options: StreamOptions) -> tuple[SpillingJobTable, SpillingSegmentLog]:
    """The job table and segment log of a streaming run."""
    jobs = SpillingJobTable(options.directory, options.block_rows, options.poison)
    return jobs, SpillingSegmentLog(options.directory, jobs, options.segment_chunk_rows)
