"""Running a sweep: one simulation per (point, seed), on local processes or a dask cluster.

Every run happens in a worker process and never raises there: a failure comes back as a
row with ``status: error`` and the error message, and the other runs go on. Finished rows
are written to ``out/runs.<format>`` (atomically) as they arrive, so an interrupted sweep
keeps everything that finished; running the same sweep into the same folder again skips
the runs whose ``run_id`` is already there with ``status: ok``.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import logging
import math
import multiprocessing
import numbers
import os
import re
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from scheduler.errors import InputError
from scheduler.loading import validate_data
from scheduler.period_outputs import PERIODS_KEY
from scheduler.results import atomic_write, escape_formula_cells, unescape_formula_cells
from scheduler.simulation import simulate
from scheduler.sweeps.periods import SweepPeriods, crossing_columns
from scheduler.sweeps.spec import PlannedRun, SweepPlan, SweepSpec, column_value, plan_sweep
from scheduler.sweeps.stats import aggregate

KEY_METRICS = ("jobs_submitted", "jobs_completed", "jobs_rejected", "jobs_unfinished",
               "mean_wait_s", "p95_wait_s", "mean_jct_s", "p95_jct_s", "gpu_utilization")
"""Always columns of the runs table (NaN when every run failed)."""
EXCLUDED_SUMMARY_KEYS = frozenset({"seed", "wall_time_s"})
"""Summary keys that are not metrics (the seed is a column; the run's ``wall_s`` covers time)."""

RowCallback = Callable[[dict[str, Any]], None]
LOCK_NAME = ".sweep.lock"
"""The file in a sweep folder that the running sweep holds locked (left in place: removing
it while another process waits on it would let two sweeps hold two different locks)."""
RUN_ID = re.compile(r"^[0-9a-f]{16}$")
"""A run id as :func:`scheduler.sweeps.spec.digest` makes them."""
PARENT_POLL_S = 1.0
"""How often a worker without ``prctl`` checks that its parent is still there."""


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run (plain data, so it pickles anywhere)."""

    run_id: str
    seed: int
    scenario: dict[str, Any]
    """The effective scenario data (base + overrides)."""
    scenario_dir: str | None
    """Relative paths in the scenario are resolved from here."""
    save_dir: str | None = None
    """Where to save the full result (``Result.save``), if asked."""
    format: str = "csv"


def summary_metrics(summary: Mapping[str, Any]) -> dict[str, float | int | None]:
    """The flat numeric entries of a summary (nested ``sites`` and text keys left out)."""
    metrics: dict[str, float | int | None] = {}
    for key, value in summary.items():
        if key in EXCLUDED_SUMMARY_KEYS or isinstance(value, bool):
            continue
        if value is None:
            metrics[key] = None
        elif isinstance(value, numbers.Integral):
            metrics[key] = int(value)
        elif isinstance(value, numbers.Real):
            metrics[key] = float(value)
    return metrics


def describe_error(exc: BaseException) -> str:
    """One line: the problems of an input error, else ``Type: message``."""
    if isinstance(exc, InputError):
        return "; ".join(str(p) for p in exc.problems)
    text = str(exc).strip().replace("\n", " ")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run_one(task: RunTask) -> dict[str, Any]:
    """Run one simulation and return its row; failures are returned, never raised."""
    start = time.perf_counter()
    row: dict[str, Any] = {"run_id": task.run_id, "status": "ok", "error": ""}
    metrics: dict[str, Any] = {}
    try:
        scenario_dir = Path(task.scenario_dir) if task.scenario_dir else None
        scenario = validate_data(task.scenario, base_dir=scenario_dir)
        result = simulate(scenario, seed=task.seed)
        if task.save_dir:
            result.save(task.save_dir, format=task.format)
        metrics = summary_metrics(result.summary)
        if (periods := (result.details.get(PERIODS_KEY) or {}).get("rows")) is not None:
            row["periods"] = periods  # to DIR/periods.csv, not the runs table (sweeps.periods)
            crossings = crossing_columns(result.summary)  # text: the month, or "never"
            row.update(crossings)
            for key in crossings:
                metrics.pop(key, None)
    except Exception as exc:
        row.update(status="error", error=describe_error(exc))
        if task.save_dir:
            folder = Path(task.save_dir)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
    row["wall_s"] = time.perf_counter() - start
    row["finished_at"] = datetime.now(UTC).isoformat(timespec="milliseconds")
    row.update(metrics)
    return row


def _failed_row(task: RunTask, exc: BaseException) -> dict[str, Any]:
    return {"run_id": task.run_id, "status": "error",
            "error": f"worker failed: {describe_error(exc)}", "wall_s": math.nan,
            "finished_at": datetime.now(UTC).isoformat(timespec="milliseconds")}


# --------------------------------------------------------------------------- executors


def _process_context() -> Any:
    """Fork on Linux: workers start at once and see plugins registered in this session."""
    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return None


def exit_with_parent(parent_pid: int) -> None:
    """End this process as soon as ``parent_pid`` (its parent) is gone, however it went.

    Linux: the kernel sends SIGKILL when the parent dies (``prctl(PR_SET_PDEATHSIG)``), even
    on ``kill -9``. Elsewhere, or if that call fails, a daemon thread polls ``os.getppid()``
    (a dead parent's children are adopted by another process).
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
            pr_set_pdeathsig = 1
            if libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0) == 0:
                if os.getppid() != parent_pid:  # it died before the call above
                    os._exit(1)
                return

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _worker_setup(parent_pid: int) -> None:
    """Start of every local worker: Ctrl-C is the parent's to handle (a terminal sends it
    to the whole process group; the parent then stops the workers, so they print nothing),
    SIGTERM kills (not the parent's handler, inherited through fork), and the worker ends
    with its parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):  # blocked by the parent while it forked
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    exit_with_parent(parent_pid)


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """Kill a pool's processes now (the runs they are in are lost; finished rows are kept)."""
    kill = getattr(pool, "kill_workers", None)  # Python 3.14
    if kill is not None:
        kill()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(OSError, ValueError):
            process.kill()


def run_local(tasks: list[RunTask], workers: int, on_row: RowCallback) -> None:
    """Run ``tasks`` on a pool of ``workers`` processes; ``on_row`` gets each row as it ends.

    Workers exit when this process does (even on ``kill -9``); when this function is left by
    an exception (Ctrl-C, a signal handler raising), the workers are killed at once.
    """
    if not tasks:
        return
    pool = ProcessPoolExecutor(max_workers=max(1, min(workers, len(tasks))),
                               mp_context=_process_context(), initializer=_worker_setup,
                               initargs=(os.getpid(),))
    try:
        with _deferring(signal.SIGINT, signal.SIGTERM):  # the first submit forks the workers
            futures: dict[Future[dict[str, Any]], RunTask] = {
                pool.submit(run_one, task): task for task in tasks}
        for future in as_completed(futures):
            try:
                row = future.result()
            except Exception as exc:  # the worker died (killed, out of memory)
                row = _failed_row(futures[future], exc)
            on_row(row)
    except BaseException:
        _kill_workers(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _ignoring(*signals: signal.Signals) -> Iterator[None]:
    """Ignore ``signals`` while child processes start, so that the children start ignoring
    them: SIG_IGN is the one disposition a spawned (exec'd) child keeps. A signal in this
    window (a second or so, while a dask cluster starts) is lost. Main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in signals}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def _deferring(*signals: signal.Signals) -> Iterator[None]:
    """Block ``signals`` while this thread forks workers: a forked child would otherwise run
    this process's handlers until its setup replaces them. A signal that arrives meanwhile
    waits (and is handled here on leaving); the children inherit the mask and unblock it in
    :func:`_worker_setup`."""
    if not hasattr(signal, "pthread_sigmask"):  # no fork there either
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _dask_client(dask: Any, workers: int) -> tuple[Any, Callable[[], None]]:
    """A connected client for ``dask`` (address, Client, cluster or None: a local cluster)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise InputError("the dask executor needs dask.distributed: "
                         "pip install 'hdf-clustersim[distributed]'", "--dask") from None
    if isinstance(dask, Client):
        return dask, lambda: None
    if dask is None or dask is True:
        # The workers inherit SIG_IGN: Ctrl-C is for this process, which stops the cluster.
        # Logs below CRITICAL are silenced: each run's fate is in its row, and closing the
        # cluster under busy workers (an interrupt) makes them log heartbeat tracebacks.
        with _ignoring(signal.SIGINT):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.CRITICAL)
        client = Client(cluster)

        def close_both() -> None:
            client.close()
            cluster.close()
        return client, close_both
    if isinstance(dask, str):
        try:
            client = Client(dask, timeout="20s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"cannot connect to the dask scheduler: {describe_error(exc)}",
                             f"--dask {dask}") from None
        return client, client.close
    client = Client(dask)  # a cluster object (LocalCluster, SLURMCluster ...)
    return client, client.close


def run_dask(tasks: list[RunTask], dask: Any, workers: int, on_row: RowCallback) -> None:
    """Run ``tasks`` on a dask.distributed cluster; ``on_row`` gets each row as it ends."""
    if not tasks:
        return
    client, close = _dask_client(dask, workers)
    from dask.distributed import as_completed as dask_completed

    futures: list[Any] = []
    try:
        futures = [client.submit(run_one, task, pure=False) for task in tasks]
        owner = {future.key: task for future, task in zip(futures, tasks, strict=True)}
        for future in dask_completed(futures):
            try:
                row = future.result()
            except Exception as exc:  # KilledWorker, lost connection ...
                row = _failed_row(owner[future.key], exc)
            on_row(row)
    except BaseException:
        # Interrupted: closing kills the busy workers, which dask logs as warnings.
        logging.getLogger("distributed").setLevel(logging.CRITICAL)
        raise
    finally:
        for future in futures:
            future.cancel()
        close()


# --------------------------------------------------------------------------- the runs table


def _read_table(path: Path) -> pd.DataFrame | None:
    """The runs table of a folder a sweep resumes into; None when the file is empty.

    A file that is not a sweep's runs table (random bytes, other columns, a row without a
    valid ``run_id`` and ``status``, such as a NUL row) is an :class:`InputError`: rewriting
    it would lose what it holds, keeping such a row would report a run that never ran.
    """
    hint = "; move it away or choose another --out"
    try:
        if path.stat().st_size == 0 or (path.suffix != ".parquet"
                                        and not path.read_bytes().strip()):
            return None
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            text_columns = {c: str for c in ("run_id", "point_id", "status", "error",
                                             "finished_at")}
            frame = pd.read_csv(path, dtype=text_columns, keep_default_na=False,
                                na_values=[""])
            unescape_formula_cells(frame)
    except (OSError, ValueError, ImportError) as exc:  # pandas' parser errors are ValueErrors
        raise InputError(f"cannot read the runs table ({describe_error(exc)[:200]}){hint}",
                         str(path)) from None
    if not {"run_id", "status"} <= set(frame.columns):
        raise InputError("cannot read the runs table: not a sweep runs table (no run_id and "
                         f"status columns){hint}", str(path))
    bad = [k + 1 for k, (run_id, status) in enumerate(zip(frame["run_id"], frame["status"],
                                                          strict=True))
           if not (isinstance(run_id, str) and RUN_ID.match(run_id)
                   and status in ("ok", "error"))]
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise InputError(f"row {bad[0]}{more} is not a sweep run (a run_id of 16 hex digits "
                         f"and a status of ok or error){hint}", str(path))
    return frame


def _cell(value: Any) -> Any:
    """A table cell as a plain Python value (NaN and None become None)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _for_parquet(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns mixing types (a grid of 3600 and "2h") become text for Parquet."""
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object:
            kinds = {type(v) for v in frame[column] if v is not None and v == v}
            if len(kinds) > 1:
                frame[column] = [v if v is None or v != v else str(v) for v in frame[column]]
    return frame


class RunsTable:
    """``out/runs.<format>``: every run of this folder, rewritten atomically as rows arrive.

    Rows of other sweeps already in the file (other ``run_id``) are kept. Writes are spaced
    so that writing costs at most about a tenth of the time (small tables: every row);
    :meth:`flush` writes whatever is pending.
    """

    def __init__(self, folder: Path | None, format: str) -> None:
        self.path = None if folder is None else folder / f"runs.{format}"
        self.format = format
        self.rows: dict[str, dict[str, Any]] = {}
        self.columns: list[str] = []
        self.order: dict[str, int] = {}
        """Position of each run of the current sweep: rows are written in sweep order, then
        rows of other sweeps in the order they were found."""
        self._dirty = False
        self._last_write = 0.0
        self._write_cost = 0.0
        self.before_write: Callable[[], None] | None = None
        """Called before each write: files that must not lag behind this one (a run this
        table calls done has its per-period rows written)."""
        if self.path is None:
            return
        other = self.path.with_suffix(".parquet" if format == "csv" else ".csv")
        existing = next((f for f in (self.path, other) if f.is_file()), None)
        old = _read_table(existing) if existing is not None else None
        if existing is not None and old is not None:
            self.columns = list(old.columns)
            for record in old.to_dict(orient="records"):
                row = {str(k): _cell(v) for k, v in record.items()}
                row["error"] = row.get("error") or ""
                self.rows[str(row["run_id"])] = row
            self._dirty = existing != self.path  # rewrite in the new format

    def ok(self, run_id: str) -> dict[str, Any] | None:
        """The stored row of ``run_id`` if it finished with status ok."""
        row = self.rows.get(run_id)
        return row if row is not None and row.get("status") == "ok" else None

    def record(self, row: dict[str, Any], lead: list[str]) -> None:
        """Add or replace a row; ``lead`` are the columns that come first."""
        self.rows[row["run_id"]] = row
        for column in [*lead, *row]:
            if column not in self.columns:
                self.columns.append(column)
        self._dirty = True
        now = time.perf_counter()
        if now - self._last_write >= 10.0 * self._write_cost:
            self.flush()

    def flush(self) -> None:
        if self.path is None or not self._dirty:
            return
        start = time.perf_counter()
        if self.before_write is not None:
            self.before_write()
        last = len(self.order)
        rows = sorted(self.rows.values(), key=lambda r: self.order.get(r["run_id"], last))
        frame = pd.DataFrame(rows, columns=self.columns)
        if self.format == "csv":  # text a spreadsheet would run is escaped, as in jobs.csv
            safe = escape_formula_cells(frame)
            atomic_write(self.path, lambda p: safe.to_csv(p, index=False))
        else:
            atomic_write(self.path, lambda p: _for_parquet(frame).to_parquet(p, index=False))
        self._dirty = False
        self._last_write = time.perf_counter()
        self._write_cost = self._last_write - start


# --------------------------------------------------------------------------- the folder lock


class SweepLock:
    """Hold a sweep folder for one sweep at a time (an OS file lock on ``folder/.sweep.lock``).

    Entering refuses with :class:`InputError` (exit code 2) when another process holds the
    folder, naming its pid: two sweeps rewriting one runs table would each drop the other's
    rows. The kernel releases the lock when the holder exits, even on ``kill -9``, so a stale
    lock file never blocks a later sweep. Without ``fcntl`` (Windows) nothing is locked.
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_NAME
        self._handle: Any = None

    def __enter__(self) -> SweepLock:
        try:
            import fcntl
        except ImportError:
            return self
        handle = open(self.path, "a+", encoding="utf-8")  # held until __exit__
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read(32).strip()
            handle.close()
            who = f" (pid {holder})" if holder.isdigit() else ""
            raise InputError(f"another sweep{who} is writing to this folder; wait for it "
                             "to end or choose another --out", str(self.path.parent)) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._handle is not None:
            self._handle.close()  # closing releases the lock
            self._handle = None


@contextlib.contextmanager
def _held(folder: Path | None) -> Iterator[None]:
    if folder is None:
        yield
        return
    with SweepLock(folder):
        yield


# --------------------------------------------------------------------------- the sweep


def _progress_bar(total: int, done: int, enabled: bool) -> Any:
    if not (enabled and sys.stderr.isatty()):
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, initial=done, unit="run", desc="sweep", file=sys.stderr,
                dynamic_ncols=True, mininterval=0.5)


def _row_of(run: PlannedRun, parameters: list[str], stored: Mapping[str, Any]) -> dict[str, Any]:
    """A full runs-table row: ids, parameters (from the plan), seed, then what the run gave."""
    row: dict[str, Any] = {"run_id": run.run_id, "point_id": run.point.point_id}
    for path in parameters:
        row[path] = column_value(run.point.params[path])
    row["seed"] = run.seed
    for key, value in stored.items():
        if key not in row and value is not None:  # None: a column of another sweep
            row[key] = value
    return row


def runs_frame(rows: Iterable[dict[str, Any]], parameters: list[str]) -> pd.DataFrame:
    """The rows as a DataFrame with the fixed columns first and every key metric present."""
    frame = pd.DataFrame(list(rows))
    lead = ["run_id", "point_id", *parameters, "seed", "status", "error", "wall_s",
            "finished_at"]
    for column in [*lead, *KEY_METRICS]:
        if column not in frame.columns:
            frame[column] = math.nan if column in KEY_METRICS or column == "wall_s" else None
    frame = frame[lead + [c for c in frame.columns if c not in lead]]
    for column in frame.columns:
        if column not in lead and frame[column].dtype == object:
            converted = pd.to_numeric(frame[column], errors="coerce")
            if converted.notna().sum() == frame[column].notna().sum():
                frame[column] = converted  # all-None metric columns become NaN floats
    frame.attrs["parameters"] = list(parameters)
    return frame


def run_plan(plan: SweepPlan, *, out: str | Path | None = None, workers: int | None = None,
             dask: Any = None, progress: bool = True) -> pd.DataFrame:
    """Run a :class:`SweepPlan` (see :func:`sweep`)."""
    spec = plan.spec
    folder = Path(out) if out is not None else plan.out
    if folder is not None:
        if folder.exists() and not folder.is_dir():
            raise InputError("exists and is not a folder", str(folder))
        folder.mkdir(parents=True, exist_ok=True)
    n_workers = workers if workers is not None else (spec.workers or os.cpu_count() or 1)
    if n_workers < 1:
        raise InputError(f"must be >= 1 (got {n_workers})", "--workers")
    with _held(folder):
        return _run_locked(plan, folder, n_workers, dask, progress)


def _run_locked(plan: SweepPlan, folder: Path | None, n_workers: int, dask: Any,
                progress: bool) -> pd.DataFrame:
    """:func:`run_plan` once the folder is this sweep's alone."""
    spec = plan.spec
    table = RunsTable(folder, spec.format)  # first: a damaged table stops before any write
    period_rows = SweepPeriods(folder)
    table.before_write = period_rows.flush  # as rows arrive: a killed sweep keeps both
    if folder is not None:
        atomic_write(folder / "sweep.json", lambda p: p.write_text(
            json.dumps(plan.manifest(), indent=2, default=str) + "\n", encoding="utf-8"))
    table.order = {run.run_id: k for k, run in enumerate(plan.runs)}
    lead = ["run_id", "point_id", *plan.parameters, "seed", "status", "error", "wall_s",
            "finished_at"]

    results: dict[str, dict[str, Any]] = {}
    tasks: list[RunTask] = []
    by_id = {run.run_id: run for run in plan.runs}
    for run in plan.runs:
        stored = table.ok(run.run_id)
        if stored is not None:
            results[run.run_id] = _row_of(run, plan.parameters, stored)
            continue
        save_dir = (str(folder / "runs" / run.run_id) if folder is not None and spec.save_runs
                    else None)
        tasks.append(RunTask(run.run_id, run.seed, run.point.scenario,
                             str(plan.scenario_dir) if plan.scenario_dir else None,
                             save_dir, spec.format))

    bar = _progress_bar(len(plan.runs), len(results), progress)
    errors = 0

    def on_row(raw: dict[str, Any]) -> None:
        nonlocal errors
        periods = raw.pop("periods", None)
        row = _row_of(by_id[raw["run_id"]], plan.parameters, raw)
        results[row["run_id"]] = row
        if periods is not None:
            period_rows.record(row, plan.parameters, periods)
        table.record(row, lead)
        if row["status"] != "ok":
            errors += 1
        if bar is not None:
            bar.update(1)
            if errors:
                bar.set_postfix(errors=errors, refresh=False)

    use_dask = dask is not None or spec.executor == "dask"
    try:
        if use_dask:
            run_dask(tasks, dask if dask is not None else spec.dask_address, n_workers, on_row)
        else:
            run_local(tasks, n_workers, on_row)
    finally:
        if bar is not None:
            bar.close()
        table.flush()
        period_rows.flush()
        frame = runs_frame((results[r.run_id] for r in plan.runs if r.run_id in results),
                           plan.parameters)
        if folder is not None:
            summary = aggregate(frame)
            safe = escape_formula_cells(summary)  # as runs.csv: no cell a spreadsheet would run
            atomic_write(folder / "aggregate.csv", lambda p: safe.to_csv(p, index=False))
    return frame


def sweep(spec_or_path: SweepSpec | Mapping[str, Any] | str | Path, *,
          out: str | Path | None = None, workers: int | None = None, dask: Any = None,
          progress: bool = True, format: str | None = None) -> pd.DataFrame:
    """Run a sweep and return one row per run, in sweep order (points x seeds).

    ``spec_or_path``: a sweep file, a mapping with the same fields, or a :class:`SweepSpec`.
    ``out``: folder for ``runs.<format>``, ``aggregate.csv`` and ``sweep.json`` (default: the
    sweep's ``out``; neither: nothing is written and nothing is resumed). ``workers``:
    parallel local processes (default: the sweep's, else the CPU count). ``dask``: run on
    dask.distributed instead: a scheduler address, a ``Client`` or a cluster object.
    ``progress``: a progress bar on stderr when it is a terminal.

    Columns: ``run_id``, ``point_id``, the varying parameters (by dotted path), ``seed``,
    ``status`` (ok | error), ``error``, ``wall_s``, ``finished_at``, then every flat numeric
    key of the run's summary. Raises :class:`InputError` for an invalid sweep, before
    anything runs; a run that fails is a row with ``status == "error"``.
    """
    plan = plan_sweep(spec_or_path, format=format)
    return run_plan(plan, out=out, workers=workers, dask=dask, progress=progress)
