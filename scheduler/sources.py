"""Job sources: generated workloads and replayed traces, as streams of array chunks.

A source yields :class:`JobChunk` s in arrival order. GPU-type constraints are per job, as an
index into the source's ``type_masks`` (0 = the workload's own constraint), so that trace
rows naming their allowed models ("V100M16|V100M32") keep them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from scheduler.arrivals import arrival_times
from scheduler.distributions import DurationSampler, sample_gpus
from scheduler.growth import size_growth, workload_growth
from scheduler.jobs import KIND_NAMES
from scheduler.scenario import InferenceWorkload, Scenario, TraceWorkload, TrainingWorkload
from scheduler.traces import TraceReport, read_trace


@dataclass
class JobChunk:
    """Consecutive jobs of one source (parallel arrays)."""

    arrival_s: np.ndarray
    gpus: np.ndarray
    duration_s: np.ndarray
    type_key: np.ndarray
    """int: index into the source's ``type_masks``."""
    kind: np.ndarray
    """int8: index into ``KIND_NAMES``."""
    tenant: np.ndarray
    """int: index into the engine's tenant names."""


@dataclass
class WorkloadSource:
    """A workload's job stream and the per-job constraint tables it refers to."""

    index: int
    name: str
    chunks: Callable[[], Iterator[JobChunk]]
    type_masks: list[np.ndarray]
    """bool [types] masks; entry 0 is the workload's own constraint."""
    report: TraceReport | None = None
    """Rows read, used and skipped, for trace sources (filled while replaying)."""
    type_keys: dict[str, int] = field(default_factory=dict)
    type_reasons: dict[int, str] = field(default_factory=dict)
    """Type key -> why its jobs can never run, when the constraint names only GPU types the
    scenario does not have (a trace row's ``Z100``): the rejection reason to give instead of
    a generic "cannot fit"."""


def allowed_mask(type_index: dict[str, int], names: list[str] | None) -> np.ndarray:
    """bool mask over the catalog's GPU types; None = every type."""
    mask = np.zeros(len(type_index), dtype=bool)
    if names is None:
        mask[:] = True
    else:
        for name in names:
            if name in type_index:
                mask[type_index[name]] = True
    return mask


class TenantNames:
    """Tenant name <-> index, shared by all sources of a run."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._index: dict[str, int] = {}

    def index(self, name: str) -> int:
        found = self._index.get(name)
        if found is None:
            found = self._index[name] = len(self.names)
            self.names.append(name)
        return found


def synthetic_source(scenario: Scenario, type_index: dict[str, int], index: int,
                     seed: np.random.SeedSequence, tenants: TenantNames,
                     chunk: int = 65536) -> WorkloadSource:
    """A generated workload with independent child random streams (arrivals, sizes,
    durations), so changing one distribution does not reshuffle the others."""
    workload = scenario.workloads[index]
    assert isinstance(workload, TrainingWorkload)
    arrival_seed, gpus_seed, duration_seed = seed.spawn(3)
    sampler = DurationSampler(workload.duration, scenario, f"workloads.{index}.duration")
    sizes = size_growth(workload, scenario.start)
    tenant = tenants.index(workload.tenant)
    kind = KIND_NAMES.index(workload.kind)

    def chunks() -> Iterator[JobChunk]:
        arrival_rng = np.random.default_rng(arrival_seed)
        gpus_rng = np.random.default_rng(gpus_seed)
        duration_rng = np.random.default_rng(duration_seed)
        for times in arrival_times(workload.arrival, scenario.duration, arrival_rng, chunk,
                                   workload.max_jobs, scenario.start):
            n = times.shape[0]
            durations = sampler.sample(duration_rng, n)
            if sizes is not None:  # jobs of the same draws, grown by their arrival date
                durations = durations * sizes.factor(times)
            yield JobChunk(times, sample_gpus(workload.gpus, gpus_rng, n),
                           durations, np.zeros(n, dtype=np.int64),
                           np.full(n, kind, dtype=np.int8), np.full(n, tenant, dtype=np.int64))

    return WorkloadSource(index, workload.name, chunks,
                          [allowed_mask(type_index, workload.gpu_types)])


def trace_source(scenario: Scenario, type_index: dict[str, int], index: int,
                 tenants: TenantNames, chunk: int = 65536) -> WorkloadSource:
    """A replayed trace: rows streamed from the file, only those arriving before the horizon.

    With demand growth, arrival times are warped by the inverse of the integrated factor
    (:mod:`scheduler.growth`): every row is kept, in order, at a local rate x the factor.

    A row naming GPU types keeps them as its constraint (names the catalog does not know are
    ignored; a row left with none can never run and is rejected at arrival with a reason).
    """
    workload = scenario.workloads[index]
    assert isinstance(workload, TraceWorkload)
    source = WorkloadSource(index, workload.name, lambda: iter(()),
                            [allowed_mask(type_index, workload.gpu_types)])
    default_tenant = tenants.index(workload.tenant)
    growth = workload_growth(workload, scenario.start)

    def type_key(text: str, line: int) -> int:
        if not text:
            return 0
        key = source.type_keys.get(text)
        if key is None:
            key = source.type_keys[text] = len(source.type_masks)
            names = text.split("|")
            source.type_masks.append(allowed_mask(type_index, names))
            _note_unknown_types(source, key, names, type_index, line)
        return key

    def chunks() -> Iterator[JobChunk]:
        reader = read_trace(workload.trace, base_dir=scenario.source_dir, chunk_rows=chunk)
        source.report = reader.report
        with reader:
            for part in reader:
                arrivals = part.arrival_s
                if growth is not None:  # t' = L^-1(t): local rate x factor, order kept
                    arrivals = growth.inverse_integral(arrivals)
                inside = arrivals < scenario.duration
                n = int(inside.sum())
                if n == 0:
                    break
                kinds = np.array([KIND_NAMES.index(k) if k in KIND_NAMES
                                  else KIND_NAMES.index(workload.kind)
                                  for k in part.kind[:n].tolist()], dtype=np.int8)
                tenant_ids = np.array([tenants.index(t) if t else default_tenant
                                       for t in part.tenant[:n].tolist()], dtype=np.int64)
                keys = np.array([type_key(t, line) for t, line in
                                 zip(part.gpu_type[:n].tolist(), part.line[:n].tolist(),
                                     strict=True)], dtype=np.int64)
                yield JobChunk(arrivals[:n], part.gpus[:n].astype(np.int64),
                               part.duration_s[:n], keys, kinds, tenant_ids)
                if n < len(part):
                    break

    source.chunks = chunks
    return source


def _note_unknown_types(source: WorkloadSource, key: int, names: list[str],
                        type_index: dict[str, int], line: int) -> None:
    """Tell, in the trace report, about GPU type names the scenario does not have; when a
    constraint names no known type at all, record why its jobs can never run."""
    unknown = [name for name in names if name not in type_index]
    if not unknown:
        return
    quoted = ", ".join(repr(name) for name in unknown)
    known = ", ".join(sorted(type_index))
    if len(unknown) == len(names):
        reason = f"GPU type {quoted} is not in the scenario (it has {known})"
        source.type_reasons[key] = reason
        consequence = "its jobs can never run and are rejected"
    else:
        consequence = "ignored (the row's other types remain allowed)"
    if source.report is not None:
        source.report.notes.append(f"gpu_type {quoted} (first at line {line}) names no GPU "
                                   f"type of the scenario (it has {known}): {consequence}")


def build_sources(scenario: Scenario, type_index: dict[str, int], seed: int,
                  tenants: TenantNames) -> list[WorkloadSource]:
    """One source per workload, each with its own child seed."""
    seeds = np.random.SeedSequence(seed).spawn(len(scenario.workloads))
    sources = []
    for i, workload in enumerate(scenario.workloads):
        if isinstance(workload, InferenceWorkload):  # replicas come from the autoscaler
            sources.append(WorkloadSource(i, workload.name, lambda: iter(()),
                                          [allowed_mask(type_index, workload.gpu_types)]))
        elif isinstance(workload, TraceWorkload):
            sources.append(trace_source(scenario, type_index, i, tenants))
        else:
            sources.append(synthetic_source(scenario, type_index, i, seeds[i], tenants))
    return sources
