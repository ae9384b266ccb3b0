"""A sweep's per-period outputs: ``DIR/periods.csv`` holds the per-period rows
(docs/timeline.md, "Answers by period") of every run, one row per run and period, keyed by
``run_id`` and the run's parameters; the sweep report draws them side by side, one line per
parameter point (the mean over its seeds)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from scheduler.outputs import atomic_write
from scheduler.periods import mean_by_period
from scheduler.results import escape_formula_cells, unescape_formula_cells

PERIODS_FILE = "periods.csv"
LEAD = ("run_id", "point_id", "seed")


class SweepPeriods:
    """``DIR/periods.csv``, rewritten by :meth:`flush`; rows of runs not re-run are kept
    (a resumed sweep, another sweep in the same folder)."""

    def __init__(self, folder: Path | None) -> None:
        self.path = None if folder is None else folder / PERIODS_FILE
        self.rows: dict[str, list[dict[str, Any]]] = {}
        old = read_sweep_periods(folder) if folder is not None else None
        if old is not None:
            for run_id, group in old.groupby("run_id", sort=False):
                self.rows[str(run_id)] = group.to_dict(orient="records")
        self._dirty = False

    def record(self, row: Mapping[str, Any], parameters: Sequence[str],
               periods: Sequence[Mapping[str, Any]]) -> None:
        """The per-period rows of one run (``row``: its runs-table row)."""
        lead = {key: row.get(key) for key in (*LEAD[:2], *parameters, LEAD[2])}
        self.rows[str(row["run_id"])] = [{**lead, **period} for period in periods]
        self._dirty = True

    def flush(self) -> None:
        if self.path is None or not self._dirty or not self.rows:
            return
        frame = escape_formula_cells(pd.DataFrame(
            [r for rows in self.rows.values() for r in rows]))
        atomic_write(self.path, lambda p: frame.to_csv(p, index=False))
        self._dirty = False


def crossing_columns(summary: Mapping[str, Any]) -> dict[str, str]:
    """The run's ``first_period_crossing[NAME]`` as runs-table text: the period's label, or
    ``never`` (a summary's None, which the numeric columns would read as a missing value)."""
    return {key: "never" if value is None else str(value) for key, value in summary.items()
            if key.startswith("first_period_crossing[")}


def read_sweep_periods(folder: Path) -> pd.DataFrame | None:
    """The per-period rows of a sweep folder, or None when its runs have none or the file
    is not such a table (then a resumed sweep writes the rows of the runs it makes anew)."""
    path = Path(folder) / PERIODS_FILE
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path, dtype={"run_id": str, "point_id": str, "period": str})
    except (OSError, ValueError, UnicodeDecodeError):  # empty, binary, not CSV
        return None
    if not {"run_id", "point_id", "period"} <= set(frame.columns):
        return None
    unescape_formula_cells(frame)
    return frame


def _short(parameter: str, parameters: Sequence[str]) -> str:
    """``online`` for ``sites.2.nodes.0.online``, unless another parameter ends the same."""
    tail = parameter.rsplit(".", 1)[-1]
    same = [p for p in parameters if p.rsplit(".", 1)[-1] == tail]
    return tail if len(same) == 1 else parameter


def point_tables(periods: pd.DataFrame, parameters: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Per parameter point (labelled ``online=180d, growth_per_year=0.3``), the mean over its
    seeds of each numeric column per period, in calendar order."""
    out: dict[str, pd.DataFrame] = {}
    present = [p for p in parameters if p in periods.columns]
    for point_id, group in periods.groupby("point_id", sort=False):
        first = group.iloc[0]
        label = ", ".join(f"{_short(p, present)}={first[p]}" for p in present) or str(point_id)
        out[label] = mean_by_period(group, [*LEAD, *present])
    return out
