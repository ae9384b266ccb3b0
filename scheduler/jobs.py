"""Job records as growable struct-of-arrays tables.

Statuses follow the conservation invariant: every submitted job ends ``completed``,
``rejected`` (with a reason), ``failed`` or ``unfinished``; ``pending`` and ``running`` exist
only during a run.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar

import numpy as np

SEGMENT_END = ("completed", "preempted", "failed", "horizon")
"""Causes of a segment's end, by code (the segment log's ``cause`` column)."""

KIND_NAMES = ("training", "inference")
"""Job kinds by code (the ``kind`` column)."""


class Status(IntEnum):
    PENDING = 0
    RUNNING = 1
    COMPLETED = 2
    REJECTED = 3
    UNFINISHED = 4
    FAILED = 5


STATUS_NAMES = {s.value: s.name.lower() for s in Status}


class GrowableTable:
    """Parallel 1-D arrays that grow by doubling; ``size`` rows are valid."""

    columns: ClassVar[dict[str, np.dtype]] = {}

    def __init__(self, capacity: int = 1024) -> None:
        self.size = 0
        self._capacity = max(16, capacity)
        for name, dtype in self.columns.items():
            setattr(self, name, np.zeros(self._capacity, dtype=dtype))

    def grown_capacity(self, extra: int) -> int | None:
        """The capacity (doubled as often as needed) that holds ``extra`` more rows; None
        when the current one does."""
        needed = self.size + extra
        if needed <= self._capacity:
            return None
        capacity = self._capacity
        while capacity < needed:
            capacity *= 2
        return capacity

    def reserve(self, extra: int) -> None:
        capacity = self.grown_capacity(extra)
        if capacity is None:
            return
        for name in self.columns:
            old = getattr(self, name)
            new = np.zeros(capacity, dtype=old.dtype)
            new[: self.size] = old[: self.size]
            setattr(self, name, new)
        self._capacity = capacity

    def renumbering(self, keep: np.ndarray) -> np.ndarray:
        """The new index of every row once the rows where ``keep`` is False are dropped
        (the rest in order), -1 for a dropped row."""
        new_index = np.full(self.size, -1, dtype=np.int64)
        kept = np.flatnonzero(keep[: self.size])
        new_index[kept] = np.arange(kept.shape[0])
        return new_index

    def keep_rows(self, keep: np.ndarray) -> np.ndarray:
        """Drop the rows where ``keep`` is False (renumbering the rest in order); returns the
        new index of every old row (-1 for dropped rows)."""
        new_index = self.renumbering(keep)
        kept = np.flatnonzero(new_index >= 0)
        for name in self.columns:
            column = getattr(self, name)
            if column is not None:  # None: dropped (JobTable.drop_run_only)
                column[: kept.shape[0]] = column[kept]
        self.size = int(kept.shape[0])
        return new_index

    def view(self, name: str) -> np.ndarray:
        """The valid rows of one column (a view, not a copy)."""
        column: np.ndarray | None = getattr(self, name)
        if column is None:
            raise ValueError(f"the column {name!r} was dropped when the run ended")
        return column[: self.size]


class JobTable(GrowableTable):
    """One row per submitted job; ``job_id`` is the row index."""

    RUN_ONLY: ClassVar[tuple[str, ...]] = ("job_class", "priority", "estimate_s",
                                           "remaining_s", "attained_gpu_s")
    """Columns only the engine reads, while the run goes on: a finished run's summary never
    does, so they are dropped before it is built (32 bytes a job)."""

    columns: ClassVar[dict[str, np.dtype]] = {
        "arrival_s": np.dtype(np.float64),
        "gpus": np.dtype(np.int64),
        "duration_s": np.dtype(np.float64),
        "workload": np.dtype(np.int32),
        "job_class": np.dtype(np.int32),
        "status": np.dtype(np.int8),
        "start_s": np.dtype(np.float64),
        "end_s": np.dtype(np.float64),
        "site": np.dtype(np.int32),
        "reason": np.dtype(np.int32),
        "kind": np.dtype(np.int8),
        "tenant": np.dtype(np.int32),
        "priority": np.dtype(np.int32),
        "estimate_s": np.dtype(np.float64),
        "remaining_s": np.dtype(np.float64),
        "attained_gpu_s": np.dtype(np.float64),
        "lost_gpu_s": np.dtype(np.float64),
        "preemptions": np.dtype(np.int32),
        "failures": np.dtype(np.int32),
        "reservation_s": np.dtype(np.float64),
        "released_s": np.dtype(np.float64),
    }
    arrival_s: np.ndarray
    gpus: np.ndarray
    duration_s: np.ndarray
    workload: np.ndarray
    job_class: np.ndarray
    status: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    site: np.ndarray
    reason: np.ndarray
    kind: np.ndarray
    tenant: np.ndarray
    priority: np.ndarray
    estimate_s: np.ndarray
    """Duration as policies believe it (oracle: the true one)."""
    remaining_s: np.ndarray
    """Work left, in seconds on a speed-1 GPU (the duration until the job first runs)."""
    attained_gpu_s: np.ndarray
    """GPU-seconds of service over finished segments (LAS)."""
    lost_gpu_s: np.ndarray
    """GPU-seconds of computation thrown away by preemptions and failures."""
    preemptions: np.ndarray
    failures: np.ndarray
    reservation_s: np.ndarray
    """EASY backfilling: the start time first promised to the job as queue head (NaN: none)."""
    released_s: np.ndarray
    """When the job entered the queue (after a deferral; else its arrival)."""

    def extend(self, arrival_s: np.ndarray, gpus: np.ndarray, duration_s: np.ndarray,
               workload: int, job_class: np.ndarray, kind: np.ndarray | int = 0,
               tenant: np.ndarray | int = 0, priority: int = 0,
               estimate_s: np.ndarray | None = None) -> np.ndarray:
        """Append pending jobs in bulk; returns their ids."""
        n = arrival_s.shape[0]
        self.reserve(n)
        rows = slice(self.size, self.size + n)
        self.arrival_s[rows] = arrival_s
        self.gpus[rows] = gpus
        self.duration_s[rows] = duration_s
        self.workload[rows] = workload
        self.job_class[rows] = job_class
        self.status[rows] = Status.PENDING
        self.start_s[rows] = np.nan
        self.end_s[rows] = np.nan
        self.site[rows] = -1
        self.reason[rows] = -1
        self.kind[rows] = kind
        self.tenant[rows] = tenant
        self.priority[rows] = priority
        self.estimate_s[rows] = duration_s if estimate_s is None else estimate_s
        self.remaining_s[rows] = duration_s
        self.attained_gpu_s[rows] = 0.0
        self.lost_gpu_s[rows] = 0.0
        self.preemptions[rows] = 0
        self.failures[rows] = 0
        self.reservation_s[rows] = np.nan
        self.released_s[rows] = arrival_s
        ids = np.arange(self.size, self.size + n, dtype=np.int64)
        self.size += n
        return ids

    def drop_run_only(self) -> None:
        """Free the :attr:`RUN_ONLY` columns (the run is over); :meth:`view` of one fails."""
        for name in self.RUN_ONLY:
            setattr(self, name, None)


class SegmentLog(GrowableTable):
    """One row per stretch of time a job ran on a placement (start to stop)."""

    columns: ClassVar[dict[str, np.dtype]] = {
        "job": np.dtype(np.int64),
        "site": np.dtype(np.int32),
        "group": np.dtype(np.int32),
        "gpus": np.dtype(np.int64),
        "start_s": np.dtype(np.float64),
        "end_s": np.dtype(np.float64),
        "power_w": np.dtype(np.float64),
        "cause": np.dtype(np.int8),
    }
    job: np.ndarray
    site: np.ndarray
    group: np.ndarray
    gpus: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    power_w: np.ndarray
    """Facility watts the job added over the segment (its GPUs' extra draw x PUE)."""
    cause: np.ndarray
    """How the segment ended: see ``SEGMENT_END``."""

    def add(self, job: int, site: int, group: int, gpus: int, start_s: float, end_s: float,
            power_w: float, cause: int) -> None:
        if self.size == self._capacity:
            self.reserve(1)
        row = self.size
        self.job[row] = job
        self.site[row] = site
        self.group[row] = group
        self.gpus[row] = gpus
        self.start_s[row] = start_s
        self.end_s[row] = end_s
        self.power_w[row] = power_w
        self.cause[row] = cause
        self.size += 1
