"""Placement inputs as arrays: node columns, pending jobs, and the per-cycle context.

A *column* is a class of interchangeable nodes: same site, node group (GPU type, node size)
and number of free GPUs. Plugins see columns, never single nodes, so one cycle costs
``jobs x columns`` however many nodes a group holds (120 k nodes of the 1:1 Hauts-de-France
cluster are a few hundred columns). With one node per column the same code scores nodes.

Placement of a job of ``g`` GPUs on a column of node size ``G`` (free ``f``): it needs
``n = ceil(g / G)`` nodes; ``n - 1`` fully free nodes of the same group take ``G`` GPUs each and
one node of the chosen column takes the remainder ``r = g - (n - 1) G`` (so ``f >= r``). A job
that fits on one node (``n == 1``) is consolidated on one node. This is placement mode
``packed`` (the default); in mode ``scattered`` a job takes ``min(g, f)`` GPUs on a node of the
chosen column and the rest on any nodes of the group with free GPUs (see
:func:`build_context` and :class:`gpu.framework.JobShape`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Columns:
    """Node classes, struct of arrays (all length ``B``), in a fixed deterministic order."""

    group: np.ndarray
    """int64: node group index (site x GPU type x node size)."""
    site: np.ndarray
    """int64: site index."""
    gpu_type: np.ndarray
    """int64: GPU type index."""
    gpus_per_node: np.ndarray
    """int64: node size."""
    free: np.ndarray
    """int64: free GPUs on each node of the column."""
    up: np.ndarray
    """bool: nodes of the column are up."""
    count: np.ndarray
    """int64: number of nodes in the column now (a snapshot during a cycle)."""
    full_column: np.ndarray
    """int64, length G (groups): the column of fully free, up nodes of each group."""
    group_nodes: np.ndarray
    """int64, length G: nodes in each group (up or down), the most a gang job can span."""

    @property
    def size(self) -> int:
        return int(self.group.shape[0])


@dataclass
class JobBatch:
    """Pending jobs in queue order (all length ``J``)."""

    gpus: np.ndarray
    """int64: GPUs requested."""
    type_allowed: np.ndarray
    """bool [J, T]: GPU types the job may use."""
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    """Per-job arrays for plugins (e.g. ``power_w_per_gpu``, ``workload``)."""

    @property
    def size(self) -> int:
        return int(self.gpus.shape[0])


@dataclass
class PlacementContext:
    """What filter and score plugins read. Arrays live on ``xp``'s device.

    ``nodes_needed`` and ``remainder`` are ``[J, B]``: nodes a job needs on a column's group and
    GPUs it takes on the column's node (see the module docstring).
    """

    xp: Any
    jobs: JobBatch
    columns: Columns
    nodes_needed: Any
    remainder: Any
    site_arrays: dict[str, Any] = field(default_factory=dict)
    """Per-site arrays (length S), e.g. ``power_headroom_w``, ``carbon_g_per_kwh``."""
    now: float = 0.0

    @property
    def shape(self) -> tuple[int, int]:
        return (self.jobs.size, self.columns.size)


def build_context(xp: Any, jobs: JobBatch, columns: Columns,
                  site_arrays: dict[str, Any] | None = None, now: float = 0.0,
                  scattered: bool = False) -> PlacementContext:
    """Derive ``nodes_needed`` and ``remainder`` (``[J, B]``) and bundle the inputs.
    ``scattered`` (placement mode): the column's node takes ``min(g, free)`` (all of ``g``
    where it has no free GPU, so filters reject it) and the rest goes to other nodes."""
    gpus = jobs.gpus[:, None]
    size = columns.gpus_per_node[None, :]
    if scattered:
        free = columns.free[None, :]
        remainder = xp.where(free >= 1, xp.minimum(gpus, free), gpus)
        nodes_needed = 1 + (gpus - remainder + size - 1) // size
    else:
        nodes_needed = (gpus + size - 1) // size
        remainder = gpus - (nodes_needed - 1) * size
    return PlacementContext(xp, jobs, columns, nodes_needed, remainder,
                            dict(site_arrays or {}), now)
