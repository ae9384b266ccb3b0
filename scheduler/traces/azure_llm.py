"""Azure LLM inference trace 2023 (Splitwise, ISCA'24): ``TIMESTAMP,ContextTokens,GeneratedTokens``.

One row per request. arrival = ``TIMESTAMP`` in seconds after the first row's timestamp;
gpus = 1; kind = inference; duration = ``default_duration`` or the estimate
``ContextTokens / prefill_tokens_per_s + GeneratedTokens * decode_s_per_token`` (the trace
has no service times). Extras: ``input_tokens``, ``output_tokens``. No tenant or GPU type
(the file is one service: code or conversation).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import numpy as np

from scheduler.traces._base import BadValue, FormatInfo, ParseContext, Row, integer

REQUIRED = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")


def parse(ctx: ParseContext) -> Iterator[Row]:
    origin: list[datetime] = []

    with ctx.open() as handle:
        col, records = ctx.csv_records(handle, REQUIRED)
        i_time, i_in, i_out = (col[name] for name in REQUIRED)

        def convert(line: int, f: list[str]) -> Row:
            raw = f[i_time].strip()
            try:
                stamp = datetime.fromisoformat(raw)
            except ValueError:
                raise BadValue("TIMESTAMP", f[i_time],
                               "is not a date-time like 2023-11-16 18:17:03.97") from None
            input_tokens = integer(f[i_in], "ContextTokens", minimum=0)
            output_tokens = integer(f[i_out], "GeneratedTokens", minimum=0)
            if not origin:
                origin.append(stamp)
            try:
                arrival = (stamp - origin[0]).total_seconds()
            except TypeError:
                raise BadValue("TIMESTAMP", f[i_time], "mixes time zones with the first row") \
                    from None
            duration = ctx.request_duration(input_tokens, output_tokens)
            return ctx.row(line, arrival, 1, 1.0, duration, "", "", "inference",
                           input_tokens, output_tokens)

        yield from ctx.rows(records, convert)


FORMAT = FormatInfo(
    name="azure-llm", kind="inference", arrival_column="TIMESTAMP",
    extra=(("input_tokens", np.int64), ("output_tokens", np.int64)),
    sorted_by_default=True, parse=parse,
)
