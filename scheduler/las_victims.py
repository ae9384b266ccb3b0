"""LAS's running jobs kept in victim order between cycles, instead of sorted in each one.

Victim order is (lowest queue first, latest first start first, then running order), and a
running job's queue changes only when its attained service crosses a threshold, at a time
known when its segment starts. So the order is kept in a sorted list and updated by what
changed since the last look: jobs that stopped, jobs that (re)started, and jobs whose next
crossing time has come. Keys end with the segment token: the running set (a dict) is in
start order, which is token order, so the list equals a stable sort of the running jobs.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable

from scheduler.runtime.handle import SchedulerHandle


class RunningByQueue:
    """Running jobs in victim order; :meth:`victims` is a prefix of it.

    ``attained(job)`` is the job's attained GPU-seconds as the policy counts them (since its
    last promotion); a job's queue is ``bisect_right(thresholds, attained)``.
    """

    def __init__(self, handle: SchedulerHandle, thresholds: list[float],
                 attained: Callable[[int], float]) -> None:
        self.handle = handle
        self.thresholds = thresholds
        self.attained = attained
        self._keys: list[tuple[int, float, int]] = []  # (-queue, -first start, token), sorted
        self._jobs: list[int] = []  # same order
        self._key_of: dict[int, tuple[int, float, int]] = {}
        self._crossings: list[tuple[float, int, int]] = []  # heap of (recheck at, token, job)
        self._started: set[int] = set()
        self._synced_for: list[int] | None = None

    def started(self, job: int) -> None:
        """``job`` started a segment (its key changes: new token, maybe a new queue). Only
        jobs already kept need noting (a new one is found by the next look), so the set
        stays within the running set even when no one looks for victims for a long time."""
        if job in self._key_of:
            self._started.add(job)

    def victims(self, queue: int, candidates: list[int]) -> list[int]:
        """The running jobs of queues above ``queue``, in victim order. ``candidates`` is
        the running set (training jobs, in running order); a new list object means it may
        have changed, or time may have passed."""
        if candidates is not self._synced_for:
            self._sync(candidates)
            self._synced_for = candidates
        return self._jobs[:bisect.bisect_left(self._keys, (-queue,))]

    def _sync(self, candidates: list[int]) -> None:
        now = self.handle.now
        current = set(candidates)
        tracked = self._key_of.keys()
        fresh = (current - tracked) | (self._started & current)
        self._started.clear()
        for job in (tracked - current) | (fresh & tracked):
            self._remove(job)
        crossings = self._crossings
        while crossings and crossings[0][0] <= now:
            _, token, job = heapq.heappop(crossings)
            key = self._key_of.get(job)
            if key is not None and key[2] == token:  # still that segment: recompute its queue
                self._remove(job)
                fresh.add(job)
        for job in fresh:
            self._insert(job, now)

    def _insert(self, job: int, now: float) -> None:
        segment = self.handle.running[job]
        attained = self.attained(job)
        queue = bisect.bisect_right(self.thresholds, attained)
        key = (-queue, -float(self.handle.jobs.start_s[job]), segment.token)
        at = bisect.bisect_left(self._keys, key)
        self._keys.insert(at, key)
        self._jobs.insert(at, job)
        self._key_of[job] = key
        if queue < len(self.thresholds):
            # The queue holds until attained service reaches the next threshold; recheck a
            # little before (never trust the last rounding), exactly as from scratch then.
            until = now + (self.thresholds[queue] - attained) / segment.gpus
            until -= 1e-6 + abs(until) * 1e-12
            heapq.heappush(self._crossings, (until, segment.token, job))
        if len(self._crossings) > 4 * len(self._key_of) + 1024:  # drop stale entries
            self._crossings = [c for c in self._crossings
                               if self._key_of.get(c[2], (0, 0.0, -1))[2] == c[1]]
            heapq.heapify(self._crossings)

    def _remove(self, job: int) -> None:
        key = self._key_of.pop(job)
        at = bisect.bisect_left(self._keys, key)
        del self._keys[at]
        del self._jobs[at]

