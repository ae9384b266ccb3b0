"""What a trace workload reads: :class:`TraceSpec`, the ``trace:`` block of a workload.

It builds on :mod:`scheduler.scenario_base` (not :mod:`scheduler.scenario`), so that the
scenario model can import :class:`TraceSpec` without an import cycle.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from scheduler.scenario_base import Seconds, StrictModel

TraceFormat = Literal[
    "tiresias", "swf", "alibaba-openb", "azure-llm", "mooncake", "alibaba-dlrm", "csv"
]
"""The trace formats :func:`scheduler.traces.read_trace` understands (see docs/traces.md)."""

TRACE_FORMATS: tuple[str, ...] = (
    "tiresias", "swf", "alibaba-openb", "azure-llm", "mooncake", "alibaba-dlrm", "csv",
)


class TraceSpec(StrictModel):
    """A workload replayed from a trace file: which file, which format, and how to adapt it."""

    format: TraceFormat
    """Trace format: ``tiresias`` (Tiresias/Gavel CSV, e.g. the Philly VC files), ``swf``
    (Standard Workload Format), ``alibaba-openb`` (Alibaba PAI 2023 pod list),
    ``azure-llm`` (Azure LLM inference 2023), ``mooncake`` (Kimi JSONL requests),
    ``alibaba-dlrm`` (Alibaba DLRM 2025 service instances) or ``csv`` (the generic format of
    docs/traces.md). A ``.gz`` file is decompressed on the fly for every format."""
    path: str = Field(min_length=1)
    """Trace file; a relative path is resolved from the scenario file's folder."""
    time_scale: float = Field(default=1.0, gt=0, le=1e6)
    """Multiplies arrival times (after the shift by ``start``): 0.5 replays the trace twice
    as fast. Durations are not changed (see ``duration_scale``)."""
    duration_scale: float = Field(default=1.0, gt=0, le=1e6)
    """Multiplies every duration (e.g. to convert a trace's V100 run times to a faster GPU)."""
    start: Seconds = 0.0
    """Trace time where the replay begins: rows arriving earlier are skipped (counted as
    ``before start``) and arrivals are shifted so that ``start`` becomes time 0."""
    end: Seconds | None = Field(default=None, gt=0)
    """Trace time where the replay stops (exclusive, before the shift): rows arriving at or
    after it are not used. Default: the whole trace."""
    limit: int | None = Field(default=None, ge=1, le=1_000_000_000)
    """Use at most this many rows (jobs), the earliest ones after ``start``; a sorted trace is
    not read past the last one used."""
    on_error: Literal["error", "skip"] = "error"
    """A malformed row (bad number, missing field, unsorted arrival...): ``error`` stops with
    the file:line and the column; ``skip`` drops it and counts the reason in the report."""
    order: Literal["auto", "check", "sort"] = "auto"
    """Arrival order: ``check`` streams the file and treats a row arriving before the previous
    one as malformed; ``sort`` sorts by arrival in bounded memory (sorted runs spilled to a
    temporary folder, then merged); ``auto`` sorts ``alibaba-dlrm`` (its file is not in
    arrival order) and checks every other format."""
    fractional_gpus: Literal["round-up", "share"] = "round-up"
    """Jobs asking for part of a GPU (openb ``gpu_milli`` < 1000, or a fractional count after
    ``swf_gpus_per_processor``): ``round-up`` gives them one whole GPU; ``share`` keeps
    ``gpus = 1`` with ``gpu_fraction`` = the fraction, for a GPU-sharing scheduler."""
    swf_gpus_per_processor: float = Field(default=1.0, gt=0, le=1024)
    """SWF only: GPUs per processor of the log (0.125 maps 8 CPU processors to one GPU);
    the product is rounded up to whole GPUs."""
    default_duration: Seconds | None = Field(default=None, gt=0)
    """Service time given to every request of an inference request trace (``azure-llm``,
    ``mooncake``), whose files hold no durations; default: the token-based estimate
    ``input_tokens / prefill_tokens_per_s + output_tokens * decode_s_per_token``. Also the
    duration of openb pods when the pod list has no time columns (the ``multigpu50``
    variant)."""
    prefill_tokens_per_s: float = Field(default=5000.0, gt=0)
    """Estimate of LLM request service time: prompt tokens processed per second."""
    decode_s_per_token: float = Field(default=0.03, gt=0)
    """Estimate of LLM request service time: seconds per generated token (TPOT)."""
    zero_duration: Seconds = Field(default=1.0, gt=0)
    """Duration given to rows whose duration is exactly 0 (shorter than the one-second
    resolution of most traces); each one is counted in the report's ``adjusted``."""
    trace_end: Seconds | None = Field(default=None, gt=0)
    """``alibaba-dlrm`` only: end of the trace window, for instances still alive at the end
    (empty ``deletion_time``). Default: the latest time found in the file."""

    @model_validator(mode="after")
    def _window(self) -> TraceSpec:
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end ({self.end:g} s) must be after start ({self.start:g} s)")
        return self
