"""Roofline performance of an LLM serving replica: pure functions over arrays (NumPy or CuPy).

A replica is one model copy sharded over ``tp`` GPUs (tensor parallel). Every function takes a
:class:`ReplicaArrays` (one entry per replica configuration, any shape) and returns arrays of
that shape, so a whole fleet of (model, GPU type, TP, precision) combinations evaluates at once
on the array module it was built with.

The model (each a textbook roofline; the efficiency factors are fitted per GPU generation, see
:data:`CALIBRATED` and benchmarks/inference_calibration.py):

- weights per GPU = params x bytes/param / tp; KV cache per token =
  2 (K and V) x layers x kv_heads x head_dim x KV bytes, sharded over tp (a KV head is
  replicated when tp > kv_heads);
- the KV cache gets ``kv_memory_fraction`` of the memory the weights leave (TensorRT-LLM's
  ``kv_cache_free_gpu_mem_fraction``); a sequence is admitted only when its whole
  input + output fits (no eviction), which bounds the batch;
- a forward pass over T tokens costs 2 x active params x T FLOPs plus attention, reads the
  weights once (for mixture-of-experts, the experts the T tokens route to) and the KV cache of
  the sequences in the batch, and all-reduces the activations twice per layer over the TP
  group (ring: 2 (tp-1)/tp x bytes / link bandwidth, plus a fixed latency per all-reduce);
  its time is max(compute, memory) + communication;
- **continuous batching with chunked prefill**: a replica carrying ``b`` sequences of I input
  and O output tokens admits, in steady state, b / O new requests per decode step, so each step
  also prefills ``b x I / O`` prompt tokens beside the ``b`` decode tokens. Decoding sequences
  sit on average at context I + O / 2. TPOT(b) = that step's time; throughput(b) = b / TPOT(b)
  output tokens per second. This averages the prefill load over steps (no per-step spikes),
  which is how chunked prefill spreads it;
- the batch a service may use is the largest that fits in memory and meets the TPOT target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from scheduler.inference.specs import KV_BYTES, PRECISION_BYTES, GpuSpec, ModelSpec

ACTIVATION_BYTES = 2.0
"""Activations cross the TP all-reduce in 16-bit."""


@dataclass(frozen=True)
class Efficiency:
    """Achieved fractions of the datasheet peaks, and the serving engine's limits.

    ``compute`` and ``memory`` may be arrays (one value per replica configuration, see
    :func:`calibrated_efficiency`)."""

    compute: Any
    """Achieved fraction of dense tensor FLOPS in the precision used."""
    memory: Any
    """Achieved fraction of HBM bandwidth."""
    kv_memory_fraction: float = 0.90
    """Share of the memory left after the weights that holds KV cache (TensorRT-LLM's
    default ``kv_cache_free_gpu_mem_fraction``, PROVENANCE.md)."""
    allreduce_latency_s: float = 5e-6
    """Fixed cost of one all-reduce (assumption: a few microseconds for NVLink all-reduce of
    small messages)."""
    max_batch: int = 2048
    """Largest batch the engine schedules (assumption: TensorRT-LLM's default
    ``max_batch_size`` is 2,048)."""
    link_efficiency: float = 0.8
    """Achieved fraction of the GPU-to-GPU bandwidth in all-reduce (assumption)."""


CALIBRATED: dict[str, tuple[float, float]] = {
    "hopper": (0.446, 0.535),
    "blackwell": (0.311, 0.322),
}
"""(compute, memory) efficiency per GPU generation, fitted by
benchmarks/inference_calibration.py on TensorRT-LLM throughput tables (fit and held-back
errors in docs/validation.md; tests/test_inference_perf.py re-runs the fit). Blackwell's are
fitted on FP4 points. A generation without published points (``cdna3``: MI300X) takes
Hopper's (assumption)."""
FALLBACK_GENERATION = "hopper"


def calibrated_efficiency(gpus: Sequence[GpuSpec], xp: ModuleType | Any = np,
                          factors: dict[str, tuple[float, float]] | None = None,
                          **limits: Any) -> Efficiency:
    """Per-configuration :class:`Efficiency` for GPUs of these generations (``factors``
    defaults to :data:`CALIBRATED`; ``limits`` sets the other fields)."""
    table = CALIBRATED if factors is None else factors
    pairs = [table.get(gpu.generation, table[FALLBACK_GENERATION]) for gpu in gpus]
    return Efficiency(compute=xp.asarray([c for c, _ in pairs], dtype=xp.float64),
                      memory=xp.asarray([m for _, m in pairs], dtype=xp.float64), **limits)


@dataclass(frozen=True)
class ReplicaArrays:
    """Replica configurations as arrays of one shape (bytes, seconds, FLOP/s)."""

    xp: Any
    params: Any
    active_params: Any
    routed_params: Any
    """Weights inside routed experts (0 for dense models)."""
    experts: Any
    experts_per_token: Any
    layers: Any
    hidden: Any
    attention_width: Any
    """heads x head_dim."""
    kv_heads: Any
    head_dim: Any
    weight_bytes: Any
    kv_bytes: Any
    tp: Any
    memory_bytes: Any
    hbm_bytes_s: Any
    flops: Any
    link_bytes_s: Any
    """One direction of the GPU-to-GPU link."""


def replica_arrays(configs: Sequence[tuple[ModelSpec, GpuSpec, int, str]],
                   xp: ModuleType | Any = np) -> ReplicaArrays:
    """Stack ``(model, gpu, tp, precision)`` configurations into arrays on ``xp``."""
    if not configs:
        raise ValueError("need at least one configuration")
    columns: dict[str, list[float]] = {name: [] for name in ReplicaArrays.__dataclass_fields__
                                       if name != "xp"}
    for model, gpu, tp, precision in configs:
        if int(tp) != tp or tp < 1:
            raise ValueError(f"tp must be an integer >= 1, got {tp}")
        if precision not in PRECISION_BYTES:
            raise ValueError(f"unknown precision {precision!r}; known: {sorted(PRECISION_BYTES)}")
        if gpu.tflops(precision) <= 0 or gpu.hbm_tb_s <= 0 or gpu.memory_gb <= 0:
            raise ValueError(f"GPU type {gpu.name} lacks TFLOPS, bandwidth or memory figures")
        # MoE: active = shared + k x expert and params = shared + E x expert give the expert size.
        per_expert = ((model.params - model.active_params) / (model.experts - model.experts_per_token)
                      if model.experts > model.experts_per_token else 0.0)
        row = {"params": model.params, "active_params": model.active_params,
               "routed_params": per_expert * model.experts, "experts": model.experts,
               "experts_per_token": model.experts_per_token, "layers": model.layers,
               "hidden": model.hidden, "attention_width": model.heads * model.head_dim,
               "kv_heads": model.kv_heads, "head_dim": model.head_dim,
               "weight_bytes": PRECISION_BYTES[precision], "kv_bytes": KV_BYTES[precision],
               "tp": tp, "memory_bytes": gpu.memory_gb * 1e9, "hbm_bytes_s": gpu.hbm_tb_s * 1e12,
               "flops": gpu.tflops(precision) * 1e12,
               "link_bytes_s": gpu.interconnect_gb_s * 1e9 / 2}
        for name, value in row.items():
            columns[name].append(float(value))
    arrays = {name: xp.asarray(values, dtype=xp.float64) for name, values in columns.items()}
    return ReplicaArrays(xp=xp, **arrays)


def weights_per_gpu_bytes(r: ReplicaArrays) -> Any:
    """Weight bytes each GPU holds."""
    return r.params * r.weight_bytes / r.tp


def kv_bytes_per_token(r: ReplicaArrays) -> Any:
    """KV-cache bytes one token of context takes on each GPU of the replica."""
    heads_per_gpu = r.xp.maximum(r.kv_heads / r.tp, 1.0)
    return 2.0 * r.layers * heads_per_gpu * r.head_dim * r.kv_bytes


def max_tokens_in_memory(r: ReplicaArrays, eff: Efficiency) -> Any:
    """Most context tokens (over all sequences) the KV cache holds; 0 when weights don't fit."""
    free = r.memory_bytes - weights_per_gpu_bytes(r)
    return r.xp.floor(r.xp.maximum(free, 0.0) * eff.kv_memory_fraction / kv_bytes_per_token(r))


def max_batch_in_memory(r: ReplicaArrays, context_tokens: Any,
                        eff: Efficiency) -> Any:
    """Most sequences of ``context_tokens`` each that fit, capped at ``eff.max_batch``."""
    fit = r.xp.floor(max_tokens_in_memory(r, eff) / context_tokens)
    return r.xp.minimum(fit, float(eff.max_batch))


def allreduce_time_s(r: ReplicaArrays, tokens: Any, eff: Efficiency) -> Any:
    """Two ring all-reduces per layer of ``tokens`` activations over the TP group (0 at tp 1)."""
    message = tokens * r.hidden * ACTIVATION_BYTES
    ring = 2.0 * (r.tp - 1) / r.tp * message / (r.link_bytes_s * eff.link_efficiency)
    return r.xp.where(r.tp > 1, 2.0 * r.layers * (ring + eff.allreduce_latency_s), 0.0)


def weight_read_bytes(r: ReplicaArrays, tokens: Any) -> Any:
    """Weight bytes one GPU reads in a pass over ``tokens`` tokens: all dense weights, and the
    routed experts hit by at least one token (each picks ``k`` of ``E`` uniformly)."""
    untouched = (1.0 - r.experts_per_token / r.experts) ** tokens
    routed_read = r.routed_params * (1.0 - untouched)
    return (r.params - r.routed_params + routed_read) * r.weight_bytes / r.tp


def pass_time_s(r: ReplicaArrays, tokens: Any, attention_flops: Any, kv_read_bytes: Any,
                eff: Efficiency) -> Any:
    """One forward pass over ``tokens`` tokens: max(compute, memory) + all-reduce time."""
    flops = (2.0 * r.active_params * tokens + attention_flops) / r.tp
    compute = flops / (r.flops * eff.compute)
    memory = (weight_read_bytes(r, tokens) + kv_read_bytes) / (r.hbm_bytes_s * eff.memory)
    return r.xp.maximum(compute, memory) + allreduce_time_s(r, tokens, eff)


def prefill_time_s(r: ReplicaArrays, input_tokens: Any, eff: Efficiency) -> Any:
    """Time to prefill one prompt of ``input_tokens`` alone (compute bound for long prompts).

    Causal attention over n tokens costs 2 x layers x heads x head_dim x n^2 FLOPs (QK^T and
    PV, each n^2 / 2 dot products of head_dim, 2 FLOPs per multiply-add)."""
    attention = 2.0 * r.layers * r.attention_width * input_tokens**2
    return pass_time_s(r, input_tokens, attention, 0.0, eff)


def decode_step_s(r: ReplicaArrays, batch: Any, input_tokens: Any, output_tokens: Any,
                  eff: Efficiency) -> Any:
    """Time of one continuous-batching step with ``batch`` sequences decoding (the TPOT).

    The step also prefills ``batch x input / output`` prompt tokens (chunked prefill, steady
    state); decoding sequences attend to ``input + output / 2`` tokens on average, prefill
    tokens to ``input / 2``."""
    context = input_tokens + output_tokens / 2.0
    prefill = batch * input_tokens / output_tokens
    attention = 4.0 * r.layers * r.attention_width * (batch * context + prefill * input_tokens / 2)
    kv_read = batch * context * kv_bytes_per_token(r)
    return pass_time_s(r, batch + prefill, attention, kv_read, eff)


def throughput_tokens_s(r: ReplicaArrays, batch: Any, input_tokens: Any, output_tokens: Any,
                        eff: Efficiency) -> Any:
    """Output tokens per second of a replica decoding ``batch`` sequences."""
    return batch / decode_step_s(r, batch, input_tokens, output_tokens, eff)


def batch_at_tpot(r: ReplicaArrays, tpot_target_s: Any, input_tokens: Any, output_tokens: Any,
                  eff: Efficiency) -> Any:
    """Largest batch that fits in memory and whose TPOT is within the target (0: none).

    A sequence is admitted only when its whole ``input + output`` fits in the KV cache (the
    no-eviction admission of TensorRT-LLM's default ``GUARANTEED_NO_EVICT`` scheduler).
    TPOT grows with the batch, so a fixed number of integer bisection steps finds it
    (2^12 > max_batch for the default cap; more steps when the cap is larger)."""
    xp = r.xp
    limit = max_batch_in_memory(r, input_tokens + output_tokens, eff)
    lo = xp.zeros_like(limit)  # always feasible (an empty batch)
    hi = limit  # feasible iff TPOT(limit) <= target
    ok_hi = decode_step_s(r, xp.maximum(hi, 1.0), input_tokens, output_tokens, eff) <= tpot_target_s
    lo = xp.where(ok_hi, hi, lo)
    for _ in range(int(np.ceil(np.log2(max(eff.max_batch, 2)))) + 1):
        mid = xp.floor((lo + hi) / 2)
        ok = decode_step_s(r, xp.maximum(mid, 1.0), input_tokens, output_tokens,
                           eff) <= tpot_target_s
        ok = ok & (mid >= 1)
        lo = xp.where(ok & (mid > lo), mid, lo)
        hi = xp.where(ok, hi, xp.minimum(hi, mid))
    return lo


def offline_throughput_tokens_s(r: ReplicaArrays, input_tokens: Any, output_tokens: Any,
                                eff: Efficiency, batch_cap: Any = None) -> Any:
    """Output tokens/s at the largest batch memory allows (a max-throughput benchmark), or at
    most ``batch_cap`` (NaN entries: no cap) when the benchmark fixed its batch."""
    batch = max_batch_in_memory(r, input_tokens + output_tokens, eff)
    if batch_cap is not None:
        cap = r.xp.asarray(batch_cap, dtype=r.xp.float64)
        batch = r.xp.where(r.xp.isnan(cap), batch, r.xp.minimum(batch, cap))
    return r.xp.where(batch >= 1, throughput_tokens_s(r, r.xp.maximum(batch, 1.0), input_tokens,
                                                      output_tokens, eff), 0.0)
