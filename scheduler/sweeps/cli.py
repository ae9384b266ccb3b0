"""``clustersim sweep SWEEP.yaml [--out DIR] [--workers N] [--dask ADDRESS] ...``."""

from __future__ import annotations

import argparse
import math
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import pandas as pd

from scheduler.errors import InputError
from scheduler.interrupt import handling_signals
from scheduler.units import format_time

SHOWN_METRICS = ("jobs_completed", "mean_wait_s", "p95_wait_s", "mean_jct_s", "gpu_utilization",
                 "energy_facility_mwh", "carbon_t", "energy_cost_eur")
"""Metrics of the printed table (when present); ``aggregate.csv`` has all of them."""
MAX_ERRORS_SHOWN = 5


def add_sweep_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``sweep`` command to the ``clustersim`` subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sweep", help="run a scenario over a grid of overrides and seeds",
        description="Run every combination of a sweep file's grid (x its zip) for each of "
                    "its seeds. Writes DIR/runs.csv (one row per run, updated as runs "
                    "finish), DIR/aggregate.csv (mean and 95% interval per point), "
                    "DIR/sweep.json and DIR/report.html (each metric against each parameter, "
                    "with error bars); runs already ok in DIR are skipped.")
    parser.add_argument("sweep", help="sweep file (YAML or JSON)")
    parser.add_argument("--out", metavar="DIR",
                        help="output folder (default: the file's 'out', else ./<name>-sweep)")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="parallel local processes (default: the file's, else the CPUs)")
    parser.add_argument("--dask", metavar="ADDRESS",
                        help="run on this dask.distributed scheduler (tcp://host:8786)")
    parser.add_argument("--format", choices=["csv", "parquet"],
                        help="format of DIR/runs.* (default: the file's, else csv)")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bar and no table (errors are still reported)")
    return parser


def _cell(value: Any, metric: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if metric.endswith("_s"):
        return format_time(float(value))
    if metric == "gpu_utilization":
        return f"{float(value):.1%}"
    return f"{float(value):.4g}"


def aggregate_table(summary: pd.DataFrame, parameters: list[str]) -> str:
    """The aggregate as aligned text: parameters, runs, then ``mean ± half-width``."""
    metrics = [m for m in SHOWN_METRICS if f"{m}_mean" in summary.columns]
    header = [*parameters, "n", *metrics]
    rows = []
    for record in summary.to_dict(orient="records"):
        cells = [str(record.get(p, "")) for p in parameters]
        n_error = int(record.get("n_error", 0))
        cells.append(f"{int(record['n'])}" + (f" ({n_error} err)" if n_error else ""))
        for metric in metrics:
            mean, high = record[f"{metric}_mean"], record[f"{metric}_ci95_hi"]
            text = _cell(mean, metric)
            if isinstance(high, float) and not math.isnan(high) and text != "-":
                half = high - mean
                text += " ± " + (f"{half:.1%}" if metric == "gpu_utilization"
                                 else _cell(half, metric))
            cells.append(text)
        rows.append(cells)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


class SweepInterrupted(BaseException):
    """Raised in the sweep's main thread by SIGINT or SIGTERM (a BaseException, like
    KeyboardInterrupt, so that no ``except Exception`` on the way swallows it)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@contextmanager
def _interrupt_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`SweepInterrupted`: the runner then kills its workers
    and writes the rows that finished. A second signal is ignored while that happens (it
    takes well under a second), so the runs table is never left half-written."""

    def make_handler(previous: dict[signal.Signals, Any]) -> Callable[[int, FrameType | None],
                                                                     None]:
        def handler(number: int, _frame: FrameType | None) -> None:
            for sig in previous:
                signal.signal(sig, signal.SIG_IGN)
            raise SweepInterrupted(signal.Signals(number).name)
        return handler

    with handling_signals(make_handler):
        yield


def run_sweep_command(args: argparse.Namespace) -> int:
    """``clustersim sweep``: 0 when every run is ok, 1 when some failed, 2 for bad input."""
    from scheduler.sweeps.runner import run_plan
    from scheduler.sweeps.spec import plan_sweep
    from scheduler.sweeps.stats import aggregate

    if args.workers is not None and args.workers < 1:
        raise InputError(f"must be >= 1 (got {args.workers})", "--workers")
    plan = plan_sweep(args.sweep, format=args.format)
    out = Path(args.out) if args.out else plan.out or Path(f"{Path(args.sweep).stem}-sweep")
    from scheduler.interrupt import SIGNAL_EXIT_CODES

    try:
        with _interrupt_on_signals():
            runs = run_plan(plan, out=out, workers=args.workers, dask=args.dask,
                            progress=not args.quiet)
    except SweepInterrupted as stop:
        print(f"interrupted by {stop.name}; the runs that finished are in {out} (run the "
              "sweep again to resume)", file=sys.stderr)
        return SIGNAL_EXIT_CODES[stop.name]
    failed = runs[runs["status"] != "ok"]
    from scheduler.sweeps.report import write_sweep_report

    page = write_sweep_report(out, runs=runs, parameters=plan.parameters)
    if not args.quiet:
        print(aggregate_table(aggregate(runs), plan.parameters))
        print(f"{len(runs)} runs ({len(runs) - len(failed)} ok, {len(failed)} failed); "
              f"results in {out} (report: {page})")
    for record in failed.head(MAX_ERRORS_SHOWN).to_dict(orient="records"):
        print(f"run {record['run_id']} (seed {record['seed']}) failed: {record['error']}",
              file=sys.stderr)
    if len(failed) > MAX_ERRORS_SHOWN:
        print(f"... and {len(failed) - MAX_ERRORS_SHOWN} more failed runs "
              f"(status=error in {out}/runs.{plan.spec.format})", file=sys.stderr)
    return 1 if len(failed) else 0
