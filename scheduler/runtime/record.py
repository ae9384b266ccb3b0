"""What a finished run leaves for the summary: the tables, the models and the counters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scheduler.cluster import Cluster
from scheduler.interrupt import StopControl
from scheduler.jobs import JobTable, SegmentLog
from scheduler.power import PowerModel
from scheduler.scenario import Scenario
from scheduler.signals import Signal
from scheduler.sources import TenantNames, WorkloadSource


@dataclass(frozen=True)
class RunRecord:
    """Read by :func:`scheduler.summarize.build_result` (nothing here changes after a run)."""

    scenario: Scenario
    seed: int
    backend_name: str
    policy_name: str
    cluster: Cluster
    power: PowerModel
    jobs: JobTable
    segments: SegmentLog
    tenants: TenantNames
    sources: list[WorkloadSource]
    carbon: list[Signal | None]
    price: list[Signal | None]
    services: Any
    """The run's :class:`scheduler.services.ServiceManager` (summary and power adjustments)."""
    reasons: list[str]
    """Text of each reason code (built-in reasons, then one per placement filter)."""
    pending_log: list[tuple[float, dict[int, int]]]
    """(time, {reason code: pending jobs}) after each cycle."""
    end_time: float
    events: int
    cycles: int
    node_repairs: int
    stop: StopControl
