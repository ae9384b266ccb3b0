"""The scenario model: pydantic v2, strict, every field documented.

Validation reports every problem at once with its field path. Cross-field checks (GPU types
that must exist, workloads that some site can host) live in :func:`check_references` so that
they also run when a field elsewhere is wrong. Units are converted to SI on load: times to
seconds, power to watts (see :mod:`scheduler.units`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    field_validator,
    model_validator,
)

from scheduler.calendar_dates import Moment, calendar_fields, start_in_force
from scheduler.generation_swaps import expand_swaps
from scheduler.growth_spec import GrowthTable, one_growth
from scheduler.period_config import ReportSpec
from scheduler.placement_config import PlacementSpec
from scheduler.queue_config import (
    FifoQueue,
    LasOptions,
    PriorityOptions,
    QueueSpec,
    queue_block,
)
from scheduler.scenario_base import Seconds, StrictModel, Watts
from scheduler.signals import GridSpec
from scheduler.signals.dates import DEFAULT_START
from scheduler.signals.specs import StartDate
from scheduler.timeline_specs import (
    CapStep,
    RampSpec,
    SwapSpec,
    as_swap_list,
    check_steps_ordered,
    check_swaps,
)
from scheduler.traces.spec import TraceSpec

__all__ = ["Seconds", "StrictModel", "Watts"]

MAX_NODES_PER_GROUP = 10_000_000
MAX_GPUS_PER_NODE = 1024
MAX_GPUS_PER_JOB = 1_000_000
MAX_DEFERRAL_S = 366 * 86400.0
"""Longest deferral: the engine scans candidate starts every half hour over the window."""

# Physical bounds (issue 20.7): values beyond them are unit slips or typos, and far enough
# beyond they overflow to inf in energy sums and crash the summary. Each is ~4x or more
# above anything built or announced, so a real device always fits.
MAX_GPU_POWER_W = 10_000.0
"""Busy or idle power of one GPU: the largest boards draw 1.0-1.2 kW (B200, GB200 per GPU)."""
MAX_HOST_OVERHEAD_W_PER_8_GPUS = 100_000.0
"""Host power of an 8-GPU server besides its GPUs: DGX-class servers add 3-5 kW."""
MAX_NODE_OVERHEAD_W = 1_000_000.0
"""Host power of one node: up to 1,024 GPUs per node at ~1 kW of host each."""
MAX_GPU_MEMORY_GB = 100_000.0
"""Memory of one GPU (today 80-288 GB)."""
MIN_TFLOPS, MAX_TFLOPS = 1e-3, 1e6
"""Dense bf16 throughput of one GPU (today 100-2,500 TFLOPS)."""
MIN_SPEEDUP, MAX_SPEEDUP = 1e-3, 1000.0
"""Relative speed on a GPU type: a factor of 1,000 either way (real ones span < 100x); a
speed near 0 makes durations infinite."""
MAX_CHECKPOINT_GB_PER_GPU = 10_000.0
"""Checkpoint per GPU: at most a few times the GPU's memory (today < 300 GB)."""
MIN_SCALE, MAX_SCALE = 1e-6, 1e6
"""Factor on empirical durations (e.g. a trace in ms or in minutes needs 1e-3 or 60)."""
MIN_BANDWIDTH_GBPS, MAX_BANDWIDTH_GBPS = 1e-3, 1e6
"""Inter-site bandwidth: 1 Mb/s to 1 Pb/s (near 0, a migration never ends)."""
MAX_LATENCY_MS = 1e6
"""One-way latency of a link (1,000 s; the Earth's circumference in fibre is ~200 ms)."""


# --------------------------------------------------------------------------- catalog, sites


class GpuTypeSpec(StrictModel):
    """A GPU type added to the catalog, or fields overriding a built-in one."""

    memory_gb: float | None = Field(default=None, gt=0, le=MAX_GPU_MEMORY_GB)
    """HBM capacity in GB."""
    idle_w: Watts | None = Field(default=None, le=MAX_GPU_POWER_W)
    """Power of one GPU when no job runs on it (at most 10 kW)."""
    busy_w: Watts | None = Field(default=None, gt=0, le=MAX_GPU_POWER_W)
    """Power of one GPU running a training job (board power, TDP; at most 10 kW)."""
    bf16_tflops: float | None = Field(default=None, ge=MIN_TFLOPS, le=MAX_TFLOPS)
    """Dense bf16 throughput (TFLOPS): with ``hbm_tb_s``, the hardware speed of a workload's
    ``model_class`` on this type (docs/policies-and-plugins.md)."""
    hbm_tb_s: float | None = Field(default=None, gt=0, le=1000)
    """HBM bandwidth (TB/s), the other input of the hardware speed."""
    host_overhead_w_per_8_gpus: Watts | None = Field(default=None,
                                                     le=MAX_HOST_OVERHEAD_W_PER_8_GPUS)
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
    overhead_w: Watts | None = Field(default=None, le=MAX_NODE_OVERHEAD_W)
    """Host power of one node besides its GPUs; default scales the GPU type's 8-GPU figure."""
    online: Moment | None = None
    """Build-out timeline: when the group enters service (default: at 0), an offset from
    time 0 (``180d``) or a calendar date (``2027-12-31``, before ``start``: at 0); before
    it, its nodes are down (see docs/timeline.md)."""
    offline: Moment | None = None
    """Decommissioning: when the group leaves service for good (an offset or a date; before
    ``start``: never in service); jobs running on it are preempted (checkpointed as on any
    preemption) and requeued."""
    ramp: RampSpec | None = None
    """Nodes enter service in monthly tranches from ``online`` (default: all at once)."""
    swap: Annotated[list[SwapSpec], BeforeValidator(as_swap_list)] = Field(default_factory=list)
    """GPU generation swaps: at each ``at`` the group's nodes are replaced by new ones (the
    group is expanded at load into one group per generation, docs/timeline.md)."""

    _calendar: dict[str, str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _remember_dates(cls, data: Any, handler: Any) -> NodeGroup:
        group = handler(data)
        if isinstance(data, dict):  # dates as written, for `clustersim validate`
            group._calendar = calendar_fields(data, ("online", "offline"))
        return group

    @model_validator(mode="after")
    def _online_before_offline(self) -> NodeGroup:
        # No online: in service since before the run (any offline or swap date is after).
        online = self.online if self.online is not None else -math.inf
        if self.offline is not None and self.offline <= online:
            raise ValueError(f"offline ({self.offline:g} s) must be after online "
                             f"({online:g} s)")
        check_swaps(self.swap, online, self.offline)
        return self


class DemandResponseWindow(StrictModel):
    """The site's facility power cap drops to ``power_cap`` from ``start`` to ``end``."""

    start: Moment
    """When the window opens: an offset from time 0 or a calendar date (before ``start``:
    open from time 0)."""
    end: Moment
    """When the window closes (the normal cap returns): an offset or a date."""
    power_cap: Watts = Field(gt=0)
    """Facility power cap during the window."""
    action: Literal["hold", "preempt"] = "hold"
    """``hold``: no new starts that would cross the cap; ``preempt``: also checkpoint and
    stop running jobs (lowest priority, latest started first) until power is under the cap."""

    @model_validator(mode="after")
    def _ordered(self) -> DemandResponseWindow:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end:g} s) must be after start ({self.start:g} s)")
        return self


class Site(StrictModel):
    """A data-center site of the regional cluster."""

    name: str = Field(min_length=1)
    """Unique site name."""
    location: Location | None = None
    """Coordinates (used by the network model and maps)."""
    pue: float = Field(default=1.0, ge=1.0, le=5.0)
    """Power usage effectiveness: facility power = IT power x PUE."""
    power_cap: (Annotated[Watts, Field(gt=0)]
                | Annotated[list[CapStep], AfterValidator(check_steps_ordered)] | None) = None
    """Facility power the site may never exceed: new starts are held when a job would cross
    it (a live placement constraint). A constant, or a table by date ``[{from: 2026-01-01,
    cap: 100MW}, {from: 2028-01-01, cap: 240MW}]`` (no cap before the first ``from``)."""
    demand_response: list[DemandResponseWindow] = Field(default_factory=list)
    """Windows in which the cap drops (grid operator requests)."""
    grid: GridSpec | None = None
    """Carbon intensity and price of the site's electricity (default: the scenario's
    ``grid``)."""
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
            if not 0 < sum(value) < float("inf"):
                raise ValueError("at least one multiplier must be > 0 (and their sum finite)")
        return value


class PoissonArrival(StrictModel):
    """Poisson arrivals, optionally non-homogeneous through daily and weekly profiles."""

    process: Literal["poisson"]
    """Arrival process: ``poisson`` (exponential gaps at ``rate_per_hour``)."""
    rate_per_hour: float = Field(gt=0, le=1e9)
    """Mean arrivals per hour (over a week, when profiles are given)."""
    profile: DailyWeeklyProfile | None = None
    """Daily and weekly shape of the rate (mean-preserving)."""
    growth_per_year: float = Field(default=0.0, gt=-1.0, le=100.0)
    """Demand growth: the rate is multiplied by ``(1 + growth_per_year) ** (t / 1 year)``
    (compounding; a year is 365.25 days; 0.3 = +30 % a year)."""
    growth_by_date: GrowthTable | None = None
    """Demand growth as a table by date, ``[{since: 2028-01-01, factor: 1.6}, ...]``: the rate
    is multiplied by the factor of the last row at or before t (1 before the first row);
    not with ``growth_per_year`` (docs/timeline.md)."""

    _one_growth = model_validator(mode="after")(one_growth)



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
            if any(not (w >= 0 and w < float("inf")) for w in self.weights) \
                    or not 0 < sum(self.weights) < float("inf"):
                raise ValueError("weights must be finite, >= 0, not all 0, with a finite sum")
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
    """Selects this distribution: ``exponential``."""
    mean: Seconds = Field(gt=0)
    """Mean duration."""


class LognormalDuration(_Capped):
    """Lognormal durations by median and shape: heavy tails as in every public GPU trace."""

    distribution: Literal["lognormal"]
    """Selects this distribution: ``lognormal``."""
    median: Seconds = Field(gt=0)
    """Median duration (exp of the log-mean)."""
    sigma: float = Field(gt=0, le=10)
    """Standard deviation of log(duration); public traces show about 2.5."""



class EmpiricalDuration(_Capped):
    """Durations resampled from observed values: a list, or a one-column CSV file."""

    distribution: Literal["empirical"]
    """Selects this distribution: ``empirical``."""
    values: list[Seconds] | None = None
    """Observed durations."""
    file: str | None = None
    """CSV file with a header and durations in seconds in its first column (relative paths
    are resolved from the scenario file); ``builtin:philly-runtime`` names the packaged
    83,154 Philly task runtimes."""
    scale: float = Field(default=1.0, ge=MIN_SCALE, le=MAX_SCALE)
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
        if not isinstance(name, str) or name not in _DURATION_TAGS:  # a list is unhashable
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


class CheckpointSpec(StrictModel):
    """Checkpoint and restart behaviour of training jobs (defaults: PROVENANCE.md)."""

    interval: Seconds | None = Field(default=3600.0, gt=0)
    """Compute time between checkpoints (None: no periodic checkpoints; a failure loses all
    the progress, a preemption still saves, see ``policy.preemption``)."""
    overhead: Seconds = 30.0
    """Pause of the job while a checkpoint is written; also the time a preempted job's save
    takes (the work of its last ``overhead`` seconds is lost)."""
    restart: Seconds = 300.0
    """Time to resume after a preemption or failure (reload, warm-up)."""
    size_gb_per_gpu: float = Field(default=20.0, ge=0, le=MAX_CHECKPOINT_GB_PER_GPU)
    """Checkpoint size per GPU of the job (GB), moved when the job resumes at another site."""


class DeferrableSpec(StrictModel):
    """Temporal shifting: the job may start up to ``max_delay`` late to run in a cleaner or
    cheaper window (in the spirit of "Let's Wait Awhile", Middleware'21)."""

    max_delay: Seconds = Field(gt=0, le=MAX_DEFERRAL_S)
    """Longest deferral after arrival (at most a year); the job is released to the queue by
    then."""
    signal: Literal["carbon", "price"] = "carbon"
    """Which grid signal to minimise over the job's expected run."""
    forecast_error: float = Field(default=0.0, ge=0, le=2)
    """Relative standard deviation of the forecast used to choose the start (0 = perfect)."""


class _JobTraits(StrictModel):
    """What every workload can say about its jobs beyond sizes and times."""

    priority: int = Field(default=0, ge=-1000, le=1000)
    """Priority class (higher first) for the ``priority`` queue policy and preemption."""
    checkpoint: CheckpointSpec | None = None
    """Checkpointing; None: no checkpoint pauses, a failure restarts from scratch, a
    preemption saves at no cost (``policy.preemption``)."""
    speedup: dict[str, Annotated[float, Field(ge=MIN_SPEEDUP, le=MAX_SPEEDUP)]] | None = None
    """Relative speed per GPU type (``{H100: 1.0, B200: 2.2}``): duration on a type is the
    duration divided by its speed; unlisted types run at 1.0."""
    model_class: str = "generic"
    """Speeds from the hardware when no ``speedup`` is given: ``generic``, ``llm-pretrain``,
    ``llm-finetune``, ``vision``, ``recommendation`` (roofline of the catalog's TFLOPS and HBM
    bandwidth with MLPerf-calibrated efficiency), or ``uniform`` (1.0 on every type)."""
    reference_gpu: str | None = None
    """GPU type the durations are given on (speed 1); default: the fleet's first type."""
    memory_gb_per_gpu: float | None = Field(default=None, gt=0, le=MAX_GPU_MEMORY_GB)
    """Memory a job needs per GPU: types with less cannot run it (default: no limit)."""

    @field_validator("model_class")
    @classmethod
    def _known_model_class(cls, value: str) -> str:
        from scheduler.hardware_speed import model_class_names

        if value not in model_class_names():
            raise ValueError(f"unknown model class {value!r}; known: "
                             f"{', '.join(model_class_names())}")
        return value
    deferrable: DeferrableSpec | None = None
    """Temporal shifting of the jobs' start to low-carbon or low-price windows."""
    spread_slowdown: float = Field(default=1.0, ge=1.0, le=100.0)
    """Duration factor of a segment whose GPUs span more than one node (any placement mode):
    1.0 = none (default). An assumption to set from your own measurements (cross-node
    all-reduce over the network instead of NVLink); no published simulator gives a value."""
    max_retries: int | None = Field(default=None, ge=0, le=1000)
    """Failures a job survives (restarting from its last checkpoint) before it ends failed;
    None: no limit, as production training restarts until it finishes."""


class TrainingWorkload(_JobTraits):
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
    duration_growth_by_date: GrowthTable | None = None
    """Job sizes growing by date, ``[{since: 2028-01-01, factor: 2.2}, ...]``: the duration
    drawn for a job arriving at t (after ``cap``) is multiplied by the factor of the last
    row at or before t (1 before the first row). Models grow with the hardware: a planner's
    demand in work, not in job counts (docs/timeline.md)."""


class TraceWorkload(_JobTraits):
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
    growth_per_year: float = Field(default=0.0, gt=-1.0, le=100.0)
    """Demand growth of the replay: arrival times are warped so that the local rate is
    multiplied by ``(1 + growth_per_year) ** (t / 1 year)``; every row is kept (a trace
    replayed faster ends earlier; docs/timeline.md)."""
    growth_by_date: GrowthTable | None = None
    """Demand growth of the replay as a table by date (as ``arrival.growth_by_date``); not
    with ``growth_per_year``."""

    _one_growth = model_validator(mode="after")(one_growth)


class TokenSpec(StrictModel):
    """Lognormal token counts per request."""

    median: float = Field(gt=0, le=1e7)
    """Median tokens."""
    sigma: float = Field(default=1.0, ge=0, le=5)
    """Spread of log(tokens)."""


class RequestSpec(StrictModel):
    """The request stream of an inference service."""

    rate_per_second: float = Field(gt=0, le=1e8)
    """Mean requests per second over a week."""
    profile: Literal["chat", "code", "flat"] | DailyWeeklyProfile = "flat"
    """Daily and weekly shape: ``chat`` (smooth, ~2x peak/trough), ``code`` (working hours,
    ~10x on weekdays), ``flat``, or explicit ``{daily: [24], weekly: [7]}`` multipliers."""
    growth_per_year: float = Field(default=0.0, gt=-1.0, le=100.0)
    """Demand growth: the request rate is multiplied by ``(1 + growth_per_year) ** (t / 1
    year)`` (compounding, as ``arrival.growth_per_year``); the autoscaler follows it."""
    growth_by_date: GrowthTable | None = None
    """Demand growth as a table by date (as ``arrival.growth_by_date``); not with
    ``growth_per_year``."""

    _one_growth = model_validator(mode="after")(one_growth)


class SloSpec(StrictModel):
    """Latency objectives, met by a request when both hold."""

    ttft: Seconds = Field(gt=0)
    """Time to first token (queueing + prefill + network round trip)."""
    tpot: Seconds = Field(gt=0)
    """Time per output token."""
    percentile: float = Field(default=0.9, gt=0, lt=1)
    """The percentile the autoscaler in ``slo`` mode keeps TTFT under."""


class AutoscaleSpec(StrictModel):
    """How many replicas serve the service over time."""

    mode: Literal["utilization", "slo", "fixed"] = "utilization"
    """``utilization``: keep replicas at ``target_utilization``; ``slo``: the fewest replicas
    whose TTFT percentile meets the SLO (queueing model); ``fixed``: ``min_replicas``."""
    target_utilization: float = Field(default=0.7, gt=0, lt=1)
    """Busy share of request slots aimed at (``utilization`` mode)."""
    min_replicas: int = Field(default=1, ge=0, le=1_000_000)
    """Never fewer replicas."""
    max_replicas: int = Field(default=10_000, ge=1, le=1_000_000)
    """Never more replicas."""
    interval: Seconds = Field(default=60.0, gt=0)
    """How often the autoscaler looks (and the aggregate latency model's time step)."""
    scale_up_delay: Seconds = 300.0
    """Model load time: a new replica serves this long after its GPUs are allocated."""
    cooldown: Seconds = 900.0
    """No scale-down within this long of the last scale-up."""


class ServiceModelSpec(StrictModel):
    """A model's architecture for the replica performance model (docs/inference.md)."""

    params: float = Field(gt=0, le=1e14)
    """All weights (parameters)."""
    active_params: float | None = Field(default=None, gt=0, le=1e14)
    """Weights one token passes through (mixture-of-experts); default: ``params``."""
    layers: int = Field(ge=1, le=10_000)
    """Transformer blocks."""
    hidden: int = Field(ge=1, le=1_000_000)
    """Model (residual) dimension."""
    heads: int = Field(ge=1, le=100_000)
    """Query heads."""
    kv_heads: int = Field(ge=1, le=100_000)
    """Key/value heads (grouped-query attention when fewer than ``heads``)."""
    head_dim: int = Field(ge=1, le=100_000)
    """Width of one attention head."""
    experts: int = Field(default=1, ge=1, le=100_000)
    """Routed experts per MoE layer (1: dense)."""
    experts_per_token: int = Field(default=1, ge=1, le=100_000)
    """Experts each token is routed to."""


class InferenceWorkload(StrictModel):
    """An inference service: replicas of a model on the shared fleet, scaled to its demand.

    Replicas are jobs of ``replica_gpus`` GPUs that run until scaled down; they are placed
    before training jobs and may preempt training (``preempt_training``). Latency comes from a
    queueing model per time step (``aggregate``) or from simulated requests (``request``,
    small cases). Defaults describe a 70 B-class chat model on H100-class GPUs.
    """

    name: str = Field(min_length=1)
    """Unique workload (service) name."""
    kind: Literal["inference"]
    """Workload kind."""
    replica_gpus: int = Field(default=8, ge=1, le=MAX_GPUS_PER_JOB)
    """GPUs per replica."""
    gpu_types: list[str] | None = Field(default=None, min_length=1)
    """GPU types replicas may use (default: any)."""
    speedup: dict[str, Annotated[float, Field(ge=MIN_SPEEDUP, le=MAX_SPEEDUP)]] | None = None
    """Relative speed of a replica per GPU type (default 1.0: the figures below)."""
    slots: int = Field(default=32, ge=1, le=100_000)
    """Requests one replica serves at once (continuous batching)."""
    prefill_tokens_per_s: float = Field(default=5000.0, ge=1e-3, le=1e9)
    """Prompt tokens per second one request is prefilled at (speed 1)."""
    decode_s_per_token: float = Field(default=0.03, gt=0, le=3600)
    """Seconds per output token of one request (speed 1): the TPOT."""
    model: str | ServiceModelSpec | None = None
    """The served model, a preset (``llama-3.1-8b``, ``llama-3.1-70b``, ``llama-3.1-405b``,
    ``mixtral-8x7b``) or an architecture: then ``slots``, ``decode_s_per_token``,
    ``prefill_tokens_per_s`` and ``speedup`` come from the replica performance model for the
    GPU types replicas may use (the keys given explicitly still win)."""
    precision: Literal["bf16", "fp8", "fp4"] = "fp8"
    """Weight precision of ``model`` (FP8 and FP4 keep an FP8 KV cache)."""
    tpot_target: Seconds | None = Field(default=None, gt=0)
    """TPOT the replica batch is sized for with ``model`` (default: ``slo.tpot``)."""
    input_tokens: TokenSpec = Field(default_factory=lambda: TokenSpec(median=1020, sigma=0.5))
    """Prompt lengths (Azure 2023 chat: median 1,020, mean 1,155)."""
    output_tokens: TokenSpec = Field(default_factory=lambda: TokenSpec(median=129, sigma=0.99))
    """Output lengths (Azure 2023 chat: median 129, mean 211)."""
    requests: RequestSpec
    """Request arrivals."""
    slo: SloSpec = Field(default_factory=lambda: SloSpec(ttft=2.5, tpot=0.15))
    """Latency objectives (DistServe chat: TTFT 2.5 s, TPOT 0.15 s)."""
    autoscale: AutoscaleSpec = Field(default_factory=AutoscaleSpec)
    """Replica count over time."""
    users: dict[str, Annotated[float, Field(ge=0)]] | None = None
    """Share of requests per city (Lille, Paris, Brussels, London built in; default 40/30/15/15):
    network round trips to the serving sites add to TTFT."""
    priority: int = Field(default=100, ge=-1000, le=1000)
    """Priority of the replicas over training jobs."""
    preempt_training: bool = True
    """A replica that does not fit may preempt training jobs (lowest priority first)."""
    fidelity: Literal["aggregate", "request"] = "aggregate"
    """Latency model: per-step queueing approximation, or simulated requests."""
    backlog: Literal["carry", "drop"] = "carry"
    """Requests the ready replicas could not start by the end of a step: carried into the
    next step (a queue across steps), or dropped (each step starts with an empty queue)."""
    tenant: str = "inference"
    """Tenant of the replicas."""


def _workload_kind(value: Any) -> str:
    if isinstance(value, dict):
        if value.get("kind") == "inference" and "trace" not in value:
            return "[inference]"
        return "[trace]" if "trace" in value else "[generated]"
    if isinstance(value, InferenceWorkload):
        return "[inference]"
    return "[trace]" if isinstance(value, TraceWorkload) else "[generated]"


Workload = Annotated[
    Annotated[TrainingWorkload, Tag("[generated]")] | Annotated[TraceWorkload, Tag("[trace]")]
    | Annotated[InferenceWorkload, Tag("[inference]")],
    Discriminator(_workload_kind),
]
"""A generated training workload (``arrival``, ``gpus``, ``duration``), a replayed ``trace``,
or an inference service (``kind: inference`` with ``requests``)."""


# --------------------------------------------------------------------------- policy


class EstimateSpec(StrictModel):
    """How a policy knows job durations: exactly (``oracle``) or with lognormal noise."""

    estimate: Literal["oracle", "noisy"] = "oracle"
    """``oracle``: the true duration; ``noisy``: true x exp(N(0, sigma))."""
    sigma: float = Field(default=0.5, ge=0, le=5)
    """Spread of the noisy estimate (log scale)."""


class PreemptionSpec(StrictModel):
    """What a preemption does to the job it stops (queue-policy preemption, replicas
    displacing training, demand-response ``preempt``)."""

    checkpoint: bool = True
    """True: the job is asked to save first (Tiresias, Gandiva, Slurm with a grace period):
    it keeps all the work done up to the preemption less its checkpoint ``overhead`` (the
    save's time; a job without a checkpoint block saves at no cost). False: it keeps only its
    completed periodic checkpoints, like a failure."""


class LasSpec(LasOptions):
    """Options of ``las`` as a sibling block (``policy.las``; older spelling of
    ``queue: {type: las, ...}``)."""


class PrioritySpec(PriorityOptions):
    """Options of ``priority`` as a sibling block (``policy.priority``; older spelling of
    ``queue: {type: priority, preempt: ...}``)."""


class PolicySpec(StrictModel):
    """How jobs are ordered and placed."""

    queue: QueueSpec = Field(default_factory=lambda: FifoQueue(type="fifo"))
    """Queue policy, by name or as a block with its options: ``fifo`` (strict head of line),
    ``sjf`` (shortest estimated job first, skipping jobs that do not fit), ``easy-backfill``
    (FIFO with a reservation for the head, later jobs start if they end before it or leave
    the head room then), ``las``
    (least attained service, preemptive), ``priority`` (priority classes, optional
    preemption), ``speed-gain`` (static priority by speed gain, formerly ``gavel``: jobs
    that gain most from the free GPU types go first), or the name of a policy registered with
    :func:`scheduler.policies.register_queue_policy` (its options under ``options``)."""
    estimates: EstimateSpec = Field(default_factory=EstimateSpec)
    """Duration estimates used by ``sjf`` and ``easy-backfill``."""
    preemption: PreemptionSpec = Field(default_factory=PreemptionSpec)
    """What a preempted job keeps (checkpoint on preemption by default)."""
    las: LasSpec = Field(default_factory=LasSpec)
    """Options of ``las`` (older spelling; options in the ``queue`` block win)."""
    priority: PrioritySpec = Field(default_factory=PrioritySpec)
    """Options of ``priority`` (older spelling; options in the ``queue`` block win)."""
    quotas: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    """Most GPUs each tenant may hold at once (tenants not listed: no limit)."""
    placement: PlacementSpec = Field(default_factory=PlacementSpec)
    """Filter and score plugins deciding where jobs run."""

    _queue_name = field_validator("queue", mode="before")(classmethod(
        lambda cls, value: queue_block(value)))

    @property
    def queue_name(self) -> str:
        """The queue policy's name (``policy.queue`` or its ``type``)."""
        return self.queue.type


# --------------------------------------------------------------------------- cluster-wide


class FailureSpec(StrictModel):
    """Random failures: each running GPU fails at a constant rate (Llama 3: ~2e-5 per
    GPU-hour, 419 interruptions in 54 days on 16,384 GPUs)."""

    rate_per_gpu_hour: float = Field(default=2e-5, ge=0, le=1)
    """Failures per GPU-hour of running jobs; a gang job of g GPUs fails at g times this."""
    repair: Seconds = 4 * 3600.0
    """Time the failed node stays down."""


class LinkSpec(StrictModel):
    """An explicit link between two sites (overrides the distance model)."""

    a: str
    """One site name."""
    b: str
    """The other site name."""
    latency_ms: float = Field(ge=0, le=MAX_LATENCY_MS)
    """One-way latency."""
    bandwidth_gbps: float = Field(ge=MIN_BANDWIDTH_GBPS, le=MAX_BANDWIDTH_GBPS)
    """Bandwidth available to migrations (Gb/s)."""


class NetworkSpec(StrictModel):
    """Inter-site network: latency from distance (fibre ~4.9 us/km, route ~1.3 x
    great-circle) and a default bandwidth, unless ``links`` give them explicitly."""

    fibre_us_per_km: float = Field(default=4.9, gt=0, le=1000)
    """One-way propagation delay per km of fibre (light in glass: ~4.9)."""
    route_factor: float = Field(default=1.3, ge=1, le=10)
    """Fibre route length over great-circle distance."""
    bandwidth_gbps: float = Field(default=400.0, ge=MIN_BANDWIDTH_GBPS, le=MAX_BANDWIDTH_GBPS)
    """Bandwidth between two sites for migrations (Gb/s)."""
    links: list[LinkSpec] = Field(default_factory=list)
    """Explicit links (by site names)."""


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
    warmup: Seconds = Field(default=0.0, ge=0)
    """Warm-up period: jobs arriving before it run but are left out of the job statistics
    (waits, JCTs, slowdowns), so they do not show the empty cluster of time 0."""
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
    grid: GridSpec | None = None
    """Default carbon intensity and price for sites without their own ``grid``."""
    start: StartDate = DEFAULT_START.isoformat()
    """Calendar date of simulation time 0, at 00:00 local time (Europe/Paris): grid profiles
    are read from that date on, weekdays aligned (a profile's own ``start`` wins). Default
    2020-01-27, a representative Monday of the fr-2020/fr-2024 series (its week's mean
    carbon intensity is the closest to the year's; no holiday); a date outside that series
    reads it 52 weeks earlier or later, same weekday (docs/energy-and-carbon.md)."""
    failures: FailureSpec | None = None
    """Random GPU failures (None: no failures)."""
    network: NetworkSpec = Field(default_factory=lambda: NetworkSpec())
    """Inter-site network (latency and bandwidth) for migration and request latency."""
    timeseries_step: Seconds | None = Field(default=None, gt=0)
    """Sampling step of the time series (default: duration / 500)."""
    report: ReportSpec = Field(default_factory=lambda: ReportSpec())
    """Per-period outputs: calendar periods and thresholds (docs/timeline.md)."""

    _source_dir: Path | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _calendar(cls, data: Any, handler: Any) -> Scenario:
        """Dates in the timeline resolve against ``start``; swaps expand once valid."""
        raw_start = data.get("start") if isinstance(data, dict) else None
        with start_in_force(raw_start):
            scenario = handler(data)
            # Valid as written, so ``data`` is a mapping of the validated shape.
            if any(group.swap for site in scenario.sites for group in site.nodes):
                scenario = handler(expand_swaps(data))
        return scenario

    @model_validator(mode="after")
    def _warmup_inside(self) -> Scenario:
        if self.warmup >= self.duration:
            raise ValueError(f"warmup ({self.warmup:g} s) must be shorter than duration "
                             f"({self.duration:g} s): no arrival would be measured")
        return self

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
