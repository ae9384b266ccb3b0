"""Samplers for GPU counts and durations, each with its analytical mean where one exists.

Every sampler takes its own ``numpy.random.Generator`` (never global state) and returns
arrays. Durations are clipped to ``[min, cap]`` after sampling (a queue's limits).
"""

from __future__ import annotations

import gzip
import math
import zlib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TextIO

import numpy as np

from scheduler.bounded_io import ReadLimits, open_text
from scheduler.errors import InputError
from scheduler.scenario import (
    EmpiricalDuration,
    ExponentialDuration,
    GpuChoice,
    GpuCount,
    GpuEmpirical,
    LognormalDuration,
    Scenario,
)

BUILTIN_PREFIX = "builtin:"
BUILTIN_DURATIONS = {"philly-runtime": "philly_runtime.csv.gz"}


def sample_gpus(spec: GpuCount, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` GPU counts (int64) from an int, a weighted choice or an empirical list."""
    if isinstance(spec, int):
        return np.full(n, spec, dtype=np.int64)
    if isinstance(spec, GpuChoice):
        values = np.asarray(spec.choice, dtype=np.int64)
        if spec.weights is None:
            return values[rng.integers(0, len(values), size=n)]
        weights = np.asarray(spec.weights, dtype=np.float64)
        return rng.choice(values, size=n, p=weights / weights.sum())
    if isinstance(spec, GpuEmpirical):
        values = np.asarray(spec.empirical, dtype=np.int64)
        return values[rng.integers(0, len(values), size=n)]
    raise TypeError(f"unknown GPU count spec {spec!r}")


def gpu_count_shares(spec: GpuCount) -> dict[int, float]:
    """P(gpus = k) of a GPU count spec (for fragmentation scores and reports)."""
    if isinstance(spec, int):
        return {spec: 1.0}
    if isinstance(spec, GpuChoice):
        weights = spec.weights or [1.0] * len(spec.choice)
        total = float(sum(weights))
        shares: dict[int, float] = {}
        for value, weight in zip(spec.choice, weights, strict=True):
            shares[value] = shares.get(value, 0.0) + weight / total
        return shares
    values, counts = np.unique(np.asarray(spec.empirical), return_counts=True)
    return {int(v): float(c) / len(spec.empirical) for v, c in zip(values, counts, strict=True)}


@cache
def _builtin_values(name: str) -> np.ndarray:
    path = resources.files("scheduler") / "data" / BUILTIN_DURATIONS[name]
    with path.open("rb") as raw, gzip.open(raw, "rt") as handle:
        values = np.loadtxt(handle, skiprows=1, dtype=np.float64, ndmin=1)
    return values


MAX_EMPIRICAL_FILE_BYTES = 64 * 1024 * 1024
"""Most bytes of an empirical-duration file (after decompression): ~ 5 M values."""
MAX_EMPIRICAL_FILE_LINES = 10_000_000
"""Most lines of an empirical-duration file (the values are held in memory, 8 bytes each)."""
EMPIRICAL_FILE_LIMITS = ReadLimits(MAX_EMPIRICAL_FILE_BYTES, MAX_EMPIRICAL_FILE_LINES,
                                   "empirical-duration files")


def _parse_values(handle: TextIO, path: Path) -> list[float]:
    """The first column of each line after the header, as durations >= 0."""
    header = handle.readline()
    if not header:
        raise InputError("empty file", str(path))
    values = []
    for number, line in enumerate(handle, start=2):
        cell = line.split(",")[0].strip()
        if not cell:
            continue
        try:
            value = float(cell)
        except ValueError:
            raise InputError(f"not a number: {cell!r}", f"{path}:{number}") from None
        if not math.isfinite(value) or value < 0:
            raise InputError(f"duration must be finite and >= 0 (got {cell})",
                             f"{path}:{number}")
        values.append(value)
    return values


def _read_values(path: Path, source: str) -> np.ndarray:
    """Durations of an empirical CSV (a header, then one value per line, first column), read
    within :data:`EMPIRICAL_FILE_LIMITS` (64 MiB, 10 M lines) through
    :mod:`scheduler.bounded_io`; ``source`` (the field path) locates open errors."""
    try:
        with open_text(path, EMPIRICAL_FILE_LIMITS, field=source, encoding="utf-8",
                       newline=None) as handle:
            values = _parse_values(handle, path)
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", str(path)) from None
    except (OSError, EOFError, zlib.error) as exc:  # a damaged gzip stream, a failing disk
        raise InputError(f"cannot read: {exc}", str(path)) from None
    if not values:
        raise InputError("no values in file", str(path))
    return np.asarray(values, dtype=np.float64)


def empirical_values(spec: EmpiricalDuration, scenario: Scenario | None, source: str) -> np.ndarray:
    """The observed durations of an empirical spec (list, packaged set, or CSV file)."""
    if spec.values is not None:
        return np.asarray(spec.values, dtype=np.float64) * spec.scale
    assert spec.file is not None
    if spec.file.startswith(BUILTIN_PREFIX):
        name = spec.file.removeprefix(BUILTIN_PREFIX)
        if name not in BUILTIN_DURATIONS:
            raise InputError(f"unknown built-in duration set {name!r}; known: "
                             f"{', '.join(BUILTIN_DURATIONS)}", source)
        return _builtin_values(name) * spec.scale
    path = scenario.resolve_path(spec.file) if scenario is not None else Path(spec.file)
    return _read_values(path, source) * spec.scale


class DurationSampler:
    """Draws durations (seconds) from a duration spec; ``mean`` is the uncapped analytical
    mean (None where there is none in closed form)."""

    def __init__(self, spec: object, scenario: Scenario | None = None, source: str = "") -> None:
        self.spec = spec
        self.low = 1.0
        self.cap = math.inf
        self.values: np.ndarray | None = None
        if isinstance(spec, ExponentialDuration | LognormalDuration | EmpiricalDuration):
            self.low = spec.min
            self.cap = spec.cap if spec.cap is not None else math.inf
        if isinstance(spec, EmpiricalDuration):
            self.values = empirical_values(spec, scenario, source)

    @property
    def mean(self) -> float | None:
        spec = self.spec
        if isinstance(spec, float | int):
            return float(spec)
        if isinstance(spec, ExponentialDuration):
            return spec.mean
        if isinstance(spec, LognormalDuration):
            return spec.median * math.exp(spec.sigma**2 / 2)
        if self.values is not None:
            return float(self.values.mean())
        return None

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        spec = self.spec
        if isinstance(spec, float | int):
            out = np.full(n, float(spec))
            return np.maximum(out, 0.0)  # a fixed time is taken as written
        if isinstance(spec, ExponentialDuration):
            out = rng.exponential(spec.mean, size=n)
        elif isinstance(spec, LognormalDuration):
            out = spec.median * np.exp(spec.sigma * rng.standard_normal(n))
        elif self.values is not None:
            out = self.values[rng.integers(0, len(self.values), size=n)]
        else:
            raise TypeError(f"unknown duration spec {spec!r}")
        return np.clip(out, self.low, self.cap)
