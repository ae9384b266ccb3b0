"""EASY backfilling (issue 16 items 2 and 3): reservations that follow capacity as it comes
back, classic EASY's "extra" nodes, and the promise to the head kept with exact estimates."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.validation_checks import trace_run
from gpu import JobShape
from gpu.framework import pick
from scheduler import simulate
from scheduler.cluster import ReleaseSimulator
from scheduler.runtime import Segment
from scheduler.runtime.deciders import EasyReservation
from tests.test_runtime import NO_PLAN, live_capacity, one_group_cluster, segment

H = 3600.0


def easy_run(tmp_path: Path, jobs: str, nodes: int = 1, **site) -> list[dict]:
    """Jobs (arrival, gpus, duration) on ``nodes`` nodes of 8 H100 (PUE 1.5), EASY, drained;
    returns per job (trace order) its start, end and reservation in hours."""
    frame = trace_run(tmp_path, "easy-backfill", jobs, nodes, **site)
    return [{k: float(row[k + "_s"]) / H for k in ("start", "end", "reservation")}
            for _, row in frame.iterrows()]


# One node: idle 3,680 W IT, a busy GPU adds 615 W, PUE 1.5. A 9,500 W cap holds 4 busy GPUs
# (9,210 W) but not 5; 10,200 W holds 5 (10,132.5 W) but not 8 (12,900 W).
HOLD = {"start": "1h", "end": "3h", "action": "hold"}


def test_a_head_blocked_by_a_hold_window_gets_its_reservation_when_the_window_ends(tmp_path):
    # A (4 GPUs, 10 h) runs; the head H (8 GPUs) arrives inside the window, where it cannot
    # fit even with A gone. B (4 GPUs, 20 h) arrives after the window: it would end after
    # H's reservation (10 h, when A ends), so it waits. Before the fix the infinite
    # reservation was cached forever: B backfilled and H started at 23.5 h.
    jobs = easy_run(tmp_path, "0,4,10h\n1.5h,8,1h\n3.5h,4,20h\n",
                    demand_response=[{**HOLD, "power_cap": 9500}])
    assert [j["start"] for j in jobs] == [0.0, 10.0, 11.0]
    assert jobs[1]["reservation"] == 10.0  # the promise made at 3 h, not an infinite one


def test_while_the_head_cannot_fit_only_jobs_ending_before_capacity_returns_backfill(tmp_path):
    # Inside the window the head (8 GPUs) can never fit; the backfill horizon is the window
    # end (3 h). D (1 GPU) ends at 2.25 h: starts. E (1 GPU, 2 h) would end at 4.5 h: waits
    # for the window to close, then ends before the head's reservation (10 h) and starts.
    jobs = easy_run(tmp_path, "0,4,10h\n1.5h,8,1h\n1.75h,1,30m\n2.5h,1,2h\n",
                    demand_response=[{**HOLD, "power_cap": 10200}])
    assert [j["start"] for j in jobs] == [0.0, 10.0, 1.75, 3.0]
    assert jobs[1]["reservation"] == 10.0


def test_a_long_job_starts_on_nodes_the_head_will_not_need(tmp_path):
    # Issue 16's example, 3 nodes of 8: J1 (12 GPUs, 10 h) spans two nodes; the head J2
    # (16 GPUs) needs two whole nodes, reserved at 10 h. J3 (2 GPUs, 5 h) ends before.
    # J4 (2 GPUs, 20 h) ends after, but the third node has room for it beside the head:
    # classic EASY starts it at once (before: at 10 h).
    jobs = easy_run(tmp_path, "0,12,10h\n0,16,1h\n0,2,5h\n0,2,20h\n", nodes=3)
    assert [j["start"] for j in jobs] == [0.0, 10.0, 0.0, 0.0]
    assert jobs[1]["reservation"] == 10.0


def test_a_long_job_waits_where_the_head_needs_its_node(tmp_path):
    # One node: the head (8 GPUs) needs all of it at 10 h, so a 20 h job may not start.
    jobs = easy_run(tmp_path, "0,4,10h\n0,8,1h\n0,4,20h\n")
    assert [j["start"] for j in jobs] == [0.0, 10.0, 11.0]


def test_no_promise_when_the_head_cannot_fit_and_a_new_one_when_a_node_returns():
    cluster = one_group_cluster(nodes=2, size=8)
    capacity = live_capacity(cluster)
    budget = np.full(1, math.inf)
    running = {10: segment(cluster, 8, 0.0, 500.0)}
    down = int(np.flatnonzero(cluster.node_free == 8)[0])
    cluster.set_down(down, repair_at=700.0)
    keys = np.arange(cluster.columns.size, dtype=np.int64)
    shape = JobShape.of(16, capacity)
    easy = EasyReservation()

    def epoch() -> tuple[int, int]:
        return (0, cluster.epoch)

    # 16 GPUs with one node down: never fits now; the horizon is the repair, no promise.
    assert easy.time(1, keys, shape, 100.0, running, epoch(), cluster, capacity, budget,
                     cluster.next_repair()) == 700.0
    assert not easy.promised
    cluster.set_up(down)  # the node is back: a real reservation, at the running job's end
    assert easy.time(1, keys, shape, 100.0, running, epoch(), cluster, capacity, budget,
                     cluster.next_repair()) == 500.0
    assert easy.promised
    # A node going down again changes the epoch: recomputed, not the cached 500.
    cluster.set_down(down, repair_at=900.0)
    assert easy.time(1, keys, shape, 200.0, running, epoch(), cluster, capacity, budget,
                     cluster.next_repair()) == 900.0
    assert not easy.promised


@pytest.mark.parametrize("x_last", [True, False])
def test_room_beside_the_head_is_judged_on_exact_nodes(x_last):
    # Two nodes each with 4 GPUs free now (one node class): X on one ends at 100, Y on the
    # other at 1000. The head (8 GPUs) is promised X's node at 100; a long 4-GPU job may
    # start only if the column's pick gives it Y's node (the node placed last is on top).
    cluster = one_group_cluster(nodes=2, size=8)
    capacity = live_capacity(cluster)
    budget = np.full(1, math.inf)
    empty = int(cluster.column_of[0, 8])
    ends = [1000.0, 100.0] if x_last else [100.0, 1000.0]
    running = {}
    for job, end in zip((10, 11), ends, strict=True):
        placement = cluster.place(empty, 4)
        running[job] = Segment(job, placement, 0.0, end, end, 1.0, False, NO_PLAN, 0.0, 1.0)
    assert sorted(cluster.node_free.tolist()) == [4, 4]
    keys = np.arange(cluster.columns.size, dtype=np.int64)
    easy = EasyReservation()
    assert easy.time(1, keys, JobShape.of(8, capacity), 0.0, running, 0, cluster, capacity,
                     budget) == 100.0
    column = pick(keys, capacity, JobShape.of(4, capacity))
    placement = cluster.peek(column, 4)
    x_node = next(s.placement.nodes[0] for s in running.values() if s.end == 100.0)
    assert (placement.nodes[0] == x_node) == x_last
    assert easy.leaves_room(placement, 0.0, running, cluster, capacity, budget) != x_last


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.sampled_from([4, 8]), st.integers(0, 10_000))
def test_peek_is_what_place_takes(nodes, size, seed):
    rng = np.random.default_rng(seed)
    cluster = one_group_cluster(nodes=nodes, size=size)
    for _ in range(8):
        gpus = int(rng.integers(1, nodes * size + 1))
        cols = cluster.columns
        fits = [c for c in range(cols.size) if cols.count[c] > 0 and cols.up[c]]
        column = int(rng.choice(fits))
        try:
            expected = cluster.peek(column, gpus)
        except RuntimeError:
            continue
        simulator = ReleaseSimulator(cluster)
        simulator.take(expected)
        assert cluster.place(column, gpus) == expected
        assert (simulator.count == cluster.columns.count).all()
        cluster.check_invariants()


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 3), st.sampled_from([4, 8]),
       st.lists(st.tuples(st.integers(0, 6), st.integers(1, 16), st.integers(1, 12)),
                min_size=3, max_size=9))
def test_backfilling_never_delays_the_head(tmp_path_factory, nodes, size, raw):
    """Exact estimates: every head starts by its reservation, and the first head starts
    exactly when it would if no later job had arrived."""
    folder = tmp_path_factory.mktemp("easy")
    cap = nodes * size
    rows = sorted((a * 1800.0, min(g, cap), d * 1800.0) for a, g, d in raw)

    def run(upto: int) -> list[dict]:
        trace = folder / "jobs.csv"
        trace.write_text("arrival,gpus,duration\n"
                         + "".join(f"{a},{g},{d}\n" for a, g, d in rows[:upto]))
        result = simulate({
            "name": "p", "seed": 1, "duration": "10d", "drain": True,
            "sites": [{"name": "A", "nodes": [{"gpu": "H100", "gpus_per_node": size,
                                               "count": nodes}]}],
            "workloads": [{"name": "w", "trace": {"format": "csv", "path": str(trace)}}],
            "policy": {"queue": "easy-backfill"},
        })
        frame = result.jobs.sort_values(["arrival_s", "job_id"])
        return [{"start": float(r["start_s"]), "reservation": float(r["reservation_s"])}
                for _, r in frame.iterrows()]

    full = run(len(rows))
    heads = [i for i, j in enumerate(full) if not math.isnan(j["reservation"])]
    for i in heads:
        assert full[i]["start"] <= full[i]["reservation"] + 1e-6
    if heads:
        first = heads[0]
        later = [i for i in range(len(rows)) if rows[i][0] > rows[first][0]]
        upto = later[0] if later else len(rows)
        alone = run(upto)
        assert full[first]["start"] == pytest.approx(alone[first]["start"], abs=1e-6)


def test_the_never_late_check_fails_on_an_infinite_reservation():
    # start - inf = -inf passed "never late" before; an infinite promise is no promise.
    from benchmarks.validation_checks import head_lateness
    frame = pd.DataFrame({"start_s": [5.0, 100.0], "reservation_s": [10.0, math.inf]})
    assert head_lateness(frame) == math.inf
    assert head_lateness(frame.iloc[:1]) == -5.0
    assert head_lateness(frame.iloc[:0]) == 0.0
