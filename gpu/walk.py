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
class that waits has failed. (A preemptive walk's order puts the jobs that may preempt most
first, so a class that could not make room cannot for its later jobs either; the jobs left
are given their class's reason at once, ``rules.wait_rest``.)
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

    def wait_rest(self, jobs: Sequence[int], reasons: Sequence[int]) -> None:
        """Each of ``jobs`` stays pending with its reason (same order): jobs of classes that
        failed, which the walk did not need to try, decided in one go."""


def walk(order: Iterable[int], job_class: Sequence[int] | np.ndarray, rules: WalkRules,
         blocking: str = "greedy", preemptive: bool = False,
         classes_pending: int | None = None) -> list[int]:
    """Walk ``order`` once; returns the jobs started, in order. ``job_class[job]`` is the
    class of ``job``; ``classes_pending`` (distinct classes in ``order``) lets the walk stop
    when every one of them has failed. Jobs of a class that failed wait with its reason
    without being tried (a run of them at once: :class:`_Skipper`)."""
    if blocking not in BLOCKING_MODES:
        raise ValueError(f"blocking must be one of {BLOCKING_MODES} (got {blocking!r})")
    strict = blocking == "strict"
    easy = blocking == "easy"
    stop_at = classes_pending if classes_pending is not None else -1  # -1 never matches
    started: list[int] = []
    blocked: dict[int, int] = {}  # class -> reason (cleared when a preemption frees capacity)
    reservation = math.inf
    admit, pick, wait = rules.admit, rules.pick, rules.wait  # bound once: the hot loop
    order = order if isinstance(order, list) else list(order)
    skipper = _Skipper(order, job_class, rules)
    position, count = 0, len(order)
    while position < count:
        if len(blocked) == stop_at:  # every class waiting has failed: nothing behind can start
            if preemptive:  # ... nor preempt: the rest wait as their class's first one did
                skipper.skip(position, blocked, to_end=True)
            break
        job = order[position]
        cls = int(job_class[job])
        if cls in blocked:
            position = skipper.skip(position, blocked)
            continue
        position += 1
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


class _Skipper:
    """Skips runs of jobs whose class failed, in one vectorised step per run (the classes of
    the order are looked up once, at the first run: a strict walk never needs them)."""

    def __init__(self, order: list[int], job_class: Sequence[int] | np.ndarray,
                 rules: WalkRules) -> None:
        self.order, self.job_class, self.rules = order, job_class, rules
        self.classes: np.ndarray | None = None

    def skip(self, position: int, blocked: dict[int, int], to_end: bool = False) -> int:
        """Jobs from ``position`` on whose class is in ``blocked`` wait with its reason, up to
        the first job of another class (or to the end, every class being blocked); returns
        the position where the walk goes on."""
        if self.classes is None:
            job_class = self.job_class
            if isinstance(job_class, np.ndarray):
                self.classes = job_class[np.asarray(self.order, dtype=np.int64)]
            else:  # a list, or a view that computes classes per job
                self.classes = np.fromiter((int(job_class[j]) for j in self.order),
                                           dtype=np.int64, count=len(self.order))
        ahead = self.classes[position:]
        reason_of = np.full(int(ahead.max()) + 1, -1, dtype=np.int64)  # -1: not blocked
        for cls, reason in blocked.items():
            if cls < reason_of.size:
                reason_of[cls] = reason
        reasons = reason_of[ahead]
        end = len(self.order)
        if not to_end:
            tried = reasons < 0
            if tried.any():
                end = position + int(tried.argmax())
        self.rules.wait_rest(self.order[position:end], reasons[:end - position].tolist())
        return end
