"""Speeds from the hardware: how fast a workload's model class runs on each GPU type.

A step of a training job spends a share ``c`` of its time on H100 bound by dense math and
``1 - c`` bound by HBM traffic (the class's ``compute_share``, ``data/model_classes.csv``).
On GPU type ``t`` the step takes ``c F_H100 / F_t + (1 - c) B_H100 / B_t`` of its H100 time
(F: dense bf16 TFLOPS, B: HBM TB/s; the two-term roofline); the speed is the inverse times a
measured efficiency: MLPerf Training per-GPU speedups against H100
(``data/speed_calibration.csv``) set ``efficiency = measured / roofline`` for the types they
apply to (1 elsewhere). Speeds are then divided by the reference type's (where the
workload's durations are given). A type whose memory is below the workload's
``memory_gb_per_gpu`` cannot run it (speed 0). Class ``uniform`` is speed 1 on every type
(the behaviour before hardware speeds).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from scheduler.catalog import GpuType, builtin_gpu_types

UNIFORM = "uniform"
"""The model class whose speed is 1 on every GPU type."""
CALIBRATION_REFERENCE = "H100"
"""The type the measured speedups are against."""


@dataclass(frozen=True)
class ModelClass:
    """A workload class: its compute-bound share and measured efficiencies by GPU type."""

    name: str
    compute_share: float
    efficiency: dict[str, float]
    """GPU type -> measured speedup over the roofline's (types not listed: 1)."""


def _rows(filename: str) -> list[dict[str, str]]:
    path = resources.files("scheduler") / "data" / filename
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def roofline_speedup(compute_share: float, gpu: GpuType, reference: GpuType) -> float:
    """Speed on ``gpu`` over speed on ``reference`` by the two-term roofline (1 when a
    figure is missing on either)."""
    if min(gpu.bf16_tflops, gpu.hbm_tb_s, reference.bf16_tflops, reference.hbm_tb_s) <= 0:
        return 1.0
    time_ratio = (compute_share * reference.bf16_tflops / gpu.bf16_tflops
                  + (1.0 - compute_share) * reference.hbm_tb_s / gpu.hbm_tb_s)
    return 1.0 / time_ratio


@cache
def model_classes() -> dict[str, ModelClass]:
    """Name -> :class:`ModelClass` for the built-in classes (``uniform`` excluded)."""
    catalog = builtin_gpu_types()  # the figures the calibration used
    shares = {row["model_class"]: float(row["compute_share"])
              for row in _rows("model_classes.csv")}
    efficiency: dict[str, dict[str, float]] = {name: {} for name in shares}
    for row in _rows("speed_calibration.csv"):
        name = row["model_class"]
        modelled = roofline_speedup(shares[name], catalog[row["gpu"]],
                                    catalog[CALIBRATION_REFERENCE])
        for gpu in row["applies_to"].split(";"):
            efficiency[name][gpu] = float(row["speedup_vs_h100"]) / modelled
    return {name: ModelClass(name, share, efficiency[name]) for name, share in shares.items()}


def model_class_names() -> list[str]:
    """Every accepted ``model_class`` value."""
    return [UNIFORM, *model_classes()]


def hardware_speeds(model_class: str, types: Sequence[GpuType], reference: int,
                    memory_gb_per_gpu: float | None = None) -> np.ndarray:
    """Speed of the class on each type, relative to ``types[reference]`` (durations are on
    it: its speed is 1); 0 where the type's memory is below ``memory_gb_per_gpu``."""
    if model_class == UNIFORM:
        speeds = np.ones(len(types))
    else:
        spec = model_classes()[model_class]
        anchor = builtin_gpu_types()[CALIBRATION_REFERENCE]  # where compute_share holds
        # Absolute speed of each type (H100 = 1), then relative to the reference type.
        absolute = np.array([roofline_speedup(spec.compute_share, gpu, anchor)
                             * spec.efficiency.get(gpu.name, 1.0) for gpu in types])
        speeds = absolute / absolute[reference]
    if memory_gb_per_gpu is not None:
        memory = np.array([gpu.memory_gb for gpu in types])
        speeds = np.where((memory > 0) & (memory < memory_gb_per_gpu), 0.0, speeds)
    return speeds
