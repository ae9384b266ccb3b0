"""What an engine is built from: the run's models and factories, built outside the engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from scheduler.checkpoint import CheckpointPlan
from scheduler.cluster import Cluster
from scheduler.interrupt import StopControl
from scheduler.jobs import JobTable
from scheduler.network import Network
from scheduler.policies import QueuePolicy
from scheduler.power import PowerModel
from scheduler.runtime.handle import SchedulerHandle
from scheduler.scenario import Scenario
from scheduler.signals import Signal
from scheduler.sources import TenantNames, WorkloadSource


@dataclass
class EngineParts:
    """What an engine is built from (see :func:`scheduler.simulation.build_engine`)."""

    scenario: Scenario
    seed: int
    backend: Any
    cluster: Cluster
    power: PowerModel
    network: Network
    jobs: JobTable
    tenants: TenantNames
    sources: list[WorkloadSource]
    carbon: list[Signal | None]
    price: list[Signal | None]
    filters: list[Any]
    scores: list[Any]
    make_policy: Callable[[SchedulerHandle], QueuePolicy]
    make_services: Callable[[SchedulerHandle], Any]
    rng: np.random.SeedSequence
    """Parent of the engine's streams (failures, runtime estimates, forecasts)."""
    progress: Any = None
    stop: StopControl | None = None


def checkpoint_plan(workload: Any) -> CheckpointPlan:
    """A workload's checkpoint plan (none: a restart loses everything since the start)."""
    spec = getattr(workload, "checkpoint", None)
    if spec is None:
        return CheckpointPlan(None, 0.0, 0.0)
    return CheckpointPlan(spec.interval, spec.overhead, spec.restart)
