"""GPU check: NumPy vs CuPy parity on three scenarios, and kernel speed on both.

Runs in well under 5 minutes on one GPU. On a machine without a usable CUDA device it says
so and exits with code 3 (nothing to check). Run: ``python -m benchmarks.gpu_check``.

Parity means identical decisions: the job tables (start times, sites, statuses) and the
summaries (all keys but ``wall_time_s`` and ``backend``) must be equal.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from benchmarks import kernel
from benchmarks.common import ROOT, table, write_json
from gpu import BackendUnavailableError, get_backend
from scheduler import simulate

SCENARIOS = [
    ("mmc", ROOT / "scenarios" / "mmc.yaml", []),
    ("hdf-2030-small (2 days)", ROOT / "scenarios" / "hdf-2030-small.yaml", ["duration=2d"]),
    ("hdf-2030-small spread+fragmentation", ROOT / "scenarios" / "hdf-2030-small.yaml",
     ["duration=1d", "policy.placement.scores=[{type: spread}, {type: fragmentation, weight: 2},"
      " {type: locality}]"]),
]
IGNORED = {"wall_time_s", "backend"}


def parity() -> list[dict]:
    rows = []
    for name, path, overrides in SCENARIOS:
        results = {}
        for backend in ("numpy", "cupy"):
            start = time.perf_counter()
            results[backend] = simulate(path, backend=backend, overrides=overrides, seed=11)
            results[backend].summary["_wall"] = time.perf_counter() - start
        a, b = results["numpy"], results["cupy"]
        same_summary = ({k: v for k, v in a.summary.items() if k not in IGNORED | {"_wall"}}
                        == {k: v for k, v in b.summary.items() if k not in IGNORED | {"_wall"}})
        try:
            pd.testing.assert_frame_equal(a.jobs, b.jobs)
            same_jobs = True
        except AssertionError:
            same_jobs = False
        rows.append({"scenario": name, "jobs": a.summary["jobs_submitted"],
                     "same_summary": same_summary, "same_jobs": same_jobs,
                     "numpy_s": a.summary["_wall"], "cupy_s": b.summary["_wall"]})
    return rows


def fused_parity(backend_cupy: object, jobs: int = 2000) -> dict:
    """The fused CUDA kernel against the NumPy fused path and the generic xp path (a subset),
    on the 1:1 hdf-2030 cluster with one column per node."""
    from benchmarks.fused_kernel import FusedWeights, best_keys_cupy, best_keys_numpy
    from gpu import evaluate, get_backend
    from scheduler.cluster import Cluster
    from scheduler.loading import load_scenario

    rng = np.random.default_rng(7)
    cluster = Cluster(load_scenario(ROOT / "scenarios" / "hdf-2030.yaml"))
    kernel.occupy(cluster, rng)
    gpus, allowed = kernel.make_jobs(cluster, jobs, rng)
    cols = kernel.node_columns(cluster)
    weights = FusedWeights(packing=1000, locality=1000)
    args = (gpus, allowed, cols.gpu_type, cols.gpus_per_node, cols.free, cols.up, cols.group,
            cols.group_nodes)
    start = time.perf_counter()
    reference = best_keys_numpy(*args, weights)
    numpy_s = time.perf_counter() - start
    cp = backend_cupy.xp  # type: ignore[attr-defined]
    device = [cp.asarray(a) for a in args]
    best_keys_cupy(backend_cupy, *device, weights)  # compile and warm up
    cp.cuda.Stream.null.synchronize()
    start = time.perf_counter()
    on_gpu = best_keys_cupy(backend_cupy, *device, weights).get()
    cupy_s = time.perf_counter() - start
    subset = 100
    filters, scores = kernel.plugin_calls()
    from gpu import JobBatch, build_context

    batch = JobBatch(gpus=gpus[:subset], type_allowed=allowed[:subset])
    generic = evaluate(get_backend("numpy"), build_context(np, batch, cols), filters, scores)
    cells = jobs * cluster.n_nodes
    return {"jobs": jobs, "nodes": cluster.n_nodes,
            "fused_cupy_equals_numpy": bool(np.array_equal(on_gpu, reference)),
            "fused_equals_generic": bool(np.array_equal(reference[:subset],
                                                        generic.keys.max(axis=1))),
            "numpy_cells_per_s": cells / numpy_s, "cupy_cells_per_s": cells / cupy_s,
            "speedup": numpy_s / cupy_s}


def main() -> int:
    try:
        get_backend("cupy")
    except BackendUnavailableError as exc:
        print(f"GPU check skipped: {exc}")
        return 3
    rows = parity()
    print(table(rows))
    ok = all(r["same_summary"] and r["same_jobs"] for r in rows)
    print("parity:", "OK" if ok else "MISMATCH")
    fused = fused_parity(get_backend("cupy"))
    print("\nfused kernel:", table([fused]))
    ok = ok and fused["fused_cupy_equals_numpy"] and fused["fused_equals_generic"]
    speed = {}
    for backend in ("numpy", "cupy"):
        print(f"\nkernel benchmark, {backend}:")
        speed[backend] = kernel.main(["--backend", backend, "--node-jobs",
                                      "200" if backend == "numpy" else "2000",
                                      "--python-jobs", "200", "--python-node-jobs", "4"])
    node_rate = {b: speed[b]["rows"][2]["cells_per_s"] for b in speed}
    col_rate = {b: speed[b]["rows"][1]["cells_per_s"] for b in speed}
    print(f"\nper-node kernel cells/s: cupy / numpy = {node_rate['cupy'] / node_rate['numpy']:.1f}x;"
          f" per-column kernel: {col_rate['cupy'] / col_rate['numpy']:.1f}x")
    write_json("gpu_check", {"parity": rows, "parity_ok": ok, "node_rate": node_rate,
                             "column_rate": col_rate, "fused": fused, "numpy": np.__version__})
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
