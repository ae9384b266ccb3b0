"""Writing a run's tables (jobs, time series) with pyarrow: CSV and Parquet.

CSV: a header line of the column names (quoted only where CSV needs it), then the rows from
``pyarrow.csv.write_csv``. What a reader gets is the same values as pandas' ``to_csv`` wrote,
about 7x faster (200,000 jobs: 0.3 s instead of 2 s; ``benchmarks/write.py``):

* columns in the frame's order, one row per line, ``\\n`` line ends, UTF-8;
* floats in their shortest form that reads back to the same double (``1.4996509064390449``,
  ``0`` for 0.0, ``1e-05`` as ``0.00001``), so a reader gets every float back exactly;
* NaN and missing values as empty cells; text cells always in double quotes (``"Lille"``,
  ``""`` for an empty string), a quote inside doubled: plain CSV that every reader parses;
* booleans as ``true`` / ``false``.

Formula escaping of text cells is the caller's (:mod:`scheduler.results`).
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from typing import BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

__all__ = ["write_csv", "write_parquet"]


ROWS_PER_PIECE = 1 << 20
"""Rows converted to Arrow at a time. A year of the 1:1 region has ~10 M jobs: converting the
whole frame at once held a second copy of it (~190 bytes a job) at the peak of saving.
Parquet's default row group is this many rows, so a file written piece by piece has the same
row groups as one written at once."""


def _arrow(frame: pd.DataFrame, schema: pa.Schema | None = None) -> pa.Table:
    """``frame`` as an Arrow table without its index (NaN becomes null: an empty CSV cell)."""
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


def _pieces(frame: pd.DataFrame) -> Iterator[pa.Table]:
    """``frame`` as Arrow tables of at most :data:`ROWS_PER_PIECE` rows, one at a time, all
    with the whole frame's schema (typed from every row, so a column missing in one piece
    types as in the others)."""
    if len(frame) <= ROWS_PER_PIECE:
        yield _arrow(frame)
        return
    schema = pa.Schema.from_pandas(frame, preserve_index=False)
    for lo in range(0, len(frame), ROWS_PER_PIECE):
        yield _arrow(frame.iloc[lo:lo + ROWS_PER_PIECE], schema)


def write_csv(frame: pd.DataFrame, sink: BinaryIO) -> None:
    """Write ``frame`` as CSV into the binary file ``sink`` (see the module docstring)."""
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow([str(c) for c in frame.columns])
    try:
        pieces = _pieces(frame)
        first = next(pieces)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # A column Arrow cannot type (objects of mixed kinds in a table built by hand):
        # pandas writes it as text, as it always did.
        text = io.TextIOWrapper(sink, encoding="utf-8", newline="", write_through=True)
        frame.to_csv(text, index=False, lineterminator="\n")
        text.detach()
        return
    sink.write(header.getvalue().encode("utf-8"))
    for table in itertools.chain([first], pieces):
        if table.num_rows:
            pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=False))


def write_parquet(frame: pd.DataFrame, sink: BinaryIO) -> None:
    """Write ``frame`` as Parquet into ``sink`` (pandas metadata kept, so dtypes reload)."""
    pieces = _pieces(frame)
    first = next(pieces)
    with pq.ParquetWriter(sink, first.schema) as writer:
        for table in itertools.chain([first], pieces):
            writer.write_table(table)
