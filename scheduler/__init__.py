"""clustersim: a simulator of AI training and inference on the Hauts-de-France GPU cluster.

Typical use::

    from scheduler import simulate
    result = simulate("scenarios/mmc.yaml", seed=1)
    result.summary["mean_wait_s"]
"""

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
