"""LLM serving models: token-length distributions, a replica's speed, and demand profiles.

A *replica* is one model copy on some GPUs, serving ``slots`` requests at once (continuous
batching). Each slot is treated as a server: a request holds it for its prefill then its
decode, ``S = input / (prefill_tokens_per_s x speed) + output x decode_s_per_token / speed``.
``speed`` is the GPU type's relative throughput (1 = the type the figures were measured on).
``decode_s_per_token`` is the time per output token *at the operating batch size* (``slots``):
batching slows each token down, and that slowdown is folded into the figure rather than
modelled.

Demand profiles follow scheduler/arrivals.py: 24 hourly and 7 daily multipliers, normalised
to mean 1, time 0 = Monday 00:00, rate = base x daily[hour] x weekly[day].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

HOUR = 3600.0
DAY = 24 * HOUR
WEEK = 7 * DAY


@dataclass(frozen=True)
class TokenLengths:
    """Lognormal token counts: ``median`` tokens, ``sigma`` = standard deviation of ln(count).

    ``mean``, ``second_moment`` and ``scv`` are the continuous lognormal's; ``sample`` rounds to
    integers >= 1, which moves the mean by well under 1 % for medians above ~10 tokens.
    """

    median: float
    sigma: float

    def __post_init__(self) -> None:
        if not (self.median > 0 and math.isfinite(self.median)):
            raise ValueError(f"median must be finite and > 0, got {self.median}")
        if not (0 <= self.sigma < 10):
            raise ValueError(f"sigma must be in [0, 10), got {self.sigma}")

    @property
    def mean(self) -> float:
        """E[X] = median x exp(sigma^2 / 2)."""
        return self.median * math.exp(self.sigma**2 / 2)

    @property
    def second_moment(self) -> float:
        """E[X^2] = median^2 x exp(2 sigma^2)."""
        return self.median**2 * math.exp(2 * self.sigma**2)

    @property
    def scv(self) -> float:
        """Squared coefficient of variation Var/mean^2 = exp(sigma^2) - 1."""
        return math.expm1(self.sigma**2)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` token counts (int64, >= 1)."""
        x = rng.lognormal(math.log(self.median), self.sigma, size=n)
        return np.maximum(np.rint(x), 1).astype(np.int64)


@dataclass(frozen=True)
class ReplicaModel:
    """Serving speed of one replica on a speed-1 GPU type, and its request mix.

    ``prefill_tokens_per_s``: one request's prefill speed; ``decode_s_per_token``: time per
    output token (TPOT) at the operating batch; ``slots``: requests served concurrently.
    """

    prefill_tokens_per_s: float
    decode_s_per_token: float
    slots: int
    input: TokenLengths
    output: TokenLengths

    def __post_init__(self) -> None:
        if not (self.prefill_tokens_per_s > 0 and math.isfinite(self.prefill_tokens_per_s)):
            raise ValueError(f"prefill_tokens_per_s must be > 0, got {self.prefill_tokens_per_s}")
        if not (self.decode_s_per_token >= 0 and math.isfinite(self.decode_s_per_token)):
            raise ValueError(f"decode_s_per_token must be >= 0, got {self.decode_s_per_token}")
        if int(self.slots) != self.slots or self.slots < 1:
            raise ValueError(f"slots must be an integer >= 1, got {self.slots}")

    def prefill_s(self, speed: float = 1.0) -> float:
        """Mean prefill time of one request on a GPU type of relative ``speed``."""
        _check_speed(speed)
        return self.input.mean / (self.prefill_tokens_per_s * speed)

    def tpot_s(self, speed: float = 1.0) -> float:
        """Time per output token on a GPU type of relative ``speed``."""
        _check_speed(speed)
        return self.decode_s_per_token / speed

    def service_time_s(self, speed: float = 1.0) -> tuple[float, float]:
        """(mean, scv) of one request's slot holding time S (input and output independent)."""
        _check_speed(speed)
        a = 1.0 / (self.prefill_tokens_per_s * speed)  # seconds per input token
        b = self.decode_s_per_token / speed  # seconds per output token
        mean = a * self.input.mean + b * self.output.mean
        var = (a * self.input.mean) ** 2 * self.input.scv + (b * self.output.mean) ** 2 * (
            self.output.scv
        )
        return mean, var / mean**2

    def capacity_rps(self, speed: float = 1.0) -> float:
        """Requests per second one replica completes when all its slots are busy."""
        return self.slots / self.service_time_s(speed)[0]

    def service_times(self, input_tokens: np.ndarray, output_tokens: np.ndarray,
                      speed: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Per-request (prefill seconds, total slot seconds) from token counts."""
        _check_speed(speed)
        prefill = np.asarray(input_tokens, dtype=np.float64) / (self.prefill_tokens_per_s * speed)
        decode = np.asarray(output_tokens, dtype=np.float64) * (self.decode_s_per_token / speed)
        return prefill, prefill + decode


def _check_speed(speed: float) -> None:
    if not (speed > 0 and math.isfinite(speed)):
        raise ValueError(f"speed must be finite and > 0, got {speed}")


# Token lengths of the Azure LLM inference trace 2023 (PROVENANCE.md; data in
# shared/data/traces/azure-llm-2023). Medians are the trace's; sigma is chosen so that the
# lognormal mean equals the trace mean (chat 1,155 / 211, code 2,048 / 28 tokens), because the
# mean sets capacity. The trace's own log-sd is wider for inputs (chat 0.99, code 1.36): its
# bodies are not quite lognormal, so these fit the mean, not the far tail.
WORKLOAD_TOKENS: dict[str, tuple[TokenLengths, TokenLengths]] = {
    "chat": (TokenLengths(1020, 0.50), TokenLengths(129, 0.99)),
    "code": (TokenLengths(1469, 0.81), TokenLengths(13, 1.24)),
}


def workload_tokens(name: str) -> tuple[TokenLengths, TokenLengths]:
    """(input, output) token lengths of a built-in workload: ``chat`` or ``code``."""
    try:
        return WORKLOAD_TOKENS[name]
    except KeyError:
        raise ValueError(f"unknown workload {name!r}; built-in: {sorted(WORKLOAD_TOKENS)}") from None


def _chat_daily() -> np.ndarray:
    # A cosine over the day with amplitude 1/3, so peak / trough = (1 + 1/3) / (1 - 1/3) = 2
    # (Azure chat: ~2x daily). Peak at 14:30 (hour 14's midpoint), trough at 02:30.
    mid = np.arange(24) + 0.5
    return 1 + np.cos(2 * np.pi * (mid - 14.5) / 24) / 3


# Code: flat nights, a morning ramp, working-hours plateau with a lunch dip, evening tail.
# Peak / trough = 10 (Azure code: ~10x on weekdays).
_CODE_DAILY = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.3, 2.2, 5.0, 8.5, 10.0, 10.0,
               7.5, 8.5, 10.0, 10.0, 9.0, 7.0, 4.5, 3.0, 2.2, 1.8, 1.4, 1.1)

_PROFILES: dict[str, tuple[np.ndarray, np.ndarray]] = {
    # Weekends at 0.8 of a weekday for chat (consumer use continues), 0.3 for code (work).
    "chat": (_chat_daily(), np.array([1, 1, 1, 1, 1, 0.8, 0.8])),
    "code": (np.array(_CODE_DAILY), np.array([1, 1, 1, 1, 1, 0.3, 0.3])),
}


def demand_profile(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(daily[24], weekly[7]) multipliers of a built-in profile, each with mean 1.

    ``chat``: smooth diurnal, peak / trough 2, peak mid-afternoon, weekends 0.8 x weekdays.
    ``code``: working-hours peak, peak / trough 10 on weekdays, weekends 0.3 x weekdays.
    The shapes are synthetic, calibrated on the facts in PROVENANCE.md (Azure 2023/2024 traces):
    the peak / trough ratios are sourced, the hour of the peak and the weekend level assumed.
    Arrivals are Poisson under this rate; code's burstiness within minutes is not in it.
    """
    try:
        daily, weekly = _PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; built-in: {sorted(_PROFILES)}") from None
    return daily / daily.mean(), weekly / weekly.mean()


def hourly_rates(base_rps: float, daily: np.ndarray | None = None,
                 weekly: np.ndarray | None = None) -> np.ndarray:
    """Rate (per second) in each of the 168 hours of a week; its mean is ``base_rps``."""
    d = _normalised(daily, 24, "daily")
    w = _normalised(weekly, 7, "weekly")
    return base_rps * np.repeat(w, 24) * np.tile(d, 7)


def rates_at(ts: np.ndarray, base_rps: float, daily: np.ndarray | None = None,
             weekly: np.ndarray | None = None) -> np.ndarray:
    """Rate (per second) at times ``ts`` (seconds since Monday 00:00); weekly mean = base."""
    hour = np.floor_divide(np.asarray(ts, dtype=np.float64), HOUR).astype(np.int64) % 168
    return hourly_rates(base_rps, daily, weekly)[hour]


def rate_at(t_s: float, base_rps: float, daily: np.ndarray | None = None,
            weekly: np.ndarray | None = None) -> float:
    """Rate (per second) at time ``t_s`` (seconds since Monday 00:00); weekly mean = base."""
    return float(rates_at(np.array([t_s]), base_rps, daily, weekly)[0])


def _normalised(values: np.ndarray | None, n: int, what: str) -> np.ndarray:
    if values is None:
        return np.ones(n)
    v = np.asarray(values, dtype=np.float64)
    if v.shape != (n,):
        raise ValueError(f"{what} profile needs {n} values, got shape {v.shape}")
    if not (np.all(np.isfinite(v)) and np.all(v >= 0) and v.sum() > 0):
        raise ValueError(f"{what} multipliers must be finite, >= 0, and not all 0")
    return v / v.mean()
