"""Months and years of the 1:1 region in streaming mode: jobs/s and memory against jobs seen.

Runs a scenario (default: ``scenarios/hdf-2030.yaml``'s sites with the larger-job mix
below) with ``simulate(stream_to=DIR)`` and prints, each time another ``--every`` jobs
have been seen: jobs seen, simulated days, jobs/s so far, resident rows of the job table,
RSS now and peak RSS. At the end: wall time of ``simulate`` (run + summary) and of writing
the results, and the peak RSS. ``--in-memory`` runs the same without streaming, to compare.

Run: ``python -m benchmarks.year_stream --duration 30d`` (a month),
``nice -n 10 python -m benchmarks.year_stream --duration 365d`` (a year).

The larger-job mix (ASSUMPTION, stated in docs/performance.md): hdf-2030.yaml's research
workload submits 10,400 jobs/h of median 15 min (91 M jobs a year, most of them minutes
long). Production traces put most GPU time in jobs of hours (Philly: Jeon et al., ATC'19;
Acme/Helios: Hu et al., SC'21 and NSDI'24; Meta RSC: Kokolis et al., HPCA'25), so the year
benchmark keeps its GPU-count mix and its lognormal shape (sigma 2.2) but submits
``RESEARCH_RATE`` jobs/h of median ``RESEARCH_MEDIAN`` instead: the same offered GPU-hours
(~45 % of the fleet, plus the foundation jobs and inference services unchanged), ~10 M jobs
a year.
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import ROOT, peak_rss_mb, table, write_json

RESEARCH_RATE = 1200.0
"""Jobs/h of the research workload: 10,400 / 8.67 (10.5 M jobs a year)."""
RESEARCH_MEDIAN = "7800s"
"""900 s x 10,400 / 1,200: the same mean GPU-seconds per hour as hdf-2030.yaml."""


def rss_mb() -> float:
    """Resident set size of this process now, in MB (VmRSS)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def larger_job_overrides() -> list[str]:
    return [f"workloads.0.arrival.rate_per_hour={RESEARCH_RATE}",
            f"workloads.0.duration.median={RESEARCH_MEDIAN}"]


class JobsSeen:
    """Progress sink: prints a row each time another ``every`` jobs have been seen."""

    def __init__(self, every: int) -> None:
        self.every = every
        self.table: Any = None
        self.started = time.perf_counter()
        self.next_row = every
        self.rows: list[dict[str, Any]] = []
        self.run_end: dict[str, float] = {}

    def seen(self, now: float) -> int:
        """Jobs arrived by ``now``: released rows (all arrived) and resident rows that
        arrived (sources add rows a chunk ahead of their arrival)."""
        table = self.table
        if table is None:
            return 0
        released = getattr(table, "released", None)
        if released is None:
            return int(np.count_nonzero(table.view("arrival_s") <= now))
        rows = table.block_rows
        arrived = 0
        for block in np.flatnonzero(~released[: -(-table.size // rows)]).tolist():
            part = table.arrival_s[block * rows:min((block + 1) * rows, table.size)]
            arrived += int(np.count_nonzero(part <= now))
        return int(released.sum()) * rows + arrived

    def update(self, now: float, events: int) -> None:
        seen = self.seen(now)
        if seen < self.next_row:
            return
        self.next_row = (seen // self.every + 1) * self.every
        wall = time.perf_counter() - self.started
        resident = (self.table.resident_rows() if hasattr(self.table, "resident_rows")
                    else self.table.size)
        row = {"jobs_seen": seen, "sim_days": now / 86400.0, "wall_s": wall,
               "jobs_per_s": seen / wall, "resident_rows": resident,
               "rss_mb": rss_mb(), "peak_rss_mb": peak_rss_mb()}
        self.rows.append(row)
        if len(self.rows) == 1:
            print(" ".join(f"{key:>14}" for key in row), flush=True)
        print(" ".join(f"{value:>14,.1f}" if isinstance(value, float) else f"{value:>14,}"
                       for value in row.values()), flush=True)

    def close(self) -> None:
        """The engine's run is over (before the tables are read back for the summary)."""
        self.run_end = {"wall_s": time.perf_counter() - self.started, "rss_mb": rss_mb(),
                        "peak_rss_mb": peak_rss_mb()}
        print(f"end of the engine run: {self.run_end}", flush=True)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "hdf-2030.yaml"))
    parser.add_argument("--duration", default="30d")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--hdf-mix", action="store_true",
                        help="keep hdf-2030.yaml's own research mix (10,400 jobs/h)")
    parser.add_argument("--every", type=int, default=500_000, help="jobs between rows")
    parser.add_argument("--in-memory", action="store_true", help="no streaming (compare)")
    parser.add_argument("--out", help="keep the streamed files and results here")
    args = parser.parse_args(argv)

    import scheduler.simulation as simulation
    from scheduler.job_spill import StreamOptions

    overrides = [] if args.hdf_mix else larger_job_overrides()
    overrides += [f"duration={args.duration}", *args.overrides]
    sink = JobsSeen(args.every)
    made = simulation.spilling_tables

    def spy(options: StreamOptions) -> Any:  # the benchmark reads the table's size
        tables = made(options)
        sink.table = tables[0]
        return tables

    simulation.spilling_tables = spy
    if args.in_memory:
        job_table = simulation.JobTable

        def plain() -> Any:
            sink.table = job_table()
            return sink.table

        simulation.JobTable = plain  # type: ignore[assignment,misc]
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="year-stream-"))
    gc.collect()
    load = os.getloadavg()
    started = time.perf_counter()
    result = simulation.simulate(args.scenario, overrides=overrides,
                                 stream_to=None if args.in_memory else out / "stream",
                                 progress=sink)  # type: ignore[arg-type]
    simulate_s = time.perf_counter() - started
    result.save(out / "results", format="parquet")
    save_s = time.perf_counter() - started - simulate_s
    summary = result.summary
    payload = {
        "scenario": args.scenario, "overrides": overrides, "streaming": not args.in_memory,
        "jobs_submitted": summary["jobs_submitted"], "events": summary["events"],
        "engine_wall_s": summary["wall_time_s"], "simulate_wall_s": simulate_s,
        "save_wall_s": save_s, "jobs_per_s": summary["jobs_submitted"] / simulate_s,
        "peak_rss_mb": peak_rss_mb(), "gpu_utilization": summary["gpu_utilization"],
        "run_end": sink.run_end, "rows": sink.rows, "load_avg_at_start": load,
        "load_avg_at_end": os.getloadavg(), "out": str(out),
    }
    print(table([{k: payload[k] for k in ("jobs_submitted", "engine_wall_s", "simulate_wall_s",
                                          "save_wall_s", "jobs_per_s", "peak_rss_mb",
                                          "gpu_utilization")}]))
    print(f"load average at start {load}, at end {payload['load_avg_at_end']}")
    write_json(f"year_stream_{args.duration}{'_memory' if args.in_memory else ''}", payload)
    return payload


if __name__ == "__main__":
    main()
