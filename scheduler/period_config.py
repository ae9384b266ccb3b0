"""The scenario's ``report`` block: the calendar periods of the per-period tables and the
planner's thresholds whose first crossing is called out (docs/timeline.md, "Answers by
period")."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from scheduler.scenario_base import Seconds, StrictModel

AUTO_PERIOD_MIN_S = 60 * 86400.0
"""Without ``report.period``, runs whose ``duration`` is at least 60 days get monthly tables
(two months or more); shorter runs get none (a single partial month says nothing more than
the summary)."""


class PeriodThresholds(StrictModel):
    """Planner's thresholds; the first period that crosses each is called out (summary key
    ``first_period_crossing[NAME]``, the CLI and the report). None: not watched."""

    p95_wait: Seconds | None = Field(default=None, gt=0)
    """Crossed when the 95th percentile wait of the jobs arriving in a period exceeds it."""
    utilization: float | None = Field(default=None, gt=0, le=1)
    """Crossed when a period's GPU utilization (busy over online GPU-hours) reaches it."""
    power_fraction_of_cap: float | None = Field(default=None, gt=0)
    """Crossed when a site's highest facility power in a period reaches this fraction of
    the cap in force (sites with a ``power_cap`` only)."""
    slo_attainment_below: float | None = Field(default=None, gt=0, le=1)
    """Crossed when an inference service's SLO attainment over a period falls below it."""


class ReportSpec(StrictModel):
    """What the per-period outputs (``periods.csv``, the report's "By month") cover."""

    period: Literal["month", "quarter", "year", "none"] | None = None
    """Calendar periods of the tables (Europe/Paris, from ``start``); None: ``month`` when
    ``duration`` is at least 60 days or thresholds are set, else ``none``."""
    thresholds: PeriodThresholds = Field(default_factory=PeriodThresholds)
    """Thresholds whose first crossing is called out."""

    @model_validator(mode="after")
    def _thresholds_need_periods(self) -> ReportSpec:
        if self.period == "none" and any(v is not None for v in
                                         self.thresholds.model_dump().values()):
            raise ValueError("thresholds are checked per period: remove `period: none` "
                             "(or the thresholds)")
        return self

    def period_kind(self, duration_s: float) -> str | None:
        """The period of this run's tables, or None for no per-period outputs: the one asked
        for; else months for long runs, or when thresholds ask for call-outs."""
        if self.period == "none":
            return None
        if self.period is not None:
            return self.period
        wanted = any(v is not None for v in self.thresholds.model_dump().values())
        return "month" if duration_s >= AUTO_PERIOD_MIN_S or wanted else None
