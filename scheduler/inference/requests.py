"""Request-level simulation of an inference service (small cases, exact FCFS queue).

Each of ``c = replicas x slots`` batch slots is a server; requests take the earliest free
slot in arrival order (first come, first served) and hold it for their own prefill + decode
time. This is the fidelity check for :mod:`scheduler.inference.latency` and a tool for
small studies; a plain Python loop over a heap does ~10^6 requests per second or so.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scheduler.inference.models import HOUR, WEEK, ReplicaModel, hourly_rates

RateFn = Callable[[np.ndarray], np.ndarray]
"""Vectorised rate function: times (s since Monday 00:00) -> requests per second."""


def fcfs_queue(arrivals_s: np.ndarray, service_s: np.ndarray, servers: int) -> np.ndarray:
    """Waiting time of each request in an FCFS queue with ``servers`` identical servers.

    ``arrivals_s`` must be non-decreasing (the service order); returns waits (s, >= 0).
    """
    arrivals = np.asarray(arrivals_s, dtype=np.float64)
    service = np.asarray(service_s, dtype=np.float64)
    if arrivals.shape != service.shape or arrivals.ndim != 1:
        raise ValueError("arrivals_s and service_s must be 1-D arrays of the same length")
    if int(servers) != servers or servers < 1:
        raise ValueError(f"servers must be an integer >= 1, got {servers}")
    if arrivals.size and np.any(np.diff(arrivals) < 0):
        raise ValueError("arrivals_s must be non-decreasing")
    if np.any(service < 0):
        raise ValueError("service times must be >= 0")
    n = arrivals.size
    if servers >= n:  # never more requests than servers: nobody waits
        return np.zeros(n)
    return fcfs_queue_from(arrivals, service, np.full(int(servers), -math.inf))[0]


def fcfs_queue_from(arrivals_s: np.ndarray, service_s: np.ndarray, free_at_s: np.ndarray,
                    until_s: float = math.inf) -> tuple[np.ndarray, np.ndarray]:
    """:func:`fcfs_queue` from a given state, up to a time: server ``k`` is busy until
    ``free_at_s[k]`` (work carried from an earlier period), and only requests that get a
    server before ``until_s`` start (start times are non-decreasing in FCFS order, so they
    are a prefix). Returns the waits of that prefix and the servers' free times (sorted)
    once it has started, to continue in the next period. Inputs as :func:`fcfs_queue`
    checks them (sorted arrivals, service times >= 0, at least one server)."""
    arrivals = np.asarray(arrivals_s, dtype=np.float64)
    # Arrivals at or after ``until_s`` cannot start before it: only the busy case needs a test.
    n = int(np.searchsorted(arrivals, until_s, side="left"))
    # Heap of the times each server becomes free; the root is the earliest. FCFS with
    # identical servers: request i starts at max(arrival, earliest free time).
    free = sorted(np.asarray(free_at_s, dtype=np.float64).tolist())  # a sorted list is a heap
    waits = [0.0] * n
    replace = heapq.heapreplace
    for i, (t, s) in enumerate(zip(arrivals[:n].tolist(),
                                   np.asarray(service_s, dtype=np.float64)[:n].tolist(),
                                   strict=True)):
        earliest = free[0]
        if earliest > t:
            if earliest >= until_s:  # start times never decrease: nobody after starts either
                n = i
                break
            waits[i] = earliest - t
            replace(free, earliest + s)
        else:
            replace(free, t + s)
    return np.asarray(waits[:n], dtype=np.float64), np.sort(np.asarray(free))


@dataclass(frozen=True)
class RequestLatencies:
    """Per-request results (seconds), in the order of the inputs."""

    wait_s: np.ndarray
    """Time from arrival at the service to getting a slot."""
    ttft_s: np.ndarray
    """Time to first token as the client sees it: wait + own prefill + network RTT."""
    tpot_s: np.ndarray
    """Time per output token."""
    service_s: np.ndarray
    """Slot holding time: prefill + decode."""
    finish_s: np.ndarray
    """When the slot frees (arrival + wait + service, service-side clock, no RTT)."""


def simulate_requests(arrivals_s: np.ndarray, input_tokens: np.ndarray,
                      output_tokens: np.ndarray, replicas: int, model: ReplicaModel,
                      speed: float = 1.0, network_rtt_s: float = 0.0) -> RequestLatencies:
    """Exact FCFS simulation of ``replicas x model.slots`` slots serving the given requests.

    ``arrivals_s`` need not be sorted (ties and order are resolved by a stable sort).
    """
    arrivals = np.asarray(arrivals_s, dtype=np.float64)
    if int(replicas) != replicas or replicas < 1:
        raise ValueError(f"replicas must be an integer >= 1, got {replicas}")
    if network_rtt_s < 0:
        raise ValueError("network_rtt_s must be >= 0")
    prefill, service = model.service_times(input_tokens, output_tokens, speed)
    if prefill.shape != arrivals.shape:
        raise ValueError("arrivals_s, input_tokens and output_tokens must have the same length")
    if arrivals.size and np.any(np.diff(arrivals) < 0):
        order = np.argsort(arrivals, kind="stable")
        waits = np.empty_like(arrivals)
        waits[order] = fcfs_queue(arrivals[order], service[order], int(replicas) * model.slots)
    else:
        waits = fcfs_queue(arrivals, service, int(replicas) * model.slots)
    return RequestLatencies(
        wait_s=waits,
        ttft_s=waits + prefill + network_rtt_s,
        tpot_s=np.full(arrivals.shape, model.tpot_s(speed)),
        service_s=service,
        finish_s=arrivals + waits + service,
    )


@dataclass(frozen=True)
class Requests:
    """Generated requests, sorted by arrival time."""

    arrivals_s: np.ndarray
    input_tokens: np.ndarray
    output_tokens: np.ndarray


def generate_requests(rate: float | tuple[float, np.ndarray | None, np.ndarray | None] | RateFn,
                      duration_s: float, model: ReplicaModel, rng: np.random.Generator,
                      rate_max: float | None = None) -> Requests:
    """Poisson requests in ``[0, duration_s)`` with token counts drawn from ``model``.

    ``rate``: a constant (requests/s); ``(base_rps, daily, weekly)``, a profile as in
    :func:`rates_at` (exact: a Poisson count, then points drawn by inverting the integrated
    rate); or a vectorised function of time, thinned from ``rate_max`` (required then).
    """
    if not (duration_s >= 0 and math.isfinite(duration_s)):
        raise ValueError(f"duration_s must be finite and >= 0, got {duration_s}")
    if callable(rate):
        times = _thinned(rate, duration_s, rng, rate_max)
    elif isinstance(rate, tuple):
        base, daily, weekly = rate
        times = _profiled(hourly_rates(base, daily, weekly), duration_s, rng)
    else:
        if not (rate >= 0 and math.isfinite(rate)):
            raise ValueError(f"rate must be finite and >= 0, got {rate}")
        n = rng.poisson(rate * duration_s)
        times = np.sort(rng.uniform(0.0, duration_s, size=n))
    n = times.size
    return Requests(times, model.input.sample(rng, n), model.output.sample(rng, n))


def _profiled(rates: np.ndarray, duration_s: float, rng: np.random.Generator) -> np.ndarray:
    # Given the count, the points of a Poisson process are i.i.d. with density rate(t) / total:
    # uniform points on the integrated-rate axis, mapped back through its inverse.
    cumulative = np.concatenate([[0.0], np.cumsum(rates * HOUR)])
    per_week = cumulative[-1]

    def integrated(t: float) -> float:
        weeks, within = divmod(t, WEEK)
        hour = min(int(within // HOUR), 167)
        return weeks * per_week + cumulative[hour] + rates[hour] * (within - hour * HOUR)

    total = integrated(duration_s)
    u = np.sort(rng.uniform(0.0, total, size=rng.poisson(total)))
    weeks, within = np.divmod(u, per_week)
    hour = np.clip(np.searchsorted(cumulative, within, side="right") - 1, 0, 167)
    # Zero-rate hours are empty intervals of the integrated rate, so the hour found has a
    # positive rate except on exact ties; guard the division anyway.
    offset = (within - cumulative[hour]) / np.where(rates[hour] > 0, rates[hour], 1.0)
    times = weeks * WEEK + hour * HOUR + offset
    return np.minimum(times, np.nextafter(duration_s, 0.0)) if times.size else times


def _thinned(rate_fn: RateFn, duration_s: float, rng: np.random.Generator,
             rate_max: float | None) -> np.ndarray:
    if rate_max is None or not (rate_max >= 0 and math.isfinite(rate_max)):
        raise ValueError("a rate function needs a finite rate_max >= its largest value")
    candidates = np.sort(rng.uniform(0.0, duration_s, size=rng.poisson(rate_max * duration_s)))
    values = np.asarray(rate_fn(candidates), dtype=np.float64)
    if values.shape != candidates.shape:
        raise ValueError("rate_fn must map an array of times to an array of rates")
    if np.any(values > rate_max * (1 + 1e-9)) or np.any(values < 0):
        raise ValueError(f"rate_fn left [0, rate_max = {rate_max}]: thinning would be biased")
    keep = rng.uniform(0.0, rate_max, size=candidates.size) < values
    return candidates[keep]


@dataclass(frozen=True)
class LatencySummary:
    """Summary of request latencies against SLOs (times in seconds)."""

    requests: int
    attainment: float
    """Fraction meeting both the TTFT and the TPOT SLO."""
    ttft_attainment: float
    tpot_attainment: float
    wait_mean_s: float
    wait_probability: float
    """Fraction of requests that waited for a slot."""
    ttft_mean_s: float
    ttft_p_s: float
    """TTFT at the requested percentile."""
    tpot_p_s: float
    """TPOT at the requested percentile."""


def summarize(latencies: RequestLatencies, ttft_slo_s: float = math.inf,
              tpot_slo_s: float = math.inf, percentile: float = 0.9) -> LatencySummary:
    """Attainment and percentiles (``percentile`` a fraction in (0, 1)); empty input gives nan."""
    if not (0 < percentile < 1):
        raise ValueError(f"percentile must be in (0, 1), got {percentile}")
    n = latencies.ttft_s.size
    if n == 0:
        nan = math.nan
        return LatencySummary(0, nan, nan, nan, nan, nan, nan, nan, nan)
    ttft_ok = latencies.ttft_s <= ttft_slo_s
    tpot_ok = latencies.tpot_s <= tpot_slo_s
    return LatencySummary(
        requests=n,
        attainment=float(np.mean(ttft_ok & tpot_ok)),
        ttft_attainment=float(ttft_ok.mean()),
        tpot_attainment=float(tpot_ok.mean()),
        wait_mean_s=float(latencies.wait_s.mean()),
        wait_probability=float(np.mean(latencies.wait_s > 0)),
        ttft_mean_s=float(latencies.ttft_s.mean()),
        ttft_p_s=float(np.quantile(latencies.ttft_s, percentile)),
        tpot_p_s=float(np.quantile(latencies.tpot_s, percentile)),
    )
