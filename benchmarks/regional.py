"""hdf-2030 at 1:1 (about 0.95 M GPUs, 120 k nodes): 1,000,000 training jobs of realistic
sizes (gang jobs included) and a week of chat and code inference on the same fleet.

Target on a 2-core laptop-class machine, NumPy backend: at most 120 s of simulation wall time
and 4 GB peak RSS. Run: ``python -m benchmarks.regional [--jobs N] [--days D]``.
"""

from __future__ import annotations

import argparse
import copy
import time
from typing import Any

from benchmarks.common import ROOT, load_yaml, peak_rss_mb, table, write_json
from scheduler import simulate


def regional_scenario(jobs: int, days: float, inference: bool = True) -> dict[str, Any]:
    data = copy.deepcopy(load_yaml(ROOT / "scenarios" / "hdf-2030.yaml"))
    data["duration"] = f"{days}d"
    data["workloads"][0]["max_jobs"] = jobs  # research: ~10,400 jobs/h, so 1 M in ~4 days
    if not inference:
        data["workloads"] = [w for w in data["workloads"] if w.get("kind") != "inference"]
    return data


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--no-inference", action="store_true")
    args = parser.parse_args(argv)
    data = regional_scenario(args.jobs, args.days, not args.no_inference)
    start = time.perf_counter()
    result = simulate(data, backend="numpy")
    total = time.perf_counter() - start
    s = result.summary
    row = {
        "jobs": s["jobs_submitted"], "gpus": s["gpus_total"], "nodes": s["nodes_total"],
        "sim_wall_s": s["wall_time_s"], "total_wall_s": total,
        "jobs_per_s": s["jobs_submitted"] / s["wall_time_s"],
        "events_per_s": s["events"] / s["wall_time_s"], "peak_rss_mb": peak_rss_mb(),
        "gpu_utilization": s["gpu_utilization"],
        "inference_requests": s.get("inference_requests"),
        "inference_gpu_share": s.get("inference_gpu_share"),
    }
    print(table([row]))
    print(f"targets: simulation <= 120 s ({'met' if s['wall_time_s'] <= 120 else 'missed'}), "
          f"peak RSS <= 4096 MB ({'met' if peak_rss_mb() <= 4096 else 'missed'})")
    write_json("regional", row)
    return row


if __name__ == "__main__":
    main()
