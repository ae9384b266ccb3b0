"""Checkpoint arithmetic of one run segment of a training job (pure functions).

A segment starts at ``start`` with ``remaining`` work (seconds on a speed-1 GPU) on GPUs of
speed ``speed``. It first pays ``restart`` (0 on a first start), then computes in blocks of
``interval`` compute seconds, each followed by a checkpoint pause of ``overhead``; there is no
checkpoint after the last block. So, with ``C = remaining / speed``:

    end = start + restart + C + overhead x (ceil(C / interval) - 1)

A resumed job at another site also waits for its checkpoint to arrive (``transfer``) before
it computes: ``restart + transfer`` is the segment's *lead*, never counted as compute.

A failure at ``t`` keeps the work of completed checkpoints only:
``k = floor((t - start - lead) / (interval + overhead))`` blocks, ``k x interval x speed``
work units (a checkpoint counts once its pause is over). Without an interval nothing is kept.

A preemption asks the job to save first (Tiresias, Gandiva, Gavel's rounds, Slurm with a
grace period): the save takes the checkpoint ``overhead`` at the end of the segment, as if the
job had been warned ``overhead`` seconds before the stop, so the GPUs are free at the stop
and the job keeps the work it had done by ``t - overhead`` (:func:`work_saved`). A job
without a checkpoint block saves at no cost (overhead 0, as Tiresias assumes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class CheckpointPlan:
    """The checkpoint behaviour a job runs with (seconds; ``interval`` None = never)."""

    interval: float | None = None
    overhead: float = 0.0
    restart: float = 0.0


def _lead(plan: CheckpointPlan, resumed: bool, transfer: float) -> float:
    """Seconds before a segment computes: the restart (resumed only), then the transfer."""
    return (plan.restart if resumed else 0.0) + transfer


def segment_end(start: float, remaining: float, speed: float, plan: CheckpointPlan,
                resumed: bool, transfer: float = 0.0) -> float:
    """When a segment finishes if nothing interrupts it."""
    compute = remaining / speed
    wall = compute + _lead(plan, resumed, transfer)
    if plan.interval is not None and compute > 0:
        wall += plan.overhead * max(0, math.ceil(compute / plan.interval - 1e-12) - 1)
    return start + wall


def work_kept(start: float, stop: float, speed: float, plan: CheckpointPlan,
              resumed: bool, transfer: float = 0.0) -> float:
    """Work units saved by completed checkpoints when the segment stops at ``stop``."""
    if plan.interval is None:
        return 0.0
    elapsed = stop - start - _lead(plan, resumed, transfer)
    if elapsed <= 0:
        return 0.0
    blocks = math.floor(elapsed / (plan.interval + plan.overhead) + 1e-12)
    return blocks * plan.interval * speed


def work_done(start: float, stop: float, speed: float, plan: CheckpointPlan,
              resumed: bool, transfer: float = 0.0) -> float:
    """Work units computed by ``stop`` (kept or not): compute time x speed."""
    elapsed = stop - start - _lead(plan, resumed, transfer)
    if elapsed <= 0:
        return 0.0
    if plan.interval is None:
        return elapsed * speed
    cycle = plan.interval + plan.overhead
    blocks = math.floor(elapsed / cycle)
    within = elapsed - blocks * cycle
    return (blocks * plan.interval + min(within, plan.interval)) * speed


def work_saved(start: float, stop: float, speed: float, plan: CheckpointPlan, resumed: bool,
               transfer: float = 0.0, save: bool = False) -> tuple[float, float]:
    """(kept, done) work units when a segment stops at ``stop``: ``save`` (a preemption that
    checkpoints) keeps the work done by ``stop - overhead``, the save taking the last
    ``overhead`` seconds; otherwise (a failure) only completed periodic checkpoints."""
    done = work_done(start, stop, speed, plan, resumed, transfer)
    kept = work_kept(start, stop, speed, plan, resumed, transfer)
    if save:
        kept = max(kept, work_done(start, stop - plan.overhead, speed, plan, resumed, transfer))
    return kept, done
