"""The 15 Microsoft Philly virtual clusters against Tiresias's own simulator, not tuned to any.

Every trace (Tiresias CSV form from the Gavel repository: ``tests/data/traces/philly-vc/``
for 6214e9, ``benchmarks/data/philly-vc/`` for the other 14) replays on 32 nodes x 8 V100,
Tiresias's default cluster (where most virtual clusters barely queue), and the seven largest
also on 8 nodes x 8 V100 (where they do), to completion, three ways:

* FIFO, mode ``scattered`` vs Tiresias ``--scheme=count --schedule=fifo``;
* FIFO, mode ``consolidated`` vs Tiresias ``--scheme=yarn --schedule=fifo``;
* LAS with Tiresias's thresholds (3,250 and 7,200 GPU-seconds), mode ``scattered``, preempted
  jobs saving first vs Tiresias ``--scheme=count --schedule=dlas-gpu``.

The Tiresias figures (``benchmarks/data/philly-vc/tiresias.json``) were measured by running
SymbioticLab/Tiresias ``simulator/run_sim.py`` (commit 959f9b0, ``sys.maxint`` replaced by
``sys.maxsize`` for Python 3; nothing else changed; ``--num_node_p_switch=8`` for 8 nodes)
on the same files, in ``tiresias.json``: virtual cluster -> ``nodes_N`` -> run -> mean JCT.
Run: ``python -m benchmarks.philly_vcs [--vc ID ...]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.common import ROOT, table, write_json
from scheduler import simulate
from scheduler.loading import validate_data

DATA = ROOT / "benchmarks" / "data" / "philly-vc"
TIRESIAS = DATA / "tiresias.json"
TIRESIAS_THRESHOLDS_GPU_H = [3250 / 3600, 7200 / 3600]
RUNS = {  # our run -> (queue, placement mode, Tiresias run)
    "fifo_scattered": ("fifo", "scattered", "count-fifo"),
    "fifo_consolidated": ("fifo", "consolidated", "yarn-fifo"),
    "las_scattered": ({"type": "las", "thresholds_gpu_hours": TIRESIAS_THRESHOLDS_GPU_H},
                      "scattered", "count-dlas-gpu"),
}


def trace_paths() -> dict[str, Path]:
    """Virtual cluster id -> trace file."""
    paths = {"6214e9": ROOT / "tests" / "data" / "traces" / "philly-vc" / "6214e9.csv"}
    for path in sorted(DATA.glob("*.csv.gz")):
        paths[path.name.removesuffix(".csv.gz")] = path
    return paths


def mean_jct(trace: Path, queue: Any, mode: str, nodes: int = 32) -> tuple[float, int]:
    """Mean JCT (s) and job count of one replay on ``nodes`` x 8 V100, drained."""
    last_arrival = float(pd.read_csv(trace, usecols=["submit_time"])["submit_time"].max())
    scenario = validate_data({
        "name": f"philly-{trace.name.split('.')[0]}", "duration": last_arrival + 1, "drain": True,
        "sites": [{"name": "philly", "nodes": [{"gpu": "V100", "gpus_per_node": 8,
                                                 "count": nodes}]}],
        "workloads": [{"name": "vc", "kind": "training",
                       "trace": {"format": "tiresias", "path": str(trace)}}],
        "policy": {"queue": queue, "placement": {"mode": mode}},
    })
    summary = simulate(scenario, seed=1).summary
    return float(summary["mean_jct_s"]), int(summary["jobs_completed"])


def compare(vcs: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per virtual cluster and cluster size: ours, Tiresias's and the relative
    difference per run."""
    reference = json.loads(TIRESIAS.read_text())
    rows = []
    for vc, path in trace_paths().items():
        if vcs and vc not in vcs:
            continue
        for size, figures in sorted(reference[vc].items(), reverse=True):
            nodes = int(size.removeprefix("nodes_"))
            row: dict[str, Any] = {"vc": vc, "nodes": nodes, "jobs": figures["jobs"]}
            for name, (queue, mode, peer) in RUNS.items():
                ours, _ = mean_jct(path, queue, mode, nodes)
                row[f"{name}_s"] = ours
                row[f"tiresias_{peer}_s"] = float(figures[peer])
                row[f"{name}_rel"] = ours / float(figures[peer]) - 1.0
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vc", action="append", help="only these virtual clusters")
    args = parser.parse_args(argv)
    rows = compare(args.vc)
    print(table([{k: v for k, v in row.items() if not k.endswith("_s")} for row in rows]))
    write_json("philly_vcs", {"rows": rows})
    return rows


if __name__ == "__main__":
    main()
