"""Sweep throughput: runs per minute of a 48-run sweep on local processes and on dask.

The sweep: ``scenarios/hdf-2030-small.yaml`` with a short horizon, a grid of six placement
score variants, eight seeds each. It runs three ways, each into a fresh output folder (so
nothing is resumed), interleaved for ``--repeat`` rounds, the best wall time of each way
counting (other work on a shared machine only ever slows a round): the plain serial loop of ``simulate()`` calls in this process (the
floor the executors add overhead to), the local process pool, and a dask ``LocalCluster``
of the same number of worker processes (started before the clock starts, as a user's
cluster would be). The local and dask rows must agree run for run.
Run: ``python -m benchmarks.sweep [--duration 12h] [--seeds 8] [--workers 2]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.common import ROOT, peak_rss_mb, table, timed, write_json
from scheduler import simulate
from scheduler.sweeps import aggregate, plan_sweep, run_plan
from scheduler.sweeps.cli import aggregate_table

SCORE_VARIANTS: list[list[dict[str, Any]]] = [
    [{"type": "packing"}],
    [{"type": "spread"}],
    [{"type": "locality"}],
    [{"type": "fragmentation"}],
    [{"type": "packing"}, {"type": "locality"}],
    [{"type": "spread"}, {"type": "locality"}],
]


def sweep_spec(duration: str, seeds: int) -> dict[str, Any]:
    return {
        "scenario": str(ROOT / "scenarios" / "hdf-2030-small.yaml"),
        "grid": {"policy.placement.scores": SCORE_VARIANTS},
        "set": {"duration": duration, "backend": "numpy"},
        "seeds": {"count": seeds, "root": 2030},
    }


def _rate(runs: int, wall_s: float) -> float:
    return 60.0 * runs / wall_s if wall_s > 0 else float("nan")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", default="12h", help="horizon of each run")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2, help="rounds; the best wall counts")
    args = parser.parse_args(argv)
    plan = plan_sweep(sweep_spec(args.duration, args.seeds))
    n = len(plan.runs)

    def serial() -> None:  # the floor: no processes, no tables
        for run in plan.runs:
            simulate(run.point.scenario, seed=run.seed)

    from dask.distributed import LocalCluster

    walls: dict[str, list[float]] = {"serial": [], "local": [], "dask": []}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        with LocalCluster(processes=True, n_workers=args.workers, threads_per_worker=1,
                          dashboard_address=None) as cluster:
            cluster_s = time.perf_counter() - start
            for k in range(args.repeat):  # interleaved, best of each: the machine is shared
                _, wall = timed(serial)
                walls["serial"].append(wall)
                local, wall = timed(partial(run_plan, plan, out=Path(tmp) / f"local{k}",
                                            workers=args.workers, progress=False))
                walls["local"].append(wall)
                remote, wall = timed(partial(run_plan, plan, out=Path(tmp) / f"dask{k}",
                                             dask=cluster.scheduler_address, progress=False))
                walls["dask"].append(wall)
    serial_s, local_s, dask_s = (min(walls[key]) for key in ("serial", "local", "dask"))

    stable = [c for c in local.columns if c not in ("wall_s", "finished_at")]
    pd.testing.assert_frame_equal(local[stable].set_index("run_id").sort_index(),
                                  remote[stable].set_index("run_id").sort_index())
    assert (local["status"] == "ok").all(), local.loc[local["status"] != "ok", "error"]

    mean_run_s = float(local["wall_s"].mean())
    rows = [
        {"executor": "serial simulate() loop", "workers": 1, "runs": n, "wall_s": serial_s,
         "runs_per_min": _rate(n, serial_s)},
        {"executor": "local process pool", "workers": args.workers, "runs": n,
         "wall_s": local_s, "runs_per_min": _rate(n, local_s)},
        {"executor": "dask LocalCluster", "workers": args.workers, "runs": n, "wall_s": dask_s,
         "runs_per_min": _rate(n, dask_s)},
    ]
    print(f"sweep of hdf-2030-small, duration {args.duration}: {len(plan.points)} score "
          f"variants x {args.seeds} seeds = {n} runs (mean run {mean_run_s:.2f}s in a worker; "
          f"dask cluster start {cluster_s:.1f}s, not counted; best of {args.repeat})")
    print(table(rows))
    load = os.getloadavg()
    print(f"{os.cpu_count()} CPUs; load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
          "(1/5/15 min): other work on the machine slows every row")
    summary = aggregate(local)
    labels = {json_text: f"v{k}" for k, json_text in
              enumerate(summary["policy.placement.scores"])}
    print()
    for json_text, label in labels.items():
        print(f"{label} = {json_text}")
    shown = summary.assign(**{"policy.placement.scores": summary["policy.placement.scores"]
                              .map(labels)})
    text = aggregate_table(shown, plan.parameters)
    print(text)
    payload = {
        "scenario": "hdf-2030-small", "duration": args.duration, "runs": n,
        "points": len(plan.points), "seeds": args.seeds, "workers": args.workers,
        "serial_runs_per_min": _rate(n, serial_s), "local_runs_per_min": _rate(n, local_s),
        "dask_runs_per_min": _rate(n, dask_s), "serial_wall_s": serial_s,
        "local_wall_s": local_s, "dask_wall_s": dask_s, "dask_cluster_start_s": cluster_s,
        "mean_run_wall_s": mean_run_s, "peak_rss_mb": peak_rss_mb(), "repeat": args.repeat,
        "cpus": os.cpu_count(), "load_average": load,
        "all_wall_s": walls,
        "aggregate": text.splitlines(), "variants": {v: k for k, v in labels.items()},
    }
    write_json("sweep", payload)
    return payload


if __name__ == "__main__":
    main()
