"""``simulate(scenario) -> Result``: the one entry point scripts, notebooks and the CLI use."""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gpu import Backend, BackendUnavailableError, PluginCall, get_backend
from scheduler.cluster import Cluster
from scheduler.errors import InputError, InputTypeError, Problem
from scheduler.interrupt import StopControl
from scheduler.job_spill import StreamOptions, materialize, spilling_tables, stream_options
from scheduler.jobs import JobTable
from scheduler.loading import apply_override, load_scenario, parse_override, validate_data
from scheduler.memory import check_memory
from scheduler.network import Network
from scheduler.placement_config import build_plugin_calls
from scheduler.policies import resolve_queue
from scheduler.power import PowerModel
from scheduler.results import Result
from scheduler.runtime.engine import Engine
from scheduler.runtime.parts import EngineParts
from scheduler.runtime.timeline import start_timeline
from scheduler.scenario import Scenario
from scheduler.services import ServiceManager
from scheduler.signals import Signal, build_grid
from scheduler.signals.dates import parse_start
from scheduler.sources import TenantNames, WorkloadSource, build_sources
from scheduler.summarize import build_result

if TYPE_CHECKING:
    from scheduler.progress import Progress


def draw_seed() -> int:
    """A fresh seed from the OS, recorded in the results so the run can be repeated."""
    return int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def resolve_scenario(scenario: Scenario | str | Path | dict[str, Any],
                     overrides: Iterable[str] = ()) -> Scenario:
    """A :class:`Scenario` from a model, a file path or a dict, with ``--set`` overrides."""
    overrides = list(overrides)
    if not isinstance(scenario, Scenario | str | Path | dict):
        raise InputTypeError(f"expected a Scenario, a file path or a dict of scenario fields "
                             f"(got {type(scenario).__name__})", "scenario")
    if isinstance(scenario, str | Path):
        return load_scenario(scenario, overrides)
    if isinstance(scenario, dict):
        data = scenario
    else:
        if not overrides:
            return scenario
        data = scenario.model_dump(mode="json", exclude_none=True)
    for item in overrides:
        dotted, value = parse_override(item)
        data = apply_override(data, dotted, value)
    base = scenario.source_dir if isinstance(scenario, Scenario) else None
    return validate_data(data, base_dir=base)


def grid_signals(scenario: Scenario) -> tuple[list[Signal | None], list[Signal | None]]:
    """Carbon and price signals per site (a site's own grid, else the scenario's)."""
    carbon: list[Signal | None] = []
    price: list[Signal | None] = []
    start = parse_start(scenario.start)
    for s, site in enumerate(scenario.sites):
        grid = site.grid if site.grid is not None else scenario.grid
        where = f"sites.{s}.grid" if site.grid is not None else "grid"
        site_carbon, site_price = build_grid(grid, scenario.source_dir, where, start)
        carbon.append(site_carbon)
        price.append(site_price)
    return carbon, price


def build_engine(scenario: Scenario, backend: Backend, seed: int, filters: list[PluginCall],
                 scores: list[PluginCall], sources: list[WorkloadSource] | None = None,
                 progress: Any = None, stop: StopControl | None = None,
                 jobs: JobTable | None = None) -> Engine:
    """The engine of one run, with its parts built from the scenario (``jobs``: the job
    table to fill, a plain one by default)."""
    cluster = Cluster(scenario)
    tenants = TenantNames()
    if sources is None:
        sources = build_sources(scenario, cluster.type_index, seed, tenants)
    carbon, price = grid_signals(scenario)
    plan = resolve_queue(scenario.policy)
    engine = Engine(EngineParts(
        scenario=scenario, seed=seed, backend=backend, cluster=cluster,
        power=PowerModel(scenario, cluster), network=Network(scenario),
        jobs=JobTable() if jobs is None else jobs,
        tenants=tenants, sources=sources, carbon=carbon, price=price, filters=filters,
        scores=scores, make_policy=plan.bind,
        make_services=lambda handle: ServiceManager(handle, scenario, cluster, seed),
        rng=np.random.SeedSequence([seed, 0x5EED]), progress=progress, stop=stop))
    start_timeline(engine)  # before the run: groups not yet online start down
    return engine


def _check_limits(max_wall_time_s: object, max_events: object) -> None:
    """Refuse limits that cannot mean anything (a negative event count would stop at once,
    a NaN wall time never), as the CLI's ``--max-events`` and ``--max-wall-time`` do."""
    problems = []
    if max_events is not None and (isinstance(max_events, bool) or not isinstance(
            max_events, int | np.integer) or max_events < 1):
        problems.append(Problem("max_events", f"must be a whole number >= 1 (got {max_events!r})"))
    if max_wall_time_s is not None and (
            isinstance(max_wall_time_s, bool) or not isinstance(max_wall_time_s, int | float)
            or not 0 < max_wall_time_s < math.inf):
        problems.append(Problem("max_wall_time_s", "must be a number > 0 of seconds "
                                f"(got {max_wall_time_s!r})"))
    if problems:
        raise InputError(problems)


def simulate(scenario: Scenario | str | Path | dict[str, Any], *, seed: int | None = None,
             backend: str | None = None, overrides: Iterable[str] = (),
             filters: list[PluginCall] | None = None,
             scores: list[PluginCall] | None = None,
             progress: Progress | None = None, stop: StopControl | None = None,
             max_wall_time_s: float | None = None, max_events: int | None = None,
             stream_to: str | Path | StreamOptions | None = None) -> Result:
    """Run one simulation and return its :class:`Result`.

    ``seed`` and ``backend`` override the scenario's; ``filters``/``scores`` replace the
    plugins named in ``policy.placement`` (e.g. with a plugin defined in a notebook).
    ``progress`` (a :class:`scheduler.progress.Progress`) is updated with the simulated
    time and event count while the run goes on. ``max_wall_time_s`` / ``max_events`` (or a
    shared ``stop`` control, e.g. set by a signal handler) end the run early with partial
    results marked ``interrupted``. ``stream_to`` (a directory) streams job records and
    segments to Parquet files there during the run, keeping only live jobs in memory
    (docs/streaming.md); the result is the same.
    Raises :class:`InputError` for any invalid input.
    """
    _check_limits(max_wall_time_s, max_events)
    model = resolve_scenario(scenario, overrides)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                             or not 0 <= seed < 2**63):
        raise InputError(f"must be a whole number in [0, 2^63) (got {seed!r})", "seed")
    check_memory(model, streamed=stream_to is not None)
    run_seed = seed if seed is not None else (model.seed if model.seed is not None else draw_seed())
    try:
        chosen = get_backend(backend or model.backend)
    except BackendUnavailableError as exc:
        raise InputError(str(exc), "backend") from None
    site_names = [site.name for site in model.sites]
    default_filters, default_scores = build_plugin_calls(model.policy.placement, site_names)
    if stop is None:
        stop = StopControl(max_wall_time_s, max_events)
    else:
        stop.max_wall_time_s = stop.max_wall_time_s or max_wall_time_s
        stop.max_events = stop.max_events or max_events
    spill = spilling_tables(stream_options(stream_to)) if stream_to is not None else None
    engine = build_engine(model, chosen, run_seed,
                          filters if filters is not None else default_filters,
                          scores if scores is not None else default_scores,
                          progress=progress, stop=stop,
                          jobs=spill[0] if spill is not None else None)
    if spill is not None:
        engine.segments = spill[1]
    wall = engine.run()
    if spill is not None:  # the summary reads whole tables: read them back
        engine.jobs, engine.segments = materialize(*spill)
    else:
        engine.jobs.drop_run_only()
    stop.finish()  # a signal from now on did not cut the run short: results stay complete
    # The seed used is the seed recorded (also when --seed overrode the scenario's).
    scenario_text = model.model_copy(update={"seed": run_seed}).model_dump_json(indent=2)
    result = build_result(engine.record(), wall, model.name, scenario_text)
    result.summary["start_date"] = model.start  # simulation time 0: 00:00 local time
    return result
