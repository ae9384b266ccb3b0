"""Alibaba GPU-disaggregated DLRM serving trace 2025 (``cluster-trace-gpu-v2025``, NSDI'25).

One row per inference service instance: ``instance_sn,role,app_name,cpu_request,...,
gpu_request,...,creation_time,scheduled_time,deletion_time`` (seconds from the trace start).
The file is not sorted by arrival: ``order: auto`` sorts it.

Mapping: gpus = ``gpu_request``; instances with ``gpu_request = 0`` (the CPU-node ``CN``
role) are skipped ("cpu-only instance", counted, not an error). kind = inference; tenant =
``app_name``. Empty times follow the trace's README: an empty ``creation_time`` means the
instance existed before the trace start, so it arrives at time 0 (counted in ``adjusted``);
an empty ``deletion_time`` means it outlived the trace, so it runs until ``trace_end`` (default:
the latest time in the file, found by a first pass); an instance with neither is a
long-lived service present for the whole trace. duration = end - ``scheduled_time`` (or -
``creation_time``, or - 0 when both are empty). Extras: ``id``, ``role``, ``cpu_request``,
``memory_gib``, ``rdma_request``, ``max_instance_per_node``, ``open_start``, ``open_end``.
Dropped: the ``*_limit`` columns (equal to the requests) and disk requests.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

import numpy as np

from scheduler.traces._base import (
    INT32_MAX,
    BadValue,
    FormatInfo,
    ParseContext,
    Row,
    RowSkipped,
    integer,
    is_missing,
    number,
    optional_number,
)

REQUIRED = ("instance_sn", "app_name", "gpu_request", "creation_time", "scheduled_time",
            "deletion_time")
OPTIONAL = ("role", "cpu_request", "memory_request", "rdma_request", "max_instance_per_node")
KNOWN = ("cpu_limit", "gpu_limit", "rdma_limit", "memory_limit", "disk_request", "disk_limit")
TIMES = ("creation_time", "scheduled_time", "deletion_time")

OPEN_START = "existed before the trace start: arrival 0"
OPEN_END = "alive at the trace end: runs until trace_end"


def _latest_time(ctx: ParseContext) -> float:
    """The latest time in the file's time columns (malformed values are left to the parse)."""
    latest = 0.0
    with ctx.open() as handle:
        reader = csv.reader(handle)
        header = next(reader, None) or []
        index = [header.index(name) for name in TIMES if name in header]
        for fields in reader:
            for i in index:
                if i < len(fields) and not is_missing(fields[i]):
                    try:
                        value = float(fields[i])
                    except ValueError:
                        continue
                    if value > latest and value != float("inf"):
                        latest = value
    return latest


def parse(ctx: ParseContext) -> Iterator[Row]:
    trace_end = ctx.spec.trace_end
    if trace_end is None:
        trace_end = _latest_time(ctx)
        ctx.report.notes.append(f"trace_end = {trace_end:.10g} s (latest time in the file), "
                                "for instances alive at the end")
    end_of_trace = trace_end

    with ctx.open() as handle:
        col, records = ctx.csv_records(handle, REQUIRED, OPTIONAL, KNOWN)
        i_id, i_app, i_gpu = col["instance_sn"], col["app_name"], col["gpu_request"]
        i_create, i_sched, i_delete = (col[name] for name in TIMES)
        i_role = col.get("role")

        def amount(f: list[str], name: str) -> float:
            index = col.get(name)
            if index is None or is_missing(f[index]):
                return float("nan")
            return number(f[index], name)

        def convert(line: int, f: list[str]) -> Row:
            gpu = number(f[i_gpu], "gpu_request")
            if gpu == 0:
                raise RowSkipped("cpu-only instance")
            gpus, fraction = ctx.gpus(gpu, "gpu_request", f[i_gpu])
            creation = optional_number(f[i_create], "creation_time")
            scheduled = optional_number(f[i_sched], "scheduled_time")
            deletion = optional_number(f[i_delete], "deletion_time")
            for name, value, raw in (("creation_time", creation, f[i_create]),
                                     ("scheduled_time", scheduled, f[i_sched]),
                                     ("deletion_time", deletion, f[i_delete])):
                if value is not None and value < 0:
                    raise BadValue(name, raw, "must be >= 0")
            if creation is None:
                ctx.note(OPEN_START)
                arrival = 0.0
            else:
                arrival = creation
            if deletion is None:
                ctx.note(OPEN_END)
                end = end_of_trace
                column = "trace_end - start"
            else:
                end = deletion
                column = "deletion_time - start"
            began = scheduled if scheduled is not None else arrival
            duration = ctx.duration(end - began, column, end - began)
            per_node = col.get("max_instance_per_node")
            limit = -1 if per_node is None or is_missing(f[per_node]) \
                else integer(f[per_node], "max_instance_per_node", minimum=-1,
                                maximum=INT32_MAX)
            return ctx.row(line, arrival, gpus, fraction, duration, "", f[i_app].strip(),
                           "inference", f[i_id].strip(),
                           f[i_role].strip() if i_role is not None else "",
                           amount(f, "cpu_request"), amount(f, "memory_request"),
                           amount(f, "rdma_request"), limit, creation is None, deletion is None)

        yield from ctx.rows(records, convert)


FORMAT = FormatInfo(
    name="alibaba-dlrm", kind="inference", arrival_column="creation_time",
    extra=(("id", object), ("role", object), ("cpu_request", np.float64),
           ("memory_gib", np.float64), ("rdma_request", np.float64),
           ("max_instance_per_node", np.int32), ("open_start", np.bool_),
           ("open_end", np.bool_)),
    sorted_by_default=False, parse=parse,
)
