"""What the waiting cost, by reason, and which jobs held the queue back (from the run's
:class:`scheduler.runtime.blockers.BlockerAccount`).

Summary keys: ``wait_gpu_hours`` (GPUs x hours spent waiting by every job, in the queue or
held by temporal shifting) and ``wait_gpu_hours_held_by_head`` (the part waited behind the
head of the queue or for its EASY reservation: a policy effect, not a capacity shortage).
details.json: ``wait_gpu_hours_by_reason`` (reason text -> GPU-hours) and ``blockers`` (the
``TOP_BLOCKERS`` heads that held the most GPU-hours back, worst first).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scheduler.runtime.blockers import HELD_BY_HEAD, BlockerAccount
from scheduler.runtime.reasons import Reason

if TYPE_CHECKING:
    from scheduler.runtime.record import RunRecord

TOP_BLOCKERS = 10
"""Blockers kept in details.json and shown in the report."""


def _deferred_gpu_s(run: RunRecord) -> float:
    """GPU-seconds of jobs held by temporal shifting before they joined the queue."""
    jobs = run.jobs
    arrival, released = jobs.view("arrival_s"), jobs.view("released_s")
    held = np.clip(np.minimum(released, run.end_time) - arrival, 0, None)
    held = np.where(np.isfinite(held), held, 0.0)
    return float(np.sum(held * jobs.view("gpus")))


def _gpu_types(run: RunRecord, workload: int) -> str:
    allowed = getattr(run.scenario.workloads[workload], "gpu_types", None)
    return ", ".join(allowed) if allowed else "any"


def blocker_rows(run: RunRecord, account: BlockerAccount, job_frame: pd.DataFrame,
                 top: int = TOP_BLOCKERS) -> list[dict[str, Any]]:
    """The ``top`` blockers by GPU-hours held back, as JSON-ready rows."""
    worst = sorted(account.blockers.values(), key=lambda b: (-b.held_gpu_s, b.job))[:top]
    rows = []
    for blocker in worst:
        job = job_frame.iloc[blocker.job]
        start = job["start_s"]
        rows.append({
            "job_id": int(blocker.job), "workload": str(job["workload"]),
            "gpus": int(job["gpus"]),
            "gpu_types": _gpu_types(run, int(run.jobs.view("workload")[blocker.job])),
            "site": str(job["site"]) or None, "arrival_s": float(job["arrival_s"]),
            "start_s": float(start) if np.isfinite(start) else None,
            "first_blocked_s": blocker.first_s, "blocked_s": blocker.blocked_s,
            "held_gpu_hours": blocker.held_gpu_s / 3600.0,
            "max_jobs_held": blocker.max_jobs_held,
        })
    return rows


def waiting_figures(run: RunRecord, job_frame: pd.DataFrame) -> tuple[dict[str, Any],
                                                                      dict[str, Any]]:
    """(summary keys, details entries) of the waiting accounting."""
    account = getattr(run.pending_log, "blockers", None)
    if not isinstance(account, BlockerAccount):
        return {}, {}
    account.close(run.end_time)  # the last cycle's state holds until the end
    gpu_s = dict(account.gpu_s_by_reason)
    deferred = _deferred_gpu_s(run)
    if deferred > 0:
        gpu_s[int(Reason.DEFERRED)] = gpu_s.get(int(Reason.DEFERRED), 0.0) + deferred
    by_reason = {run.reasons[code]: seconds / 3600.0
                 for code, seconds in sorted(gpu_s.items(), key=lambda kv: -kv[1])}
    summary = {
        "wait_gpu_hours": sum(gpu_s.values()) / 3600.0,
        "wait_gpu_hours_held_by_head": sum(gpu_s.get(c, 0.0) for c in HELD_BY_HEAD) / 3600.0,
    }
    details = {"wait_gpu_hours_by_reason": by_reason,
               "blockers": blocker_rows(run, account, job_frame)}
    return summary, details
