"""The sweep file and its plan: a base scenario, overrides by dotted path, and seeds.

A sweep file names a base scenario and the values to try::

    scenario: mmc.yaml                  # relative to the sweep file
    grid:                               # every combination of these
      sites.0.nodes.0.count: [14, 16, 18]
    zip:                                # these move together (equal lengths), x the grid
      workloads.0.arrival.rate_per_hour: [12, 13.5]
      name: [low, high]
    set: {duration: 48h}                # the same for every run
    seeds: [1, 2, 3]                    # or {count: 8, root: 2024}

:func:`plan_sweep` reads and checks it and expands it into runs. Every parameter point is
validated against the scenario schema before anything runs, so a value that makes the
scenario invalid is reported up front (all of them at once), not as a failed run.
Overrides use the same dotted-path logic as ``clustersim run --set``
(:func:`scheduler.loading.apply_override`), with values given as YAML values.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Discriminator, Field, Tag, ValidationError

from scheduler.errors import InputError, Problem
from scheduler.loading import (
    LineMap,
    apply_override,
    parse_document,
    problems_from_validation,
    read_text,
    validate_data,
)
from scheduler.placement_config import build_plugin_calls
from scheduler.scenario import Scenario
from scheduler.scenario_base import StrictModel

MAX_RUNS = 1_000_000
"""More runs than this in one sweep is almost certainly a mistake in the grid."""

RESERVED_COLUMNS = ("run_id", "point_id", "seed", "status", "error", "wall_s", "finished_at")
"""Columns of ``runs.*`` that are not metrics or parameters."""

Seed = Annotated[int, Field(ge=0, lt=2**63)]
Values = Annotated[list[Any], Field(min_length=1)]


class SeedCount(StrictModel):
    """``count`` seeds derived reproducibly from ``root`` (``numpy.random.SeedSequence``)."""

    count: int = Field(ge=1, le=100_000)
    """How many seeds (replications per parameter point)."""
    root: Seed = 0
    """Entropy of the parent ``SeedSequence``; the same root always gives the same seeds."""


def _seeds_kind(value: Any) -> str:
    return "[count]" if isinstance(value, dict | SeedCount) else "[list]"


SeedsSpec = Annotated[
    Annotated[list[Seed], Tag("[list]")] | Annotated[SeedCount, Tag("[count]")],
    Discriminator(_seeds_kind),
]
"""A list of seeds, or ``{count: N, root: R}``."""


class SweepSpec(StrictModel):
    """A sweep: a base scenario, the overrides to vary, the seeds, where and how to run."""

    scenario: str | dict[str, Any]
    """Base scenario file (relative to the sweep file), or the scenario itself as a mapping."""
    grid: dict[str, Values] = Field(default_factory=dict)
    """Dotted path -> values; every combination of these is a parameter point."""
    zip_: dict[str, Values] = Field(default_factory=dict, alias="zip")
    """Dotted path -> values of equal lengths, taken together (the k-th of each), crossed
    with the grid."""
    seeds: SeedsSpec | None = None
    """Seeds run at every point: a list, or ``{count: N, root: R}``. Default: the scenario's
    own seed (one run per point)."""
    set_: dict[str, Any] = Field(default_factory=dict, alias="set")
    """Dotted path -> value applied to every run (like ``clustersim run --set``)."""
    executor: Literal["local", "dask"] = "local"
    """``local``: a process pool on this machine; ``dask``: a dask.distributed cluster."""
    dask_address: str | None = None
    """Address of the dask scheduler (``tcp://host:8786``); without one, ``executor: dask``
    starts a local dask cluster of ``workers`` processes."""
    workers: int | None = Field(default=None, ge=1, le=4096)
    """Parallel runs on the local executor (default: the number of CPUs)."""
    out: str | None = None
    """Output folder (relative to the sweep file): ``runs.<format>``, ``aggregate.csv``."""
    format: Literal["csv", "parquet"] = "csv"
    """Format of the per-run table (and of per-run tables under ``runs/``)."""
    save_runs: bool = False
    """Also save every run's full result under ``out/runs/<run_id>/`` (``Result.save``)."""


@dataclass(frozen=True)
class Point:
    """One parameter point: the overrides that vary, and the scenario they produce."""

    params: dict[str, Any]
    """Dotted path -> value, grid paths first, then zip paths (file order)."""
    point_id: str
    """Hash of the effective scenario (base + ``set`` + params)."""
    scenario: dict[str, Any]
    """The effective scenario data (validated)."""


@dataclass(frozen=True)
class PlannedRun:
    """One run: a point and a seed."""

    run_id: str
    """Hash of the effective scenario and the seed: the key that makes sweeps resumable."""
    point: Point
    seed: int


@dataclass
class SweepPlan:
    """A checked sweep, expanded into runs in a fixed order (points x seeds)."""

    spec: SweepSpec
    source: str
    """The sweep file (or ``<sweep>`` for a spec given as a mapping)."""
    folder: Path
    """Relative paths of the sweep (``scenario``, ``out``) are resolved from here."""
    scenario_dir: Path | None
    """Folder relative paths inside the scenario are resolved from."""
    parameters: list[str]
    """Dotted paths that vary (grid, then zip): the parameter columns."""
    seeds: list[int]
    points: list[Point]
    runs: list[PlannedRun] = field(default_factory=list)

    @property
    def out(self) -> Path | None:
        """The ``out`` folder of the sweep file, resolved from its folder (None if unset)."""
        return None if self.spec.out is None else self.folder / self.spec.out

    def manifest(self) -> dict[str, Any]:
        """What the sweep is, as JSON-ready data (written to ``out/sweep.json``)."""
        scenario = self.spec.scenario
        return {
            "sweep": self.source,
            "scenario": scenario if isinstance(scenario, str) else "(inline)",
            "parameters": self.parameters,
            "grid": self.spec.grid,
            "zip": self.spec.zip_,
            "set": self.spec.set_,
            "seeds": self.seeds,
            "points": len(self.points),
            "runs": len(self.runs),
            "format": self.spec.format,
        }


# --------------------------------------------------------------------------- helpers


def digest(value: Any) -> str:
    """A short stable hash of JSON-ready data (key order does not matter)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def column_value(value: Any) -> Any:
    """A parameter value as a table cell: scalars as they are, lists and maps as JSON."""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return value


def derive_seeds(count: int, root: int) -> list[int]:
    """``count`` seeds from ``SeedSequence(root)``: one child per seed, 63-bit each."""
    children = np.random.SeedSequence(root).spawn(count)
    return [int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for child in children]


def _line(source: str, lines: LineMap, parts: tuple[str, ...]) -> str:
    """``source:line`` of the longest prefix of ``parts`` whose line is known."""
    for cut in range(len(parts), -1, -1):
        line = lines.get(parts[:cut])
        if line is not None:
            return f"{source}:{line}"
    return source


def _located(source: str, lines: LineMap, parts: tuple[str, ...]) -> str:
    """``source:line: dotted.path``, the line of the longest known prefix of ``parts``."""
    path = ".".join(parts)
    where = _line(source, lines, parts)
    return f"{where}: {path}" if path else where


def _label(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{path}={column_value(value)}" for path, value in params.items())


# --------------------------------------------------------------------------- reading


def _read_spec(spec_or_path: SweepSpec | Mapping[str, Any] | str | Path
               ) -> tuple[SweepSpec, str, LineMap, Path, Scenario | None]:
    """The validated spec, its source label, line map and folder."""
    if isinstance(spec_or_path, SweepSpec):
        return spec_or_path, "<sweep>", {}, Path.cwd(), None
    inline: Scenario | None = None
    if isinstance(spec_or_path, str | Path):
        file = Path(spec_or_path)
        source = str(file)
        data, lines = parse_document(read_text(file), source)
        folder = file.resolve().parent
    elif isinstance(spec_or_path, Mapping):
        data, lines, source, folder = dict(spec_or_path), {}, "<sweep>", Path.cwd()
        if isinstance(data.get("scenario"), Scenario):  # a model from a notebook
            inline = data["scenario"]
            data["scenario"] = inline.model_dump(mode="json", exclude_none=True)
    else:
        raise InputError(f"expected a sweep file path, a mapping or a SweepSpec "
                         f"(got {type(spec_or_path).__name__})", "sweep")
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping of sweep fields at the top level "
                         f"(got {type(data).__name__})", source)
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        problems = problems_from_validation(exc, lines, source)
        raise InputError([Problem(p.where, p.message.replace("scenario schema", "sweep file"))
                          for p in problems]) from None
    return spec, source, lines, folder, inline


def _check_spec(spec: SweepSpec, source: str, lines: LineMap) -> list[Problem]:
    """Cross-field problems of the sweep file itself."""
    problems: list[Problem] = []
    sections = (("grid", spec.grid), ("zip", spec.zip_), ("set", spec.set_))
    seen: dict[str, str] = {}
    for section, entries in sections:
        for path in entries:
            where = _located(source, lines, (section, path))
            parts = path.split(".")
            if not path or any(not part for part in parts):
                problems.append(Problem(where, f"not a dotted path: {path!r}"))
            elif parts[0] == "seed":
                problems.append(Problem(where, "the seed is not a parameter; list the seeds "
                                               "under 'seeds:'"))
            elif path in RESERVED_COLUMNS:
                problems.append(Problem(where, f"{path!r} is a column name of the runs table"))
            if path in seen:
                problems.append(Problem(where, f"{path!r} is also under {seen[path]!r}; give "
                                               "each path in one place"))
            else:
                for other in seen:
                    if other.startswith(path + ".") or path.startswith(other + "."):
                        problems.append(Problem(where, f"{path!r} overlaps {other!r}; one "
                                                       "would overwrite the other"))
            seen.setdefault(path, section)
    lengths = {path: len(values) for path, values in spec.zip_.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{path}: {n}" for path, n in lengths.items())
        problems.append(Problem(_located(source, lines, ("zip",)),
                                f"zip lists must all have the same length (got {shown})"))
    if isinstance(spec.seeds, list):
        repeated = sorted({s for s in spec.seeds if spec.seeds.count(s) > 1})
        if repeated:
            problems.append(Problem(_located(source, lines, ("seeds",)),
                                    f"repeated seeds: {', '.join(map(str, repeated))}"))
    if spec.dask_address is not None and spec.executor != "dask":
        problems.append(Problem(_located(source, lines, ("dask_address",)),
                                "dask_address is set but executor is 'local'; "
                                "add 'executor: dask'"))
    if spec.format == "parquet" and importlib.util.find_spec("pyarrow") is None:
        problems.append(Problem(_located(source, lines, ("format",)),
                                "parquet needs pyarrow (pip install pyarrow), or use csv"))
    return problems


def _read_scenario(spec: SweepSpec, source: str, lines: LineMap, folder: Path,
                   inline: Scenario | None
                   ) -> tuple[dict[str, Any], Path | None, str, LineMap]:
    """The base scenario data, the folder its relative paths start from, its name and lines."""
    if isinstance(spec.scenario, dict):
        scenario_dir = inline.source_dir if inline is not None else folder
        return copy.deepcopy(spec.scenario), scenario_dir, _line(source, lines, ("scenario",)), {}
    file = Path(spec.scenario).expanduser()
    if not file.is_absolute():
        file = folder / file
    try:
        data, scenario_lines = parse_document(read_text(file), str(file))
    except InputError as exc:
        where = _located(source, lines, ("scenario",))
        raise InputError([Problem(where, f"{p.where}: {p.message}" if p.where else p.message)
                          for p in exc.problems]) from None
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping of scenario fields (got {type(data).__name__})",
                         str(file))
    return data, file.resolve().parent, str(file), scenario_lines


def _seeds(spec: SweepSpec, scenario: dict[str, Any], source: str, lines: LineMap) -> list[int]:
    if isinstance(spec.seeds, SeedCount):
        return derive_seeds(spec.seeds.count, spec.seeds.root)
    if isinstance(spec.seeds, list):
        return list(spec.seeds)
    seed = scenario.get("seed")
    if isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < 2**63:
        return [seed]
    raise InputError("required: the scenario has no seed, so list the seeds "
                     "(seeds: [1, 2, 3] or seeds: {count: 8, root: 1})",
                     _located(source, lines, ("seeds",)))


# --------------------------------------------------------------------------- planning


def _points(spec: SweepSpec) -> list[tuple[dict[str, Any], dict[str, tuple[str, str, str]]]]:
    """Every parameter point, with where each of its values is written in the sweep file."""
    zip_rows: list[tuple[int, ...]] = (
        [(k,) * len(spec.zip_) for k in range(len(next(iter(spec.zip_.values()))))]
        if spec.zip_ else [()])
    points = []
    for combo in itertools.product(*(range(len(v)) for v in spec.grid.values())):
        for row in zip_rows:
            params: dict[str, Any] = {}
            origin: dict[str, tuple[str, str, str]] = {}
            for section, entries, indices in (("grid", spec.grid, combo),
                                              ("zip", spec.zip_, row)):
                for (path, values), k in zip(entries.items(), indices, strict=True):
                    params[path] = values[k]
                    origin[path] = (section, path, str(k))
            points.append((params, origin))
    return points


def _validate_point(data: dict[str, Any], scenario_dir: Path | None) -> list[Problem]:
    """Problems of one effective scenario (schema, references, placement plugins)."""
    try:
        scenario = validate_data(data, base_dir=scenario_dir)
        build_plugin_calls(scenario.policy.placement, [site.name for site in scenario.sites])
    except InputError as exc:
        return exc.problems
    return []


def _owner(field_path: str, paths: list[str]) -> str | None:
    """The override path that ``field_path`` lies under (the longest), if any."""
    owners = [p for p in paths if field_path == p or field_path.startswith(p + ".")]
    return max(owners, key=len) if owners else None


def plan_sweep(spec_or_path: SweepSpec | Mapping[str, Any] | str | Path, *,
               format: str | None = None) -> SweepPlan:
    """Read and check a sweep, validate every parameter point, and list its runs.

    Raises :class:`InputError` with every problem found: in the sweep file, in its base
    scenario, and at each parameter point (a problem shared by all points is listed once).
    """
    spec, source, lines, folder, inline = _read_spec(spec_or_path)
    if format is not None and format != spec.format:
        spec = spec.model_copy(update={"format": format})
    problems = _check_spec(spec, source, lines)
    if problems:
        raise InputError(problems)
    base, scenario_dir, scenario_source, scenario_lines = _read_scenario(
        spec, source, lines, folder, inline)
    seeds = _seeds(spec, base, source, lines)

    n_points = math.prod(len(v) for v in spec.grid.values()) * (
        len(next(iter(spec.zip_.values()))) if spec.zip_ else 1)
    if n_points * len(seeds) > MAX_RUNS:
        raise InputError(f"{n_points:,} points x {len(seeds):,} seeds = "
                         f"{n_points * len(seeds):,} runs; the limit is {MAX_RUNS:,}",
                         _line(source, lines, ("grid",)))

    # Fixed overrides first; then each varying path is checked once against the result.
    for path, value in spec.set_.items():
        try:
            base = apply_override(base, path, copy.deepcopy(value))
        except InputError as exc:
            problems += [Problem(_located(source, lines, ("set", path)), p.message)
                         for p in exc.problems]
    for section, entries in (("grid", spec.grid), ("zip", spec.zip_)):
        for path, values in entries.items():
            try:
                apply_override(copy.deepcopy(base), path, copy.deepcopy(values[0]))
            except InputError as exc:
                problems += [Problem(_located(source, lines, (section, path)), p.message)
                             for p in exc.problems]
    if problems:
        raise InputError(problems)

    parameters = [*spec.grid, *spec.zip_]
    points: list[Point] = []
    # (field path, message, culprit path) -> [(sweep-file line of its value, params)]
    failures: dict[tuple[str, str, str | None], list[tuple[str | None, dict[str, Any]]]] = {}
    for params, origin in _points(spec):
        data = copy.deepcopy(base)
        found: list[Problem] = []
        for path, value in params.items():
            try:
                data = apply_override(data, path, copy.deepcopy(value))
            except InputError as exc:
                found += [Problem(path, p.message) for p in exc.problems]
        if not found:
            found = _validate_point(data, scenario_dir)
        for problem in found:
            owner = _owner(problem.where, parameters)
            where = _line(source, lines, origin[owner]) if owner else None
            failures.setdefault((problem.where, problem.message, owner), []).append(
                (where, params))
        if not found:
            points.append(Point(dict(params), digest(data), data))

    for (field_path, message, owner), hits in failures.items():
        shown = f"{field_path}: {message}" if field_path else message
        if len(hits) == n_points and owner is None:
            # Not caused by a varying value: the base scenario or a fixed override.
            fixed = _owner(field_path, list(spec.set_))
            where = (_located(source, lines, ("set", fixed)) if fixed else
                     _located(scenario_source, scenario_lines, tuple(field_path.split("."))))
            problems.append(Problem(where, message))
            continue
        if owner is None:  # a combination of values: name each point
            problems += [Problem(_line(source, lines, ("scenario",)),
                                 f"point {{{_label(params)}}}: {shown}") for _, params in hits]
            continue
        by_line: dict[str, list[dict[str, Any]]] = {}
        for where, params in hits:
            by_line.setdefault(where or source, []).append(params)
        for where, group in by_line.items():
            if len(group) == 1:
                label = f"point {{{_label(group[0])}}}"
            else:
                label = (f"{owner}={column_value(group[0][owner])} "
                         f"({len(group)} of {n_points} points)")
            problems.append(Problem(where, f"{label}: {shown}"))
    if problems:
        raise InputError(problems)

    plan = SweepPlan(spec, source, folder, scenario_dir, parameters, seeds, points)
    seen: dict[str, dict[str, Any]] = {}
    for point in points:
        for seed in seeds:
            run_id = digest({"scenario": point.scenario, "seed": seed})
            if run_id in seen:
                if seed == seeds[0]:
                    problems.append(Problem(
                        _line(source, lines, ("grid",) if spec.grid else ("zip",)),
                        f"points {{{_label(seen[run_id])}}} and {{{_label(point.params)}}} "
                        "give the same scenario (a repeated value?)"))
                continue
            seen[run_id] = point.params
            plan.runs.append(PlannedRun(run_id, point, seed))
    if problems:
        raise InputError(problems)
    return plan
