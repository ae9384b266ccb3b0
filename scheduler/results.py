"""Results of a run: the summary (CONTRACT.md keys), per-job records and the time series.

``Result`` is what :func:`scheduler.simulate` returns. Nothing here writes files unless asked
(:meth:`Result.save`); writes are atomic (temporary file, then rename).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scheduler.jobs import KIND_NAMES, STATUS_NAMES, Status
from scheduler.metrics import (
    mean_or_none,
    percentile_or_none,
    step_function_means,
    step_means,
)

if TYPE_CHECKING:
    from scheduler.plots import PlotAccessor

DEFAULT_TIMESERIES_POINTS = 500
TABLES = ("jobs", "timeseries")
COLUMNS_FILE = "columns.json"
"""Column dtypes of the saved tables: CSV carries no types, so :meth:`Result.load` restores
them from here (text columns keep their empty strings, integers stay integers)."""
_TEXT_DTYPES = {"object", "str", "string"}
_JOB_TEXT_COLUMNS = ("workload", "kind", "tenant", "status", "site", "reason")


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write via ``write(tmp_path)`` into a temporary file beside ``path``, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _table_writer(frame: pd.DataFrame, format: str) -> Callable[[Path], object]:
    def write(path: Path) -> object:
        if format == "csv":
            return frame.to_csv(path, index=False)
        return frame.to_parquet(path, index=False)
    return write


def _column_dtypes(frame: pd.DataFrame) -> dict[str, str]:
    return {str(column): str(dtype) for column, dtype in frame.dtypes.items()}


def _read_csv(path: Path, dtypes: dict[str, str] | None) -> pd.DataFrame:
    """A table written by :meth:`Result.save` as CSV, with its dtypes restored exactly.

    Empty cells are NaN in numeric columns and empty strings in text columns; floats are read
    with round-trip precision. Without recorded dtypes (older output folders) the known text
    columns of the job table are still kept as text.
    """
    if dtypes is None:
        text = list(_JOB_TEXT_COLUMNS)
    else:
        text = [column for column, dtype in dtypes.items() if dtype in _TEXT_DTYPES]
    header = pd.read_csv(path, nrows=0).columns
    frame = pd.read_csv(path, dtype={c: str for c in text if c in header},
                        keep_default_na=False,
                        na_values={c: [""] for c in header if c not in text},
                        float_precision="round_trip")
    for column, dtype in (dtypes or {}).items():
        if column in frame.columns and str(frame[column].dtype) != dtype:
            frame[column] = frame[column].astype(dtype)
    return frame


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dump_summary(summary: dict[str, Any]) -> str:
    """The summary as JSON text: sorted keys, so the same run gives identical bytes."""
    return json.dumps(summary, indent=2, sort_keys=True, default=_json_default, allow_nan=False)


class Result:
    """Summary, job records and time series of one run."""

    def __init__(self, summary: dict[str, Any], jobs: pd.DataFrame, timeseries: pd.DataFrame,
                 scenario_text: str = "", details: dict[str, Any] | None = None) -> None:
        self.summary = summary
        """Flat metrics (CONTRACT.md), plus ``sites``: per-site metrics."""
        self.jobs = jobs
        """One row per submitted job."""
        self.timeseries = timeseries
        """One row per time step: utilization, queue, running jobs; per site columns."""
        self.scenario_text = scenario_text
        """The validated scenario as JSON (what produced this result)."""
        self.details = details or {}
        """Nested breakdowns that do not fit the flat summary: rejection reasons, trace
        read reports (rows read, used, skipped and why), per workload and tenant figures."""

    def __repr__(self) -> str:
        s = self.summary
        return (f"<Result {s.get('scenario')!r} seed={s.get('seed')} jobs={s.get('jobs_submitted')} "
                f"completed={s.get('jobs_completed')} util={s.get('gpu_utilization'):.3f}>")

    @property
    def plot(self) -> PlotAccessor:
        """Figures of this run (matplotlib, imported on first use): ``result.plot.utilization()``,
        ``.queue()``, ``.power()``, ``.carbon()``, ``.cdf()``, ``.map()``; each returns a
        :class:`matplotlib.figure.Figure`."""
        from scheduler.plots import PlotAccessor

        return PlotAccessor(self)

    def save(self, directory: str | Path, format: str = "csv") -> Path:
        """Write ``summary.json``, ``details.json``, ``scenario.json``, ``jobs.<fmt>``,
        ``timeseries.<fmt>`` and ``columns.json`` (the tables' dtypes, for an exact reload)."""
        if format not in {"csv", "parquet"}:
            raise ValueError(f"format must be 'csv' or 'parquet' (got {format!r})")
        out = Path(directory)
        atomic_write(out / "summary.json",
                     lambda p: p.write_text(dump_summary(self.summary) + "\n", encoding="utf-8"))
        atomic_write(out / "details.json",
                     lambda p: p.write_text(dump_summary(self.details) + "\n", encoding="utf-8"))
        if self.scenario_text:
            atomic_write(out / "scenario.json",
                         lambda p: p.write_text(self.scenario_text, encoding="utf-8"))
        frames = {"jobs": self.jobs, "timeseries": self.timeseries}
        columns = {name: _column_dtypes(frame) for name, frame in frames.items()}
        atomic_write(out / COLUMNS_FILE, lambda p: p.write_text(
            json.dumps(columns, indent=2) + "\n", encoding="utf-8"))
        for name, frame in frames.items():
            atomic_write(out / f"{name}.{format}", _table_writer(frame, format))
        return out

    @classmethod
    def load(cls, directory: str | Path) -> Result:
        """Read what :meth:`save` wrote (CSV or Parquet)."""
        src = Path(directory)
        summary = json.loads((src / "summary.json").read_text(encoding="utf-8"))
        columns_file = src / COLUMNS_FILE
        columns = (json.loads(columns_file.read_text(encoding="utf-8"))
                   if columns_file.exists() else {})
        frames = {}
        for name in TABLES:
            if (src / f"{name}.parquet").exists():
                frames[name] = pd.read_parquet(src / f"{name}.parquet")
            else:
                frames[name] = _read_csv(src / f"{name}.csv", columns.get(name))
        scenario_file = src / "scenario.json"
        text = scenario_file.read_text(encoding="utf-8") if scenario_file.exists() else ""
        details_file = src / "details.json"
        details = (json.loads(details_file.read_text(encoding="utf-8"))
                   if details_file.exists() else {})
        return cls(summary, frames["jobs"], frames["timeseries"], text, details)


def build_result(engine: Any, wall_time_s: float, scenario_name: str,
                 scenario_text: str) -> Result:
    """Summary, job table and time series from a finished :class:`~scheduler.engine.Engine`."""
    jobs = engine.jobs
    cluster = engine.cluster
    n = jobs.size
    status = jobs.view("status")
    arrival = jobs.view("arrival_s")
    start = jobs.view("start_s")
    end = jobs.view("end_s")
    period = engine.end_time
    started = ~np.isnan(start)
    completed = status == Status.COMPLETED
    wait = (start - arrival)[started]
    jct = (end - arrival)[completed]
    seg = engine.segments
    seg_start, seg_end, seg_gpus = seg.view("start_s"), seg.view("end_s"), seg.view("gpus")
    seg_site = seg.view("site")
    busy_gpu_s = float(np.sum(seg_gpus * (seg_end - seg_start)))
    capacity_gpu_s = cluster.total_gpus * period

    summary: dict[str, Any] = {
        "scenario": scenario_name,
        "seed": engine.seed,
        "backend": engine.backend.name,
        "jobs_submitted": int(n),
        "jobs_completed": int(completed.sum()),
        "jobs_rejected": int((status == Status.REJECTED).sum()),
        "jobs_unfinished": int((status == Status.UNFINISHED).sum()),
        "jobs_failed": int((status == Status.FAILED).sum()),
        "mean_wait_s": mean_or_none(wait),
        "p50_wait_s": percentile_or_none(wait, 50),
        "p95_wait_s": percentile_or_none(wait, 95),
        "p99_wait_s": percentile_or_none(wait, 99),
        "mean_jct_s": mean_or_none(jct),
        "p50_jct_s": percentile_or_none(jct, 50),
        "p95_jct_s": percentile_or_none(jct, 95),
        "p99_jct_s": percentile_or_none(jct, 99),
        "makespan_s": (float(end[completed].max() - arrival.min()) if completed.any() else None),
        "gpu_utilization": busy_gpu_s / capacity_gpu_s if capacity_gpu_s > 0 else 0.0,
        "gpu_hours_busy": busy_gpu_s / 3600.0,
        "gpus_total": int(cluster.total_gpus),
        "nodes_total": int(cluster.n_nodes),
        "simulated_time_s": float(period),
        "interrupted": False,
        "wall_time_s": wall_time_s,
        "events": int(engine.events),
        "scheduling_cycles": int(engine.cycles),
    }
    sites: dict[str, dict[str, Any]] = {}
    for s, name in enumerate(cluster.site_names):
        mask = seg_site == s
        busy = float(np.sum(seg_gpus[mask] * (seg_end[mask] - seg_start[mask])))
        gpus = int(cluster.site_gpus[s])
        sites[name] = {
            "gpus": gpus,
            "gpu_utilization": busy / (gpus * period) if gpus and period > 0 else 0.0,
            "jobs_started": int(((jobs.view("site") == s) & started).sum()),
        }
    summary["sites"] = sites
    rejected_reasons: dict[str, int] = {}
    for code, count in zip(*np.unique(jobs.view("reason")[status == Status.REJECTED],
                                      return_counts=True), strict=True):
        rejected_reasons[engine.reasons[int(code)]] = int(count)
    details: dict[str, Any] = {"rejected_reasons": rejected_reasons}
    traces = {}
    for source in engine.sources:
        if source.report is not None:
            report = source.report
            traces[source.name] = {
                "rows_read": report.rows_read, "rows_used": report.rows_used,
                "rows_skipped": report.rows_skipped,
                "skipped_reasons": dict(report.skipped_reasons),
                "skipped_examples": list(report.skipped_examples),
                "adjusted": dict(report.adjusted),
            }
    if traces:
        details["traces"] = traces
        summary["trace_rows_read"] = sum(t["rows_read"] for t in traces.values())
        summary["trace_rows_skipped"] = sum(t["rows_skipped"] for t in traces.values())
    unfinished_waiting = (status == Status.UNFINISHED) & ~started
    summary["jobs_never_started"] = int(unfinished_waiting.sum())

    workload_names = [source.name for source in engine.sources]
    site_names = np.array([*cluster.site_names, ""], dtype=object)
    reason_names = np.array([*engine.reasons, ""], dtype=object)
    reason_codes = jobs.view("reason")
    # Rejected jobs carry their reason; jobs that never started carry why they last waited.
    shown_reason = np.where((status == Status.REJECTED) | ~started, reason_codes, -1)
    job_frame = pd.DataFrame({
        "job_id": np.arange(n, dtype=np.int64),
        "workload": np.array(workload_names, dtype=object)[jobs.view("workload")],
        "kind": np.array(KIND_NAMES, dtype=object)[jobs.view("kind")],
        "tenant": np.array(engine.tenants.names or [""], dtype=object)[jobs.view("tenant")],
        "gpus": jobs.view("gpus"),
        "arrival_s": arrival,
        "start_s": start,
        "end_s": end,
        "duration_s": jobs.view("duration_s"),
        "status": np.array([STATUS_NAMES[i] for i in range(len(STATUS_NAMES))],
                           dtype=object)[status],
        "site": site_names[jobs.view("site")],
        "wait_s": start - arrival,
        "jct_s": np.where(completed, end - arrival, np.nan),
        "reason": reason_names[shown_reason],
    })
    summary["timeseries_step_s"] = _timeseries_step(engine.scenario, period)
    series = _timeseries(engine, period, summary["timeseries_step_s"])
    return Result(summary, job_frame, series, scenario_text, details)


def _timeseries_step(scenario: Any, period: float) -> float:
    step = scenario.timeseries_step
    if step is None:
        step = period / DEFAULT_TIMESERIES_POINTS
    return float(max(step, period / 100_000)) if period > 0 else 1.0


def _timeseries(engine: Any, period: float, step: float) -> pd.DataFrame:
    cluster = engine.cluster
    jobs = engine.jobs
    grid = np.arange(0.0, period, step)
    grid = grid[grid < period - step * 1e-6]  # no sliver step at the end
    grid = np.append(grid, period) if period > 0 else np.array([0.0, 1.0])
    seg = engine.segments
    seg_start, seg_end, seg_gpus = seg.view("start_s"), seg.view("end_s"), seg.view("gpus")
    seg_site = seg.view("site")
    busy = step_means(seg_start, seg_end, seg_gpus, grid)
    running = step_means(seg_start, seg_end, np.ones_like(seg_gpus), grid)
    status = jobs.view("status")
    arrival = jobs.view("arrival_s")
    start = jobs.view("start_s")
    queued_until = np.where(np.isnan(start), engine.end_time, start)
    queued_until = np.where(status == Status.REJECTED, arrival, queued_until)
    queued = step_means(arrival, queued_until, np.ones(jobs.size), grid)
    columns: dict[str, np.ndarray] = {
        "time_s": grid[:-1],
        "busy_gpus": busy,
        "gpu_utilization": busy / cluster.total_gpus if cluster.total_gpus else busy * 0,
        "running_jobs": running,
        "queued_jobs": queued,
    }
    for s, name in enumerate(cluster.site_names):
        mask = seg_site == s
        gpus = int(cluster.site_gpus[s])
        site_busy = step_means(seg_start[mask], seg_end[mask], seg_gpus[mask], grid)
        columns[f"gpu_utilization[{name}]"] = site_busy / gpus if gpus else site_busy * 0
    columns.update(_pending_reason_columns(engine, grid))
    return pd.DataFrame(columns)


def _pending_reason_columns(engine: Any, grid: np.ndarray) -> dict[str, np.ndarray]:
    """Mean number of pending jobs per reason over each step (from the cycle log)."""
    if not engine.pending_log:
        return {}
    log = np.array(engine.pending_log, dtype=np.float64)
    times, head, count = log[:, 0], log[:, 1].astype(np.int64), log[:, 2]
    out: dict[str, np.ndarray] = {}
    behind = engine.reasons.index("queued behind the head of the line")
    for code in sorted(set(head[head >= 0].tolist())):
        values = np.where(head == code, 1.0, 0.0) * (count > 0)
        out[f"pending[{engine.reasons[code]}]"] = step_function_means(times, values, grid)
    out[f"pending[{engine.reasons[behind]}]"] = step_function_means(
        times, np.maximum(count - 1, 0), grid)
    return out
