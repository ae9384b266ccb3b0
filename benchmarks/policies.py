"""Every built-in queue policy on hdf-2030-small (a week, same seed): JCT, wait, utilization,
preemptions, and wall time against FIFO's; then the same ratio on the Philly VC 6214e9 trace
(where preemptive LAS works hardest). Target: preemptive and order-each-cycle policies
within 5x of FIFO's wall time. Run: ``python -m benchmarks.policies [--days D]``."""

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
    fifo_wall = rows[0]["wall_s"]
    for row in rows:
        row["wall_vs_fifo"] = row["wall_s"] / fifo_wall
    print(table(rows))
    philly = []
    for queue in ("fifo", "las", "easy-backfill"):
        s = simulate(ROOT / "scenarios" / "philly-6214e9.yaml", seed=1,
                     overrides=[f"policy={{queue: {queue}}}"]).summary
        philly.append({"policy": queue, "mean_jct_s": s["mean_jct_s"],
                       "preemptions": s["preemptions"], "wall_s": s["wall_time_s"]})
    for row in philly:
        row["wall_vs_fifo"] = row["wall_s"] / philly[0]["wall_s"]
    print("Philly VC 6214e9 (1,985 jobs, 24 x 8 V100):")
    print(table(philly))
    write_json("policies", {"rows": rows, "philly": philly})
    return rows


if __name__ == "__main__":
    main()
