"""Why jobs wait, weighted by what waits: GPU-hours of waiting per reason, and the jobs at the
head of the queue that held others back (the *blockers*).

Fed after every scheduling cycle with the pending queue (the same instants as the pending
log), it integrates exactly between cycles: nothing in the queue changes between two cycles
(an arrival, a finish or a release asks for one).

* A pending job's reason is the one the cycle wrote (``jobs.reason``). Under strict order
  (FIFO, SJF...) only the head was looked at: every other pending job is *behind the head*.
  Under a greedy or EASY walk, jobs it did not reach are behind the head too, and a job that
  fits now but would delay the head's EASY reservation waits *for the reservation*.
* A blocker is the head of the queue while it cannot start itself (its reason is not one of
  the two above) and jobs wait behind it or for its reservation. For each blocker: how long
  it blocked (seconds with at least one job held back), the GPU-hours those jobs waited in
  that time, and the most jobs it held back at once.

Jobs held by temporal shifting are not in the queue; the summary adds their held GPU-hours
from the job table (``released_s - arrival_s``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from scheduler.jobs import JobTable
from scheduler.runtime.pending import PendingQueue
from scheduler.runtime.reasons import NO_REASON, Reason

HELD_BY_HEAD = (int(Reason.BEHIND), int(Reason.BACKFILL))
"""Reasons that mean "held back by the head of the queue", not by capacity."""


@dataclass
class Blocker:
    """One head-of-queue job that held others back."""

    job: int
    first_s: float
    """When it first held a job back."""
    blocked_s: float = 0.0
    """Seconds during which it was the head and held at least one job back."""
    held_gpu_s: float = 0.0
    """GPU-seconds waited by the jobs it held back, while it did."""
    max_jobs_held: int = 0


class BlockerAccount:
    """Waiting GPU-seconds per reason and per blocker, integrated between cycles."""

    def __init__(self) -> None:
        self.gpu_s_by_reason: dict[int, float] = {}
        self.blockers: dict[int, Blocker] = {}
        self._since: float | None = None
        self._gpus_by_reason: dict[int, float] = {}
        self._head = -1
        self._held_gpus = 0.0

    def observe(self, now: float, jobs: JobTable, queue: PendingQueue,
                strict: bool) -> dict[int, int] | None:
        """Close the interval since the last cycle, then take the queue's state at ``now``.
        Returns the pending jobs per reason when it tallied the whole queue (a greedy or EASY
        walk's), for the pending log to reuse; None when it did not (strict order: O(1))."""
        self.close(now)
        self._gpus_by_reason, self._head, self._held_gpus = {}, -1, 0.0
        pending = queue.jobs
        if not pending:
            return None
        jobs_by_reason = None
        if strict:  # O(1): the head's reason, everyone else behind it
            head = pending[0]
            head_gpus = float(jobs.gpus[head])
            held_gpus, held_jobs = float(queue.gpus_waiting) - head_gpus, len(pending) - 1
            head_reason = int(jobs.reason[head])
            head_reason = int(Reason.BEHIND) if head_reason == NO_REASON else head_reason
            self._gpus_by_reason = {head_reason: head_gpus}
            if held_jobs:
                behind = int(Reason.BEHIND)
                self._gpus_by_reason[behind] = self._gpus_by_reason.get(behind, 0.0) + held_gpus
        else:
            head_reason, held_gpus, held_jobs, jobs_by_reason = self._walked(jobs, pending)
        if held_jobs and head_reason not in HELD_BY_HEAD:
            self._head, self._held_gpus = int(pending[0]), held_gpus
            blocker = self.blockers.setdefault(self._head, Blocker(self._head, now))
            blocker.max_jobs_held = max(blocker.max_jobs_held, held_jobs)
        return jobs_by_reason

    def _walked(self, jobs: JobTable, pending: list[int]
                ) -> tuple[int, float, int, dict[int, int]]:
        """A greedy or EASY walk's queue: each job's own reason (jobs it did not reach are
        behind the head). Returns the head's reason, the GPUs and jobs held back, and the
        pending jobs per reason."""
        ids = np.asarray(pending, dtype=np.int64)
        gpus = jobs.gpus[ids].astype(np.float64)
        reasons = jobs.reason[ids].astype(np.int64)
        reasons[reasons == NO_REASON] = int(Reason.BEHIND)
        # Codes are small non-negative ints: counting beats sorting (np.unique), same sums.
        sums = np.bincount(reasons, weights=gpus)
        counts = np.bincount(reasons)
        present = np.flatnonzero(counts)
        self._gpus_by_reason = {int(c): float(sums[c]) for c in present}
        held = (reasons[1:] == HELD_BY_HEAD[0]) | (reasons[1:] == HELD_BY_HEAD[1])
        return (int(reasons[0]), float(gpus[1:][held].sum()), int(held.sum()),
                {int(c): int(counts[c]) for c in present})

    def renumber(self, new_index: np.ndarray) -> None:
        """Follow the job table's renumbering (a run stopped early drops the jobs that never
        arrived, :meth:`JobTable.keep_rows`); blockers had arrived, so they all stay."""
        self.blockers = {int(new_index[job]): replace(blocker, job=int(new_index[job]))
                         for job, blocker in self.blockers.items() if new_index[job] >= 0}
        if self._head >= 0:
            self._head = int(new_index[self._head])

    def close(self, until: float) -> None:
        """Add the state in force since the last cycle, up to ``until``."""
        if self._since is not None and until > self._since:
            span = until - self._since
            for code, gpus in self._gpus_by_reason.items():
                self.gpu_s_by_reason[code] = self.gpu_s_by_reason.get(code, 0.0) + gpus * span
            if self._head >= 0:
                blocker = self.blockers[self._head]
                blocker.blocked_s += span
                blocker.held_gpu_s += self._held_gpus * span
        self._since = until if self._since is None else max(self._since, until)


class PendingLog(list[tuple[float, dict[int, int]]]):
    """The pending log ((time, {reason: pending jobs}) after each cycle) and, beside it, the
    :class:`BlockerAccount` fed at the same instants."""

    def __init__(self) -> None:
        super().__init__()
        self.blockers = BlockerAccount()
