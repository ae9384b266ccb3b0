"""The scenario model: pydantic v2, strict, every field documented.

Validation reports every problem at once with its field path. Cross-field checks (GPU types
that must exist, workloads that some site can host) live in :func:`check_references` so that
they also run when a field elsewhere is wrong. Units are converted to SI on load: times to
seconds, power to watts (see :mod:`scheduler.units`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    field_validator,
    model_validator,
)

from scheduler.placement_config import PlacementSpec
from scheduler.scenario_base import Seconds, StrictModel, Watts
from scheduler.traces.spec import TraceSpec

__all__ = ["Seconds", "StrictModel", "Watts"]

MAX_NODES_PER_GROUP = 10_000_000
MAX_GPUS_PER_NODE = 1024
MAX_GPUS_PER_JOB = 1_000_000


# --------------------------------------------------------------------------- catalog, sites


class GpuTypeSpec(StrictModel):
    """A GPU type added to the catalog, or fields overriding a built-in one."""

    memory_gb: float | None = Field(default=None, gt=0)
    """HBM capacity in GB."""
    idle_w: Watts | None = None
    """Power of one GPU when no job runs on it."""
    busy_w: Watts | None = Field(default=None, gt=0)
    """Power of one GPU running a training job (board power, TDP)."""
    bf16_tflops: float | None = Field(default=None, gt=0)
    """Dense bf16 throughput, used as the default relative speed."""
    host_overhead_w_per_8_gpus: Watts | None = None
    """Default host overhead (CPUs, NICs, fans) of an 8-GPU server; scaled per node size."""


class Location(StrictModel):
    """Geographic coordinates in decimal degrees."""

    lat: float = Field(ge=-90, le=90)
    """Latitude."""
    lon: float = Field(ge=-180, le=180)
    """Longitude."""



class NodeGroup(StrictModel):
    """``count`` identical nodes of one GPU type."""

    gpu: str = Field(min_length=1)
    """GPU type name from the catalog (built in or added under ``gpu_types``)."""
    gpus_per_node: int = Field(ge=1, le=MAX_GPUS_PER_NODE)
    """GPUs in each node."""
    count: int = Field(ge=1, le=MAX_NODES_PER_GROUP)
    """Number of nodes."""
    overhead_w: Watts | None = None
    """Host power of one node besides its GPUs; default scales the GPU type's 8-GPU figure."""


class Site(StrictModel):
    """A data-center site of the regional cluster."""

    name: str = Field(min_length=1)
    """Unique site name."""
    location: Location | None = None
    """Coordinates (used by the network model and maps)."""
    pue: float = Field(default=1.0, ge=1.0, le=5.0)
    """Power usage effectiveness: facility power = IT power x PUE."""
    power_cap: Watts | None = None
    """Facility power the site may never exceed (enforced by the energy model)."""
    nodes: list[NodeGroup] = Field(default_factory=list)
    """Node groups; a site may be listed with none (planned, not yet built)."""



# --------------------------------------------------------------------------- distributions


class DailyWeeklyProfile(StrictModel):
    """Relative arrival-rate multipliers; normalised so that their mean is 1."""

    daily: list[float] | None = Field(default=None, min_length=24, max_length=24)
    """24 hourly multipliers (hour 0 = midnight, simulation time 0 is a Monday 00:00)."""
    weekly: list[float] | None = Field(default=None, min_length=7, max_length=7)
    """7 daily multipliers, Monday first."""


    @field_validator("daily", "weekly")
    @classmethod
    def _non_negative(cls, value: list[float] | None) -> list[float] | None:
        if value is not None:
            if any(not (v >= 0 and v < float("inf")) for v in value):
                raise ValueError("multipliers must be finite and >= 0")
            if sum(value) <= 0:
                raise ValueError("at least one multiplier must be > 0")
        return value


class PoissonArrival(StrictModel):
    """Poisson arrivals, optionally non-homogeneous through daily and weekly profiles."""

    process: Literal["poisson"]
    rate_per_hour: float = Field(gt=0, le=1e9)
    """Mean arrivals per hour (over a week, when profiles are given)."""
    profile: DailyWeeklyProfile | None = None
    """Daily and weekly shape of the rate (mean-preserving)."""



class GpuChoice(StrictModel):
    """GPU count drawn from a weighted choice."""

    choice: list[Annotated[int, Field(ge=1, le=MAX_GPUS_PER_JOB)]] = Field(min_length=1)
    """Possible GPU counts."""
    weights: list[float] | None = None
    """Relative weights (default: uniform); same length as ``choice``."""


    @model_validator(mode="after")
    def _same_length(self) -> GpuChoice:
        if self.weights is not None:
            if len(self.weights) != len(self.choice):
                raise ValueError(
                    f"weights has {len(self.weights)} entries but choice has {len(self.choice)}"
                )
            if any(not (w >= 0 and w < float("inf")) for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError("weights must be finite, >= 0, and not all 0")
        return self


class GpuEmpirical(StrictModel):
    """GPU count drawn uniformly from observed values (e.g. a trace's job sizes)."""

    empirical: list[Annotated[int, Field(ge=1, le=MAX_GPUS_PER_JOB)]] = Field(min_length=1)
    """Observed GPU counts; each draw picks one uniformly."""


def _gpu_count_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return "[empirical]" if "empirical" in value else "[choice]"
    if isinstance(value, GpuChoice):
        return "[choice]"
    if isinstance(value, GpuEmpirical):
        return "[empirical]"
    return "[int]"


GpuCount = Annotated[
    Annotated[Annotated[int, Field(ge=1, le=MAX_GPUS_PER_JOB)], Tag("[int]")]
    | Annotated[GpuChoice, Tag("[choice]")]
    | Annotated[GpuEmpirical, Tag("[empirical]")],
    Discriminator(_gpu_count_kind),
]
"""GPUs per job: an int, a weighted choice or an empirical list (branch chosen by shape)."""


class _Capped(StrictModel):
    cap: Seconds | None = None
    """Durations above this are cut to it (a queue's wall-time limit)."""
    min: Seconds = 1.0
    """Durations below this are raised to it (seconds; default 1 s)."""


class ExponentialDuration(_Capped):
    """Exponential durations."""

    distribution: Literal["exponential"]
    mean: Seconds = Field(gt=0)
    """Mean duration."""


class LognormalDuration(_Capped):
    """Lognormal durations by median and shape: heavy tails as in every public GPU trace."""

    distribution: Literal["lognormal"]
    median: Seconds = Field(gt=0)
    """Median duration (exp of the log-mean)."""
    sigma: float = Field(gt=0, le=10)
    """Standard deviation of log(duration); public traces show about 2.5."""



class EmpiricalDuration(_Capped):
    """Durations resampled from observed values: a list, or a one-column CSV file."""

    distribution: Literal["empirical"]
    values: list[Seconds] | None = None
    """Observed durations."""
    file: str | None = None
    """CSV file with a header and durations in seconds in its first column (relative paths
    are resolved from the scenario file); ``builtin:philly-runtime`` names the packaged
    83,154 Philly task runtimes."""
    scale: float = Field(default=1.0, gt=0)
    """Multiply every value by this."""

    @model_validator(mode="after")
    def _one_source(self) -> EmpiricalDuration:
        if (self.values is None) == (self.file is None):
            raise ValueError("give exactly one of values or file")
        if self.values is not None and not self.values:
            raise ValueError("values must not be empty")
        return self


_DURATION_TAGS = {"exponential", "lognormal", "empirical"}


def _duration_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        name = value.get("distribution")
        if name not in _DURATION_TAGS:
            return None  # pydantic reports the allowed names
        return f"[{name}]"
    if isinstance(value, _Capped):
        return f"[{value.distribution}]"  # type: ignore[attr-defined]
    return "[time]"


Duration = Annotated[
    Annotated[Seconds, Tag("[time]")]
    | Annotated[ExponentialDuration, Tag("[exponential]")]
    | Annotated[LognormalDuration, Tag("[lognormal]")]
    | Annotated[EmpiricalDuration, Tag("[empirical]")],
    Discriminator(
        _duration_kind,
        custom_error_type="duration_kind",
        custom_error_message="expected a time (\"2h\") or {distribution: exponential | "
        "lognormal | empirical, ...}",
    ),
]
"""A fixed time, or a distribution chosen by its ``distribution`` key."""


# --------------------------------------------------------------------------- workloads


class TrainingWorkload(StrictModel):
    """A stream of training jobs: arrivals, GPU counts and durations."""

    name: str = Field(min_length=1)
    """Unique workload name."""
    kind: Literal["training"] = "training"
    """Workload kind."""
    arrival: PoissonArrival
    """Arrival process."""
    gpus: GpuCount
    """GPUs per job: an int, ``{choice: [...], weights: [...]}`` or ``{empirical: [...]}``."""
    duration: Duration
    """Run time on the reference GPU: a time, or a distribution."""
    gpu_types: list[str] | None = Field(default=None, min_length=1)
    """GPU types the jobs may run on (default: any)."""
    tenant: str = "default"
    """Tenant (team) the jobs belong to."""
    max_jobs: int | None = Field(default=None, ge=1, le=100_000_000)
    """Stop generating after this many jobs."""


class TraceWorkload(StrictModel):
    """Jobs replayed from a trace file (formats and field mappings: docs/traces.md)."""

    name: str = Field(min_length=1)
    """Unique workload name."""
    kind: Literal["training", "inference"] = "training"
    """Kind of the jobs when the trace does not say (request traces say ``inference``)."""
    trace: TraceSpec
    """Which file, which format, and how to adapt it."""
    gpu_types: list[str] | None = Field(default=None, min_length=1)
    """GPU types allowed for rows that name none (default: any)."""
    tenant: str = "default"
    """Tenant of rows whose trace gives none."""


def _workload_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "[trace]" if "trace" in value else "[generated]"
    return "[trace]" if isinstance(value, TraceWorkload) else "[generated]"


Workload = Annotated[
    Annotated[TrainingWorkload, Tag("[generated]")] | Annotated[TraceWorkload, Tag("[trace]")],
    Discriminator(_workload_kind),
]
"""A generated workload (``arrival``, ``gpus``, ``duration``) or a replayed ``trace``."""


# --------------------------------------------------------------------------- policy


class PolicySpec(StrictModel):
    """How jobs are ordered and placed."""

    queue: Literal["fifo"] = "fifo"
    """Queue order: ``fifo`` (strict head of line)."""
    placement: PlacementSpec = Field(default_factory=PlacementSpec)
    """Filter and score plugins deciding where jobs run."""


# --------------------------------------------------------------------------- scenario


class Scenario(StrictModel):
    """A complete simulation: the cluster, the workloads, the policy and the horizon."""

    name: str = Field(default="scenario", min_length=1)
    """Name recorded in the results."""
    seed: int | None = Field(default=None, ge=0, lt=2**63)
    """Seed of every random stream; drawn and recorded when absent."""
    duration: Seconds = Field(gt=0)
    """Horizon: arrivals stop here; jobs still running are reported unfinished."""
    drain: bool = False
    """Keep simulating after ``duration`` until every admitted job ends."""
    backend: Literal["auto", "numpy", "cupy"] = "auto"
    """Array backend of the placement kernels."""
    gpu_types: dict[str, GpuTypeSpec] = Field(default_factory=dict)
    """Additions to, or overrides of, the built-in GPU catalog."""
    sites: list[Site] = Field(min_length=1)
    """The sites of the cluster."""
    workloads: list[Workload] = Field(min_length=1)
    """The job streams."""
    policy: PolicySpec = Field(default_factory=PolicySpec)
    """Scheduling policy."""
    timeseries_step: Seconds | None = Field(default=None, gt=0)
    """Sampling step of the time series (default: duration / 500)."""

    _source_dir: Path | None = PrivateAttr(default=None)

    @property
    def source_dir(self) -> Path | None:
        """Folder of the scenario file: relative paths inside it are resolved from here."""
        return self._source_dir

    def attach_source_dir(self, folder: Path | None) -> None:
        """Record where the scenario file lives (set by the loader)."""
        self._source_dir = folder

    def resolve_path(self, path: str) -> Path:
        """A path from the scenario, relative to the scenario file's folder."""
        candidate = Path(path).expanduser()
        if candidate.is_absolute() or self._source_dir is None:
            return candidate
        return self._source_dir / candidate
