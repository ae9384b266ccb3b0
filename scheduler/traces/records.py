"""What the trace readers produce: columnar :class:`TraceChunk` s and a :class:`TraceReport`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

MAX_EXAMPLES = 10
"""Skipped rows kept as examples (``file:line: message``) in a report."""

KINDS = ("training", "inference")


@dataclass
class TraceChunk:
    """A block of consecutive trace rows as parallel numpy arrays (one element per job).

    Arrivals are non-decreasing within a chunk and across the chunks of one read. Every
    array has the same length; ``extra`` holds format-specific columns (see docs/traces.md).
    """

    arrival_s: npt.NDArray[np.float64]
    """Arrival in seconds from the replay start (after ``start`` and ``time_scale``)."""
    gpus: npt.NDArray[np.int32]
    """Whole GPUs (>= 1); 1 for a job sharing a GPU (then see ``gpu_fraction``)."""
    gpu_fraction: npt.NDArray[np.float32]
    """Share of each GPU used: 1.0 for whole GPUs, in (0, 1) for shared ones."""
    duration_s: npt.NDArray[np.float64]
    """Run time in seconds (> 0, after ``duration_scale``); estimated for request traces."""
    gpu_type: npt.NDArray[np.object_]
    """Allowed GPU type(s), ``""`` = any; several allowed models are joined by ``|``."""
    tenant: npt.NDArray[np.object_]
    """Tenant (user, application), ``""`` when the trace has none."""
    kind: npt.NDArray[np.object_]
    """``training`` or ``inference``."""
    line: npt.NDArray[np.int64]
    """1-based line of the row in the source file (for messages)."""
    extra: dict[str, npt.NDArray[Any]] = field(default_factory=dict)
    """Format-specific columns, e.g. ``input_tokens`` and ``output_tokens`` of LLM requests."""

    def __post_init__(self) -> None:
        n = len(self.arrival_s)
        columns: dict[str, Any] = {
            "gpus": self.gpus, "gpu_fraction": self.gpu_fraction,
            "duration_s": self.duration_s, "gpu_type": self.gpu_type, "tenant": self.tenant,
            "kind": self.kind, "line": self.line, **self.extra,
        }
        for name, values in columns.items():
            if len(values) != n:
                raise ValueError(f"column {name} has {len(values)} rows, arrival_s has {n}")

    def __len__(self) -> int:
        return len(self.arrival_s)

    @property
    def gpu_demand(self) -> npt.NDArray[np.float64]:
        """GPUs held by each job, fractions included (``gpus * gpu_fraction``)."""
        return self.gpus.astype(np.float64) * self.gpu_fraction.astype(np.float64)


@dataclass
class TraceReport:
    """What happened to the rows of one trace read; complete once the reader is exhausted.

    ``rows_read == rows_used + rows_skipped`` at all times. A trace streamed in ``check``
    order is not read past the row that ends it (``limit`` reached, or ``end`` passed).
    """

    source: str = ""
    """The trace file."""
    format: str = ""
    """The trace format."""
    rows_read: int = 0
    """Data rows read (header and comment lines excluded)."""
    rows_used: int = 0
    """Rows turned into jobs."""
    rows_skipped: int = 0
    """Rows read but not used, for the reasons in ``skipped_reasons``."""
    skipped_reasons: dict[str, int] = field(default_factory=dict)
    """Reason -> number of rows skipped for it (malformed rows, CPU-only pods, before start)."""
    skipped_examples: list[str] = field(default_factory=list)
    """The first few skipped malformed rows as ``file:line: message``."""
    adjusted: dict[str, int] = field(default_factory=dict)
    """Rule -> number of rows used but changed by it (zero duration raised, GPU share rounded
    up to a whole GPU...)."""
    notes: list[str] = field(default_factory=list)
    """Anything else worth telling (ignored columns, the trace end assumed...)."""
    complete: bool = False
    """True once every chunk has been produced."""

    def skip(self, reason: str, example: str | None = None, count: int = 1) -> None:
        """Count ``count`` rows read and skipped for ``reason``."""
        self.rows_read += count
        self.rows_skipped += count
        self.skipped_reasons[reason] = self.skipped_reasons.get(reason, 0) + count
        if example is not None and len(self.skipped_examples) < MAX_EXAMPLES:
            self.skipped_examples.append(example)

    def adjust(self, rule: str, count: int = 1) -> None:
        """Count ``count`` used rows changed by ``rule``."""
        self.adjusted[rule] = self.adjusted.get(rule, 0) + count

    def summary(self) -> str:
        """A few human lines."""
        lines = [f"{self.source} ({self.format}): {self.rows_read:,} rows read, "
                 f"{self.rows_used:,} used, {self.rows_skipped:,} skipped"]
        for reason, count in sorted(self.skipped_reasons.items(), key=lambda kv: -kv[1]):
            lines.append(f"  skipped {count:,}: {reason}")
        for rule, count in sorted(self.adjusted.items(), key=lambda kv: -kv[1]):
            lines.append(f"  adjusted {count:,}: {rule}")
        lines.extend(f"  e.g. {example}" for example in self.skipped_examples[:3])
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)
