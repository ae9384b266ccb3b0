"""Trace replay: read public GPU-cluster and inference traces as streams of jobs.

``read_trace(spec)`` returns a :class:`TraceReader`, an iterator of columnar
:class:`TraceChunk` s (arrivals non-decreasing) whose ``report`` counts what was read, used,
skipped (and why) and adjusted. Formats and field mappings: docs/traces.md.

>>> spec = TraceSpec(format="tiresias", path="tests/data/traces/tiresias/60_job.csv")
>>> reader = read_trace(spec)
>>> jobs = sum(len(chunk) for chunk in reader)
>>> reader.report.rows_used == jobs
True
"""

from scheduler.traces.openb import OpenbNodeGroup, read_openb_nodes
from scheduler.traces.reader import FORMATS, TraceReader, read_trace, resolve_trace_path
from scheduler.traces.records import TraceChunk, TraceReport
from scheduler.traces.spec import TRACE_FORMATS, TraceSpec
from scheduler.traces.stats import format_trace_stats, trace_stats

__all__ = [
    "FORMATS",
    "TRACE_FORMATS",
    "OpenbNodeGroup",
    "TraceChunk",
    "TraceReader",
    "TraceReport",
    "TraceSpec",
    "format_trace_stats",
    "read_openb_nodes",
    "read_trace",
    "resolve_trace_path",
    "trace_stats",
]
