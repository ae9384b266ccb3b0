"""Fused best-node kernel: filters, scores and the per-job argmax in one pass over nodes.

The generic framework (:mod:`gpu.framework`) materialises ``[J, N]`` masks and scores per
plugin; at one column per node (120 k nodes) that is the memory traffic that dominates. This
kernel computes, for the built-in filters ``gpu-type``, ``node-up`` and ``capacity`` and the
scores ``packing``, ``spread`` and ``locality`` (integer weights in milli-units), each job's
best key directly, without any ``[J, N]`` intermediate:

* CuPy: a CUDA ``RawKernel``, one block per job, threads striding over nodes, a shared-memory
  max reduction (keys are distinct, so max is exact and order-free).
* NumPy: the same arithmetic over chunks of jobs (bounded memory), used as the CPU path.

Both return the same keys as the generic path with those plugins (checked by
``benchmarks/gpu_check.py`` and by tests on the NumPy side). CuPy is imported lazily.

It lives in ``benchmarks/``, not ``gpu/``: production cycles score node *classes* (a few
hundred columns for the 1:1 region), where the generic path's ``[J, B]`` arrays are small;
this kernel measures what scoring every node separately would cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gpu.backend import Backend
from gpu.framework import TIE_SPAN

THREADS = 256

_CUDA_SOURCE = r"""
extern "C" __global__ void best_node_keys(
    const long long* gpus, const bool* allowed, const int n_types,
    const int* node_type, const int* node_size, const int* node_free,
    const bool* node_up, const int* node_group, const long long* group_nodes,
    const int n_nodes, const long long w_pack, const long long w_spread,
    const long long w_loc, long long* out_key)
{
    const int j = blockIdx.x;
    const long long g = gpus[j];
    long long best = -1;
    for (int n = threadIdx.x; n < n_nodes; n += blockDim.x) {
        if (!node_up[n] || !allowed[(long long)j * n_types + node_type[n]]) continue;
        const long long size = node_size[n];
        const long long nodes = (g + size - 1) / size;
        const long long rem = g - (nodes - 1) * size;
        const long long freeg = node_free[n];
        if (freeg < rem || group_nodes[node_group[n]] < nodes) continue;
        const long long pack = ((size - freeg + rem) * 100) / size;
        const long long left = freeg - rem;
        const long long spread = (left * 100) / size;
        const long long loc = 100 / nodes;
        const long long total = pack * w_pack + spread * w_spread + loc * w_loc;
        const long long key = total * (101LL * n_nodes) + pack * n_nodes + (n_nodes - 1 - n);
        if (key > best) best = key;
    }
    __shared__ long long shared[256];
    shared[threadIdx.x] = best;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
        if (threadIdx.x < stride && shared[threadIdx.x + stride] > shared[threadIdx.x]) {
            shared[threadIdx.x] = shared[threadIdx.x + stride];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) out_key[j] = shared[0];
}
"""


@dataclass(frozen=True)
class FusedWeights:
    """Integer weights (milli-units, as :data:`gpu.framework.WEIGHT_SCALE`) of the fused
    scores; 0 switches a score off."""

    packing: int = 1000
    spread: int = 0
    locality: int = 0


def best_keys_numpy(gpus: np.ndarray, allowed: np.ndarray, node_type: np.ndarray,
                    node_size: np.ndarray, node_free: np.ndarray, node_up: np.ndarray,
                    node_group: np.ndarray, group_nodes: np.ndarray, weights: FusedWeights,
                    chunk: int = 32) -> np.ndarray:
    """Best key per job (-1: no node passes), NumPy, over chunks of jobs."""
    n_nodes = node_type.shape[0]
    out = np.full(gpus.shape[0], -1, dtype=np.int64)
    size = node_size.astype(np.int64)[None, :]
    freeg = node_free.astype(np.int64)[None, :]
    group_cap = group_nodes.astype(np.int64)[node_group][None, :]
    tie = (n_nodes - 1 - np.arange(n_nodes, dtype=np.int64))[None, :]
    for lo in range(0, gpus.shape[0], chunk):
        g = gpus[lo:lo + chunk].astype(np.int64)[:, None]
        nodes = (g + size - 1) // size
        rem = g - (nodes - 1) * size
        ok = allowed[lo:lo + chunk][:, node_type] & node_up[None, :]
        ok &= (freeg >= rem) & (group_cap >= nodes)
        pack = (size - freeg + rem) * 100 // size
        total = pack * weights.packing
        if weights.spread:
            total += ((freeg - rem) * 100 // size) * weights.spread
        if weights.locality:
            total += (100 // nodes) * weights.locality
        keys = np.where(ok, total * (TIE_SPAN * n_nodes) + pack * n_nodes + tie, -1)
        out[lo:lo + chunk] = keys.max(axis=1)
    return out


_KERNEL: Any = None


def best_keys_cupy(backend: Backend, gpus: Any, allowed: Any, node_type: Any, node_size: Any,
                   node_free: Any, node_up: Any, node_group: Any, group_nodes: Any,
                   weights: FusedWeights) -> Any:
    """Best key per job on the device (a CuPy int64 array); inputs are CuPy arrays."""
    global _KERNEL
    cp = backend.xp
    if _KERNEL is None:
        _KERNEL = cp.RawKernel(_CUDA_SOURCE, "best_node_keys")
    n_jobs = int(gpus.shape[0])
    out = cp.full(n_jobs, -1, dtype=cp.int64)
    if n_jobs == 0:
        return out
    _KERNEL(
        (n_jobs,), (THREADS,),
        (cp.ascontiguousarray(gpus, dtype=cp.int64), cp.ascontiguousarray(allowed, dtype=cp.bool_),
         np.int32(allowed.shape[1]), cp.ascontiguousarray(node_type, dtype=cp.int32),
         cp.ascontiguousarray(node_size, dtype=cp.int32),
         cp.ascontiguousarray(node_free, dtype=cp.int32),
         cp.ascontiguousarray(node_up, dtype=cp.bool_),
         cp.ascontiguousarray(node_group, dtype=cp.int32),
         cp.ascontiguousarray(group_nodes, dtype=cp.int64), np.int32(node_type.shape[0]),
         np.int64(weights.packing), np.int64(weights.spread), np.int64(weights.locality), out))
    return out


def columns_of_keys(keys: np.ndarray, n_nodes: int) -> np.ndarray:
    """Node index of each best key (-1 where none): keys are ``N - 1 - node`` modulo ``N``
    (the packing tie-break sits above, see :data:`gpu.framework.TIE_SPAN`)."""
    return np.where(keys >= 0, n_nodes - 1 - keys % n_nodes, -1)
