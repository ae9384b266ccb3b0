"""Cross-field checks of a scenario: names that must exist, be unique, or be reachable.

Returns problems instead of raising so that the loader reports them with the field errors'
file:line prefixes. Paths are dotted (``workloads.1.gpu_types.0``).
"""

from __future__ import annotations

from collections import Counter

from scheduler.catalog import builtin_gpu_types
from scheduler.errors import Problem
from scheduler.growth import check_growth
from scheduler.memory import workload_expected_jobs
from scheduler.scenario import InferenceWorkload, Scenario, TraceWorkload
from scheduler.suggest import did_you_mean

MAX_EXPECTED_JOBS = 50_000_000
MAX_TOTAL_NODES = 20_000_000


def known_gpu_types(scenario: Scenario) -> set[str]:
    return set(builtin_gpu_types()) | set(scenario.gpu_types)


def check_references(scenario: Scenario) -> list[Problem]:
    """Every cross-field problem of ``scenario`` (empty list when it is consistent)."""
    problems: list[Problem] = []
    builtin = builtin_gpu_types()
    for name, spec in scenario.gpu_types.items():
        if name not in builtin:
            missing = [f for f in ("busy_w", "idle_w", "memory_gb") if getattr(spec, f) is None]
            if missing:
                problems.append(Problem(f"gpu_types.{name}",
                                        f"new GPU type needs {', '.join(missing)} "
                                        f"(built-in types: {', '.join(sorted(builtin))})"))
        base = builtin.get(name)
        idle = spec.idle_w if spec.idle_w is not None else (base.idle_w if base else None)
        busy = spec.busy_w if spec.busy_w is not None else (base.busy_w if base else None)
        if idle is not None and busy is not None and idle > busy:
            problems.append(Problem(f"gpu_types.{name}.idle_w",
                                    f"idle power {idle:g} W exceeds busy power {busy:g} W"))

    known = known_gpu_types(scenario)
    for name, count in Counter(s.name for s in scenario.sites).items():
        if count > 1:
            problems.append(Problem("sites", f"site name {name!r} is used {count} times"))
    present: set[str] = set()
    total_nodes = 0
    for i, site in enumerate(scenario.sites):
        for j, group in enumerate(site.nodes):
            total_nodes += group.count
            if group.gpu not in known:
                problems.append(Problem(f"sites.{i}.nodes.{j}.gpu",
                                        f"unknown GPU type {group.gpu!r}; known: "
                                        f"{', '.join(sorted(known))} (add it under gpu_types)"
                                        f"{did_you_mean(group.gpu, known)}"))
            else:
                present.add(group.gpu)
    if total_nodes == 0:
        problems.append(Problem("sites", "no site has any nodes"))
    if total_nodes > MAX_TOTAL_NODES:
        problems.append(Problem("sites", f"{total_nodes:,} nodes in all; the limit is "
                                         f"{MAX_TOTAL_NODES:,}"))

    site_names = {site.name for site in scenario.sites}
    for k, link in enumerate(scenario.network.links):
        for end in ("a", "b"):
            if getattr(link, end) not in site_names:
                problems.append(Problem(f"network.links.{k}.{end}",
                                        f"unknown site {getattr(link, end)!r}; sites: "
                                        f"{', '.join(s.name for s in scenario.sites)}"))

    for name, count in Counter(w.name for w in scenario.workloads).items():
        if count > 1:
            problems.append(Problem("workloads", f"workload name {name!r} is used {count} times"))
    for i, workload in enumerate(scenario.workloads):
        for k, gpu in enumerate(workload.gpu_types or []):
            if gpu not in known:
                problems.append(Problem(f"workloads.{i}.gpu_types.{k}",
                                        f"unknown GPU type {gpu!r}{did_you_mean(gpu, known)}"))
            elif gpu not in present and total_nodes:
                problems.append(Problem(f"workloads.{i}.gpu_types.{k}",
                                        f"no site has {gpu} nodes (present: "
                                        f"{', '.join(sorted(present))})"))
        if not isinstance(workload, InferenceWorkload):  # services check theirs below
            for gpu in workload.speedup or {}:
                if gpu not in known:
                    problems.append(Problem(f"workloads.{i}.speedup.{gpu}",
                                            f"unknown GPU type {gpu!r}{did_you_mean(gpu, known)}"))
            if workload.reference_gpu is not None and workload.reference_gpu not in known:
                problems.append(Problem(
                    f"workloads.{i}.reference_gpu", f"unknown GPU type {workload.reference_gpu!r}"
                    f"{did_you_mean(workload.reference_gpu, known)}"))
        if isinstance(workload, TraceWorkload):
            if workload.trace.fractional_gpus == "share":
                problems.append(Problem(f"workloads.{i}.trace.fractional_gpus",
                                        "GPU sharing is not modelled yet; use 'round-up' "
                                        "(each fractional job takes one whole GPU)"))
            continue
        if isinstance(workload, InferenceWorkload):
            problems.extend(_check_service(workload, i, known))
            if total_nodes and not any(p.where.startswith(f"workloads.{i}.gpu_types")
                                       for p in problems):
                from scheduler.inference.service_perf import (
                    check_service_model,
                    present_gpu_types,
                )

                problems.extend(check_service_model(workload, i, present_gpu_types(scenario)))
            continue
        expected = workload_expected_jobs(workload, scenario)
        if expected > MAX_EXPECTED_JOBS:
            problems.append(Problem(f"workloads.{i}.arrival.rate_per_hour",
                                    f"about {expected:,.0f} jobs over the horizon; the limit is "
                                    f"{MAX_EXPECTED_JOBS:,} (lower the rate, shorten duration or "
                                    "set max_jobs)"))
    problems.extend(check_growth(scenario))
    return problems


def _check_service(workload: InferenceWorkload, i: int, known: set[str]) -> list[Problem]:
    from scheduler.services import CITIES

    problems = []
    for city in workload.users or {}:
        if city not in CITIES:
            problems.append(Problem(f"workloads.{i}.users.{city}",
                                    f"unknown city {city!r}; known: {', '.join(CITIES)}"))
    if workload.users is not None and sum(workload.users.values()) <= 0:
        problems.append(Problem(f"workloads.{i}.users", "shares must not all be 0"))
    for gpu in workload.speedup or {}:
        if gpu not in known:
            problems.append(Problem(f"workloads.{i}.speedup.{gpu}",
                                    f"unknown GPU type {gpu!r}{did_you_mean(gpu, known)}"))
    scale = workload.autoscale
    if scale.min_replicas > scale.max_replicas:
        problems.append(Problem(f"workloads.{i}.autoscale.min_replicas",
                                f"{scale.min_replicas} is above max_replicas "
                                f"{scale.max_replicas}"))
    return problems
