"""Compute backend and placement kernels: arrays in, arrays out.

Knows nothing of SimPy, YAML or files. CuPy is never imported here: :func:`get_backend`
imports it lazily when asked for.
"""

from gpu.backend import Backend, BackendUnavailableError, get_backend
from gpu.framework import (
    CapacityState,
    Evaluation,
    JobShape,
    PluginCall,
    assign,
    best_columns,
    evaluate,
    evaluate_device,
)
from gpu.placement import Columns, JobBatch, PlacementContext, build_context
from gpu.plugins import (
    Plugin,
    PluginError,
    get_plugin,
    minmax_to_100,
    register_filter,
    register_score,
    registered,
    unregister,
)

__all__ = [
    "Backend", "BackendUnavailableError", "CapacityState", "Columns", "Evaluation", "JobBatch",
    "JobShape", "PlacementContext", "Plugin", "PluginCall", "PluginError", "assign",
    "best_columns", "build_context", "evaluate", "evaluate_device", "get_backend",
    "get_plugin", "minmax_to_100", "register_filter", "register_score", "registered",
    "unregister",
]
