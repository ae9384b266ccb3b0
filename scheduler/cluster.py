"""Cluster state as arrays: sites, node groups, nodes, and node classes (columns).

Invariants (checked by :meth:`Cluster.check_invariants`, used in tests):

* every up node is in exactly one column: the one of its group and free GPU count;
* ``0 <= node_free[n] <= gpus_per_node`` for every node;
* ``counts[c] == len(stack of c)`` and busy GPUs per site equal the sum over its nodes.

Nodes of a column are kept in a stack with O(1) removal (position index), so placing or
releasing a job costs O(nodes of the job), never a scan of all nodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gpu.framework import scatter_levels
from gpu.placement import Columns
from scheduler.catalog import GpuType, builtin_gpu_types
from scheduler.scenario import Scenario


class ReleaseSimulator:
    """Column counts as they would be after releasing some placements (nothing changes in the
    cluster): used to ask "would this job fit if those jobs stopped?" (preemption, EASY)."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.count = cluster.columns.count.copy()
        self._free: dict[int, int] = {}

    def release(self, placement: Placement) -> None:
        cluster = self.cluster
        group = placement.group
        down = int(cluster.down_column[group])
        for node, gpus in zip(placement.nodes, placement.gpus, strict=True):
            free = self._free.get(node, cluster.free_of(node))
            if cluster.column_of_node(node) != down:
                self.count[cluster.column_of[group, free]] -= 1
                self.count[cluster.column_of[group, free + gpus]] += 1
            self._free[node] = free + gpus

    def take(self, placement: Placement) -> None:
        """The reverse of :meth:`release`: as if a job took ``placement`` (from :meth:`Cluster.peek`)."""
        cluster = self.cluster
        group = placement.group
        for node, gpus in zip(placement.nodes, placement.gpus, strict=True):
            free = self._free.get(node, cluster.free_of(node))
            self.count[cluster.column_of[group, free]] -= 1
            self.count[cluster.column_of[group, free - gpus]] += 1
            self._free[node] = free - gpus


@dataclass(frozen=True)
class Placement:
    """Where a running job sits: node ids and GPUs taken on each (same order)."""

    nodes: tuple[int, ...]
    gpus: tuple[int, ...]
    site: int
    group: int


def resolve_gpu_types(scenario: Scenario) -> dict[str, GpuType]:
    """Built-in catalog with the scenario's overrides and additions applied."""
    types = dict(builtin_gpu_types())
    for name, spec in scenario.gpu_types.items():
        base = types.get(name)
        values = {
            "busy_w": spec.busy_w if spec.busy_w is not None else (base.busy_w if base else 0.0),
            "idle_w": spec.idle_w if spec.idle_w is not None else (base.idle_w if base else 0.0),
            "memory_gb": spec.memory_gb if spec.memory_gb is not None else (base.memory_gb if base else 0.0),
            "bf16_tflops": spec.bf16_tflops if spec.bf16_tflops is not None else (base.bf16_tflops if base else 0.0),
            "host_overhead_w_per_8_gpus": (
                spec.host_overhead_w_per_8_gpus if spec.host_overhead_w_per_8_gpus is not None
                else (base.host_overhead_w_per_8_gpus if base else 0.0)),
            "hbm_tb_s": spec.hbm_tb_s if spec.hbm_tb_s is not None else (base.hbm_tb_s if base else 0.0),
        }
        types[name] = GpuType(name=name, **values)
    return types


class Cluster:
    """The regional cluster as struct of arrays, plus per-column node stacks."""

    def __init__(self, scenario: Scenario) -> None:
        catalog = resolve_gpu_types(scenario)
        present = []
        for site in scenario.sites:
            for group in site.nodes:
                if group.gpu not in present:
                    present.append(group.gpu)
        self.gpu_type_names: list[str] = present + sorted(set(catalog) - set(present))
        """GPU types, those present in the cluster first (index = type id)."""
        self.gpu_types: list[GpuType] = [catalog[name] for name in self.gpu_type_names]
        self.type_index: dict[str, int] = {n: i for i, n in enumerate(self.gpu_type_names)}
        self.site_names: list[str] = [site.name for site in scenario.sites]
        self.site_pue = np.array([site.pue for site in scenario.sites], dtype=np.float64)

        group_site, group_type, group_size, group_count, group_overhead = [], [], [], [], []
        for s, site in enumerate(scenario.sites):
            for group in site.nodes:
                gpu = catalog[group.gpu]
                group_site.append(s)
                group_type.append(self.type_index[group.gpu])
                group_size.append(group.gpus_per_node)
                group_count.append(group.count)
                group_overhead.append(group.overhead_w if group.overhead_w is not None
                                      else gpu.node_overhead_w(group.gpus_per_node))
        self.group_site = np.array(group_site, dtype=np.int64)
        self.group_type = np.array(group_type, dtype=np.int64)
        self.group_size = np.array(group_size, dtype=np.int64)
        self.group_count = np.array(group_count, dtype=np.int64)
        self.group_overhead_w = np.array(group_overhead, dtype=np.float64)
        n_groups = len(group_site)

        # Columns: per group, free = size .. 0 (up), then one column of down nodes.
        col_group: list[int] = []
        col_free: list[int] = []
        col_up: list[bool] = []
        max_size = int(self.group_size.max()) if n_groups else 0
        self.column_of = np.full((n_groups, max_size + 1), -1, dtype=np.int64)
        self.down_column = np.zeros(n_groups, dtype=np.int64)
        for g in range(n_groups):
            for free in range(int(self.group_size[g]), -1, -1):
                self.column_of[g, free] = len(col_group)
                col_group.append(g)
                col_free.append(free)
                col_up.append(True)
            self.down_column[g] = len(col_group)
            col_group.append(g)
            col_free.append(0)
            col_up.append(False)
        group_arr = np.array(col_group, dtype=np.int64)
        self.columns = Columns(
            group=group_arr,
            site=self.group_site[group_arr] if n_groups else group_arr.copy(),
            gpu_type=self.group_type[group_arr] if n_groups else group_arr.copy(),
            gpus_per_node=self.group_size[group_arr] if n_groups else group_arr.copy(),
            free=np.array(col_free, dtype=np.int64),
            up=np.array(col_up, dtype=bool),
            count=np.zeros(len(col_group), dtype=np.int64),
            full_column=self.column_of[np.arange(n_groups), self.group_size] if n_groups
            else np.zeros(0, dtype=np.int64),
            group_nodes=self.group_count.copy(),
        )

        # Nodes: ids grouped by node group, all up and free at time 0.
        self.node_group = np.repeat(np.arange(n_groups, dtype=np.int64), self.group_count)
        # Per-node state is read and written one node at a time on the hot path: Python lists
        # are several times faster than NumPy arrays for that (``node_free`` gives an array).
        n_nodes = int(self.node_group.shape[0])
        self._free: list[int] = self.group_size[self.node_group].tolist()
        self._column: list[int] = [0] * n_nodes
        self._position: list[int] = [0] * n_nodes
        self._stacks: list[list[int]] = [[] for _ in col_group]
        start = 0
        for g in range(n_groups):
            stop = start + int(self.group_count[g])
            full = int(self.columns.full_column[g])
            ids = list(range(stop - 1, start - 1, -1))  # lowest id on top of the stack
            self._stacks[full] = ids
            self._column[start:stop] = [full] * (stop - start)
            for position, node in enumerate(ids):
                self._position[node] = position
            self.columns.count[full] = len(ids)
            start = stop

        # Scalar lookups of the hot path, as Python lists.
        self._col_group: list[int] = self.columns.group.tolist()
        self._col_free: list[int] = self.columns.free.tolist()
        self._group_size: list[int] = self.group_size.tolist()
        self._group_site: list[int] = self.group_site.tolist()
        self._column_of: list[list[int]] = self.column_of.tolist()
        self._down: list[int] = self.down_column.tolist()

        self.site_gpus = np.bincount(self.group_site, weights=self.group_size * self.group_count,
                                     minlength=len(self.site_names)).astype(np.int64)
        self.site_busy_gpus = np.zeros(len(self.site_names), dtype=np.int64)
        self.total_gpus = int(self.site_gpus.sum())
        self.busy_gpus = 0
        self.repairs: dict[int, float] = {}
        """Node down -> when it is expected back in service."""
        self.retired: set[int] = set()
        """Nodes decommissioned for good (build-out timeline): a repair does not return them."""
        self.epoch = 0
        """Bumped when a node goes down or comes back (EASY recomputes its reservation)."""
        self.scattered = scenario.policy.placement.mode == "scattered"
        """Placement mode ``scattered``: jobs take free GPUs on any nodes of a group."""
        self.first_fit = scenario.policy.placement.mode == "consolidated"
        """Placement mode ``consolidated``: nodes of the chosen group taken first fit."""
        self._group_start: list[int] = (np.cumsum(self.group_count) - self.group_count).tolist()
        self.first_fit_order = np.arange(n_nodes, dtype=np.int64)
        """Node ids in first-fit preference order (ascending ids; a benchmark may permute the
        nodes of a group to measure how much first fit owes to the order)."""

    # ------------------------------------------------------------------ queries

    @property
    def node_free(self) -> np.ndarray:
        """Free GPUs per node (a copy, for vectorised reads)."""
        return np.array(self._free, dtype=np.int64)

    @property
    def node_column(self) -> np.ndarray:
        """Column of each node now (a copy)."""
        return np.array(self._column, dtype=np.int64)

    def free_of(self, node: int) -> int:
        return self._free[node]

    def column_of_node(self, node: int) -> int:
        return self._column[node]

    @property
    def n_nodes(self) -> int:
        return int(self.node_group.shape[0])

    @property
    def n_groups(self) -> int:
        return int(self.group_site.shape[0])

    def can_ever_fit(self, gpus: int, type_allowed: np.ndarray) -> bool:
        """Could a job of ``gpus`` GPUs run on the empty cluster (all nodes up)?"""
        if self.n_groups == 0:
            return False
        nodes = -(-gpus // self.group_size)
        ok = type_allowed[self.group_type] & (nodes <= self.group_count)
        return bool(ok.any())

    # ------------------------------------------------------------------ updates

    def _move(self, node: int, column: int) -> None:
        old = self._column[node]
        stack = self._stacks[old]
        position = self._position[node]
        last = stack.pop()
        if last != node:
            stack[position] = last
            self._position[last] = position
        count = self.columns.count
        count[old] -= 1
        target = self._stacks[column]
        self._position[node] = len(target)
        target.append(node)
        self._column[node] = column
        count[column] += 1

    def peek(self, column: int, gpus: int) -> Placement:
        """The placement :meth:`place` would make now, without taking it (EASY's what-if
        needs the exact nodes: nodes of one column differ once their jobs end). Raises if
        capacity is missing."""
        if self.scattered:
            return self._peek_scattered(column, gpus)
        if self.first_fit:
            return self._peek_first_fit(column, gpus)
        group = self._col_group[column]
        size = self._group_size[group]
        nodes_needed = -(-gpus // size)
        remainder = gpus - (nodes_needed - 1) * size
        stack = self._stacks[column]
        if self._col_free[column] < remainder or not stack:
            raise RuntimeError(f"placement on column {column} without capacity")
        nodes = [stack[-1]]
        if nodes_needed > 1:
            full = self._stacks[self._column_of[group][size]]
            top = len(full) - (1 if full is stack else 0)  # the first node may be a full one
            if top < nodes_needed - 1:
                raise RuntimeError(f"placement on column {column} without capacity")
            nodes += reversed(full[top - nodes_needed + 1:top])
        return Placement(tuple(nodes), (remainder, *[size] * (nodes_needed - 1)),
                         self._group_site[group], group)

    def _peek_first_fit(self, column: int, gpus: int) -> Placement:
        """:meth:`peek` in mode ``consolidated``: the shape of ``packed`` in ``column``'s group,
        first fit: the first wholly free nodes (``first_fit_order``), then the first other
        node with room for the remainder. O(nodes of the group) per call."""
        group = self._col_group[column]
        size = self._group_size[group]
        nodes_needed = -(-gpus // size)
        remainder = gpus - (nodes_needed - 1) * size
        start = self._group_start[group]
        stop = start + int(self.group_count[group])
        order = self.first_fit_order[start:stop]
        free = np.array(self._free[start:stop], dtype=np.int64)[order - start]
        up = np.array(self._column[start:stop], dtype=np.int64)[order - start] != self._down[group]
        whole = np.flatnonzero(up & (free == size))[:nodes_needed - 1]
        room = up & (free >= remainder)
        room[whole] = False
        first = np.flatnonzero(room)[:1]
        if len(whole) < nodes_needed - 1 or not len(first):
            raise RuntimeError(f"placement on column {column} without capacity")
        nodes = order[np.concatenate([first, whole])].tolist()
        return Placement(tuple(nodes), (remainder, *[size] * (nodes_needed - 1)),
                         self._group_site[group], group)

    def _peek_scattered(self, column: int, gpus: int) -> Placement:
        """:meth:`peek` in mode ``scattered``: all it can on the top node of ``column``, the
        rest on the group's nodes with free GPUs, fullest first (``gpu.framework.scatter_levels``,
        the rule the assignment's capacity follows)."""
        group = self._col_group[column]
        stack = self._stacks[column]
        if not stack or self._col_free[column] < 1:
            raise RuntimeError(f"placement on column {column} without capacity")
        first = stack[-1]
        here = min(gpus, self._col_free[column])
        nodes, taken = [first], [here]
        column_of = self._column_of[group]

        def available(level: int) -> int:  # nodes at a free level, ``first`` excepted
            return len(self._stacks[column_of[level]]) - (column_of[level] == column)

        used: dict[int, int] = {}  # nodes already taken per level (whole, then a part)
        for level, count, each in scatter_levels(self._group_size[group], gpus - here,
                                                 available):
            stack = self._stacks[column_of[level]]
            top = len(stack) - (1 if stack[-1] == first else 0) - used.get(level, 0)
            nodes += reversed(stack[top - count:top])  # ``first`` on top is skipped
            taken += [each] * count
            used[level] = used.get(level, 0) + count
        return Placement(tuple(nodes), tuple(taken), self._group_site[group], group)

    def place(self, column: int, gpus: int) -> Placement:
        """Take ``gpus`` GPUs: the remainder on a node of ``column``, whole nodes of its group
        for the rest (the choice the assignment made, see :meth:`peek`). Raises if capacity
        is missing."""
        placement = self.peek(column, gpus)
        column_of = self._column_of[placement.group]
        for node, taken in zip(placement.nodes, placement.gpus, strict=True):
            free = self._free[node] - taken
            self._move(node, column_of[free])
            self._free[node] = free
        self.site_busy_gpus[placement.site] += gpus
        self.busy_gpus += gpus
        return placement

    def release(self, placement: Placement) -> None:
        """Give back what :meth:`place` took."""
        group = placement.group
        down = self._down[group]
        column_of = self._column_of[group]
        for node, gpus in zip(placement.nodes, placement.gpus, strict=True):
            free = self._free[node] + gpus
            self._free[node] = free
            if self._column[node] != down:
                self._move(node, column_of[free])
        total = sum(placement.gpus)
        self.site_busy_gpus[placement.site] -= total
        self.busy_gpus -= total

    def set_down(self, node: int, repair_at: float = math.inf) -> None:
        """Take an idle node out of service (failure) until ``repair_at`` (when known)."""
        if self._free[node] != self.group_size[self.node_group[node]]:
            raise RuntimeError(f"node {node} still runs jobs; stop them before taking it down")
        self._move(node, int(self.down_column[self.node_group[node]]))
        self.repairs[node] = repair_at
        self.epoch += 1

    def set_up(self, node: int) -> None:
        """Return a repaired node to service (a retired node stays down)."""
        if node in self.retired:
            self.repairs.pop(node, None)
            return
        group = int(self.node_group[node])
        if self._column[node] == self.down_column[group]:
            self._move(node, int(self.column_of[group, self._free[node]]))
        self.repairs.pop(node, None)
        self.epoch += 1

    def next_repair(self) -> float:
        """When the next node down is expected back (inf when none is down or unknown)."""
        return min(self.repairs.values(), default=math.inf)

    def is_up(self, node: int) -> bool:
        return bool(self._column[node] != self.down_column[self.node_group[node]])

    # ------------------------------------------------------------------ checks

    def check_invariants(self) -> None:
        """Raise AssertionError when the arrays and stacks disagree (tests call this)."""
        size = self.group_size[self.node_group]
        node_free = self.node_free
        assert (node_free >= 0).all() and (node_free <= size).all(), "node capacity"
        for column, stack in enumerate(self._stacks):
            assert self.columns.count[column] == len(stack), f"count of column {column}"
            for position, node in enumerate(stack):
                assert self._column[node] == column and self._position[node] == position
                if self.columns.up[column]:
                    assert node_free[node] == self.columns.free[column], "node free level"
        busy = np.bincount(self.group_site[self.node_group], weights=size - node_free,
                           minlength=len(self.site_names)).astype(np.int64)
        assert (busy == self.site_busy_gpus).all(), "site busy GPUs"
