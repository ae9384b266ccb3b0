"""Aggregate (regional-scale) latency of an inference service: M/G/c with Allen–Cunneen.

The service has ``c = replicas x slots`` servers (one per batch slot), Poisson arrivals at
``lambda`` per second and service times S of mean ``1/mu`` and squared coefficient of variation
``scv`` (see :meth:`ReplicaModel.service_time_s`). With offered load ``a = lambda / mu`` and
Erlang C probability of waiting ``C = C(c, a)``, Allen–Cunneen scales the M/M/c wait by
``(ca2 + scv) / 2`` (ca2 = 1 for Poisson arrivals):

    E[Wq]     ~ C / (c mu - lambda) x (ca2 + scv) / 2
    P(Wq > t) ~ C exp(-theta t),   theta = (c mu - lambda) x 2 / (ca2 + scv)

Erlang C itself is exact for M/M/c; Allen–Cunneen is an approximation. Against the exact
request-level queue (chat tokens, lognormal service with scv 1.6, 32 slots) it overestimated
the mean wait by 30 % at 70 % load, 15 % at 85 % and 10 % at 90 %, and the p90 wait by 10-20 %:
it errs on the side of more replicas.

TTFT = Wq + prefill + network RTT. By default, percentiles and SLO attainment use the *mean*
prefill time: the wait is the part that moves with load, but at light load this puts the TTFT
percentile below the true one by the prefill's own spread (p90: ~45 % low for chat at 70 %
load). ``prefill_spread=True`` instead convolves the wait with the lognormal prefill time
(independent of the wait, as in a FCFS queue), by quadrature; it costs a few milliseconds.
TPOT is the replica's per-token time, independent of load (folded into ``decode_s_per_token``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scheduler.inference.models import ReplicaModel

# Half-width of the window of Poisson terms kept in erlang_c, in standard deviations (plus a
# constant for small loads): terms outside it are below exp(-800) of the largest one.
_WINDOW_SD = 40.0


def erlang_c(c: int, a: float) -> float:
    """Erlang C: probability that an arrival waits in M/M/c with offered load ``a`` (Erlangs).

    Stable for large ``c`` (computed in log space from Poisson terms near the mode, so it
    costs O(sqrt(a)) for c up to millions). ``a >= c`` (unstable) returns 1.0; ``a <= 0`` 0.0.
    """
    if int(c) != c or c < 1:
        raise ValueError(f"c must be an integer >= 1, got {c}")
    c = int(c)
    if not math.isfinite(a) and a > 0:
        return 1.0
    if a <= 0:
        return 0.0
    if a >= c:
        return 1.0
    # Erlang B = P(N = c) / P(N <= c) for N ~ Poisson(a); the e^-a factors cancel, so work with
    # log(a^k / k!) and a log-sum-exp over the k that matter.
    log_a = math.log(a)
    width = _WINDOW_SD * math.sqrt(a) + _WINDOW_SD
    lo = max(0, int(a - width))
    hi = min(c, math.ceil(a + width))
    k = np.arange(lo, hi + 1, dtype=np.float64)
    log_fact = math.lgamma(lo + 1) + np.concatenate(([0.0], np.cumsum(np.log(k[1:]))))
    terms = k * log_a - log_fact
    log_top = c * log_a - math.lgamma(c + 1)
    if hi < c:  # c lies far above the mode: add its own (negligible) term to the sum
        terms = np.append(terms, log_top)
    peak = float(terms.max())
    log_b = log_top - (peak + math.log(float(np.exp(terms - peak).sum())))
    b = math.exp(log_b)
    rho = a / c
    return min(1.0, b / (1.0 - rho * (1.0 - b)))


@dataclass(frozen=True)
class LatencyEstimate:
    """Steady-state latency of a service; times in seconds, ``inf`` when unstable."""

    utilization: float
    """Offered load per server, lambda / (c mu); may exceed 1 when unstable."""
    wait_mean_s: float
    """Mean queueing delay before the request gets a slot."""
    ttft_mean_s: float
    """Mean time to first token: wait + mean prefill + network RTT."""
    ttft_p_s: float
    """TTFT at the requested percentile (wait percentile + mean prefill + RTT)."""
    tpot_s: float
    """Time per output token."""
    ttft_attainment: float
    """P(TTFT <= SLO); 1.0 when no SLO was given and the service is stable."""
    stable: bool
    """False when lambda >= c mu: the queue grows without bound."""
    wait_probability: float = 0.0
    """P(wait > 0) = Erlang C."""
    servers: int = 0
    """c = replicas x slots."""


def aggregate_latency(rate_rps: float, replicas: int, model: ReplicaModel, speed: float = 1.0,
                      percentile: float = 0.9, ttft_slo_s: float | None = None,
                      network_rtt_s: float = 0.0, arrival_scv: float = 1.0,
                      prefill_spread: bool = False) -> LatencyEstimate:
    """Latency of ``replicas`` replicas on a GPU type of relative ``speed`` at ``rate_rps``.

    ``percentile`` is a fraction in (0, 1). ``arrival_scv`` is the arrivals' squared
    coefficient of variation (1 = Poisson; > 1 for bursty traffic such as code completion).
    ``prefill_spread``: TTFT percentile and attainment with the prefill time's lognormal
    spread (True) or at the mean prefill time (False, the default; means are the same).
    """
    if not (0 < percentile < 1):
        raise ValueError(f"percentile must be in (0, 1), got {percentile}")
    if not (rate_rps >= 0 and math.isfinite(rate_rps)):
        raise ValueError(f"rate_rps must be finite and >= 0, got {rate_rps}")
    if int(replicas) != replicas or replicas < 0:
        raise ValueError(f"replicas must be an integer >= 0, got {replicas}")
    if not (network_rtt_s >= 0 and arrival_scv >= 0):
        raise ValueError("network_rtt_s and arrival_scv must be >= 0")
    mean_s, scv = model.service_time_s(speed)
    fixed = model.prefill_s(speed) + network_rtt_s  # TTFT on an idle service
    tpot = model.tpot_s(speed)
    c = int(replicas) * model.slots
    a = rate_rps * mean_s  # offered load, Erlangs
    # Unstable at a >= c; the gap test also catches a load a hair below c that rounds to it.
    if rate_rps > 0 and (a >= c or c / mean_s - rate_rps <= 0):
        return LatencyEstimate(a / c if c else math.inf, math.inf, math.inf, math.inf, tpot, 0.0,
                               False, 1.0, c)
    if rate_rps == 0:  # nobody waits (also with no replicas at all)
        utilization, wait_p, wait_mean, theta = 0.0, 0.0, 0.0, math.inf
    else:
        utilization = a / c
        wait_p = erlang_c(c, a)
        gap = c / mean_s - rate_rps  # c mu - lambda, spare completions per second
        shape = (arrival_scv + scv) / 2
        wait_mean = wait_p / gap * shape
        theta = gap / shape if shape > 0 else math.inf  # decay rate of the wait's tail
    if prefill_spread and model.input.sigma > 0:
        # Prefill time is lognormal with the input tokens' sigma, scaled to seconds.
        log_median = math.log(model.input.median / (model.prefill_tokens_per_s * speed))
        sigma = model.input.sigma

        def cdf(t: float) -> float:
            return _wait_plus_lognormal_cdf(t - network_rtt_s, wait_p, theta, log_median, sigma)

        ttft_q = _quantile(cdf, percentile)
        attainment = 1.0 if ttft_slo_s is None else cdf(ttft_slo_s)
    else:
        tail = 1.0 - percentile
        ttft_q = fixed + (0.0 if wait_p <= tail else math.log(wait_p / tail) / theta)
        if ttft_slo_s is None:
            attainment = 1.0
        else:
            slack = ttft_slo_s - fixed
            attainment = (0.0 if slack < 0 else
                          1.0 - wait_p * (math.exp(-theta * slack) if slack > 0 else 1.0))
    return LatencyEstimate(utilization, wait_mean, wait_mean + fixed, ttft_q, tpot, attainment,
                           True, wait_p, c)


def _wait_plus_lognormal_cdf(t: float, wait_p: float, theta: float, log_median: float,
                             sigma: float) -> float:
    """P(W + P <= t): W = 0 w.p. 1 - wait_p, else Exp(theta); P lognormal, independent of W."""
    if t <= 0:
        return 0.0
    z = (math.log(t) - log_median) / sigma
    below = 0.5 * math.erfc(-z / math.sqrt(2))  # P(P <= t)
    if wait_p == 0 or below == 0:
        return below
    # P(W + P <= t) = P(P <= t) - wait_p x E[exp(-theta (t - P)); P <= t]. Writing P =
    # t exp(-sigma v) with v >= 0 (v = z - the standard normal of P), the expectation is
    # int_0^inf phi(z - v) exp(-theta t (1 - exp(-sigma v))) dv. The exponential factor can
    # fall off on any scale down to 1 / (theta t sigma) and the normal one has width 1 near
    # v = z, so integrate (trapezoid) on a log-spaced grid up to 0.5 then a linear one of step
    # 0.02, to 12 beyond the normal's peak (the rest is below exp(-72)).
    v_max = max(z, 0.0) + 12.0
    grid = np.concatenate(([0.0], np.geomspace(1e-12, 0.5, 400),
                           np.linspace(0.52, v_max, max(2, round((v_max - 0.52) / 0.02) + 1))))
    # theta may be inf (no service variability in a shape-0 case): the wait is then 0 or inf.
    rate_t = theta * t
    decay = (np.exp(-rate_t * -np.expm1(-sigma * grid)) if math.isfinite(rate_t)
             else (grid == 0).astype(np.float64))
    f = np.exp(-0.5 * (z - grid) ** 2) / math.sqrt(2 * math.pi) * decay
    integral = float(np.sum((f[1:] + f[:-1]) * np.diff(grid)) / 2)
    return min(1.0, max(0.0, below - wait_p * integral))


def _quantile(cdf: Callable[[float], float], p: float) -> float:
    """Smallest t > 0 with cdf(t) >= p, for a continuous non-decreasing cdf (to 1e-7 relative)."""
    lo, hi = 0.0, 1e-3
    while cdf(hi) < p:
        lo, hi = hi, hi * 4
        if hi > 1e12:
            return math.inf
    while hi - lo > 1e-7 * hi:
        mid = math.sqrt(lo * hi) if lo > 0 else hi / 4  # bisect on a log scale
        if cdf(mid) >= p:
            hi = mid
        else:
            lo = mid
    return hi


class InfeasibleError(ValueError):
    """No replica count within the allowed range meets the target."""


def replicas_needed(rate_rps: float, model: ReplicaModel, speed: float = 1.0,
                    target_utilization: float | None = None, ttft_slo_s: float | None = None,
                    percentile: float = 0.9, max_replicas: int = 10_000_000,
                    min_replicas: int = 1, network_rtt_s: float = 0.0,
                    arrival_scv: float = 1.0, prefill_spread: bool = False,
                    guess: int | None = None) -> int:
    """Smallest replica count in [min_replicas, max_replicas] meeting every target given.

    Targets: utilisation <= ``target_utilization``; TTFT at ``percentile`` <= ``ttft_slo_s``.
    With neither, the smallest stable count. Rate 0 returns ``min_replicas`` (pass 0 to allow
    no replicas); otherwise the result is >= 1. Raises :class:`InfeasibleError` when the SLO
    is below the idle TTFT (its percentile with ``prefill_spread``, else mean prefill + RTT)
    or ``max_replicas`` is not enough. ``guess`` (e.g. the previous answer of a slowly
    changing rate) is checked first: when it passes and one fewer fails, it is the answer
    without a search. Other arguments as in :func:`aggregate_latency`.
    """
    if min_replicas < 0 or max_replicas < max(min_replicas, 1):
        raise ValueError(f"need 0 <= min_replicas <= max_replicas, max_replicas >= 1; got "
                         f"{min_replicas}, {max_replicas}")
    if target_utilization is not None and not (0 < target_utilization <= 1):
        raise ValueError(f"target_utilization must be in (0, 1], got {target_utilization}")
    if rate_rps == 0:
        return min_replicas
    if ttft_slo_s is not None:
        idle = aggregate_latency(0.0, 0, model, speed, percentile, None, network_rtt_s,
                                 prefill_spread=prefill_spread).ttft_p_s
        if idle > ttft_slo_s:
            raise InfeasibleError(f"TTFT SLO {ttft_slo_s} s is below the TTFT of an idle "
                                  f"service, {idle:.4g} s (prefill + RTT)")

    def ok(n: int) -> bool:
        est = aggregate_latency(rate_rps, n, model, speed, percentile, None, network_rtt_s,
                                arrival_scv, prefill_spread)
        if not est.stable:
            return False
        if target_utilization is not None and est.utilization > target_utilization:
            return False
        return ttft_slo_s is None or est.ttft_p_s <= ttft_slo_s

    # Both checks are monotone in n (more servers: lower load, lower Erlang C, faster tail
    # decay), so bisect between a count known to fail and one known to pass.
    per_replica = rate_rps * model.service_time_s(speed)[0] / model.slots
    lo = max(min_replicas, 1, math.floor(per_replica))  # floor(load per replica): unstable
    if lo > max_replicas:
        raise InfeasibleError(f"{max_replicas} replicas cannot carry {rate_rps} requests/s")
    # Both checks are monotone in n: a passing guess whose predecessor fails is the smallest.
    if guess is not None and lo < guess <= max_replicas and ok(guess) and not ok(guess - 1):
        return guess
    if ok(lo):
        return lo
    hi = lo
    while True:
        hi = min(max_replicas, max(hi * 2, hi + 1))
        if ok(hi):
            break
        if hi == max_replicas:
            raise InfeasibleError(f"{max_replicas} replicas do not meet the target at "
                                  f"{rate_rps} requests/s")
        lo = hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi
