"""Size a service before running a fleet: one replica's speed from the performance model, and
how many replicas a request rate needs (queueing model of :mod:`scheduler.inference.latency`).

:func:`replica_model` turns (model, GPU type, TP, precision, token lengths, TPOT target) into
the :class:`~scheduler.inference.models.ReplicaModel` the queueing code and the engine use:
``slots`` = the largest batch meeting the TPOT target (memory permitting),
``decode_s_per_token`` = the TPOT at that batch, ``prefill_tokens_per_s`` = mean prompt /
its prefill time on an otherwise idle replica. The token lengths enter at their means.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scheduler.inference import perf
from scheduler.inference.latency import aggregate_latency, replicas_needed
from scheduler.inference.models import ReplicaModel, TokenLengths, workload_tokens
from scheduler.inference.specs import GpuSpec, ModelSpec, gpu_spec, model_preset

DEFAULT_TPOT_S = 0.05
"""TPOT target when none is given: 50 ms (20 tokens/s per user), between MLPerf's Llama 2 70B
Interactive target (40 ms) and the chat SLO default (150 ms)."""


@dataclass(frozen=True)
class ReplicaPerformance:
    """One replica at its operating batch (times in seconds)."""

    weights_gb_per_gpu: float
    kv_mb_per_token: float
    """KV cache per context token on each GPU."""
    max_batch_memory: int
    """Most sequences of mean input + output length the KV cache holds (engine cap 2,048)."""
    batch: int
    """Largest batch within memory and the TPOT target (0: none meets it)."""
    tpot_s: float
    output_tokens_per_s: float
    prefill_s: float
    """Prefill time of a mean-length prompt on an idle replica (TTFT without queueing)."""


def replica_performance(model: ModelSpec, gpu: GpuSpec, tp: int, precision: str,
                        input_mean: float, output_mean: float, tpot_target_s: float,
                        eff: perf.Efficiency | None = None) -> ReplicaPerformance:
    """Evaluate :mod:`~scheduler.inference.perf` for one configuration (calibrated factors
    unless ``eff`` is given)."""
    r = perf.replica_arrays([(model, gpu, tp, precision)])
    eff = eff or perf.calibrated_efficiency([gpu])
    i, o = np.array([float(input_mean)]), np.array([float(output_mean)])
    batch = int(perf.batch_at_tpot(r, tpot_target_s, i, o, eff)[0])
    at = float(max(batch, 1))
    tpot = float(perf.decode_step_s(r, at, i, o, eff)[0])
    return ReplicaPerformance(
        weights_gb_per_gpu=float(perf.weights_per_gpu_bytes(r)[0]) / 1e9,
        kv_mb_per_token=float(perf.kv_bytes_per_token(r)[0]) / 1e6,
        max_batch_memory=int(perf.max_batch_in_memory(r, i + o, eff)[0]),
        batch=batch, tpot_s=tpot, output_tokens_per_s=batch / tpot if batch else 0.0,
        prefill_s=float(perf.prefill_time_s(r, i, eff)[0]))


def replica_model(model: str | ModelSpec, gpu: str | GpuSpec, tp: int, precision: str,
                  input_tokens: TokenLengths, output_tokens: TokenLengths,
                  tpot_target_s: float) -> tuple[ReplicaModel, ReplicaPerformance]:
    """The queueing model's view of a replica, and the performance figures behind it.

    Raises ValueError when the weights do not fit or no batch meets the TPOT target."""
    spec = model_preset(model) if isinstance(model, str) else model
    hardware = gpu_spec(gpu) if isinstance(gpu, str) else gpu
    if not tpot_target_s > 0:
        raise ValueError(f"the TPOT target must be > 0, got {tpot_target_s}")
    found = replica_performance(spec, hardware, tp, precision, input_tokens.mean,
                                output_tokens.mean, tpot_target_s)
    if found.max_batch_memory < 1:
        raise ValueError(f"{spec.name} in {precision} does not fit on {tp} x {hardware.name} "
                         f"({found.weights_gb_per_gpu:.0f} GB of weights per GPU of "
                         f"{hardware.memory_gb:g} GB): use more GPUs (tp) or a narrower "
                         f"precision")
    if found.batch < 1:
        raise ValueError(f"{spec.name} on {tp} x {hardware.name} ({precision}) cannot meet a "
                         f"TPOT of {tpot_target_s * 1e3:g} ms even alone ({found.tpot_s * 1e3:.1f} "
                         f"ms at batch 1)")
    prefill_rate = input_tokens.mean / found.prefill_s
    return ReplicaModel(prefill_tokens_per_s=prefill_rate, decode_s_per_token=found.tpot_s,
                        slots=found.batch, input=input_tokens, output=output_tokens), found


@dataclass(frozen=True)
class CapacityAnswer:
    """What :func:`capacity` found; ``replicas`` and the latencies are None without a rate."""

    performance: ReplicaPerformance
    model: ReplicaModel
    requests_per_s_per_replica: float
    """Requests per second one replica completes with every slot busy."""
    replicas: int | None = None
    utilization: float | None = None
    ttft_p_s: float | None = None
    """TTFT at ``percentile`` with ``replicas`` replicas (queueing + prefill)."""


def capacity(model: str | ModelSpec = "llama-3.1-70b", gpu: str | GpuSpec = "H100",
             tp: int = 8, precision: str = "fp8", tpot_target_s: float = DEFAULT_TPOT_S,
             rate_rps: float | None = None, input_tokens: TokenLengths | None = None,
             output_tokens: TokenLengths | None = None, ttft_slo_s: float = 2.5,
             percentile: float = 0.9, target_utilization: float | None = None) -> CapacityAnswer:
    """Tokens/s per replica at the TPOT target, the batch, and the replicas a rate needs.

    Token lengths default to the built-in ``chat`` mix (Azure 2023). The replica count is the
    smallest whose TTFT at ``percentile`` is within ``ttft_slo_s`` (and whose slot
    utilisation is at most ``target_utilization`` when given): :func:`replicas_needed`."""
    chat_in, chat_out = workload_tokens("chat")
    tokens_in = input_tokens or chat_in
    tokens_out = output_tokens or chat_out
    queueing, found = replica_model(model, gpu, tp, precision, tokens_in, tokens_out,
                                    tpot_target_s)
    answer = CapacityAnswer(found, queueing, queueing.capacity_rps())
    if rate_rps is None:
        return answer
    n = replicas_needed(rate_rps, queueing, ttft_slo_s=ttft_slo_s, percentile=percentile,
                        target_utilization=target_utilization)
    estimate = aggregate_latency(rate_rps, n, queueing, percentile=percentile)
    return CapacityAnswer(found, queueing, answer.requests_per_s_per_replica, n,
                          estimate.utilization, estimate.ttft_p_s)
