"""The per-period outputs of a run: the calendar table (:mod:`scheduler.periods`) put into the
details (``periods``, written as ``periods.csv``) and the thresholds' first crossings into
the summary (``first_period_crossing[NAME]``).

It reads what the summary step already has (the time series, the job table, each site's
power step function from the energy account, the scenario's service windows and signals),
never the segment log.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scheduler.energy import EnergyAccount, cap_steps
from scheduler.jobs import Status
from scheduler.periods import (
    JobColumns,
    SitePower,
    calendar_periods,
    first_crossings,
    period_table,
)
from scheduler.signals.dates import parse_start
from scheduler.timeline import group_windows

if TYPE_CHECKING:
    from scheduler.runtime.record import RunRecord

PERIODS_KEY = "periods"
"""details.json key of the table: ``{"period": KIND, "rows": [...], "thresholds": [...]}``."""
CROSSING_KEY = "first_period_crossing[{}]"


def json_rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (NaN -> None: JSON has no NaN)."""
    rows = table.to_dict(orient="records")
    return [{k: (None if isinstance(v, float) and math.isnan(v) else
                 v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
            for row in rows]


@dataclass(frozen=True)
class PeriodOutputs:
    """What a run's periods add: summary keys (the crossings) and the details entry."""

    summary: dict[str, Any]
    details: dict[str, Any]

    def add_to(self, summary: dict[str, Any], details: dict[str, Any]) -> None:
        summary.update(self.summary)
        details.update(self.details)


def period_outputs(run: RunRecord, energy: EnergyAccount, series: pd.DataFrame,
                   batch: np.ndarray) -> PeriodOutputs | None:
    """The per-period table and threshold crossings, when the run has periods
    (``report.period``; thresholds alone ask for months). ``batch``: per job, False for
    the replicas of inference services."""
    spec = run.scenario.report
    thresholds = spec.thresholds.model_dump()
    kind = spec.period_kind(float(run.scenario.duration))
    if kind is None:
        return None
    end = float(run.end_time)
    periods = calendar_periods(parse_start(run.scenario.start), end, kind)
    cluster = run.cluster
    sites = [SitePower(name, *energy.sites[s].steps, float(run.power.pue[s]),
                       *cap_steps(run, s, end), run.carbon[s], run.price[s])
             for s, name in enumerate(cluster.site_names)]
    service_names = [service.spec.name for service in run.services.services]
    jobs = run.jobs
    status = jobs.view("status")
    table = period_table(
        periods, series, end,
        JobColumns(jobs.view("arrival_s"), jobs.view("start_s"), jobs.view("end_s"),
                   status == Status.COMPLETED, status == Status.REJECTED, batch),
        *_tranche_windows(run), sites, energy.cluster_steps, service_names)
    crossings = first_crossings(table, thresholds)
    return PeriodOutputs(
        {CROSSING_KEY.format(crossing.name): crossing.period for crossing in crossings},
        {PERIODS_KEY: {
            "period": kind,
            "rows": json_rows(table),
            "thresholds": [{"name": c.name, "limit": c.limit, "column": c.column,
                            "period": c.period, "value": c.value, "measured": c.measured}
                           for c in crossings],
        }})


def period_frame(details: dict[str, Any]) -> pd.DataFrame | None:
    """The per-period table of a run's details, or None when it has none."""
    block = details.get(PERIODS_KEY)
    if not isinstance(block, dict) or not block.get("rows"):
        return None
    return pd.DataFrame(block["rows"]).astype({"period": str})


def _tranche_windows(run: RunRecord) -> tuple[np.ndarray, np.ndarray]:
    """Service windows and GPUs of every tranche of every node group (a ramped group comes
    in monthly tranches, each with its own window): what the capacity columns integrate."""
    windows = group_windows(run.scenario)
    group_gpus = (run.cluster.group_size * run.cluster.group_count).astype(float)
    return windows.window, group_gpus[windows.group] * windows.share
