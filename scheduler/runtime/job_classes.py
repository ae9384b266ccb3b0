"""Job classes: interchangeable jobs (same workload, size, GPU-type constraint and kind).

Placement works per class, not per job: a class's filters, scores, per-column speed and power
are computed once. Class ids are dense integers, stored in the job table's ``job_class``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gpu import CapacityState, JobShape
from scheduler.cluster import Cluster
from scheduler.hardware_speed import UNIFORM, hardware_speeds
from scheduler.inference.service_perf import present_gpu_types, service_performance
from scheduler.jobs import KIND_NAMES
from scheduler.power import PowerModel
from scheduler.runtime.reasons import Reason
from scheduler.scenario import InferenceWorkload, Scenario


@dataclass(frozen=True)
class JobClass:
    """What placement needs to know about interchangeable jobs."""

    gpus: int
    type_allowed: np.ndarray
    kind: int
    workload: int
    speed_by_type: np.ndarray
    fits: bool
    """Could run on the empty cluster (else its jobs are rejected at arrival)."""
    shape: JobShape
    speed_by_node_class: list[float]
    """Speed on each node class's GPU type (Python list: read once per start)."""
    power_by_node_class: list[float]
    """Facility watts the job adds on each node class (GPUs' extra draw x kind factor x PUE)."""
    spread_factor: tuple[float, float] = (1.0, 1.0)
    """Speed factor by ``placement spans several nodes`` (False, True): ``(1, 1 / the
    workload's spread_slowdown)``; indexed by a bool at each start."""
    never_fits_reason: int = Reason.NEVER_FITS
    """Reason code of its jobs' rejection when it never fits (a more precise one when the
    source knows why, e.g. a trace row's GPU type that the scenario lacks)."""


class JobClasses:
    """The registry of a run's job classes (``classes[id]``), created as jobs arrive."""

    def __init__(self, scenario: Scenario, cluster: Cluster, power: PowerModel,
                 capacity: CapacityState, first_free_code: int) -> None:
        self.scenario = scenario
        self.cluster = cluster
        self.power = power
        self.capacity = capacity
        self.classes: list[JobClass] = []
        self.extra_reasons: list[str] = []
        """Texts of the rejection reasons sources gave, coded from ``first_free_code`` on."""
        self._first_free_code = first_free_code
        self._id_of: dict[tuple[int, int, int, int], int] = {}
        self._types_present = np.zeros(len(cluster.gpu_type_names), dtype=bool)
        self._types_present[cluster.group_type] = True

    def __getitem__(self, cls: int) -> JobClass:
        return self.classes[cls]

    def speed_table(self, workload: int) -> np.ndarray:
        """Speed of the workload per GPU type: the scenario's ``speedup`` table, or an
        inference service's from its ``model`` (unlisted types 1); else, for training, the
        hardware speed of its ``model_class`` (:mod:`scheduler.hardware_speed`); 0 on types
        without the memory it needs."""
        spec = self.scenario.workloads[workload]
        cluster = self.cluster
        memory = getattr(spec, "memory_gb_per_gpu", None)
        service = isinstance(spec, InferenceWorkload)
        table = (service_performance(spec, present_gpu_types(self.scenario)).speedup
                 if isinstance(spec, InferenceWorkload) else spec.speedup)
        if table or service:  # service replicas: their model's speeds, else 1
            speed = np.ones(len(cluster.gpu_type_names))
            for name, value in (table or {}).items():
                if name in cluster.type_index:
                    speed[cluster.type_index[name]] = value
            return hardware_speeds(UNIFORM, cluster.gpu_types, 0, memory) * speed
        reference = getattr(spec, "reference_gpu", None)
        ref = (cluster.type_index[reference] if reference is not None
               else int(cluster.group_type[0]) if cluster.group_type.size else 0)
        return hardware_speeds(getattr(spec, "model_class", UNIFORM), cluster.gpu_types, ref,
                               memory)

    def ids(self, workload: int, type_masks: list[np.ndarray], gpus: np.ndarray,
            type_key: np.ndarray, kind: np.ndarray,
            type_reasons: dict[int, str] | None = None) -> np.ndarray:
        """Class id of each job of a chunk (new classes are registered); ``type_reasons``:
        why a GPU-type constraint (by key) can never be met, when the source knows."""
        ids = np.empty(gpus.shape[0], dtype=np.int32)
        rows = np.stack([gpus, type_key, kind.astype(np.int64)], axis=1)
        unique, inverse = np.unique(rows, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        for row, (size, key, kind_code) in enumerate(unique.tolist()):
            signature = (workload, size, key, kind_code)
            cls = self._id_of.get(signature)
            if cls is None:
                cls = self._register(signature, type_masks[key],
                                     (type_reasons or {}).get(key))
            ids[inverse == row] = cls
        return ids

    def _register(self, signature: tuple[int, int, int, int], allowed: np.ndarray,
                  type_reason: str | None) -> int:
        workload, size, _, kind_code = signature
        cls = len(self.classes)
        cols = self.cluster.columns
        facility_w = self.power.job_facility_w(KIND_NAMES[kind_code], size, cols.gpu_type,
                                               cols.site)
        speed = self.speed_table(workload)
        if not (speed > 0).all():  # types without the memory the workload needs
            allowed = allowed & (speed > 0)
            if not (allowed & self._types_present).any():
                type_reason = type_reason or "no GPU type has the memory the workload needs"
        fits = self.cluster.can_ever_fit(size, allowed)
        self._id_of[signature] = cls
        self.classes.append(JobClass(
            gpus=size, type_allowed=allowed, kind=kind_code, workload=workload,
            speed_by_type=speed, fits=fits,
            shape=JobShape.of(size, self.capacity, facility_w if self.power.enforced else None,
                              self.cluster.scattered),
            speed_by_node_class=speed[cols.gpu_type].tolist(),
            power_by_node_class=facility_w.tolist(),
            spread_factor=(1.0, 1.0 / getattr(self.scenario.workloads[workload],
                                              "spread_slowdown", 1.0)),
            never_fits_reason=self._reason_code(type_reason) if not fits else Reason.NEVER_FITS))
        return cls

    def _reason_code(self, text: str | None) -> int:
        if text is None:
            return Reason.NEVER_FITS
        if text not in self.extra_reasons:
            self.extra_reasons.append(text)
        return self._first_free_code + self.extra_reasons.index(text)

    def speed_gain(self, cls: int) -> float:
        """Best over worst speed of the class on the GPU types it may use in this cluster."""
        info = self.classes[cls]
        speeds = info.speed_by_type[info.type_allowed & self._types_present]
        return float(speeds.max() / speeds.min()) if speeds.size else 1.0
