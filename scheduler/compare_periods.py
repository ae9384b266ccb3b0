"""``clustersim compare``'s "By period, side by side" section: the per-period tables of
each folder (the mean over its replications) on one figure, one line per folder."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from scheduler.html_page import Section, figure_html
from scheduler.periods import mean_by_period
from scheduler.result_sets import ResultSet


def set_periods(result_set: ResultSet) -> pd.DataFrame | None:
    """A folder's per-period table, averaged over its runs; None when a run has none."""
    tables = [run.periods for run in result_set.runs]
    if not tables or any(t is None for t in tables):
        return None
    return mean_by_period(pd.concat([t for t in tables if t is not None], ignore_index=True))


def period_section(sets: Sequence[ResultSet]) -> Section | None:
    """The section when every folder has per-period outputs, else None."""
    tables = {s.label: set_periods(s) for s in sets}
    if not tables or any(t is None for t in tables.values()):
        return None
    try:
        from scheduler import plots

        plots.require_matplotlib()
    except Exception:  # InputError: matplotlib is missing; the table figures say so
        return None
    from scheduler.period_plots import side_by_side_figure

    figure = side_by_side_figure({k: v for k, v in tables.items() if v is not None},
                                 title="By period, side by side")
    return ("periods", "By period, side by side",
            figure_html("plot-periods", "By period", "GPU utilization, p95 wait of the jobs "
                        "arriving, peak facility power and GPUs online per calendar period, "
                        "one line per folder (mean over its replications).", figure))
