"""The pending queue: jobs waiting to start, in the queue policy's order.

Invariants: ``jobs`` is sorted by ``keys`` (a job's key is fixed while it waits; equal keys
keep arrival order); ``class_count`` counts the pending jobs of each class (a cycle may stop
once every class that waits is blocked); ``gpus_waiting`` is the sum of their GPUs.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from typing import Protocol

import numpy as np


class HasJobClass(Protocol):
    job_class: np.ndarray
    """Class of each job, by job id (a growable table's column: read it each time)."""
    gpus: np.ndarray
    """GPUs of each job, by job id (same)."""


class PendingQueue:
    """Ordered pending jobs, their order keys, and per-class counts."""

    def __init__(self, order_key: Callable[[int], tuple[float, ...]], jobs: HasJobClass) -> None:
        self._order_key = order_key
        self._jobs = jobs
        self.keys: list[tuple[float, ...]] = []
        self.jobs: list[int] = []
        self.class_count: dict[int, int] = {}
        self.gpus_waiting = 0
        """GPUs of the pending jobs, kept as they come and go (the waiting accounting reads
        it once per cycle instead of summing a long queue)."""

    def __len__(self) -> int:
        return len(self.jobs)

    def __bool__(self) -> bool:
        return bool(self.jobs)

    def push(self, job: int) -> None:
        key = self._order_key(job)
        if not self.keys or key >= self.keys[-1]:
            self.keys.append(key)  # the usual case: later arrivals sort last
            self.jobs.append(job)
        else:
            index = bisect.bisect_right(self.keys, key)
            self.keys.insert(index, key)
            self.jobs.insert(index, job)
        cls = int(self._jobs.job_class[job])
        self.class_count[cls] = self.class_count.get(cls, 0) + 1
        self.gpus_waiting += int(self._jobs.gpus[job])

    def _forget_class(self, cls: int) -> None:
        left = self.class_count[cls] - 1
        if left:
            self.class_count[cls] = left
        else:
            del self.class_count[cls]

    def remove(self, started: set[int]) -> None:
        """Drop jobs that started (anywhere in the queue)."""
        job_class = self._jobs.job_class
        keep = [i for i, job in enumerate(self.jobs) if job not in started]
        gpus = self._jobs.gpus
        for job in started:
            self._forget_class(int(job_class[job]))
            self.gpus_waiting -= int(gpus[job])
        self.keys = [self.keys[i] for i in keep]
        self.jobs = [self.jobs[i] for i in keep]

    def remove_prefix(self, count: int) -> None:
        """Drop the first ``count`` jobs (what a strict head-of-line cycle started)."""
        job_class = self._jobs.job_class
        class_count = self.class_count
        gpus = self._jobs.gpus
        for job in self.jobs[:count]:
            self.gpus_waiting -= int(gpus[job])
            cls = int(job_class[job])
            left = class_count[cls] - 1  # _forget_class, inline: once per start
            if left:
                class_count[cls] = left
            else:
                del class_count[cls]
        del self.jobs[:count]
        del self.keys[:count]

    def clear(self) -> list[int]:
        """Empty the queue; returns the jobs it held, in order."""
        jobs = self.jobs
        self.jobs, self.keys = [], []
        self.class_count.clear()
        self.gpus_waiting = 0
        return jobs

    def head_classes(self, limit: int) -> Iterable[int]:
        """Classes of the first ``limit`` pending jobs (to score them in one batch)."""
        job_class = self._jobs.job_class
        return (int(job_class[j]) for j in self.jobs[:limit])
