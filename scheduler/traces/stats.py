"""Summary statistics of a trace, for choosing a cluster size and checking a replay."""

from __future__ import annotations

import heapq
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import ValidationError

from scheduler.errors import InputError, Problem
from scheduler.traces.reader import DEFAULT_CHUNK_ROWS, read_trace
from scheduler.traces.spec import TraceSpec
from scheduler.units import format_time

SAMPLE_SIZE = 1_000_000
"""Durations kept for percentiles; beyond it a uniform sample of this size is used."""
MAX_TENANTS = 100_000
"""Distinct tenants counted exactly up to this number."""


class _Sample:
    """Every value up to ``capacity``, then a uniform random subset (bottom-k of random keys)."""

    def __init__(self, capacity: int, seed: int = 0) -> None:
        self.capacity = capacity
        self.rng = np.random.default_rng(seed)
        self.values = np.empty(0, dtype=np.float64)
        self.keys = np.empty(0, dtype=np.float64)
        self.sampled = False

    def add(self, values: npt.NDArray[np.float64]) -> None:
        keys = self.rng.random(len(values))
        self.values = np.concatenate([self.values, values])
        self.keys = np.concatenate([self.keys, keys])
        if len(self.values) > self.capacity:
            keep = np.argpartition(self.keys, self.capacity - 1)[: self.capacity]
            self.values, self.keys = self.values[keep], self.keys[keep]
            self.sampled = True


def _spec(path: str | Path, format: str, options: dict[str, Any]) -> TraceSpec:
    try:
        return TraceSpec.model_validate({"format": format, "path": str(path), **options})
    except ValidationError as exc:
        problems = [Problem(".".join(str(p) for p in error["loc"]) or "trace",
                            str(error["msg"]).removeprefix("Value error, "))
                    for error in exc.errors()]
        raise InputError(problems) from None


def _size_percentile(counts: dict[int, int], q: float) -> int:
    total = sum(counts.values())
    running = 0
    for size in sorted(counts):
        running += counts[size]
        if running >= q * total:
            return size
    return max(counts)


def _demand(levels: dict[float, float], peak: float) -> dict[str, float | None]:
    """Time-weighted GPU demand levels over the arrival span, and the overall peak."""
    total = sum(levels.values())
    result: dict[str, float | None] = {"mean": None, "p50": None, "p90": None, "p99": None,
                                       "peak": peak}
    if total <= 0:
        return result
    ordered = sorted(levels.items())
    result["mean"] = sum(level * seconds for level, seconds in ordered) / total
    for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        running = 0.0
        for level, seconds in ordered:
            running += seconds
            if running >= q * total:
                result[name] = level
                break
    return result


def trace_stats(path: str | Path, format: str, *, base_dir: Path | None = None,
                chunk_rows: int = DEFAULT_CHUNK_ROWS, **options: Any) -> dict[str, Any]:
    """Read a whole trace (streaming) and summarise it.

    ``options`` are :class:`TraceSpec` fields (``on_error="skip"``, ``limit=1000``...).
    Returns row counts and skip reasons (the report), the arrival span, the GPUs-per-job
    distribution (counts per size, mean, p50/p90/p99/max), the duration distribution
    (mean/min/max exact; p50/p90/p99 exact up to :data:`SAMPLE_SIZE` rows, from a uniform
    sample beyond), GPU-hours, and ``gpu_demand``: the GPUs held if every job started on
    arrival (no queueing), time-weighted over the arrival span (mean, p50/p90/p99) and its
    peak, a guide to sizing a cluster for the trace.
    """
    spec = _spec(path, format, options)
    reader = read_trace(spec, base_dir=base_dir, chunk_rows=chunk_rows)
    sizes: Counter[int] = Counter()
    kinds: Counter[str] = Counter()
    tenants: set[str] = set()
    sample = _Sample(SAMPLE_SIZE)
    count = 0
    shared = 0
    duration_sum = 0.0
    duration_min = float("inf")
    duration_max = 0.0
    gpu_seconds = 0.0
    first = last = None
    active: list[tuple[float, float]] = []
    demand = peak = 0.0
    now: float | None = None
    levels: dict[float, float] = {}
    with reader:
        for chunk in reader:
            if not len(chunk):
                continue
            count += len(chunk)
            values, counts = np.unique(chunk.gpus, return_counts=True)
            sizes.update(dict(zip(values.tolist(), counts.tolist(), strict=True)))
            kinds.update(chunk.kind.tolist())
            if len(tenants) < MAX_TENANTS:
                tenants.update(t for t in chunk.tenant.tolist() if t)
            shared += int(np.count_nonzero(chunk.gpu_fraction < 1))
            duration_sum += float(chunk.duration_s.sum())
            duration_min = min(duration_min, float(chunk.duration_s.min()))
            duration_max = max(duration_max, float(chunk.duration_s.max()))
            sample.add(chunk.duration_s)
            held = chunk.gpu_demand
            gpu_seconds += float((held * chunk.duration_s).sum())
            if first is None:
                first = float(chunk.arrival_s[0])
            last = float(chunk.arrival_s[-1])
            ends = chunk.arrival_s + chunk.duration_s
            for arrival, end, need in zip(chunk.arrival_s.tolist(), ends.tolist(),
                                          held.tolist(), strict=True):
                if now is None:
                    now = arrival
                while active and active[0][0] <= arrival:
                    finish, freed = heapq.heappop(active)
                    level = round(demand, 3)
                    levels[level] = levels.get(level, 0.0) + (finish - now)
                    now = finish
                    demand -= freed
                level = round(demand, 3)
                levels[level] = levels.get(level, 0.0) + (arrival - now)
                now = arrival
                heapq.heappush(active, (end, need))
                demand += need
                peak = max(peak, demand)
    report = reader.report
    span = (last - first) if (first is not None and last is not None) else 0.0
    stats: dict[str, Any] = {
        "source": report.source,
        "format": report.format,
        "rows_read": report.rows_read,
        "rows_used": report.rows_used,
        "rows_skipped": report.rows_skipped,
        "skipped_reasons": dict(report.skipped_reasons),
        "skipped_examples": list(report.skipped_examples),
        "adjusted": dict(report.adjusted),
        "notes": list(report.notes),
        "first_arrival_s": first,
        "last_arrival_s": last,
        "span_s": span,
        "gpus": None,
        "shared_gpu_jobs": shared,
        "duration_s": None,
        "gpu_hours": gpu_seconds / 3600.0,
        "gpu_demand": _demand(levels, peak),
        "kinds": dict(kinds),
        "tenants": len(tenants),
        "tenants_capped": len(tenants) >= MAX_TENANTS,
    }
    if count:
        size_counts = dict(sorted(sizes.items()))
        stats["gpus"] = {
            "counts": size_counts,
            "mean": sum(s * n for s, n in size_counts.items()) / count,
            "p50": _size_percentile(size_counts, 0.50),
            "p90": _size_percentile(size_counts, 0.90),
            "p99": _size_percentile(size_counts, 0.99),
            "max": max(size_counts),
        }
        p50, p90, p99 = np.percentile(sample.values, [50, 90, 99]).tolist()
        stats["duration_s"] = {
            "mean": duration_sum / count, "min": duration_min, "p50": p50, "p90": p90,
            "p99": p99, "max": duration_max, "sampled": sample.sampled,
        }
    return stats


def format_trace_stats(stats: dict[str, Any]) -> str:
    """A human table of :func:`trace_stats`' result."""
    out: list[str] = []

    def row(label: str, text: str) -> None:
        out.append(f"{label:<12} {text}")

    row("trace", f"{stats['source']} ({stats['format']})")
    row("rows", f"{stats['rows_read']:,} read, {stats['rows_used']:,} used, "
                f"{stats['rows_skipped']:,} skipped")
    for reason, n in sorted(stats["skipped_reasons"].items(), key=lambda kv: -kv[1]):
        row("  skipped", f"{n:,}  {reason}")
    for rule, n in sorted(stats["adjusted"].items(), key=lambda kv: -kv[1]):
        row("  adjusted", f"{n:,}  {rule}")
    for example in stats.get("skipped_examples", [])[:3]:
        row("  e.g.", example)
    for note in stats["notes"]:
        row("  note", note)
    if not stats["rows_used"]:
        row("jobs", "none")
        return "\n".join(out)
    first, last = stats["first_arrival_s"], stats["last_arrival_s"]
    row("arrivals", f"{format_time(first)} .. {format_time(last)} "
                    f"(span {format_time(stats['span_s'])})")
    gpus = stats["gpus"]
    row("GPUs/job", f"mean {gpus['mean']:.2f}, p50 {gpus['p50']}, p90 {gpus['p90']}, "
                    f"p99 {gpus['p99']}, max {gpus['max']}")
    total = stats["rows_used"]
    out.append(f"{'':<12} {'GPUs':>6} {'jobs':>10} {'share':>7}")
    for size, n in gpus["counts"].items():
        out.append(f"{'':<12} {size:>6} {n:>10,} {100.0 * n / total:>6.1f}%")
    if stats["shared_gpu_jobs"]:
        row("shared GPU", f"{stats['shared_gpu_jobs']:,} jobs use a fraction of one GPU")
    d = stats["duration_s"]
    sampled = " (percentiles from a sample)" if d["sampled"] else ""
    row("duration", f"mean {format_time(d['mean'])}, p50 {format_time(d['p50'])}, "
                    f"p90 {format_time(d['p90'])}, p99 {format_time(d['p99'])}, "
                    f"max {format_time(d['max'])}{sampled}")
    row("GPU-hours", f"{stats['gpu_hours']:,.1f}")
    demand = stats["gpu_demand"]
    if demand["mean"] is not None:
        row("GPU demand", f"mean {demand['mean']:,.1f}, p50 {demand['p50']:,.4g}, "
                          f"p90 {demand['p90']:,.4g}, p99 {demand['p99']:,.4g}, "
                          f"peak {demand['peak']:,.4g} GPUs")
    else:
        row("GPU demand", f"peak {demand['peak']:,.4g} GPUs")
    row("", "(held if every job started on arrival; time-weighted over the arrivals)")
    row("kinds", ", ".join(f"{k} {n:,}" for k, n in sorted(stats["kinds"].items())))
    tenants = f"{stats['tenants']:,}" + ("+" if stats["tenants_capped"] else "")
    row("tenants", tenants if stats["tenants"] else "none in the trace")
    return "\n".join(out)
