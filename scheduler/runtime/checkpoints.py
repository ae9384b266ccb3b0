"""Where each job's latest checkpoint lives, what a stop keeps, and what a resume moves.

* A stop keeps work by :func:`scheduler.checkpoint.work_saved`: a preemption saves first
  (``policy.preemption.checkpoint``, default true), a failure keeps the last periodic
  checkpoint.
* The checkpoint lives where it was last written: a segment that saved nothing (stopped
  during its restart, or a failure before its first periodic checkpoint) leaves it where it
  was. A job resumed at another site first waits for it to arrive (``size_gb_per_gpu`` x
  GPUs over the inter-site network); a job that never saved anything restarts from scratch
  anywhere, with nothing to move.
"""

from __future__ import annotations

from collections.abc import Callable

from scheduler.checkpoint import work_saved
from scheduler.network import Network
from scheduler.runtime.segment import Segment


class Checkpoints:
    """Checkpoint sites by job, and the save and move arithmetic of stops and resumes."""

    def __init__(self, network: Network, size_gb_per_gpu: Callable[[int], float],
                 save_on_preempt: bool) -> None:
        self.network = network
        self._size = size_gb_per_gpu
        """Checkpoint GB per GPU of a job (0 without a checkpoint block)."""
        self.save_on_preempt = save_on_preempt
        self.site: dict[int, int] = {}
        """Job -> site holding its latest checkpoint (absent: nothing saved yet)."""

    def transfer_s(self, job: int, gpus: int, site: int) -> float:
        """Seconds to bring the job's checkpoint to ``site`` before it computes there."""
        source = self.site.get(job, -1)
        if source < 0 or source == site:
            return 0.0
        return self.network.transfer_s(source, site, self._size(job) * gpus)

    def stop(self, job: int, segment: Segment, now: float, preempted: bool) -> tuple[float, float]:
        """(kept, done) work units of a segment stopped at ``now`` (kept capped at the work
        left); records the site when the segment saved something."""
        kept, done = work_saved(segment.start, now, segment.speed, segment.plan,
                                segment.resumed, segment.transfer_s,
                                preempted and self.save_on_preempt)
        kept = min(kept, segment.remaining_at_start)
        if kept > 0:
            self.site[job] = segment.placement.site
        return kept, done
