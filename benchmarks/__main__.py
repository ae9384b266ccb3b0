"""Run the benchmark suite and print one table: ``python -m benchmarks [--quick]``.

(a) the 1-GPU stream against the bare SimPy floor (ratio), (b) hdf-2030 at 1:1 with
1,000,000 training jobs and a week of inference, (c) the placement kernels at J = 10,000
against the 120 k nodes. Each part also writes its own JSON under benchmarks/results/, and
the suite writes benchmarks/results/suite.json. ``--quick`` shrinks every part (a smoke run).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from typing import Any

from benchmarks.common import RESULTS, table, write_json

PARTS = {
    "stream": (["--jobs", "200000"], ["--jobs", "20000"]),
    "regional": (["--jobs", "1000000", "--days", "7"], ["--jobs", "50000", "--days", "1"]),
    "kernel": (["--jobs", "10000"], ["--jobs", "2000", "--node-jobs", "100",
                                     "--python-jobs", "100", "--python-node-jobs", "2"]),
}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=sorted(PARTS), action="append")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}
    for name, (full, quick) in PARTS.items():
        if args.only and name not in args.only:
            continue
        # One process per part: each part's peak RSS is its own.
        command = [sys.executable, "-m", f"benchmarks.{name}", *(quick if args.quick else full)]
        print(f"\n$ {' '.join(command[1:])}", flush=True)
        subprocess.run(command, check=True)
        results[name] = (RESULTS / f"{name}.json").read_text()
    rows = []
    import json

    parsed = {k: json.loads(v) for k, v in results.items()}
    if "stream" in parsed:
        p = parsed["stream"]
        rows.append({"benchmark": "stream vs SimPy floor", "figure": "ratio",
                     "value": p["ratio"], "target": ">= 0.4 (issue 2), >= 0.5 (issue 10)"})
        rows.append({"benchmark": "stream", "figure": "jobs/s", "value": p["engine_jobs_per_s"],
                     "target": ""})
    if "regional" in parsed:
        p = parsed["regional"]
        rows.append({"benchmark": f"regional 1:1, {p['jobs']:,} jobs", "figure": "sim wall s",
                     "value": p["sim_wall_s"], "target": "<= 120"})
        rows.append({"benchmark": "regional", "figure": "peak RSS MB", "value": p["peak_rss_mb"],
                     "target": "<= 4096"})
        rows.append({"benchmark": "regional", "figure": "jobs/s", "value": p["jobs_per_s"],
                     "target": ""})
    if "kernel" in parsed:
        p = parsed["kernel"]
        rows.append({"benchmark": "kernel cycle J=10k vs python loop over nodes",
                     "figure": "speedup", "value": p["ratios"]["cycle_vs_python_nodes"],
                     "target": ">= 100"})
        rows.append({"benchmark": "fused node kernel vs python loop over nodes",
                     "figure": "speedup", "value": p["ratios"]["fused_nodes_vs_python_nodes"],
                     "target": ""})
    print("\n" + table(rows))
    write_json("suite", {"rows": rows, "quick": args.quick})
    return parsed


if __name__ == "__main__":
    main()
