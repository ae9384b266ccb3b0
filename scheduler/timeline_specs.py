"""What a scenario's timeline may say besides ``online`` / ``offline``: ramps, GPU generation
swaps and power caps by date (pydantic specs only; docs/timeline.md).

Dates here are offsets or calendar dates (:mod:`scheduler.calendar_dates`). A swap is
expanded at load into two node groups (:mod:`scheduler.generation_swaps`), a ramp into
tranches of one group (:mod:`scheduler.timeline`), a cap table into steps of the site's cap
(:mod:`scheduler.cap_table`).
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from scheduler.calendar_dates import Moment, calendar_fields
from scheduler.scenario_base import StrictModel, Watts

MONTH_S = 365.25 / 12 * 86400.0
"""A ramp's month: 30.4375 days, a twelfth of the 365.25-day year of ``growth_per_year``
(calendar months differ by up to 3 days: 28 to 31; a tranche is a planning figure)."""


class RampSpec(StrictModel):
    """Nodes of a group entering service in monthly tranches from ``online``."""

    fraction_per_month: float = Field(gt=0, le=1)
    """Fraction of the group's nodes that enter service each month: the first tranche at
    ``online``, the next one month (30.4375 days) later, and so on until all are in. Node
    counts round up: after k tranches, ceil(k x fraction x count) nodes (at most count)."""


class SwapSpec(StrictModel):
    """At ``at``, this group's nodes are replaced by nodes of another GPU type."""

    at: Moment
    """When the old nodes leave service and the new ones enter it (an offset or a date;
    before the scenario's ``start``: the new ones serve from time 0, the old never)."""
    gpu: str = Field(min_length=1)
    """GPU type of the new nodes (built in or under ``gpu_types``)."""
    count: int | None = Field(default=None, ge=1, le=10_000_000)
    """Number of new nodes (default: the same as the group's)."""
    gpus_per_node: int | None = Field(default=None, ge=1, le=1024)
    """GPUs per new node (default: the same as the group's)."""
    overhead_w: Watts | None = Field(default=None, le=1_000_000.0)
    """Host power of one new node (default: the new GPU type's, not the old group's)."""
    ramp: RampSpec | None = None
    """The new nodes enter service in monthly tranches from ``at`` (default: all at once)."""


class CapStep(StrictModel):
    """One step of a site's power cap by date: ``cap`` is in force from ``from``."""

    start: Moment = Field(alias="from")
    """When this cap comes into force (an offset or a date; before the scenario's ``start``:
    in force from time 0 unless a later step also is)."""
    cap: Watts = Field(gt=0)
    """Facility power cap from then until the next step."""

    _calendar: dict[str, str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _remember_date(cls, data: Any, handler: Any) -> CapStep:
        step = handler(data)
        if isinstance(data, dict):  # the date as written, for `clustersim validate`
            step._calendar = calendar_fields(data, ("from",))
        return step

    model_config = ConfigDict(**StrictModel.model_config, validate_by_name=True,
                              validate_by_alias=True, serialize_by_alias=True)


def as_swap_list(value: Any) -> Any:
    """``swap:`` accepts one mapping or a list of them (successive generations)."""
    return [value] if isinstance(value, dict) else value


def check_steps_ordered(steps: list[CapStep]) -> list[CapStep]:
    """Cap steps must be in strictly increasing ``from`` order."""
    for i in range(1, len(steps)):
        if steps[i].start <= steps[i - 1].start:
            raise ValueError(f"power cap steps must be in increasing date order: step {i} "
                             f"({steps[i].start:g} s) is not after step {i - 1} "
                             f"({steps[i - 1].start:g} s)")
    return steps


def check_swaps(swaps: list[SwapSpec], online: float, offline: float | None) -> None:
    """Each swap comes after the group's ``online`` and the previous swap, before ``offline``."""
    previous, what = online, "online"
    for i, swap in enumerate(swaps):
        if swap.at <= previous:
            raise ValueError(f"swap.{i}.at ({swap.at:g} s) must be after {what} "
                             f"({previous:g} s)")
        previous, what = swap.at, f"swap.{i}.at"
    if offline is not None and swaps and offline <= previous:
        raise ValueError(f"offline ({offline:g} s) must be after {what} ({previous:g} s)")
