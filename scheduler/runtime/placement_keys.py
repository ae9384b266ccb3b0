"""Placement keys per job class: filters and scores evaluated in bulk, cached, and picked from.

Keys of a class depend on the class and on inputs that change only at known moments: grid
signal steps (plugins that vary with ``grid``) and the sizes of arrivals (``arrivals``); the
cache is dropped then. Scores that vary with ``placements`` are added per pick, on the host,
for service replicas (the bulk keys of a class stay valid while replicas start).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gpu import Backend, CapacityState, Columns, JobBatch, PluginCall, build_context, evaluate
from gpu.framework import TIE_SPAN, pick, pick_ranked, ranked_columns
from scheduler.cluster import Cluster
from scheduler.power import PowerModel
from scheduler.runtime.job_classes import JobClasses
from scheduler.runtime.plugin_inputs import inputs_needed
from scheduler.runtime.reasons import FIRST_FILTER_REASON, NO_REASON, Reason
from scheduler.signals import Signal

PREFETCH = 256
"""Classes of the first pending jobs scored together with a class that misses its keys."""


class PlacementKeys:
    """The key cache of a run and the pick of a column for one job now."""

    def __init__(self, backend: Backend, cluster: Cluster, power: PowerModel,
                 classes: JobClasses, capacity: CapacityState, filters: list[PluginCall],
                 scores: list[PluginCall], carbon: list[Signal | None],
                 price: list[Signal | None], clock: Callable[[], float],
                 site_rtt: Callable[[int], np.ndarray | None],
                 site_replicas: Callable[[int], np.ndarray | None]) -> None:
        self.backend = backend
        self.cluster = cluster
        self.power = power
        self.classes = classes
        self.capacity = capacity
        self.filters = filters
        self.carbon = carbon
        self.price = price
        self._clock = clock
        self.site_rtt = site_rtt
        self.site_replicas = site_replicas
        self.dynamic_scores = [c for c in scores if "placements" in c.plugin.varies]
        self.static_scores = [c for c in scores if "placements" not in c.plugin.varies]
        calls = [*filters, *self.static_scores]
        self._inputs = inputs_needed([c.plugin.needs for c in calls])
        self._dynamic_inputs = inputs_needed([c.plugin.needs for c in self.dynamic_scores])
        self.varies_with_grid = any("grid" in c.plugin.varies for c in scores)
        tracks_sizes = any("arrivals" in c.plugin.varies for c in calls)
        self.sizes_seen: np.ndarray | None = (
            np.zeros(int(cluster.group_size.max(initial=1)) + 2) if tracks_sizes else None)
        """Jobs seen per GPU count (the last bucket: larger than any node), when a plugin
        varies with arrivals; keys are refreshed each time the count of arrivals doubles."""
        self._sizes_refresh_at = 16
        self._keys: dict[int, np.ndarray] = {}
        self._ranked: dict[int, list[int]] = {}
        """Per class, the node classes it may use, best key first (fast path of picks)."""
        self._reason: dict[int, int] = {}
        self._site_arrays_cache: tuple[float, dict[str, Any]] | None = None
        self._columns_on_device: Columns | None = None

    @property
    def now(self) -> float:
        return self._clock()

    # ------------------------------------------------------------------ cache

    def invalidate(self) -> None:
        """Drop every cached key (inputs changed)."""
        self._keys.clear()
        self._ranked.clear()

    def see_size(self, gpus: int) -> None:
        """Count an arrival's size (when tracked); refresh the keys when arrivals double, so
        the plugins follow the sizes seen so far without re-scoring every time."""
        seen = self.sizes_seen
        if seen is None:
            return
        seen[min(gpus, seen.shape[0] - 1)] += 1
        if seen.sum() >= self._sizes_refresh_at:
            self._sizes_refresh_at *= 2
            self._site_arrays_cache = None
            self.invalidate()

    def _device_columns(self) -> Columns:
        """Node class attributes on the device, uploaded once (they never change in a run;
        only counts do, and counts stay on the host with the assignment)."""
        if self._columns_on_device is None:
            cols = self.cluster.columns
            to = self.backend.asarray
            self._columns_on_device = Columns(
                group=to(cols.group), site=to(cols.site), gpu_type=to(cols.gpu_type),
                gpus_per_node=to(cols.gpus_per_node), free=to(cols.free), up=to(cols.up),
                count=to(cols.count), full_column=to(cols.full_column),
                group_nodes=to(cols.group_nodes))
        return self._columns_on_device

    def _site_arrays(self) -> dict[str, Any]:
        now = self.now
        if self._site_arrays_cache is not None and self._site_arrays_cache[0] == now:
            return self._site_arrays_cache[1]
        arrays: dict[str, Any] = {}
        for spec in self._inputs:
            if spec.scope == "site":
                value = spec.fn(self)
                if value is not None:
                    arrays[spec.name] = self.backend.asarray(value)
        self._site_arrays_cache = (now, arrays)
        return arrays

    def _class_inputs(self, rows: list[int], specs: list[Any], to: Any) -> dict[str, Any]:
        info = [self.classes[c] for c in rows]
        extra: dict[str, Any] = {}
        for spec in specs:
            if spec.scope == "class":
                value = spec.fn(self, info)
                if value is not None:
                    extra[spec.name] = to(value)
        return extra

    def compute(self, classes: list[int]) -> None:
        """Evaluate filters and scores in bulk for the classes without cached keys."""
        missing = sorted({c for c in classes if c not in self._keys})
        if not missing:
            return
        to = self.backend.asarray
        info = [self.classes[c] for c in missing]
        batch = JobBatch(gpus=to(np.array([i.gpus for i in info], dtype=np.int64)),
                         type_allowed=to(np.stack([i.type_allowed for i in info])),
                         extra=self._class_inputs(missing, self._inputs, to))
        ctx = build_context(self.backend.xp, batch, self._device_columns(), self._site_arrays(),
                            now=self.now, scattered=self.cluster.scattered)
        result = evaluate(self.backend, ctx, self.filters, self.static_scores)
        for row, cls in enumerate(missing):
            self._keys[cls] = result.keys[row]
            self._ranked[cls] = ranked_columns(result.keys[row])
            first = int(result.reason[row])
            self._reason[cls] = Reason.WAITING if first < 0 else FIRST_FILTER_REASON + first

    def keys(self, cls: int) -> np.ndarray:
        """The cached key row of a class (computed by :meth:`compute` or :meth:`pick`)."""
        return self._keys[cls]

    # ------------------------------------------------------------------ picks

    def pick(self, cls: int, per_pick: bool, prefetch: Callable[[], list[int]]) -> tuple[int, int]:
        """(node class, -1) when a job of ``cls`` fits now, else (-1, reason code).
        ``per_pick``: add the scores that vary with placements (service replicas);
        ``prefetch()``: classes to score together with ``cls`` when its keys are missing."""
        keys = self._keys.get(cls)
        if keys is None:
            self.compute([cls, *prefetch()])
            keys = self._keys[cls]
        shape = self.classes.classes[cls].shape
        if self.dynamic_scores and per_pick:
            keys = self._with_dynamic_scores(keys, cls)
            column = pick(keys, self.capacity, shape)
        else:
            column = pick_ranked(self._ranked[cls], keys, self.capacity, shape)
        if column >= 0:
            return column, NO_REASON
        if self._reason[cls] != Reason.WAITING:
            return -1, self._reason[cls]
        if self.capacity.site_budget_w is not None and pick(keys, self.capacity, shape,
                                                            ignore_power=True) >= 0:
            return -1, Reason.POWER_CAP
        return -1, Reason.WAITING

    def _with_dynamic_scores(self, keys: np.ndarray, cls: int) -> np.ndarray:
        """Add the per-pick scores to a class's keys: key = total x span + tie-break (span =
        TIE_SPAN x B), so the total is recovered exactly, increased, and the key rebuilt
        (host NumPy, one row)."""
        info = self.classes[cls]
        n_columns = keys.shape[0]
        batch = JobBatch(gpus=np.array([info.gpus], dtype=np.int64),
                         type_allowed=info.type_allowed[None, :],
                         extra=self._class_inputs([cls], self._dynamic_inputs, np.asarray))
        ctx = build_context(np, batch, self.cluster.columns, scattered=self.cluster.scattered)
        extra = np.zeros(n_columns, dtype=np.int64)
        for call in self.dynamic_scores:
            score = np.asarray(call.plugin.fn(ctx, **call.args)).reshape(-1).astype(np.int64)
            extra += score * call.weight_milli
        span = TIE_SPAN * n_columns
        tie = keys % span
        return np.where(keys >= 0, (keys // span + extra) * span + tie, -1)
