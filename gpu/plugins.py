"""Filter and score plugins, and the registry that names them.

A filter returns ``bool[J, B]`` (True = the job may go on that column). A score returns
integers in ``0..100`` as ``[J, B]`` (higher is better); the framework range-checks them.
Plugins are plain functions ``fn(ctx, **args)`` over ``ctx.xp`` arrays, so one definition runs
on NumPy and CuPy. Register with :func:`register_filter` / :func:`register_score`; a name may be
registered once (``replace=True`` to redefine it on purpose, e.g. in a notebook).

Scores that compare columns within a job's row use :func:`minmax_to_100` over the columns that
pass the static filters, so each job's best column scores 100.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gpu.array_ops import astype, bool_dtype, cumsum, take
from gpu.placement import PlacementContext

PluginFn = Callable[..., Any]


@dataclass(frozen=True)
class Plugin:
    """A registered plugin: its kind, name, function, and the rejection message (filters)."""

    kind: str
    name: str
    fn: PluginFn
    reason: str = ""
    """For filters: why a job is pending when this filter rejects it everywhere."""
    needs: tuple[str, ...] | None = None
    """Inputs it reads from ``ctx.site_arrays`` / ``ctx.jobs.extra`` (names of registered
    inputs, see :mod:`scheduler.runtime.plugin_inputs`); ``None``: every standard input."""
    varies: frozenset[str] = frozenset()
    """What makes its values change during a run besides the job and column: ``grid``
    (carbon or price signals: re-scored at each signal step), ``arrivals`` (the job sizes seen
    so far) or ``placements`` (each placement of the cycle: scored per pick, replicas only)."""


_REGISTRY: dict[tuple[str, str], Plugin] = {}


class PluginError(ValueError):
    """A plugin is unknown, registered twice, or returned an invalid result."""


VARIES = frozenset({"grid", "arrivals", "placements"})


def _register(kind: str, name: str, reason: str, replace: bool, needs: tuple[str, ...] | None,
              varies: tuple[str, ...]) -> Callable[[PluginFn], PluginFn]:
    unknown = set(varies) - VARIES
    if unknown:
        raise PluginError(f"{kind} plugin {name!r}: varies must be among {sorted(VARIES)} "
                          f"(got {sorted(unknown)})")

    def decorate(fn: PluginFn) -> PluginFn:
        key = (kind, name)
        if key in _REGISTRY and not replace:
            raise PluginError(f"{kind} plugin {name!r} is already registered "
                              f"(by {_REGISTRY[key].fn.__module__}.{_REGISTRY[key].fn.__qualname__})")
        _REGISTRY[key] = Plugin(kind, name, fn, reason or f"rejected by filter {name!r}",
                                None if needs is None else tuple(needs), frozenset(varies))
        return fn
    return decorate


def register_filter(name: str, reason: str = "", replace: bool = False,
                    needs: tuple[str, ...] | None = None,
                    varies: tuple[str, ...] = ()) -> Callable[[PluginFn], PluginFn]:
    """Decorator: register ``fn(ctx, **args) -> bool[J, B]`` as filter ``name``; ``needs``
    and ``varies`` declare its inputs and what changes them (see :class:`Plugin`)."""
    return _register("filter", name, reason, replace, needs, varies)


def register_score(name: str, replace: bool = False, needs: tuple[str, ...] | None = None,
                   varies: tuple[str, ...] = ()) -> Callable[[PluginFn], PluginFn]:
    """Decorator: register ``fn(ctx, **args) -> int[J, B] in 0..100`` as score ``name``;
    ``needs`` and ``varies`` declare its inputs and what changes them (see :class:`Plugin`)."""
    return _register("score", name, "", replace, needs, varies)


def get_plugin(kind: str, name: str) -> Plugin:
    try:
        return _REGISTRY[(kind, name)]
    except KeyError:
        known = ", ".join(sorted(n for k, n in _REGISTRY if k == kind))
        raise PluginError(f"unknown {kind} plugin {name!r}; registered: {known}") from None


def registered(kind: str) -> list[str]:
    """Names of the registered plugins of ``kind`` (``filter`` or ``score``)."""
    return sorted(n for k, n in _REGISTRY if k == kind)


def unregister(kind: str, name: str) -> None:
    """Remove a plugin (for tests and notebooks)."""
    _REGISTRY.pop((kind, name), None)


# --------------------------------------------------------------------------- helpers


def minmax_to_100(xp: Any, raw: Any, valid: Any, higher_is_better: bool = True) -> Any:
    """Row-wise integer rescale of ``raw`` to 0..100 over ``valid`` columns.

    Integer arithmetic only (``raw`` is cast to int64), so NumPy and CuPy agree bit for bit.
    A row whose valid values are all equal scores 100 everywhere (nothing to prefer).
    """
    raw = astype(xp, raw, xp.int64)
    big = xp.iinfo(xp.int64).max // 4
    low = xp.min(xp.where(valid, raw, big), axis=1, keepdims=True)
    high = xp.max(xp.where(valid, raw, -big), axis=1, keepdims=True)
    span = high - low
    safe_span = xp.where(span > 0, span, 1)
    offset = (raw - low) if higher_is_better else (high - raw)
    scaled = (xp.clip(offset, 0, None) * 100) // safe_span
    return astype(xp, xp.where(span > 0, xp.clip(scaled, 0, 100), 100), xp.int64)


# --------------------------------------------------------------------------- built-in filters


@register_filter("gpu-type", reason="no node of an allowed GPU type", needs=())
def filter_gpu_type(ctx: PlacementContext) -> Any:
    """The column's GPU type is allowed for the job."""
    return take(ctx.xp, ctx.jobs.type_allowed, ctx.columns.gpu_type, axis=1)


@register_filter("node-up", reason="all fitting nodes are down", needs=())
def filter_node_up(ctx: PlacementContext) -> Any:
    """The column's nodes are up."""
    return ctx.xp.broadcast_to(ctx.columns.up[None, :], ctx.shape)


@register_filter("capacity", reason="no node group large enough", needs=())
def filter_capacity(ctx: PlacementContext) -> Any:
    """A node of the column has room for the job's remainder and its group has enough nodes
    for a gang job. Static (node sizes, not counts): whether such nodes are free *now* is
    checked by the assignment as capacity is consumed."""
    cols = ctx.columns
    fits_node = cols.free[None, :] >= ctx.remainder
    enough_nodes = take(ctx.xp, cols.group_nodes, cols.group)[None, :] >= ctx.nodes_needed
    return fits_node & enough_nodes


# --------------------------------------------------------------------------- built-in scores


@register_score("packing", needs=())
def score_packing(ctx: PlacementContext) -> Any:
    """Most allocated: the fuller the node after placement, the higher (keeps whole nodes
    free for big jobs). 100 x GPUs in use after placement / node size."""
    cols = ctx.columns
    used_after = cols.gpus_per_node[None, :] - cols.free[None, :] + ctx.remainder
    return (used_after * 100) // cols.gpus_per_node[None, :]


@register_score("spread", needs=())
def score_spread(ctx: PlacementContext) -> Any:
    """Least allocated: 100 x GPUs still free after placement / node size."""
    cols = ctx.columns
    left = ctx.xp.clip(cols.free[None, :] - ctx.remainder, 0, None)
    return (left * 100) // cols.gpus_per_node[None, :]


@register_score("locality", needs=())
def score_locality(ctx: PlacementContext) -> Any:
    """Fewest nodes for a gang job: 100 on a one-node placement, ``100 // n`` on ``n`` nodes."""
    return 100 // ctx.xp.maximum(ctx.nodes_needed, 1)


@register_score("fragmentation", needs=("size_share",), varies=("arrivals",))
def score_fragmentation(ctx: PlacementContext, sizes: Any = None) -> Any:
    """Fragmentation in the spirit of FGD (ATC'23): GPUs a placement leaves on the node that
    the job sizes seen so far could not use. ``ctx.site_arrays['size_share']`` (or the
    ``sizes`` argument: shares indexed by GPU count) gives P(size = k); the unusable part of
    ``left`` free GPUs is ``left x P(size > left)``. Fewer unusable GPUs score higher."""
    xp, cols = ctx.xp, ctx.columns
    share = ctx.site_arrays.get("size_share") if sizes is None else xp.asarray(sizes)
    left = xp.clip(cols.free[None, :] - ctx.remainder, 0, None)
    if share is None:
        return xp.full(ctx.shape, 100, dtype=xp.int64)
    # tail[k] = P(size > k) in per-mille, integer so both backends agree.
    share = xp.asarray(share, dtype=xp.float64)
    total = xp.sum(share)
    permille = astype(xp, xp.round(share * 1000.0 / xp.where(total > 0, total, 1.0)), xp.int64)
    tail = xp.sum(permille) - cumsum(xp, permille)
    clipped = xp.clip(left, 0, tail.shape[0] - 1)
    unusable = left * xp.reshape(take(xp, tail, xp.reshape(clipped, (-1,))), clipped.shape)
    worst = cols.gpus_per_node[None, :] * 1000
    return 100 - (unusable * 100) // worst


@register_score("site", needs=())
def score_site(ctx: PlacementContext, weights: Any = None) -> Any:
    """Site preference: ``weights`` (0..100 per site index, from the scenario's ranking or
    weights) looked up by the column's site."""
    xp = ctx.xp
    if weights is None:
        return xp.full(ctx.shape, 100, dtype=xp.int64)
    per_site = xp.asarray(weights, dtype=xp.int64)
    return xp.broadcast_to(take(xp, per_site, ctx.columns.site)[None, :], ctx.shape)


def _marginal_signal(ctx: PlacementContext, signal_name: str) -> Any:
    """Facility watts x signal of running each job on each column (None when unknown)."""
    xp, cols = ctx.xp, ctx.columns
    signal = ctx.site_arrays.get(signal_name)
    per_gpu = ctx.jobs.extra.get("power_w_per_gpu_by_type")
    pue = ctx.site_arrays.get("pue")
    if signal is None or per_gpu is None or pue is None:
        return None
    gpus = astype(xp, ctx.jobs.gpus, xp.float64)[:, None]
    site_factor = take(xp, pue, cols.site) * take(xp, signal, cols.site)
    watts = take(xp, per_gpu, cols.gpu_type, axis=1) * gpus
    # x1000 then round: integer inputs to the rescale, so every backend agrees exactly.
    return astype(xp, xp.round(watts * site_factor[None, :] * 1000.0), xp.int64)


def _lowest_marginal(ctx: PlacementContext, signal_name: str) -> Any:
    """100 on each job's lowest (power x PUE x signal) column; neutral without the signal."""
    raw = _marginal_signal(ctx, signal_name)
    if raw is None:
        return ctx.xp.full(ctx.shape, 100, dtype=ctx.xp.int64)
    return minmax_to_100(ctx.xp, raw, ctx.xp.ones(ctx.shape, dtype=bool_dtype(ctx.xp)),
                         higher_is_better=False)


@register_score("carbon", needs=("power_w_per_gpu_by_type", "pue", "carbon_g_per_kwh"),
                varies=("grid",))
def score_carbon(ctx: PlacementContext) -> Any:
    """Lowest marginal emissions: job power x PUE x the site's carbon intensity now
    (``site_arrays['carbon_g_per_kwh']``), rescaled per job so its cleanest column scores
    100. Neutral (100 everywhere) when no site has a carbon signal."""
    return _lowest_marginal(ctx, "carbon_g_per_kwh")


@register_score("price", needs=("power_w_per_gpu_by_type", "pue", "price_eur_per_mwh"),
                varies=("grid",))
def score_price(ctx: PlacementContext) -> Any:
    """Lowest marginal energy cost: job power x PUE x the site's electricity price now
    (``site_arrays['price_eur_per_mwh']``), rescaled per job (cheapest column 100)."""
    return _lowest_marginal(ctx, "price_eur_per_mwh")


@register_score("speedup", needs=("speed_by_type",))
def score_speedup(ctx: PlacementContext) -> Any:
    """Heterogeneity-aware (in the spirit of Gavel, OSDI'20): the faster the column's GPU type
    for this job (``jobs.extra['speed_by_type']``, [J, T]), the higher; each job's fastest
    type scores 100. Neutral when no job has a speed table."""
    xp = ctx.xp
    speed = ctx.jobs.extra.get("speed_by_type")
    if speed is None:
        return xp.full(ctx.shape, 100, dtype=xp.int64)
    raw = astype(xp, xp.round(take(xp, speed, ctx.columns.gpu_type, axis=1) * 1000.0), xp.int64)
    return minmax_to_100(xp, raw, xp.ones(ctx.shape, dtype=bool_dtype(xp)))


def _site_row_score(ctx: PlacementContext, name: str, higher_is_better: bool) -> Any:
    """Rescale a per-job, per-site array (``jobs.extra[name]``, [J, S]) over columns."""
    xp = ctx.xp
    per_site = ctx.jobs.extra.get(name)
    if per_site is None:
        return xp.full(ctx.shape, 100, dtype=xp.int64)
    raw = astype(xp, xp.round(take(xp, per_site, ctx.columns.site, axis=1) * 1e6), xp.int64)
    return minmax_to_100(xp, raw, xp.ones(ctx.shape, dtype=bool_dtype(xp)), higher_is_better)


@register_score("latency", needs=("site_rtt_s",))
def score_latency(ctx: PlacementContext) -> Any:
    """Near the users: the lower the request-weighted round trip from the service's users to
    the column's site (``jobs.extra['site_rtt_s']``, [J, S]), the higher. Neutral for jobs
    without users (training)."""
    return _site_row_score(ctx, "site_rtt_s", higher_is_better=False)


@register_score("replica-spread", needs=("site_replicas",), varies=("placements",))
def score_replica_spread(ctx: PlacementContext) -> Any:
    """Resilience: the fewer replicas of the same service a site already runs
    (``jobs.extra['site_replicas']``, [J, S]), the higher."""
    return _site_row_score(ctx, "site_replicas", higher_is_better=False)
