"""Results of a run: the summary (CONTRACT.md keys), per-job records and the time series.

``Result`` is what :func:`scheduler.simulate` returns. Nothing here writes files unless asked
(:meth:`Result.save`); a save writes the run's files as one set (see
:func:`scheduler.outputs.write_set`: staged, moved into place, then ``manifest.json``), and
:meth:`Result.load` is the one reader of such a folder: it refuses a torn, incomplete or
inconsistent set with an :class:`~scheduler.errors.InputError`.

Text cells of CSV tables that a spreadsheet would run as formulas (``=``, ``+``, ``-``,
``@``...) are written with a leading ``'`` (:mod:`scheduler.safetext`); the manifest records
it and :meth:`Result.load` removes it, so names round-trip exactly. Parquet is not escaped.
"""

from __future__ import annotations

import importlib.util
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import pandas as pd

from scheduler.errors import InputError, Problem
from scheduler.outputs import atomic_write, read_manifest, write_set
from scheduler.safetext import FORMULA_START, escape_formula, unescape_formula

if TYPE_CHECKING:
    from scheduler.plots import PlotAccessor

__all__ = ["COLUMNS_FILE", "TABLES", "Result", "atomic_write", "dump_summary"]

TABLES = ("jobs", "timeseries")
PERIODS_FILE = "periods.csv"
"""The per-period table (docs/timeline.md), a view of ``details["periods"]`` for spreadsheets."""
COLUMNS_FILE = "columns.json"
"""Column dtypes of the saved tables: CSV carries no types, so :meth:`Result.load` restores
them from here (text columns keep their empty strings, integers stay integers)."""
FILES = ("summary.json", "details.json", "scenario.json", COLUMNS_FILE,
         *(f"{table}.{fmt}" for table in TABLES for fmt in ("csv", "parquet")), PERIODS_FILE)
"""Every file a saved set may hold (besides ``manifest.json``)."""
TEXT_ESCAPE = "formula-quote"
"""Manifest value of ``csv_text_escape``: text cells were escaped by
:func:`scheduler.safetext.escape_formula`."""
COUNT_KEYS = ("jobs_submitted", "jobs_completed", "jobs_rejected", "jobs_unfinished",
              "jobs_failed")
_STATUS_OF_COUNT = {"jobs_completed": "completed", "jobs_rejected": "rejected",
                    "jobs_unfinished": "unfinished", "jobs_failed": "failed"}
_TEXT_DTYPES = {"object", "str", "string"}
_JOB_TEXT_COLUMNS = ("workload", "kind", "tenant", "status", "site", "reason")
# pandas 3 parses floats exactly by default (and deprecates the option); pandas 2 needs asking.
_ROUND_TRIP_FLOATS: dict[str, Any] = (
    {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"})


def _positive(value: Any) -> float | None:
    """``value`` as a float when it is a finite number > 0, else None."""
    if isinstance(value, int | float) and not isinstance(value, bool) \
            and math.isfinite(value) and value > 0:
        return float(value)
    return None


class ResultsError(InputError):
    """A folder that is not a complete, consistent saved run (exit code 2 in the CLI)."""


def _starting_with(values: pd.Series, prefixes: tuple[str, ...]) -> pd.Series:
    """Which cells are strings starting with one of ``prefixes`` (vectorised)."""
    try:
        return values.str.startswith(prefixes, na=False).astype(bool)
    except AttributeError:  # no string cell at all
        return pd.Series(False, index=values.index)


def escape_formula_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with formula-like text cells escaped (a copy only when something changes)."""
    out = frame
    for column in frame.columns:
        if str(frame[column].dtype) not in _TEXT_DTYPES:
            continue
        hit = _starting_with(frame[column], (*FORMULA_START, "'"))
        if hit.any():
            if out is frame:
                out = frame.copy()
            out.loc[hit, column] = frame.loc[hit, column].map(escape_formula)
    return out


def unescape_formula_cells(frame: pd.DataFrame) -> None:
    """Undo :func:`escape_formula_cells` in place."""
    for column in frame.columns:
        if str(frame[column].dtype) in _TEXT_DTYPES:
            hit = _starting_with(frame[column], ("'",))
            if hit.any():
                frame.loc[hit, column] = frame.loc[hit, column].map(unescape_formula)


def _table_writer(frame: pd.DataFrame, format: str) -> Callable[[BinaryIO], object]:
    def write(sink: BinaryIO) -> object:
        from scheduler import tables  # pyarrow loads when a table is written

        if format == "csv":
            tables.write_csv(escape_formula_cells(frame), sink)
        else:
            tables.write_parquet(frame, sink)
        return None
    return write


def _text_writer(text: str) -> Callable[[BinaryIO], object]:
    def write(sink: BinaryIO) -> object:
        return sink.write(text.encode("utf-8"))
    return write


def _column_dtypes(frame: pd.DataFrame) -> dict[str, str]:
    return {str(column): str(dtype) for column, dtype in frame.dtypes.items()}


def _read_csv(path: Path, dtypes: dict[str, str] | None, check_end: bool = False) -> pd.DataFrame:
    """A table written by :meth:`Result.save` as CSV, with its dtypes restored exactly.

    Empty cells are NaN in numeric columns and empty strings in text columns; floats are read
    with round-trip precision. Without recorded dtypes (older output folders) the known text
    columns of the job table are still kept as text.
    """
    if check_end:  # no manifest to check against: a file cut mid-row does not end a line
        with path.open("rb") as handle:
            if handle.seek(0, 2) and (handle.seek(-1, 2), handle.read(1))[1] != b"\n":
                raise InputError("ends in the middle of a row: the file was truncated",
                                 str(path))
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
    def periods(self) -> pd.DataFrame | None:
        """One row per calendar period (``details["periods"]``; docs/timeline.md), or None
        for a run without per-period outputs."""
        from scheduler.period_outputs import period_frame

        return period_frame(self.details)

    @property
    def plot(self) -> PlotAccessor:
        """Figures of this run (matplotlib, imported on first use): ``result.plot.utilization()``,
        ``.queue()``, ``.power()``, ``.carbon()``, ``.cdf()``, ``.map()``; each returns a
        :class:`matplotlib.figure.Figure`."""
        from scheduler.plots import PlotAccessor

        return PlotAccessor(self)

    def save(self, directory: str | Path, format: str = "csv") -> Path:
        """Write ``summary.json``, ``details.json``, ``scenario.json``, ``jobs.<fmt>``,
        ``timeseries.<fmt>``, ``columns.json`` (the tables' dtypes, for an exact reload) and
        ``manifest.json`` (last) into ``directory``, as one set: readers see the previous set
        or this one, never a mix. Other files in the folder are left alone."""
        if format not in {"csv", "parquet"}:
            raise ValueError(f"format must be 'csv' or 'parquet' (got {format!r})")
        if importlib.util.find_spec("pyarrow") is None:  # a dependency; an old environment
            raise InputError("writing tables needs pyarrow, a dependency of clustersim: "
                             "pip install pyarrow", "format")
        frames = {"jobs": self.jobs, "timeseries": self.timeseries}
        columns = {name: _column_dtypes(frame) for name, frame in frames.items()}
        files: dict[str, Callable[[BinaryIO], object]] = {
            "summary.json": _text_writer(dump_summary(self.summary) + "\n"),
            "details.json": _text_writer(dump_summary(self.details) + "\n"),
            COLUMNS_FILE: _text_writer(json.dumps(columns, indent=2) + "\n"),
        }
        if self.scenario_text:
            files["scenario.json"] = _text_writer(self.scenario_text)
        if (periods := self.periods) is not None:
            files[PERIODS_FILE] = _table_writer(periods, "csv")
        for name, frame in frames.items():
            files[f"{name}.{format}"] = _table_writer(frame, format)
        extra = {"csv_text_escape": TEXT_ESCAPE} if format == "csv" else {}
        return write_set(Path(directory), files, FILES, extra)

    @classmethod
    def load(cls, directory: str | Path, check: bool = True) -> Result:
        """Read what :meth:`save` wrote (CSV or Parquet).

        Raises :class:`ResultsError` (an :class:`InputError`, one line per problem) when the
        folder is missing, is not a run's output, its manifest says the set is incomplete or
        a file differs from what was written, or the set contradicts itself: a summary that
        is not a JSON object or whose counts are not whole numbers, counts that disagree with
        the job table, a time series that stops before the simulated period. Folders saved
        before manifests existed are read with the same consistency checks. ``check=False``
        skips those consistency checks (not the manifest's): for a Result built by hand, such
        as a filtered job table saved beside the full summary.
        """
        src = Path(directory)
        where = str(src)
        if not src.exists():
            raise ResultsError("no such directory (give the --out folder of `clustersim run`)",
                               where)
        if not src.is_dir():
            raise ResultsError("not a directory (give the --out folder of `clustersim run`)",
                               where)
        if not (src / "summary.json").is_file() and not (src / "manifest.json").exists():
            raise ResultsError("no summary.json here: not a run's output directory (write one "
                               f"with `clustersim run SCENARIO --out {src}`)", where)
        try:
            manifest = read_manifest(src)
            result = cls._read(src, manifest)
        except InputError as exc:
            raise ResultsError(exc.problems) from None
        except (OSError, ValueError, KeyError, TypeError, ImportError) as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ResultsError(f"cannot read the run's files: {message}", where) from None
        problems = result.inconsistencies() if check else []
        if problems:
            raise ResultsError([Problem(where, p) for p in problems])
        return result

    @classmethod
    def _read(cls, src: Path, manifest: dict[str, Any] | None) -> Result:
        listed = set(manifest["files"]) if manifest is not None else None

        def present(name: str) -> bool:
            return (src / name).is_file() if listed is None else name in listed

        summary = json.loads((src / "summary.json").read_text(encoding="utf-8"))
        if not isinstance(summary, dict):
            raise InputError(f"summary.json holds a JSON {type(summary).__name__}, not an "
                             "object", str(src / "summary.json"))
        columns = (json.loads((src / COLUMNS_FILE).read_text(encoding="utf-8"))
                   if present(COLUMNS_FILE) else {})
        if not isinstance(columns, dict):
            raise InputError("not a JSON object", str(src / COLUMNS_FILE))
        frames = {}
        for name in TABLES:
            if present(f"{name}.parquet"):
                frames[name] = pd.read_parquet(src / f"{name}.parquet")
            elif present(f"{name}.csv"):
                frames[name] = _read_csv(src / f"{name}.csv", columns.get(name),
                                         check_end=manifest is None)
                if manifest is not None and manifest.get("csv_text_escape") == TEXT_ESCAPE:
                    unescape_formula_cells(frames[name])
            else:
                raise InputError(f"no {name}.csv or {name}.parquet: the set is incomplete",
                                 str(src))
        text = (src / "scenario.json").read_text(encoding="utf-8") \
            if present("scenario.json") else ""
        details = (json.loads((src / "details.json").read_text(encoding="utf-8"))
                   if present("details.json") else {})
        if not isinstance(details, dict):
            raise InputError("not a JSON object", str(src / "details.json"))
        return cls(summary, frames["jobs"], frames["timeseries"], text, details)

    def inconsistencies(self) -> list[str]:
        """What contradicts itself in this result (empty when consistent): counts that are
        not whole numbers >= 0, that break conservation or disagree with the job table, a
        time series that stops before the simulated period."""
        summary = self.summary
        problems = []
        counts: dict[str, int] = {}
        for key in COUNT_KEYS:
            value = summary.get(key)
            if value is None and key != "jobs_submitted":
                continue
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                counts[key] = value
            else:
                problems.append(f"summary.json: {key} must be a whole number >= 0 "
                                f"(got {value!r})")
        if problems:
            return problems
        parts = [counts[k] for k in COUNT_KEYS[1:] if k in counts]
        if counts["jobs_submitted"] != sum(parts):
            problems.append(f"summary.json: jobs_submitted ({counts['jobs_submitted']:,}) is not "
                            f"the sum of completed, rejected, unfinished and failed "
                            f"({sum(parts):,})")
        rows = len(self.jobs)
        if rows != counts["jobs_submitted"]:
            problems.append(f"the job table has {rows:,} rows but summary.json says "
                            f"{counts['jobs_submitted']:,} jobs were submitted")
        elif "status" in self.jobs.columns:
            status = self.jobs["status"].value_counts()
            for key, name in _STATUS_OF_COUNT.items():
                if key in counts and int(status.get(name, 0)) != counts[key]:
                    problems.append(f"the job table has {int(status.get(name, 0)):,} {name} "
                                    f"jobs but summary.json says {counts[key]:,}")
        problems.extend(self._timeseries_gap())
        return problems

    def _timeseries_gap(self) -> list[str]:
        period = _positive(self.summary.get("simulated_time_s"))
        step = _positive(self.summary.get("timeseries_step_s"))
        if period is None or step is None:
            return []
        times = self.timeseries.get("time_s")
        if times is None or len(times) == 0:
            return [f"the time series is empty but the run simulated {period:g} s"]
        last = float(times.iloc[-1])
        # The last row starts less than one step (+ the grid's 1e-6 sliver rule) before the
        # period's end (scheduler.summarize); a truncated series stops at least a step earlier.
        if not math.isfinite(last) or period - last > step * (1 + 1e-6) * (1 + 1e-9):
            return [f"the time series stops at {last:g} s, before the end of the simulated "
                    f"period ({period:g} s, one row per {step:g} s): it was truncated"]
        return []
