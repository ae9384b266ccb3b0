"""What the report says about each inference service: latency against its targets, GPUs and
energy per 1,000 requests, where its replicas ran, and its figure over time.

Builds plain rows of text (and a matplotlib figure); :mod:`scheduler.report` lays them out
as HTML, so this module needs nothing of the page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scheduler.service_views import service_details

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass
class ServiceTable:
    """One table: a heading, column names, rows of text, which columns are numbers."""

    heading: str
    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]


@dataclass
class ServiceBlock:
    """The report's part about one service."""

    name: str
    summary: str
    """One sentence: requests, SLO met against the target, replicas."""
    tables: list[ServiceTable] = field(default_factory=list)
    figure: Figure | None = None


def _num(value: Any, digits: int = 3) -> str:
    """3 significant digits with thousands separators; ``-`` when missing."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return "-"
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:,.{decimals}f}"


def _seconds(value: Any) -> str:
    return "-" if _num(value) == "-" else f"{_num(value)} s"


def _pct(value: Any) -> str:
    return "-" if _num(value) == "-" else f"{value * 100:.1f}%"


def _verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("met" if ok else "missed")


def _latency_table(d: dict[str, Any]) -> ServiceTable:
    percentile, ttft_slo, tpot_slo = d.get("slo_percentile"), d.get("slo_ttft_s"), d.get("slo_tpot_s")
    rows = []
    for q in (0.5, 0.9, 0.99):
        value = d.get(f"ttft_p{round(q * 100)}_s")
        at_target = isinstance(percentile, float) and abs(percentile - q) < 1e-9
        ok = (value is not None and value <= ttft_slo) if at_target and ttft_slo else None
        rows.append([f"TTFT p{q * 100:g}", _seconds(value),
                     f"<= {_num(ttft_slo)} s" if at_target else "", _verdict(ok)])
    rows.append(["TTFT mean", _seconds(d.get("ttft_mean_s")), "", "-"])
    tpot = d.get("tpot_s")
    rows.append(["TPOT", _seconds(tpot), f"<= {_num(tpot_slo)} s",
                 _verdict(tpot <= tpot_slo if tpot is not None and tpot_slo else None)])
    met = d.get("slo_attainment")
    rows.append(["requests within both SLOs", _pct(met),
                 f">= {_pct(percentile)}" if isinstance(percentile, float) else "",
                 _verdict(met >= percentile if met is not None and percentile else None)])
    return ServiceTable("Latency against the targets", ["measure", "value", "target", ""],
                        rows, [False, True, True, False])


def _resource_table(d: dict[str, Any]) -> ServiceTable:
    rows = [
        ["requests", _num(d.get("requests"), 4)],
        ["mean ready replicas", _num(d.get("mean_ready_replicas"))],
        ["mean GPUs serving", _num(d.get("mean_ready_gpus"))],
        ["GPU-hours (replicas running, loading included)", _num(d.get("gpu_hours"))],
        ["GPU-hours per 1,000 requests", _num(d.get("gpu_hours_per_1k_requests"))],
        ["facility energy (kWh)", _num(d.get("energy_facility_kwh"))],
        ["kWh per 1,000 requests", _num(d.get("energy_kwh_per_1k_requests"))],
        ["kWh per million tokens", _num(d.get("energy_kwh_per_m_tokens"))],
        ["scale-ups / scale-downs", f"{d.get('scale_ups', '-')} / {d.get('scale_downs', '-')}"],
        ["largest backlog (requests waiting)", _num(d.get("peak_backlog_requests"))],
        ["backlog at the end of the run", _num(d.get("backlog_end_requests"))],
    ]
    return ServiceTable("GPUs and energy", ["measure", "value"], rows, [False, True])


def _site_table(d: dict[str, Any]) -> ServiceTable | None:
    sites = d.get("sites") or {}
    total = sum(float(v.get("gpu_hours") or 0.0) for v in sites.values())
    if not sites or total <= 0:
        return None
    ordered = sorted(sites.items(), key=lambda kv: -float(kv[1].get("gpu_hours") or 0.0))
    rows = [[site, _num(v.get("replica_hours")), _num(v.get("gpu_hours")),
             _pct(float(v.get("gpu_hours") or 0.0) / total)] for site, v in ordered]
    return ServiceTable("Where the replicas ran", ["site", "replica-hours", "GPU-hours", "share"],
                        rows, [False, True, True, True])


def service_blocks(result: Any, figures: bool = True) -> list[ServiceBlock]:
    """One block per service of the run, in the scenario's order (none without services)."""
    blocks = []
    for name, d in service_details(result).items():
        percentile = d.get("slo_percentile")
        summary = (f"{_num(d.get('requests'), 4)} requests; {_pct(d.get('slo_attainment'))} "
                   f"within the TTFT and TPOT SLOs (target {_pct(percentile)}); "
                   f"{_num(d.get('mean_ready_replicas'))} replicas ready on average, "
                   f"{_num(d.get('energy_kwh_per_1k_requests'))} kWh per 1,000 requests.")
        tables = [_latency_table(d), _resource_table(d)]
        sites = _site_table(d)
        if sites is not None:
            tables.append(sites)
        block = ServiceBlock(name, summary, tables)
        if figures:
            from scheduler.service_plots import plot_service

            block.figure = plot_service(result, name)
        blocks.append(block)
    return blocks
