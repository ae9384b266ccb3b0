"""The figure of one inference service over a run: demand, replicas, SLO attainment, TTFT.

Reads the per-service columns of the time series (``request_rate_rps[S]``,
``backlog_requests[S]``, ``replicas[S]``, ``slo_attainment[S]``, ``ttft_p_s[S]``) and the
targets in ``details["services"][S]``. Like :mod:`scheduler.plots`: no pyplot, matplotlib
imported when a figure is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from scheduler.plots import _figure, _literal, _time_axis, _title
from scheduler.service_views import service_details

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_TARGET_STYLE: dict[str, Any] = {"color": "#c0392b", "linestyle": "--", "linewidth": 1.0}


def _column(result: Any, prefix: str, name: str) -> np.ndarray | None:
    key = f"{prefix}[{name}]"
    series = result.timeseries
    return series[key].to_numpy(dtype=float) if key in series else None


@_literal
def plot_service(result: Any, name: str) -> Figure:
    """Request rate (and backlog), ready replicas, SLO attainment and TTFT at the SLO
    percentile over time for service ``name``, with its targets as dashed red lines."""
    detail = service_details(result).get(name, {})
    times, unit, _ = _time_axis(result)
    fig = _figure(11.0, 7.0)
    axes = fig.subplots(4, 1, sharex=True)
    _demand(axes[0], times, _column(result, "request_rate_rps", name),
            _column(result, "backlog_requests", name))
    replicas = _column(result, "replicas", name)
    if replicas is not None:
        axes[1].step(times, replicas, where="post", color="#2ca02c", linewidth=1.2)
        gpus = detail.get("replica_gpus")
        axes[1].set_ylabel("ready replicas" + (f"\n({gpus} GPUs each)" if gpus else ""))
    attainment = _column(result, "slo_attainment", name)
    if attainment is not None:
        axes[2].plot(times, attainment * 100, color="#9467bd", linewidth=1.2)
        axes[2].set_ylim(-2, 102)
    percentile = detail.get("slo_percentile")
    if isinstance(percentile, int | float):
        axes[2].axhline(percentile * 100, **_TARGET_STYLE,
                        label=f"target: {percentile:.0%} of requests within the TTFT SLO")
        axes[2].legend(fontsize=8, loc="lower left")
    axes[2].set_ylabel("SLO met (%)")
    _ttft(axes[3], times, _column(result, "ttft_p_s", name), detail)
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel(f"simulated time ({unit})")
    _title(fig, result, f"Inference service {name}")
    return fig


def _demand(ax: Axes, times: np.ndarray, rate: np.ndarray | None,
            backlog: np.ndarray | None) -> None:
    if rate is not None:
        ax.plot(times, rate, color="#1f77b4", linewidth=1.2, label="request rate")
    ax.set_ylabel("requests / s")
    if backlog is not None and np.nanmax(backlog, initial=0.0) > 0:
        twin = ax.twinx()
        twin.fill_between(times, backlog, step="post", color="#ff7f0e", alpha=0.35,
                          label="backlog (requests waiting)")
        twin.set_ylabel("backlog (requests)")
        twin.legend(fontsize=8, loc="upper right")
    ax.legend(fontsize=8, loc="upper left")


def _ttft(ax: Axes, times: np.ndarray, ttft: np.ndarray | None, detail: dict[str, Any]) -> None:
    percentile = detail.get("slo_percentile")
    label = f"p{percentile * 100:g}" if isinstance(percentile, int | float) else "percentile"
    if ttft is not None and np.isfinite(ttft).any():
        ax.step(times, ttft, where="post", color="#8c564b", linewidth=1.2,
                label=f"TTFT {label} (each step)")
        ax.set_yscale("log")
    target = detail.get("slo_ttft_s")
    if isinstance(target, int | float):
        ax.axhline(target, **_TARGET_STYLE, label=f"TTFT SLO {target:g} s")
    ax.set_ylabel("TTFT (s)")
    ax.legend(fontsize=8, loc="upper left")
