"""One scheduling cycle over arrays: filters -> scores -> keys -> assignment.

Contract (see ARCHITECTURE.md, principles 3-5):

* Filters are ANDed into a static mask ``[J, B]`` (attributes of columns only). Scores are
  integers 0..100 per plugin, range-checked, multiplied by integer weights (milli-units) and
  summed in int64. The key of (job, column) is ``total * TIE_SPAN * B + tie`` with
  ``tie = packing * B + (B - 1 - column)`` (:func:`tie_break`) and ``-1`` where infeasible,
  so keys in a row are distinct: the best column is unique, and score ties go to the most
  allocated node after placement (the ``packing`` score, 0..100), then to the lowest column
  index, on every backend, never to a library's argmax tie rule.
* The assignment equals placing the jobs one by one in queue order, each on the available
  column of highest key, with the capacity taken by earlier jobs seen by later ones
  (:func:`assign`). Keys are computed in bulk on the device for job *classes* (jobs of one
  workload and size share a row), so only a small ``[classes, columns]`` table crosses to
  the host, where the sequential walk consumes capacity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gpu.array_ops import astype, bool_dtype
from gpu.backend import Backend
from gpu.placement import Columns, PlacementContext
from gpu.plugins import Plugin, PluginError
from gpu.walk import STARTS, walk

WEIGHT_SCALE = 1000
"""Weights are fixed-point: weight 0.5 is 500 milli-units, so sums are exact integers."""
TIE_SPAN = 101
"""Values of the packing tie-break (0..100): a key is ``total * TIE_SPAN * B + tie``."""


def tie_break(xp: Any, ctx: PlacementContext) -> Any:
    """``[J, B]`` int64 tie-break in ``0 .. TIE_SPAN * B - 1``, distinct within a row: the
    packing score (100 x GPUs in use on the node after placement / node size, clipped to
    0..100), then the lowest column. So a policy whose scores tie (``carbon`` alone between
    the nodes of one site) packs instead of spreading jobs over empty nodes."""
    cols = ctx.columns
    n_columns = ctx.shape[1]
    used_after = cols.gpus_per_node[None, :] - cols.free[None, :] + ctx.remainder
    packing = xp.clip((used_after * 100) // cols.gpus_per_node[None, :], 0, TIE_SPAN - 1)
    column_index = xp.arange(n_columns, dtype=xp.int64)
    return astype(xp, packing, xp.int64) * n_columns + (n_columns - 1 - column_index)[None, :]


@dataclass(frozen=True)
class PluginCall:
    """A configured plugin: the plugin, its keyword arguments, and (scores) its weight."""

    plugin: Plugin
    args: dict[str, Any] = field(default_factory=dict)
    weight: float = 1.0

    @property
    def weight_milli(self) -> int:
        return round(self.weight * WEIGHT_SCALE)


@dataclass
class Evaluation:
    """Keys of one evaluation, on the host (rows are job classes or jobs: small)."""

    keys: np.ndarray
    """int64 [J, B]: -1 where a static filter rejects, else a key unique within the row."""
    reason: np.ndarray
    """int64 [J]: index of the first filter that leaves no column (-1 = some column passes)."""


def _check_filter(name: str, mask: Any, shape: tuple[int, int]) -> None:
    if tuple(mask.shape) != shape:
        raise PluginError(f"filter {name!r} returned shape {tuple(mask.shape)}, expected {shape}")


def evaluate_device(backend: Backend, ctx: PlacementContext, filters: list[PluginCall],
                    scores: list[PluginCall]) -> tuple[Any, Any]:
    """Keys ``[J, B]`` and first-rejecting-filter index ``[J]``, left on the device."""
    xp = backend.xp
    shape = ctx.shape
    n_columns = shape[1]
    mask = xp.ones(shape, dtype=bool_dtype(xp))
    alive = []  # per filter: does some column survive it and the filters before it?
    for call in filters:
        result = call.plugin.fn(ctx, **call.args)
        _check_filter(call.plugin.name, result, shape)
        mask = mask & astype(xp, result, bool_dtype(xp))
        alive.append(xp.any(mask, axis=1))
    total = xp.zeros(shape, dtype=xp.int64)
    bounds = []
    for call in scores:
        raw = xp.asarray(call.plugin.fn(ctx, **call.args))
        if tuple(raw.shape) != shape:
            raw = xp.broadcast_to(raw, shape)
        raw = astype(xp, raw, xp.int64)
        if shape[0] and n_columns:
            bounds.append(xp.stack([xp.min(xp.where(mask, raw, 0)),
                                    xp.max(xp.where(mask, raw, 0))]))
        total = total + raw * call.weight_milli
    if bounds:
        checked = backend.to_host(xp.stack(bounds))  # one transfer for every range check
        for call, (low, high) in zip(scores, checked, strict=True):
            if low < 0 or high > 100:
                raise PluginError(f"score plugin {call.plugin.name!r} returned values outside "
                                  f"0..100 (min {int(low)}, max {int(high)})")
    keys = xp.where(mask, total * (TIE_SPAN * n_columns) + tie_break(xp, ctx), -1)
    if alive:
        alive_matrix = xp.stack(alive, axis=1)
        first_dead = astype(xp, xp.argmin(astype(xp, alive_matrix, xp.int8), axis=1), xp.int64)
        reason = xp.where(alive_matrix[:, -1], -1, first_dead)
    else:
        reason = xp.full(shape[0], -1, dtype=xp.int64)
    return keys, reason


def evaluate(backend: Backend, ctx: PlacementContext, filters: list[PluginCall],
             scores: list[PluginCall]) -> Evaluation:
    """:func:`evaluate_device`, with the (small) results copied to the host."""
    keys, reason = evaluate_device(backend, ctx, filters, scores)
    return Evaluation(backend.to_host(keys).astype(np.int64),
                      backend.to_host(reason).astype(np.int64))


def best_columns(backend: Backend, keys: Any) -> np.ndarray:
    """Per row, the column of highest key (-1 when none passes). Keys are distinct within a
    row, so this is exact on every backend."""
    xp = backend.xp
    if keys.shape[1] == 0:
        return np.full(keys.shape[0], -1, dtype=np.int64)
    best = xp.argmax(keys, axis=1)
    top = xp.max(keys, axis=1)
    return backend.to_host(xp.where(top >= 0, best, -1)).astype(np.int64)


@dataclass
class CapacityState:
    """Host-side capacity that assignments consume, and the column transitions they follow.

    ``count[c]`` nodes in column ``c``; ``column_of[group, free]`` is the up column of a
    group with that many free GPUs. With ``site_budget_w`` set (facility watts each site may
    still add under its power cap), a placement also takes its power from its site's budget.
    """

    count: np.ndarray
    group: np.ndarray
    site: np.ndarray
    gpu_type: np.ndarray
    gpus_per_node: np.ndarray
    free: np.ndarray
    full_column: np.ndarray
    column_of: np.ndarray
    site_budget_w: np.ndarray | None = None

    @classmethod
    def from_columns(cls, columns: Columns, column_of: np.ndarray) -> CapacityState:
        return cls(count=np.array(columns.count, dtype=np.int64), group=columns.group,
                   site=columns.site, gpu_type=columns.gpu_type,
                   gpus_per_node=columns.gpus_per_node, free=columns.free,
                   full_column=columns.full_column, column_of=column_of)


@dataclass
class JobShape:
    """Per-column needs of one job class (host arrays, length B), computed once per class.

    ``power_w`` (optional) is the facility power the job adds on each column (its GPUs'
    extra draw x PUE of the column's site), checked against the site's power budget.
    """

    gpus: int
    nodes: np.ndarray
    remainder: np.ndarray
    need_here: np.ndarray
    full_of_column: np.ndarray
    power_w: np.ndarray | None = None
    fits_node: np.ndarray | None = None
    """bool [B]: the column's nodes have room for the remainder (static)."""
    scattered: bool = False
    """Placement mode ``scattered``: the job takes all it can (``remainder``) on one node of
    the column, the rest on any nodes of the group with free GPUs, fullest first
    (:func:`take_scattered`); it fits when its group has ``gpus`` free GPUs in all."""
    _lists: tuple[Any, ...] | None = None

    def lists(self) -> tuple[Any, ...]:
        """The per-column arrays as Python lists (cheap scalar reads in host loops)."""
        if self._lists is None:
            power = self.power_w.tolist() if self.power_w is not None else None
            fits = self.fits_node.tolist() if self.fits_node is not None else [True] * len(
                self.nodes)
            self._lists = (self.need_here.tolist(), self.full_of_column.tolist(),
                           self.nodes.tolist(), fits, power)
        return self._lists

    @classmethod
    def of(cls, gpus: int, state: CapacityState, power_w: np.ndarray | None = None,
           scattered: bool = False) -> JobShape:
        if scattered:
            return cls.of_scattered(gpus, state, power_w)
        size = state.gpus_per_node
        nodes = -(-gpus // size)
        remainder = gpus - (nodes - 1) * size
        full_of_column = state.full_column[state.group]
        is_full = full_of_column == np.arange(size.shape[0])
        need_here = 1 + np.where(is_full, nodes - 1, 0)
        return cls(gpus, nodes, remainder, need_here, full_of_column, power_w,
                   state.free >= remainder)


    @classmethod
    def of_scattered(cls, gpus: int, state: CapacityState,
                     power_w: np.ndarray | None = None) -> JobShape:
        """Needs in mode ``scattered``: ``min(gpus, free)`` on the column's node (nothing fits
        a column without free GPUs), the rest on other nodes of the group."""
        size = state.gpus_per_node
        here = np.where(state.free >= 1, np.minimum(gpus, state.free), gpus)
        nodes = 1 + -(-(gpus - here) // size)
        full_of_column = state.full_column[state.group]
        return cls(gpus, nodes, here, np.ones_like(nodes), full_of_column, power_w,
                   state.free >= here, scattered=True)


def group_free_gpus(state: CapacityState) -> np.ndarray:
    """int64 [G]: free GPUs on the up nodes of each group now (down columns have free 0)."""
    free = np.bincount(state.group, weights=state.count * state.free,
                       minlength=state.full_column.shape[0])
    return free.astype(np.int64)


def valid_columns(state: CapacityState, shape: JobShape, ignore_power: bool = False) -> np.ndarray:
    """bool [B]: columns where a job of ``shape`` fits now (nodes, gang nodes, power)."""
    count = state.count
    if shape.scattered:
        ok = (count >= 1) & (state.free >= 1)
        ok &= group_free_gpus(state)[state.group] >= shape.gpus
    else:
        ok = (count >= shape.need_here) & (count[shape.full_of_column] >= shape.nodes - 1)
    ok &= state.free >= shape.remainder
    if not ignore_power and state.site_budget_w is not None and shape.power_w is not None:
        ok &= shape.power_w <= state.site_budget_w[state.site]
    return ok


def scatter_levels(size: int, gpus: int, count_at: Any) -> list[tuple[int, int, int]]:
    """Where the rest of a scattered job goes: ``(free level, nodes, GPUs each)`` moves over
    the group's nodes with free GPUs, fullest first (free 1, 2, .. ``size``): whole nodes
    while the rest needs them, then part of one node. ``count_at(free)`` is the number of
    nodes available at that level. :func:`take_scattered` and ``Cluster.peek`` both use it."""
    moves: list[tuple[int, int, int]] = []
    rest = gpus
    for level in range(1, size + 1):
        if rest == 0:
            break
        available = count_at(level)
        whole = min(available, rest // level)
        if whole:
            moves.append((level, whole, level))
            rest -= whole * level
        if 0 < rest < level and available > whole:
            moves.append((level, 1, rest))
            rest = 0
    if rest:
        raise RuntimeError(f"scattered placement without capacity ({rest} GPUs missing)")
    return moves


def take_scattered(state: CapacityState, shape: JobShape, column: int) -> None:
    """:func:`take` in mode ``scattered`` (see :class:`JobShape`)."""
    here = int(shape.remainder[column])
    group = int(state.group[column])
    column_of = state.column_of[group]
    count = state.count
    count[column] -= 1
    count[column_of[int(state.free[column]) - here]] += 1
    size = int(state.gpus_per_node[column])
    for level, nodes, gpus in scatter_levels(size, shape.gpus - here,
                                             lambda f: int(count[column_of[f]])):
        count[column_of[level]] -= nodes
        count[column_of[level - gpus]] += nodes


def take(state: CapacityState, shape: JobShape, column: int) -> None:
    """Apply one placement to ``state`` (counts and power budget)."""
    if shape.scattered:
        take_scattered(state, shape, column)
        if state.site_budget_w is not None and shape.power_w is not None:
            state.site_budget_w[int(state.site[column])] -= float(shape.power_w[column])
        return
    nodes = int(shape.nodes[column])
    remainder = int(shape.remainder[column])
    group = int(state.group[column])
    if nodes > 1:
        state.count[state.full_column[group]] -= nodes - 1
        state.count[state.column_of[group, 0]] += nodes - 1
    state.count[column] -= 1
    state.count[state.column_of[group, int(state.free[column]) - remainder]] += 1
    if state.site_budget_w is not None and shape.power_w is not None:
        state.site_budget_w[int(state.site[column])] -= float(shape.power_w[column])


def pick(keys_row: np.ndarray, state: CapacityState, shape: JobShape,
         ignore_power: bool = False) -> int:
    """The valid column of highest key for one job now, or -1."""
    masked = np.where(valid_columns(state, shape, ignore_power), keys_row, -1)
    best = int(np.argmax(masked))
    return best if masked[best] >= 0 else -1


def ranked_columns(keys_row: np.ndarray) -> list[int]:
    """Columns a job may use (key >= 0), best key first: the order :func:`pick` ranks by."""
    admissible = np.flatnonzero(keys_row >= 0)
    return admissible[np.argsort(-keys_row[admissible], kind="stable")].tolist()


def pick_ranked(ranked: list[int], keys_row: np.ndarray, state: CapacityState, shape: JobShape,
                probe: int = 8) -> int:
    """:func:`pick` with a fast path: walk the best ``probe`` columns of ``ranked`` in Python
    (the first that fits is the answer, since keys are distinct), else the vectorised pick.
    Same result as :func:`pick`, cheaper when a good column has room, as it usually has."""
    if shape.scattered:
        return pick(keys_row, state, shape)
    count = state.count
    budget = state.site_budget_w
    lists = shape.lists()
    need, full, nodes, free_ok, power = lists
    site = state.site
    for column in ranked[:probe]:
        if (count[column] >= need[column] and free_ok[column]
                and (nodes[column] == 1 or count[full[column]] >= nodes[column] - 1)
                and (budget is None or power is None or power[column] <= budget[site[column]])):
            return column
    if len(ranked) <= probe:
        return -1
    return pick(keys_row, state, shape)


class _ReferenceRules:
    """Walk rules of :func:`assign`: keys and shapes per class, capacity consumed by starts."""

    def __init__(self, keys: np.ndarray, shapes: list[JobShape], state: CapacityState,
                 chosen: np.ndarray) -> None:
        self.keys, self.shapes, self.state, self.chosen = keys, shapes, state, chosen

    def admit(self, job: int) -> int:
        return STARTS

    def pick(self, job: int, cls: int) -> tuple[int, int]:
        column = pick(self.keys[cls], self.state, self.shapes[cls])
        return column, (STARTS if column >= 0 else 0)

    def make_room(self, job: int, cls: int) -> int:
        return -1

    def reserve(self, job: int, cls: int) -> float:
        return math.inf

    def backfill(self, job: int, cls: int, column: int, reservation: float) -> int:
        return STARTS

    def start(self, job: int, cls: int, column: int) -> None:
        self.chosen[job] = column
        take(self.state, self.shapes[cls], column)

    def wait(self, job: int, reason: int) -> None:
        pass

    def wait_rest(self, jobs: Sequence[int], reasons: Sequence[int]) -> None:
        pass


def assign(keys: np.ndarray, job_class: np.ndarray, shapes: list[JobShape],
           state: CapacityState, stop_at_first_failure: bool = False) -> np.ndarray:
    """Columns for jobs in queue order (-1 = not placed), with sequential semantics.

    ``keys[c]`` is the key row of job class ``c``; job ``j`` is of class ``job_class[j]`` with
    needs ``shapes[c]``. Equivalent to placing the jobs one by one, each on the valid column
    of highest key under the capacity left by the jobs before it; ``state`` is consumed.
    ``stop_at_first_failure`` gives strict head-of-line order (FIFO). This is
    :func:`gpu.walk.walk`, the walk production cycles run, with plain picks and takes.
    """
    chosen = np.full(job_class.shape[0], -1, dtype=np.int64)
    classes = job_class.tolist()
    walk(range(len(classes)), classes, _ReferenceRules(keys, shapes, state, chosen),
         blocking="strict" if stop_at_first_failure else "greedy",
         classes_pending=len(set(classes)))
    return chosen
