"""Sweeps: one scenario over a grid of dotted-path overrides and many seeds.

Typical use::

    from scheduler import sweep
    runs = sweep("scenarios/sweep-example.yaml", out="sweep-out", workers=4)
    runs.groupby("sites.0.nodes.0.count")["mean_wait_s"].mean()

``spec`` reads, checks and expands a sweep file; ``runner`` runs it on local processes or
dask.distributed and keeps the resumable runs table; ``stats`` aggregates over seeds;
``cli`` is ``clustersim sweep``. See docs/sweeps.md.
"""

from scheduler.sweeps.cli import add_sweep_parser, run_sweep_command
from scheduler.sweeps.runner import run_plan, sweep
from scheduler.sweeps.spec import SeedCount, SweepPlan, SweepSpec, plan_sweep
from scheduler.sweeps.stats import aggregate, student_t_quantile

__all__ = ["SeedCount", "SweepPlan", "SweepSpec", "add_sweep_parser", "aggregate",
           "plan_sweep", "run_plan", "run_sweep_command", "student_t_quantile", "sweep"]
