"""A job's run segment: from a start to the next stop (finish, preemption, failure, horizon)."""

from __future__ import annotations

from dataclasses import dataclass, field

from scheduler.checkpoint import CheckpointPlan
from scheduler.cluster import Placement


@dataclass(slots=True)
class Segment:
    """The segment a running job is in. ``token`` identifies it: a timer of an earlier segment
    of the same job (interrupted since) carries another token and is ignored."""

    token: int
    placement: Placement
    start: float
    end: float
    """Planned end (finish) of the segment; ``inf`` for replicas, which run until stopped."""
    remaining_at_start: float
    """Work left (seconds at speed 1) when the segment started."""
    speed: float
    resumed: bool
    """The job ran before (preempted or failed): the segment starts with a restart."""
    plan: CheckpointPlan
    power_w: float
    """Facility watts the segment adds at its site (reserved at start, released at stop)."""
    estimate_ratio: float
    """The user's runtime estimate over the true duration (1 with exact estimates)."""
    transfer_s: float = 0.0
    """Seconds waiting for the checkpoint to arrive from another site (after the restart,
    before compute)."""
    gpus: int = field(init=False)
    """GPUs the segment holds (all of its job's), summed once: read on every attained-service
    query."""

    def __post_init__(self) -> None:
        self.gpus = sum(self.placement.gpus)

    @property
    def estimated_end(self) -> float:
        """When the scheduler expects the segment to end (EASY reservations use this)."""
        return self.start + self.estimate_ratio * (self.end - self.start)
