"""Is one run's headline trustworthy? The warm-up window, and warnings when the run is not at
a steady state (the queue grows, arrivals exceed capacity) or its horizon is too short for
the jobs it holds.

Definitions (also in docs/getting-started.md, "Steady state"):

* measured jobs: jobs arriving at or after ``warmup``; every job statistic (wait, JCT,
  slowdown, fairness) covers them only. Job counts (``jobs_*``) cover every job, so
  conservation holds; time integrals (utilization, energy, carbon, cost, peak power) cover
  the whole simulated period as CONTRACT.md defines them, and ``gpu_utilization_after_warmup``
  covers ``[warmup, end)``.
* growing queue: over the second half of the measured window ``[warmup, duration)``, the
  number of waiting jobs rises steadily: Kendall's tau of (time, queued jobs) at least
  ``QUEUE_TREND_TAU`` and the least-squares line rises by at least ``QUEUE_GROWTH_SHARE`` of
  its mean level (and by at least ``QUEUE_MIN_RISE`` jobs).
* offered load: GPU-seconds of training work arriving in ``[0, duration)`` over the GPU-seconds
  the cluster has in that time; above ``OFFERED_LOAD_LIMIT`` no policy can keep up.
* short horizon: the 95th percentile of job durations exceeds ``LONG_JOB_SHARE`` of the
  measured window, or more than ``UNFINISHED_SHARE`` of the jobs are unfinished at the end.
* one run is a poor estimate: split the measured window into ``BATCHES`` equal parts by
  arrival time; the mean wait of each part's started jobs is one batch mean; when the Student
  t 95 % half-width of the mean of batch means exceeds ``BATCH_HALF_WIDTH_SHARE`` of it (and
  ``BATCH_MIN_HALF_WIDTH_S``), the
  run's mean wait is not pinned down (batch means of a correlated series underestimate the
  spread, so this errs toward silence).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

QUEUE_TREND_TAU = 0.5
"""Kendall's tau above which the queue counts as rising steadily. A stable queue fluctuates
around its mean: tau near 0 (|tau| < 0.2 on the stable mmc.yaml case, tests/test_steady_state.py);
an overloaded one rises almost monotonically (tau near 1). 0.5 is an assumption between them."""
QUEUE_GROWTH_SHARE = 0.5
"""Rise of the fitted line over the half window, as a share of the mean queue, above which a
steady rise counts. An overloaded queue from empty rises by 2/3 of its mean over the second
half (a ramp from a/2 to a, mean 3a/4); a stable queue's fitted rise is near 0. Assumption."""
QUEUE_MIN_RISE = 10.0
"""A rise of fewer jobs is noise, whatever the mean (hdf-2030-small, EASY, 2 days: a queue of
a few jobs rose by 3 with tau 0.58). An assumption."""
OFFERED_LOAD_LIMIT = 1.0
"""Offered GPU-seconds over available GPU-seconds: above 1, the queue must grow."""
LONG_JOB_SHARE = 0.25
"""p95 job duration above this share of the measured window: the window holds too few
lifetimes of the long jobs for their waits to average out (an assumption; queueing texts
ask for many multiples of the longest service time)."""
BATCHES = 10
"""Batches of the measured window for the batch-means check (a common choice: 10-30)."""
BATCH_HALF_WIDTH_SHARE = 1.0
"""Half-width over mean above which one run's mean wait is called a poor estimate: the
interval then reaches from 0 to twice the mean. Measured: the stable mmc.yaml case (100 h,
seed 3) gives 0.57; hdf-2030-small's default run (mean wait 0.5 h, daily means 0-2.6 h)
gives 1.2 (0.50 h ± 0.60 h). An assumption between them."""
BATCH_MIN_HALF_WIDTH_S = 600.0
"""Below a 10-minute half-width the mean wait is pinned closely enough for planning, however
small the mean (EASY runs with waits of seconds). An assumption."""
UNFINISHED_SHARE = 0.05
"""Share of jobs unfinished at the horizon above which the statistics (over finished and
started jobs) are biased toward short jobs. An assumption."""


def measured_jobs(arrival: np.ndarray, warmup: float) -> np.ndarray:
    """Mask of the jobs the job statistics cover: those arriving at or after ``warmup``."""
    return arrival >= warmup


def utilization_after(seg_start: np.ndarray, seg_end: np.ndarray, seg_gpus: np.ndarray,
                      total_gpus: float, warmup: float, end: float) -> float | None:
    """Busy GPU-seconds over available GPU-seconds in ``[warmup, end)`` (None when empty);
    ``total_gpus`` is the mean GPUs online over that interval."""
    if end <= warmup or total_gpus <= 0:
        return None
    busy = np.clip(np.minimum(seg_end, end) - np.maximum(seg_start, warmup), 0, None)
    return float(np.sum(seg_gpus * busy) / (total_gpus * (end - warmup)))


def kendall_tau(values: np.ndarray) -> float:
    """Kendall's tau-a of ``values`` against their order (time): +1 rising at every pair,
    -1 falling, near 0 without trend. O(n^2) memory in chunks: fine for a time series."""
    n = values.shape[0]
    if n < 3:
        return 0.0
    total = 0.0
    for i in range(0, n, 256):
        block = values[i:i + 256, None]
        later = np.arange(n)[None, :] > np.arange(i, min(i + 256, n))[:, None]
        total += float(np.sum(np.sign(values[None, :] - block) * later))
    return total / (n * (n - 1) / 2)


def queue_trend(times: np.ndarray, queued: np.ndarray) -> tuple[float, float, float]:
    """(Kendall tau, rise of the least-squares line over the span, mean) of a queue series."""
    if times.shape[0] < 3 or np.ptp(times) == 0:
        return 0.0, 0.0, float(queued.mean()) if queued.size else 0.0
    slope = float(np.polyfit(times, queued, 1)[0])
    return kendall_tau(queued), slope * float(np.ptp(times)), float(queued.mean())


def _queue_warning(series: pd.DataFrame, start: float, end: float) -> str | None:
    if "queued_jobs" not in series or end <= start:
        return None
    half = start + (end - start) / 2
    times = series["time_s"].to_numpy(dtype=float)
    inside = (times >= half) & (times < end)
    tau, rise, mean = queue_trend(times[inside], series["queued_jobs"].to_numpy(float)[inside])
    if tau >= QUEUE_TREND_TAU and rise >= max(QUEUE_MIN_RISE, QUEUE_GROWTH_SHARE * mean):
        return (f"not stationary: the queue grows over the second half of the run "
                f"(+{rise:,.0f} jobs, Kendall tau {tau:.2f}); a longer run would show longer "
                f"waits")
    return None


def _load_warning(jobs: pd.DataFrame, total_gpus: float, duration: float) -> str | None:
    training = (jobs["kind"] == "training") & (jobs["arrival_s"] < duration)
    work = jobs.loc[training, "gpus"].to_numpy(float) * jobs.loc[training, "duration_s"].to_numpy(float)
    work = work[np.isfinite(work)]
    if total_gpus <= 0 or duration <= 0 or work.size == 0:
        return None
    load = float(work.sum()) / (total_gpus * duration)
    if load > OFFERED_LOAD_LIMIT:
        return (f"not stationary: arriving work is {load:.0%} of the cluster's GPU capacity; "
                f"the queue can only grow")
    return None


def _horizon_warnings(jobs: pd.DataFrame, summary: dict[str, Any], window: float) -> list[str]:
    out = []
    durations = jobs.loc[jobs["kind"] == "training", "duration_s"].to_numpy(float)
    durations = durations[np.isfinite(durations)]
    if durations.size and window > 0:
        p95 = float(np.percentile(durations, 95))
        if p95 > LONG_JOB_SHARE * window:
            out.append(f"horizon too short: the 95th percentile job lasts {p95 / 3600:,.1f} h, "
                       f"over {LONG_JOB_SHARE:.0%} of the {window / 3600:,.1f} h measured")
    submitted = summary.get("jobs_submitted") or 0
    unfinished = summary.get("jobs_unfinished") or 0
    if submitted and unfinished / submitted > UNFINISHED_SHARE:
        out.append(f"horizon too short: {unfinished:,} of {submitted:,} jobs "
                   f"({unfinished / submitted:.0%}) are unfinished at the end; their waits and "
                   f"JCTs are missing from the statistics")
    return out


def batch_means_half_width(arrival: np.ndarray, wait: np.ndarray, start: float,
                           end: float, batches: int = BATCHES) -> tuple[float, float] | None:
    """(mean of batch means, Student t 95 % half-width) of the mean wait, batches by arrival
    time over ``[start, end)``; None with fewer than 2 batches that have a started job."""
    from scheduler.sweeps.stats import student_t_quantile

    inside = np.isfinite(wait) & (arrival >= start) & (arrival < end)
    if end <= start or not inside.any():
        return None
    which = np.minimum(((arrival[inside] - start) / (end - start) * batches).astype(int),
                       batches - 1)
    counts = np.bincount(which, minlength=batches)
    sums = np.bincount(which, weights=wait[inside], minlength=batches)
    means = sums[counts > 0] / counts[counts > 0]
    if means.size < 2:
        return None
    half = student_t_quantile(0.975, means.size - 1) * float(means.std(ddof=1)) / np.sqrt(means.size)
    return float(means.mean()), float(half)


def _estimate_warning(jobs: pd.DataFrame, start: float, end: float) -> str | None:
    # Two columns, not the whole frame: a copy of every column costs ~200 B a job.
    training = jobs.loc[jobs["kind"] == "training", ["arrival_s", "wait_s"]]
    found = batch_means_half_width(training["arrival_s"].to_numpy(float),
                                   training["wait_s"].to_numpy(float), start, end)
    if found is None or found[1] <= max(BATCH_HALF_WIDTH_SHARE * found[0],
                                        BATCH_MIN_HALF_WIDTH_S):
        return None
    mean, half = found
    return (f"one run is a poor estimate: batch means of the wait over the run give "
            f"{mean / 3600:,.2f} h ± {half / 3600:,.2f} h (95 %); run --replications N for an "
            f"interval over seeds")


def arrivals_are_drawn(workloads: list[Any]) -> bool:
    """Whether some training jobs arrive by a random process (a seed changes them): only
    then do replications over seeds say how far one run is from the mean. A replayed trace
    gives the same jobs whatever the seed."""
    return any(getattr(w, "arrival", None) is not None for w in workloads)


def steady_state_warnings(summary: dict[str, Any], jobs: pd.DataFrame, series: pd.DataFrame,
                          duration: float, warmup: float, drawn: bool = True) -> list[str]:
    """One line per reason the headline may not represent the system in the long run
    (the batch-means check only when ``drawn``: arrivals depend on the seed)."""
    warnings = [w for w in (_queue_warning(series, warmup, duration),
                            _load_warning(jobs, _gpus_available(summary), duration))
                if w is not None]
    estimate = _estimate_warning(jobs, warmup, duration) if drawn else None
    return warnings + _horizon_warnings(jobs, summary, duration - warmup) + (
        [estimate] if estimate else [])


def warning_lines(summary: dict[str, Any]) -> list[str]:
    """The summary's warnings as lines for a terminal (``warning: ...``), and the warm-up."""
    lines = []
    warmup = summary.get("warmup_s")
    if warmup:
        lines.append(f"job statistics cover the {summary.get('jobs_measured', 0):,} jobs "
                     f"arriving after the {warmup / 3600:g} h warm-up")
    lines.extend(f"warning: {text}" for text in summary.get("warnings") or [])
    return lines


def _gpus_available(summary: dict[str, Any]) -> float:
    """All the GPUs; with a build-out timeline, the mean number online over the run."""
    online_h, period = summary.get("gpu_hours_online"), summary.get("simulated_time_s") or 0.0
    if online_h is not None and period > 0:
        return float(online_h) * 3600.0 / float(period)
    return int(summary.get("gpus_total") or 0)
