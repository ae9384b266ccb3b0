"""Which rows of a run's outputs are inference services, and which are batch jobs.

A service's replicas are rows of ``jobs.csv`` (``kind: inference``) but not jobs in the
sense of wait, JCT, slowdown or fairness: they run until the autoscaler stops them. The
services of a run are the names under ``details["services"]``; figures and tables of jobs
leave their rows out (trace-replayed inference jobs, which have durations, stay in).
"""

from __future__ import annotations

from typing import Any

import pandas as pd


def service_details(result: Any) -> dict[str, dict[str, Any]]:
    """``details["services"]`` of a run (empty when it has no inference service)."""
    details = getattr(result, "details", None) or {}
    services = details.get("services") or {}
    return {str(k): v for k, v in services.items() if isinstance(v, dict)}


def batch_jobs(result: Any) -> pd.DataFrame:
    """The job table without the rows of service replicas."""
    jobs: pd.DataFrame = result.jobs
    names = list(service_details(result))
    if not names or "workload" not in jobs:
        return jobs
    return jobs[~jobs["workload"].isin(names)]


def service_line(detail: dict[str, Any]) -> str:
    """One line about a service for the CLI summary: requests, SLO met against its target,
    TTFT at the target percentile against its SLO, replicas and GPUs, energy per request."""
    def number(value: Any, spec: str) -> str:
        return format(value, spec) if isinstance(value, int | float) else "-"

    percentile = detail.get("slo_percentile")
    key = f"ttft_p{round(percentile * 100)}_s" if isinstance(percentile, float) else ""
    ttft = detail.get(key) if key in detail else None
    label = f"p{percentile * 100:g}" if isinstance(percentile, float) else "p?"
    return (f"{number(detail.get('requests'), ',.0f')} requests, "
            f"{number(detail.get('slo_attainment'), '.1%')} within SLO "
            f"(target {number(percentile, '.0%')}); "
            f"TTFT {label} {number(ttft, '.3g')}s (SLO {number(detail.get('slo_ttft_s'), 'g')}s); "
            f"{number(detail.get('mean_ready_replicas'), '.1f')} replicas, "
            f"{number(detail.get('mean_ready_gpus'), ',.0f')} GPUs; "
            f"{number(detail.get('energy_kwh_per_1k_requests'), '.3g')} kWh/1k requests")
