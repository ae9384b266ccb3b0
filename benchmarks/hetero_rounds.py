"""Gavel-style rounds (``queue: gavel-rounds``) on the 1,985-job Philly VC 6214e9 replay
moved to a 3-type fleet (8 nodes each of V100, A100, H100; durations on V100, speeds from
the hardware), against FIFO and LAS: wall time (target < 10 s), rounds, LP solver time per
round, and JCT; then the solver alone on rounds of 100 to 5,000 jobs. Run:
``python -m benchmarks.hetero_rounds``."""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from benchmarks.common import ROOT, load_yaml, table, write_json
from scheduler import rounds, simulate
from scheduler.allocation import AllocationProblem, max_min_fairness, min_makespan

FLEET = [{"gpu": gpu, "gpus_per_node": 8, "count": 8} for gpu in ("V100", "A100", "H100")]


def philly_scenario(queue: Any, model_class: str) -> dict[str, Any]:
    """scenarios/philly-6214e9.yaml on :data:`FLEET` under ``queue``."""
    data = load_yaml(ROOT / "scenarios" / "philly-6214e9.yaml")
    data["sites"][0]["nodes"] = FLEET
    workload = data["workloads"][0]
    workload["trace"]["path"] = str(ROOT / "tests" / "data" / "traces" / "philly-vc"
                                    / "6214e9.csv")
    workload.update(model_class=model_class, reference_gpu="V100")
    data["policy"] = {"queue": queue}
    return data


def philly(queue: str, model_class: str) -> tuple[dict[str, Any], list[float]]:
    """One replay; the LP solve times of its rounds (0 when the last answer was reused)."""
    times: list[float] = []
    solve = rounds.solve_round

    def timed(*args: Any, **kwargs: Any) -> Any:
        result = solve(*args, **kwargs)
        times.append(result.solve_s)
        return result

    rounds.solve_round = timed  # type: ignore[assignment]
    cpu = time.process_time()
    try:
        result = simulate(philly_scenario(queue, model_class))
    finally:
        rounds.solve_round = solve  # type: ignore[assignment]
    # CPU seconds beside wall seconds: on a shared machine the wall clock counts the time
    # other processes held the cores; the process's CPU time does not.
    return {**result.summary, "cpu_s": time.process_time() - cpu}, times


def solver_scaling(sizes: list[int]) -> list[dict[str, Any]]:
    """The LP alone on rounds of ``n`` jobs of 12 classes (3 speed rows x 4 sizes)."""
    rng = np.random.default_rng(0)
    speeds = np.array([[1.0, 2.3, 5.1], [1.0, 1.6, 2.4], [1.0, 2.0, 3.3]])
    rows = []
    for n in sizes:
        problem = AllocationProblem(speeds[rng.integers(0, 3, n)],
                                    rng.choice([1.0, 2.0, 4.0, 8.0], n),
                                    np.array([64.0, 64.0, 64.0]))
        started = time.perf_counter()
        fair = max_min_fairness(problem)
        fair_s = time.perf_counter() - started
        makespan = min_makespan(problem, rng.exponential(3600.0, n))
        rows.append({"jobs": n, "max_min_fairness_ms": fair_s * 1e3,
                     "min_makespan_ms": makespan.solve_s * 1e3,
                     "min_normalised_throughput": fair.objective})
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-class", default="generic")
    args = parser.parse_args(argv)
    runs = []
    for queue in ("fifo", "las", "gavel-rounds"):
        summary, times = philly(queue, args.model_class)
        solved = [t for t in times if t > 0]
        runs.append({
            "queue": queue, "jobs": summary["jobs_submitted"],
            "completed": summary["jobs_completed"], "wall_s": summary["wall_time_s"],
            "cpu_s": summary["cpu_s"],
            "rounds_asked": len(times), "lp_solves": len(solved),
            "solve_ms_mean": 1e3 * float(np.mean(solved)) if solved else 0.0,
            "solve_ms_p99": 1e3 * float(np.percentile(solved, 99)) if solved else 0.0,
            "mean_jct_h": (summary["mean_jct_s"] or 0) / 3600,
            "makespan_d": (summary["makespan_s"] or 0) / 86400,
            "preemptions": summary["preemptions"]})
    print(table(runs))
    scaling = solver_scaling([100, 1000, 2000, 5000])
    print(table(scaling))
    payload = {"philly_3_types": runs, "solver_scaling": scaling}
    write_json("hetero_rounds", payload)
    return payload


if __name__ == "__main__":
    main()
