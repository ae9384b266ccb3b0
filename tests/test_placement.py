"""The placement framework: plugins (table-driven), the framework rules, batched = sequential,
and backend parity (NumPy vs a strict array-API namespace; NumPy vs CuPy where a GPU is)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import tiny_scenario
from hypothesis import given, settings
from hypothesis import strategies as st

from gpu import (
    Backend,
    CapacityState,
    JobBatch,
    JobShape,
    PluginCall,
    PluginError,
    assign,
    build_context,
    evaluate,
    get_backend,
    get_plugin,
    register_score,
    unregister,
)
from gpu.framework import pick, take
from scheduler import simulate
from scheduler.cluster import Cluster
from scheduler.errors import InputError
from scheduler.loading import validate_data

NUMPY = get_backend("numpy")


def two_group_cluster() -> Cluster:
    """Site A: 2 nodes x 8 H100 (group 0). Site B: 2 nodes x 4 B200 (group 1)."""
    return Cluster(validate_data({
        "duration": "1h",
        "sites": [{"name": "A", "nodes": [{"gpu": "H100", "gpus_per_node": 8, "count": 2}]},
                  {"name": "B", "nodes": [{"gpu": "B200", "gpus_per_node": 4, "count": 2}]}],
        "workloads": [{"name": "w", "arrival": {"process": "poisson", "rate_per_hour": 1},
                       "gpus": 1, "duration": "1h"}],
    }))


def context(cluster: Cluster, gpus: list[int], allowed: list[list[str]] | None = None,
            backend: Backend = NUMPY, site_arrays=None, scattered: bool = False):
    n_types = len(cluster.gpu_type_names)
    mask = np.ones((len(gpus), n_types), dtype=bool)
    if allowed is not None:
        mask[:] = False
        for j, names in enumerate(allowed):
            for name in names:
                mask[j, cluster.type_index[name]] = True
    xp = backend.xp
    cols = cluster.columns
    from gpu.placement import Columns

    device_cols = Columns(*(xp.asarray(getattr(cols, f)) for f in (
        "group", "site", "gpu_type", "gpus_per_node", "free", "up", "count", "full_column",
        "group_nodes")))
    batch = JobBatch(gpus=xp.asarray(np.array(gpus, dtype=np.int64)), type_allowed=xp.asarray(mask))
    return build_context(xp, batch, device_cols, site_arrays=site_arrays, scattered=scattered)


def column(cluster: Cluster, group: int, free: int) -> int:
    return int(cluster.column_of[group, free])


def run_plugin(kind: str, name: str, ctx, **args) -> np.ndarray:
    return np.asarray(get_plugin(kind, name).fn(ctx, **args))


# --------------------------------------------------------------------------- plugins


def test_packing_scores():
    cluster = two_group_cluster()
    scores = run_plugin("score", "packing", context(cluster, [1, 3]))
    # 1 GPU on a free 8-GPU node: 1 used of 8 -> 100 * 1 // 8 = 12; on a node with 1 free: 100.
    assert scores[0, column(cluster, 0, 8)] == 12
    assert scores[0, column(cluster, 0, 1)] == 100
    # 3 GPUs on a free 4-GPU B200 node: 3 of 4 -> 75.
    assert scores[1, column(cluster, 1, 4)] == 75


def test_spread_scores():
    cluster = two_group_cluster()
    scores = run_plugin("score", "spread", context(cluster, [1]))
    # 1 GPU on a free 8-GPU node leaves 7 of 8 free: 100 * 7 // 8 = 87; on 1 free: 0.
    assert scores[0, column(cluster, 0, 8)] == 87
    assert scores[0, column(cluster, 0, 1)] == 0


def test_locality_scores():
    cluster = two_group_cluster()
    scores = run_plugin("score", "locality", context(cluster, [16, 8]))
    # 16 GPUs: 2 nodes of 8 -> 100 // 2 = 50; 4 nodes of 4 -> 25. 8 GPUs on one 8-node: 100.
    assert scores[0, column(cluster, 0, 8)] == 50
    assert scores[0, column(cluster, 1, 4)] == 25
    assert scores[1, column(cluster, 0, 8)] == 100


def test_fragmentation_scores():
    cluster = two_group_cluster()
    ctx = context(cluster, [1])
    # Sizes seen: half 1-GPU, half 8-GPU jobs -> P(size > k) = 1000, 500 x7, 0 (per mille).
    share = np.zeros(9)
    share[1] = share[8] = 0.5
    scores = run_plugin("score", "fragmentation", ctx, sizes=share)
    # 1 GPU on a free 8-node leaves 7 free, unusable 7 x 500 = 3500 of at most 8 x 1000:
    # 100 - 350000 // 8000 = 100 - 43 = 57. On a node with 1 free it leaves 0: 100.
    assert scores[0, column(cluster, 0, 8)] == 57
    assert scores[0, column(cluster, 0, 1)] == 100


def test_site_scores():
    cluster = two_group_cluster()
    scores = run_plugin("score", "site", context(cluster, [1]), weights=np.array([100, 30]))
    assert scores[0, column(cluster, 0, 8)] == 100
    assert scores[0, column(cluster, 1, 4)] == 30


def test_filters():
    cluster = two_group_cluster()
    ctx = context(cluster, [1, 16, 12], allowed=[["B200"], ["H100", "B200"], ["H100", "B200"]])
    types = run_plugin("filter", "gpu-type", ctx)
    assert not types[0, column(cluster, 0, 8)] and types[0, column(cluster, 1, 4)]
    capacity = run_plugin("filter", "capacity", ctx)
    # 16 GPUs: 2 x 8 fits group 0 (2 nodes); group 1 would need 4 nodes of 4 but has 2.
    assert capacity[1, column(cluster, 0, 8)] and not capacity[1, column(cluster, 1, 4)]
    # 12 GPUs on 8-nodes: 1 full node + remainder 4 on a node with >= 4 free.
    assert capacity[2, column(cluster, 0, 4)] and not capacity[2, column(cluster, 0, 3)]
    up = run_plugin("filter", "node-up", ctx)
    assert not up[:, cluster.down_column[0]].any() and up[:, column(cluster, 0, 8)].all()


def test_power_caps_bind_in_the_assignment():
    """Caps act in one place: the pick, against each site's live budget."""
    cluster = two_group_cluster()
    state = CapacityState.from_columns(cluster.columns, cluster.column_of)
    # Job class of 2 GPUs: 1800 W at site A's columns, 1200 W at site B's.
    power = np.where(cluster.columns.site == 0, 1800.0, 1200.0)
    shape = JobShape.of(2, state, power)
    keys = np.arange(cluster.columns.size, dtype=np.int64)  # B's columns rank highest
    state.site_budget_w = np.array([5000.0, 1000.0])
    column = pick(keys, state, shape)
    assert cluster.columns.site[column] == 0  # 1200 W > B's 1000 W: only A fits
    take(state, shape, column)
    assert state.site_budget_w[0] == pytest.approx(3200.0)
    assert cluster.columns.site[pick(keys, state, shape)] == 0
    take(state, shape, pick(keys, state, shape))
    assert pick(keys, state, shape) == -1  # 1400 W left at A < 1800 W
    assert pick(keys, state, shape, ignore_power=True) >= 0  # capacity is not what blocks


def test_power_is_not_a_filter_any_more():
    from scheduler.placement_config import PlacementSpec, build_plugin_calls

    with pytest.raises(InputError, match="power caps act in the assignment"):
        build_plugin_calls(PlacementSpec(filters=["gpu-type", "power"]), ["A"])


# --------------------------------------------------------------------------- framework


def calls(*names_weights, filters=("gpu-type", "node-up", "capacity")):
    return ([PluginCall(get_plugin("filter", f)) for f in filters],
            [PluginCall(get_plugin("score", n), {}, w) for n, w in names_weights])


def test_keys_weights_and_tie_break():
    cluster = two_group_cluster()
    filters, scores = calls(("packing", 1.0), ("spread", 0.5))
    result = evaluate(NUMPY, context(cluster, [1]), filters, scores)
    b = cluster.columns.size
    c8 = column(cluster, 0, 8)
    # packing 12 x 1000 + spread 87 x 500 = 55,500 milli-points;
    # key = total x 101 B + packing x B + (B-1-c) (ties: most allocated, then lowest column).
    assert result.keys[0, c8] == (12 * 1000 + 87 * 500) * 101 * b + 12 * b + (b - 1 - c8)
    # Equal totals break ties toward packing then the lower column index: distinct in a row.
    valid = result.keys[0][result.keys[0] >= 0]
    assert len(set(valid.tolist())) == len(valid)


def test_out_of_range_score_names_the_plugin():
    @register_score("broken-score")
    def broken(ctx):
        return ctx.xp.full(ctx.shape, 101, dtype=ctx.xp.int64)

    try:
        cluster = two_group_cluster()
        filters, scores = calls(("broken-score", 1.0))
        with pytest.raises(PluginError, match=r"'broken-score' returned values outside 0\.\.100"):
            evaluate(NUMPY, context(cluster, [1]), filters, scores)
    finally:
        unregister("score", "broken-score")


def test_registering_twice_is_an_error():
    with pytest.raises(PluginError, match="already registered"):
        register_score("packing")(lambda ctx: None)


def test_first_rejecting_filter_is_the_reason():
    cluster = two_group_cluster()
    filters, scores = calls(("packing", 1.0))
    ctx = context(cluster, [1, 40, 1], allowed=[["MI300X"], ["H100"], ["H100"]])
    result = evaluate(NUMPY, ctx, filters, scores)
    assert result.reason.tolist() == [0, 2, -1]  # gpu-type, capacity, fits


def fits_by_hand(state: CapacityState, shape: JobShape, c: int) -> bool:
    """Does a job fit on column ``c`` now? Written out per mode, independently of
    :func:`gpu.framework.valid_columns`."""
    if shape.scattered:  # free GPUs anywhere in the group, one node of this column to start
        group = state.group[c]
        total = sum(int(state.count[k] * state.free[k]) for k in range(len(state.count))
                    if state.group[k] == group)
        return state.count[c] >= 1 and state.free[c] >= 1 and total >= shape.gpus
    n = int(shape.nodes[c])
    full = int(state.full_column[state.group[c]])
    need = 1 + (n - 1 if c == full else 0)
    return (state.count[c] >= need and state.count[full] >= n - 1
            and state.free[c] >= shape.remainder[c])


def sequential_reference(cluster: Cluster, gpus: list[int], filters, scores,
                         scattered: bool = False) -> list[int]:
    """Place jobs one at a time, re-evaluating everything from scratch for each job."""
    state = CapacityState.from_columns(cluster.columns, cluster.column_of)
    chosen = []
    for g in gpus:
        keys = evaluate(NUMPY, context(cluster, [g], scattered=scattered), filters,
                        scores).keys[0]
        shape = JobShape.of(g, state, scattered=scattered)
        best, best_key = -1, -1
        for c in range(len(keys)):  # brute force over columns
            if keys[c] >= 0 and fits_by_hand(state, shape, c) and keys[c] > best_key:
                best, best_key = c, int(keys[c])
        chosen.append(best)
        if best >= 0:
            take(state, shape, best)
            assert (state.count >= 0).all()
    return chosen


@settings(max_examples=60, deadline=None)
@given(
    groups=st.lists(st.tuples(st.sampled_from([1, 2, 4, 8]), st.integers(1, 4)), min_size=1,
                    max_size=3),
    gpus=st.lists(st.integers(1, 20), min_size=1, max_size=25),
    score=st.sampled_from(["packing", "spread", "locality", "fragmentation"]),
    mode=st.sampled_from(["packed", "scattered"]),
)
def test_batched_assignment_equals_sequential(groups, gpus, score, mode):
    scattered = mode == "scattered"
    cluster = Cluster(validate_data({
        "duration": "1h",
        "sites": [{"name": f"S{i}", "nodes": [{"gpu": "H100", "gpus_per_node": size,
                                               "count": count}]}
                  for i, (size, count) in enumerate(groups)],
        "workloads": [{"name": "w", "arrival": {"process": "poisson", "rate_per_hour": 1},
                       "gpus": 1, "duration": "1h"}],
    }))
    filters, scores = calls((score, 1.0), ("packing", 0.25))
    sizes = sorted(set(gpus))
    evaluation = evaluate(NUMPY, context(cluster, sizes, scattered=scattered), filters, scores)
    state = CapacityState.from_columns(cluster.columns, cluster.column_of)
    shapes = [JobShape.of(g, state, scattered=scattered) for g in sizes]
    job_class = np.array([sizes.index(g) for g in gpus])
    batched = assign(evaluation.keys, job_class, shapes, state).tolist()
    assert batched == sequential_reference(cluster, gpus, filters, scores, scattered)
    # Conservation: the GPUs taken are the GPUs of the jobs placed.
    free_gpus = int((state.count * state.free).sum())
    placed = sum(g for g, c in zip(gpus, batched, strict=True) if c >= 0)
    assert free_gpus == int(cluster.group_count @ cluster.group_size) - placed


# --------------------------------------------------------------------------- backends


def strict_backend() -> Backend:
    xp = pytest.importorskip("array_api_strict")
    return Backend("array_api_strict", xp)


@pytest.mark.parametrize("score", ["packing", "spread", "locality", "fragmentation", "site"])
def test_numpy_and_strict_array_api_agree(score):
    strict = strict_backend()
    cluster = Cluster(validate_data(tiny_scenario()))
    args = {"weights": np.array([100, 40])} if score == "site" else {}
    if score == "fragmentation":
        args = {"sizes": np.array([0, 0.5, 0.2, 0, 0.2, 0, 0, 0, 0.1])}
    rng = np.random.default_rng(0)
    gpus = rng.integers(1, 33, size=40).tolist()
    allowed = [["H100"] if i % 3 == 0 else ["H100", "B200"] for i in range(40)]
    filters = [PluginCall(get_plugin("filter", f)) for f in ("gpu-type", "node-up", "capacity")]
    scores = [PluginCall(get_plugin("score", score), args, 1.5)]
    reference = evaluate(NUMPY, context(cluster, gpus, allowed), filters, scores)
    other = evaluate(strict, context(cluster, gpus, allowed, backend=strict), filters, scores)
    np.testing.assert_array_equal(reference.keys, other.keys)
    np.testing.assert_array_equal(reference.reason, other.reason)


def test_numpy_and_cupy_agree():
    try:
        cupy_backend = get_backend("cupy")
    except Exception:
        pytest.skip("no usable CUDA device here")
    cluster = Cluster(validate_data(tiny_scenario()))
    gpus = np.random.default_rng(1).integers(1, 33, size=64).tolist()
    filters, scores = calls(("packing", 1.0), ("fragmentation", 0.5), ("locality", 2.0))
    reference = evaluate(NUMPY, context(cluster, gpus), filters, scores)
    other = evaluate(cupy_backend, context(cluster, gpus, backend=cupy_backend), filters, scores)
    np.testing.assert_array_equal(reference.keys, other.keys)


def test_pick_respects_gang_full_nodes():
    cluster = two_group_cluster()
    state = CapacityState.from_columns(cluster.columns, cluster.column_of)
    filters, scores = calls(("packing", 1.0))
    keys = evaluate(NUMPY, context(cluster, [16]), filters, scores).keys[0]
    shape = JobShape.of(16, state)
    assert pick(keys, state, shape) == column(cluster, 0, 8)
    take(state, shape, column(cluster, 0, 8))
    assert state.count[column(cluster, 0, 0)] == 2 and state.count[column(cluster, 0, 8)] == 0
    assert pick(keys, state, shape) == -1


# --------------------------------------------------------------------------- scenario level


def test_placement_from_scenario_and_user_plugin_changes_decisions():
    base = tiny_scenario(drain=True)
    base["workloads"] = base["workloads"][:1]
    plain = simulate(base, seed=3).jobs
    b200 = Cluster(validate_data(base)).type_index["B200"]

    @register_score("prefer-b200")
    def prefer_b200(ctx):
        """100 on B200 columns, 0 elsewhere (a user's few lines in a notebook)."""
        xp = ctx.xp
        return xp.broadcast_to(xp.where(ctx.columns.gpu_type == b200, 100, 0)[None, :],
                               ctx.shape)

    try:
        custom = dict(base)
        custom["policy"] = {"queue": "fifo", "placement": {"scores": [
            {"type": "prefer-b200", "weight": 5}, {"type": "packing", "weight": 1}]}}
        steered = simulate(custom, seed=3).jobs
    finally:
        unregister("score", "prefer-b200")
    share_b_plain = (plain["site"] == "B").mean()
    share_b_steered = (steered["site"] == "B").mean()
    assert share_b_steered > share_b_plain + 0.1


def test_unknown_plugin_names_in_scenario_are_input_errors():
    from scheduler.errors import InputError

    data = tiny_scenario()
    data["policy"] = {"queue": "fifo", "placement": {"filters": ["gpu-type", "nope"],
                                                     "scores": [{"type": "nada"}]}}
    with pytest.raises(InputError) as info:
        simulate(data)
    wheres = [p.where for p in info.value.problems]
    assert wheres == ["policy.placement.filters.1", "policy.placement.scores.0.type"]


def test_site_score_ranking_steers_jobs():
    data = tiny_scenario(drain=True)
    data["workloads"] = data["workloads"][:1]
    data["policy"] = {"queue": "fifo", "placement": {"scores": [
        {"type": "site", "ranking": ["B", "A"], "weight": 10}, {"type": "packing"}]}}
    jobs = simulate(data, seed=2).jobs
    assert (jobs["site"] == "B").mean() > 0.5


def test_fragmentation_score_from_a_scenario_uses_sizes_seen():
    # Without a size distribution the score would be 100 everywhere and change nothing.
    plain = tiny_scenario()
    plain["policy"] = {"queue": "fifo", "placement": {"scores": [{"type": "spread"}]}}
    frag = tiny_scenario()
    frag["policy"] = {"queue": "fifo", "placement": {"scores": [
        {"type": "spread"}, {"type": "fragmentation", "weight": 3}]}}
    a = simulate(plain, seed=3).jobs
    b = simulate(frag, seed=3).jobs
    assert (a["site"] != b["site"]).any() or (a["start_s"] != b["start_s"]).any()


def test_fused_numpy_kernel_equals_the_generic_path():
    from benchmarks.fused_kernel import FusedWeights, best_keys_numpy, columns_of_keys

    rng = np.random.default_rng(4)
    cluster = Cluster(validate_data(tiny_scenario()))
    # One column per node, with random occupancy.
    n = cluster.n_nodes
    free = rng.integers(0, cluster.group_size[cluster.node_group] + 1)
    from gpu.placement import Columns

    g = cluster.node_group
    node_cols = Columns(group=g, site=cluster.group_site[g], gpu_type=cluster.group_type[g],
                        gpus_per_node=cluster.group_size[g], free=free,
                        up=rng.random(n) > 0.1, count=np.ones(n, dtype=np.int64),
                        full_column=cluster.columns.full_column, group_nodes=cluster.group_count)
    gpus = rng.integers(1, 40, size=60)
    allowed = rng.random((60, len(cluster.gpu_type_names))) > 0.3
    batch = JobBatch(gpus=gpus, type_allowed=allowed)
    filters, scores = calls(("packing", 1.0), ("spread", 0.25), ("locality", 2.0))
    generic = evaluate(NUMPY, build_context(np, batch, node_cols), filters, scores).keys
    fused = best_keys_numpy(gpus, allowed, node_cols.gpu_type, node_cols.gpus_per_node,
                            free, node_cols.up, g, cluster.group_count,
                            FusedWeights(packing=1000, spread=250, locality=2000), chunk=7)
    np.testing.assert_array_equal(fused, generic.max(axis=1))
    best = columns_of_keys(fused, n)
    expected = np.where(generic.max(axis=1) >= 0, generic.argmax(axis=1), -1)
    np.testing.assert_array_equal(best, expected)
