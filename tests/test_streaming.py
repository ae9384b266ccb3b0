"""Streaming mode (docs/streaming.md): job records and segments go to Parquet during the run,
memory holds the live jobs only, and the results are those of the same run in memory."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

import scheduler.simulation as simulation
from scheduler import simulate
from scheduler.errors import InputError
from scheduler.job_spill import (
    JOB_ROWS_FILE,
    SEGMENTS_FILE,
    SpillingJobTable,
    StreamOptions,
)
from scheduler.jobs import Status
from scheduler.mapped_columns import PAGE, POISON_INT8

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"

CASES: dict[str, tuple[str, int | None, tuple[str, ...], dict[str, Any]]] = {
    # LAS with preemption by attained service and node failures (Philly trace replay).
    "philly-las-failures": ("philly-6214e9.yaml", 5, (
        "policy={queue: las, las: {thresholds_gpu_hours: [1, 10]}}", "duration=20d",
        "drain=false", "failures={rate_per_gpu_hour: 0.002, repair: 2h}"), {}),
    # Priority preemption, failures, inference services (replicas start and stop).
    "hdf-small-priority-preempt": ("hdf-2030-small.yaml", 3, (
        "policy.queue=priority", "policy.priority={preempt: true}", "duration=1d"), {}),
    # A timeline (groups online and offline) and demand growth, cut short.
    "buildout-60d": ("buildout-example.yaml", None, ("duration=60d",), {}),
    # EASY backfilling: reservations read pending and running jobs only.
    "mmc-easy": ("mmc.yaml", 7, ("policy.queue=easy-backfill",), {}),
    # Stopped early: jobs not yet arrived are dropped and the rest renumbered.
    "hdf-small-stopped": ("hdf-2030-small.yaml", 3, ("duration=1d",), {"max_events": 3000}),
}


def saved_digests(result: Any, directory: Path) -> dict[str, str]:
    """sha256 of each saved output (the wall time aside)."""
    result.summary.pop("wall_time_s", None)
    out = result.save(directory)
    return {name: hashlib.sha256((out / name).read_bytes()).hexdigest()
            for name in ("summary.json", "details.json", "jobs.csv", "timeseries.csv")}


def tiny_blocks(directory: Path) -> StreamOptions:
    """Blocks of 64 rows, poisoned when released (a later read of a retired row shows), and
    segment chunks of 50: many retirements on a small run."""
    return StreamOptions(directory, block_rows=64, poison=True, segment_chunk_rows=50)


@pytest.mark.parametrize("name", list(CASES))
def test_streaming_gives_the_results_of_the_run_in_memory(name: str, tmp_path: Path) -> None:
    scenario, seed, overrides, limits = CASES[name]
    in_memory = simulate(SCENARIOS / scenario, seed=seed, overrides=overrides, **limits)
    streamed = simulate(SCENARIOS / scenario, seed=seed, overrides=overrides, **limits,
                        stream_to=tiny_blocks(tmp_path / "stream"))
    assert (saved_digests(streamed, tmp_path / "b") == saved_digests(in_memory, tmp_path / "a"))
    summary = streamed.summary
    assert summary["jobs_submitted"] == (summary["jobs_completed"] + summary["jobs_rejected"]
                                         + summary["jobs_failed"] + summary["jobs_unfinished"])


def test_the_streamed_files_hold_every_retired_job_and_every_segment(tmp_path: Path) -> None:
    result = simulate(SCENARIOS / "mmc.yaml", seed=7, stream_to=tiny_blocks(tmp_path))
    rows = pq.read_table(tmp_path / JOB_ROWS_FILE).to_pandas().set_index("job_id").sort_index()
    jobs = result.jobs.set_index("job_id").loc[rows.index]
    # Retired rows were terminal when written, and nothing changed them afterwards.
    assert set(rows["status"]) <= {Status.COMPLETED, Status.REJECTED, Status.FAILED}
    np.testing.assert_array_equal(rows["arrival_s"], jobs["arrival_s"])
    np.testing.assert_array_equal(rows["end_s"], jobs["end_s"])
    segments = pq.read_table(tmp_path / SEGMENTS_FILE)
    # Whole chunks of 50 (one segment per job here: no preemption); the last one, at most
    # 50 segments, was read from memory at the end.
    assert segments.num_rows % 50 == 0
    assert result.summary["jobs_submitted"] - 50 <= segments.num_rows


def test_resident_rows_stay_bounded_by_the_live_jobs(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """M/M/c at 84 % load: ~2,700 jobs seen, a few dozen alive at once. Each live job pins
    at most one block of 64 rows, and the block being filled is resident too."""
    seen: list[tuple[int, int, int]] = []
    retire = SpillingJobTable.retire

    def observed(table: SpillingJobTable) -> int:
        done = retire(table)
        live = int(np.isin(table.status[: table.size], [Status.PENDING, Status.RUNNING]).sum())
        seen.append((table.size, live, table.resident_rows()))
        return done

    monkeypatch.setattr(SpillingJobTable, "retire", observed)
    # One arrival chunk per 10 jobs, so that rows not yet arrived do not fill the table.
    build = simulation.build_sources
    monkeypatch.setattr(simulation, "build_sources",
                        lambda *args: [_small_chunks(s) for s in build(*args)])
    result = simulate(SCENARIOS / "mmc.yaml", seed=7, stream_to=tiny_blocks(tmp_path))
    assert result.summary["jobs_submitted"] > 2000
    assert len(seen) > 20
    for size, live, resident in seen:
        assert resident <= 64 * (live + 2), (size, live, resident)
    assert max(resident for _, _, resident in seen) < result.summary["jobs_submitted"] / 5


def _small_chunks(source: Any) -> Any:
    chunks = source.chunks

    def split() -> Any:
        for chunk in chunks():
            for first in range(0, chunk.gpus.shape[0], 10):
                yield dataclasses.replace(chunk, **{
                    f.name: getattr(chunk, f.name)[first:first + 10]
                    for f in dataclasses.fields(chunk)})

    source.chunks = split
    return source


def test_released_rows_are_written_then_poisoned_and_live_rows_survive_growth(
        tmp_path: Path) -> None:
    table = SpillingJobTable(tmp_path, block_rows=8, poison=True, capacity=8)
    table.extend(np.arange(20.0), np.ones(20, dtype=np.int64), np.full(20, 5.0), 0,
                 np.zeros(20, dtype=np.int32))
    table.status[:8] = Status.COMPLETED  # block 0 ends; block 1 keeps one live job
    table.status[8:15] = Status.REJECTED
    assert table.retire() == 1
    assert np.isnan(table.arrival_s[:8]).all() and (table.status[:8] == POISON_INT8).all()
    table.extend(np.arange(20.0, 60.0), np.ones(40, dtype=np.int64), np.full(40, 5.0), 0,
                 np.zeros(40, dtype=np.int32))  # grows: live rows are copied, poison kept
    np.testing.assert_array_equal(table.arrival_s[8:60], np.arange(8.0, 60.0))
    assert np.isnan(table.arrival_s[:8]).all()
    table.sink.close()
    written = pq.read_table(tmp_path / JOB_ROWS_FILE)
    assert written.column("job_id").to_pylist() == list(range(8))
    assert written.column("arrival_s").to_pylist() == [float(i) for i in range(8)]


def test_without_poison_released_pages_go_back_to_the_os(tmp_path: Path) -> None:
    """MADV_DONTNEED: a private anonymous page reads as zeros once dropped (the memory is
    free again), while the rows of the next block keep their values."""
    rows = 2 * PAGE
    table = SpillingJobTable(tmp_path, capacity=rows)
    table.extend(np.arange(1.0, rows + 1.0), np.ones(rows, dtype=np.int64), np.ones(rows), 0,
                 np.zeros(rows, dtype=np.int32))
    table.status[:PAGE] = Status.COMPLETED
    assert table.retire() == 1
    assert not table.arrival_s[:PAGE].any()
    np.testing.assert_array_equal(table.arrival_s[PAGE:rows], np.arange(PAGE + 1.0, rows + 1.0))
    assert table.resident_rows() == PAGE
    with pytest.raises(ValueError, match="multiple of"):
        SpillingJobTable(tmp_path, block_rows=100)


def test_a_stream_directory_that_cannot_be_made_is_an_input_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="stream_to"):
        simulate(SCENARIOS / "mmc.yaml", seed=1, overrides=["duration=1h"],
                 stream_to=blocker / "sub")


def test_run_stream_writes_the_usual_outputs_and_the_streamed_rows(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from scheduler.cli import main
    from scheduler.results import Result

    out = tmp_path / "run"
    assert main(["run", str(SCENARIOS / "mmc.yaml"), "--set", "duration=30h", "--out",
                 str(out), "--stream", "--quiet"]) == 0
    assert (out / "stream" / JOB_ROWS_FILE).is_file()
    assert (out / "stream" / SEGMENTS_FILE).is_file()
    loaded = Result.load(out)
    assert loaded.summary["jobs_submitted"] == len(loaded.jobs)


@pytest.mark.parametrize(("extra", "message"), [
    ([], "--stream: needs --out DIR"),
    (["--out", "OUT", "--replications", "2"], "--stream: cannot be combined with --replications"),
])
def test_run_stream_refuses_what_it_cannot_do(extra: list[str], message: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from scheduler.cli import main

    argv = [str(tmp_path / "o") if a == "OUT" else a for a in extra]
    assert main(["run", str(SCENARIOS / "mmc.yaml"), "--stream", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_float_rows_convert_like_the_list_of_tuples_they_replace() -> None:
    """A service's power corrections: ``np.array(log, dtype=float64)`` as from a list."""
    from scheduler.row_log import FloatRows

    rows = [(1, 3, 0.5 * i, 0.5 * i + 300.0, -1234.5678 * i) for i in range(2500)]
    log = FloatRows(5, capacity=16)  # grows 8 times
    for row in rows:
        log.append(row)
    assert len(log) == 2500
    np.testing.assert_array_equal(np.array(log, dtype=np.float64),
                                  np.array(rows, dtype=np.float64))
    assert np.array(FloatRows(5), dtype=np.float64).reshape(-1, 5).shape == (0, 5)


def test_a_year_gets_500_time_series_steps_of_17_5_hours_by_default() -> None:
    """docs/timeline.md: the default step is the period over DEFAULT_TIMESERIES_POINTS."""
    from types import SimpleNamespace

    from scheduler.summarize import DEFAULT_TIMESERIES_POINTS, _timeseries_step

    year = 365 * 86400.0
    assert DEFAULT_TIMESERIES_POINTS == 500
    assert _timeseries_step(SimpleNamespace(timeseries_step=None), year) == year / 500
    assert year / 500 / 3600 == pytest.approx(17.52)
    assert _timeseries_step(SimpleNamespace(timeseries_step=3600.0), year) == 3600.0


def test_streaming_without_anonymous_maps_is_an_input_error(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import mmap

    monkeypatch.delattr(mmap, "MAP_ANONYMOUS")  # as on Windows
    with pytest.raises(InputError, match="stream_to: streaming needs anonymous memory maps"):
        simulate(SCENARIOS / "mmc.yaml", seed=1, overrides=["duration=1h"], stream_to=tmp_path)


def test_reading_back_gives_every_row_and_then_frees_the_spilling_table(tmp_path: Path) -> None:
    from scheduler.job_spill import SpillingSegmentLog, materialize

    table = SpillingJobTable(tmp_path, block_rows=8, poison=True, capacity=8)
    segments = SpillingSegmentLog(tmp_path, table, chunk_rows=4)
    table.extend(np.arange(30.0), np.arange(30, dtype=np.int64), np.full(30, 5.0), 0,
                 np.zeros(30, dtype=np.int32))
    for job in range(10):  # ten segments: two chunks of 4 written, 2 kept in memory
        segments.add(job, 0, 0, 1, float(job), job + 5.0, 100.0, 0)
    table.status[:20] = Status.COMPLETED  # blocks 0 and 1 retire; rows 20-29 stay live
    plain, log = materialize(table, segments)
    np.testing.assert_array_equal(plain.view("arrival_s"), np.arange(30.0))
    np.testing.assert_array_equal(plain.view("gpus"), np.arange(30))
    assert plain.view("status")[:20].tolist() == [Status.COMPLETED] * 20
    np.testing.assert_array_equal(log.view("job"), np.arange(10))
    assert table.resident_rows() == 0 and np.isnan(table.arrival_s[:30]).all()
    # The run-only columns are not read back: a finished run's summary never reads them.
    with pytest.raises(ValueError, match="'remaining_s' was dropped when the run ended"):
        plain.view("remaining_s")


def test_the_end_of_a_run_allocates_a_bounded_amount_per_job(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Building the summary, time series and per-job table of a finished run is the memory
    peak of a long run (a year at full scale: ~10^7 jobs). Its peak of traced allocations
    (NumPy and Python; pandas' text columns live in Arrow's pool, not traced) stays under
    300 bytes a job here. The end phase before this bound peaked at 483 B/job on this run
    (a consolidated copy of the float columns, a Python string per job in each text column,
    per-segment energy arrays, copies in the time series' integrals); it now peaks at ~210,
    and any one of those coming back crosses 300."""
    import tracemalloc

    made = simulation.build_result
    peaks: list[float] = []

    def traced(*args: Any, **kwargs: Any) -> Any:
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            result = made(*args, **kwargs)
            peaks.append((tracemalloc.get_traced_memory()[1] - base)
                         / result.summary["jobs_submitted"])
        finally:
            tracemalloc.stop()
        return result

    monkeypatch.setattr(simulation, "build_result", traced)
    # M/M/c at 84 % load with 100x the rate and GPUs: ~54,000 jobs (fixed costs are small).
    result = simulate(SCENARIOS / "mmc.yaml", overrides=[
        "duration=40h", "workloads.0.arrival.rate_per_hour=1350", "sites.0.nodes.0.count=1600"])
    assert result.summary["jobs_submitted"] > 50_000
    assert peaks[0] < 300, f"{peaks[0]:.0f} bytes a job at the end of the run"
