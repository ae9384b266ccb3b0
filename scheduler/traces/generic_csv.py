"""The generic trace CSV: a header, then one job per row.

Columns (any order; others are ignored and listed in the report's notes):

- ``arrival`` (required): seconds from the trace start, or a time with a unit ("90s", "2h");
- ``gpus`` (required): whole GPUs, >= 1;
- ``duration`` (required): seconds or a time with a unit, >= 0 (0 becomes ``zero_duration``);
- ``gpu_type``: allowed GPU type(s), several joined by ``|``; empty = any;
- ``tenant``: tenant name; empty = the workload's;
- ``kind``: ``training`` (default when empty) or ``inference``;
- ``gpu_fraction``: share of one GPU in (0, 1] for a 1-GPU job (default 1): kept with
  ``fractional_gpus: share``, rounded up to a whole GPU with ``round-up``.
"""

from __future__ import annotations

from collections.abc import Iterator

from scheduler.traces._base import (
    BadValue,
    FormatInfo,
    ParseContext,
    Row,
    integer,
    is_missing,
    number,
)
from scheduler.traces.records import KINDS
from scheduler.units import parse_time

REQUIRED = ("arrival", "gpus", "duration")
OPTIONAL = ("gpu_type", "tenant", "kind", "gpu_fraction")


def _time(text: str, column: str) -> float:
    if not text.strip():
        raise BadValue(column, text, "is empty")
    try:
        return parse_time(text.strip())
    except ValueError as exc:
        # describe() adds the value: drop the one parse_time put in its message
        raise BadValue(column, text, str(exc).split(" (got ")[0]) from None


def parse(ctx: ParseContext) -> Iterator[Row]:
    with ctx.open() as handle:
        col, records = ctx.csv_records(handle, REQUIRED, OPTIONAL)
        i_arr, i_gpu, i_dur = (col[name] for name in REQUIRED)
        i_type, i_tenant = col.get("gpu_type"), col.get("tenant")
        i_kind, i_frac = col.get("kind"), col.get("gpu_fraction")

        def convert(line: int, f: list[str]) -> Row:
            arrival = _time(f[i_arr], "arrival")
            count = integer(f[i_gpu], "gpus", minimum=1)
            share = 1.0
            if i_frac is not None and not is_missing(f[i_frac]):
                share = number(f[i_frac], "gpu_fraction")
                if not 0 < share <= 1:
                    raise BadValue("gpu_fraction", f[i_frac], "must be in (0, 1]")
                if share < 1 and count != 1:
                    raise BadValue("gpu_fraction", f[i_frac],
                                   "a fraction below 1 needs gpus = 1")
            if share < 1:
                gpus, fraction = ctx.gpus(share, "gpu_fraction", f[i_frac or 0])
            else:
                gpus, fraction = ctx.gpus(float(count), "gpus", f[i_gpu])
            duration = ctx.duration(_time(f[i_dur], "duration"), "duration", f[i_dur])
            kind = "training"
            if i_kind is not None and f[i_kind].strip():
                kind = f[i_kind].strip()
                if kind not in KINDS:
                    raise BadValue("kind", f[i_kind], f"must be one of {', '.join(KINDS)}")
            gpu_type = f[i_type].strip() if i_type is not None else ""
            tenant = f[i_tenant].strip() if i_tenant is not None else ""
            return ctx.row(line, arrival, gpus, fraction, duration, gpu_type, tenant, kind)

        yield from ctx.rows(records, convert)


FORMAT = FormatInfo(
    name="csv", kind="training", arrival_column="arrival", extra=(),
    sorted_by_default=True, parse=parse,
)
