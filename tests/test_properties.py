"""Property-based tests (hypothesis) over random small scenarios.

Every generated scenario (1-3 sites, 1-3 node groups of H100/H200/B200/MI300X nodes of 1, 2, 4
or 8 GPUs, 1-3 training workloads, a random queue policy and placement scores, optional power
caps, failures and checkpoints; at most two simulated days and a few hundred jobs) must keep:

* conservation: submitted = completed + rejected + unfinished + failed (= rows of jobs);
* capacity: at no instant does a site or a node group run more GPUs than it has (from the
  engine's run-segment log, so preempted and resumed jobs count once per stretch), and a
  capped site's facility power (idle base + the running segments' power) never exceeds its cap
  (also the summary's per-site peak);
* causality: arrival <= first start <= end for every started job;
* determinism: the same seed twice gives the identical summary (but ``wall_time_s``) and job
  table;
* backend parity: NumPy and the strict array-API namespace (``array_api_strict``) give the
  identical job table.

The hypothesis profile is derandomized and has no example database, so CI runs the same cases.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpu import Backend, get_backend
from scheduler.catalog import builtin_gpu_types
from scheduler.loading import validate_data
from scheduler.placement_config import build_plugin_calls
from scheduler.results import dump_summary
from scheduler.runtime.engine import Engine
from scheduler.simulation import build_engine
from scheduler.summarize import build_result

GPU_TYPES = ("H100", "H200", "B200", "MI300X")
NODE_SIZES = (1, 2, 4, 8)
QUEUES = ("fifo", "sjf", "easy-backfill", "las", "priority")
SCORES = ("packing", "spread", "locality", "fragmentation")
MAX_JOBS = 450


SCALE = int(os.environ.get("CLUSTERSIM_PROPERTY_SCALE", "1"))
"""``CLUSTERSIM_PROPERTY_SCALE=20`` runs 20 times the examples, freshly random (CI: 1, fixed)."""


def _settings(examples: int) -> settings:
    return settings(max_examples=examples * SCALE, deadline=None, derandomize=SCALE == 1,
                    database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --------------------------------------------------------------------------- scenarios


def _idle_and_full_w(groups: list[dict], pue: float) -> tuple[float, float]:
    """Facility power of a site with every GPU idle, and with every GPU busy (catalog)."""
    catalog = builtin_gpu_types()
    idle = full = 0.0
    for group in groups:
        kind = catalog[group["gpu"]]
        overhead = kind.node_overhead_w(group["gpus_per_node"])
        idle += group["count"] * (overhead + group["gpus_per_node"] * kind.idle_w)
        full += group["count"] * (overhead + group["gpus_per_node"] * kind.busy_w)
    return idle * pue, full * pue


@st.composite
def node_groups(draw: st.DrawFn) -> list[dict]:
    return [{"gpu": draw(st.sampled_from(GPU_TYPES)),
             "gpus_per_node": draw(st.sampled_from(NODE_SIZES)),
             "count": draw(st.integers(1, 4))}
            for _ in range(draw(st.integers(1, 3)))]


@st.composite
def sites(draw: st.DrawFn) -> list[dict]:
    out = []
    for s in range(draw(st.integers(1, 3))):
        groups = draw(node_groups())
        pue = draw(st.sampled_from([1.0, 1.1, 1.25, 1.5]))
        site = {"name": f"S{s}", "pue": pue, "nodes": groups}
        if draw(st.booleans()):
            idle, full = _idle_and_full_w(groups, pue)
            share = draw(st.floats(0.05, 1.0))
            site["power_cap"] = idle + share * (full - idle)
        out.append(site)
    return out


@st.composite
def workloads(draw: st.DrawFn, horizon_h: float, types_present: list[str]) -> list[dict]:
    count = draw(st.integers(1, 3))
    out = []
    for w in range(count):
        rate = draw(st.floats(0.2, MAX_JOBS / count / horizon_h))
        sizes = draw(st.lists(st.sampled_from([1, 2, 3, 4, 8, 12, 16]), min_size=1, max_size=3,
                              unique=True))
        gpus: int | dict = sizes[0] if len(sizes) == 1 else {"choice": sizes}
        mean_min = draw(st.sampled_from([5, 20, 60, 180]))
        duration: str | dict = (f"{mean_min}m" if draw(st.booleans()) else
                                {"distribution": "exponential", "mean": f"{mean_min}m"})
        workload: dict = {"name": f"w{w}", "arrival": {"process": "poisson",
                                                       "rate_per_hour": rate},
                          "gpus": gpus, "duration": duration,
                          "priority": draw(st.integers(0, 3)),
                          "max_retries": draw(st.integers(0, 2))}
        if draw(st.booleans()):
            workload["gpu_types"] = draw(st.lists(st.sampled_from(types_present), min_size=1,
                                                  max_size=2, unique=True))
        if draw(st.booleans()):
            workload["checkpoint"] = {"interval": draw(st.sampled_from(["10m", "30m", "1h"])),
                                      "overhead": "30s", "restart": "2m"}
        if draw(st.booleans()):
            workload["speedup"] = {kind: draw(st.sampled_from([0.5, 1.0, 2.0]))
                                   for kind in types_present[:2]}
        out.append(workload)
    return out


@st.composite
def scenarios(draw: st.DrawFn) -> dict:
    cluster = draw(sites())
    present = sorted({g["gpu"] for site in cluster for g in site["nodes"]})
    horizon_h = draw(st.sampled_from([6, 12, 24, 48]))
    grid = draw(st.booleans())
    scores = draw(st.lists(st.sampled_from(SCORES + (("carbon", "price") if grid else ())),
                           min_size=1, max_size=3, unique=True))
    data: dict = {
        "name": "property", "seed": draw(st.integers(0, 2**32)), "duration": f"{horizon_h}h",
        "drain": draw(st.booleans()), "sites": cluster,
        "workloads": draw(workloads(horizon_h, present)),
        "policy": {"queue": draw(st.sampled_from(QUEUES)),
                   "placement": {"scores": [{"type": name,
                                             "weight": draw(st.sampled_from([0.5, 1, 3]))}
                                            for name in scores]}},
    }
    if grid:
        data["grid"] = {"carbon_g_per_kwh": "fr-2024", "price_eur_per_mwh": "day-ahead-fr"}
    if draw(st.booleans()):
        data["policy"]["priority"] = {"preempt": True}
    if draw(st.booleans()):
        data["failures"] = {"rate_per_gpu_hour": draw(st.floats(1e-5, 1e-3)), "repair": "1h"}
    return data


# --------------------------------------------------------------------------- running


def run_engine(data: dict, backend: Backend) -> tuple[Engine, object]:
    """The engine after its run and the Result built from it (what ``simulate`` does)."""
    scenario = validate_data(data)
    filters, scores = build_plugin_calls(scenario.policy.placement,
                                         [site.name for site in scenario.sites])
    engine = build_engine(scenario, backend, int(data["seed"]), filters, scores)
    wall = engine.run()
    return engine, build_result(engine.record(), wall, scenario.name, "")


def max_concurrent(starts: np.ndarray, ends: np.ndarray, amounts: np.ndarray) -> float:
    """Highest sum of ``amounts`` over intervals [start, end) alive at one instant."""
    if starts.size == 0:
        return 0.0
    times = np.concatenate([starts, ends])
    deltas = np.concatenate([amounts, -amounts])
    order = np.lexsort((deltas, times))  # at equal times, releases before starts
    return float(np.cumsum(deltas[order]).max())


def strict_backend() -> Backend:
    xp = pytest.importorskip("array_api_strict")
    return Backend("array_api_strict", xp)


# --------------------------------------------------------------------------- properties


@_settings(120)
@given(data=scenarios())
def test_invariants_of_random_scenarios(data):
    engine, result = run_engine(data, get_backend("numpy"))
    summary, jobs = result.summary, result.jobs

    # Conservation.
    assert summary["jobs_submitted"] == len(jobs) < 2 * MAX_JOBS
    assert summary["jobs_submitted"] == (summary["jobs_completed"] + summary["jobs_rejected"]
                                         + summary["jobs_unfinished"] + summary["jobs_failed"])
    assert set(jobs["status"]) <= {"completed", "rejected", "unfinished", "failed"}

    # Causality.
    started = jobs["start_s"].notna()
    assert (jobs.loc[started, "start_s"] >= jobs.loc[started, "arrival_s"] - 1e-9).all()
    ended = jobs["end_s"].notna() & started
    assert (jobs.loc[ended, "end_s"] >= jobs.loc[ended, "start_s"] - 1e-9).all()
    assert (jobs.loc[jobs["status"] == "rejected", "start_s"].isna()).all()

    # Capacity, from every run segment (a preempted job has several).
    cluster, seg = engine.cluster, engine.segments
    site, group = seg.view("site"), seg.view("group")
    start, end, gpus = seg.view("start_s"), seg.view("end_s"), seg.view("gpus")
    assert (end >= start).all()
    for s, site_spec in enumerate(data["sites"]):
        mine = site == s
        assert max_concurrent(start[mine], end[mine], gpus[mine]) <= cluster.site_gpus[s]
        if site_spec.get("power_cap") is not None:
            base = engine.power.base_it_w[s] * engine.power.pue[s]
            peak = base + max_concurrent(start[mine], end[mine], seg.view("power_w")[mine])
            cap = site_spec["power_cap"]
            assert peak <= cap * (1 + 1e-9), (s, peak, cap)
            reported = summary["sites"][site_spec["name"]]["peak_facility_power_mw"] * 1e6
            assert reported <= cap * (1 + 1e-9), (s, reported, cap)
    for g in range(cluster.n_groups):
        mine = group == g
        size = int(cluster.group_size[g] * cluster.group_count[g])
        assert max_concurrent(start[mine], end[mine], gpus[mine]) <= size
    busy = result.timeseries["busy_gpus"].to_numpy()  # step means: allow rounding
    assert (busy <= cluster.total_gpus * (1 + 1e-9)).all()
    assert all(math.isfinite(v) for v in summary.values() if isinstance(v, float))


@_settings(50)
@given(data=scenarios())
def test_same_seed_same_results_and_backend_parity(data):
    _, first = run_engine(data, get_backend("numpy"))
    _, again = run_engine(data, get_backend("numpy"))
    a, b = dict(first.summary), dict(again.summary)
    a.pop("wall_time_s"), b.pop("wall_time_s")
    assert dump_summary(a) == dump_summary(b)
    pd.testing.assert_frame_equal(first.jobs, again.jobs)

    _, strict = run_engine(data, strict_backend())
    pd.testing.assert_frame_equal(first.jobs, strict.jobs)
    c = dict(strict.summary)
    c.pop("wall_time_s"), c.pop("backend")
    a.pop("backend")
    assert dump_summary(a) == dump_summary(c)
