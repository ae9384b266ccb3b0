"""The assignment walk: pending jobs in queue order, each on the best node class that fits now.

This is the one sequential walk of the simulator: production cycles
(:mod:`scheduler.runtime.cycle`) and the reference :func:`gpu.framework.assign` (checked
against brute force by the property tests) both run it. What a job may do is asked of
``rules``; the walk itself only knows the blocking modes:

* ``strict``: stop at the first job that cannot start (head of line, FIFO);
* ``greedy``: skip it and try the next;
* ``easy``: skip it; the first blocked job gets a reservation (``rules.reserve``) and later
  jobs start only where ``rules.backfill`` allows (EASY backfilling).

Capacity only shrinks within a cycle until a preemption frees some, so a class that failed is
not tried again (its later jobs wait with the same reason), and the walk stops once every
class that waits has failed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np

BLOCKING_MODES = ("strict", "greedy", "easy")
STARTS = -1
"""What :meth:`WalkRules.admit` and :meth:`WalkRules.backfill` return to let a job go on."""


class WalkRules(Protocol):
    """The decisions a walk asks for, one job at a time."""

    def admit(self, job: int) -> int:
        """-1 when ``job`` may be tried now, else the reason code it waits with (quotas)."""

    def pick(self, job: int, cls: int) -> tuple[int, int]:
        """(node class, -1) when the job fits now, else (-1, reason code)."""

    def make_room(self, job: int, cls: int) -> int:
        """Preempt so that the job fits: its node class, or -1 (nothing preempted)."""

    def reserve(self, job: int, cls: int) -> float:
        """EASY: the reservation time of the first blocked job."""

    def backfill(self, job: int, cls: int, column: int, reservation: float) -> int:
        """-1 when starting ``job`` on ``column`` keeps the reservation, else a reason code."""

    def start(self, job: int, cls: int, column: int) -> None:
        """Start the job there (capacity seen by the next picks shrinks accordingly)."""

    def wait(self, job: int, reason: int) -> None:
        """The job stays pending for ``reason``."""


def walk(order: Iterable[int], job_class: Sequence[int] | np.ndarray, rules: WalkRules,
         blocking: str = "greedy", preemptive: bool = False,
         classes_pending: int | None = None) -> list[int]:
    """Walk ``order`` once; returns the jobs started, in order. ``job_class[job]`` is the
    class of ``job``; ``classes_pending`` (distinct classes in ``order``) lets the walk stop
    when every one of them has failed (never with preemption, which frees capacity)."""
    if blocking not in BLOCKING_MODES:
        raise ValueError(f"blocking must be one of {BLOCKING_MODES} (got {blocking!r})")
    strict = blocking == "strict"
    easy = blocking == "easy"
    # With preemption capacity can grow within the walk: never stop early (-1 never matches).
    stop_at = classes_pending if classes_pending is not None and not preemptive else -1
    started: list[int] = []
    blocked: dict[int, int] = {}  # class -> reason
    reservation = math.inf
    admit, pick, wait = rules.admit, rules.pick, rules.wait  # bound once: the hot loop
    for job in order:
        if len(blocked) == stop_at:
            break  # every class waiting has failed: nothing behind can start
        cls = int(job_class[job])
        reason = blocked.get(cls, STARTS)
        if reason == STARTS:
            reason = admit(job)
        if reason != STARTS:
            wait(job, reason)
            if strict:
                break
            continue
        column, reason = pick(job, cls)
        if column < 0 and preemptive:
            column = rules.make_room(job, cls)
            if column >= 0:
                blocked.clear()
        if column >= 0 and reservation < math.inf:
            late = rules.backfill(job, cls, column, reservation)
            if late != STARTS:
                wait(job, late)
                continue
        if column < 0:
            wait(job, reason)
            blocked[cls] = reason
            if strict:
                break
            if easy and reservation == math.inf:
                reservation = rules.reserve(job, cls)
            continue
        started.append(job)
        rules.start(job, cls, column)
    return started
