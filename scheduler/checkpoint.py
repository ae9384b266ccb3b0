"""Checkpoint arithmetic of one run segment of a training job (pure functions).

A segment starts at ``start`` with ``remaining`` work (seconds on a speed-1 GPU) on GPUs of
speed ``speed``. It first pays ``restart`` (0 on a first start), then computes in blocks of
``interval`` compute seconds, each followed by a checkpoint pause of ``overhead``; there is no
checkpoint after the last block. So, with ``C = remaining / speed``:

    end = start + restart + C + overhead x (ceil(C / interval) - 1)

Interrupted at ``t``, the job keeps the work of its completed checkpoints only:
``k = floor((t - start - restart) / (interval + overhead))`` blocks, ``k x interval x speed``
work units (a checkpoint counts once its pause is over). Without an interval nothing is kept.
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


def segment_end(start: float, remaining: float, speed: float, plan: CheckpointPlan,
                resumed: bool) -> float:
    """When a segment finishes if nothing interrupts it."""
    compute = remaining / speed
    wall = compute + (plan.restart if resumed else 0.0)
    if plan.interval is not None and compute > 0:
        wall += plan.overhead * max(0, math.ceil(compute / plan.interval - 1e-12) - 1)
    return start + wall


def work_kept(start: float, stop: float, speed: float, plan: CheckpointPlan,
              resumed: bool) -> float:
    """Work units saved by completed checkpoints when the segment stops at ``stop``."""
    if plan.interval is None:
        return 0.0
    elapsed = stop - start - (plan.restart if resumed else 0.0)
    if elapsed <= 0:
        return 0.0
    blocks = math.floor(elapsed / (plan.interval + plan.overhead) + 1e-12)
    return blocks * plan.interval * speed


def work_done(start: float, stop: float, speed: float, plan: CheckpointPlan,
              resumed: bool) -> float:
    """Work units computed by ``stop`` (kept or not): compute time x speed."""
    elapsed = stop - start - (plan.restart if resumed else 0.0)
    if elapsed <= 0:
        return 0.0
    if plan.interval is None:
        return elapsed * speed
    cycle = plan.interval + plan.overhead
    blocks = math.floor(elapsed / cycle)
    within = elapsed - blocks * cycle
    return (blocks * plan.interval + min(within, plan.interval)) * speed
