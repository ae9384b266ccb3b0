"""clustersim: a simulator of AI training and inference on the Hauts-de-France GPU cluster.

Typical use::

    from scheduler import simulate
    result = simulate("scenarios/mmc.yaml", seed=1)
    result.summary["mean_wait_s"]

The names below load on first use (PEP 562): ``import scheduler`` itself imports neither
NumPy nor pandas, so the ``clustersim`` command can catch Ctrl-C during its imports.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scheduler.compare import compare
    from scheduler.errors import InputError, Problem
    from scheduler.loading import load_scenario
    from scheduler.results import Result
    from scheduler.scenario import Scenario
    from scheduler.simulation import simulate
    from scheduler.sweeps import sweep

__all__ = ["InputError", "Problem", "Result", "Scenario", "compare", "load_scenario", "simulate",
           "sweep"]
__version__ = "0.1.0"

_HOME = {"InputError": "scheduler.errors", "Problem": "scheduler.errors",
         "Result": "scheduler.results", "Scenario": "scheduler.scenario",
         "compare": "scheduler.compare", "load_scenario": "scheduler.loading",
         "simulate": "scheduler.simulation", "sweep": "scheduler.sweeps"}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'scheduler' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """Keeps ``scheduler.compare`` the function: importing the submodule of the same name
    later must not replace it (with eager imports, the function was bound last)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "compare" and isinstance(value, types.ModuleType):
            value = value.compare
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
