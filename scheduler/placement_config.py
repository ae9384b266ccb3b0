"""``policy.placement`` in the scenario: which filter and score plugins run, with what weights.

Built-in score types have typed arguments (a tagged union on ``type``); any other ``type``
names a plugin the user registered with :func:`gpu.register_score` and passes ``args`` as
keyword arguments. Filters are named the same way. Unknown names are input errors.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Discriminator, Field, Tag

from gpu import PluginCall, PluginError, get_plugin, registered
from scheduler.errors import InputError, Problem
from scheduler.scenario_base import StrictModel, plugin_tag

DEFAULT_FILTERS = ["gpu-type", "node-up", "capacity"]
REMOVED_POWER_FILTER = "power"
POWER_FILTER_GONE = ("there is no 'power' filter any more: site power caps act in the "
                     "assignment itself (each start takes its power from its site's budget), "
                     "always when a site has a power_cap; remove it from the list")


class _ScoreBase(StrictModel):
    weight: float = Field(default=1.0, ge=0, le=1e6)
    """Multiplier of this plugin's 0..100 score (fixed-point, 1/1000 resolution)."""


class PackingScore(_ScoreBase):
    """Most allocated: fill nodes so whole nodes stay free for big jobs."""

    type: Literal["packing"]
    """Score plugin name: ``packing``."""


class SpreadScore(_ScoreBase):
    """Least allocated: spread load over nodes."""

    type: Literal["spread"]
    """Score plugin name: ``spread``."""


class LocalityScore(_ScoreBase):
    """Fewest nodes for gang jobs."""

    type: Literal["locality"]
    """Score plugin name: ``locality``."""


class FragmentationScore(_ScoreBase):
    """Leave as few free GPUs unusable for the job sizes seen so far as possible (FGD)."""

    type: Literal["fragmentation"]
    """Score plugin name: ``fragmentation``."""


class CarbonScore(_ScoreBase):
    """Lowest marginal carbon: job power x PUE x the site's carbon intensity now."""

    type: Literal["carbon"]
    """Score plugin name: ``carbon``."""


class PriceScore(_ScoreBase):
    """Lowest marginal energy cost: job power x PUE x the site's electricity price now."""

    type: Literal["price"]
    """Score plugin name: ``price``."""


class SpeedupScore(_ScoreBase):
    """Run each job on the GPU types it is fastest on (workload ``speedup`` tables)."""

    type: Literal["speedup"]
    """Score plugin name: ``speedup``."""


class LatencyScore(_ScoreBase):
    """Inference replicas near their users (network round trip to the site)."""

    type: Literal["latency"]
    """Score plugin name: ``latency``."""


class ReplicaSpreadScore(_ScoreBase):
    """Spread a service's replicas over sites (resilience)."""

    type: Literal["replica-spread"]
    """Score plugin name: ``replica-spread``."""


class SiteScore(_ScoreBase):
    """Site preference: a ranking (first = 100, last = 0) or weights 0..100 per site name."""

    type: Literal["site"]
    """Score plugin name: ``site``."""
    ranking: list[str] | None = None
    """Site names, most preferred first; sites not listed score 0."""
    weights: dict[str, Annotated[int, Field(ge=0, le=100)]] | None = None
    """Score 0..100 per site name; sites not listed score 0."""


class UserScore(_ScoreBase):
    """A score plugin registered in Python (``gpu.register_score``)."""

    type: str
    """Name the plugin was registered under with ``gpu.register_score``."""
    args: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments passed to the plugin."""


BUILTIN_SCORES = {"packing", "spread", "locality", "fragmentation", "site", "carbon", "price",
                  "speedup", "latency", "replica-spread"}


def _score_kind(value: Any) -> str:
    return plugin_tag(value, BUILTIN_SCORES)


ScoreSpec = Annotated[
    Annotated[PackingScore, Tag("[packing]")]
    | Annotated[SpreadScore, Tag("[spread]")]
    | Annotated[LocalityScore, Tag("[locality]")]
    | Annotated[FragmentationScore, Tag("[fragmentation]")]
    | Annotated[SiteScore, Tag("[site]")]
    | Annotated[CarbonScore, Tag("[carbon]")]
    | Annotated[PriceScore, Tag("[price]")]
    | Annotated[SpeedupScore, Tag("[speedup]")]
    | Annotated[LatencyScore, Tag("[latency]")]
    | Annotated[ReplicaSpreadScore, Tag("[replica-spread]")]
    | Annotated[UserScore, Tag("[user]")],
    Discriminator(_score_kind),
]


def _default_score() -> ScoreSpec:
    return PackingScore(type="packing")


class PlacementSpec(StrictModel):
    """Filter and score plugins of the placement framework."""

    filters: list[str] = Field(default_factory=lambda: list(DEFAULT_FILTERS))
    """Filter plugin names, applied in order (the first that rejects a job everywhere is its
    pending reason)."""
    mode: Literal["packed", "consolidated", "scattered"] = "packed"
    """How a job's GPUs are laid out on nodes. ``packed`` (default): a job of ``g`` GPUs on
    nodes of ``G`` takes ``ceil(g / G) - 1`` wholly free nodes of one node group plus one node
    for the remainder (a job that fits on one node stays on one node); the scores choose the
    node class of the remainder. ``consolidated``: the same shape, first fit: the scores choose
    the node group, and inside it the job takes the first wholly free nodes by node id, then the
    first other node (by id) with room for the remainder, as Tiresias's ``yarn`` scheme does.
    ``scattered``: the job
    takes free GPUs on any nodes of one node group (all it can on a node of the chosen node
    class, the rest on the group's nodes with free GPUs, fullest first), as Tiresias's
    ``count`` scheme and Gavel do; it fits when the group has ``g`` free GPUs in all. See
    ``workloads[].spread_slowdown`` for the cost of spanning nodes."""
    scores: list[ScoreSpec] = Field(default_factory=lambda: [_default_score()])
    """Score plugins with weights; the weighted sum decides, ties go to the most allocated node
    after placement (packing), then to the lowest column."""


def site_weights(spec: SiteScore, site_names: list[str], where: str) -> np.ndarray:
    """0..100 per site index from a ranking or a weight map; unknown names are errors."""
    known = set(site_names)
    problems = []
    out = np.zeros(len(site_names), dtype=np.int64)
    if spec.ranking is not None:
        for k, name in enumerate(spec.ranking):
            if name not in known:
                problems.append(Problem(f"{where}.ranking.{k}", f"unknown site {name!r}"))
        n = len(spec.ranking)
        for k, name in enumerate(spec.ranking):
            if name in known:
                out[site_names.index(name)] = 100 if n == 1 else (100 * (n - 1 - k)) // (n - 1)
    if spec.weights is not None:
        for name, weight in spec.weights.items():
            if name not in known:
                problems.append(Problem(f"{where}.weights.{name}", f"unknown site {name!r}"))
            else:
                out[site_names.index(name)] = weight
    if problems:
        raise InputError(problems)
    return out


def build_plugin_calls(spec: PlacementSpec, site_names: list[str]) -> tuple[list[PluginCall],
                                                                            list[PluginCall]]:
    """Resolve names to registered plugins; raise InputError naming each unknown one."""
    problems: list[Problem] = []
    filters: list[PluginCall] = []
    for i, name in enumerate(spec.filters):
        if name == REMOVED_POWER_FILTER and name not in registered("filter"):
            problems.append(Problem(f"policy.placement.filters.{i}", POWER_FILTER_GONE))
            continue
        try:
            filters.append(PluginCall(get_plugin("filter", name)))
        except PluginError as exc:
            problems.append(Problem(f"policy.placement.filters.{i}", str(exc)))
    scores: list[PluginCall] = []
    for i, score in enumerate(spec.scores):
        where = f"policy.placement.scores.{i}"
        try:
            plugin = get_plugin("score", score.type)
        except PluginError as exc:
            problems.append(Problem(f"{where}.type", str(exc)))
            continue
        args: dict[str, Any] = {}
        if isinstance(score, SiteScore):
            try:
                args["weights"] = site_weights(score, site_names, where)
            except InputError as exc:
                problems.extend(exc.problems)
                continue
        elif isinstance(score, UserScore):
            args = dict(score.args)
        scores.append(PluginCall(plugin, args, score.weight))
    if problems:
        raise InputError(problems)
    return filters, scores
