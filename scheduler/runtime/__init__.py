"""The runtime: an engine that keeps time and applies decisions, and the pieces it is built from.

Layers (see docs/architecture.md):

* :mod:`.engine` keeps time (SimPy processes and timers, cycle coalescing) and applies
  decisions (start, stop, interrupt); only :mod:`scheduler.simulation` imports it.
* :mod:`.cycle` decides: pending jobs in policy order through the blocking rule, the placement
  walk (:func:`gpu.walk.walk`), quotas, EASY reservations and preemption (:mod:`.deciders`).
* :mod:`.handle` is the narrow view that policies, services and plugins get instead of the
  engine; the other modules are the engine's parts (job classes and their placement keys,
  the pending queue, power budgets, deferral, failures), each testable on its own.
"""

from scheduler.runtime.handle import SchedulerHandle
from scheduler.runtime.reasons import Reason
from scheduler.runtime.segment import Segment

__all__ = ["Reason", "SchedulerHandle", "Segment"]
