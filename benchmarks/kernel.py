"""One scheduling cycle of J pending jobs against the full 1:1 hdf-2030 cluster.

Three measurements on the same inputs:

* ``columns``: the engine's path. Filters and scores over node classes (site x group x free
  GPUs: a few hundred columns stand for 120 k nodes), then the sequential-semantics
  assignment. Reported as cells (jobs x columns) per second and as the equivalent
  jobs x nodes per second (each column stands for all its nodes).
* ``nodes``: the same kernels with one column per node ([J, 120 k], chunked over jobs so the
  intermediates fit in memory): the brute-force scoring a per-node simulator would do.
* ``python``: a plain Python loop over (job, column) pairs computing the same filters and
  packing score, timed on a subset and reported per cell.

Run: ``python -m benchmarks.kernel [--jobs 10000] [--backend numpy|cupy]``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from benchmarks.common import ROOT, peak_rss_mb, table, write_json
from gpu import (
    Backend,
    CapacityState,
    JobBatch,
    JobShape,
    PluginCall,
    assign,
    build_context,
    evaluate,
    get_backend,
    get_plugin,
)
from gpu.framework import best_columns, evaluate_device
from gpu.placement import Columns
from scheduler.cluster import Cluster
from scheduler.loading import load_scenario

SIZES = np.array([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024])
SIZE_WEIGHTS = np.array([0.55, 0.08, 0.09, 0.14, 0.05, 0.035, 0.025, 0.015, 0.008, 0.004, 0.003])


def make_jobs(cluster: Cluster, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    gpus = rng.choice(SIZES, size=n, p=SIZE_WEIGHTS / SIZE_WEIGHTS.sum())
    allowed = np.ones((n, len(cluster.gpu_type_names)), dtype=bool)
    nvidia_only = rng.random(n) < 0.3  # 30 % of jobs cannot use MI300X
    allowed[nvidia_only, cluster.type_index["MI300X"]] = False
    return gpus.astype(np.int64), allowed


def occupy(cluster: Cluster, rng: np.random.Generator, share: float = 0.6) -> None:
    """Fill the cluster to about ``share`` with 1..8-GPU placements (realistic free levels)."""
    columns = cluster.columns
    target = int(cluster.total_gpus * share)
    while cluster.busy_gpus < target:
        group = int(rng.integers(0, cluster.n_groups))
        gpus = int(rng.integers(1, 9))
        candidates = [int(cluster.column_of[group, f]) for f in range(gpus, 9)
                      if columns.count[int(cluster.column_of[group, f])] > 0]
        if candidates:
            cluster.place(candidates[int(rng.integers(0, len(candidates)))], gpus)


def plugin_calls() -> tuple[list[PluginCall], list[PluginCall]]:
    filters = [PluginCall(get_plugin("filter", name)) for name in ("gpu-type", "node-up", "capacity")]
    scores = [PluginCall(get_plugin("score", "packing"), {}, 1.0),
              PluginCall(get_plugin("score", "locality"), {}, 1.0)]
    return filters, scores


def device_columns(backend: Backend, cols: Columns) -> Columns:
    to = backend.asarray
    return Columns(*(to(getattr(cols, f)) for f in (
        "group", "site", "gpu_type", "gpus_per_node", "free", "up", "count", "full_column",
        "group_nodes")))


def node_columns(cluster: Cluster) -> Columns:
    """One column per up node (count 1), so the kernels score nodes directly."""
    g = cluster.node_group
    return Columns(group=g, site=cluster.group_site[g], gpu_type=cluster.group_type[g],
                   gpus_per_node=cluster.group_size[g], free=cluster.node_free.copy(),
                   up=np.ones(g.shape[0], dtype=bool), count=np.ones(g.shape[0], dtype=np.int64),
                   full_column=cluster.columns.full_column, group_nodes=cluster.group_count)


def sync(backend: Backend) -> None:
    if backend.name == "cupy":
        backend.xp.cuda.Stream.null.synchronize()


def run_columns(backend: Backend, cluster: Cluster, gpus: np.ndarray, allowed: np.ndarray,
                filters: list[PluginCall], scores: list[PluginCall]) -> dict[str, Any]:
    xp = backend.xp
    cols = device_columns(backend, cluster.columns)
    batch = JobBatch(gpus=xp.asarray(gpus), type_allowed=xp.asarray(allowed))
    start = time.perf_counter()
    evaluation = evaluate(backend, build_context(xp, batch, cols), filters, scores)
    scored = time.perf_counter() - start
    state = CapacityState.from_columns(cluster.columns, cluster.column_of)
    shapes = [JobShape.of(int(g), state) for g in gpus]  # one class per job: worst case
    start = time.perf_counter()
    chosen = assign(evaluation.keys, np.arange(gpus.shape[0]), shapes, state)
    walked = time.perf_counter() - start
    cells = gpus.shape[0] * cluster.columns.size
    return {"path": f"columns ({backend.name})", "jobs": int(gpus.shape[0]),
            "columns": cluster.columns.size, "score_s": scored, "assign_s": walked,
            "cells_per_s": cells / scored,
            "job_nodes_per_s": gpus.shape[0] * cluster.n_nodes / (scored + walked),
            "placed": int((chosen >= 0).sum())}


def run_nodes(backend: Backend, cluster: Cluster, gpus: np.ndarray, allowed: np.ndarray,
              filters: list[PluginCall], scores: list[PluginCall], chunk: int) -> dict[str, Any]:
    xp = backend.xp
    cols = device_columns(backend, node_columns(cluster))
    start = time.perf_counter()
    for lo in range(0, gpus.shape[0], chunk):
        batch = JobBatch(gpus=xp.asarray(gpus[lo:lo + chunk]),
                         type_allowed=xp.asarray(allowed[lo:lo + chunk]))
        keys, _ = evaluate_device(backend, build_context(xp, batch, cols), filters, scores)
        best_columns(backend, keys)
    sync(backend)
    elapsed = time.perf_counter() - start
    cells = gpus.shape[0] * cluster.n_nodes
    return {"path": f"nodes ({backend.name})", "jobs": int(gpus.shape[0]),
            "columns": cluster.n_nodes, "score_s": elapsed, "assign_s": 0.0,
            "cells_per_s": cells / elapsed, "job_nodes_per_s": cells / elapsed, "placed": -1}


def run_fused(backend: Backend, cluster: Cluster, gpus: np.ndarray,
              allowed: np.ndarray) -> dict[str, Any]:
    """The fused kernel (benchmarks/fused_kernel.py): one column per node, no [J, N] intermediates on the GPU;
    chunks of jobs on NumPy."""
    from benchmarks.fused_kernel import FusedWeights, best_keys_cupy, best_keys_numpy

    cols = node_columns(cluster)
    weights = FusedWeights(packing=1000, locality=1000)
    args = (gpus, allowed, cols.gpu_type, cols.gpus_per_node, cols.free, cols.up, cols.group,
            cols.group_nodes)
    start = time.perf_counter()
    if backend.name == "cupy":
        device_args = [backend.asarray(a) for a in args]
        best_keys_cupy(backend, *device_args, weights).get()
    else:
        best_keys_numpy(*args, weights)
    elapsed = time.perf_counter() - start
    cells = gpus.shape[0] * cluster.n_nodes
    return {"path": f"fused nodes ({backend.name})", "jobs": int(gpus.shape[0]),
            "columns": cluster.n_nodes, "score_s": elapsed, "assign_s": 0.0,
            "cells_per_s": cells / elapsed, "job_nodes_per_s": cells / elapsed, "placed": -1}


def run_cycle(backend: Backend, cluster: Cluster, gpus: np.ndarray, allowed: np.ndarray,
              filters: list[PluginCall], scores: list[PluginCall]) -> dict[str, Any]:
    """The engine's cycle: dedupe jobs into classes, keys per class, sequential assignment."""
    xp = backend.xp
    cols = device_columns(backend, cluster.columns)
    start = time.perf_counter()
    signature = np.concatenate([gpus[:, None], allowed.astype(np.int64)], axis=1)
    classes, job_class = np.unique(signature, axis=0, return_inverse=True)
    batch = JobBatch(gpus=xp.asarray(classes[:, 0]), type_allowed=xp.asarray(classes[:, 1:] > 0))
    evaluation = evaluate(backend, build_context(xp, batch, cols), filters, scores)
    state = CapacityState.from_columns(cluster.columns, cluster.column_of)
    shapes = [JobShape.of(int(g), state) for g in classes[:, 0]]
    chosen = assign(evaluation.keys, job_class.reshape(-1), shapes, state)
    elapsed = time.perf_counter() - start
    return {"path": f"cycle, job classes ({backend.name})", "jobs": int(gpus.shape[0]),
            "columns": cluster.columns.size, "score_s": elapsed, "assign_s": 0.0,
            "cells_per_s": float("nan"),
            "job_nodes_per_s": gpus.shape[0] * cluster.n_nodes / elapsed,
            "placed": int((chosen >= 0).sum())}


def run_python(cluster: Cluster, gpus: np.ndarray, allowed: np.ndarray,
               per_node: bool) -> dict[str, Any]:
    """The same filters and packing + locality scores as a plain loop over columns or nodes."""
    cols = node_columns(cluster) if per_node else cluster.columns
    group, gtype = cols.group.tolist(), cols.gpu_type.tolist()
    size, free, up = cols.gpus_per_node.tolist(), cols.free.tolist(), cols.up.tolist()
    group_nodes = cols.group_nodes.tolist()
    allowed_list = allowed.tolist()
    n_cols = len(group)
    picks = []
    start = time.perf_counter()
    for j, g in enumerate(gpus.tolist()):
        best, best_key = -1, -1
        for c in range(n_cols):
            if not allowed_list[j][gtype[c]] or not up[c]:
                continue
            nodes = -(-g // size[c])
            remainder = g - (nodes - 1) * size[c]
            if free[c] < remainder or group_nodes[group[c]] < nodes:
                continue
            packing = (size[c] - free[c] + remainder) * 100 // size[c]
            locality = 100 // nodes
            key = (packing * 1000 + locality * 1000) * n_cols + (n_cols - 1 - c)
            if key > best_key:
                best, best_key = c, key
        picks.append(best)
    elapsed = time.perf_counter() - start
    cells = gpus.shape[0] * n_cols
    return {"path": f"python loop ({'nodes' if per_node else 'columns'})",
            "jobs": int(gpus.shape[0]), "columns": n_cols, "score_s": elapsed, "assign_s": 0.0,
            "cells_per_s": cells / elapsed,
            "job_nodes_per_s": gpus.shape[0] * cluster.n_nodes / elapsed,
            "placed": sum(p >= 0 for p in picks)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--node-jobs", type=int, default=500,
                        help="jobs for the one-column-per-node measurement")
    parser.add_argument("--python-jobs", type=int, default=1_000)
    parser.add_argument("--python-node-jobs", type=int, default=10)
    parser.add_argument("--chunk", type=int, default=64)
    parser.add_argument("--backend", default="numpy")
    args = parser.parse_args(argv)
    backend = get_backend(args.backend)
    rng = np.random.default_rng(42)
    cluster = Cluster(load_scenario(ROOT / "scenarios" / "hdf-2030.yaml"))
    occupy(cluster, rng)
    gpus, allowed = make_jobs(cluster, args.jobs, rng)
    filters, scores = plugin_calls()
    fused_jobs = args.jobs if backend.name == "cupy" else args.node_jobs
    rows = [run_cycle(backend, cluster, gpus, allowed, filters, scores),
            run_columns(backend, cluster, gpus, allowed, filters, scores),
            run_nodes(backend, cluster, gpus[: args.node_jobs], allowed[: args.node_jobs],
                      filters, scores, args.chunk),
            run_fused(backend, cluster, gpus[:fused_jobs], allowed[:fused_jobs]),
            run_python(cluster, gpus[: args.python_jobs], allowed[: args.python_jobs], False),
            run_python(cluster, gpus[: args.python_node_jobs], allowed[: args.python_node_jobs],
                       True)]
    print(f"cluster: {cluster.n_nodes:,} nodes, {cluster.total_gpus:,} GPUs, "
          f"{cluster.columns.size} columns; {cluster.busy_gpus / cluster.total_gpus:.0%} busy")
    print(table(rows))
    cycle_s = rows[0]["score_s"]
    python_node_s = args.jobs / rows[5]["jobs"] * rows[5]["score_s"]  # extrapolated to J
    ratios = {
        "cycle_vs_python_nodes": python_node_s / cycle_s,
        "cycle_vs_python_columns": args.jobs / rows[4]["jobs"] * rows[4]["score_s"] / cycle_s,
        "kernel_columns_vs_python_columns": rows[1]["cells_per_s"] / rows[4]["cells_per_s"],
        "kernel_nodes_vs_python_nodes": rows[2]["cells_per_s"] / rows[5]["cells_per_s"],
        "fused_nodes_vs_python_nodes": rows[3]["cells_per_s"] / rows[5]["cells_per_s"],
    }
    print(f"cycle of {args.jobs:,} jobs: {cycle_s:.3f}s vs {python_node_s:.0f}s for a "
          f"straightforward python loop over nodes (extrapolated): "
          f"{ratios['cycle_vs_python_nodes']:,.0f}x")
    for name, value in ratios.items():
        print(f"  {name}: {value:,.1f}x")
    print(f"peak RSS {peak_rss_mb():.0f} MB")
    payload = {"rows": rows, "ratios": ratios, "peak_rss_mb": peak_rss_mb()}
    write_json(f"kernel-{backend.name}", payload)
    return payload


if __name__ == "__main__":
    main()
