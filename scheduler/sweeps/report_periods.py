"""The sweep report's "By month, side by side" section: one line per parameter point on
each panel of :func:`scheduler.period_plots.side_by_side_figure` (utilization, p95 wait,
peak power, GPUs online), so a slipped site's months can be read against the others."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from scheduler.errors import InputError
from scheduler.html_page import figure_html
from scheduler.sweeps.periods import point_tables


def side_by_side_section(periods: pd.DataFrame, parameters: Sequence[str]) -> tuple[str, str, str]:
    """(anchor, title, HTML) of the section."""
    from scheduler import plots
    from scheduler.period_plots import side_by_side_figure

    tables = point_tables(periods, parameters)
    note = ('<p class="muted">Each line: one parameter point, the mean over its seeds of '
            "each period; the rows are in <code>periods.csv</code> (docs/timeline.md, "
            '"Answers by period").</p>')
    try:
        plots.require_matplotlib()
    except InputError:
        return "periods", "By period, side by side", note
    figure = figure_html("fig-periods", "By period, side by side",
                         "GPU utilization, p95 wait of the jobs arriving, peak facility "
                         "power and GPUs online per period, one line per parameter point",
                         side_by_side_figure(tables))
    return "periods", "By period, side by side", note + figure
