"""LLM inference serving: replica models, demand profiles, and latency at two fidelities.

- :mod:`~scheduler.inference.models`: token lengths, a replica's speed and slots
  (:class:`ReplicaModel`), built-in ``chat`` / ``code`` demand profiles.
- :mod:`~scheduler.inference.latency`: the aggregate model (M/G/c, Allen–Cunneen) for
  regional-scale runs, and :func:`replicas_needed` for sizing against an SLO.
- :mod:`~scheduler.inference.requests`: an exact FCFS request-level simulation for small
  cases and for checking the aggregate model.
"""

from scheduler.inference.latency import (
    InfeasibleError,
    LatencyEstimate,
    aggregate_latency,
    erlang_c,
    replicas_needed,
)
from scheduler.inference.models import (
    ReplicaModel,
    TokenLengths,
    demand_profile,
    hourly_rates,
    rate_at,
    rates_at,
    workload_tokens,
)
from scheduler.inference.requests import (
    LatencySummary,
    RequestLatencies,
    Requests,
    fcfs_queue,
    generate_requests,
    simulate_requests,
    summarize,
)

__all__ = ["InfeasibleError", "LatencyEstimate", "LatencySummary", "ReplicaModel",
           "RequestLatencies", "Requests", "TokenLengths", "aggregate_latency",
           "demand_profile", "erlang_c", "fcfs_queue", "generate_requests", "hourly_rates",
           "rate_at", "rates_at", "replicas_needed", "simulate_requests", "summarize",
           "workload_tokens"]
