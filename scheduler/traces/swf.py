"""Standard Workload Format (Parallel Workloads Archive): 18 whitespace-separated fields.

Fields: 1 job number, 2 submit time, 3 wait time, 4 run time, 5 allocated processors,
6 average CPU time, 7 used memory, 8 requested processors, 9 requested time, 10 requested
memory, 11 status, 12 user id, 13 group id, 14 executable, 15 queue, 16 partition,
17 preceding job, 18 think time. ``-1`` means unknown; header lines start with ``;``.

Mapping: arrival = submit time; duration = run time, or the requested time when the run
time is -1 (noted), else the row is malformed; GPUs = allocated processors (requested
processors when -1) x ``swf_gpus_per_processor``, rounded up; tenant = user id.
Status: 1 completed, 0 failed, 5 cancelled and -1 unknown are jobs; a cancelled job that
never ran (run time 0 or -1) is skipped ("cancelled before running"); 2, 3 and 4 are
partial-execution records of checkpointed jobs, skipped because the job's summary line
already covers them. Extras: ``id``, ``status``, ``wait_s``, ``requested_time_s``,
``queue``, ``partition``, ``group``. Dropped: CPU time, memory, executable, preceding job
and think time (no dependency model).
"""

from __future__ import annotations

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
    number,
    time_point,
)

N_FIELDS = 18
FIELD_NAMES = (
    "job number", "submit time", "wait time", "run time", "allocated processors",
    "average CPU time", "used memory", "requested processors", "requested time",
    "requested memory", "status", "user id", "group id", "executable", "queue", "partition",
    "preceding job", "think time",
)


def _name(index: int) -> str:
    return f"{FIELD_NAMES[index]} (field {index + 1})"


def parse(ctx: ParseContext) -> Iterator[Row]:
    ratio = ctx.spec.swf_gpus_per_processor

    def records() -> Iterator[tuple[int, list[str]]]:
        with ctx.open() as handle:
            for line, text in enumerate(handle, start=1):
                stripped = text.strip()
                if not stripped:
                    continue
                if stripped.startswith(";"):
                    key = stripped[1:].split(":", 1)[0].strip()
                    if key in ("MaxNodes", "MaxProcs", "Computer", "Installation"):
                        ctx.report.notes.append(stripped[1:].strip())
                    continue
                fields = stripped.split()
                if len(fields) != N_FIELDS:
                    ctx.line = line
                    ctx.bad(line, BadValue("row", stripped[:80],
                                           f"expected {N_FIELDS} SWF fields, found {len(fields)}",
                                           reason="wrong number of fields"))
                    continue
                yield line, fields

    def convert(line: int, f: list[str]) -> Row:
        status = integer(f[10], _name(10), minimum=-1, maximum=2**15 - 1)
        if status in (2, 3, 4):
            raise RowSkipped("SWF partial-execution record (the job's summary line is used)")
        submit = time_point(f[1], _name(1))
        run = number(f[3], _name(3))
        requested_time = number(f[8], _name(8))
        if status == 5 and run <= 0:
            raise RowSkipped("cancelled before running")
        if run < 0:
            if run != -1:
                raise BadValue(_name(3), f[3], "must be >= 0 or -1 (unknown)")
            if requested_time <= 0:
                raise BadValue(_name(3), f[3],
                               "is unknown (-1) and so is the requested time (field 9)")
            ctx.note("run time unknown: requested time used")
            duration = requested_time
        else:
            duration = ctx.duration(run, _name(3), f[3])
        procs_raw, procs_name = f[4], _name(4)
        procs = number(procs_raw, procs_name)
        if procs <= 0:
            procs_raw, procs_name = f[7], _name(7)
            procs = number(procs_raw, procs_name)
            if procs <= 0:
                raise BadValue(_name(4), f[4],
                               "is unknown and so is the requested processors (field 8)")
        gpus, fraction = ctx.gpus(procs * ratio, procs_name, procs_raw)
        user = integer(f[11], _name(11), minimum=-1)
        group = integer(f[12], _name(12), minimum=-1, maximum=INT32_MAX)
        return ctx.row(line, submit, gpus, fraction, duration, "",
                       "" if user == -1 else str(user), "training",
                       integer(f[0], _name(0)), status, number(f[2], _name(2)),
                       requested_time, integer(f[14], _name(14), minimum=-1, maximum=INT32_MAX),
                       integer(f[15], _name(15), minimum=-1, maximum=INT32_MAX), group)

    yield from ctx.rows(records(), convert)


FORMAT = FormatInfo(
    name="swf", kind="training", arrival_column="submit time (field 2)",
    extra=(("id", np.int64), ("status", np.int16), ("wait_s", np.float64),
           ("requested_time_s", np.float64), ("queue", np.int32), ("partition", np.int32),
           ("group", np.int32)),
    sorted_by_default=True, parse=parse,
)
