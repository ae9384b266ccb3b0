"""Tiresias simulator CSV (also Gavel's Philly traces converted to it).

Header ``job_id,num_gpu,submit_time,iterations,model_name,duration,interval``, times in
seconds. arrival = ``submit_time``; gpus = ``num_gpu``; duration = ``duration``;
kept as extras: ``id`` (job_id), ``model_name``, ``iterations`` (-1 when absent).
``interval`` (the gap to the next submission) is redundant and dropped. No tenant (a Philly
file is one virtual cluster: give the workload's tenant), no GPU type (V100 durations).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from scheduler.traces._base import (
    FormatInfo,
    ParseContext,
    Row,
    integer,
    is_missing,
    number,
    time_point,
)

REQUIRED = ("job_id", "num_gpu", "submit_time", "duration")
OPTIONAL = ("iterations", "model_name", "interval")


def parse(ctx: ParseContext) -> Iterator[Row]:
    with ctx.open() as handle:
        col, records = ctx.csv_records(handle, REQUIRED, OPTIONAL)
        i_id, i_gpu, i_submit, i_dur = (col[name] for name in REQUIRED)
        i_iter = col.get("iterations")
        i_model = col.get("model_name")

        def convert(line: int, f: list[str]) -> Row:
            gpus = integer(f[i_gpu], "num_gpu", minimum=1)
            whole, fraction = ctx.gpus(float(gpus), "num_gpu", f[i_gpu])
            arrival = time_point(f[i_submit], "submit_time")
            raw = f[i_dur]
            duration = ctx.duration(number(raw, "duration"), "duration", raw)
            iterations = -1
            if i_iter is not None and not is_missing(f[i_iter]):
                iterations = integer(f[i_iter], "iterations", minimum=0)
            model = f[i_model].strip() if i_model is not None else ""
            return ctx.row(line, arrival, whole, fraction, duration, "", "", "training",
                           f[i_id].strip(), model, iterations)

        yield from ctx.rows(records, convert)


FORMAT = FormatInfo(
    name="tiresias", kind="training", arrival_column="submit_time",
    extra=(("id", object), ("model_name", object), ("iterations", np.int64)),
    sorted_by_default=True, parse=parse,
)
