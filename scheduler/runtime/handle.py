"""The narrow view of a running simulation that policies, services and plugins get.

Nothing outside :mod:`scheduler.runtime.engine` and :mod:`scheduler.simulation` sees the
engine; what a queue policy or an inference service may read or ask for is listed here, so
each can be tested with a small fake (see tests/test_runtime.py).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from typing import Any, Protocol

import numpy as np
from simpy.events import URGENT

from scheduler.jobs import JobTable
from scheduler.runtime.segment import Segment


class SchedulerHandle(Protocol):
    """Clock, job arrays, running segments (read-only), attained service, wake-ups and
    replica requests."""

    @property
    def now(self) -> float:
        """Simulated time (s)."""

    @property
    def jobs(self) -> JobTable:
        """The job table (policies read it; only the engine writes it)."""

    @property
    def running(self) -> Mapping[int, Segment]:
        """Running jobs' current segments, by job id (do not modify)."""

    def attained_gpu_s(self, job: int) -> float:
        """GPU-seconds of service so far, including the running segment."""

    def speed_gain(self, job: int) -> float:
        """Best over worst speed of the job on the GPU types it may use in this cluster."""

    def speed_by_type(self, job: int) -> np.ndarray:
        """The job's speed on each GPU type (type ids of the cluster), 0 where it may not run."""

    def gpus_by_type(self) -> np.ndarray:
        """GPUs of each GPU type in the cluster (installed, up or down)."""

    def type_of(self, job: int) -> int:
        """The GPU type a running job is on."""

    def wake_at(self, when: float) -> None:
        """Run a scheduling cycle at ``when`` (policies' timers)."""

    def every(self, process: Callable[[], Generator[Any, Any, None]]) -> None:
        """Start a periodic process (a generator yielding :meth:`sleep` events)."""

    def sleep(self, delay: float) -> Any:
        """An event ``delay`` seconds from now, for processes started with :meth:`every`."""

    def sleep_to_end(self, delay: float) -> Any:
        """Like :meth:`sleep`, but processed before anything else at that instant, the end
        of the run among them: for a last step that ends exactly at the horizon."""

    def count_event(self) -> None:
        """Count one processed event (the run's ``events`` figure)."""

    def request_replica(self, workload: int) -> int:
        """A new replica job of an inference service, placed before training jobs."""

    def cancel_replica(self, job: int) -> None:
        """Withdraw a replica request that has not started."""

    def stop_replica(self, job: int) -> None:
        """Scale down: the replica ends normally now."""


class EngineHandle:
    """The :class:`SchedulerHandle` of an engine: forwards what policies and services may
    use, and nothing else (the engine itself stays out of their reach)."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    @property
    def now(self) -> float:
        return float(self._engine.env.now)

    @property
    def jobs(self) -> JobTable:
        return self._engine.jobs

    @property
    def running(self) -> Mapping[int, Segment]:
        return self._engine.running

    def attained_gpu_s(self, job: int) -> float:
        return self._engine.attained_gpu_s(job)

    def speed_gain(self, job: int) -> float:
        return self._engine.classes.speed_gain(int(self._engine.jobs.job_class[job]))

    def speed_by_type(self, job: int) -> np.ndarray:
        info = self._engine.classes[int(self._engine.jobs.job_class[job])]
        return np.where(info.type_allowed, info.speed_by_type, 0.0)

    def gpus_by_type(self) -> np.ndarray:
        cluster = self._engine.cluster
        return np.bincount(cluster.group_type, weights=cluster.group_size * cluster.group_count,
                           minlength=len(cluster.gpu_type_names)).astype(np.int64)

    def type_of(self, job: int) -> int:
        engine = self._engine
        return int(engine.cluster.group_type[engine.running[job].placement.group])

    def wake_at(self, when: float) -> None:
        self._engine.wake_at(when)

    def every(self, process: Callable[[], Generator[Any, Any, None]]) -> None:
        self._engine.env.process(process())

    def sleep(self, delay: float) -> Any:
        return self._engine.env.timeout(delay)

    def sleep_to_end(self, delay: float) -> Any:
        # The run stops at the horizon with an urgent event scheduled when the run reaches
        # it (SimPy's run(until)); an urgent event scheduled earlier comes first.
        env = self._engine.env
        event = env.event()
        event._ok, event._value = True, None  # what Event.succeed sets, without scheduling
        env.schedule(event, URGENT, delay)
        return event

    def count_event(self) -> None:
        self._engine.events += 1

    def request_replica(self, workload: int) -> int:
        return self._engine.request_replica(workload)

    def cancel_replica(self, job: int) -> None:
        self._engine.cancel_replica(job)

    def stop_replica(self, job: int) -> None:
        self._engine.stop_replica(job)
