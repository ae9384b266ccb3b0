"""Results of a run: the summary (CONTRACT.md keys), per-job records and the time series.

``Result`` is what :func:`scheduler.simulate` returns. Nothing here writes files unless asked
(:meth:`Result.save`); writes are atomic (temporary file, then rename).
"""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from scheduler.plots import PlotAccessor

TABLES = ("jobs", "timeseries")
COLUMNS_FILE = "columns.json"
"""Column dtypes of the saved tables: CSV carries no types, so :meth:`Result.load` restores
them from here (text columns keep their empty strings, integers stay integers)."""
_TEXT_DTYPES = {"object", "str", "string"}
_JOB_TEXT_COLUMNS = ("workload", "kind", "tenant", "status", "site", "reason")
# pandas 3 parses floats exactly by default (and deprecates the option); pandas 2 needs asking.
_ROUND_TRIP_FLOATS: dict[str, Any] = (
    {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"})


_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write via ``write(tmp_path)`` into a temporary file beside ``path``, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs get the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _table_writer(frame: pd.DataFrame, format: str) -> Callable[[Path], object]:
    def write(path: Path) -> object:
        if format == "csv":
            return frame.to_csv(path, index=False)
        return frame.to_parquet(path, index=False)
    return write


def _column_dtypes(frame: pd.DataFrame) -> dict[str, str]:
    return {str(column): str(dtype) for column, dtype in frame.dtypes.items()}


def _read_csv(path: Path, dtypes: dict[str, str] | None) -> pd.DataFrame:
    """A table written by :meth:`Result.save` as CSV, with its dtypes restored exactly.

    Empty cells are NaN in numeric columns and empty strings in text columns; floats are read
    with round-trip precision. Without recorded dtypes (older output folders) the known text
    columns of the job table are still kept as text.
    """
    if dtypes is None:
        text = list(_JOB_TEXT_COLUMNS)
    else:
        text = [column for column, dtype in dtypes.items() if dtype in _TEXT_DTYPES]
    header = pd.read_csv(path, nrows=0).columns
    frame = pd.read_csv(path, dtype={c: str for c in text if c in header},
                        keep_default_na=False,
                        na_values={c: [""] for c in header if c not in text},
                        **_ROUND_TRIP_FLOATS)
    for column, dtype in (dtypes or {}).items():
        if column in frame.columns and str(frame[column].dtype) != dtype:
            frame[column] = frame[column].astype(dtype)
    return frame


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dump_summary(summary: dict[str, Any]) -> str:
    """The summary as JSON text: sorted keys, so the same run gives identical bytes."""
    return json.dumps(summary, indent=2, sort_keys=True, default=_json_default, allow_nan=False)


class Result:
    """Summary, job records and time series of one run."""

    def __init__(self, summary: dict[str, Any], jobs: pd.DataFrame, timeseries: pd.DataFrame,
                 scenario_text: str = "", details: dict[str, Any] | None = None) -> None:
        self.summary = summary
        """Flat metrics (CONTRACT.md), plus ``sites``: per-site metrics."""
        self.jobs = jobs
        """One row per submitted job."""
        self.timeseries = timeseries
        """One row per time step: utilization, queue, running jobs; per site columns."""
        self.scenario_text = scenario_text
        """The validated scenario as JSON (what produced this result)."""
        self.details = details or {}
        """Nested breakdowns that do not fit the flat summary: rejection reasons, trace
        read reports (rows read, used, skipped and why), per workload and tenant figures."""

    def __repr__(self) -> str:
        s = self.summary
        return (f"<Result {s.get('scenario')!r} seed={s.get('seed')} jobs={s.get('jobs_submitted')} "
                f"completed={s.get('jobs_completed')} util={s.get('gpu_utilization'):.3f}>")

    @property
    def plot(self) -> PlotAccessor:
        """Figures of this run (matplotlib, imported on first use): ``result.plot.utilization()``,
        ``.queue()``, ``.power()``, ``.carbon()``, ``.cdf()``, ``.map()``; each returns a
        :class:`matplotlib.figure.Figure`."""
        from scheduler.plots import PlotAccessor

        return PlotAccessor(self)

    def save(self, directory: str | Path, format: str = "csv") -> Path:
        """Write ``summary.json``, ``details.json``, ``scenario.json``, ``jobs.<fmt>``,
        ``timeseries.<fmt>`` and ``columns.json`` (the tables' dtypes, for an exact reload)."""
        if format not in {"csv", "parquet"}:
            raise ValueError(f"format must be 'csv' or 'parquet' (got {format!r})")
        if format == "parquet" and importlib.util.find_spec("pyarrow") is None:
            from scheduler.errors import InputError

            raise InputError("parquet needs pyarrow (pip install pyarrow), or use csv", "format")
        out = Path(directory)
        atomic_write(out / "summary.json",
                     lambda p: p.write_text(dump_summary(self.summary) + "\n", encoding="utf-8"))
        atomic_write(out / "details.json",
                     lambda p: p.write_text(dump_summary(self.details) + "\n", encoding="utf-8"))
        if self.scenario_text:
            atomic_write(out / "scenario.json",
                         lambda p: p.write_text(self.scenario_text, encoding="utf-8"))
        frames = {"jobs": self.jobs, "timeseries": self.timeseries}
        columns = {name: _column_dtypes(frame) for name, frame in frames.items()}
        atomic_write(out / COLUMNS_FILE, lambda p: p.write_text(
            json.dumps(columns, indent=2) + "\n", encoding="utf-8"))
        for name, frame in frames.items():
            atomic_write(out / f"{name}.{format}", _table_writer(frame, format))
        return out

    @classmethod
    def load(cls, directory: str | Path) -> Result:
        """Read what :meth:`save` wrote (CSV or Parquet)."""
        src = Path(directory)
        summary = json.loads((src / "summary.json").read_text(encoding="utf-8"))
        columns_file = src / COLUMNS_FILE
        columns = (json.loads(columns_file.read_text(encoding="utf-8"))
                   if columns_file.exists() else {})
        frames = {}
        for name in TABLES:
            if (src / f"{name}.parquet").exists():
                frames[name] = pd.read_parquet(src / f"{name}.parquet")
            else:
                frames[name] = _read_csv(src / f"{name}.csv", columns.get(name))
        scenario_file = src / "scenario.json"
        text = scenario_file.read_text(encoding="utf-8") if scenario_file.exists() else ""
        details_file = src / "details.json"
        details = (json.loads(details_file.read_text(encoding="utf-8"))
                   if details_file.exists() else {})
        return cls(summary, frames["jobs"], frames["timeseries"], text, details)
