"""Fit the replica model's efficiency factors on published throughput measurements.

The points are in ``scheduler/data/inference_calibration.csv`` (sources in PROVENANCE.md):
max-throughput runs (all requests queued at once, fixed input / output lengths) of TensorRT-LLM
on H100, H200 and B200. Rows marked ``fit`` set the factors; ``holdback`` rows only check them.
Per GPU generation, (compute, memory) efficiency minimise the squared log error of
:func:`~scheduler.inference.perf.offline_throughput_tokens_s` over that generation's fit rows.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from importlib import resources

import numpy as np

from scheduler.inference import perf
from scheduler.inference.specs import gpu_spec, model_preset


@dataclass(frozen=True)
class CalibrationPoints:
    """Published throughput points as arrays (one entry per row of the CSV)."""

    rows: list[dict[str, str]]
    replicas: perf.ReplicaArrays
    generation: np.ndarray
    input_tokens: np.ndarray
    output_tokens: np.ndarray
    batch_cap: np.ndarray
    """Batch the publication fixed (NaN: the engine's own, memory-limited)."""
    measured: np.ndarray
    """Output tokens per second of the whole replica."""
    fit: np.ndarray
    """True for rows used in the fit, False for held-back rows."""


def load_points() -> CalibrationPoints:
    """The packaged calibration points."""
    path = resources.files("scheduler") / "data" / "inference_calibration.csv"
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    gpus = [gpu_spec(row["gpu"]) for row in rows]
    configs = [(model_preset(row["model"]), gpu, int(row["tp"]), row["precision"])
               for row, gpu in zip(rows, gpus, strict=True)]

    def column(name: str) -> np.ndarray:
        return np.array([float(row[name]) if row[name] else math.nan for row in rows])

    return CalibrationPoints(
        rows=rows, replicas=perf.replica_arrays(configs),
        generation=np.array([gpu.generation for gpu in gpus]),
        input_tokens=column("input_tokens"), output_tokens=column("output_tokens"),
        batch_cap=column("batch"), measured=column("output_tokens_s"),
        fit=np.array([row["role"] == "fit" for row in rows]))


def predict(points: CalibrationPoints, factors: dict[str, tuple[float, float]]) -> np.ndarray:
    """Modelled output tokens/s of every point with the given per-generation factors."""
    compute = np.array([factors.get(g, factors[perf.FALLBACK_GENERATION])[0]
                        for g in points.generation])
    memory = np.array([factors.get(g, factors[perf.FALLBACK_GENERATION])[1]
                       for g in points.generation])
    eff = perf.Efficiency(compute=compute, memory=memory)
    return np.asarray(perf.offline_throughput_tokens_s(
        points.replicas, points.input_tokens, points.output_tokens, eff, points.batch_cap))


def fit_factors(points: CalibrationPoints) -> dict[str, tuple[float, float]]:
    """Least-squares (log error) compute and memory efficiency per generation with fit rows."""
    from scipy.optimize import least_squares  # imported here: only fitting needs it

    factors: dict[str, tuple[float, float]] = dict(perf.CALIBRATED)
    for generation in sorted(set(points.generation[points.fit].tolist())):
        chosen = points.fit & (points.generation == generation)

        def residuals(x: np.ndarray, chosen: np.ndarray = chosen, g: str = generation
                      ) -> np.ndarray:
            trial = dict(factors, **{g: (float(x[0]), float(x[1]))})
            return np.log(predict(points, trial)[chosen] / points.measured[chosen])

        result = least_squares(residuals, x0=[0.5, 0.6], bounds=([0.02, 0.02], [1.0, 1.0]))
        factors[generation] = (float(result.x[0]), float(result.x[1]))
    return factors
