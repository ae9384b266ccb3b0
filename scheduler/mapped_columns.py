"""Columns backed by anonymous memory maps, whose rows can be given back to the OS.

A column is a NumPy view of a private anonymous ``mmap``: row ``i`` stays at the same index
for the whole run (job id == row index), yet a range of rows nobody will read again can be
*released*: ``madvise(MADV_DONTNEED)`` drops its pages, so resident memory falls while the
indices above keep their meaning (a released page reads as zeros if touched, costing a page
again). In *poison* mode released rows are overwritten with values no valid row holds (NaN,
-1, 99 ...) instead, so that a test sees any later read of a retired row.
"""

from __future__ import annotations

import mmap

import numpy as np

PAGE = mmap.PAGESIZE
"""Released ranges must start on a page: a block of rows is a page of the narrowest column."""

POISON = {"f": np.nan, "i": -(2**31) + 7, "u": 0xFF}
"""Fill of released rows in poison mode, by dtype kind (int8 columns take ``POISON_INT8``)."""
POISON_INT8 = 99
"""Not a status nor a kind code: indexing a name table with it fails or reads garbage."""


def mapped_zeros(rows: int, dtype: np.dtype) -> tuple[mmap.mmap, np.ndarray]:
    """(the map, a zero-filled column of ``rows`` rows over it); pages are taken on write."""
    nbytes = max(PAGE, rows * dtype.itemsize)
    nbytes = -(-nbytes // PAGE) * PAGE
    area = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    return area, np.frombuffer(area, dtype=dtype, count=rows)


def poison_value(dtype: np.dtype) -> float | int:
    """The value poison mode writes into released rows of a column of ``dtype``."""
    if dtype.itemsize == 1:
        return POISON_INT8
    return POISON[dtype.kind]


def release_rows(area: mmap.mmap, column: np.ndarray, first: int, stop: int,
                 poison: bool) -> None:
    """Give rows ``[first, stop)`` back: poison them, or drop their pages. Without poison
    ``first * itemsize`` must be page-aligned; a partial last page is kept (it may hold
    live rows)."""
    if poison:
        column[first:stop] = poison_value(column.dtype)
        return
    start = first * column.dtype.itemsize
    end = stop * column.dtype.itemsize
    length = (end - start) // PAGE * PAGE
    if start % PAGE:
        raise ValueError(f"row {first} does not start a page of {column.dtype} rows")
    if length > 0:
        area.madvise(mmap.MADV_DONTNEED, start, length)
