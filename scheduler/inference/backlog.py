"""Queueing across autoscaling steps: the fluid backlog a service carries from step to step.

Each step of an autoscaled service is otherwise a steady-state queue (M/G/c,
:mod:`scheduler.inference.latency`). When requests arrive faster than the ready replicas
complete them, the excess waits: it is carried into the next step as a **fluid backlog**
(requests counted as a continuous quantity, served first-come-first-served):

    capacity      mu = ready x slots / E[S]          (requests completed per second, all busy)
    backlog(t)    b(t) = max(0, B + (lambda - mu) t)  within a step of length T from backlog B
    carried       B' = b(T) = max(0, B + (lambda - mu) T)

A request arriving while ``b(t) > 0`` finds every slot busy and ``b(t)`` requests ahead of
it: it waits ``b(t) / mu`` (the time the ready replicas take to start them). Arrivals are
uniform over the step (the step's mean rate), so these waits are uniform between the delay
of the first and of the last such arrival. Requests that arrive after the backlog has
drained (lambda < mu) see the step's steady-state M/G/c wait instead.

The fluid ignores the randomness of arrivals and service times while the backlog lasts:
near ``lambda = mu`` it underestimates the wait (a stochastic queue at full load grows like
``sqrt(lambda t)``), and far from it the backlog's drain dominates; see docs/inference.md
for the bounds against the request-level reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FluidStep:
    """The backlog's course over one step."""

    backlog_end: float
    """Requests still waiting at the end of the step (carried into the next)."""
    share: float
    """Fraction of the step's arrivals that queue behind a backlog (0..1)."""
    delay_first_s: float
    """Wait behind the backlog of the first arrival of the step (inf: no capacity)."""
    delay_last_s: float
    """Wait behind the backlog of the last arrival that still finds one."""
    served: float
    """Requests the ready replicas start during the step (backlog first)."""


def fluid_step(backlog: float, rate_rps: float, capacity_rps: float, length_s: float) -> FluidStep:
    """The fluid backlog over a step of ``length_s`` starting with ``backlog`` requests, at
    arrival rate ``rate_rps`` and service capacity ``capacity_rps`` (both per second)."""
    if not (backlog >= 0 and rate_rps >= 0 and capacity_rps >= 0 and length_s > 0):
        raise ValueError("backlog, rate and capacity must be >= 0 and the step length > 0 "
                         f"(got {backlog}, {rate_rps}, {capacity_rps}, {length_s})")
    arrivals = rate_rps * length_s
    if capacity_rps <= 0:  # nothing is served: every arrival joins the backlog
        share = 1.0 if arrivals > 0 else 0.0
        return FluidStep(backlog + arrivals, share, math.inf, math.inf, 0.0)
    if rate_rps >= capacity_rps:  # overloaded: the backlog grows the whole step
        end = backlog + (rate_rps - capacity_rps) * length_s
        share = 1.0 if arrivals > 0 else 0.0
        return FluidStep(end, share, backlog / capacity_rps, end / capacity_rps,
                         capacity_rps * length_s)
    drain_s = backlog / (capacity_rps - rate_rps)
    busy_s = min(drain_s, length_s)
    end = backlog - (capacity_rps - rate_rps) * busy_s
    end = end if drain_s > length_s else 0.0  # exactly 0 once drained (no rounding residue)
    served = capacity_rps * busy_s + rate_rps * (length_s - busy_s)
    return FluidStep(end, busy_s / length_s, backlog / capacity_rps, end / capacity_rps, served)


def delayed_cdf(x: float | np.ndarray, delay_first_s: float, delay_last_s: float,
                points: np.ndarray) -> np.ndarray:
    """P(D + P <= x) for a wait D uniform between the two delays and P given by its
    equal-probability ``points`` (prefill + round trip), D and P independent."""
    x = np.asarray(x, dtype=np.float64)[..., None]
    if not math.isfinite(delay_last_s) or not math.isfinite(delay_first_s):
        return np.zeros(x.shape[:-1])
    lo, hi = min(delay_first_s, delay_last_s), max(delay_first_s, delay_last_s)
    slack = x - points
    if hi - lo <= 0:
        within = (slack >= lo).astype(np.float64)
    else:
        within = np.clip((slack - lo) / (hi - lo), 0.0, 1.0)
    return np.asarray(np.mean(within, axis=-1))
