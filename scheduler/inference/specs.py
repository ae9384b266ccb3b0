"""What the replica performance model needs to know: model architectures and GPU figures.

Model presets are the published architectures (sources in scheduler/data/PROVENANCE.md):
Llama 3.1 8B / 70B / 405B from "The Llama 3 Herd of Models" (Dubey et al. 2024, Table 3) and
Mixtral 8x7B from "Mixtral of Experts" (Jiang et al. 2024, Table 1). GPU figures join the
built-in catalog (memory, HBM bandwidth, bf16 dense TFLOPS) with
``scheduler/data/gpu_inference.csv`` (FP8 / FP4 dense TFLOPS, GPU-to-GPU bandwidth).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

from scheduler.catalog import builtin_gpu_types

PRECISION_BYTES = {"bf16": 2.0, "fp8": 1.0, "fp4": 0.5}
"""Bytes per weight by precision."""
KV_BYTES = {"bf16": 2.0, "fp8": 1.0, "fp4": 1.0}
"""Bytes per KV-cache element: FP8 and FP4 checkpoints keep an FP8 KV cache (as NVIDIA's
ModelOpt FP8 / FP4 checkpoints used in the calibration points do)."""


@dataclass(frozen=True)
class ModelSpec:
    """A decoder-only transformer, as far as serving speed goes.

    ``params``: all weights; ``active_params``: weights one token passes through (equal for
    dense models, fewer for mixture-of-experts); ``experts`` / ``experts_per_token``: MoE
    routing (1 / 1 for dense). Attention: ``heads`` query heads and ``kv_heads`` key/value
    heads of ``head_dim`` each (grouped-query attention when ``kv_heads < heads``).
    """

    name: str
    params: float
    active_params: float
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    experts: int = 1
    experts_per_token: int = 1

    def __post_init__(self) -> None:
        if not (self.params > 0 and 0 < self.active_params <= self.params):
            raise ValueError(f"{self.name}: need 0 < active_params <= params")
        for what in ("layers", "hidden", "heads", "kv_heads", "head_dim", "experts",
                     "experts_per_token"):
            if int(getattr(self, what)) < 1:
                raise ValueError(f"{self.name}: {what} must be >= 1")
        if self.heads % self.kv_heads or self.experts_per_token > self.experts:
            raise ValueError(f"{self.name}: heads must be a multiple of kv_heads and "
                             f"experts_per_token <= experts")


MODEL_PRESETS: dict[str, ModelSpec] = {
    # Llama 3 paper Table 3: layers, model dimension, attention heads, KV heads (8 for all);
    # head dimension = model dimension / heads = 128. Parameter counts: the model cards.
    "llama-3.1-8b": ModelSpec("llama-3.1-8b", 8.03e9, 8.03e9, 32, 4096, 32, 8, 128),
    "llama-3.1-70b": ModelSpec("llama-3.1-70b", 70.6e9, 70.6e9, 80, 8192, 64, 8, 128),
    "llama-3.1-405b": ModelSpec("llama-3.1-405b", 405.9e9, 405.9e9, 126, 16384, 128, 8, 128),
    # Mixtral paper Table 1: dim 4096, 32 layers, 32 heads, 8 KV heads of 128, 8 experts with
    # 2 per token; 47 B parameters, 13 B active per token (the paper's rounded figures).
    "mixtral-8x7b": ModelSpec("mixtral-8x7b", 46.7e9, 12.9e9, 32, 4096, 32, 8, 128, 8, 2),
}


def model_preset(name: str) -> ModelSpec:
    """A built-in model architecture by name (case-insensitive)."""
    try:
        return MODEL_PRESETS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; built-in: {sorted(MODEL_PRESETS)}") from None


@dataclass(frozen=True)
class GpuSpec:
    """One accelerator's serving figures: dense tensor TFLOPS by precision (0 = none)."""

    name: str
    memory_gb: float
    hbm_tb_s: float
    bf16_tflops: float
    fp8_tflops: float
    fp4_tflops: float
    interconnect_gb_s: float
    """GPU-to-GPU bandwidth within a server (NVLink / Infinity Fabric), both directions."""
    generation: str = "hopper"
    """Architecture family, which picks the calibrated efficiency factors."""

    def tflops(self, precision: str) -> float:
        """Dense TFLOPS for matrix products in ``precision``: the precision's own tensor
        rate, or the next wider one the GPU has (FP4 -> FP8 -> BF16)."""
        if precision not in PRECISION_BYTES:
            raise ValueError(f"unknown precision {precision!r}; known: {sorted(PRECISION_BYTES)}")
        order = {"fp4": (self.fp4_tflops, self.fp8_tflops, self.bf16_tflops),
                 "fp8": (self.fp8_tflops, self.bf16_tflops), "bf16": (self.bf16_tflops,)}
        return next((rate for rate in order[precision] if rate > 0), 0.0)


@cache
def _inference_rows() -> dict[str, dict[str, str]]:
    path = resources.files("scheduler") / "data" / "gpu_inference.csv"
    with path.open(encoding="utf-8") as handle:
        return {row["gpu"]: row for row in csv.DictReader(handle)}


def gpu_spec(name: str) -> GpuSpec:
    """Serving figures of a built-in GPU type that has them (H100, H200, B200, GB200, MI300X)."""
    rows = _inference_rows()
    catalog = builtin_gpu_types()
    if name not in rows or name not in catalog:
        raise ValueError(f"no inference figures for GPU type {name!r}; known: {sorted(rows)}")
    row, base = rows[name], catalog[name]
    return GpuSpec(name=name, memory_gb=base.memory_gb, hbm_tb_s=base.hbm_tb_s,
                   bf16_tflops=base.bf16_tflops, fp8_tflops=float(row["fp8_dense_tflops"]),
                   fp4_tflops=float(row["fp4_dense_tflops"]),
                   interconnect_gb_s=float(row["interconnect_gb_s"]),
                   generation=row["generation"])


def known_gpus() -> list[str]:
    """GPU types with inference figures."""
    return sorted(_inference_rows())
