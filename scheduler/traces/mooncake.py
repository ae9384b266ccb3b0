"""Mooncake (Kimi, FAST'25) request traces: JSONL, one request per line.

Keys: ``timestamp`` (ms from the trace start), ``input_length``, ``output_length``,
``hash_ids`` (prefix-cache block ids, 512 tokens each). arrival = ``timestamp`` / 1000;
gpus = 1; kind = inference; duration = ``default_duration`` or the token estimate (see
:mod:`scheduler.traces.azure_llm`). Extras: ``input_tokens``, ``output_tokens``,
``prefix_blocks`` (number of hash ids). The hash ids themselves are dropped (no KV-cache
model in the simulator). Other keys are ignored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from scheduler.traces._base import INT64_MAX, BadValue, FormatInfo, ParseContext, Row


def _whole(record: dict[str, Any], key: str) -> int:
    if key not in record:
        raise BadValue(key, None, "is missing")
    value = record[key]
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or (isinstance(value, float) and not math.isfinite(value)) \
            or value != int(value) or not 0 <= value <= INT64_MAX:
        raise BadValue(key, value, "must be a whole number >= 0")
    return int(value)


def parse(ctx: ParseContext) -> Iterator[Row]:
    def records() -> Iterator[tuple[int, str]]:
        with ctx.open() as handle:
            for line, text in enumerate(handle, start=1):
                if text.strip():
                    yield line, text

    def convert(line: int, text: str) -> Row:
        try:
            record = json.loads(text)
        except (ValueError, RecursionError) as exc:  # also ints over the digit limit, nesting
            message = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)[:80]
            raise BadValue("json", text.strip()[:60], f"is not valid JSON ({message})",
                           reason="invalid JSON") from None
        if not isinstance(record, dict):
            raise BadValue("json", text.strip()[:60], "must be a JSON object",
                           reason="invalid JSON")
        stamp = record.get("timestamp")
        if isinstance(stamp, bool) or not isinstance(stamp, int | float) \
                or not 0 <= stamp <= 1e300:  # exact for ints: no overflow, NaN fails
            raise BadValue("timestamp", stamp, "must be a number of milliseconds >= 0")
        input_tokens = _whole(record, "input_length")
        output_tokens = _whole(record, "output_length")
        hashes = record.get("hash_ids", [])
        if not isinstance(hashes, list):
            raise BadValue("hash_ids", str(hashes)[:40], "must be a list")
        duration = ctx.request_duration(input_tokens, output_tokens)
        return ctx.row(line, stamp / 1000.0, 1, 1.0, duration, "", "", "inference",
                       input_tokens, output_tokens, len(hashes))

    yield from ctx.rows(records(), convert)


FORMAT = FormatInfo(
    name="mooncake", kind="inference", arrival_column="timestamp",
    extra=(("input_tokens", np.int64), ("output_tokens", np.int64),
           ("prefix_blocks", np.int32)),
    sorted_by_default=True, parse=parse,
)
