"""``simulate(scenario) -> Result``: the one entry point scripts, notebooks and the CLI use."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gpu import BackendUnavailableError, PluginCall, get_backend
from scheduler.engine import Engine
from scheduler.errors import InputError
from scheduler.interrupt import StopControl
from scheduler.loading import apply_override, load_scenario, parse_override, validate_data
from scheduler.placement_config import build_plugin_calls
from scheduler.results import Result
from scheduler.scenario import Scenario
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


def simulate(scenario: Scenario | str | Path | dict[str, Any], *, seed: int | None = None,
             backend: str | None = None, overrides: Iterable[str] = (),
             filters: list[PluginCall] | None = None,
             scores: list[PluginCall] | None = None,
             progress: Progress | None = None, stop: StopControl | None = None,
             max_wall_time_s: float | None = None, max_events: int | None = None) -> Result:
    """Run one simulation and return its :class:`Result`.

    ``seed`` and ``backend`` override the scenario's; ``filters``/``scores`` replace the
    plugins named in ``policy.placement`` (e.g. with a plugin defined in a notebook).
    ``progress`` (a :class:`scheduler.progress.Progress`) is updated with the simulated
    time and event count while the run goes on. ``max_wall_time_s`` / ``max_events`` (or a
    shared ``stop`` control, e.g. set by a signal handler) end the run early with partial
    results marked ``interrupted``.
    Raises :class:`InputError` for any invalid input.
    """
    model = resolve_scenario(scenario, overrides)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                             or not 0 <= seed < 2**63):
        raise InputError(f"must be a whole number in [0, 2^63) (got {seed!r})", "seed")
    run_seed = seed if seed is not None else (model.seed if model.seed is not None else draw_seed())
    try:
        chosen = get_backend(backend or model.backend)
    except BackendUnavailableError as exc:
        raise InputError(str(exc), "backend") from None
    site_names = [site.name for site in model.sites]
    default_filters, default_scores = build_plugin_calls(model.policy.placement, site_names)
    # Passed only when given, so an Engine without the keyword still runs.
    extra: dict[str, Any] = {} if progress is None else {"progress": progress}
    if stop is None:
        stop = StopControl(max_wall_time_s, max_events)
    else:
        stop.max_wall_time_s = stop.max_wall_time_s or max_wall_time_s
        stop.max_events = stop.max_events or max_events
    engine = Engine(model, chosen, run_seed,
                    filters if filters is not None else default_filters,
                    scores if scores is not None else default_scores, stop=stop, **extra)
    wall = engine.run()
    stop.finish()  # a signal from now on did not cut the run short: results stay complete
    # The seed used is the seed recorded (also when --seed overrode the scenario's).
    scenario_text = model.model_copy(update={"seed": run_seed}).model_dump_json(indent=2)
    return build_result(engine, wall, model.name, scenario_text)
