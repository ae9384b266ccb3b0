"""Every built-in queue policy on hdf-2030-small (a week, same seed): JCT, wait, utilization,
preemptions. Run: ``python -m benchmarks.policies [--days D]``."""

from __future__ import annotations

import argparse
from typing import Any

from benchmarks.common import ROOT, table, write_json
from scheduler import simulate

POLICIES = ["fifo", "sjf", "easy-backfill", "las", "priority", "speed-gain"]


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=float, default=7.0)
    args = parser.parse_args(argv)
    rows = []
    for queue in POLICIES:
        overrides = [f"policy.queue={queue}", f"duration={args.days}d"]
        if queue == "priority":
            overrides.append("policy.priority={preempt: true}")
        s = simulate(ROOT / "scenarios" / "hdf-2030-small.yaml", overrides=overrides).summary
        rows.append({
            "policy": queue, "jobs": s["jobs_submitted"], "completed": s["jobs_completed"],
            "mean_jct_h": (s["mean_jct_s"] or 0) / 3600, "p95_jct_h": (s["p95_jct_s"] or 0) / 3600,
            "mean_wait_h": (s["mean_wait_s"] or 0) / 3600,
            "p95_wait_h": (s["p95_wait_s"] or 0) / 3600,
            "utilization": s["gpu_utilization"], "preemptions": s["preemptions"],
            "mean_bounded_slowdown": s["mean_bounded_slowdown"], "wall_s": s["wall_time_s"],
        })
    print(table(rows))
    write_json("policies", {"rows": rows})
    return rows


if __name__ == "__main__":
    main()
