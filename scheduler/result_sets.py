"""Result sets: what ``clustersim compare`` reads from each folder it is given.

A folder is either one run's output (``summary.json`` and its tables, read with
:meth:`Result.load`) or a folder of replications: run folders of the same scenario, one per
seed, as direct subfolders (``rep-1/``, ``rep-2/`` ... or any names; each with its own
``summary.json``). ``rep-K`` subfolders make a folder one of replications even when it holds
a ``summary.json`` of its own (an aggregate written beside them). A replicated metric is reported as its mean over the runs with a Student t
95 % confidence interval::

    mean = sum(x) / n
    s    = sqrt(sum((x - mean)**2) / (n - 1))          # sample standard deviation
    half = t(0.975, n - 1) * s / sqrt(n)               # NaN when n < 2

the same interval as a sweep's ``aggregate.csv`` (:mod:`scheduler.sweeps.stats`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scheduler.errors import InputError, Problem
from scheduler.results import Result, ResultsError

CONFIDENCE = 0.95
_REPLICATION = re.compile(r"^rep-(\d+)$")


@dataclass(frozen=True)
class Interval:
    """A metric over the runs of a set: ``mean`` and the half-width ``half`` of its 95 %
    interval (NaN for one run, or when fewer than two runs have a value), over ``n`` values."""

    mean: float
    half: float
    n: int

    @property
    def low(self) -> float:
        return self.mean - self.half

    @property
    def high(self) -> float:
        return self.mean + self.half


def mean_interval(values: Sequence[Any]) -> Interval:
    """:class:`Interval` of the finite numbers among ``values`` (``None`` and NaN skipped)."""
    from scheduler.sweeps.stats import student_t_quantile

    numbers = np.array([float(v) for v in values
                        if isinstance(v, int | float) and not isinstance(v, bool)
                        and math.isfinite(float(v))], dtype=float)
    if len(numbers) == 0:
        return Interval(math.nan, math.nan, 0)
    mean = float(numbers.mean())
    if len(numbers) < 2:
        return Interval(mean, math.nan, 1)
    quantile = student_t_quantile((1.0 + CONFIDENCE) / 2.0, len(numbers) - 1)
    half = quantile * float(numbers.std(ddof=1)) / math.sqrt(len(numbers))
    return Interval(mean, half, len(numbers))


@dataclass
class ResultSet:
    """The runs read from one folder: one run, or the replications of one scenario."""

    label: str
    """How tables and legends name the set: the folder as the user gave it."""
    path: Path
    runs: list[Result]
    replicated: bool
    """True for a folder of run folders (even one holding a single replication)."""

    @property
    def scenario(self) -> str:
        return str(self.runs[0].summary.get("scenario", ""))

    def metric(self, key: str) -> Interval:
        """A flat summary key over the runs."""
        return mean_interval([run.summary.get(key) for run in self.runs])

    def site_metric(self, site: str, key: str) -> Interval:
        """A per-site summary key (``summary["sites"][site][key]``) over the runs."""
        return mean_interval([((run.summary.get("sites") or {}).get(site) or {}).get(key)
                              for run in self.runs])


def _replication_order(path: Path) -> tuple[float, str]:
    match = _REPLICATION.match(path.name)
    return (float(match[1]) if match else math.inf, path.name)


def replication_folders(folder: Path) -> list[Path]:
    """The run folders of a folder of replications: its ``rep-K`` subfolders with a
    ``summary.json``, by K; when it has none, every subfolder with a ``summary.json``, by name.
    (A folder of ``rep-K`` runs may hold files of its own beside them, such as an aggregate.)"""
    if not folder.is_dir():
        return []
    runs = [child for child in folder.iterdir()
            if child.is_dir() and (child / "summary.json").is_file()]
    numbered = [child for child in runs if _REPLICATION.match(child.name)]
    return sorted(numbered or runs, key=_replication_order)


def load_result_set(directory: str | Path, label: str | None = None) -> ResultSet:
    """Read a run folder or a folder of replications; :class:`InputError` (one line per
    problem, naming the folder) when it is neither, or a run in it is damaged."""
    folder = Path(directory)
    name = label if label is not None else str(directory)
    numbered = [p for p in replication_folders(folder) if _REPLICATION.match(p.name)]
    if not folder.is_dir() or ((folder / "summary.json").exists() and not numbered):
        return ResultSet(name, folder, [Result.load(folder)], replicated=False)
    children = replication_folders(folder)
    if not children:
        hint = (" (a sweep folder: see `clustersim report` on it)"
                if any((folder / f"runs.{ext}").is_file() for ext in ("csv", "parquet"))
                else "")
        raise ResultsError("not a result set: no summary.json here and no run folders "
                           f"(rep-*/summary.json) below{hint}", str(folder))
    runs: list[Result] = []
    problems: list[Problem] = []
    for child in children:
        try:
            runs.append(Result.load(child))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    scenarios = sorted({str(run.summary.get("scenario")) for run in runs})
    if len(scenarios) > 1:
        raise ResultsError("the run folders below are not replications of one scenario "
                           f"(found {', '.join(scenarios)}); compare them as separate "
                           "folders", str(folder))
    return ResultSet(name, folder, runs, replicated=True)


def load_result_sets(directories: Sequence[str | Path]) -> list[ResultSet]:
    """:func:`load_result_set` for each folder; every bad folder is reported, not the first."""
    sets: list[ResultSet] = []
    problems: list[Problem] = []
    for directory in directories:
        try:
            sets.append(load_result_set(directory))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    return sets
