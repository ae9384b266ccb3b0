"""A stream of 1-GPU jobs on the hdf-2030-small cluster, against the bare SimPy floor.

The floor is the fastest plain SimPy model of the same job stream: a ``simpy.Container``
holding the cluster's GPUs and one process per job (get, timeout, put). Both run the same
arrival times and durations, in one process, one after the other; the ratio of their rates
is what matters on a noisy machine. Run: ``python -m benchmarks.stream [--jobs N]``.
"""

from __future__ import annotations

import argparse
import copy
import gc

import numpy as np
import simpy

from benchmarks.common import ROOT, load_yaml, peak_rss_mb, table, timed, write_json
from scheduler import simulate

UTILIZATION = 0.7
MEAN_DURATION_S = 3600.0


def stream_scenario(jobs: int) -> dict:
    base = load_yaml(ROOT / "scenarios" / "hdf-2030-small.yaml")
    gpus = sum(g["count"] * g["gpus_per_node"] for s in base["sites"] for g in s["nodes"])
    rate = UTILIZATION * gpus * 3600.0 / MEAN_DURATION_S
    data = copy.deepcopy(base)
    data.update(name="stream-1gpu", duration=f"{jobs / rate * 1.2:.3f}h", drain=True,
                backend="numpy")
    data.pop("failures", None)  # the floor's job stream has none: same stream for both
    data["workloads"] = [{
        "name": "stream", "arrival": {"process": "poisson", "rate_per_hour": rate},
        "gpus": 1, "duration": {"distribution": "exponential", "mean": MEAN_DURATION_S},
        "max_jobs": jobs,
    }]
    return data


def simpy_floor(arrivals: np.ndarray, durations: np.ndarray, gpus: int) -> int:
    """Plain SimPy: a Container of GPUs and a process per job. Returns events processed."""
    env = simpy.Environment()
    pool = simpy.Container(env, capacity=gpus, init=gpus)

    def job(duration: float):  # type: ignore[no-untyped-def]
        yield pool.get(1)
        yield env.timeout(duration)
        yield pool.put(1)

    def source():  # type: ignore[no-untyped-def]
        for at, duration in zip(arrivals.tolist(), durations.tolist(), strict=True):
            yield env.timeout(at - env.now)
            env.process(job(duration))

    env.process(source())
    env.run()
    return len(arrivals)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=200_000)
    args = parser.parse_args(argv)
    data = stream_scenario(args.jobs)

    gc.collect()
    result, engine_s = timed(lambda: simulate(data))
    summary = result.summary
    arrivals = result.jobs["arrival_s"].to_numpy()
    durations = result.jobs["duration_s"].to_numpy()
    gpus = summary["gpus_total"]
    gc.collect()
    _, floor_s = timed(lambda: simpy_floor(arrivals, durations, gpus))

    engine_rate = args.jobs / summary["wall_time_s"]
    floor_rate = args.jobs / floor_s
    rows = [
        {"model": "clustersim engine", "jobs": args.jobs, "wall_s": summary["wall_time_s"],
         "jobs_per_s": engine_rate, "events_per_s": summary["events"] / summary["wall_time_s"]},
        {"model": "bare SimPy floor", "jobs": args.jobs, "wall_s": floor_s,
         "jobs_per_s": floor_rate, "events_per_s": float("nan")},
    ]
    print(table(rows))
    ratio = engine_rate / floor_rate
    print(f"ratio engine / floor = {ratio:.2f}  (simulate() incl. results: {engine_s:.2f}s; "
          f"utilization {summary['gpu_utilization']:.2f}; peak RSS {peak_rss_mb():.0f} MB)")
    payload = {"jobs": args.jobs, "engine_jobs_per_s": engine_rate,
               "floor_jobs_per_s": floor_rate, "ratio": ratio,
               "simulate_wall_s": engine_s, "peak_rss_mb": peak_rss_mb()}
    write_json("stream", payload)
    return payload


if __name__ == "__main__":
    main()
