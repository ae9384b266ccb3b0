"""What demand growth costs: generated arrivals, trace warping and a grown inference service.

(a) A year of Poisson arrivals drawn without growth, with +30 %/year compounding and with a
quarterly table (thinning draws candidates at the largest factor: the cost is the ratio of
the largest to the mean factor); (b) the time warp of 10 million trace arrivals; (c) an
inference service (aggregate fidelity, 60 s autoscaler steps) over ``--days`` without
growth, with compounding growth (a new rate every step: the replica-count memo no longer
hits) and with a table (a constant rate between rows: the memo hits again).
Run: ``python -m benchmarks.growth [--days 90]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.common import table, write_json
from scheduler import simulate
from scheduler.arrivals import arrival_times
from scheduler.growth import YEAR, Compounding, StepTable
from scheduler.scenario import PoissonArrival


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(value, wall seconds, CPU seconds of this process): the machine is shared, and CPU
    time is what other users' load changes least."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def row(part: str, growth: str, count: int, wall: float, cpu: float) -> dict:
    return {"part": part, "growth": growth, "count": count, "wall_s": wall, "cpu_s": cpu,
            "cpu_us_each": cpu / count * 1e6}


QUARTERS = [{"since": f"{q * 91}d", "factor": 1.0 + 0.1 * q} for q in range(1, 4)]
"""A table rising by 10 % a quarter: x1.3 in the last quarter."""
GROWTHS: dict[str, dict] = {
    "none": {},
    "+30%/year": {"growth_per_year": 0.3},
    "quarterly table": {"growth_by_date": QUARTERS},
}


def arrivals_part(rate_per_hour: float) -> list[dict]:
    rows = []
    for name, growth in GROWTHS.items():
        arrival = PoissonArrival.model_validate({"process": "poisson",
                                                 "rate_per_hour": rate_per_hour, **growth})
        rng = np.random.default_rng(1)
        chunks, wall, cpu = timed(lambda a=arrival, r=rng: list(arrival_times(a, YEAR, r)))
        rows.append(row("arrivals, 1 year", name, sum(len(c) for c in chunks), wall, cpu))
    return rows


def warp_part(points: int) -> list[dict]:
    times = np.sort(np.random.default_rng(2).uniform(0, YEAR, points))
    curves = {"+30%/year": Compounding(0.3),
              "quarterly table": StepTable.from_rows([float(q["since"][:-1]) * 86400
                                                      for q in QUARTERS],
                                                     [q["factor"] for q in QUARTERS])}
    rows = []
    for name, curve in curves.items():
        _, wall, cpu = timed(lambda c=curve: c.inverse_integral(times))
        rows.append(row("trace warp", name, points, wall, cpu))
    return rows


def service_scenario(days: float, growth: dict) -> dict:
    return {"name": "service-growth", "seed": 1, "duration": f"{days}d", "backend": "numpy",
            "sites": [{"name": "A", "nodes": [{"gpu": "H100", "gpus_per_node": 8,
                                               "count": 200}]}],
            "workloads": [{"name": "chat", "kind": "inference",
                           "requests": {"rate_per_second": 100, "profile": "chat", **growth},
                           "autoscale": {"interval": "60s"}}]}


def service_part(days: float) -> list[dict]:
    rows = []
    for name, growth in GROWTHS.items():
        _, wall, cpu = timed(lambda g=growth: simulate(service_scenario(days, g)))
        rows.append(row(f"service, {days:g} d of 60 s steps", name, int(days * 1440), wall,
                        cpu))
    return rows


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=500.0, help="jobs per hour (a)")
    parser.add_argument("--points", type=int, default=10_000_000, help="trace rows (b)")
    parser.add_argument("--days", type=float, default=90.0, help="service run (c)")
    args = parser.parse_args(argv)
    rows = arrivals_part(args.rate) + warp_part(args.points) + service_part(args.days)
    print(table(rows))
    write_json("growth", {"rows": rows})
    return {"rows": rows}


if __name__ == "__main__":
    main()
