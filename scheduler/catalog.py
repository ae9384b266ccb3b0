"""The built-in GPU type catalog, read from the packaged copy of ``data/hdf/gpu_types.csv``.

Figures are vendor datasheet values (see ``shared/data/PROVENANCE.md``): board power (TDP) is
``busy_w``, ``idle_w`` is the near-idle draw of a GPU in a production cluster, and
``host_overhead_w_per_8_gpus`` the rest of an 8-GPU server (CPUs, NICs, fans).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class GpuType:
    """One accelerator model. Powers in watts."""

    name: str
    busy_w: float
    idle_w: float
    memory_gb: float
    bf16_tflops: float
    host_overhead_w_per_8_gpus: float
    hbm_tb_s: float = 0.0
    """HBM bandwidth in TB/s (0: unknown; hardware speeds then fall back to 1)."""

    def node_overhead_w(self, gpus_per_node: int) -> float:
        """Default per-node host overhead, scaled from the 8-GPU server figure."""
        return self.host_overhead_w_per_8_gpus * gpus_per_node / 8.0


@cache
def builtin_gpu_types() -> dict[str, GpuType]:
    """Name -> :class:`GpuType` for every built-in type (H100, H200, B200, GB200, MI300X, the
    older ones of the traces, and the 2026 parts B300, GB300, MI355X, MI350X)."""
    types: dict[str, GpuType] = {}
    for filename in ("gpu_types.csv", "gpu_types_legacy.csv", "gpu_types_2026.csv"):
        path = resources.files("scheduler") / "data" / filename
        if not path.is_file():
            continue
        with path.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                types[row["gpu"]] = GpuType(
                    name=row["gpu"],
                    busy_w=float(row["tdp_w"]),
                    idle_w=float(row["idle_w"]),
                    memory_gb=float(row["memory_gb"]),
                    bf16_tflops=float(row["bf16_dense_tflops"]),
                    host_overhead_w_per_8_gpus=float(row["host_overhead_w_per_8_gpus"]),
                    hbm_tb_s=float(row.get("hbm_tb_s") or 0.0),
                )
    return types
