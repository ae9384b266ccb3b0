"""Alibaba PAI GPU cluster 2023 (``cluster-trace-gpu-v2023``, the FGD paper's "openb").

Pod list ``name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,
creation_time,deletion_time,scheduled_time`` (times in seconds). arrival = ``creation_time``;
duration = ``deletion_time - scheduled_time``, or ``deletion_time - creation_time`` for a pod
never scheduled (``Pending``, empty ``scheduled_time``); gpu_type = ``gpu_spec`` (allowed
models joined by ``|``, "" = any). Pods with ``num_gpu = 0`` are CPU-only and skipped
("cpu-only pod", counted, not an error). ``gpu_milli`` < 1000 with ``num_gpu = 1`` is a share
of one GPU: ``fractional_gpus: round-up`` gives it a whole GPU (counted in ``adjusted``),
``share`` keeps ``gpu_fraction = gpu_milli / 1000``. A pod list without time columns (the
``multigpu50`` variant) needs ``default_duration``: every pod then arrives at time 0.
Extras: ``id``, ``cpu_milli``, ``memory_mib``, ``gpu_milli``, ``qos``, ``pod_phase``.
No tenant in the trace.

:func:`read_openb_nodes` aggregates a node list (``sn,cpu_milli,memory_mib,gpu,model``) into
node groups for a scenario.
"""

from __future__ import annotations

import csv
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from scheduler.errors import InputError, Problem
from scheduler.safetext import excerpt
from scheduler.traces._base import (
    BadValue,
    FormatInfo,
    ParseContext,
    Row,
    RowSkipped,
    integer,
    is_missing,
    open_text,
    optional_number,
    time_point,
)

REQUIRED = ("name", "num_gpu", "gpu_milli")
OPTIONAL = ("cpu_milli", "memory_mib", "gpu_spec", "qos", "pod_phase", "creation_time",
            "deletion_time", "scheduled_time")


def parse(ctx: ParseContext) -> Iterator[Row]:
    with ctx.open() as handle:
        col, records = ctx.csv_records(handle, REQUIRED, OPTIONAL)
        timed = "creation_time" in col
        if timed and "deletion_time" not in col:
            raise ctx.fail(1, "the pod list has creation_time but no deletion_time column")
        if not timed and ctx.spec.default_duration is None:
            raise ctx.fail(1, "the pod list has no creation_time/deletion_time columns (like "
                              "the multigpu50 variant): set default_duration to replay every "
                              "pod at time 0 for that long")
        i_name, i_num, i_milli = col["name"], col["num_gpu"], col["gpu_milli"]
        i_cpu, i_mem, i_spec = col.get("cpu_milli"), col.get("memory_mib"), col.get("gpu_spec")
        i_qos, i_phase = col.get("qos"), col.get("pod_phase")
        i_create, i_delete = col.get("creation_time"), col.get("deletion_time")
        i_sched = col.get("scheduled_time")

        def text(f: list[str], index: int | None) -> str:
            if index is None or is_missing(f[index]):
                return ""
            return f[index].strip()

        def whole(f: list[str], index: int | None, column: str) -> int:
            if index is None or is_missing(f[index]):
                return -1
            return integer(f[index], column, minimum=0)

        def convert(line: int, f: list[str]) -> Row:
            num_gpu = integer(f[i_num], "num_gpu", minimum=0)
            if num_gpu == 0:
                raise RowSkipped("cpu-only pod")
            milli = integer(f[i_milli], "gpu_milli", minimum=1)
            if milli > 1000:
                raise BadValue("gpu_milli", f[i_milli], "must be <= 1000 (one whole GPU)")
            if num_gpu > 1 and milli != 1000:
                raise BadValue("gpu_milli", f[i_milli],
                               "must be 1000 when num_gpu > 1 (only 1-GPU pods share a GPU)")
            if num_gpu == 1 and milli < 1000:
                gpus, fraction = ctx.gpus(milli / 1000.0, "gpu_milli", f[i_milli])
            else:
                gpus, fraction = ctx.gpus(float(num_gpu), "num_gpu", f[i_num])
            if i_create is not None and i_delete is not None:
                arrival = time_point(f[i_create], "creation_time")
                deletion = time_point(f[i_delete], "deletion_time")
                scheduled = optional_number(f[i_sched], "scheduled_time") if i_sched is not None \
                    else None
                began, column = (arrival, "deletion_time - creation_time") if scheduled is None \
                    else (scheduled, "deletion_time - scheduled_time")
                duration = ctx.duration(deletion - began, column, deletion - began)
            else:
                arrival = 0.0
                assert ctx.spec.default_duration is not None
                duration = ctx.spec.default_duration
            return ctx.row(line, arrival, gpus, fraction, duration, text(f, i_spec), "",
                           "training", f[i_name].strip(), whole(f, i_cpu, "cpu_milli"),
                           whole(f, i_mem, "memory_mib"), milli, text(f, i_qos),
                           text(f, i_phase))

        yield from ctx.rows(records, convert)


FORMAT = FormatInfo(
    name="alibaba-openb", kind="training", arrival_column="creation_time",
    extra=(("id", object), ("cpu_milli", np.int64), ("memory_mib", np.int64),
           ("gpu_milli", np.int32), ("qos", object), ("pod_phase", object)),
    sorted_by_default=True, parse=parse,
)


OpenbNodeGroup = tuple[str, int, int]
"""(model, gpus_per_node, count): ``count`` nodes with ``gpus_per_node`` GPUs of ``model``."""


def read_openb_nodes(path: str | Path) -> list[OpenbNodeGroup]:
    """Aggregate an openb node list (``sn,cpu_milli,memory_mib,gpu,model``) into groups.

    Returns ``(model, gpus_per_node, count)`` tuples; ``model`` is the node list's name
    (``V100M32``, ``T4``, ``G2``...), the same names as the pod list's ``gpu_spec``.
    CPU-only nodes (``gpu = 0``) are left out. Groups are sorted by model, then GPUs per node.
    Raises :class:`InputError` with ``file:line`` for a malformed row.
    """
    file = Path(path)
    source = str(file)
    if not file.is_file():
        raise InputError("node list not found", source)
    counts: Counter[tuple[str, int]] = Counter()
    problems: list[Problem] = []
    try:
        with open_text(file) as handle:
            reader = csv.DictReader(handle)
            fields = reader.fieldnames or []
            missing = [c for c in ("gpu", "model") if c not in fields]
            if missing:
                raise InputError(f"missing column(s) {', '.join(missing)} "
                                 f"(found: {excerpt(', '.join(fields))})", f"{source}:1")
            for record in reader:
                line = reader.line_num
                try:
                    gpus = integer(record["gpu"] or "", "gpu", minimum=0)
                except BadValue as exc:
                    problems.append(Problem(f"{source}:{line}", exc.describe()))
                    continue
                if gpus == 0:
                    continue
                model = (record["model"] or "").strip()
                if is_missing(model):
                    problems.append(Problem(f"{source}:{line}",
                                            f"model: is empty for a node with {gpus} GPUs"))
                    continue
                counts[(model, gpus)] += 1
    except (OSError, EOFError, UnicodeDecodeError, csv.Error, zlib.error) as exc:
        raise InputError(f"cannot read the node list: {exc}", source) from None
    if problems:
        raise InputError(problems)
    return [(model, gpus, count) for (model, gpus), count in sorted(counts.items())]
