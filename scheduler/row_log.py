"""An append-only log of fixed-width float rows in one growable array.

A Python list of tuples costs ~160 bytes a row of five numbers; this costs 40. Used for
records that grow with simulated time (a service's power corrections, one row per site and
autoscaling step: ~4 million rows for a year of the 1:1 region).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


class FloatRows:
    """Rows of ``width`` float64 values; ``np.array(log)`` gives the ``(rows, width)`` table."""

    def __init__(self, width: int, capacity: int = 1024) -> None:
        self._rows = np.zeros((capacity, width), dtype=np.float64)
        self._size = 0

    def append(self, row: Sequence[float]) -> None:
        if self._size == self._rows.shape[0]:
            grown = np.zeros((2 * self._rows.shape[0], self._rows.shape[1]), dtype=np.float64)
            grown[: self._size] = self._rows
            self._rows = grown
        self._rows[self._size] = row
        self._size += 1

    def __len__(self) -> int:
        return self._size

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        rows = self._rows[: self._size]
        return rows.astype(dtype) if dtype is not None and dtype != rows.dtype else rows.copy()
