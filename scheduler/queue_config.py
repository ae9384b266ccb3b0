"""Queue policies in a scenario: a tagged union, like placement scores.

``policy.queue`` is a policy name (``queue: las``) or a block with the name in ``type`` and
the policy's options beside it (``queue: {type: las, thresholds_gpu_hours: [1, 10]}``). A
policy registered in Python takes its options under ``options``, checked against the
``Options`` model it declares (:class:`scheduler.policies.QueuePolicy`). The older sibling
blocks ``policy.las`` and ``policy.priority`` are still read: an option set in the queue
block wins, then one set in the sibling block, then the default.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator

from scheduler.scenario_base import Seconds, StrictModel, plugin_tag

BUILTIN_QUEUES = ("fifo", "sjf", "easy-backfill", "las", "priority", "speed-gain", "gavel",
                  "gavel-rounds")
DEPRECATED_QUEUES = {"gavel": "speed-gain"}
"""Old queue names still accepted, with a DeprecationWarning: old name -> new name."""


class FifoQueue(StrictModel):
    """First in, first out; the head blocks everything behind it."""

    type: Literal["fifo"]
    """Queue policy name: ``fifo``."""


class SjfQueue(StrictModel):
    """Shortest estimated remaining work first; a job that does not fit is skipped."""

    type: Literal["sjf"]
    """Queue policy name: ``sjf``."""


class EasyBackfillQueue(StrictModel):
    """FIFO with EASY backfilling: the blocked head gets a reservation; later jobs start if
    they are expected to end before it or leave the head room at that time."""

    type: Literal["easy-backfill"]
    """Queue policy name: ``easy-backfill``."""


class SpeedGainQueue(StrictModel):
    """Static priority by speed gain: jobs that gain most from fast GPU types go first (not
    Gavel's heterogeneity-aware allocation, which re-solves an optimisation each round)."""

    type: Literal["speed-gain"]
    """Queue policy name: ``speed-gain``."""


class GavelQueue(StrictModel):
    """Deprecated name of ``speed-gain`` (accepted with a warning; the static priority it
    always was, so old scenarios reproduce: Gavel's round-based allocation is
    ``gavel-rounds``)."""

    type: Literal["gavel"]
    """Queue policy name: ``gavel`` (deprecated: use ``speed-gain``)."""


def _increasing(value: list[float] | None) -> list[float] | None:
    if value is not None and any(b <= a for a, b in itertools.pairwise(value)):
        raise ValueError("thresholds must increase")
    return value


class LasOptions(StrictModel):
    """Discretised least-attained-service (Tiresias 2D-LAS, NSDI'19)."""

    thresholds_gpu_hours: list[Annotated[float, Field(gt=0)]] = Field(
        default_factory=lambda: [1.0, 10.0], min_length=1)
    """Attained GPU-hours at which a job drops to the next (lower-priority) queue."""
    preempt: bool = True
    """A waiting job of a higher queue preempts running jobs of lower queues."""
    starvation_factor: float = Field(default=0.0, ge=0, le=1000)
    """Starvation guard (Tiresias's ``solve_starvation``): a preempted job that has waited at
    least this factor x its executed time (run time since its last promotion) goes back to
    the top queue, its attained service counted from then. 0: off."""

    _check = field_validator("thresholds_gpu_hours")(classmethod(
        lambda cls, value: _increasing(value)))


class PriorityOptions(StrictModel):
    """Priority classes (workload ``priority``, higher first)."""

    preempt: bool = False
    """A waiting job preempts running jobs of strictly lower priority."""


class LasQueue(LasOptions):
    """Least attained service: queues by attained GPU-hours, preemptive by default."""

    type: Literal["las"]
    """Queue policy name: ``las``."""


class PriorityQueue(PriorityOptions):
    """Priority classes, FIFO within a class; optionally preempts lower classes."""

    type: Literal["priority"]
    """Queue policy name: ``priority``."""


class GavelRoundsOptions(StrictModel):
    """Round-based heterogeneity-aware allocation (Gavel, OSDI'20): every round an LP over
    jobs x GPU types gives each job's time fraction per type, realised by time sharing."""

    round: Seconds = Field(default=360.0, ge=1.0, le=86_400.0)
    """Round length: the allocation is re-solved and jobs re-assigned this often (Gavel's
    default, 6 minutes)."""
    objective: Literal["max-min-fairness", "min-makespan", "finish-time-fairness"] = (
        "max-min-fairness")
    """What the LP optimises: max-min fairness of throughput normalised by the equal share,
    the makespan of the active jobs, or Themis's finish-time fairness (the largest rho)."""
    speeds: Literal["aware", "agnostic"] = "aware"
    """``agnostic``: the LP sees speed 1 on every type a job may use (Gavel's
    heterogeneity-agnostic baseline); jobs still run at their true speeds."""


class GavelRoundsQueue(GavelRoundsOptions):
    """Round-based heterogeneity-aware allocation with time sharing (preemptive)."""

    type: Literal["gavel-rounds"]
    """Queue policy name: ``gavel-rounds``."""


class UserQueue(StrictModel):
    """A queue policy registered in Python (``scheduler.policies.register_queue_policy``)."""

    type: str = Field(min_length=1)
    """Name the policy was registered under."""
    options: dict[str, Any] = Field(default_factory=dict)
    """The policy's options, checked against the ``Options`` model it declares."""


def _queue_kind(value: Any) -> str:
    return plugin_tag(value, BUILTIN_QUEUES)


QueueSpec = Annotated[
    Annotated[FifoQueue, Tag("[fifo]")]
    | Annotated[SjfQueue, Tag("[sjf]")]
    | Annotated[EasyBackfillQueue, Tag("[easy-backfill]")]
    | Annotated[LasQueue, Tag("[las]")]
    | Annotated[PriorityQueue, Tag("[priority]")]
    | Annotated[SpeedGainQueue, Tag("[speed-gain]")]
    | Annotated[GavelQueue, Tag("[gavel]")]
    | Annotated[GavelRoundsQueue, Tag("[gavel-rounds]")]
    | Annotated[UserQueue, Tag("[user]")],
    Discriminator(_queue_kind),
]


def queue_block(value: Any) -> Any:
    """A plain policy name stands for ``{type: name}``."""
    return {"type": value} if isinstance(value, str) else value
